import type { CommandDef, Parsed } from '../args';
import { positiveInt } from '../args';
import { BINANCE_DEFAULTS, BinanceFeed } from '../../../connectors/binance/feed';
import { MAX_BOOK_FRAME_LEVELS } from '../../../connectors/binance/messages';
import { rawPublisher } from '../../../connectors/file-replay/replay';
import { refreshedOf, throttledBody } from '../../../connectors/rest-poller/alphavantage';
import { RestPoller } from '../../../connectors/rest-poller/poller';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { logger } from '../../../pipelines/runtime/log';
import { loadSettings } from '../../../pipelines/runtime/settings';

const log = logger('cli');

/**
 * `tickflow feed alphavantage`: polls FX rates into md.raw.rest.v1 until Ctrl-C. The API key comes
 * from ALPHAVANTAGE_API_KEY, ALPHAVANTAGE_API_KEY_FILE or the config file, never from a flag: every
 * user on the machine can read a command line (`ps`).
 */
async function pollAlphaVantage(p: Parsed): Promise<number> {
  const apikey = loadSettings().get('ALPHAVANTAGE_API_KEY')?.value;
  if (!apikey) {
    throw new TickflowError(
      'CONFIG',
      'tickflow feed alphavantage needs an API key; it reads it only from the environment or the config file ' +
        '(a command-line flag would show it to every user in `ps`)',
      'set ALPHAVANTAGE_API_KEY, or ALPHAVANTAGE_API_KEY_FILE to a file holding the key, or put ' +
        'ALPHAVANTAGE_API_KEY=... into the file named by TICKFLOW_CONFIG_FILE ' +
        '(free keys: https://www.alphavantage.co/support/#api-key)',
    );
  }
  const pairs = String(p.flags.pairs ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = pairs.filter((pair) => !/^[A-Z]{3}\/[A-Z]{3}$/.test(pair));
  if (pairs.length === 0 || bad.length > 0) throw new TickflowError('USAGE', `--pairs: ${bad.join(', ') || 'none given'}`, 'for example --pairs USD/JPY,EUR/USD');
  const base = String(p.flags.url ?? 'https://www.alphavantage.co');
  await ensureKafkaReachable();
  const publisher = await rawPublisher(createKafka('tickflow-feed-alphavantage'), new AvroCodec(), 'md.raw.rest.v1');
  const poller = new RestPoller({
    targets: pairs.map((pair) => {
      const [from, to] = pair.split('/');
      return { key: `ALPHAVANTAGE:${pair}`, url: `${base}/query?function=CURRENCY_EXCHANGE_RATE&from_currency=${from}&to_currency=${to}&apikey=${encodeURIComponent(apikey)}` };
    }),
    format: 'alphavantage-fx',
    source: 'alphavantage',
    intervalMs: positiveInt('interval-ms', p.flags['interval-ms'], 60_000) as number,
    maxRequests: positiveInt('max-requests', p.flags['max-requests'], 5) as number,
    windowMs: positiveInt('window-ms', p.flags['window-ms'], 60_000) as number,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    maxAttempts: 6,
    versionOf: refreshedOf,
    throttled: throttledBody,
    publish: (records) => publisher.publish(records),
  });
  return runFeed('alphavantage poller', poller, publisher, 30_000, 'md.raw.rest.v1');
}

/** `--depth`: book levels a side the Binance feed publishes, at most what a book frame may hold. */
function depthLevels(flag: Parsed['flags'][string]): number {
  const depth = positiveInt('depth', flag, BINANCE_DEFAULTS.depthLevels) as number;
  if (depth > MAX_BOOK_FRAME_LEVELS) throw new TickflowError('USAGE', `--depth ${depth} is more levels than a published book may hold (${MAX_BOOK_FRAME_LEVELS})`, `use --depth ${MAX_BOOK_FRAME_LEVELS} or less`);
  return depth;
}

/** Runs a live feed until SIGINT/SIGTERM, logging its health every `reportMs`; then stops it and flushes its publisher. */
async function runFeed(name: string, feed: { start(): void; stop(): Promise<void>; health(): { published: number } }, publisher: { close(): Promise<void> }, reportMs: number, topic: string): Promise<number> {
  feed.start();
  const report = setInterval(() => log.info(`${name} health: ${JSON.stringify(feed.health())}`), reportMs);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(report);
  await feed.stop();
  await publisher.close();
  process.stdout.write(`stopped; ${feed.health().published} records published to ${topic}\n`);
  return 0;
}

/** `tickflow feed <name>`: a live feed into its raw topic until Ctrl-C. */
export const FEED_COMMAND: CommandDef = {
  spec: {
    usage:
      'feed binance [--symbols btcusdt,ethusdt] [--ws URL] [--rest URL] [--depth N] | ' +
      'feed alphavantage --pairs USD/JPY,EUR/USD [--url URL] [--interval-ms N] [--max-requests N] [--window-ms N] ' +
      '(API key: ALPHAVANTAGE_API_KEY or ALPHAVANTAGE_API_KEY_FILE)',
    positionals: [1, 1],
    flags: {
      pairs: { type: 'string', description: 'alphavantage: FX pairs to poll, e.g. USD/JPY,EUR/USD' },
      url: { type: 'string', description: 'alphavantage: API base (default https://www.alphavantage.co)' },
      'interval-ms': { type: 'string', description: 'alphavantage: poll each pair this often (default 60000)' },
      'max-requests': { type: 'string', description: 'alphavantage: at most this many requests per window (default 5)' },
      'window-ms': { type: 'string', description: 'alphavantage: the rate-limit window (default 60000)' },
      symbols: { type: 'string', description: 'lower-case Binance spot symbols (default btcusdt)' },
      ws: { type: 'string', description: `websocket base (default ${BINANCE_DEFAULTS.wsUrl})` },
      rest: { type: 'string', description: `REST base for depth snapshots (default ${BINANCE_DEFAULTS.restUrl})` },
      depth: { type: 'string', description: `book levels published per side (default ${BINANCE_DEFAULTS.depthLevels})` },
    },
  },
  run: async (p) => {
    if (p.positionals[0] === 'alphavantage') return pollAlphaVantage(p);
    if (p.positionals[0] !== 'binance') throw new TickflowError('USAGE', `unknown feed '${p.positionals[0]}'`, 'use tickflow feed binance or tickflow feed alphavantage (file feeds: tickflow replay; synthetic: tickflow synth)');
    const symbols = String(p.flags.symbols ?? 'btcusdt').split(',').map((s) => s.trim()).filter(Boolean);
    const bad = symbols.filter((s) => !/^[a-z0-9]+$/.test(s));
    if (bad.length > 0) throw new TickflowError('USAGE', `--symbols: ${bad.join(', ')} not lower-case Binance symbols`, 'for example --symbols btcusdt,ethusdt');
    await ensureKafkaReachable();
    const kafka = createKafka('tickflow-feed-binance');
    const publisher = await rawPublisher(kafka, new AvroCodec(), 'md.raw.binance.v1');
    const feed = new BinanceFeed({
      ...BINANCE_DEFAULTS,
      symbols,
      wsUrl: String(p.flags.ws ?? BINANCE_DEFAULTS.wsUrl),
      restUrl: String(p.flags.rest ?? BINANCE_DEFAULTS.restUrl),
      depthLevels: depthLevels(p.flags.depth),
      publish: (records) => publisher.publish(records),
    });
    return runFeed('binance feed', feed, publisher, 10_000, 'md.raw.binance.v1');
  },
};
