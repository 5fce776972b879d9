import { parseConfig } from '../runtime/config';
import { engineConfig } from './config';
import type { EngineOutput, EngineState } from './state';
import { newState } from './state';
import { onBook, onQuote, onRequest, onTrade } from './engine';
import { EXECUTION_CONFIG } from './execution';
import type { Input } from './fixtures';
import { ID, book, cancel, order, quote, trade } from './fixtures';
import type { BookSnapshot, OrderRequest, Quote, Trade } from '../../schemas/types.generated';

const cfg = engineConfig(parseConfig('execution', EXECUTION_CONFIG, { jitterMs: '2', slippageModel: 'sqrtImpact' }));

function feed(state: EngineState, v: Input): EngineOutput {
  if ('requestId' in v) return onRequest(state, v as OrderRequest, cfg, 0);
  if ('bidPrice' in v) return onQuote(state, v as Quote, cfg, 0);
  if ('tradeId' in v) return onTrade(state, v as Trade, cfg, 0);
  return onBook(state, v as BookSnapshot, cfg, 0);
}

describe('execution engine', () => {
  const script: Input[] = [
    quote(0, '99.99', '5', '100.01', '5'),
    trade(0, '100.00', '50'),
    order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.00' }),
    order('oc', 1, 'OCO', 'SELL', 'DAY', { qty: '2', limit: '100.20', stop: '99.80' }),
    order('vw', 1, 'VWAP', 'BUY', 'GTC', { qty: '7', durationMs: 40, sliceMs: 10 }),
    trade(10, '100.00', '6', 'SELL'),
    book(
      15,
      [['99.98', '3']],
      [
        ['100.02', '2'],
        ['100.03', '9'],
      ],
    ),
    cancel('l1', 20),
    trade(30, '99.79', '4', 'SELL'),
    quote(45, '99.70', '5', '99.72', '5'),
    quote(60, '99.70', '5', '99.72', '5'),
  ];

  it('state survives a JSON round trip between any two inputs (the changelog restores it exactly)', () => {
    const live = newState({ instrumentId: ID, venue: 'SYN', symbol: 'A' });
    let restored = newState({ instrumentId: ID, venue: 'SYN', symbol: 'A' });
    const a: EngineOutput[] = [];
    const b: EngineOutput[] = [];
    for (const v of script) {
      a.push(feed(live, v));
      b.push(feed(restored, v));
      restored = JSON.parse(JSON.stringify(restored)) as EngineState;
    }
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.flatMap((o) => o.fills).length).toBeGreaterThan(3);
    expect(live.volume.length).toBe(1);
  });

  it('bounds requests in flight: beyond maxRequestsInFlight they are rejected with TOO_MANY_ORDERS', () => {
    const small = engineConfig(parseConfig('execution', EXECUTION_CONFIG, { maxRequestsInFlight: '2' }));
    const state = newState({ instrumentId: ID, venue: 'SYN', symbol: 'A' });
    const outs = ['a', 'b', 'c'].map((id) => onRequest(state, order(id, 1, 'MARKET', 'BUY', 'GTC'), small, 0));
    expect(outs.map((o) => o.events.map((e) => [e.orderId, e.kind, e.reasonCode]))).toEqual([
      [],
      [],
      [['c', 'REJECTED', 'TOO_MANY_ORDERS']],
    ]);
    expect(state.pending.length).toBe(2);
  });
});
