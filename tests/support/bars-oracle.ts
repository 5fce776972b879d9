import { sql } from '../../connectors/questdb/sql';
import { Decimal } from '../../schemas/decimal';
import { csvRows, isoMicros } from './helpers';

/**
 * Bars computed straight from a Tardis trades CSV, independently of tickflow's parsers and bar
 * code: prices and sizes as integers scaled by 10^12, OHLC by (timestamp, file order), vwap as
 * sum(price x size) / volume rounded half-even to 12 places. Values are plain decimal strings
 * without trailing zeros, comparable with Decimal#toFixed().
 */
export interface OracleBar {
  start: number;
  end: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  vwap: string;
  count: number;
}

/** Independent exact arithmetic for test oracles: decimals as integers scaled by 10^12. */
export const SCALE = 10n ** 12n;

/** A non-negative decimal text (at most 12 places) as an integer scaled by 10^12. */
export function scaled(text: string): bigint {
  const [whole, fraction = ''] = text.split('.');
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(12, '0').slice(0, 12) || '0');
}

/** A scaled integer as plain decimal text without trailing zeros. */
export function plain(value: bigint): string {
  const sign = value < 0n ? '-' : '';
  const magnitude = value < 0n ? -value : value;
  const fraction = (magnitude % SCALE).toString().padStart(12, '0').replace(/0+$/, '');
  return `${sign}${magnitude / SCALE}${fraction ? `.${fraction}` : ''}`;
}

/** numerator / denominator (positive denominator) rounded half to even. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  let q = numerator / denominator;
  const r2 = 2n * (numerator % denominator);
  if (r2 > denominator || (r2 === denominator && q % 2n === 1n)) q += 1n;
  return q;
}

/** Bars of a Tardis trades CSV (one instrument). */
export function oracleBars(file: string, intervalMicros: number): Map<number, OracleBar> {
  return oracleBarsOf(
    csvRows(file).map((row) => ({ ts: Number(row[2]), price: row[6], size: row[7] })),
    intervalMicros,
  );
}

/** Bars of one instrument's trades, given in timestamp order (ties in arrival order). */
export function oracleBarsOf(
  trades: Iterable<{ ts: number; price: string; size: string }>,
  intervalMicros: number,
): Map<number, OracleBar> {
  const acc = new Map<
    number,
    { open: bigint; high: bigint; low: bigint; close: bigint; volume: bigint; pv: bigint; count: number }
  >();
  for (const trade of trades) {
    const ts = trade.ts;
    const price = scaled(trade.price);
    const size = scaled(trade.size);
    const start = ts - (ts % intervalMicros);
    const a = acc.get(start);
    // Input order is timestamp order, so the first trade of a bucket opens it and the last closes it.
    if (!a)
      acc.set(start, { open: price, high: price, low: price, close: price, volume: size, pv: price * size, count: 1 });
    else {
      a.high = price > a.high ? price : a.high;
      a.low = price < a.low ? price : a.low;
      a.close = price;
      a.volume += size;
      a.pv += price * size;
      a.count += 1;
    }
  }
  const result = new Map<number, OracleBar>();
  for (const [start, a] of acc) {
    // pv is scaled by 10^24; vwap scaled by 10^12 = pv / volume, rounded half to even.
    const vwap = divideHalfEven(a.pv, a.volume);
    result.set(start, {
      start,
      end: start + intervalMicros,
      open: plain(a.open),
      high: plain(a.high),
      low: plain(a.low),
      close: plain(a.close),
      volume: plain(a.volume),
      vwap: plain(vwap),
      count: a.count,
    });
  }
  return result;
}

/**
 * The finalized bars of an instrument and interval in QuestDB, as [ts, open, high, low, close, volume, vwap, count]
 * rows.
 */
export async function finalBarRows(instrumentId: string, interval: string): Promise<unknown[][]> {
  const result = await sql(
    `SELECT ts, open, high, low, close, volume, vwap, trade_count FROM bars WHERE instrument_id = '${instrumentId}' AND interval = '${interval}' AND final ORDER BY ts`,
  );
  return result.dataset.map(([ts, ...values]) => [
    ts,
    ...values.slice(0, 6).map((v) => new Decimal(v as string).toFixed()),
    values[6],
  ]);
}

/** Oracle bars as finalBarRows rows. */
export function barRows(bars: readonly OracleBar[]): unknown[][] {
  return bars.map((b) => [isoMicros(b.start), b.open, b.high, b.low, b.close, b.volume, b.vwap, b.count]);
}
