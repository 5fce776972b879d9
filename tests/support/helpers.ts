import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../pipelines/runtime/settings';

export function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export function tempFile(name: string, content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-test-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

export const FIXTURES = path.join(REPO_ROOT, 'connectors', 'tardis', 'fixtures');
export const TRADES_FILE = path.join(FIXTURES, 'binance-futures-btcusdt-trades-2020-02-22.csv');
export const QUOTES_FILE = path.join(FIXTURES, 'binance-futures-btcusdt-quotes-2020-02-22.csv');

export function csvRows(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
}

/** QuestDB renders timestamps as ISO strings with microseconds; the files hold integer micros. */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const rest = String(micros % 1000).padStart(3, '0');
  return `${new Date(ms).toISOString().slice(0, -1)}${rest}Z`;
}

/**
 * A temp copy of a recorded Tardis CSV with the symbol column replaced by a fresh one, so a test
 * sees only what its own run produced (a stack keeps every earlier run's rows, and normalize flags a
 * second replay of the same instrument's file as out of order, so the original symbol would only
 * ever show an earlier run's rows).
 */
export function freshCopy(file: string, prefix = 'T'): { file: string; symbol: string; dir: string } {
  const symbol = `${unique(prefix)}USDT`.toUpperCase();
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const body = lines.map((line) => {
    const fields = line.split(',');
    fields[1] = symbol;
    return fields.join(',');
  });
  const copy = tempFile(path.basename(file), `${[header, ...body].join('\n')}\n`);
  return { file: copy, symbol, dir: path.dirname(copy) };
}

/**
 * A line of the recorded TrueFX export (`2013-01-01 22:00:00.295000+00:00,bid,ask`) as a TrueFX download line of
 * `pair`.
 */
export function truefxDownloadLine(pair: string, exported: string): string {
  const [ts, bid, ask] = exported.split(',');
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?\+00:00$/.exec(ts);
  if (!m) throw new Error(`not a UTC export time: ${ts}`);
  return `${pair},${m[1]}${m[2]}${m[3]} ${m[4]}.${(m[5] ?? '').padEnd(3, '0').slice(0, 3)},${bid},${ask}`;
}
