import fs from 'node:fs';
import { tardisTrades } from '../../connectors/tardis/formats';
import { Decimal } from '../../schemas/decimal';
import type { Bar, Heartbeat, QualityEvent, Trade } from '../../schemas/types.generated';
import { oracleBars } from '../../tests/support/bars-oracle';
import { TRADES_FILE } from '../../tests/support/helpers';
import { StageDriver } from '../runtime/test-driver';
import { AGGREGATE_CONFIG, aggregateStage } from './aggregate';
import type { AggregateConfig } from './aggregate';
import { vwapOf } from './bars';
import { parseConfig } from '../runtime/config';
import { intervalMicros } from '../../schemas/intervals';

function fileTrades(): Trade[] {
  const lines = fs.readFileSync(TRADES_FILE, 'utf8').trim().split('\n').slice(1);
  return lines.map(
    (payload, i) =>
      tardisTrades.parse({
        source: 'test',
        format: 'tardis-trades',
        tsRecv: Number(payload.split(',')[3]),
        origin: `file:${i + 2}`,
        sequence: i,
        payload,
      }) as Trade,
  );
}

const config = (values: Record<string, string> = {}): AggregateConfig =>
  parseConfig('aggregate', AGGREGATE_CONFIG, values);

/** The last emission per (interval, start): what the `bars` table holds after upserts. */
function latest(out: readonly { value: unknown }[]): Map<string, Bar> {
  const bars = new Map<string, Bar>();
  for (const { value } of out) {
    const bar = value as Bar;
    bars.set(`${bar.interval}@${bar.tsStart}`, bar);
  }
  return bars;
}

function trade(tsEvent: number, price: string, size: string, tradeId: string): Trade {
  return {
    instrumentId: 'X:Y',
    venue: 'X',
    symbol: 'Y',
    source: 'test',
    tsEvent,
    tsRecv: tsEvent + 5,
    tradeId,
    side: 'BUY',
    price: new Decimal(price),
    size: new Decimal(size),
  } as Trade;
}

describe('aggregate: event-time bars', () => {
  it('matches bars computed independently from the recorded file, for every 1s and 1m bucket', () => {
    const trades = fileTrades();
    const driver = new StageDriver(aggregateStage(config()), { batchSize: 500 });
    const result = driver.run(trades);
    // A trade a day later makes every bar of the file final.
    const last = trades[trades.length - 1];
    const flush = driver.run([
      { ...last, tsEvent: last.tsEvent + 86_400_000_000, tsRecv: last.tsRecv + 86_400_000_000, tradeId: 'flush' },
    ]);
    expect(result.failed).toEqual([]);
    const bars = latest([...result.out, ...flush.out]);
    for (const interval of ['1s', '1m']) {
      const expected = oracleBars(TRADES_FILE, intervalMicros(interval) as number);
      expect(expected.size).toBeGreaterThan(interval === '1m' ? 120 : 1000);
      for (const [start, want] of expected) {
        const got = bars.get(`${interval}@${start}`);
        expect(
          got && {
            open: got.open.toFixed(),
            high: got.high.toFixed(),
            low: got.low.toFixed(),
            close: got.close.toFixed(),
            volume: got.volume.toFixed(),
            vwap: got.vwap.toFixed(),
            count: got.tradeCount,
            final: got.final,
          },
        ).toEqual({
          open: want.open,
          high: want.high,
          low: want.low,
          close: want.close,
          volume: want.volume,
          vwap: want.vwap,
          count: want.count,
          final: true,
        });
      }
      // Nothing else: no bar for an empty bucket, none for the flush trade's (not yet closed) buckets.
      expect([...bars.values()].filter((b) => b.interval === interval).length).toBe(expected.size);
    }
  });

  it('emits a bar when the watermark reaches its end, revises it for a late trade inside the lateness, and rejects one beyond it', () => {
    const driver = new StageDriver(aggregateStage(config({ intervals: '1s', allowedLatenessMs: '2000' })));
    const first = driver.run([
      trade(1_000_000, '10', '1', 'a'),
      trade(1_500_000, '12', '1', 'b'),
      trade(2_100_000, '11', '2', 'c'),
    ]);
    expect(
      first.out
        .map((o) => o.value as Bar)
        .map((b) => [b.tsStart, b.revision, b.final, b.close.toFixed(), b.tradeCount]),
    ).toEqual([[1_000_000, 0, false, '12', 2]]);

    const late = driver.run([trade(1_700_000, '9', '3', 'd')]);
    const revised = late.out.map((o) => o.value as Bar);
    expect(
      revised.map((b) => [
        b.tsStart,
        b.revision,
        b.final,
        b.low.toFixed(),
        b.close.toFixed(),
        b.volume.toFixed(),
        b.tradeCount,
      ]),
    ).toEqual([[1_000_000, 1, false, '9', '9', '5', 3]]);
    // vwap = (10 + 12 + 27) / 5 = 9.8
    expect(revised[0].vwap.toFixed()).toBe('9.8');

    const onward = driver.run([trade(4_000_000, '11', '1', 'e'), trade(1_200_000, '50', '1', 'too-late')]);
    const emitted = onward.out
      .filter((o) => o.topic === 'md.bars.v1')
      .map((o) => o.value as Bar)
      .map((b) => [b.tsStart, b.revision, b.final, b.tradeCount]);
    expect(emitted).toEqual([
      [1_000_000, 1, true, 3],
      [2_000_000, 0, false, 1],
    ]);
    // The too-late trade changes no bar: it is a LATE_TRADE finding with its origin.
    const findings = onward.out.filter((o) => o.topic === 'md.quality.v1').map((o) => o.value as QualityEvent);
    expect(findings.map((q) => [q.rule, q.flagged, q.stage, q.origin, JSON.parse(q.record as string).tradeId])).toEqual(
      [['LATE_TRADE', true, 'aggregate', 'md.trades.v1[0]@5', 'too-late']],
    );
    expect(onward.failed).toEqual([]);
  });

  it("closes a quiet instrument's bars by heartbeat, but only after the trades normalize sent before it", () => {
    const beat = (ts: number, trades: number): Heartbeat => ({
      instrumentId: 'X:Y',
      venue: 'X',
      symbol: 'Y',
      source: 's',
      tsEvent: ts,
      tsRecv: ts,
      trades,
    });
    const driver = new StageDriver<Trade | Heartbeat>(
      aggregateStage(config({ intervals: '1s', allowedLatenessMs: '2000' })),
      { topicOf: (v) => ('trades' in v ? 'md.heartbeats.v1' : 'md.trades.v1') },
    );
    const bars = (values: (Trade | Heartbeat)[]): (string | number | boolean)[][] =>
      driver
        .run(values)
        .out.map((o) => o.value as Bar)
        .map((b) => [b.tsStart, b.revision, b.final, b.tradeCount]);
    expect(bars([trade(1_100_000, '10', '1', 'a'), trade(1_500_000, '11', '1', 'b')])).toEqual([]);
    // The heartbeat says 3 trades came before it; only 2 arrived: it waits.
    expect(bars([beat(3_500_000, 3)])).toEqual([]);
    // The third trade arrives: the waiting heartbeat applies, closing [1 s, 2 s) with all three trades.
    expect(bars([trade(1_800_000, '12', '1', 'c')])).toEqual([[1_000_000, 0, false, 3]]);
    // A later heartbeat with nothing outstanding passes the lateness: final, without any new trade.
    expect(bars([beat(4_000_000, 3)])).toEqual([[1_000_000, 0, true, 3]]);
  });

  it('opens and closes by event time, ties by arrival, and keeps intervals consistent', () => {
    const driver = new StageDriver(aggregateStage(config({ intervals: '1s,1m', allowedLatenessMs: '0' })));
    const out = driver
      .run([
        trade(10_300_000, '5', '1', 'a'),
        trade(10_100_000, '4', '1', 'b'),
        trade(10_300_000, '6', '1', 'c'),
        trade(61_000_000, '7', '1', 'd'),
      ])
      .out.map((o) => o.value as Bar);
    const sec = out.find((b) => b.interval === '1s' && b.tsStart === 10_000_000) as Bar;
    expect([sec.open.toFixed(), sec.close.toFixed(), sec.tradeCount, sec.final]).toEqual(['4', '6', 3, true]);
    const minute = out.find((b) => b.interval === '1m' && b.tsStart === 0) as Bar;
    expect([minute.open.toFixed(), minute.close.toFixed(), minute.volume.toFixed(), minute.tradeCount]).toEqual([
      '4',
      '6',
      '3',
      3,
    ]);
  });

  it('rounds vwap half to even on exact integers', () => {
    expect(vwapOf('0.0000000000005', '1').toFixed()).toBe('0');
    expect(vwapOf('0.0000000000015', '1').toFixed()).toBe('0.000000000002');
    expect(vwapOf('2', '3').toFixed()).toBe('0.666666666667');
  });

  it('refuses an interval that does not tile a day', () => {
    expect(() => aggregateStage(config({ intervals: '7m' }))).toThrow(/7m/);
    expect(intervalMicros('5m')).toBe(300_000_000);
  });
});
