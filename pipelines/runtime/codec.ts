import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import type { SchemaName } from '../../schemas/avro';
import { readSchema } from '../../schemas/avro';
import { topicSpec, valueSubject } from '../../topics/catalog';
import { endpoints } from './settings';
import { TickflowError } from './errors';
import { schemaRegistryClientOptions } from './security';
import { backoffMs, bounded, sleep } from './bounded';
import { reportFailure, reportOk } from './dependencies';
import { avroType } from './avro';
import { DecimalType } from './avro';

/**
 * Avro in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body.
 * Encoding writes with the local .avsc (whose registry id is looked up once per topic).
 * Decoding reads with the local .avsc as reader schema, resolving from whatever writer schema
 * the id names, so a consumer keeps working across BACKWARD-compatible schema changes.
 *
 * Every registry call is bounded (REGISTRY_TIMEOUT_MS) and retried a few times with backoff: a
 * registry that stops answering (seen: a lookup hanging for minutes on a kept-alive connection)
 * is a NOT_REACHABLE failure of the batch, retried by the runner and shown in health, never a hang.
 */

/** One registry call's bound; the library's own retries (mappersmith) are kept within it. */
export const REGISTRY_TIMEOUT_MS = 10_000;
const REGISTRY_ATTEMPTS = 3;

export class AvroCodec {
  private readonly registry: SchemaRegistry;
  private readonly writerIds = new Map<string, Promise<number>>();
  /** Writer ids already resolved, for synchronous encoding. */
  private readonly knownIds = new Map<string, number>();
  private readonly resolvers = new Map<string, Promise<avro.Resolver>>();

  constructor(
    private readonly registryUrl = endpoints().schemaRegistryUrl,
    private readonly timeoutMs = REGISTRY_TIMEOUT_MS,
  ) {
    // No shared `registry` in the options: the library spreads them per schema, avsc fills it.
    this.registry = new SchemaRegistry(
      {
        host: registryUrl,
        clientId: 'tickflow',
        retry: { retries: 1, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 },
        ...schemaRegistryClientOptions(registryUrl),
      },
      { [SchemaType.AVRO]: { logicalTypes: { decimal: DecimalType } } },
    );
  }

  schemaOf(topic: string): SchemaName {
    const spec = topicSpec(topic);
    if (!spec) throw new TickflowError('CONFIG', `topic ${topic} is not in the catalog`, 'add it to topics/catalog.ts');
    return spec.valueSchema;
  }

  /**
   * A registry call, bounded and retried. `permanent` tells an answer that retrying cannot change
   * (the registry answered "no"): it is thrown at once, as `permanent` maps it.
   */
  private async call<T>(
    what: string,
    fn: () => Promise<T>,
    permanent: (error: Error & { status?: number }) => Error | undefined,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await bounded(fn(), `schema registry ${what}`, this.timeoutMs);
        reportOk('schema-registry');
        return result;
      } catch (error) {
        const answered = permanent(error as Error & { status?: number });
        if (answered) {
          reportOk('schema-registry');
          throw answered;
        }
        reportFailure('schema-registry', error as Error);
        if (attempt >= REGISTRY_ATTEMPTS) {
          throw new TickflowError(
            'NOT_REACHABLE',
            `schema registry at ${this.registryUrl}: ${what} failed ${attempt} times: ${(error as Error).message}`,
            'check that the schema registry is up (`tickflow stack status`); the batch is retried',
          );
        }
        await sleep(backoffMs(attempt, 200, 2000));
      }
    }
  }

  private writerId(topic: string): Promise<number> {
    let id = this.writerIds.get(topic);
    if (!id) {
      const subject = valueSubject(topic);
      const schema = { type: SchemaType.AVRO as const, schema: JSON.stringify(readSchema(this.schemaOf(topic))) };
      id = this.call(
        `lookup of ${subject}`,
        () => this.registry.getRegistryIdBySchema(subject, schema),
        (error) =>
          error.status !== undefined && error.status >= 400 && error.status < 500
            ? new TickflowError(
                'SCHEMA_INVALID',
                `the schema of ${topic} is not registered under ${subject}: ${error.message}`,
                'run `tickflow schemas register`',
              )
            : undefined,
      ).then(
        (found) => {
          this.knownIds.set(topic, found);
          return found;
        },
        (error: Error) => {
          this.writerIds.delete(topic);
          throw error;
        },
      );
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

  /** Encodes with a writer id resolved earlier (`prepare`); throws if it was not. */
  encodeSync(topic: string, value: unknown): Buffer {
    const id = this.knownIds.get(topic);
    if (id === undefined)
      throw new TickflowError(
        'INVARIANT',
        `the schema id of ${topic} was not prepared before encoding`,
        'call codec.prepare() with every topic a runner writes',
      );
    return this.encodeWithId(topic, id, value);
  }

  encodeWithId(topic: string, id: number, value: unknown): Buffer {
    const body = avroType(this.schemaOf(topic)).toBuffer(value);
    const header = Buffer.alloc(5);
    header.writeUInt8(0, 0);
    header.writeInt32BE(id, 1);
    return Buffer.concat([header, body]);
  }

  /**
   * Decodes bytes this codec encoded for `topic` (writer schema = reader schema): a fused chain hands
   * its intermediate records on exactly as a consumer of the topic would read them.
   */
  decodeOwn<T>(topic: string, buffer: Buffer): T {
    return avroType(this.schemaOf(topic)).fromBuffer(buffer.subarray(5)) as T;
  }

  private resolver(topic: string, id: number): Promise<avro.Resolver> {
    const key = `${topic}#${id}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      // Only "no such id" makes the record bad; an unreachable registry is a transient fault.
      resolver = this.call(
        `lookup of schema id ${id}`,
        () => this.registry.getSchema(id),
        (error) =>
          error.status === 404
            ? new TickflowError('DECODE_ERROR', `schema id ${id} is unknown to the registry`)
            : undefined,
      ).then(
        (writer) => avroType(this.schemaOf(topic)).createResolver(writer as unknown as avro.Type),
        (error: Error) => {
          this.resolvers.delete(key);
          throw error;
        },
      );
      this.resolvers.set(key, resolver);
    }
    return resolver;
  }

  async decode<T>(topic: string, buffer: Buffer | null): Promise<T> {
    if (!buffer || buffer.length < 5)
      throw new TickflowError(
        'DECODE_ERROR',
        `value of ${buffer?.length ?? 0} bytes is too short for the Confluent wire format`,
      );
    if (buffer.readUInt8(0) !== 0)
      throw new TickflowError(
        'DECODE_ERROR',
        `value starts with byte ${buffer.readUInt8(0)}, not the Confluent magic byte 0`,
      );
    const id = buffer.readInt32BE(1);
    let resolver: avro.Resolver;
    try {
      resolver = await this.resolver(topic, id);
    } catch (error) {
      if (error instanceof TickflowError) throw error;
      throw new TickflowError(
        'DECODE_ERROR',
        `schema id ${id} cannot be read as ${this.schemaOf(topic)}: ${(error as Error).message}`,
      );
    }
    try {
      return avroType(this.schemaOf(topic)).fromBuffer(buffer.subarray(5), resolver) as T;
    } catch (error) {
      throw new TickflowError(
        'DECODE_ERROR',
        `Avro body does not match schema id ${id}: ${(error as Error).message.slice(0, 500)}`,
      );
    }
  }
}
