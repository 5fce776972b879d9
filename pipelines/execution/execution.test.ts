import { Decimal } from '../../schemas/decimal';
import type { OrderRequest } from '../../schemas/types.generated';
import { parseConfig } from '../runtime/config';
import { EXECUTION_CONFIG } from './execution';
import { engineConfig } from './config';
import { arrivalMicros, dayExpiryMicros, seededUniform } from './models';
import type { Input } from './fixtures';
import { MS, T0, book, cancel, eventsOf, fillsOf, order, quote, request, run, trade } from './fixtures';

const HOUR_MS = 3_600_000;

describe('execution time in force', () => {
  it('DAY expires at the session close of the instrument calendar (XNYS: 16:00 New York)', () => {
    const eq = 'SYN-EQ:A';
    const close = 7 * HOUR_MS; // T0 is 14:00 UTC; the close is 21:00 UTC (16:00 New York, winter)
    const r = run([
      quote(HOUR_MS, '100.00', '10', '100.02', '10', eq),
      order('d1', HOUR_MS, 'LIMIT', 'BUY', 'DAY', { qty: '1', limit: '99.00', id: eq }),
      quote(HOUR_MS + 10, '100.00', '10', '100.02', '10', eq),
      quote(close + 500, '100.00', '10', '100.02', '10', eq),
    ]);
    expect(eventsOf(r)).toEqual([
      ['d1', 'ACCEPTED', 'ACCEPTED', null],
      ['d1', 'EXPIRED', 'EXPIRED', 'DAY'],
    ]);
    expect((r.events[1].tsEvent - T0) / MS).toBe(close + 1);
    expect(r.state(eq).orders).toEqual({});
  });

  it('DAY on a 24/7 instrument expires at 00:00 UTC; GTC stays', () => {
    const midnight = 10 * HOUR_MS;
    const r = run([
      quote(0, '100.00', '10', '100.02', '10'),
      order('day', 1, 'LIMIT', 'BUY', 'DAY', { limit: '99.00' }),
      order('gtc', 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00' }),
      quote(10, '100.00', '10', '100.02', '10'),
      quote(midnight + 10, '100.00', '10', '100.02', '10'),
    ]);
    expect(eventsOf(r)).toEqual([
      ['day', 'ACCEPTED', 'ACCEPTED', null],
      ['gtc', 'ACCEPTED', 'ACCEPTED', null],
      ['day', 'EXPIRED', 'EXPIRED', 'DAY'],
    ]);
    expect(Object.keys(r.state().orders)).toEqual(['gtc']);
    expect(dayExpiryMicros('SYN:A', T0)).toBe(T0 + midnight * MS);
  });

  it('IOC fills what it can at arrival and cancels the rest', () => {
    const r = run([
      quote(0, '100.00', '10', '100.01', '3'),
      order('i1', 1, 'LIMIT', 'BUY', 'IOC', { qty: '5', limit: '100.01' }),
      trade(10, '100.00', '1'),
    ]);
    expect(fillsOf(r)).toEqual([['i1', '3', '100.01', 'TAKER', 7]]);
    expect(eventsOf(r)).toEqual([
      ['i1', 'ACCEPTED', 'ACCEPTED', null],
      ['i1', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['i1', 'CANCELED', 'CANCELED', 'IOC'],
    ]);
    expect(r.events[2].filledQuantity.toFixed()).toBe('3');
  });

  it('FOK fills all at arrival or nothing (FOK_UNFILLABLE)', () => {
    const r = run([
      quote(0, '100.00', '10', '100.01', '3'),
      order('f1', 1, 'MARKET', 'BUY', 'FOK', { qty: '5' }),
      order('f2', 1, 'MARKET', 'BUY', 'FOK', { qty: '3' }),
      trade(10, '100.00', '1'),
    ]);
    expect(eventsOf(r)).toEqual([
      ['f1', 'ACCEPTED', 'ACCEPTED', null],
      ['f1', 'CANCELED', 'CANCELED', 'FOK_UNFILLABLE'],
      ['f2', 'ACCEPTED', 'ACCEPTED', null],
      ['f2', 'FILLED', 'FILLED', null],
    ]);
    expect(fillsOf(r)).toEqual([['f2', '3', '100.01', 'TAKER', 7]]);
  });

  it('GTC rests across days until filled', () => {
    const r = run([
      quote(0, '100.00', '10', '100.02', '10'),
      order('g', 1, 'LIMIT', 'SELL', 'GTC', { limit: '100.05' }),
      quote(30 * HOUR_MS, '100.00', '10', '100.02', '10'),
      trade(30 * HOUR_MS + 1, '100.06', '1'),
    ]);
    expect(fillsOf(r)).toEqual([['g', '1', '100.05', 'MAKER', 30 * HOUR_MS + 2]]);
  });
});

describe('execution state machine', () => {
  it('rejects invalid requests and transitions with typed reason codes', () => {
    const r = run(
      [
        quote(0, '100.00', '10', '100.01', '10'),
        order('m1', 1, 'MARKET', 'BUY', 'GTC', { qty: '2' }),
        cancel('nope', 1),
        order('bad', 1, 'LIMIT', 'BUY', 'GTC'),
        order('tick', 1, 'LIMIT', 'BUY', 'GTC', { limit: '100.005' }),
        order('l1', 2, 'LIMIT', 'BUY', 'GTC', { limit: '99.00', qty: '3' }),
        order('l1', 3, 'LIMIT', 'BUY', 'GTC', { limit: '99.00' }),
        order('l2', 3, 'LIMIT', 'BUY', 'GTC', { limit: '99.00' }),
        trade(10, '100.00', '1'),
        cancel('m1', 20),
        request('REPLACE', 'l1', 20, 'LIMIT', 'BUY', 'GTC', { qty: '0' }),
        order('m1', 21, 'MARKET', 'BUY', 'GTC'),
        trade(30, '100.00', '1'),
      ],
      { maxWorkingOrders: '1' },
    );
    // A CANCEL is answered when processed (no market data needed); the rest in venue time.
    expect(eventsOf(r)).toEqual([
      ['nope', 'CANCEL_REJECTED', 'REJECTED', 'UNKNOWN_ORDER'],
      ['m1', 'ACCEPTED', 'ACCEPTED', null],
      ['m1', 'FILLED', 'FILLED', null],
      ['bad', 'REJECTED', 'REJECTED', 'INVALID_ORDER'],
      ['tick', 'REJECTED', 'REJECTED', 'INVALID_ORDER'],
      ['l1', 'ACCEPTED', 'ACCEPTED', null],
      ['l1', 'REJECTED', 'ACCEPTED', 'DUPLICATE_ORDER_ID'],
      ['l2', 'REJECTED', 'REJECTED', 'TOO_MANY_ORDERS'],
      ['m1', 'CANCEL_REJECTED', 'FILLED', 'INVALID_TRANSITION'],
      ['l1', 'REPLACE_REJECTED', 'ACCEPTED', 'INVALID_ORDER'],
      ['m1', 'REJECTED', 'FILLED', 'DUPLICATE_ORDER_ID'],
    ]);
    expect(r.events.map((e) => e.eventId)).toEqual([
      'nope:1',
      'm1:1',
      'm1:2',
      'bad:1',
      'tick:1',
      'l1:1',
      'l1:2',
      'l2:1',
      'm1:3',
      'l1:3',
      'm1:4',
    ]);
    expect(r.events[3].detail).toBe('LIMIT needs a positive limitPrice');
    expect(r.events[4].detail).toBe('limitPrice 100.005 is not a multiple of the tick 0.01');
  });

  it('ignores a repeated requestId, and rejects replacing a market order', () => {
    const r = run([
      quote(0, '100.00', '10', '100.01', '10'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00', requestId: 'r1' }),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00', requestId: 'r1' }),
      order('s1', 1, 'STOP', 'BUY', 'GTC', { stop: '101.00' }),
      request('REPLACE', 's1', 2, 'STOP', 'BUY', 'GTC', { qty: '2', stop: '100.00' }),
      order('m1', 2, 'MARKET', 'BUY', 'GTC', { qty: '20' }),
      request('REPLACE', 'm1', 3, 'MARKET', 'BUY', 'GTC', { qty: '30' }),
      trade(10, '100.00', '1'),
    ]);
    expect(eventsOf(r)).toEqual([
      ['l1', 'ACCEPTED', 'ACCEPTED', null],
      ['s1', 'ACCEPTED', 'ACCEPTED', null],
      ['s1', 'REPLACED', 'ACCEPTED', null],
      ['s1', 'TRIGGERED', 'TRIGGERED', null],
      ['s1', 'FILLED', 'FILLED', null],
      ['m1', 'ACCEPTED', 'ACCEPTED', null],
      ['m1', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['m1', 'REPLACE_REJECTED', 'PARTIALLY_FILLED', 'INVALID_TRANSITION'],
    ]);
  });

  it('REPLACE keeps the queue on a quantity decrease and loses it on a price change or increase', () => {
    const r = run([
      quote(0, '100.00', '10', '100.02', '10'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.00' }),
      trade(10, '100.00', '4', 'SELL'),
      request('REPLACE', 'l1', 10, 'LIMIT', 'BUY', 'GTC', { qty: '2', limit: '100.00' }),
      quote(20, '100.00', '7', '100.02', '10'),
    ]);
    expect(r.state().orders.l1.ahead).toBe('6');
    const r2 = run([
      quote(0, '100.00', '10', '100.02', '10'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.00' }),
      trade(10, '100.00', '4', 'SELL'),
      request('REPLACE', 'l1', 10, 'LIMIT', 'BUY', 'GTC', { qty: '4', limit: '100.00' }),
      quote(20, '100.00', '7', '100.02', '10'),
    ]);
    expect(r2.state().orders.l1.ahead).toBe('10');
    const r3 = run([
      quote(0, '100.00', '10', '100.02', '10'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.00' }),
      trade(10, '100.00', '4', 'SELL'),
      request('REPLACE', 'l1', 10, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.01' }),
      quote(20, '100.00', '7', '100.02', '10'),
    ]);
    expect(r3.state().orders.l1.ahead).toBe('0');
    expect(eventsOf(r3)[1]).toEqual(['l1', 'REPLACED', 'ACCEPTED', null]);
    expect(r3.events[1].limitPrice?.toFixed()).toBe('100.01');
  });

  it('a CANCEL acts when processed: a print before it fills first; an order still on its way never reaches the venue', () => {
    const script = (printFirst: boolean): Input[] => [
      quote(0, '99.99', '10', '100.02', '10'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { limit: '100.00' }),
      trade(5, '100.00', '1', 'SELL'),
      ...(printFirst
        ? [trade(12, '100.00', '1', 'SELL'), cancel('l1', 10)]
        : [cancel('l1', 10), trade(12, '100.00', '1', 'SELL')]),
      quote(20, '99.99', '10', '100.02', '10'),
    ];
    expect(eventsOf(run(script(true)))).toEqual([
      ['l1', 'ACCEPTED', 'ACCEPTED', null],
      ['l1', 'FILLED', 'FILLED', null],
      ['l1', 'CANCEL_REJECTED', 'FILLED', 'INVALID_TRANSITION'],
    ]);
    // l1 arrives at 6 ms, but no market event has reached 6 ms when the cancel is processed: the
    // NEW is withdrawn and the order ends CANCELED without being accepted; the later print finds nothing.
    const canceled = run(script(false));
    expect(eventsOf(canceled)).toEqual([['l1', 'CANCELED', 'CANCELED', 'USER']]);
    expect(canceled.fills).toEqual([]);
    // At the cancel's arrival (request time + latency: 15 ms), reported venueToReportMs (1 ms) later.
    expect(canceled.events[0].tsEvent).toBe(T0 + 16 * MS);
  });

  it('a request the market has already passed arrives at once, against the market in force', () => {
    const r = run([
      quote(0, '99.99', '10', '100.02', '10'),
      quote(50, '100.00', '10', '100.03', '4'),
      order('m1', 1, 'MARKET', 'BUY', 'GTC', { qty: '3' }),
    ]);
    expect(eventsOf(r)).toEqual([
      ['m1', 'ACCEPTED', 'ACCEPTED', null],
      ['m1', 'FILLED', 'FILLED', null],
    ]);
    expect(r.fills.map((f) => [f.price.toFixed(), f.quantity.toFixed(), f.tsEvent])).toEqual([
      ['100.03', '3', r.fills[0].tsEvent],
    ]);
    expect(r.events[0].tsEvent).toBeGreaterThanOrEqual(T0 + 50 * MS);
  });

  it('canceling an OCO parent cancels its legs; terminal orders leave the state', () => {
    const r = run([
      quote(0, '99.99', '10', '100.01', '10'),
      order('o1', 1, 'OCO', 'BUY', 'GTC', { limit: '99.00', stop: '101.00' }),
      trade(10, '100.00', '1'),
      cancel('o1', 20),
      trade(30, '100.00', '1'),
    ]);
    expect(eventsOf(r).slice(3)).toEqual([
      ['o1-limit', 'CANCELED', 'CANCELED', 'PARENT'],
      ['o1-stop', 'CANCELED', 'CANCELED', 'PARENT'],
      ['o1', 'CANCELED', 'CANCELED', 'USER'],
    ]);
    expect(r.state().orders).toEqual({});
  });
});

describe('execution A/B: each model changes the outcome as designed', () => {
  it('queue position: the same print fills a limit with little displayed ahead, not one behind a big queue', () => {
    const script = (bidSize: string): Input[] => [
      quote(0, '100.00', bidSize, '100.02', '10'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.00' }),
      trade(10, '100.00', '8', 'SELL'),
    ];
    expect(fillsOf(run(script('10')))).toEqual([]);
    expect(fillsOf(run(script('2')))).toEqual([['l1', '3', '100', 'MAKER', 11]]);
  });

  it('liquidity consumption: a second taker gets only what the first left until the quote refreshes', () => {
    const script = (refresh: boolean): Input[] => [
      quote(0, '100.00', '10', '100.01', '4'),
      order('a', 1, 'MARKET', 'BUY', 'GTC', { qty: '3' }),
      ...(refresh ? [quote(7, '100.00', '10', '100.01', '4')] : []),
      order('b', 3, 'MARKET', 'BUY', 'GTC', { qty: '3' }),
      trade(10, '100.00', '1'),
      quote(20, '100.00', '10', '100.03', '9'),
    ];
    expect(fillsOf(run(script(false)))).toEqual([
      ['a', '3', '100.01', 'TAKER', 7],
      ['b', '1', '100.01', 'TAKER', 9],
      ['b', '2', '100.03', 'TAKER', 21],
    ]);
    expect(fillsOf(run(script(true)))).toEqual([
      ['a', '3', '100.01', 'TAKER', 7],
      ['b', '3', '100.01', 'TAKER', 9],
    ]);
  });

  it('latency: a slower path to the venue meets a later market', () => {
    const script: Input[] = [
      quote(0, '100.00', '10', '100.01', '10'),
      order('m1', 1, 'MARKET', 'BUY', 'GTC'),
      quote(20, '100.04', '10', '100.05', '10'),
      quote(60, '100.06', '10', '100.07', '10'),
    ];
    expect(fillsOf(run(script, { toVenueMs: '5' }))).toEqual([['m1', '1', '100.01', 'TAKER', 7]]);
    expect(fillsOf(run(script, { toVenueMs: '50' }))).toEqual([['m1', '1', '100.05', 'TAKER', 52]]);
    expect(fillsOf(run(script, { toVenueMs: '5', venueToReportMs: '10' }))).toEqual([
      ['m1', '1', '100.01', 'TAKER', 16],
    ]);
  });

  it('jitter is seeded per (seed, orderId, requestId) and stays within [0, jitterMs]', () => {
    const cfg = engineConfig(parseConfig('execution', EXECUTION_CONFIG, { jitterMs: '3', toVenueMs: '5' }));
    const arrivals = ['a', 'b', 'c', 'd', 'e'].map((id) => arrivalMicros(cfg, T0, id, `${id}:1`) - T0);
    expect(arrivals).toEqual(['a', 'b', 'c', 'd', 'e'].map((id) => arrivalMicros(cfg, T0, id, `${id}:1`) - T0));
    for (const a of arrivals) expect(a >= 5000 && a <= 8000).toBe(true);
    expect(new Set(arrivals).size).toBeGreaterThan(1);
    expect(seededUniform(1, 'a', '1')).not.toBe(seededUniform(2, 'a', '1'));
  });
});

describe('execution stale data', () => {
  const script: Input[] = [
    quote(0, '100.00', '10', '100.01', '10'),
    order('m1', 10_000, 'MARKET', 'BUY', 'GTC'),
    trade(10_010, '100.00', '1'),
    quote(12_000, '100.10', '10', '100.11', '10'),
  ];

  it('does not fill on a quote older than maxQuoteAgeMs: waits for the next fresh one', () => {
    expect(fillsOf(run(script))).toEqual([['m1', '1', '100.11', 'TAKER', 12_001]]);
  });

  it('fills on the old quote when it is young enough', () => {
    expect(fillsOf(run(script, { maxQuoteAgeMs: '20000' }))).toEqual([['m1', '1', '100.01', 'TAKER', 10_006]]);
  });
});

describe('execution slippage and fees', () => {
  const take = (settings: Record<string, string>, side: OrderRequest['side'] = 'BUY', limit?: string) =>
    run(
      [
        trade(0, '100.00', '100'),
        quote(0, '99.99', '100', '100.01', '100'),
        order('m1', 1, limit ? 'LIMIT' : 'MARKET', side, 'GTC', { qty: '4', limit }),
        quote(10, '99.99', '100', '100.01', '100'),
      ],
      settings,
    ).fills[0];
  const summary = (f: ReturnType<typeof take>) => [f.price.toFixed(), f.slippage.toFixed(), f.fee.toFixed()];

  it('none, fixedBps, spread and sqrtImpact, rounded up to the tick; slippage only worsens', () => {
    expect(summary(take({}))).toEqual(['100.01', '0', '0']);
    // 10 bps of 100.01 = 0.10001, up to the tick: 0.11
    expect(summary(take({ slippageModel: 'fixedBps', slippageBps: '10' }))).toEqual(['100.12', '0.11', '0']);
    expect(summary(take({ slippageModel: 'fixedBps', slippageBps: '10' }, 'SELL'))).toEqual(['99.89', '0.1', '0']);
    // half the 0.02 spread
    expect(summary(take({ slippageModel: 'spread', slippageSpreadFraction: '0.5' }))).toEqual(['100.02', '0.01', '0']);
    // 0.01 x 100.01 x sqrt(4 / 100) = 0.20002 -> 0.21
    expect(summary(take({ slippageModel: 'sqrtImpact', impactCoefficient: '0.01' }))).toEqual(['100.22', '0.21', '0']);
  });

  it('slippage never takes a limit order beyond its limit', () => {
    expect(summary(take({ slippageModel: 'fixedBps', slippageBps: '10' }, 'BUY', '100.05'))).toEqual([
      '100.05',
      '0.04',
      '0',
    ]);
  });

  it('fees: per unit plus taker bps, at least the minimum per fill; maker rebates are not raised', () => {
    expect(take({ takerFeeBps: '10', feePerUnit: '0.01' }).fee.toFixed()).toBe('0.44004');
    expect(take({ takerFeeBps: '10', feePerUnit: '0.01', minFeePerFill: '1' }).fee.toFixed()).toBe('1');
    const maker = run(
      [
        quote(0, '100.00', '0', '100.02', '10'),
        order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '2', limit: '100.00' }),
        trade(10, '100.00', '2', 'SELL'),
      ],
      { makerFeeBps: '-1', minFeePerFill: '1' },
    );
    expect([maker.fills[0].liquidity, maker.fills[0].fee.toFixed()]).toEqual(['MAKER', '-0.02']);
  });
});

describe('execution determinism and dead letters', () => {
  const script: Input[] = [
    book(
      0,
      [
        ['99.99', '5'],
        ['99.98', '5'],
      ],
      [
        ['100.01', '2'],
        ['100.02', '5'],
      ],
    ),
    trade(0, '100.00', '3'),
    order('b1', 1, 'BRACKET', 'BUY', 'GTC', { qty: '3', tp: '100.10', sl: '99.50' }),
    order('tw', 2, 'TWAP', 'SELL', 'GTC', { qty: '5', durationMs: 300, sliceMs: 100 }),
    order('ice', 3, 'ICEBERG', 'SELL', 'DAY', { qty: '4', limit: '100.05', display: '1' }),
    order('ts', 3, 'TRAILING_STOP', 'SELL', 'GTC', { qty: '1', trail: '0.05' }),
    quote(10, '99.99', '5', '100.01', '2'),
    trade(50, '100.05', '4', 'BUY'),
    cancel('ts', 60),
    trade(110, '100.11', '6', 'BUY'),
    quote(150, '99.98', '1', '100.00', '3'),
    book(
      210,
      [['99.97', '2']],
      [
        ['100.00', '3'],
        ['100.01', '4'],
      ],
    ),
    trade(250, '99.40', '2', 'SELL'),
    quote(400, '99.40', '10', '99.42', '10'),
  ];

  it('serves requests arriving at the same time by account, whatever order they were received in', () => {
    const a = order('a1', 1, 'MARKET', 'BUY', 'GTC', { qty: '6', account: 'acct-a' });
    const b = order('b1', 1, 'MARKET', 'BUY', 'GTC', { qty: '6', account: 'acct-b' });
    const script = (first: Input, second: Input): Input[] => [
      quote(0, '100.00', '10', '100.01', '10'),
      first,
      second,
      quote(10, '100.00', '10', '100.02', '10'),
    ];
    const fills = (r: ReturnType<typeof run>): string[][] =>
      r.fills.map((f) => [f.orderId, f.price.toFixed(), f.quantity.toFixed(), String(f.tsEvent - T0)]);
    expect(fills(run(script(a, b)))).toEqual([
      ['a1', '100.01', '6', '7000'],
      ['b1', '100.01', '4', '7000'],
      ['b1', '100.02', '2', '11000'],
    ]);
    expect(fills(run(script(b, a)))).toEqual(fills(run(script(a, b))));
  });

  it('gives identical output whatever the batch size', () => {
    const settings = { jitterMs: '3', slippageModel: 'spread', takerFeeBps: '5' };
    const json = (batchSize: number) => JSON.stringify(run(script, settings, batchSize).result);
    const whole = json(500);
    expect(JSON.parse(whole).failed).toEqual([]);
    expect(JSON.parse(whole).out.length).toBeGreaterThan(40);
    for (const size of [1, 2, 3, 7]) expect(json(size)).toBe(whole);
  });

  it('dead-letters a request it cannot understand (INVALID_VALUE) and goes on', () => {
    const broken = { ...order('x', 1, 'LIMIT', 'BUY', 'GTC'), quantity: '1' } as unknown as OrderRequest;
    const wrongAction = { ...order('y', 1, 'LIMIT', 'BUY', 'GTC'), action: 'AMEND' } as unknown as OrderRequest;
    const r = run([broken, wrongAction, quote(0, '100', '1', '100.01', '1'), order('m', 1, 'MARKET', 'BUY', 'GTC')]);
    expect(r.result.failed.map((f) => [f.code, f.message])).toEqual([
      ['INVALID_VALUE', 'quantity is not a decimal'],
      ['INVALID_VALUE', 'action AMEND is unknown'],
    ]);
    expect(r.state().pending.length).toBe(1);
    expect(new Decimal(r.state().pending[0].req.quantity).toFixed()).toBe('1');
  });
});

describe('execution hardening', () => {
  it('cancels an order whose fills would be worth 1e24 or more, and the instrument goes on', () => {
    const r = run([
      quote(0, '9999999999.00', '1e20', '10000000000.00', '1e20'),
      order('huge', 1, 'MARKET', 'BUY', 'GTC', { qty: '1000000000000000' }),
      quote(10, '99.99', '10', '100.01', '10'),
      order('m1', 11, 'MARKET', 'BUY', 'GTC', { qty: '2' }),
      quote(20, '99.99', '10', '100.01', '10'),
    ]);
    expect(eventsOf(r)).toEqual([
      ['huge', 'ACCEPTED', 'ACCEPTED', null],
      ['huge', 'CANCELED', 'CANCELED', 'INVALID_ORDER'],
      ['m1', 'ACCEPTED', 'ACCEPTED', null],
      ['m1', 'FILLED', 'FILLED', null],
    ]);
    expect(r.result.failed).toEqual([]);
    expect(r.fills.map((f) => [f.orderId, f.price.toFixed(), f.quantity.toFixed()])).toEqual([['m1', '100.01', '2']]);
  });

  it('dead-letters order and request ids every object has (constructor, __proto__, toString), never throws', () => {
    for (const id of ['constructor', '__proto__', 'toString']) {
      const r = run([
        quote(0, '100.00', '10', '100.01', '10'),
        order(id, 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00' }),
        order('ok', 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00', requestId: id }),
        cancel(id, 2),
        quote(10, '100.00', '10', '100.01', '10'),
      ]);
      expect(r.result.failed.map((f) => f.code)).toEqual(['INVALID_VALUE', 'INVALID_VALUE', 'INVALID_VALUE']);
      expect(r.state().orders).toEqual({});
    }
  });

  it('rejects a VWAP with a million-entry volume curve on receipt, keeping nothing of it', () => {
    const curve = new Array<number>(1_000_000).fill(1);
    const started = process.hrtime.bigint();
    const r = run([
      quote(0, '100.00', '10', '100.01', '10'),
      order('v', 1, 'VWAP', 'BUY', 'GTC', { qty: '10', durationMs: 1000, sliceMs: 100, curve }),
      order('w', 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00', curve }),
      order('x', 1, 'LIMIT', 'BUY', 'GTC', { limit: '99.00', curve: [1, 2, 3] }),
    ]);
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(2);
    expect(eventsOf(r)).toEqual([
      ['v', 'REJECTED', 'REJECTED', 'INVALID_ORDER'],
      ['w', 'REJECTED', 'REJECTED', 'INVALID_ORDER'],
    ]);
    expect(r.events[0].detail).toBe('volumeCurve has 1000000 entries; at most 10000');
    // The LIMIT in flight (no market event since) keeps no curve: only a new VWAP reads one.
    expect(r.state().pending.map((p) => [p.req.orderId, p.req.volumeCurve])).toEqual([['x', null]]);
    expect(JSON.stringify(r.state()).length).toBeLessThan(5_000);
  });
});
