import avro from 'avsc';
import type { SchemaName } from '../../schemas/avro';
import { readSchema } from '../../schemas/avro';
import { TOPICS, valueSubject } from '../../topics/catalog';
import { endpoints } from '../../pipelines/runtime/settings';
import { TickflowError } from '../../pipelines/runtime/errors';
import { httpSecurity, serviceFetch } from '../../pipelines/runtime/security';
import { avroTypeOf } from '../../pipelines/runtime/avro';

/**
 * Schema registration and compatibility checks over the Confluent REST API (which Apicurio serves
 * under /apis/ccompat/v7). Every subject is `<topic>-value` with compatibility BACKWARD: consumers
 * on the new schema can read everything written with the previous one.
 */
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

function refusal(status: number): string {
  return status === 401 ? '401 unauthenticated' : '403 forbidden';
}

/**
 * One request to the registry, with the configured credentials and CA (see pipelines/runtime/security.ts).
 * A refused login (401/403) is a CONFIG error naming the settings to fix.
 */
async function call<T>(method: string, url: string, body?: unknown): Promise<{ status: number; json: T }> {
  const security = httpSecurity('schemaRegistry');
  let response: Response;
  try {
    response = await serviceFetch(security, url, {
      method,
      headers: { 'Content-Type': CONTENT_TYPE, Accept: CONTENT_TYPE },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new TickflowError(
      'NOT_REACHABLE',
      `schema registry at ${url} did not answer: ${(error as Error).message}`,
      'run `tickflow stack up`, or set TICKFLOW_SCHEMA_REGISTRY_URL to a running registry',
    );
  }
  if (response.status === 401 || response.status === 403) {
    await response.arrayBuffer();
    const { origin, pathname } = new URL(url);
    const credentials =
      'TICKFLOW_SCHEMA_REGISTRY_USERNAME and TICKFLOW_SCHEMA_REGISTRY_PASSWORD, or TICKFLOW_SCHEMA_REGISTRY_TOKEN';
    throw new TickflowError(
      'CONFIG',
      `schema registry at ${origin} refused ${method} ${pathname} (${refusal(response.status)})`,
      security.auth
        ? `check ${credentials}, and that the account may ${method === 'GET' ? 'read' : 'write'} subjects`
        : `set ${credentials} (each also as <NAME>_FILE)`,
    );
  }
  const text = await response.text();
  let json: T;
  try {
    json = (text ? JSON.parse(text) : {}) as T;
  } catch {
    json = { message: text } as T;
  }
  return { status: response.status, json };
}

export interface SubjectPlan {
  subject: string;
  topic: string;
  schema: SchemaName;
}

export function catalogSubjects(): SubjectPlan[] {
  return TOPICS.map((t) => ({ subject: valueSubject(t.name), topic: t.name, schema: t.valueSchema }));
}

export interface Registered {
  subject: string;
  id: number;
  version?: number;
}

export class RegistryAdmin {
  constructor(readonly baseUrl = endpoints().schemaRegistryUrl) {}

  async setCompatibility(subject: string, level: 'BACKWARD'): Promise<void> {
    const { status, json } = await call<{ message?: string }>(
      'PUT',
      `${this.baseUrl}/config/${encodeURIComponent(subject)}`,
      { compatibility: level },
    );
    if (status >= 300)
      throw new TickflowError(
        'SCHEMA_INVALID',
        `setting ${level} on ${subject} failed (${status}): ${JSON.stringify(json)}`,
        'check the registry log (`tickflow stack logs registry`)',
      );
  }

  async latest(subject: string): Promise<{ id: number; version: number; schema: string } | undefined> {
    const { status, json } = await call<{ id: number; version: number; schema: string }>(
      'GET',
      `${this.baseUrl}/subjects/${encodeURIComponent(subject)}/versions/latest`,
    );
    if (status === 404) return undefined;
    if (status >= 300)
      throw new TickflowError(
        'NOT_REACHABLE',
        `reading ${subject} failed (${status}): ${JSON.stringify(json)}`,
        'check the registry log (`tickflow stack logs registry`)',
      );
    return json;
  }

  async compatibility(subject: string): Promise<string | undefined> {
    const { status, json } = await call<{ compatibilityLevel?: string }>(
      'GET',
      `${this.baseUrl}/config/${encodeURIComponent(subject)}`,
    );
    return status < 300 ? json.compatibilityLevel : undefined;
  }

  /** Registers `schema` under `subject`, refusing (with the fields named) if it breaks BACKWARD. */
  async register(subject: string, schema: avro.Schema): Promise<Registered> {
    const problems = await this.check(subject, schema);
    if (problems.length > 0) throw incompatible(subject, problems);
    await this.setCompatibility(subject, 'BACKWARD');
    const { status, json } = await call<{ id?: number; message?: string; error_code?: number }>(
      'POST',
      `${this.baseUrl}/subjects/${encodeURIComponent(subject)}/versions`,
      { schema: JSON.stringify(schema), schemaType: 'AVRO' },
    );
    if (status === 409) throw incompatible(subject, [`the registry refused it as incompatible: ${json.message ?? ''}`]);
    if (status >= 300 || json.id === undefined)
      throw new TickflowError(
        'SCHEMA_INVALID',
        `registering ${subject} failed (${status}): ${JSON.stringify(json)}`,
        'fix the schema file named above',
      );
    const latest = await this.latest(subject);
    return { subject, id: json.id, version: latest?.version };
  }

  /**
   * Problems that make `schema` unable to read data written with the latest registered version
   * (empty when compatible or when the subject is new). The registry's verdict decides; the local
   * analysis names the fields.
   */
  async check(subject: string, schema: avro.Schema): Promise<string[]> {
    const latest = await this.latest(subject);
    if (!latest) return [];
    const local = backwardProblems(
      avroTypeOf(JSON.parse(latest.schema) as avro.Schema),
      avroTypeOf(schema),
      typeLabel(schema),
    );
    const { status, json } = await call<{ is_compatible?: boolean; messages?: string[] }>(
      'POST',
      `${this.baseUrl}/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
      { schema: JSON.stringify(schema), schemaType: 'AVRO' },
    );
    if (status >= 300)
      throw new TickflowError(
        'NOT_REACHABLE',
        `compatibility check of ${subject} failed (${status}): ${JSON.stringify(json)}`,
        'check the registry log (`tickflow stack logs registry`)',
      );
    if (json.is_compatible === false)
      return local.length > 0 ? local : [...(json.messages ?? ['the registry reports it incompatible'])];
    return local;
  }
}

function typeLabel(schema: avro.Schema): string {
  return (schema as { name?: string }).name ?? 'value';
}

function incompatible(subject: string, problems: string[]): TickflowError {
  return new TickflowError(
    'SCHEMA_INCOMPATIBLE',
    `schema for ${subject} is not BACKWARD compatible with the registered version:\n  ${problems.join('\n  ')}`,
    'give new fields a default, keep field types readable from the old ones (or widen them), or publish a new topic version (<name>.v<N+1>) for a breaking change',
  );
}

function describeType(type: avro.Type): string {
  const schema = type.schema() as unknown;
  return typeof schema === 'string' ? schema : JSON.stringify(schema);
}

/**
 * BACKWARD check of one schema pair, field by field: a reader with `next` must read data written
 * with `previous`. Returns one message per problem, naming the field path.
 */
export function backwardProblems(previous: avro.Type, next: avro.Type, where: string): string[] {
  if (previous instanceof avro.types.RecordType && next instanceof avro.types.RecordType) {
    const problems: string[] = [];
    for (const field of next.fields) {
      const old = previous.field(field.name) ?? previous.fields.find((f) => field.aliases.includes(f.name));
      if (!old) {
        if (field.defaultValue() === undefined)
          problems.push(`field '${where}.${field.name}' was added without a default, so old records cannot fill it`);
        continue;
      }
      problems.push(...backwardProblems(old.type, field.type, `${where}.${field.name}`));
    }
    return problems;
  }
  try {
    next.createResolver(previous);
    return [];
  } catch {
    return [
      `field '${where}' changed from ${describeType(previous)} to ${describeType(next)}, which cannot read the old values`,
    ];
  }
}

export async function registerCatalog(admin = new RegistryAdmin()): Promise<Registered[]> {
  const results: Registered[] = [];
  for (const plan of catalogSubjects()) results.push(await admin.register(plan.subject, readSchema(plan.schema)));
  return results;
}

export async function checkCatalog(
  admin = new RegistryAdmin(),
): Promise<{ subject: string; problems: string[]; registered: boolean }[]> {
  const results = [];
  for (const plan of catalogSubjects()) {
    const latest = await admin.latest(plan.subject);
    results.push({
      subject: plan.subject,
      registered: latest !== undefined,
      problems: await admin.check(plan.subject, readSchema(plan.schema)),
    });
  }
  return results;
}
