import { tardisQuotes, tardisTrades } from '../../connectors/tardis/formats';
import type { Feature, Quote, Trade } from '../../schemas/types.generated';
import { QUOTES_FILE, TRADES_FILE, csvRows } from '../../tests/support/helpers';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { FLOW_CONFIG, flowStage } from './flow';

function recorded(): (Trade | Quote)[] {
  const raw = (format: string, payload: string, i: number) => ({
    source: 'test',
    format,
    tsRecv: 0,
    origin: `f:${i}`,
    sequence: i,
    payload,
  });
  const trades = csvRows(TRADES_FILE).map((r, i) => tardisTrades.parse(raw('tardis-trades', r.join(','), i)) as Trade);
  const quotes = csvRows(QUOTES_FILE).map((r, i) => tardisQuotes.parse(raw('tardis-quotes', r.join(','), i)) as Quote);
  // Interleaved by exchange time, as the two topics would deliver them.
  return [...trades, ...quotes].sort((a, b) => a.tsEvent - b.tsEvent);
}

describe('flow stage', () => {
  const records = recorded();
  const run = (batchSize: number): Feature[] =>
    new StageDriver(flowStage(parseConfig('flow', FLOW_CONFIG, {})), {
      batchSize,
      topicOf: (v) => ('tradeId' in v ? 'md.trades.v1' : 'md.quotes.v1'),
    })
      .run(records)
      .out.map((o) => o.value as Feature);

  it('refuses settings that cannot work before it starts: a bucket volume of 0, windows beyond their bounds', () => {
    expect(() => parseConfig('flow', FLOW_CONFIG, { vpinBucketVolume: '0' })).toThrow(
      /flow.vpinBucketVolume: 0 is not above 0/,
    );
    expect(() => parseConfig('flow', FLOW_CONFIG, { vpinBucketVolume: '-1' })).toThrow(/is not above 0/);
    expect(() => parseConfig('flow', FLOW_CONFIG, { ofiWindow: '100000000' })).toThrow(
      /flow.ofiWindow: 100000000 is above the maximum 10000/,
    );
  });

  it('publishes OFI per quote, VPIN per completed bucket and sweeps, the same whatever the batching', () => {
    const whole = run(20_000);
    const counts = new Map<string, number>();
    for (const f of whole) counts.set(`${f.basis} ${f.name}`, (counts.get(`${f.basis} ${f.name}`) ?? 0) + 1);
    // One OFI per quote from the 51st (50 updates need 51 quotes).
    expect(counts.get('quote ofi_50')).toBe(9999 - 50);
    // VPIN once there are 50 imbalances (51 buckets of 10 BTC), then per trade that completes a bucket.
    expect(counts.get('trade vpin_10_50')).toBeGreaterThan(300);
    expect(counts.get('trade sweep_50_3')).toBe(counts.get('trade sweep_50_3.volume'));
    expect(counts.get('trade sweep_50_3')).toBeGreaterThan(0);
    // State saved and restored between batches changes nothing.
    expect(run(97)).toEqual(whole);
  });
});
