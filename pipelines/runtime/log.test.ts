import type * as Log from './log';
import { parseLogFormat, parseLogLevel, readableLog } from './log';

/**
 * log.ts reads TICKFLOW_LOG_LEVEL / TICKFLOW_LOG_FORMAT when loaded, so each case loads its own
 * copy with the environment it needs and captures what it writes to stderr.
 */
function load(env: Record<string, string | undefined>): typeof Log {
  const wanted: Record<string, string | undefined> = {
    NO_COLOR: '1',
    TICKFLOW_LOG_LEVEL: undefined,
    TICKFLOW_LOG_FORMAT: undefined,
    ...env,
  };
  const saved = Object.fromEntries(Object.keys(wanted).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(wanted);
  let mod: typeof Log | undefined;
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require('./log') as typeof Log;
    });
  } finally {
    apply(saved);
  }
  return mod as typeof Log;
}

/** What `fn` writes to stderr, line by line (only its own writes: nothing is passed through). */
function stderrOf(fn: () => void): string[] {
  const chunks: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return chunks.join('').split('\n').filter(Boolean);
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('log levels', () => {
  it('debug, info, warn, error and silent are the levels; anything else is refused', () => {
    for (const level of ['debug', 'info', 'warn', 'error', 'silent']) expect(parseLogLevel(level)).toBe(level);
    for (const bad of ['trace', 'INFO', '', 'toString']) expect(() => parseLogLevel(bad)).toThrow(/unknown log level/);
  });

  it('TICKFLOW_LOG_LEVEL sets the threshold; setLogLevel moves it for loggers made before, as --log-level does', () => {
    const log = load({ TICKFLOW_LOG_FORMAT: 'json', TICKFLOW_LOG_LEVEL: 'warn' });
    const a = log.logger('a');
    expect(log.logLevel()).toBe('warn');
    expect(
      stderrOf(() => {
        a.info('no');
        a.warn('yes');
        a.error('yes too');
      }).map((l) => JSON.parse(l).message),
    ).toEqual(['yes', 'yes too']);
    log.setLogLevel('debug');
    expect(stderrOf(() => a.debug('now')).length).toBe(1);
    log.setLogLevel('silent');
    expect(stderrOf(() => a.error('never'))).toEqual([]);
  });

  it('an unknown TICKFLOW_LOG_LEVEL stops the process at start', () => {
    expect(() => load({ TICKFLOW_LOG_LEVEL: 'loud' })).toThrow(/unknown log level 'loud'/);
  });
});

describe('log format', () => {
  it('unset or auto: pretty on a terminal, JSON otherwise; json and pretty force it; anything else is refused', () => {
    expect(parseLogFormat(undefined, true)).toBe('pretty');
    expect(parseLogFormat(undefined, false)).toBe('json');
    expect(parseLogFormat('auto', false)).toBe('json');
    expect(parseLogFormat('json', true)).toBe('json');
    expect(parseLogFormat('pretty', false)).toBe('pretty');
    expect(() => parseLogFormat('xml', false)).toThrow(/TICKFLOW_LOG_FORMAT is 'xml': use json, pretty or auto/);
    expect(() => load({ TICKFLOW_LOG_FORMAT: 'xml' })).toThrow(/TICKFLOW_LOG_FORMAT/);
  });

  it('json: one object a line with level, ts, component, the fields and message, written before the call returns', () => {
    const log = load({ TICKFLOW_LOG_FORMAT: 'json', TICKFLOW_LOG_LEVEL: 'info' });
    const lines = stderrOf(() => {
      log.logger('sink-questdb').warn('questdb is not answering', { broker: 'b:9092', attempt: 3 });
      log.logger('cli').info('100% done, %s is not a placeholder');
    });
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(first).sort()).toEqual(['attempt', 'broker', 'component', 'level', 'message', 'ts']);
    expect(first).toMatchObject({
      level: 'warn',
      component: 'sink-questdb',
      message: 'questdb is not answering',
      broker: 'b:9092',
      attempt: 3,
    });
    expect(first.ts).toMatch(ISO);
    expect(second).toMatchObject({ level: 'info', component: 'cli', message: '100% done, %s is not a placeholder' });
  });

  it('pretty: time, padded level, [component], message and the fields as JSON, one line each', () => {
    const log = load({ TICKFLOW_LOG_FORMAT: 'pretty', TICKFLOW_LOG_LEVEL: 'debug' });
    const lines = stderrOf(() => {
      log.logger('kafkajs').error('Connection error', { broker: '127.0.0.1:1', error: 'connect ECONNREFUSED' });
      log.logger('replay').info('resuming trades.csv at line 1002');
      log.logger('demo').debug('tick');
    });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^\S+ ERROR \[kafkajs\] Connection error \{"broker":"127\.0\.0\.1:1","error":"connect ECONNREFUSED"\}$/,
    );
    expect(lines[1]).toMatch(/^\S+ INFO {2}\[replay\] resuming trades\.csv at line 1002$/);
    expect(lines[2]).toMatch(/^\S+ DEBUG \[demo\] tick$/);
    expect(lines[0].split(' ')[0]).toMatch(ISO);
  });
});

describe('readableLog', () => {
  it('renders JSON lines as the pretty ones and keeps every other line', () => {
    const json = load({ TICKFLOW_LOG_FORMAT: 'json', TICKFLOW_LOG_LEVEL: 'info' });
    const pretty = load({ TICKFLOW_LOG_FORMAT: 'pretty', TICKFLOW_LOG_LEVEL: 'info' });
    const say = (log: typeof Log): string[] =>
      stderrOf(() =>
        log.logger('fault-run').warn('fault: resumed; committing "md.heartbeats.v1"[2]', { partition: 2 }),
      );
    const [fromJson] = say(json);
    const [fromPretty] = say(pretty);
    const text = ['tickflow: no Kafka broker answers', fromJson, '{"some":"other json"}', fromPretty, ''].join('\n');
    const lines = readableLog(text).split('\n');
    expect(lines[0]).toBe('tickflow: no Kafka broker answers');
    // Same text as the pretty line, but for the time.
    expect(lines[1].replace(/^\S+/, '')).toBe(fromPretty.replace(/^\S+/, ''));
    expect(lines[1].startsWith(JSON.parse(fromJson).ts)).toBe(true);
    expect(lines.slice(2)).toEqual(['{"some":"other json"}', fromPretty, '']);
  });
});

describe('exitAfterLogs', () => {
  let exit: jest.SpyInstance;
  const write = process.stderr.write;
  let drained: (() => void) | undefined;
  beforeEach(() => {
    jest.useFakeTimers();
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    // A pipe whose reader is behind: the drain callback comes when the test says so.
    process.stderr.write = ((_chunk: unknown, callback?: () => void) => {
      drained = callback;
      return false;
    }) as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stderr.write = write;
    jest.clearAllTimers();
    jest.useRealTimers();
    exit.mockRestore();
  });

  it('exits once the queued lines have left', () => {
    load({}).exitAfterLogs(3);
    expect(exit).not.toHaveBeenCalled();
    drained?.();
    expect(exit).toHaveBeenCalledWith(3);
  });

  it('exits after a second when nothing reads them', () => {
    load({}).exitAfterLogs(1);
    jest.advanceTimersByTime(999);
    expect(exit).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(exit).toHaveBeenCalledWith(1);
  });
});
