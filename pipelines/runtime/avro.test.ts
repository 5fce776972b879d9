import { Decimal, decimalFromUnscaled, unscaledOf } from '../../schemas/decimal';
import { MAX_DECIMAL_TEXT_LENGTH, boundedText, decimalTextProblem } from '../../schemas/decimal';
import { avroType } from './avro';
import { assertFits, parseDecimal } from './avro';
import { TickflowError } from './errors';

describe('Avro decimal logical type', () => {
  const type = avroType('quote');
  const base = {
    instrumentId: 'X:Y',
    venue: 'X',
    symbol: 'Y',
    source: 't',
    tsEvent: 1,
    tsRecv: 2,
    bidSize: '1',
    askPrice: '2',
    askSize: '3',
  };

  it.each([
    '0',
    '9682',
    '9681.92',
    '-0.000000000001',
    '-128',
    '127',
    '-1',
    '0.5',
    '99999999999999999999999999.999999999999',
    '-99999999999999999999999999.999999999999',
  ])('round-trips %s exactly', (text) => {
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
    expect(() => type.toBuffer({ ...base, bidPrice: '0.0000000000001' })).toThrow(
      /13 decimal places; the schema allows 12/,
    );
  });

  it('rejects JS numbers so no float enters a money field', () => {
    expect(() => type.toBuffer({ ...base, bidPrice: 1.5 })).toThrow(/JS number/);
  });

  it('rejects values with too many integer digits', () => {
    expect(() => assertFits(new Decimal('1e26'), 38, 12)).toThrow(TickflowError);
  });

  it('converts unscaled integers without division', () => {
    expect(decimalFromUnscaled(-5n, 12).toFixed()).toBe('-0.000000000005');
    expect(unscaledOf(new Decimal('4024.301'), 12)).toBe(4024301000000000n);
  });

  it('sums the trade sizes of the recorded file exactly', () => {
    const sizes = ['0.132', '0.412', '0.296', '1.1', '2.2'];
    expect(sizes.reduce((acc, s) => acc.plus(s), new Decimal(0)).toFixed()).toBe('4.14');
  });

  it('bounds decimal text before building a Decimal, answering in microseconds with a short message', () => {
    const tiny = `0.${'0'.repeat(100)}1`;
    const huge = '9'.repeat(10_000_000);
    const hostile = ['1e9000000000000000', '1e-9000000000000000', huge, tiny, '1e99999999', '1e100', '0e100'];
    expect(() => parseDecimal('1e100')).toThrow(TickflowError); // warm up: compiles what the timed calls run
    for (const text of hostile) {
      // 'x'.repeat() builds a tree of strings that V8 copies flat at the first read; input from Kafka is flat already.
      expect(text.charCodeAt(0)).toBeGreaterThan(0);
      const started = process.hrtime.bigint();
      let error: unknown;
      try {
        parseDecimal(text);
      } catch (e) {
        error = e;
      }
      const micros = Number(process.hrtime.bigint() - started) / 1000;
      expect(error).toBeInstanceOf(TickflowError);
      expect((error as Error).message.length).toBeLessThan(200);
      expect(micros).toBeLessThan(5000);
    }
    expect(() => parseDecimal('9'.repeat(10_000_000))).toThrow(`longer than the ${MAX_DECIMAL_TEXT_LENGTH} characters`);
    expect(() => parseDecimal('1e9000000000000000')).toThrow("'1e9000000000000000' has an exponent beyond ±99");
    expect(() => parseDecimal('123456789012345678901234567')).toThrow(/27 integer digits; decimal\(38, 12\) allows 26/);
  });

  it('refuses hostile decimal strings in Avro encoding quickly, saying why', () => {
    expect(() => type.toBuffer({ ...base, bidPrice: '1e9000000000000000' })).toThrow(/exponent beyond ±99/);
    expect(() => type.toBuffer({ ...base, bidPrice: '12x' })).toThrow(/'12x' is not a decimal number/);
    expect(type.isValid({ ...base, bidPrice: '1e9000000000000000' })).toBe(false);
    expect(type.isValid({ ...base, bidPrice: '1.5e3' })).toBe(true);
  });

  it('shows values in messages bounded, even a Decimal of a million digits', () => {
    expect(boundedText('short')).toBe('short');
    expect(boundedText('x'.repeat(50))).toBe(`${'x'.repeat(40)}… (50 characters)`);
    const huge = new Decimal('7'.repeat(1_000_000));
    expect(() => assertFits(huge, 38, 12)).toThrow(TickflowError);
    let message = '';
    try {
      assertFits(huge, 38, 12);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.length).toBeLessThan(200);
    let tiny = '';
    try {
      assertFits(new Decimal('1e-99999999'), 38, 12);
    } catch (e) {
      tiny = (e as Error).message;
    }
    expect(tiny).toMatch(/^value 1e-99999999 has 99999999 decimal places/);
  });

  it('judges decimal text exactly as assertFits judges the Decimal, in every written form', () => {
    let seed = 99;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const digits = (n: number): string => Array.from({ length: n }, () => String(next(10))).join('');
    for (let i = 0; i < 20_000; i++) {
      const integer = next(4) === 0 ? '' : digits(next(30));
      const fraction = next(3) === 0 ? undefined : digits(next(20));
      const exponent = next(3) === 0 ? `e${['', '+', '-'][next(3)]}${next(40)}` : '';
      let text = `${['', '-', '+'][next(3)]}${integer}${fraction === undefined ? '' : `.${fraction}`}${exponent}`;
      if (next(20) === 0) text = text.replace(/\d/, '0'.repeat(next(10)));
      const problem = decimalTextProblem(text, 38, 12);
      let fits: boolean;
      try {
        const value = new Decimal(text);
        assertFits(value, 38, 12);
        fits = text.length <= MAX_DECIMAL_TEXT_LENGTH;
      } catch {
        fits = false;
      }
      if ((problem === undefined) !== fits) {
        const verdict = fits ? 'fits' : 'does not fit';
        throw new Error(`'${text}': decimalTextProblem says ${problem ?? 'fits'}, assertFits says ${verdict}`);
      }
    }
  });
});
