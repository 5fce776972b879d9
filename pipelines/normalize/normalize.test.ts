import type { RawRecord, Trade } from '../../schemas/types.generated';
import { driveStage } from '../runtime/test-driver';
import { normalizeStage } from './normalize';

const raw = (format: string, payload: string, sequence = 1): RawRecord => ({ source: 'tardis-file', format, tsRecv: 0, origin: `f:${sequence}`, sequence, payload });

describe('normalize stage', () => {
  it('routes trades and quotes to their topics keyed by instrument id, and rejects bad lines with a reason', () => {
    const result = driveStage(normalizeStage, [
      raw('tardis-trades', 'binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132', 2),
      raw('tardis-quotes', 'binance-futures,BTCUSDT,1582329601096000,1582329603502092,0.84,9682,9681.92,0.67', 3),
      raw('tardis-trades', 'binance-futures,BTCUSDT,oops', 4),
      raw('ndjson-unknown', '{}', 5),
    ]);
    expect(result.out.map((o) => [o.topic, o.key])).toEqual([
      ['md.trades.v1', 'BINANCE-FUT:BTCUSDT'],
      ['md.quotes.v1', 'BINANCE-FUT:BTCUSDT'],
    ]);
    expect((result.out[0].value as Trade).price.toFixed()).toBe('9682');
    expect(result.failed.map((f) => [f.input.offset, f.code])).toEqual([
      ['2', 'PARSE_ERROR'],
      ['3', 'UNKNOWN_FORMAT'],
    ]);
    // in = out + dead letters
    expect(result.out.length + result.failed.length).toBe(4);
  });
});
