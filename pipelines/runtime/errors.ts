/**
 * Errors that reach a user carry a typed code, say what is wrong, and say how to fix it.
 * The CLI prints `message` and `fix` and exits non-zero; it never prints a stack for these.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'JAVA_MISSING'
  | 'MAVEN_MISSING'
  | 'DOWNLOAD_FAILED'
  | 'PORT_TAKEN'
  | 'START_FAILED'
  | 'STACK_MISMATCH'
  | 'NOT_REACHABLE'
  | 'SCHEMA_INCOMPATIBLE'
  | 'SCHEMA_INVALID'
  | 'TOPIC_CONFLICT'
  | 'BAD_INPUT_FILE'
  | 'PARSE_ERROR'
  | 'DECODE_ERROR'
  | 'SETUP'
  | 'INVARIANT';

export class TickflowError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'TickflowError';
  }
}

export function describeError(error: unknown): string {
  if (error instanceof TickflowError) return error.fix ? `${error.message}\n  fix: ${error.fix}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
