import { ID, MS, T0, book, eventsOf, fillsOf, order, quote, run, trade } from './fixtures';

// Requests reach the venue 5 ms after their tsEvent; reports are 1 ms after the venue time.
describe('execution order types', () => {
  it('MARKET takes the touch, then waits for the next fresh quote for the rest', () => {
    const r = run([
      quote(0, '99.99', '5', '100.01', '3'),
      order('m1', 1, 'MARKET', 'BUY', 'GTC', { qty: '5' }),
      quote(10, '100.00', '5', '100.02', '10'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['m1', '3', '100.01', 'TAKER', 7],
      ['m1', '2', '100.02', 'TAKER', 11],
    ]);
    expect(eventsOf(r)).toEqual([
      ['m1', 'ACCEPTED', 'ACCEPTED', null],
      ['m1', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['m1', 'FILLED', 'FILLED', null],
    ]);
    expect(r.events[2].avgFillPrice?.toFixed()).toBe('100.014');
    expect(r.state().orders).toEqual({});
    expect(r.state().recent.m1).toEqual({ status: 'FILLED', seq: 3 });
  });

  it('MARKET walks the levels of a book snapshot', () => {
    const r = run([
      book(
        0,
        [['99.99', '1']],
        [
          ['100.01', '2'],
          ['100.02', '3'],
          ['100.05', '9'],
        ],
      ),
      order('m1', 1, 'MARKET', 'BUY', 'GTC', { qty: '4' }),
      trade(10, '100.00', '1'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['m1', '2', '100.01', 'TAKER', 7],
      ['m1', '2', '100.02', 'TAKER', 7],
    ]);
  });

  it('LIMIT rests behind the displayed queue; prints at its price work it off, prints through it fill it', () => {
    const r = run([
      quote(0, '100.00', '10', '100.02', '5'),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '3', limit: '100.00' }),
      trade(10, '100.00', '8', 'SELL'),
      trade(20, '100.00', '4', 'SELL'),
      trade(30, '99.99', '5', 'SELL'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['l1', '2', '100', 'MAKER', 21],
      ['l1', '1', '100', 'MAKER', 31],
    ]);
    expect(eventsOf(r).map((e) => e[1])).toEqual(['ACCEPTED', 'PARTIALLY_FILLED', 'FILLED']);
  });

  it('a marketable LIMIT takes up to its limit as TAKER and rests the rest at the front (it improves the bid)', () => {
    const r = run([
      book(
        0,
        [['100.00', '4']],
        [
          ['100.01', '1'],
          ['100.02', '1'],
          ['100.03', '5'],
        ],
      ),
      order('l1', 1, 'LIMIT', 'BUY', 'GTC', { qty: '4', limit: '100.02' }),
      trade(10, '100.02', '1', 'SELL'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['l1', '1', '100.01', 'TAKER', 7],
      ['l1', '1', '100.02', 'TAKER', 7],
      ['l1', '1', '100.02', 'MAKER', 11],
    ]);
    expect(r.state().orders.l1.ahead).toBe('0');
  });

  it('STOP triggers on a print at or through it, then sells like a market order', () => {
    const r = run([
      quote(0, '99.60', '5', '99.62', '5'),
      trade(0, '99.61', '1'),
      order('s1', 1, 'STOP', 'SELL', 'GTC', { qty: '2', stop: '99.50' }),
      trade(10, '99.60', '1'),
      quote(15, '99.48', '1', '99.50', '3'),
      trade(20, '99.49', '1'),
      quote(30, '99.45', '5', '99.47', '5'),
    ]);
    expect(eventsOf(r).map((e) => e[1])).toEqual(['ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED', 'FILLED']);
    expect((r.events[1].tsEvent - T0) / MS).toBe(21);
    expect(fillsOf(r)).toEqual([
      ['s1', '1', '99.48', 'TAKER', 21],
      ['s1', '1', '99.45', 'TAKER', 31],
    ]);
  });

  it('STOP on a quote-only instrument triggers on the touch', () => {
    const fx = 'SYN:FX';
    const r = run([
      quote(0, '100.03', '5', '100.05', '5', fx),
      order('s1', 1, 'STOP', 'BUY', 'GTC', { qty: '1', stop: '100.10', id: fx }),
      quote(10, '100.06', '5', '100.08', '5', fx),
      quote(20, '100.08', '5', '100.10', '2', fx),
    ]);
    expect(fillsOf(r)).toEqual([['s1', '1', '100.1', 'TAKER', 21]]);
  });

  it('STOP_LIMIT triggers, takes up to the limit, then rests as a limit', () => {
    const r = run([
      quote(0, '100.05', '5', '100.11', '1'),
      trade(0, '100.05', '1'),
      order('sl', 1, 'STOP_LIMIT', 'BUY', 'GTC', { qty: '3', stop: '100.10', limit: '100.12' }),
      trade(10, '100.10', '1', 'BUY'),
      trade(20, '100.12', '5', 'SELL'),
    ]);
    expect(eventsOf(r).map((e) => e[1])).toEqual(['ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED', 'FILLED']);
    expect(fillsOf(r)).toEqual([
      ['sl', '1', '100.11', 'TAKER', 11],
      ['sl', '2', '100.12', 'MAKER', 21],
    ]);
  });

  it('TRAILING_STOP follows the high and triggers trailingOffset below it', () => {
    const r = run([
      quote(0, '99.99', '10', '100.01', '10'),
      trade(0, '100.00', '1'),
      order('ts', 1, 'TRAILING_STOP', 'SELL', 'GTC', { qty: '1', trail: '0.50' }),
      trade(10, '100.80', '1'),
      trade(20, '100.40', '1'),
      quote(25, '100.29', '10', '100.31', '10'),
      trade(30, '100.30', '1'),
    ]);
    expect(eventsOf(r).map((e) => e[1])).toEqual(['ACCEPTED', 'TRIGGERED', 'FILLED']);
    expect(r.events[1].stopPrice?.toFixed()).toBe('100.3');
    expect(fillsOf(r)).toEqual([['ts', '1', '100.29', 'TAKER', 31]]);
  });

  it('BRACKET: a filled entry starts an exit pair; a take-profit fill reduces, then cancels the stop-loss', () => {
    const r = run([
      quote(0, '99.99', '5', '100.01', '5'),
      order('b1', 1, 'BRACKET', 'BUY', 'GTC', { qty: '2', tp: '101.00', sl: '99.00' }),
      trade(20, '101.00', '1', 'BUY'),
      trade(30, '101.01', '5', 'BUY'),
    ]);
    expect(eventsOf(r)).toEqual([
      ['b1', 'ACCEPTED', 'ACCEPTED', null],
      ['b1', 'FILLED', 'FILLED', null],
      ['b1-tp', 'ACCEPTED', 'ACCEPTED', null],
      ['b1-sl', 'ACCEPTED', 'ACCEPTED', null],
      ['b1-tp', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['b1-sl', 'REPLACED', 'ACCEPTED', 'OCO'],
      ['b1-tp', 'FILLED', 'FILLED', null],
      ['b1-sl', 'CANCELED', 'CANCELED', 'OCO'],
    ]);
    expect(fillsOf(r)).toEqual([
      ['b1', '2', '100.01', 'TAKER', 7],
      ['b1-tp', '1', '101', 'MAKER', 21],
      ['b1-tp', '1', '101', 'MAKER', 31],
    ]);
    expect(r.fills[1].parentOrderId).toBe('b1');
    expect(r.events[2].side).toBe('SELL');
    expect(r.state().orders).toEqual({});
  });

  it('OCO: the stop leg fills, the parent fills and the limit leg is canceled', () => {
    const r = run([
      quote(0, '98.98', '5', '99.00', '5'),
      trade(0, '99.50', '1'),
      order('o1', 1, 'OCO', 'SELL', 'GTC', { qty: '2', limit: '101.00', stop: '99.00' }),
      trade(10, '98.99', '1', 'SELL'),
    ]);
    expect(eventsOf(r)).toEqual([
      ['o1', 'ACCEPTED', 'ACCEPTED', null],
      ['o1-limit', 'ACCEPTED', 'ACCEPTED', null],
      ['o1-stop', 'ACCEPTED', 'ACCEPTED', null],
      ['o1-stop', 'TRIGGERED', 'TRIGGERED', null],
      ['o1-stop', 'FILLED', 'FILLED', null],
      ['o1', 'FILLED', 'FILLED', null],
      ['o1-limit', 'CANCELED', 'CANCELED', 'OCO'],
    ]);
    expect(fillsOf(r)).toEqual([['o1-stop', '2', '98.98', 'TAKER', 11]]);
    expect(r.state().orders).toEqual({});
  });

  it('TWAP releases equal slices as market time passes; what a slice misses rolls into the next', () => {
    // Each slice is released at start + i x 1 s and matched against the market as it was then.
    const r = run([
      quote(0, '99.99', '10', '100.01', '10'),
      order('tw', 0, 'TWAP', 'BUY', 'GTC', { qty: '6', durationMs: 3000, sliceMs: 1000 }),
      quote(10, '99.99', '10', '100.01', '10'),
      quote(1000, '100.00', '10', '100.02', '1'),
      quote(1010, '100.00', '10', '100.02', '10'),
      quote(2010, '100.01', '10', '100.03', '10'),
      quote(3010, '100.01', '10', '100.03', '10'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['tw-s1', '2', '100.01', 'TAKER', 6],
      ['tw-s2', '1', '100.02', 'TAKER', 1006],
      ['tw-s3', '3', '100.02', 'TAKER', 2006],
    ]);
    expect(eventsOf(r).filter((e) => e[0] === 'tw')).toEqual([
      ['tw', 'ACCEPTED', 'ACCEPTED', null],
      ['tw', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['tw', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['tw', 'FILLED', 'FILLED', null],
    ]);
    expect(eventsOf(r).filter((e) => e[0] === 'tw-s2')).toEqual([
      ['tw-s2', 'ACCEPTED', 'ACCEPTED', null],
      ['tw-s2', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', null],
      ['tw-s2', 'CANCELED', 'CANCELED', 'IOC'],
    ]);
    expect(r.state().orders).toEqual({});
  });

  it('TWAP expires the remainder at the end of its horizon', () => {
    const r = run([
      quote(0, '99.99', '10', '100.01', '1'),
      order('tw', 0, 'TWAP', 'BUY', 'GTC', { qty: '4', durationMs: 2000, sliceMs: 1000 }),
      quote(10, '99.99', '10', '100.01', '1'),
      quote(1010, '99.99', '10', '100.01', '1'),
      quote(2010, '99.99', '10', '100.01', '1'),
    ]);
    expect(fillsOf(r).map((f) => f[1])).toEqual(['1', '1']);
    const last = r.events[r.events.length - 1];
    expect([last.orderId, last.kind, last.reasonCode, last.filledQuantity.toFixed(), (last.tsEvent - T0) / MS]).toEqual(
      ['tw', 'EXPIRED', 'ALGO_END', '2', 2006],
    );
  });

  it('VWAP sizes slices by the volume curve', () => {
    const r = run([
      quote(0, '99.99', '100', '100.01', '100'),
      order('vw', 0, 'VWAP', 'BUY', 'GTC', { qty: '12', durationMs: 3000, sliceMs: 1000, curve: [1, 2, 3] }),
      quote(10, '99.99', '100', '100.01', '100'),
      quote(1010, '99.99', '100', '100.01', '100'),
      quote(2010, '99.99', '100', '100.01', '100'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['vw-s1', '2', '100.01', 'TAKER', 6],
      ['vw-s2', '4', '100.01', 'TAKER', 1006],
      ['vw-s3', '6', '100.01', 'TAKER', 2006],
    ]);
  });

  it('VWAP without a curve uses the configured default curve', () => {
    const r = run(
      [
        quote(0, '99.99', '100', '100.01', '100'),
        order('vw', 0, 'VWAP', 'SELL', 'GTC', { qty: '10', durationMs: 2000, sliceMs: 1000 }),
        quote(10, '99.99', '100', '100.01', '100'),
        quote(1010, '99.99', '100', '100.01', '100'),
      ],
      { defaultVwapCurve: '3,1' },
    );
    expect(fillsOf(r).map((f) => f[1])).toEqual(['7', '3']);
  });

  it('ICEBERG shows one slice at a time; each new slice goes to the back of the queue', () => {
    const r = run([
      quote(0, '100.00', '10', '100.02', '10'),
      order('ice', 1, 'ICEBERG', 'SELL', 'GTC', { qty: '5', limit: '100.02', display: '2' }),
      trade(10, '100.02', '12', 'BUY'),
      trade(20, '100.02', '9', 'BUY'),
      trade(30, '100.03', '3', 'BUY'),
      trade(40, '100.03', '5', 'BUY'),
    ]);
    expect(fillsOf(r)).toEqual([
      ['ice', '2', '100.02', 'MAKER', 11],
      ['ice', '2', '100.02', 'MAKER', 31],
      ['ice', '1', '100.02', 'MAKER', 41],
    ]);
    expect(r.state().orders).toEqual({});
  });

  it('every output encodes, and order events also go to execution.reports.v1 and audit.v1 by account', () => {
    const r = run([
      quote(0, '99.99', '5', '100.01', '3'),
      order('m1', 1, 'MARKET', 'BUY', 'GTC'),
      trade(10, '100', '1'),
    ]);
    expect(r.result.failed).toEqual([]);
    const topics = r.result.out.map((o) => [o.topic, o.key]);
    expect(topics).toEqual([
      ['orders.events.v1', ID],
      ['execution.reports.v1', 'acct-1'],
      ['audit.v1', 'acct-1'],
      ['orders.events.v1', ID],
      ['execution.reports.v1', 'acct-1'],
      ['audit.v1', 'acct-1'],
      ['fills.v1', ID],
      ['audit.v1', 'acct-1'],
    ]);
    const audits = r.result.out
      .filter((o) => o.topic === 'audit.v1')
      .map((o) => o.value as { auditId: string; kind: string });
    expect(audits.map((a) => [a.auditId, a.kind])).toEqual([
      ['m1:1', 'ORDER_EVENT'],
      ['m1:2', 'ORDER_EVENT'],
      ['fill:m1:f1', 'FILL'],
    ]);
  });
});
