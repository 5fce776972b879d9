import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../ops/config';

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
  return fs.readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
}

/** QuestDB renders timestamps as ISO strings with microseconds; the files hold integer micros. */
export function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const rest = String(micros % 1000).padStart(3, '0');
  return `${new Date(ms).toISOString().slice(0, -1)}${rest}Z`;
}
