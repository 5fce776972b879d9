import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../pipelines/runtime/codec';
import type { ConfigOf, ConfigSchema } from '../pipelines/runtime/config';
import { TickflowError } from '../pipelines/runtime/errors';
import type { SettingName } from '../pipelines/runtime/settings';
import { BINANCE_CONFIG, BINANCE_DEFAULTS, BINANCE_SYMBOL, BinanceFeed } from './binance/feed';
import { MAX_BOOK_FRAME_LEVELS } from './binance/messages';
import type { RawOut, ReplayResult } from './file-replay/replay';
import { FILE_REPLAY_CONFIG, parseSpeed, rawPublisher, replayFile } from './file-replay/replay';
import { FORMATS, formatNames } from './formats';
import { ALPHAVANTAGE_CONFIG, FX_PAIR, alphaVantagePoller } from './rest-poller/alphavantage-poller';
import { SYNTHETIC_CONFIG, marketOf, publishMarket } from './synthetic/publish';

// Every feed by name: live transports (`tickflow feed <name>`), the synthetic market (`tickflow
// synth`) and file replay (`tickflow replay`), each with its config schema (the machinery stages use:
// validation, the static type and the docs) and a factory. Register new feeds here, explicitly (no
// import side effects). Parsing formats are a separate, pure registry (connectors/formats.ts).

/** What every running feed reports; `published`: records Kafka acknowledged. */
export interface FeedHealth {
  readonly published: number;
}

/** A feed running in this process. */
export interface RunningFeed {
  /** The raw topic it publishes to. */
  readonly topic: string;
  start(): void;
  /** Stops reading, publishes what it holds and releases its producer. */
  stop(): Promise<void>;
  health(): FeedHealth;
}

/** A feed that ends by itself (a file, a generated stream of a given length). */
export interface FiniteFeed<R> extends RunningFeed {
  /** Settles once it has ended, or stopped; never settles if it was never started. */
  readonly done: Promise<R>;
  health(): FeedHealth & { readonly state: 'ready' | 'running' | 'done' | 'failed' };
}

/** What a factory gets besides its settings. */
export interface FeedDeps {
  readonly kafka: Kafka;
  readonly codec: AvroCodec;
  /**
   * The feed's `secrets`, by setting name, resolved by the caller from the environment, `<NAME>_FILE` or the config
   * file.
   */
  readonly secrets: Readonly<Partial<Record<SettingName, string>>>;
}

/**
 * A secret a feed needs. Secrets are never settings or flags (every user can read a command line
 * with `ps`): they come only from the environment, `<NAME>_FILE` or TICKFLOW_CONFIG_FILE
 * (pipelines/runtime/settings.ts, which must know the name and that it is secret).
 */
export interface FeedSecret {
  readonly setting: SettingName;
  /** What it is, in messages: `API key`. */
  readonly what: string;
  /** Where to get one. */
  readonly hint?: string;
}

/**
 * A `tickflow feed <name>` flag: the command-line name of one setting. A number setting's flag
 * takes a positive whole number; a list's, comma-separated values.
 */
export interface FeedFlag<K extends string = string, V = unknown> {
  readonly setting: K;
  /** Its value in the usage line: `--depth N`. */
  readonly placeholder: string;
  /** The setting may not be empty: `--pairs: none given`. */
  readonly required?: boolean;
  /**
   * Checks the value as the setting reads it (the default when the flag is absent); throws a USAGE error naming
   * `--<flag>`.
   */
  check?(value: V, flag: string): void;
}

/** Flags typed by the setting each sets; for the erased ConfigSchema (the registry's record), checks take `unknown`. */
type FlagsOf<S extends ConfigSchema> = ConfigSchema extends S
  ? Readonly<Record<string, FeedFlag>>
  : Readonly<Record<string, { [K in keyof S & string]: FeedFlag<K, ConfigOf<S>[K]> }[keyof S & string]>>;

/** A feed that runs until it is stopped; `tickflow feed <name>` runs it. */
export interface LiveFeedDefinition<S extends ConfigSchema = ConfigSchema> {
  readonly kind: 'live';
  readonly description: string;
  readonly config: S;
  /** Its flags, in the order of the usage line; every flag sets one setting. */
  readonly flags: FlagsOf<S>;
  readonly secrets: readonly FeedSecret[];
  /** `tickflow feed` logs `health()` this often, under this name. */
  readonly healthLog: { readonly label: string; readonly everyMs: number };
  create(config: ConfigOf<S>, deps: FeedDeps): Promise<RunningFeed>;
}

/** A feed that ends by itself; its own command runs it (`tickflow replay`, `tickflow synth`). */
export interface FiniteFeedDefinition<S extends ConfigSchema = ConfigSchema, R = unknown> {
  readonly kind: 'finite';
  readonly description: string;
  readonly config: S;
  create(config: ConfigOf<S>, deps: FeedDeps): Promise<FiniteFeed<R>>;
}

export type FeedDefinition = LiveFeedDefinition | FiniteFeedDefinition;

/**
 * A factory's RangeError (settings that cannot work together) becomes a CONFIG error naming the
 * feed, as a stage's does in pipelines/registry.ts.
 */
async function creating<F>(name: string, make: () => Promise<F>): Promise<F> {
  try {
    return await make();
  } catch (error) {
    if (error instanceof RangeError)
      throw new TickflowError(
        'CONFIG',
        `${name}: ${error.message}`,
        `check the settings of the ${name} feed (connectors/registry.ts)`,
      );
    throw error;
  }
}

function live<S extends ConfigSchema>(
  name: string,
  definition: Omit<LiveFeedDefinition<S>, 'kind'>,
): LiveFeedDefinition {
  const erased = {
    ...definition,
    kind: 'live',
    create: (config: ConfigOf<S>, deps: FeedDeps) => creating(name, () => definition.create(config, deps)),
  };
  // Settings are typed per feed; the record holds them erased (CLI code reads them through the schema).
  return erased as unknown as LiveFeedDefinition;
}

function finite<S extends ConfigSchema, R>(
  name: string,
  definition: Omit<FiniteFeedDefinition<S, R>, 'kind'>,
): FiniteFeedDefinition<S, R> {
  return {
    ...definition,
    kind: 'finite',
    create: (config, deps) => creating(name, () => definition.create(config, deps)),
  };
}

/** A live transport and the producer it publishes through: stopping the feed flushes it, then closes the producer. */
async function publishing(
  kafka: Kafka,
  codec: AvroCodec,
  topic: string,
  make: (publish: (records: RawOut[]) => Promise<void>) => Omit<RunningFeed, 'topic'>,
): Promise<RunningFeed> {
  const publisher = await rawPublisher(kafka, codec, topic);
  let feed: Omit<RunningFeed, 'topic'>;
  try {
    feed = make((records) => publisher.publish(records));
  } catch (error) {
    await publisher.close();
    throw error;
  }
  return {
    topic,
    start: () => feed.start(),
    stop: async () => {
      await feed.stop();
      await publisher.close();
    },
    health: () => feed.health(),
  };
}

/** A finite run as a feed: `start` begins it, `stop` aborts it (it publishes what it read) and waits for it to end. */
function finiteRun<R>(
  topic: string,
  run: (signal: AbortSignal) => Promise<R>,
  published: (result: R) => number,
): FiniteFeed<R> {
  const halt = new AbortController();
  let state: 'ready' | 'running' | 'done' | 'failed' = 'ready';
  let result: R | undefined;
  let settle: { resolve(result: R): void; reject(error: unknown): void } = {
    resolve: () => undefined,
    reject: () => undefined,
  };
  const done = new Promise<R>((resolve, reject) => (settle = { resolve, reject }));
  // A caller that only stops the feed must not meet an unhandled rejection; awaiting `done` still throws.
  done.catch(() => undefined);
  return {
    topic,
    done,
    start: () => {
      if (state !== 'ready') return;
      state = 'running';
      run(halt.signal).then(
        (value) => {
          result = value;
          state = 'done';
          settle.resolve(value);
        },
        (error: unknown) => {
          state = 'failed';
          settle.reject(error);
        },
      );
    },
    stop: async () => {
      halt.abort();
      if (state !== 'ready') await done.catch(() => undefined);
    },
    // A file and the synthetic market count what they published when they end.
    health: () => ({ state, published: result === undefined ? 0 : published(result) }),
  };
}

function usage(message: string, fix: string): TickflowError {
  return new TickflowError('USAGE', message, fix);
}

export const SYNTHETIC_FEED = finite('synthetic', {
  description: 'the synthetic market (deterministic by seed, injected faults) as tickflow NDJSON records',
  config: SYNTHETIC_CONFIG,
  create: async (config, deps) => {
    const speed = parseSpeed(config.speed);
    const market = marketOf(config, Date.now());
    return finiteRun(
      FORMATS['tickflow-ndjson'].rawTopic,
      (signal) => publishMarket(deps.kafka, deps.codec, market, config.count, speed, signal),
      (r) => r.published,
    );
  },
});

export const FILE_REPLAY_FEED = finite('file-replay', {
  description: 'a recorded file, line by line, as raw records of its format (resumes an interrupted replay)',
  config: FILE_REPLAY_CONFIG,
  create: async (config, deps) => {
    const speed = parseSpeed(config.speed);
    const source = Object.hasOwn(FORMATS, config.format) ? FORMATS[config.format] : undefined;
    if (!source) throw usage(`unknown format '${config.format}'`, `use --format ${formatNames().join('|')}`);
    const replay = (signal: AbortSignal): Promise<ReplayResult> =>
      replayFile(deps.kafka, deps.codec, {
        file: config.file,
        format: config.format,
        speed,
        restart: config.restart,
        maxLineBytes: config.maxLineBytes,
        signal,
      });
    return finiteRun(source.rawTopic, replay, (r) => r.published);
  },
});

export const FEEDS: Readonly<Record<string, FeedDefinition>> = {
  binance: live('binance', {
    description:
      'Binance spot trades and diff-depth books over one websocket, with REST snapshots and sequence checks; reconnects by itself',
    config: BINANCE_CONFIG,
    flags: {
      symbols: {
        setting: 'symbols',
        placeholder: 'btcusdt,ethusdt',
        check: (symbols, flag) => {
          const bad = symbols.filter((s) => !BINANCE_SYMBOL.test(s));
          if (bad.length > 0)
            throw usage(
              `--${flag}: ${bad.join(', ')} not lower-case Binance symbols`,
              'for example --symbols btcusdt,ethusdt',
            );
        },
      },
      ws: { setting: 'wsUrl', placeholder: 'URL' },
      rest: { setting: 'restUrl', placeholder: 'URL' },
      depth: {
        setting: 'depthLevels',
        placeholder: 'N',
        check: (depth, flag) => {
          if (depth > MAX_BOOK_FRAME_LEVELS)
            throw usage(
              `--${flag} ${depth} is more levels than a published book may hold (${MAX_BOOK_FRAME_LEVELS})`,
              `use --${flag} ${MAX_BOOK_FRAME_LEVELS} or less`,
            );
        },
      },
    },
    secrets: [],
    healthLog: { label: 'binance feed', everyMs: 10_000 },
    create: (config, deps) =>
      publishing(
        deps.kafka,
        deps.codec,
        FORMATS['binance-trade'].rawTopic,
        (publish) =>
          new BinanceFeed({
            ...BINANCE_DEFAULTS,
            symbols: config.symbols,
            wsUrl: config.wsUrl,
            restUrl: config.restUrl,
            depthLevels: config.depthLevels,
            publish,
          }),
      ),
  }),
  alphavantage: live('alphavantage', {
    description: "Alpha Vantage FX rates (CURRENCY_EXCHANGE_RATE) polled per pair within the vendor's rate limit",
    config: ALPHAVANTAGE_CONFIG,
    flags: {
      pairs: {
        setting: 'pairs',
        placeholder: 'USD/JPY,EUR/USD',
        required: true,
        check: (pairs, flag) => {
          const bad = pairs.filter((pair) => !FX_PAIR.test(pair));
          if (bad.length > 0) throw usage(`--${flag}: ${bad.join(', ')}`, 'for example --pairs USD/JPY,EUR/USD');
        },
      },
      url: { setting: 'url', placeholder: 'URL' },
      'interval-ms': { setting: 'intervalMs', placeholder: 'N' },
      'max-requests': { setting: 'maxRequests', placeholder: 'N' },
      'window-ms': { setting: 'windowMs', placeholder: 'N' },
    },
    secrets: [
      {
        setting: 'ALPHAVANTAGE_API_KEY',
        what: 'API key',
        hint: 'free keys: https://www.alphavantage.co/support/#api-key',
      },
    ],
    healthLog: { label: 'alphavantage poller', everyMs: 30_000 },
    create: (config, deps) => {
      const apikey = deps.secrets.ALPHAVANTAGE_API_KEY;
      if (!apikey)
        throw new TickflowError(
          'INVARIANT',
          'the alphavantage feed was created without its API key',
          'resolve FeedDefinition.secrets before create',
        );
      return publishing(deps.kafka, deps.codec, FORMATS['alphavantage-fx'].rawTopic, (publish) =>
        alphaVantagePoller(config, apikey, publish),
      );
    },
  }),
  synthetic: SYNTHETIC_FEED as FiniteFeedDefinition,
  'file-replay': FILE_REPLAY_FEED as FiniteFeedDefinition,
};
