import { scalar } from '../../connectors/questdb/sql';
import { demo } from '../../ops/demo/demo';

/**
 * Tables a demo run fills; a test that reads "what an analyst sees after `npm start`" (dashboards,
 * the console) calls ensureDemoData() first. Checked by content, not by a marker, so a stack that
 * already holds a demo run (a developer's, or an earlier test file's) is reused and the demo runs at
 * most once per stack.
 */
const DEMO_TABLES = [
  'trades',
  'quotes',
  'book',
  'bars',
  'features',
  'signals',
  'quality_events',
  'risk_decisions',
  'orders',
  'fills',
  'positions',
  'pnl',
  'audit',
];

async function rows(table: string): Promise<number> {
  try {
    return Number(await scalar(`SELECT count() FROM ${table}`));
  } catch {
    return 0; // the table does not exist yet
  }
}

export async function demoDataPresent(): Promise<boolean> {
  const counts = await Promise.all(DEMO_TABLES.map(rows));
  const recorded = Number(
    await scalar(`SELECT count() FROM trades WHERE instrument_id = 'BINANCE-FUT:BTCUSDT'`).catch(() => 0),
  );
  return recorded > 0 && counts.every((n) => n > 0);
}

/** Runs `tickflow demo --until-idle` in this process unless the stack already holds its data. */
export async function ensureDemoData(): Promise<void> {
  if (await demoDataPresent()) return;
  await demo({ untilIdle: true });
}
