import DecimalJs from 'decimal.js';
import avro from 'avsc';

/**
 * The one Decimal used for money in tickflow: decimal.js with 60 significant digits and
 * half-even rounding, so arithmetic on Avro decimal(38, s) values never rounds silently.
 * Construct from strings (or other Decimals), never from floats.
 */
export const Decimal = DecimalJs.clone({ precision: 60, rounding: DecimalJs.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 40 });
export type Decimal = InstanceType<typeof Decimal>;

export class DecimalRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecimalRangeError';
  }
}

/** Parses a decimal string exactly; throws on anything that is not a plain finite decimal number. */
export function parseDecimal(text: string): Decimal {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new DecimalRangeError(`'${text}' is not a decimal number`);
  return new Decimal(text);
}

/** Checks that `value` fits decimal(precision, scale) without rounding. */
export function assertFits(value: Decimal, precision: number, scale: number, what = 'value'): void {
  if (!value.isFinite()) throw new DecimalRangeError(`${what} ${value.toString()} is not finite`);
  const places = value.decimalPlaces();
  if (places > scale) throw new DecimalRangeError(`${what} ${value.toFixed()} has ${places} decimal places; the schema allows ${scale}`);
  // decimal.js keeps the base-10 exponent in `e`: a value below 1 has no integer digits.
  const integerDigits = value.isZero() ? 0 : Math.max(0, value.e + 1);
  if (integerDigits > precision - scale) throw new DecimalRangeError(`${what} ${value.toFixed()} has ${integerDigits} integer digits; decimal(${precision}, ${scale}) allows ${precision - scale}`);
}

/** Minimal big-endian two's complement bytes of `unscaled` (via hex: much faster than byte-wise BigInt shifts). */
function toTwosComplement(unscaled: bigint): Buffer {
  if (unscaled >= 0n) {
    let hex = unscaled.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    if (parseInt(hex[0], 16) >= 8) hex = `00${hex}`;
    return Buffer.from(hex, 'hex');
  }
  let bytes = 1;
  while (unscaled < -(1n << BigInt(8 * bytes - 1))) bytes += 1;
  return Buffer.from(((1n << BigInt(8 * bytes)) + unscaled).toString(16).padStart(2 * bytes, '0'), 'hex');
}

function fromTwosComplement(buf: Buffer): bigint {
  if (buf.length === 0) return 0n;
  let v = BigInt(`0x${buf.toString('hex')}`);
  if (buf[0] & 0x80) v -= 1n << BigInt(buf.length * 8);
  return v;
}

/** Unscaled integer to Decimal, exactly (string placement of the point, no division). */
export function decimalFromUnscaled(unscaled: bigint, scale: number): Decimal {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
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

/**
 * Avro `decimal` logical type on `bytes` for avsc: values are Decimals; a value with more decimal
 * places or integer digits than the schema allows is rejected, never rounded.
 */
export class DecimalType extends avro.types.LogicalType {
  readonly precision: number;
  readonly scale: number;

  constructor(schema: avro.Schema, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    const attrs = schema as { precision?: number; scale?: number; type?: string };
    if (attrs.type !== 'bytes') throw new Error('tickflow decimals must be Avro bytes');
    if (!Number.isInteger(attrs.precision) || (attrs.precision ?? 0) < 1) throw new Error('decimal needs a positive precision');
    this.precision = attrs.precision as number;
    this.scale = attrs.scale ?? 0;
  }

  override _fromValue(value: unknown): Decimal {
    return decimalFromUnscaled(fromTwosComplement(value as Buffer), this.scale);
  }

  override _toValue(value: unknown): Buffer | undefined {
    if (typeof value === 'number') throw new DecimalRangeError(`decimal field got the JS number ${value}; pass a Decimal or a decimal string so no float enters money`);
    const decimal = toDecimal(value);
    if (!decimal) return undefined;
    assertFits(decimal, this.precision, this.scale);
    return toTwosComplement(unscaledOf(decimal, this.scale));
  }

  override _resolve(type: avro.Type): ((x: unknown) => unknown) | undefined {
    if (type instanceof DecimalType && type.scale === this.scale && type.precision <= this.precision) return (x) => x;
    return undefined;
  }

  override _export(schema: avro.Schema): void {
    const attrs = schema as unknown as Record<string, unknown>;
    attrs.precision = this.precision;
    attrs.scale = this.scale;
  }
}

/** Accepts Decimals and decimal strings; refuses JS numbers so no float enters a money field. */
function toDecimal(value: unknown): Decimal | undefined {
  if (value instanceof Decimal) return value;
  if (DecimalJs.isDecimal(value)) return new Decimal((value as DecimalJs).toString());
  if (typeof value === 'string') {
    try {
      return parseDecimal(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
