import avro from 'avsc';
import type { SchemaName } from '../../schemas/avro';
import { readSchema } from '../../schemas/avro';
import {
  Decimal,
  boundedText,
  decimalFitProblem,
  decimalFromUnscaled,
  decimalTextProblem,
  unscaledOf,
} from '../../schemas/decimal';
import { TickflowError } from './errors';

/**
 * Avro for tickflow: avsc types of the schema files with tickflow's logical types (decimal <->
 * Decimal, checked against the schema's precision and scale: rejected, never rounded).
 */

/**
 * Parses a decimal string exactly: throws TickflowError INVALID_VALUE on anything that is not a plain decimal
 * number fitting decimal(precision, scale) (by default the schemas' decimal(38, 12)), before
 * building it.
 */
export function parseDecimal(text: string, precision = 38, scale = 12): Decimal {
  const problem = decimalTextProblem(text, precision, scale);
  if (problem) throw new TickflowError('INVALID_VALUE', `'${boundedText(text)}' ${problem}`);
  return new Decimal(text);
}

/** Checks that `value` fits decimal(precision, scale) without rounding: TickflowError INVALID_VALUE if not. */
export function assertFits(value: Decimal, precision: number, scale: number, what = 'value'): void {
  const problem = decimalFitProblem(value, precision, scale, what);
  if (problem) throw new TickflowError('INVALID_VALUE', problem);
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
    if (attrs.type !== 'bytes')
      throw new TickflowError(
        'SCHEMA_INVALID',
        'tickflow decimals must be Avro bytes',
        'declare decimals as {"type": "bytes", "logicalType": "decimal", ...}',
      );
    if (!Number.isInteger(attrs.precision) || (attrs.precision ?? 0) < 1)
      throw new TickflowError(
        'SCHEMA_INVALID',
        'decimal needs a positive precision',
        'give the decimal a precision of 1 or more',
      );
    this.precision = attrs.precision as number;
    this.scale = attrs.scale ?? 0;
  }

  override _fromValue(value: unknown): Decimal {
    return decimalFromUnscaled(fromTwosComplement(value as Buffer), this.scale);
  }

  override _toValue(value: unknown): Buffer | undefined {
    if (typeof value === 'number')
      throw new TickflowError(
        'INVALID_VALUE',
        `decimal field got the JS number ${value}; pass a Decimal or a decimal string so no float enters money`,
      );
    const decimal = toDecimal(value, this.precision, this.scale);
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

/**
 * Accepts Decimals and decimal strings; refuses JS numbers so no float enters a money field. A
 * string that is not a decimal(precision, scale) value throws TickflowError INVALID_VALUE saying why.
 */
function toDecimal(value: unknown, precision: number, scale: number): Decimal | undefined {
  if (value instanceof Decimal) return value;
  if (Decimal.isDecimal(value)) return new Decimal((value as Decimal).toString());
  if (typeof value === 'string') return parseDecimal(value, precision, scale);
  return undefined;
}

/** Fresh options per call: avsc stores named types in `opts.registry`, so sharing one object would collide. */
export function avroOptions(): Partial<avro.ForSchemaOptions> {
  return { logicalTypes: { decimal: DecimalType }, wrapUnions: false, registry: {} };
}

const cache = new Map<string, avro.Type>();

/** The avsc Type of a schema file, with tickflow's logical types (decimal -> Decimal). */
export function avroType(name: SchemaName): avro.Type {
  let type = cache.get(name);
  if (!type) {
    type = avro.Type.forSchema(readSchema(name), avroOptions());
    cache.set(name, type);
  }
  return type;
}

export function avroTypeOf(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, avroOptions());
}
