import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import type { SchemaName } from '../../schemas/avro';
import { avroType, readSchema } from '../../schemas/avro';
import { DecimalType } from '../../schemas/decimal';
import { topicSpec, valueSubject } from '../../topics/catalog';
import { endpoints } from '../../ops/config';
import { TickflowError } from '../../ops/errors';

/**
 * Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body.
 * Encoding writes with the local .avsc (whose registry id is looked up once per topic).
 * Decoding reads with the local .avsc as reader schema, resolving from whatever writer schema
 * the id names, so a consumer keeps working across BACKWARD-compatible schema changes.
 */
export class DecodeError extends Error {
  readonly code = 'DECODE_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

export class AvroCodec {
  private readonly registry: SchemaRegistry;
  private readonly writerIds = new Map<string, Promise<number>>();
  private readonly resolvers = new Map<string, Promise<avro.Resolver>>();

  constructor(registryUrl = endpoints().schemaRegistryUrl) {
    // No shared `registry` in the options: the library spreads them per schema, avsc fills it.
    this.registry = new SchemaRegistry({ host: registryUrl, clientId: 'tickflow' }, { [SchemaType.AVRO]: { logicalTypes: { decimal: DecimalType } } });
  }

  schemaOf(topic: string): SchemaName {
    const spec = topicSpec(topic);
    if (!spec) throw new TickflowError('CONFIG', `topic ${topic} is not in the catalog`, 'add it to topics/catalog.ts');
    return spec.valueSchema;
  }

  private writerId(topic: string): Promise<number> {
    let id = this.writerIds.get(topic);
    if (!id) {
      const subject = valueSubject(topic);
      id = this.registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(readSchema(this.schemaOf(topic))) }).catch((error: Error) => {
        this.writerIds.delete(topic);
        throw new TickflowError('SCHEMA_INVALID', `the schema of ${topic} is not registered under ${subject}: ${error.message}`, 'run `tickflow schemas register`');
      });
      this.writerIds.set(topic, id);
    }
    return id;
  }

  /** Resolves the registry ids of every topic's schema up front, so encode never waits on HTTP. */
  async prepare(topics: string[]): Promise<void> {
    await Promise.all(topics.map((t) => this.writerId(t)));
  }

  async encode(topic: string, value: unknown): Promise<Buffer> {
    const id = await this.writerId(topic);
    return this.encodeWithId(topic, id, value);
  }

  encodeWithId(topic: string, id: number, value: unknown): Buffer {
    const body = avroType(this.schemaOf(topic)).toBuffer(value);
    const header = Buffer.alloc(5);
    header.writeUInt8(0, 0);
    header.writeInt32BE(id, 1);
    return Buffer.concat([header, body]);
  }

  private resolver(topic: string, id: number): Promise<avro.Resolver> {
    const key = `${topic}#${id}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      resolver = this.registry.getSchema(id).then(
        (writer) => avroType(this.schemaOf(topic)).createResolver(writer as unknown as avro.Type),
        (error: Error & { status?: number }) => {
          this.resolvers.delete(key);
          // Only "no such id" makes the record bad; an unreachable registry is a transient fault.
          if (error.status === 404) throw new DecodeError(`schema id ${id} is unknown to the registry`);
          throw new TickflowError('NOT_REACHABLE', `schema registry lookup of id ${id} failed: ${error.message}`, 'check that the schema registry is up (`tickflow stack status`)');
        },
      );
      this.resolvers.set(key, resolver);
    }
    return resolver;
  }

  async decode<T>(topic: string, buffer: Buffer | null): Promise<T> {
    if (!buffer || buffer.length < 5) throw new DecodeError(`value of ${buffer?.length ?? 0} bytes is too short for the Confluent wire format`);
    if (buffer.readUInt8(0) !== 0) throw new DecodeError(`value starts with byte ${buffer.readUInt8(0)}, not the Confluent magic byte 0`);
    const id = buffer.readInt32BE(1);
    let resolver: avro.Resolver;
    try {
      resolver = await this.resolver(topic, id);
    } catch (error) {
      if (error instanceof DecodeError || error instanceof TickflowError) throw error;
      throw new DecodeError(`schema id ${id} cannot be read as ${this.schemaOf(topic)}: ${(error as Error).message}`);
    }
    try {
      return avroType(this.schemaOf(topic)).fromBuffer(buffer.subarray(5), resolver) as T;
    } catch (error) {
      throw new DecodeError(`Avro body does not match schema id ${id}: ${(error as Error).message}`);
    }
  }
}
