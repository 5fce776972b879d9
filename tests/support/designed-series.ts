import type { Bar } from '../../schemas/types.generated';
import { Decimal } from '../../schemas/decimal';

/**
 * Bar series designed to trigger each shipped strategy once, and series designed not to (used by
 * the score unit tests and the signals integration test).
 */
/** Wednesday 2024-01-03 14:00 UTC. */
export const DESIGN_START = Date.UTC(2024, 0, 3, 14) * 1000;
const START = DESIGN_START;
const MINUTE = 60_000_000;

/** Final 1m bars from closes and volumes: high/low 0.1 around the close, open the previous close, vwap the close. */
export function designedBars(
  instrumentId: string,
  closes: readonly number[],
  volumes: readonly number[] = closes.map(() => 100),
): Bar[] {
  return closes.map((close, i) => ({
    instrumentId,
    venue: instrumentId.split(':')[0],
    symbol: instrumentId.split(':')[1],
    source: 'test',
    interval: '1m',
    tsStart: START + i * MINUTE,
    tsEnd: START + (i + 1) * MINUTE,
    tsEvent: START + i * MINUTE + 59_000_000,
    tsRecv: START + i * MINUTE + 59_000_100,
    open: new Decimal((closes[i - 1] ?? close).toFixed(2)),
    high: new Decimal((close + 0.1).toFixed(2)),
    low: new Decimal((close - 0.1).toFixed(2)),
    close: new Decimal(close.toFixed(2)),
    volume: new Decimal(volumes[i]),
    vwap: new Decimal(close.toFixed(2)),
    tradeCount: 10,
    revision: 0,
    final: true,
  }));
}

/** Series designed to trigger each strategy once (BUY), and series designed not to. */
export const SERIES = {
  // 40 bars drifting down with noise, then 30 drifting up: one upward EMA cross while RSI is moderate.
  emaCross: [
    ...Array.from({ length: 40 }, (_, i) => 100 - i * 0.15 + (i % 2) * 0.2),
    ...Array.from({ length: 30 }, (_, i) => 94.3 + i * 0.12 + (i % 2 ? -0.15 : 0.15)),
  ],
  // A straight climb: the fast EMA stays above the slow one, no cross.
  steadyTrend: Array.from({ length: 70 }, (_, i) => 100 + i * 0.1),
  // Quiet noise around 100, then one bar far below.
  reversion: [...Array.from({ length: 30 }, (_, i) => 100 + [0.1, -0.1, 0.05, -0.05][i % 4]), 98.5],
  quiet: Array.from({ length: 31 }, (_, i) => 100 + [0.1, -0.1, 0.05, -0.05][i % 4]),
  // A 25-bar range, then a close above it.
  breakout: [...Array.from({ length: 25 }, (_, i) => 100 + [0.3, -0.3, 0.1, -0.2, 0][i % 5]), 101.5],
};
export const BREAKOUT_VOLUMES = {
  confirmed: [...Array.from({ length: 25 }, () => 100), 400],
  ordinary: [...Array.from({ length: 25 }, () => 100), 110],
};
