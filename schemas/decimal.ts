import DecimalJs from 'decimal.js';

/**
 * The one Decimal used for money in tickflow: decimal.js with 60 significant digits and
 * half-even rounding, so arithmetic on Avro decimal(38, s) values never rounds silently.
 * Construct from strings (or other Decimals), never from floats.
 */
export const Decimal = DecimalJs.clone({
  precision: 60,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Decimal = InstanceType<typeof Decimal>;

/**
 * Bounds on decimal text, checked before a Decimal is built: decimal.js takes time and memory in
 * proportion to the exponent and the digits (`1e9000000000000000` exhausts the heap), so text is
 * measured first. 64 characters hold any decimal(38, 12) value (at most 40 characters written
 * plainly) with room for padding zeros and an exponent; no exponent beyond ±99 can give a nonzero
 * value of that length that fits.
 */
export const MAX_DECIMAL_TEXT_LENGTH = 64;
export const MAX_DECIMAL_EXPONENT = 99;

/** `text` as an error message may show it: at most `max` characters, then '…' and the full length. */
export function boundedText(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

const DECIMAL_TEXT = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Text that plainly fits decimal(precision, scale): few digits each side of the point and no exponent. */
function plainPatternOf(precision: number, scale: number): RegExp {
  const integer = precision > scale ? `\\d{1,${precision - scale}}` : '0+';
  return new RegExp(`^[+-]?${integer}(\\.\\d{0,${scale}})?$`);
}

let plain = { precision: 38, scale: 12, pattern: plainPatternOf(38, 12) };

function plainPattern(precision: number, scale: number): RegExp {
  if (plain.precision !== precision || plain.scale !== scale) {
    plain = { precision, scale, pattern: plainPatternOf(precision, scale) };
  }
  return plain.pattern;
}

/**
 * What keeps `text` from being a decimal(precision, scale) value, or undefined when nothing does.
 * Accepted: `[+-]digits[.digits][e[+-]digits]` with at least one digit, at most
 * MAX_DECIMAL_TEXT_LENGTH characters, an exponent within ±MAX_DECIMAL_EXPONENT, at most `scale`
 * decimal places and `precision - scale` integer digits (leading zeros and trailing zeros after the
 * point do not count: `157.40700000` has 3 places). Exact, linear in the (bounded) text, and it
 * builds no Decimal, so any input is answered in microseconds. The answer continues a sentence that
 * starts with the text: "'1.5x' is not a decimal number".
 */
export function decimalTextProblem(text: string, precision: number, scale: number): string | undefined {
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) {
    return `is longer than the ${MAX_DECIMAL_TEXT_LENGTH} characters a decimal may have`;
  }
  if (plainPattern(precision, scale).test(text)) return undefined;
  const m = DECIMAL_TEXT.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return 'is not a decimal number';
  const integer = m[1];
  const fraction = m[2] ?? '';
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  if (Math.abs(exponent) > MAX_DECIMAL_EXPONENT) return `has an exponent beyond ±${MAX_DECIMAL_EXPONENT}`;
  // Positions in the digits integer + fraction of the first and last nonzero digit.
  let first = -1;
  let last = -1;
  const digits = integer.length + fraction.length;
  for (let i = 0; i < digits; i++) {
    const code = i < integer.length ? integer.charCodeAt(i) : fraction.charCodeAt(i - integer.length);
    if (code !== 48) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return undefined;
  // The decimal point sits before digit number `point` once the exponent has moved it.
  const point = integer.length + exponent;
  const places = Math.max(0, last + 1 - point);
  if (places > scale) return `has ${places} decimal places; the schema allows ${scale}`;
  const integerDigits = Math.max(0, point - first);
  if (integerDigits > precision - scale) {
    return `has ${integerDigits} integer digits; decimal(${precision}, ${scale}) allows ${precision - scale}`;
  }
  return undefined;
}

/** A Decimal as an error message may show it (exponent notation for huge or tiny values, then bounded). */
function shownDecimal(value: Decimal): string {
  return boundedText(value.toString());
}

/**
 * What keeps `value` from fitting decimal(precision, scale) without rounding, or undefined when
 * nothing does; the answer is a whole sentence about `what`.
 */
export function decimalFitProblem(
  value: Decimal,
  precision: number,
  scale: number,
  what = 'value',
): string | undefined {
  if (!value.isFinite()) return `${what} ${value.toString()} is not finite`;
  const places = value.decimalPlaces();
  if (places > scale) return `${what} ${shownDecimal(value)} has ${places} decimal places; the schema allows ${scale}`;
  // decimal.js keeps the base-10 exponent in `e`: a value below 1 has no integer digits.
  const integerDigits = value.isZero() ? 0 : Math.max(0, value.e + 1);
  if (integerDigits > precision - scale) {
    return `${what} ${shownDecimal(value)} has ${integerDigits} integer digits; decimal(${precision}, ${scale}) allows ${precision - scale}`;
  }
  return undefined;
}

/** Unscaled integer to Decimal, exactly (string placement of the point, no division). */
export function decimalFromUnscaled(unscaled: bigint, scale: number): Decimal {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text =
    scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return new Decimal(`${negative ? '-' : ''}${text}`);
}

/** The unscaled integer of a value with at most `scale` decimal places (exact: toFixed(scale) only pads). */
export function unscaledOf(value: Decimal, scale: number): bigint {
  return BigInt(value.toFixed(scale).replace('.', ''));
}

/**
 * numerator / denominator rounded half-even to `scale` places, computed on exact integers (no
 * intermediate rounding at any precision): for VWAPs, mids and other money ratios.
 */
export function quotientHalfEven(numerator: Decimal, denominator: Decimal, scale = 12): Decimal {
  // A zero denominator is the caller's bug (schemas/ sits below the error type of pipelines/runtime).
  if (denominator.isZero()) throw new RangeError('division by zero');
  const a = numerator.decimalPlaces();
  const b = denominator.decimalPlaces();
  let n = unscaledOf(numerator, a) * 10n ** BigInt(b + scale);
  let d = unscaledOf(denominator, b) * 10n ** BigInt(a);
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  let q = n / d;
  const r = n % d;
  const twice = 2n * (r < 0n ? -r : r);
  if (twice > d || (twice === d && q % 2n !== 0n)) q += n < 0n ? -1n : 1n;
  return decimalFromUnscaled(q, scale);
}
