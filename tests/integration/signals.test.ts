import { sql, waitForWalApplied } from '../../connectors/questdb/sql';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { Decimal } from '../../schemas/decimal';
import type { Bar, Candidate } from '../../schemas/types.generated';
import { BREAKOUT_VOLUMES, DESIGN_START, SERIES, designedBars } from '../support/designed-series';
import { unique } from '../support/helpers';
import type { TestPipeline } from '../support/test-pipeline';
import { startTestPipeline } from '../support/test-pipeline';

/**
 * Final bars designed to trigger each shipped strategy, published to md.bars.v1, through score,
 * validate (event clock) and the sink: the `signals` table holds each strategy's designed BUY as
 * ACCEPTED, the weaker candidates the series also produce as LOW_CONFIDENCE, a candidate older than
 * the age limit as STALE, and the indicator values in `features`.
 */
describe('signals: designed bars -> score -> validate -> QuestDB signals (real stack)', () => {
  let t: TestPipeline;
  const tag = unique('SIG');
  const ids = { ema: `TEST:${tag}-E`, reversion: `TEST:${tag}-R`, breakout: `TEST:${tag}-B`, direct: `TEST:${tag}-D` };
  const MINUTE = 60_000_000;

  async function send(topic: string, codec: AvroCodec, records: { key: string; value: unknown }[]): Promise<void> {
    const producer = t.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: await Promise.all(
          records.map(async (r) => ({ key: r.key, value: await codec.encode(topic, r.value) })),
        ),
      });
    } finally {
      await producer.disconnect();
    }
  }

  const direct = (id: string, tsEvent: number, confidence: number): Candidate => ({
    id,
    strategy: 'ema-cross-rsi',
    instrumentId: ids.direct,
    venue: 'TEST',
    symbol: `${tag}-D`,
    source: 'test',
    interval: '1m',
    side: 'SELL',
    confidence,
    reason: 'published by the test',
    price: new Decimal('100'),
    barStart: tsEvent - MINUTE,
    barRevision: 0,
    tsEvent,
    tsRecv: tsEvent,
    features: {},
  });

  beforeAll(async () => {
    // The test writes candidates straight to validate's input, which fused behind score takes only
    // from score in memory: run the two apart (tests/integration/fused.test.ts covers them fused).
    t = await startTestPipeline(
      'test-signals',
      ['score', 'validate', 'sink-questdb'],
      { validate: { clock: 'event' } },
      { fuse: false },
    );
    const bars: Bar[] = [
      ...designedBars(ids.ema, SERIES.emaCross),
      ...designedBars(ids.reversion, SERIES.reversion),
      ...designedBars(ids.breakout, SERIES.breakout, BREAKOUT_VOLUMES.confirmed),
    ];
    await send(
      'md.bars.v1',
      t.codec,
      bars.map((b) => ({ key: b.instrumentId, value: b })),
    );
    // Straight to validate: a confident candidate, then one 30 s older (stale by the event clock).
    const at = DESIGN_START + 10 * MINUTE;
    await send(
      'strategy.candidates.v1',
      t.codec,
      [direct(`${tag}-fresh`, at, 0.9), direct(`${tag}-old`, at - 30_000_000, 0.9)].map((c) => ({
        key: c.instrumentId,
        value: c,
      })),
    );
    await t.drain();
    await waitForWalApplied(['signals', 'features']);
  }, 180_000);

  afterAll(async () => {
    await t.stop();
  });

  async function rows(instrument: string): Promise<string[]> {
    const result = await sql(
      `SELECT strategy, side, status, reject_code, bar_start FROM signals WHERE instrument_id = '${instrument}' ORDER BY ts, strategy`,
    );
    return result.dataset.map(
      ([strategy, side, status, code, barStart]) =>
        `${strategy} ${side} ${status}${code ? ` ${code}` : ''} @${(Date.parse(barStart as string) * 1000 - DESIGN_START) / MINUTE}`,
    );
  }

  it('accepts the EMA cross the trend series was designed for', async () => {
    expect(await rows(ids.ema)).toEqual([
      'vwap-reversion SELL REJECTED LOW_CONFIDENCE @52',
      'vwap-reversion SELL REJECTED LOW_CONFIDENCE @54',
      'ema-cross-rsi BUY ACCEPTED @56',
    ]);
  });

  it('accepts the VWAP-band reversion the dip was designed for', async () => {
    expect(await rows(ids.reversion)).toEqual([
      'ema-cross-rsi BUY REJECTED LOW_CONFIDENCE @28',
      'ema-cross-rsi SELL REJECTED LOW_CONFIDENCE @29',
      'vwap-reversion BUY ACCEPTED @30',
    ]);
  });

  it('accepts the volume-confirmed breakout', async () => {
    expect(await rows(ids.breakout)).toEqual([
      'breakout-volume BUY ACCEPTED @25',
      'vwap-reversion SELL REJECTED LOW_CONFIDENCE @25',
    ]);
    const result = await sql(
      `SELECT confidence, price, reason, features FROM signals WHERE instrument_id = '${ids.breakout}' AND status = 'ACCEPTED'`,
    );
    const [confidence, price, reason, features] = result.dataset[0];
    expect([confidence, new Decimal(price as string).toFixed(), reason]).toEqual([
      1,
      '101.5',
      'close 101.500 broke above the 20-bar high 100.400 on 4.00x the mean volume',
    ]);
    expect(JSON.parse(features as string)).toMatchObject({ 'unusual_volume_20.ratio': 4, 'donchian_20.upper': 100.4 });
  });

  it('rejects a stale candidate with its reason', async () => {
    expect(await rows(ids.direct)).toEqual([
      'ema-cross-rsi SELL REJECTED STALE @8.5',
      'ema-cross-rsi SELL ACCEPTED @9',
    ]);
    const result = await sql(
      `SELECT reject_detail FROM signals WHERE instrument_id = '${ids.direct}' AND status = 'REJECTED'`,
    );
    expect(result.dataset[0][0]).toBe('30.000 s old by the event clock (limit 10 s)');
  });

  it('stores the indicator values in features, per bar', async () => {
    const result = await sql(
      `SELECT feature, count() FROM features WHERE instrument_id = '${ids.ema}' AND basis = '1m' GROUP BY feature ORDER BY feature`,
    );
    const counts = Object.fromEntries(result.dataset.map(([f, n]) => [f as string, n as number]));
    // 70 bars: EMA(12) from bar 12, EMA(26) from bar 26, RSI(14) from bar 15.
    expect([counts.ema_12, counts.ema_26, counts.rsi_14]).toEqual([59, 45, 56]);
  });
});
