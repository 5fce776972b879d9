import type { AuditEvent, OrderRequest, Pnl, Position, RiskDecision } from '../../schemas/types.generated';
import { Decimal } from '../../schemas/decimal';
import type { StageResult } from '../runtime/stage';
import type { AccountState } from './risk';
import { CONTROL_KEY, riskStage } from './risk';
import { S, T, command, driver, fill, mark, orderEvent, rulesOf, signal } from './fixtures';

const on = (result: StageResult, topic: string): unknown[] =>
  result.out.filter((o) => o.topic === topic).map((o) => o.value);
const decisions = (r: StageResult): RiskDecision[] => on(r, 'risk.decisions.v1') as RiskDecision[];
const orders = (r: StageResult): OrderRequest[] => on(r, 'orders.requests.v1') as OrderRequest[];
const audits = (r: StageResult): AuditEvent[] => on(r, 'audit.v1') as AuditEvent[];
const codesOf = (d: RiskDecision): string[] => d.reasons.map((x) => x.code);

describe('risk stage', () => {
  it('approves a signal: one decision, a deterministic order, an audit line and a Pnl', () => {
    const r = driver(rulesOf()).run([signal()]);
    expect(r.failed).toEqual([]);
    const [d] = decisions(r);
    expect([d.decisionId, d.approved, d.quantity?.toFixed(), d.orderId, d.tradingState]).toEqual([
      `s:SYN:A:${T}:BUY|paper-1`,
      true,
      '100', // 100000 x 0.1 x confidence 1 / 100
      `risk|s:SYN:A:${T}:BUY|paper-1`,
      'ACTIVE',
    ]);
    const [o] = orders(r);
    expect([o.requestId, o.action, o.type, o.timeInForce, o.quantity.toFixed(), o.limitPrice, o.reduceOnly]).toEqual([
      `${d.orderId}|NEW`,
      'NEW',
      'MARKET',
      'DAY',
      '100',
      null,
      false,
    ]);
    expect(r.out.find((x) => x.topic === 'orders.requests.v1')?.key).toBe('SYN:A');
    expect(audits(r).map((a) => [a.kind, a.auditId])).toEqual([['DECISION', `DECISION|${d.decisionId}|paper-1`]]);
    expect((on(r, 'pnl.v1') as Pnl[]).map((p) => p.equity.toFixed())).toEqual(['100000']);
  });

  it('sends LIMIT orders at the signal price when configured', () => {
    const r = driver(rulesOf({ orderType: 'LIMIT', timeInForce: 'GTC' })).run([signal({ price: new Decimal('99.5') })]);
    expect(orders(r).map((o) => [o.type, o.timeInForce, o.limitPrice?.toFixed()])).toEqual([['LIMIT', 'GTC', '99.5']]);
  });

  it('dead-letters what it cannot use, never throws', () => {
    const r = driver(rulesOf()).run([
      signal({}, 'nobody'),
      { ...command('HALT', 'paper-1'), action: 'PAUSE' as never },
      { ...signal({ id: 'bad-price' }), price: 'abc' as never },
      command('HALT', '*control'),
    ]);
    expect(r.failed.map((f) => [f.code, f.message])).toEqual([
      ['INVALID_VALUE', 'account nobody is not in the risk config (strictAccounts)'],
      ['INVALID_VALUE', 'command action PAUSE is not HALT or RESUME'],
      ['INVALID_VALUE', 'signal bad-price: price abc is not a positive decimal'],
      ['INVALID_VALUE', `command HALT-*control-${T}: *control is not an account`],
    ]);
  });

  it('reports every failed rule of a signal', () => {
    const d = driver(rulesOf({ maxOrderQuantity: '5', maxOrderNotional: '100', priceCollarFraction: '0.01' }));
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '90'));
    const [decision] = decisions(d.run([signal()]));
    expect([decision.approved, codesOf(decision)]).toEqual([false, ['MAX_QUANTITY', 'MAX_NOTIONAL', 'PRICE_COLLAR']]);
    expect(decision.orderId).toBeNull();
  });

  it('rejects a signal outside the instrument session', () => {
    const saturday = Date.UTC(2024, 0, 6, 15) * 1000;
    const r = driver(rulesOf()).run([signal({ instrumentId: 'SYN-EQ:A', venue: 'SYN-EQ', tsEvent: saturday })]);
    expect(codesOf(decisions(r)[0])).toEqual(['OUTSIDE_SESSION']);
  });

  it('keeps positions and P&L from fills, deduping replayed reports', () => {
    const d = driver(rulesOf());
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '105'));
    const buy = fill('BUY', '10', '100', { fee: '0.5' });
    const r = d.run([buy, buy, fill('SELL', '4', '110', { fee: '0.25' })]);
    const positions = on(r, 'positions.v1') as Position[];
    expect(
      positions.map((p) => [
        p.quantity.toFixed(),
        p.avgCost.toFixed(),
        p.realizedPnl.toFixed(),
        p.unrealizedPnl.toFixed(),
      ]),
    ).toEqual([
      ['10', '100', '-0.5', '50'],
      ['6', '100', '39.25', '30'],
    ]);
    const pnl = (on(r, 'pnl.v1') as Pnl[]).at(-1) as Pnl;
    // cash 100000 - 1000 - 0.5 + 440 - 0.25; equity = cash + 6 x 105
    expect([pnl.cash.toFixed(), pnl.equity.toFixed(), pnl.realizedPnl.toFixed(), pnl.fees.toFixed()]).toEqual([
      '99439.25',
      '100069.25',
      '39.25',
      '0.75',
    ]);
    expect(pnl.equity.sub(new Decimal('100000')).eq(pnl.realizedPnl.add(pnl.unrealizedPnl))).toBe(true);
  });

  it('a loss trips the breaker, which halts the account, cancels its orders and stays in the store', () => {
    const rules = rulesOf({ maxDailyLoss: '1000' });
    const d = driver(rules);
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '80'));
    const first = d.run([orderEvent('working', { instrumentId: 'SYN:A' }), fill('BUY', '100', '100')]);
    expect(audits(first).map((a) => a.kind)).toEqual(['BREAKER_TRIPPED']);
    expect(orders(first).map((o) => [o.action, o.orderId, o.reason])).toEqual([['CANCEL', 'working', 'BREAKER']]);
    const later = d.run([signal({ tsEvent: T + 3600 * S, price: new Decimal('80') })]);
    expect(codesOf(decisions(later)[0])).toEqual(['STATE_HALTED', 'DAILY_LOSS']);
    const snapshot = d.snapshot('accounts');
    const state = snapshot['paper-1'] as AccountState;
    expect(state.breaker).toMatchObject({ rule: 'DAILY_LOSS', state: 'HALTED' });
    // The store holds plain JSON (what its changelog carries), and a replay rebuilds the same state.
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    const replay = driver(rules);
    replay.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '80'));
    replay.run([orderEvent('working', { instrumentId: 'SYN:A' }), fill('BUY', '100', '100', { orderId: 'x' })]);
    expect((replay.snapshot('accounts')['paper-1'] as AccountState).breaker?.rule).toBe('DAILY_LOSS');
  });

  it('trips the breaker when the marks move with no signal or fill arriving (punctuation), and follows the equity', () => {
    const d = driver(rulesOf({ maxDailyLoss: '1000' }));
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '100'));
    d.run([orderEvent('working', { instrumentId: 'SYN:A' }), fill('BUY', '100', '100')]);
    // Nothing moved: nothing is due.
    expect(d.punctuate().out).toEqual([]);
    // The market falls 5 (a loss of 500): a Pnl at the new equity, no breaker yet.
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '95', [], T + 60 * S));
    const moved = d.punctuate();
    expect(moved.out.map((o) => o.topic)).toEqual(['pnl.v1']);
    expect((moved.out[0].value as Pnl).equity.toFixed()).toBe('99500');
    expect((moved.out[0].value as Pnl).tsEvent).toBe(T + 60 * S);
    expect(d.punctuate().out).toEqual([]);
    // It falls 15 more (a loss of 2000): the breaker trips, the working order is canceled, all audited.
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '80', [], T + 120 * S));
    const tripped = d.punctuate();
    expect(audits(tripped).map((a) => a.kind)).toEqual(['BREAKER_TRIPPED']);
    expect(orders(tripped).map((o) => [o.action, o.orderId, o.reason])).toEqual([['CANCEL', 'working', 'BREAKER']]);
    expect((d.snapshot('accounts')['paper-1'] as AccountState).breaker).toMatchObject({ rule: 'DAILY_LOSS' });
    expect(d.punctuate().out).toEqual([]);
  });

  it('a drawdown breaker set to REDUCING lets only reducing orders through, sized at most to close', () => {
    const d = driver(rulesOf({ maxDrawdown: '500', breakerAction: 'REDUCING' }));
    d.run([fill('BUY', '100', '100')]);
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '94'));
    const r = d.run([
      signal({ tsEvent: T + S, price: new Decimal('94') }),
      signal({ tsEvent: T + 2 * S, side: 'SELL', price: new Decimal('94') }),
    ]);
    expect(audits(r).map((a) => a.kind)).toEqual(['BREAKER_TRIPPED', 'DECISION', 'DECISION']);
    const [buy, sell] = decisions(r);
    expect(codesOf(buy)).toEqual(['STATE_REDUCING', 'MAX_DRAWDOWN']);
    expect([sell.approved, sell.tradingState, sell.quantity?.toFixed()]).toEqual([true, 'REDUCING', '100']);
    expect(orders(r).map((o) => [o.side, o.quantity.toFixed(), o.reduceOnly])).toEqual([['SELL', '100', true]]);
  });

  it('RESUME resets the breaker (audited) and trading goes on', () => {
    const d = driver(rulesOf({ maxDailyLoss: '1000' }));
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '80'));
    d.run([fill('BUY', '100', '100')]);
    const r = d.run([
      command('RESUME', 'paper-1', { tsIssued: T + S }),
      signal({ tsEvent: T + 2 * S, price: new Decimal('80') }),
    ]);
    expect(audits(r).map((a) => a.kind)).toEqual(['BREAKER_RESET', 'RESUME', 'DECISION']);
    expect(decisions(r)[0].approved).toBe(true);
  });

  it('HALT cancels every open order and flattens every position; signals are rejected until RESUME', () => {
    const d = driver(rulesOf());
    const setup = d.run([
      signal(), // an open NEW order of 100 SYN:A
      orderEvent('manual', { instrumentId: 'SYN:B', side: 'SELL' }),
      fill('BUY', '7', '50', { instrumentId: 'SYN:C' }),
      fill('SELL', '3', '20', { instrumentId: 'SYN:D' }),
    ]);
    const riskOrder = orders(setup)[0].orderId;
    const halt = d.run([command('HALT', 'paper-1', { flatten: true, id: 'h1' })]);
    expect(
      orders(halt).map((o) => [o.action, o.orderId, o.side, o.quantity.toFixed(), o.reduceOnly, o.reason]),
    ).toEqual([
      ['CANCEL', 'manual', 'SELL', '1', false, 'HALT'],
      ['CANCEL', riskOrder, 'BUY', '100', false, 'HALT'],
      ['NEW', 'flatten|h1|paper-1|SYN:C', 'SELL', '7', true, 'FLATTEN'],
      ['NEW', 'flatten|h1|paper-1|SYN:D', 'BUY', '3', true, 'FLATTEN'],
    ]);
    expect(orders(halt).every((o) => o.type === 'MARKET' || o.action === 'CANCEL')).toBe(true);
    expect(audits(halt).map((a) => [a.kind, a.auditId])).toEqual([['HALT', 'HALT|h1|paper-1']]);
    const blocked = d.run([signal({ tsEvent: T + 10 * S })]);
    expect(codesOf(decisions(blocked)[0])).toEqual(['STATE_HALTED']);
    const resumed = d.run([
      command('RESUME', 'paper-1', { id: 'r1', tsIssued: T + 11 * S }),
      signal({ tsEvent: T + 12 * S }),
    ]);
    expect(audits(resumed).map((a) => a.kind)).toEqual(['RESUME', 'DECISION']);
    expect(decisions(resumed)[0].approved).toBe(true);
  });

  it('HALT * halts accounts first seen later, until RESUME *', () => {
    const d = driver(rulesOf());
    d.run([signal({}, 'paper-1')]);
    const halt = d.run([command('HALT', null, { id: 'all' }), signal({ tsEvent: T + S }, 'paper-2')]);
    expect(audits(halt).map((a) => [a.kind, a.account])).toEqual([
      ['HALT', '*'],
      ['HALT', 'paper-1'],
      ['DECISION', 'paper-2'],
    ]);
    expect(orders(halt).map((o) => [o.action, o.account])).toEqual([['CANCEL', 'paper-1']]);
    // A `*` command is on every partition: its partition-wide audit line names the partition (one row each).
    expect(audits(halt)[0].auditId).toBe('HALT|all|*|p0');
    expect(codesOf(decisions(halt)[0])).toEqual(['STATE_HALTED']);
    expect(d.snapshot('accounts')[CONTROL_KEY]).toMatchObject({ kind: 'control', operator: { state: 'HALTED' } });
    const resume = d.run([command('RESUME', null, { id: 'go' }), signal({ tsEvent: T + 2 * S }, 'paper-2')]);
    expect(decisions(resume)[0].approved).toBe(true);
  });

  it('HALT of one instrument cancels and flattens only it and refuses new orders on it, until its RESUME', () => {
    const d = driver(rulesOf());
    const setup = d.run([
      signal(), // an open NEW order on SYN:A
      orderEvent('on-b', { instrumentId: 'SYN:B', side: 'SELL' }),
      fill('BUY', '7', '50', { instrumentId: 'SYN:A' }),
      fill('SELL', '3', '20', { instrumentId: 'SYN:D' }),
    ]);
    const onA = orders(setup)[0].orderId;
    const halt = d.run([command('HALT', 'paper-1', { flatten: true, id: 'ha', instrumentId: 'SYN:A' })]);
    expect(orders(halt).map((o) => [o.action, o.orderId, o.side, o.quantity.toFixed(), o.reason])).toEqual([
      ['CANCEL', onA, 'BUY', '100', 'HALT'],
      ['NEW', 'flatten|ha|paper-1|SYN:A', 'SELL', '7', 'FLATTEN'],
    ]);
    expect(audits(halt).map((a) => [a.kind, a.instrumentId])).toEqual([['HALT', 'SYN:A']]);
    const after = d.run([
      signal({ tsEvent: T + 10 * S }),
      signal({ instrumentId: 'SYN:B', tsEvent: T + 11 * S, side: 'SELL' }),
    ]);
    expect(decisions(after).map((x) => [x.instrumentId, x.approved, codesOf(x)])).toEqual([
      ['SYN:A', false, ['INSTRUMENT_HALTED']],
      ['SYN:B', true, []],
    ]);
    expect(decisions(after)[0].reasons[0].detail).toContain('operator ha');
    const resumed = d.run([
      command('RESUME', 'paper-1', { id: 'ra', instrumentId: 'SYN:A', tsIssued: T + 12 * S }),
      signal({ tsEvent: T + 13 * S }),
    ]);
    expect(decisions(resumed)[0].approved).toBe(true);
  });

  it('HALT * of one instrument covers every account of the partition, also those first seen later', () => {
    const d = driver(rulesOf());
    d.run([signal({}, 'paper-1')]);
    const halt = d.run([
      command('HALT', null, { id: 'all-a', instrumentId: 'SYN:A' }),
      signal({ tsEvent: T + S }, 'paper-2'),
      signal({ instrumentId: 'SYN:B', tsEvent: T + S }, 'paper-2'),
    ]);
    expect(
      orders(halt)
        .filter((o) => o.action === 'CANCEL')
        .map((o) => [o.account, o.instrumentId]),
    ).toEqual([['paper-1', 'SYN:A']]);
    expect(decisions(halt).map((x) => [x.instrumentId, codesOf(x)])).toEqual([
      ['SYN:A', ['INSTRUMENT_HALTED']],
      ['SYN:B', []],
    ]);
    // A partition-wide HALT and RESUME of everything leave the instrument's own halt in place.
    const whole = d.run([
      command('HALT', null, { id: 'all', tsIssued: T + 2 * S }),
      command('RESUME', null, { id: 'all-back', tsIssued: T + 3 * S }),
      signal({ tsEvent: T + 4 * S }, 'paper-2'),
    ]);
    expect(codesOf(decisions(whole)[0])).toEqual(['INSTRUMENT_HALTED']);
    const resume = d.run([
      command('RESUME', null, { id: 'go-a', instrumentId: 'SYN:A' }),
      signal({ tsEvent: T + 5 * S }, 'paper-2'),
    ]);
    expect(decisions(resume)[0].approved).toBe(true);
  });

  it('limits the submit rate per account per second of event time', () => {
    const d = driver(rulesOf({ maxSubmitsPerSecond: 2 }));
    const ids = ['SYN:A', 'SYN:B', 'SYN:C', 'SYN:D'];
    const r = d.run([
      ...ids.slice(0, 3).map((id, i) => signal({ instrumentId: id, tsEvent: T + i * 1000 })),
      signal({ instrumentId: 'SYN:D', tsEvent: T + S }),
    ]);
    expect(decisions(r).map((x) => codesOf(x))).toEqual([[], [], ['SUBMIT_RATE'], []]);
  });

  it('an approved order supersedes an open order on the other side (a CANCEL, counted as a modify)', () => {
    const d = driver(rulesOf({ maxModifiesPerSecond: 1 }));
    const first = d.run([signal()]);
    const second = d.run([signal({ side: 'SELL', tsEvent: T + S })]);
    expect(orders(second).map((o) => [o.action, o.orderId, o.reason])).toEqual([
      ['CANCEL', orders(first)[0].orderId, 'SUPERSEDED'],
      ['NEW', `risk|s:SYN:A:${T + S}:SELL|paper-1`, `decision s:SYN:A:${T + S}:SELL|paper-1`],
    ]);
  });

  it('sends one cancel per open order until it is answered, whatever the timing of the answers', () => {
    const d = driver(rulesOf({ maxModifiesPerSecond: null }));
    const first = d.run([signal()]);
    const buy = orders(first)[0].orderId;
    // Two SELLs before execution answers the first cancel: one cancel only.
    const sells = d.run([signal({ side: 'SELL', tsEvent: T + S }), signal({ side: 'SELL', tsEvent: T + 2 * S })]);
    expect(
      orders(sells)
        .filter((o) => o.action === 'CANCEL')
        .map((o) => o.orderId),
    ).toEqual([buy]);
    // A CANCEL_REJECTED (the order was filled or unknown by then) makes it cancellable again.
    d.run([orderEvent(buy, { kind: 'CANCEL_REJECTED', status: 'ACCEPTED', tsEvent: T + 3 * S })]);
    const again = d.run([signal({ side: 'SELL', tsEvent: T + 4 * S })]);
    expect(
      orders(again)
        .filter((o) => o.action === 'CANCEL')
        .map((o) => o.orderId),
    ).toEqual([buy]);
  });

  it('applies the pattern-day-trader rule before the effective date and intraday margin from it', () => {
    const rules = rulesOf(
      {},
      {
        accounts: { 'paper-1': { startingCash: '20000' } },
        dayTrading: {
          regimes: [
            {
              from: '2001-09-28',
              rule: 'PATTERN_DAY_TRADER',
              minEquity: '25000',
              maxDayTrades: 3,
              windowBusinessDays: 5,
            },
            { from: '2026-06-04', rule: 'INTRADAY_MARGIN' },
          ],
        },
      },
    );
    const monday = Date.UTC(2026, 5, 1, 15) * 1000;
    const trades = [0, 1, 2].flatMap((k) => [
      fill('BUY', '1', '100', { tsEvent: monday + k * 10 * S }),
      fill('SELL', '1', '100', { tsEvent: monday + (k * 10 + 5) * S }),
    ]);
    const wednesday = Date.UTC(2026, 5, 3, 15) * 1000;
    const thursday = Date.UTC(2026, 5, 4, 15) * 1000;
    const d = driver(rules);
    const r = d.run([...trades, signal({ tsEvent: wednesday })]);
    expect((on(r, 'positions.v1') as Position[]).map((p) => p.dayTrades)).toEqual([0, 1, 1, 2, 2, 3]);
    expect(codesOf(decisions(r)[0])).toEqual(['PATTERN_DAY_TRADER']);
    const later = d.run([signal({ tsEvent: thursday })]);
    expect(decisions(later)[0].approved).toBe(true);
  });

  it('is created from the shipped default config', () => {
    const stage = riskStage({ configFile: '' });
    expect([stage.name, stage.inputs, stage.stores, stage.globals]).toEqual([
      'risk',
      ['risk.signals.v1', 'execution.reports.v1', 'risk.commands.v1'],
      ['accounts'],
      ['marks.v1'],
    ]);
  });
});

describe('risk hardening', () => {
  it('dead-letters ids every object has (constructor, __proto__, toString) instead of crashing', () => {
    for (const id of ['constructor', '__proto__', 'toString']) {
      const d = driver(rulesOf());
      const r = d.run([
        fill('BUY', '1', '100', { instrumentId: id }),
        fill('BUY', '1', '100', { orderId: id }),
        signal({ instrumentId: id, id: `sig-${id}` }),
      ]);
      expect(r.failed.map((f) => f.code)).toEqual(['INVALID_VALUE', 'INVALID_VALUE', 'INVALID_VALUE']);
      expect(d.snapshot('accounts')['paper-1']).toBeUndefined();
    }
  });

  it("tracks a parent's progress event (PARTIALLY_FILLED / FILLED with no fill fields) without counting it", () => {
    const d = driver(rulesOf());
    const progress = (kind: 'PARTIALLY_FILLED' | 'FILLED', eventId: string) =>
      orderEvent('algo-1', { eventId, kind, status: kind, type: 'TWAP', lastQuantity: null, lastPrice: null });
    const r = d.run([
      orderEvent('algo-1', { eventId: 'algo-1:1', type: 'TWAP' }),
      progress('PARTIALLY_FILLED', 'algo-1:2'),
    ]);
    expect(r.failed).toEqual([]);
    let st = d.snapshot('accounts')['paper-1'] as AccountState;
    expect(Object.keys(st.openOrders)).toEqual(['algo-1']);
    expect(st.portfolio.positions).toEqual({});
    expect(d.run([progress('FILLED', 'algo-1:3')]).failed).toEqual([]);
    st = d.snapshot('accounts')['paper-1'] as AccountState;
    expect(st.openOrders).toEqual({});
    expect(st.portfolio.cash).toBe('100000');
  });

  it('REDUCING never flips: a reducing order is cut by the open orders already closing the position', () => {
    const d = driver(rulesOf({}, { instruments: { 'SYN:A': { tradingState: 'REDUCING' } } }));
    d.run([
      fill('BUY', '100', '100'),
      orderEvent('close-60', {
        side: 'SELL',
        quantity: new Decimal('60'),
        leavesQuantity: new Decimal('60'),
        reduceOnly: true,
      }),
    ]);
    const r = d.run([signal({ tsEvent: T + S, side: 'SELL' })]);
    expect(orders(r).map((o) => [o.side, o.quantity.toFixed(), o.reduceOnly])).toEqual([['SELL', '40', true]]);
    // With the position fully covered by open reducing orders, nothing more is sent.
    const again = d.run([signal({ tsEvent: T + 2 * S, side: 'SELL' })]);
    expect(orders(again)).toEqual([]);
    expect(codesOf(decisions(again)[0])).toContain('ZERO_QUANTITY');
  });

  it('a replayed RESUME is not applied again: it does not lift a breaker that tripped after it', () => {
    const d = driver(rulesOf({ maxDailyLoss: '1000' }));
    const resume = command('RESUME', 'paper-1', { id: 'resume-1', tsIssued: T });
    d.run([resume]);
    d.setGlobal('marks.v1', 'SYN:A', mark('SYN:A', '80'));
    d.run([fill('BUY', '100', '100', { tsEvent: T + S })]);
    expect((d.snapshot('accounts')['paper-1'] as AccountState).breaker?.rule).toBe('DAILY_LOSS');
    const replay = d.run([resume, signal({ tsEvent: T + 2 * S, price: new Decimal('80') })]);
    expect(audits(replay).map((a) => a.kind)).toEqual(['DECISION']);
    expect((d.snapshot('accounts')['paper-1'] as AccountState).breaker?.rule).toBe('DAILY_LOSS');
    expect(codesOf(decisions(replay)[0])).toContain('STATE_HALTED');
    // A replayed partition-wide HALT after RESUME * does not halt again.
    const halt = command('HALT', null, { id: 'halt-all' });
    d.run([halt, command('RESUME', null, { id: 'resume-all', tsIssued: T + 3 * S })]);
    d.run([halt]);
    expect(d.snapshot('accounts')[CONTROL_KEY]).toMatchObject({
      operator: { state: 'ACTIVE', commandId: 'resume-all' },
    });
  });

  it('keeps the rate windows bounded: at most limit + 1 event times, however many flatten or cancel requests', () => {
    const d = driver(rulesOf({ maxSubmitsPerSecond: 2, maxModifiesPerSecond: 2 }));
    const ids = Array.from({ length: 12 }, (_, i) => `SYN:I${i}`);
    d.run([
      ...ids.map((id) => fill('BUY', '1', '10', { instrumentId: id })),
      ...ids.map((id, i) => orderEvent(`open-${i}`, { instrumentId: id })),
    ]);
    const r = d.run([command('HALT', 'paper-1', { flatten: true })]);
    expect(orders(r).filter((o) => o.action === 'NEW')).toHaveLength(12);
    expect(orders(r).filter((o) => o.action === 'CANCEL')).toHaveLength(12);
    const st = d.snapshot('accounts')['paper-1'] as AccountState;
    expect([st.submits.length, st.modifies.length]).toEqual([3, 3]);
  });
});
