import { Decimal } from '../../schemas/decimal';
import { applyFill, businessDaysEnding, dayTradesWithin, markDay, newPortfolio, valuation } from './portfolio';
import { seeded } from './fixtures';

const D = (s: string): Decimal => new Decimal(s);

describe('portfolio accounting', () => {
  it('average cost, realized net of fees, unrealized from the mark, a flip through zero', () => {
    const p = newPortfolio(D('10000'));
    applyFill(p, { instrumentId: 'X:A', side: 'BUY', quantity: D('10'), price: D('100'), fee: D('1'), tradeDate: 'd' });
    applyFill(p, { instrumentId: 'X:A', side: 'BUY', quantity: D('10'), price: D('110'), fee: D('1'), tradeDate: 'd' });
    applyFill(p, {
      instrumentId: 'X:A',
      side: 'SELL',
      quantity: D('25'),
      price: D('120'),
      fee: D('2'),
      tradeDate: 'd',
    });
    const b = p.positions['X:A'];
    // closed 20 bought for 2100 at 2400: +300, fees 4; then short 5 at 120
    expect([b.qty, b.cost, b.realized, b.fees, p.cash]).toEqual(['-5', '-600', '296', '4', '10896']);
    const v = valuation(p, () => D('130'));
    expect([v.equity.toFixed(), v.unrealized.toFixed(), v.gross.toFixed(), v.net.toFixed()]).toEqual([
      '10246',
      '-50',
      '650',
      '-650',
    ]);
    expect(valuation(p, () => undefined).equity.toFixed()).toBe('10296'); // last fill price
  });

  it('counts a day trade per same-day open-then-close turn, within business-day windows', () => {
    const p = newPortfolio(D('10000'));
    const f = (side: 'BUY' | 'SELL', q: string, tradeDate: string): boolean =>
      applyFill(p, { instrumentId: 'X:A', side, quantity: D(q), price: D('10'), fee: D('0'), tradeDate }).dayTrade;
    expect([f('BUY', '10', '2024-01-05'), f('SELL', '5', '2024-01-05'), f('SELL', '5', '2024-01-05')]).toEqual([
      false,
      true,
      false,
    ]);
    expect([f('BUY', '10', '2024-01-05'), f('SELL', '10', '2024-01-08')]).toEqual([false, false]); // held overnight
    expect([f('BUY', '3', '2024-01-08'), f('SELL', '3', '2024-01-08')]).toEqual([false, true]);
    expect(businessDaysEnding('2024-01-09', 5)).toEqual([
      '2024-01-03',
      '2024-01-04',
      '2024-01-05',
      '2024-01-08',
      '2024-01-09',
    ]);
    expect(dayTradesWithin(p, '2024-01-09', 5)).toBe(2);
    expect(dayTradesWithin(p, '2024-01-12', 5)).toBe(1);
  });

  it('day start equity per trade date and the peak', () => {
    const p = newPortfolio(D('1000'));
    markDay(p, '2024-01-03', D('1000'));
    markDay(p, '2024-01-03', D('1200'));
    markDay(p, '2024-01-04', D('900'));
    expect([p.tradeDate, p.dayStartEquity, p.peakEquity]).toEqual(['2024-01-04', '900', '1200']);
  });

  it('thousands of random fills: exact cash, positions and realized + unrealized = equity change', () => {
    const rnd = seeded(20240103);
    const instruments = ['X:A', 'X:B', 'X:C', 'X:D'];
    const start = D('1000000');
    const p = newPortfolio(start);
    let cashFlow = D('0');
    let fees = D('0');
    const positions = new Map<string, Decimal>(instruments.map((id) => [id, D('0')]));
    for (let i = 0; i < 5000; i++) {
      const id = instruments[Math.floor(rnd() * instruments.length)];
      const side = rnd() < 0.5 ? 'BUY' : 'SELL';
      const quantity = D((1 + Math.floor(rnd() * 3000)).toString()).div(1000); // 0.001 .. 3 (3 places)
      const price = D((5000 + Math.floor(rnd() * 10000)).toString()).div(100); // 50.00 .. 149.99
      const fee = D(Math.floor(rnd() * 700).toString()).div(10000); // 0 .. 0.0699
      applyFill(p, { instrumentId: id, side, quantity, price, fee, tradeDate: `d${Math.floor(i / 100)}` });
      const signed = side === 'BUY' ? quantity : quantity.neg();
      cashFlow = cashFlow.sub(signed.mul(price));
      fees = fees.add(fee);
      positions.set(id, (positions.get(id) as Decimal).add(signed));
    }
    expect(p.cash).toBe(start.add(cashFlow).sub(fees).toFixed());
    expect(p.fees).toBe(fees.toFixed());
    for (const id of instruments) expect(p.positions[id].qty).toBe((positions.get(id) as Decimal).toFixed());
    const marks = new Map(instruments.map((id, k) => [id, D(`${90 + k * 7}.37`)]));
    const v = valuation(p, (id) => marks.get(id));
    expect(D(p.realized).add(v.unrealized).toFixed()).toBe(v.equity.sub(start).toFixed());
    // and equity is cash plus market value, exactly
    let market = D('0');
    for (const id of instruments) market = market.add((positions.get(id) as Decimal).mul(marks.get(id) as Decimal));
    expect(v.equity.toFixed()).toBe(D(p.cash).add(market).toFixed());
    const sumRealized = instruments.reduce((s, id) => s.add(D(p.positions[id].realized)), D('0'));
    expect(sumRealized.toFixed()).toBe(p.realized);
  });
});
