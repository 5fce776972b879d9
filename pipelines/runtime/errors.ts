/**
 * The one error type of tickflow. Every error it raises on purpose is a TickflowError with a code
 * from the closed list below; the code decides what happens next:
 *
 * - `record`: one record's fault. The runtime sends the record to its topic's `.dlq` twin with the
 *   code and message and goes on; never retried (the same bytes fail the same way).
 * - `user`: a setup, flag or config the user must fix. The CLI prints `message` and `fix` and exits
 *   non-zero without a stack (2 for USAGE, else 1).
 * - `transient`: a server did not answer, or answered "later". Retried with backoff and shown in
 *   health; never a dead letter.
 * - `control`: the runtime's own control flow (a stop in progress); never reported.
 * - `invariant`: a broken invariant (a bug). The stage stops loudly.
 *
 * Anything thrown that is not a TickflowError (a library's error, a TypeError) is treated as a bug
 * by the runtime, except where a boundary translates it (codec, Kafka, HTTP clients).
 */
const CODES = {
  // Records: the dead letter's errorCode.
  PARSE_ERROR: { kind: 'record', retriable: false, meaning: 'the bytes are not a record of the format' },
  INVALID_VALUE: { kind: 'record', retriable: false, meaning: 'a field holds a value the contract does not allow' },
  UNKNOWN_FORMAT: { kind: 'record', retriable: false, meaning: 'no registered format parses this raw record' },
  DECODE_ERROR: { kind: 'record', retriable: false, meaning: 'the message is not Avro of a known schema' },
  INVALID_OUTPUT: { kind: 'record', retriable: false, meaning: 'what the stage made of the record cannot be encoded' },
  REJECTED_BY_STORE: { kind: 'record', retriable: false, meaning: 'QuestDB refused the row for good' },
  LINE_TOO_LONG: { kind: 'record', retriable: false, meaning: 'a replayed line is over the reader limit' },
  // Users: message and fix.
  USAGE: { kind: 'user', retriable: false, meaning: 'a command line that cannot work' },
  CONFIG: { kind: 'user', retriable: false, meaning: 'a setting that cannot work' },
  JAVA_MISSING: { kind: 'user', retriable: false, meaning: 'no usable Java for the local stack' },
  MAVEN_MISSING: { kind: 'user', retriable: false, meaning: 'no Maven to fetch the local stack' },
  DOWNLOAD_FAILED: {
    kind: 'user',
    retriable: false,
    meaning: 'an artifact could not be fetched or did not match its checksum',
  },
  PORT_TAKEN: { kind: 'user', retriable: false, meaning: 'a port the local stack needs is in use' },
  START_FAILED: { kind: 'user', retriable: false, meaning: 'a local server did not start' },
  STACK_MISMATCH: { kind: 'user', retriable: false, meaning: 'the running stack is not the one expected' },
  SCHEMA_INCOMPATIBLE: { kind: 'user', retriable: false, meaning: 'a schema change breaks readers' },
  SCHEMA_INVALID: { kind: 'user', retriable: false, meaning: 'a schema file is not valid Avro' },
  TOPIC_CONFLICT: {
    kind: 'user',
    retriable: false,
    meaning: 'a topic exists with settings the catalog forbids changing',
  },
  BAD_INPUT_FILE: { kind: 'user', retriable: false, meaning: 'an input file cannot be read' },
  SETUP: { kind: 'user', retriable: false, meaning: 'the environment is missing a piece' },
  // Servers: retried.
  NOT_REACHABLE: { kind: 'transient', retriable: true, meaning: 'a server does not answer' },
  TIMEOUT: { kind: 'transient', retriable: true, meaning: 'a call did not complete in its bound' },
  RESPONSE_TOO_LARGE: { kind: 'transient', retriable: true, meaning: 'a server answered with more than the limit' },
  RATE_LIMITED: {
    kind: 'transient',
    retriable: true,
    meaning: 'a server asked to slow down (HTTP 418/429, Retry-After)',
  },
  BAD_RESPONSE: {
    kind: 'transient',
    retriable: true,
    meaning: 'a server answered with something unusable (a 5xx, not JSON)',
  },
  // The runtime.
  STOPPING: { kind: 'control', retriable: false, meaning: 'the work was cut short by a stop' },
  INVARIANT: { kind: 'invariant', retriable: false, meaning: 'a bug: something that must hold did not' },
} as const satisfies Record<string, { kind: ErrorKind; retriable: boolean; meaning: string }>;

export type ErrorKind = 'record' | 'user' | 'transient' | 'control' | 'invariant';
export type ErrorCode = keyof typeof CODES;
/** The codes a dead letter can carry. */
export type RecordErrorCode = { [C in ErrorCode]: (typeof CODES)[C]['kind'] extends 'record' ? C : never }[ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.keys(CODES) as ErrorCode[];

export class TickflowError extends Error {
  readonly kind: ErrorKind;
  /** True when the same call may succeed later (a server's fault), so callers retry with backoff. */
  readonly retriable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fix?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TickflowError';
    this.kind = CODES[code].kind;
    this.retriable = CODES[code].retriable;
  }
}

/** A record-level rejection, thrown by parsers and stages; the runtime dead-letters the record. */
export function recordError(code: RecordErrorCode, message: string): TickflowError {
  return new TickflowError(code, message);
}

export function isRecordError(error: unknown): error is TickflowError & { code: RecordErrorCode } {
  return error instanceof TickflowError && error.kind === 'record';
}

export function isTickflowError(error: unknown, code?: ErrorCode): error is TickflowError {
  return error instanceof TickflowError && (code === undefined || error.code === code);
}

export function describeError(error: unknown): string {
  if (error instanceof TickflowError) return error.fix ? `${error.message}\n  fix: ${error.fix}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What a code means, for docs and `--help` (README "Errors"). */
export function errorCodeMeaning(code: ErrorCode): { kind: ErrorKind; retriable: boolean; meaning: string } {
  return CODES[code];
}
