import path from 'node:path';
import { replayFile } from '../../connectors/file-replay/replay';
import type { MarketOptions } from '../../connectors/synthetic/market';
import { MARKET_DEFAULTS, marketInstrumentIds } from '../../connectors/synthetic/market';
import { publishMarket } from '../../connectors/synthetic/publish';
import { scalar, sql, waitForWalApplied } from '../../connectors/questdb/sql';
import { tradingSummary } from './trading-summary';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { REPO_ROOT, endpoints } from '../../pipelines/runtime/settings';
import { createKafka } from '../../pipelines/runtime/kafka';
import { logger } from '../../pipelines/runtime/log';
import { pipelineNames } from '../../pipelines/registry';
import { Pipeline } from '../run/pipeline';
import { consoleBeside } from '../console/launch';
import type { ConsoleServer } from '../console/server';
import { registerCatalog } from '../schemas/registry';
import { stackUp } from '../stack/stack';
import { applyTopics, describeChange } from '../topics/apply';

const log = logger('demo');

const RECORDED_INSTRUMENT = 'BINANCE-FUT:BTCUSDT';
export const DEMO_STAGES = pipelineNames();

export const SAMPLE_DIR = path.join(REPO_ROOT, 'connectors', 'tardis', 'fixtures');
export const SAMPLES = [
  { file: path.join(SAMPLE_DIR, 'binance-futures-btcusdt-trades-2020-02-22.csv'), format: 'tardis-trades' },
  { file: path.join(SAMPLE_DIR, 'binance-futures-btcusdt-quotes-2020-02-22.csv'), format: 'tardis-quotes' },
  { file: path.join(SAMPLE_DIR, 'binance-futures-btcusdt-book25-2020-09-01.csv'), format: 'tardis-book-snapshot-25' },
  {
    file: path.join(REPO_ROOT, 'connectors', 'truefx', 'fixtures', 'truefx-usdjpy-quotes-2013-01.csv'),
    format: 'truefx-quotes',
  },
];

/** Brings up everything the pipeline needs: stack, topics, schemas. Idempotent. */
export async function prepare(): Promise<void> {
  await stackUp({});
  const kafka = createKafka('tickflow-setup');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const changes = await applyTopics(admin);
    for (const change of changes) log.info(`topics: ${describeChange(change)}`);
  } finally {
    await admin.disconnect();
  }
  const registered = await registerCatalog();
  log.info(`schemas: ${registered.length} subjects registered (BACKWARD)`);
}

/**
 * The demo's synthetic burst: 40,000 events over the last hour of exchange time (60 one-minute bars), with a few of
 * every fault.
 */
export function demoMarket(nowMicros: number): { options: MarketOptions; count: number } {
  const count = 40_000;
  const eventsPerSecond = count / 3600;
  const faults = 0.001;
  const options: MarketOptions = {
    ...MARKET_DEFAULTS,
    seed: 2024,
    // Instruments new to every run, so a run's hour never overlaps an earlier run's (normalize would rightly flag it
    // out of order).
    prefix: `D${Math.floor(nowMicros / 60e6).toString(36)}-`,
    eventsPerSecond,
    startMicros: Math.floor(nowMicros / 60e6) * 60e6 - 3600e6,
    faults: {
      badPrint: faults,
      nonPositive: faults,
      crossed: faults,
      locked: faults,
      duplicate: faults,
      outOfOrder: faults,
      gap: faults,
    },
    silences: [{ instrument: 1, fromMs: 1_800_000, durationMs: 60_000 }],
  };
  return { options, count };
}

function signalCounts(dataset: unknown[][]): string {
  return (
    dataset.map(([status, code, n]) => `${String(status)}${code ? ` ${String(code)}` : ''} ${String(n)}`).join(', ') ||
    'none'
  );
}

export async function summary(
  synthetic?: { instrumentIds: readonly string[] },
  tradingSinceMicros?: number,
): Promise<string> {
  await waitForWalApplied(['trades', 'quotes', 'book', 'bars', 'features', 'quality_events', 'signals']);
  const recorded = `instrument_id = '${RECORDED_INSTRUMENT}'`;
  const trades = await sql(
    `SELECT count() AS rows, sum(size) AS volume, min(ts) AS first, max(ts) AS last FROM trades WHERE ${recorded}`,
  );
  const quotes = await scalar(`SELECT count() FROM quotes WHERE ${recorded}`);
  const book = await scalar(`SELECT count() FROM book WHERE ${recorded}`);
  const features = await sql(
    `SELECT basis, count() AS n FROM features WHERE ${recorded} GROUP BY basis ORDER BY basis`,
  );
  const bars = await sql(
    `SELECT interval, count() AS n, sum(CASE WHEN final THEN 1 ELSE 0 END) AS final FROM bars WHERE ${recorded} GROUP BY interval ORDER BY interval`,
  );
  const recordedSignals = await sql(
    `SELECT status, coalesce(reject_code, '') AS code, count() AS n FROM signals WHERE ${recorded} GROUP BY status, code ORDER BY status, code`,
  );
  const [rows, volume, first, last] = trades.dataset[0] ?? [];
  const fx = await scalar("SELECT count() FROM quotes WHERE instrument_id = 'TRUEFX:USD/JPY'");
  const fxFindings = await sql(
    "SELECT rule, count() FROM quality_events WHERE instrument_id = 'TRUEFX:USD/JPY' GROUP BY rule ORDER BY rule",
  );
  const lines = [
    '',
    'tickflow demo: recorded Binance Futures BTCUSDT data went file -> Kafka -> normalize -> aggregate, features, flow -> score, correlate -> validate -> route -> risk -> execution -> QuestDB',
    `  trades  ${rows} rows, volume ${volume} BTC, ${first} .. ${last}`,
    `  quotes  ${quotes} rows`,
    `  book    ${book} snapshots`,
    `  bars    ${bars.dataset.map(([interval, n, final]) => `${interval}: ${n} (${final} final)`).join(', ') || 'none yet'}  (a file has no heartbeats: its newest bars close when later trades arrive)`,
    `  features ${features.dataset.map(([basis, n]) => `${basis}: ${n}`).join(', ') || 'none yet'}  (spread, mid, microprice, imbalances, order-flow imbalance from quotes and books; VPIN and sweeps from trades; indicators on 1m bars)`,
    `  signals ${signalCounts(recordedSignals.dataset)}  (strategies on final 1m bars, through validate)`,
    `recorded TrueFX USD/JPY quotes: ${fx} rows; quality findings: ${fxFindings.dataset.map(([rule, n]) => `${String(rule)} ${String(n)}`).join(', ') || 'none'}${fxFindings.dataset.some(([rule]) => rule === 'OUT_OF_ORDER') ? ' (OUT_OF_ORDER: the file was replayed before; a replay is flagged, never counted twice)' : ''}`,
  ];
  if (synthetic) {
    const since = `instrument_id IN (${synthetic.instrumentIds.map((id) => `'${id}'`).join(', ')})`;
    const synTrades = await scalar(`SELECT count() FROM trades WHERE ${since}`);
    const synQuotes = await scalar(`SELECT count() FROM quotes WHERE ${since}`);
    const synBars = await scalar(`SELECT count() FROM bars WHERE ${since} AND interval = '1s'`);
    const quality = await sql(
      `SELECT rule, count() AS n FROM quality_events WHERE ${since} GROUP BY rule ORDER BY rule`,
    );
    const signals = await sql(
      `SELECT status, coalesce(reject_code, '') AS code, count() AS n FROM signals WHERE ${since} GROUP BY status, code ORDER BY status, code`,
    );
    const features = await scalar(`SELECT count() FROM features WHERE ${since} AND basis = '1m'`);
    const correlations = await sql(
      `SELECT instrument_id, basis, last(value) FROM features WHERE ${since} AND feature = 'corr_30' GROUP BY instrument_id, basis LIMIT 1`,
    );
    lines.push(
      `and a synthetic market with injected faults (tickflow synth), this run:`,
      `  trades  ${synTrades} clean rows, quotes ${synQuotes}, 1s bars ${synBars}, indicator values ${features}`,
      `  correlation of 1m returns (correlate) ${correlations.dataset.map(([id, basis, value]) => `${String(id)} ${String(basis)}: ${Number(value).toFixed(3)}`).join(', ') || 'none yet (30 common bars needed)'}`,
      `  quality ${quality.dataset.map(([rule, n]) => `${rule} ${n}`).join(', ') || 'none'}  (flagged records reach no bar)`,
      `  signals ${signalCounts(signals.dataset)}`,
    );
  }
  if (tradingSinceMicros !== undefined) lines.push(...(await tradingSummary(tradingSinceMicros)));
  const env = endpoints();
  return [
    ...lines,
    '',
    'where to look:',
    `  QuestDB console   ${env.questdbUrl}`,
    '  sample SQL        SELECT ts, count(), sum(size), min(price), max(price) FROM trades SAMPLE BY 1m;',
    "  bars              SELECT ts, open, high, low, close, volume, vwap, trade_count FROM bars WHERE interval = '1m';",
    '  tap a topic       npx tickflow tap md.trades.v1 --from-beginning --max 3',
    '  quality findings  SELECT ts, instrument_id, rule, detail FROM quality_events ORDER BY ts DESC LIMIT 20;',
    '  signals           SELECT ts, instrument_id, strategy, side, confidence, status, reject_code, reason FROM signals ORDER BY ts DESC;',
    '  risk decisions    SELECT ts, account, instrument_id, side, approved, reason_codes, quantity FROM risk_decisions ORDER BY ts DESC;',
    '  orders and fills  SELECT ts, order_id, type, kind, status, last_quantity, last_price FROM orders ORDER BY ts DESC;',
    '  P&L               SELECT ts, account, equity, realized_pnl, unrealized_pnl, drawdown, trading_state FROM pnl;',
    '  audit trail       SELECT ts, account, kind, actor, summary FROM audit ORDER BY ts DESC;',
    '  kill switch       npx tickflow halt --reason "..." [--flatten]   /   npx tickflow resume --reason "..."',
    '  dead letters      npx tickflow tap md.raw.tardis.v1.dlq --from-beginning',
    '  stack             npx tickflow stack status   (stop it with: npx tickflow stack down)',
    '',
  ].join('\n');
}

/**
 * `tickflow demo`: stack, topics, schemas, the pipeline, a replay of the bundled recorded data,
 * then a summary. With `untilIdle` it returns once the data is drained; otherwise it keeps the
 * pipeline running until SIGINT/SIGTERM.
 */
export async function demo(options: { untilIdle: boolean; syntheticRate?: number }): Promise<void> {
  await prepare();
  const kafka = createKafka('tickflow-demo');
  const codec = new AvroCodec();
  // Recorded and synthetic data are replays: validate judges staleness by their own clocks.
  const startedMicros = Date.now() * 1000;
  const market = demoMarket(startedMicros);
  const [first, second] = marketInstrumentIds(market.options);
  const pipeline = new Pipeline(kafka, codec, {
    settings: new Map<string, Record<string, string>>([
      ['validate', { clock: 'event' }],
      ['correlate', { pairs: `${first}~${second}` }],
    ]),
  });
  const admin = kafka.admin();
  await admin.connect();
  let stopping = false;
  let web: ConsoleServer | undefined;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping the pipeline (the stack keeps running; `tickflow stack down` stops it)');
    await web?.close();
    await pipeline.stop();
    await admin.disconnect().catch(() => undefined);
  };
  try {
    await pipeline.start(DEMO_STAGES);
    // The console watches the demo from the start (a demo that exits when idle has no use for it).
    if (!options.untilIdle) web = await consoleBeside(pipeline, kafka, codec);
    for (const sample of SAMPLES)
      await replayFile(kafka, codec, { file: sample.file, format: sample.format, speed: { kind: 'max' } });
    const synthetic = await publishMarket(kafka, codec, market.options, market.count, { kind: 'max' });
    log.info(
      `synthetic market: ${synthetic.published} records; they must cause ${[...synthetic.expected].map(([rule, n]) => `${rule} ${n}`).join(', ')}`,
    );
    await pipeline.waitUntilIdle(admin);
    process.stdout.write(await summary({ instrumentIds: marketInstrumentIds(market.options) }, startedMicros));
  } catch (error) {
    await stop();
    throw error;
  }
  if (options.untilIdle) {
    await stop();
    return;
  }
  // Optionally a live synthetic market, in real time from now, until Ctrl-C.
  const live = new AbortController();
  let streaming: Promise<unknown> | undefined;
  if (options.syntheticRate) {
    const rate = options.syntheticRate;
    const nowMicros = Date.now() * 1000;
    const liveMarket: MarketOptions = {
      ...market.options,
      seed: 2025,
      prefix: `L${Math.floor(nowMicros / 60e6).toString(36)}-`,
      eventsPerSecond: rate,
      startMicros: nowMicros,
      silences: [],
    };
    streaming = publishMarket(kafka, codec, liveMarket, rate * 86_400, { kind: 'factor', factor: 1 }, live.signal);
    process.stdout.write(
      `a live synthetic market streams ${rate} events/s on ${marketInstrumentIds(liveMarket).join(', ')}\n`,
    );
  }
  if (web)
    process.stdout.write(
      `web console       ${web.url}   (live chart, signals, orders, positions, P&L, quality; API at ${web.url}api/openapi.json)\n` +
        (web.tokenGenerated
          ? `console token     ${web.token}   (halt and resume from the page need it; set TICKFLOW_CONSOLE_TOKEN to choose one)\n`
          : ''),
    );
  process.stdout.write('the pipeline keeps running; press Ctrl-C to stop it\n');
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      live.abort();
      void Promise.resolve(streaming)
        .catch(() => undefined)
        .then(stop)
        .then(resolve);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
