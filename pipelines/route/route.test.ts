import { Decimal } from '../../schemas/decimal';
import type { Signal } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import { StageDriver } from '../runtime/test-driver';
import { ROUTE_CONFIG, routeStage } from './route';

const T = Date.UTC(2024, 0, 3, 14) * 1000;

function signal(strategy: string, status: Signal['status'] = 'ACCEPTED'): Signal {
  return {
    id: `${strategy}:SYN:A:1m:${T}`,
    strategy,
    instrumentId: 'SYN:A',
    venue: 'SYN',
    symbol: 'A',
    source: 'test',
    interval: '1m',
    side: 'BUY',
    confidence: 0.8,
    reason: 'test',
    price: new Decimal('101.25'),
    barStart: T,
    barRevision: 0,
    tsEvent: T + 60_000_000,
    tsRecv: T + 60_000_000,
    features: {},
    status,
    rejectCode: null,
    rejectDetail: null,
    tsValidated: T + 60_000_000,
  };
}

const route = (accounts: string, signals: Signal[]): { key: string | null; strategy: string }[] =>
  new StageDriver(routeStage(parseConfig('route', ROUTE_CONFIG, { accounts })))
    .run(signals)
    .out.map((o) => ({ key: o.key, strategy: (o.value as Signal).strategy }));

describe('route', () => {
  it('copies each accepted signal to every account subscribed to its strategy, keyed by account', () => {
    expect(route('a:*,b:ema-cross-rsi+breakout,c:other', [signal('ema-cross-rsi'), signal('breakout')])).toEqual([
      { key: 'a', strategy: 'ema-cross-rsi' },
      { key: 'b', strategy: 'ema-cross-rsi' },
      { key: 'a', strategy: 'breakout' },
      { key: 'b', strategy: 'breakout' },
    ]);
  });

  it('passes no rejected signal on', () => {
    expect(route('a:*', [signal('x', 'REJECTED')])).toEqual([]);
  });

  it.each([
    ['paper-1', 'is not account:strategies'],
    ['a:x:y', 'is not account:strategies'],
    ['a b:*', 'account name'],
    ['a:*,a:x', 'twice'],
    ['a:x++y', 'strategy name'],
  ])('rejects the setting %s naming what is wrong', (accounts, message) => {
    expect(() => routeStage(parseConfig('route', ROUTE_CONFIG, { accounts }))).toThrow(message);
  });
});
