import { designedBars } from '../../../../tests/support/designed-series';
import { rsiReentry } from './strategy';
import { RSI } from '../../../indicators/oscillators';

/** Drives the template through RSI directly (a registered strategy is driven through the score stage). */
function signals(closes: number[]): string[] {
  const rsi = new RSI(14);
  let previous: number | undefined;
  const out: string[] = [];
  for (const [i, bar] of designedBars('T:X', closes).entries()) {
    rsi.update(bar.close.toNumber());
    const values: Record<string, number> = rsi.value === undefined ? {} : { rsi: rsi.value };
    const draft = rsiReentry.evaluate(
      { bar, values, previous: previous === undefined ? undefined : { rsi: previous } },
      { period: 14, oversold: 30, overbought: 70 },
    );
    if (draft) out.push(`${draft.side}@${i}`);
    previous = rsi.value;
  }
  return out;
}

describe('template strategy (RSI re-entry)', () => {
  // 20 falling closes drive RSI(14) to 0; the second +3 rebound (bar 21) lifts it past 30.
  it('buys once when a selloff turns, and stays quiet on a gentle drift', () => {
    const selloff = [
      ...Array.from({ length: 20 }, (_, i) => 100 - i),
      ...Array.from({ length: 4 }, (_, i) => 84 + i * 3),
    ];
    expect(signals(selloff)).toEqual(['BUY@21']);
    expect(signals(Array.from({ length: 30 }, (_, i) => 100 + (i % 2 ? 0.3 : -0.2)))).toEqual([]);
  });
});
