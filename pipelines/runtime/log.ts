import pino from 'pino';
import { prettyFactory } from 'pino-pretty';

/**
 * Logging through pino. Every line goes to stderr (stdout carries command output such as
 * `tickflow tap --json`) through process.stderr.write, before the logging call returns: to a file
 * or a terminal the line is written by then, so it survives a `process.exit` or SIGSTOP right
 * after; to a pipe whose reader is behind it is queued, so code that exits uses `exitAfterLogs`.
 *
 * Format, from TICKFLOW_LOG_FORMAT:
 * - `json`: one object per line, `{"level":"info","ts":"<ISO time>","component":"...",...fields,"message":"..."}`
 *   (the keys tickflow's JSON lines have always had);
 * - `pretty`: `2026-11-30T15:52:38.291Z INFO  [component] message {"field":1}`, coloured on a
 *   terminal unless NO_COLOR is set;
 * - unset or `auto`: pretty when stderr is a terminal, JSON otherwise (files, pipes, collectors).
 *
 * The level comes from TICKFLOW_LOG_LEVEL or `--log-level` (setLogLevel).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'pretty';

/** pino's numeric value of each level; `silent` is above them all. */
const VALUES: Record<LogLevel, number> = {
  debug: pino.levels.values.debug,
  info: pino.levels.values.info,
  warn: pino.levels.values.warn,
  error: pino.levels.values.error,
  silent: Infinity,
};

export function parseLogLevel(value: string): LogLevel {
  if (Object.hasOwn(VALUES, value)) return value as LogLevel;
  throw new Error(`unknown log level '${value}': use one of ${Object.keys(VALUES).join(', ')}`);
}

/** The format for a TICKFLOW_LOG_FORMAT value; `terminal`: whether stderr is a terminal. */
export function parseLogFormat(value: string | undefined, terminal: boolean): LogFormat {
  if (value === undefined || value === '' || value === 'auto') return terminal ? 'pretty' : 'json';
  if (value === 'json' || value === 'pretty') return value;
  throw new Error(
    `TICKFLOW_LOG_FORMAT is '${value}': use json, pretty or auto (the default: pretty on a terminal, JSON otherwise)`,
  );
}

let threshold: LogLevel = parseLogLevel(process.env.TICKFLOW_LOG_LEVEL ?? 'info');
/** VALUES[threshold], read on every call. */
let enabledFrom = VALUES[threshold];

export function setLogLevel(level: LogLevel): void {
  threshold = level;
  enabledFrom = VALUES[level];
}

export function logLevel(): LogLevel {
  return threshold;
}

const LEVEL_COLOURS = { debug: 'blue', info: 'green', warn: 'yellow', error: 'red' } as const;

/**
 * pino JSON line -> the pretty line with its newline. The line is all `messageFormat`: with the
 * time, level and component ignored, pino-pretty adds none of its own layout (brackets, colon).
 * Fields stay on the line as JSON, `error` included (pino-pretty would give it a block of its own).
 */
function prettifier(colorize: boolean): (line: string) => string {
  return prettyFactory({
    colorize,
    messageKey: 'message',
    timestampKey: 'ts',
    ignore: 'ts,level,component',
    singleLine: true,
    errorLikeObjectKeys: [],
    messageFormat: (log, messageKey, _label, { colors }) => {
      const level = String(log.level);
      const colour = colors[LEVEL_COLOURS[level as keyof typeof LEVEL_COLOURS] ?? 'white'];
      return `${String(log.ts)} ${colour(level.toUpperCase().padEnd(5))} [${String(log.component)}] ${String(log[messageKey])}`;
    },
  });
}

const terminal = process.stderr.isTTY === true;
const format = parseLogFormat(process.env.TICKFLOW_LOG_FORMAT, terminal);
const pretty =
  format === 'pretty' ? prettifier(terminal && !process.env.NO_COLOR && process.env.TERM !== 'dumb') : undefined;

/**
 * The destination looks process.stderr.write up on each line rather than writing to fd 2 itself:
 * lines stay in order with everything else written to stderr (the CLI's error report), and
 * whoever replaces process.stderr.write (a test capturing the log) sees every line.
 */
const root = pino(
  {
    // Everything reaches pino; the threshold is applied in `logger` (see there).
    level: 'debug',
    base: null,
    messageKey: 'message',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
  },
  { write: (line: string) => process.stderr.write(pretty ? pretty(line) : line) },
);

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The logger of a component (a pino child with `component` bound). The level is checked here, one
 * comparison per call, rather than by pino: pino children copy their level when created, and most
 * loggers are created at import, before `--log-level` is read.
 */
export function logger(component: string): Logger {
  const child = root.child({ component });
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>): void => {
    if (VALUES[level] < enabledFrom) return;
    if (fields) child[level](fields, message);
    else child[level](message);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/**
 * Exits with `code` once the lines logged so far have left the process: at once for a file or a
 * terminal, when a pipe's reader has taken them otherwise, and after a second at the latest (a
 * reader that stopped reading cannot keep the process alive).
 */
export function exitAfterLogs(code: number): void {
  const exit = (): never => process.exit(code);
  setTimeout(exit, 1000);
  process.stderr.write('', exit);
}

let plain: ((line: string) => string) | undefined;

/**
 * Log text as a person reads it, whatever the format it was written in: tickflow's JSON lines become
 * pretty lines without colour; other lines (pretty ones, a crash's stack) stay as they are. For
 * whoever reads a child process's log file (tests, benches).
 */
export function readableLog(text: string): string {
  plain ??= prettifier(false);
  const render = plain;
  return text
    .split('\n')
    .map((line) => {
      if (!line.startsWith('{')) return line;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return line;
      }
      const entry = parsed as Record<string, unknown>;
      if (
        typeof entry !== 'object' ||
        entry === null ||
        typeof entry.level !== 'string' ||
        typeof entry.ts !== 'string' ||
        typeof entry.message !== 'string'
      )
        return line;
      return render(line).replace(/\n$/, '');
    })
    .join('\n');
}
