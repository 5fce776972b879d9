import { avroType } from './avro';
import { Decimal, DecimalRangeError, assertFits, decimalFromUnscaled, unscaledOf } from './decimal';

describe('Avro decimal logical type', () => {
  const type = avroType('quote');
  const base = { instrumentId: 'X:Y', venue: 'X', symbol: 'Y', source: 't', tsEvent: 1, tsRecv: 2, bidSize: '1', askPrice: '2', askSize: '3' };

  it.each(['0', '9682', '9681.92', '-0.000000000001', '-128', '127', '-1', '0.5', '99999999999999999999999999.999999999999', '-99999999999999999999999999.999999999999'])('round-trips %s exactly', (text) => {
    const back = type.fromBuffer(type.toBuffer({ ...base, bidPrice: text })) as { bidPrice: Decimal };
    expect(back.bidPrice).toBeInstanceOf(Decimal);
    expect(back.bidPrice.equals(new Decimal(text))).toBe(true);
  });

  it('round-trips 2,000 random values of every magnitude and sign exactly', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 2000; i++) {
      const intDigits = Math.floor(next() * 27);
      const places = Math.floor(next() * 13);
      let text = intDigits === 0 ? '0' : String(1 + Math.floor(next() * 9));
      for (let d = 1; d < intDigits; d++) text += String(Math.floor(next() * 10));
      if (places > 0) text += `.${Array.from({ length: places }, () => String(Math.floor(next() * 10))).join('')}`;
      if (next() < 0.5) text = `-${text}`;
      const back = type.fromBuffer(type.toBuffer({ ...base, bidPrice: text })) as { bidPrice: Decimal };
      if (!back.bidPrice.equals(new Decimal(text))) throw new Error(`${text} came back as ${back.bidPrice.toFixed()}`);
    }
  });

  it('rejects more decimal places than the scale instead of rounding', () => {
    expect(() => type.toBuffer({ ...base, bidPrice: '0.0000000000001' })).toThrow(/13 decimal places; the schema allows 12/);
  });

  it('rejects JS numbers so no float enters a money field', () => {
    expect(() => type.toBuffer({ ...base, bidPrice: 1.5 })).toThrow(/JS number/);
  });

  it('rejects values with too many integer digits', () => {
    expect(() => assertFits(new Decimal('1e26'), 38, 12)).toThrow(DecimalRangeError);
  });

  it('converts unscaled integers without division', () => {
    expect(decimalFromUnscaled(-5n, 12).toFixed()).toBe('-0.000000000005');
    expect(unscaledOf(new Decimal('4024.301'), 12)).toBe(4024301000000000n);
  });

  it('sums the trade sizes of the recorded file exactly', () => {
    const sizes = ['0.132', '0.412', '0.296', '1.1', '2.2'];
    expect(sizes.reduce((acc, s) => acc.plus(s), new Decimal(0)).toFixed()).toBe('4.14');
  });
});
