import { Decimal } from '../../schemas/decimal';
import type { RawOut } from '../file-replay/replay';
import { FakeBinanceServer, JUNK_FRAMES } from '../../tests/support/fake-binance';
import type { FakeBinanceOptions } from '../../tests/support/fake-binance';
import type { BinanceFeedOptions } from './feed';
import { BINANCE_DEFAULTS, BinanceFeed } from './feed';

/**
 * The live feed against a local server speaking Binance's formats, with faults injected; no Kafka:
 * what the feed publishes is collected in memory.
 */
const SYMBOL = 'FEEDUSDT';

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  server: FakeBinanceServer;
  feed: BinanceFeed;
  published: RawOut[];
}

let running: Run | undefined;

async function run(
  server: Partial<FakeBinanceOptions>,
  feed: Partial<BinanceFeedOptions> = {},
  publish?: BinanceFeedOptions['publish'],
): Promise<Run> {
  const fake = new FakeBinanceServer({ symbol: SYMBOL, trades: 200, framesPerTick: 2, tickMs: 5, ...server });
  const urls = await fake.listen();
  const published: RawOut[] = [];
  const binance = new BinanceFeed({
    ...BINANCE_DEFAULTS,
    ...urls,
    symbols: [SYMBOL.toLowerCase()],
    reconnectMinMs: 50,
    snapshotBackoffMinMs: 50,
    publish: publish ?? (async (records) => void published.push(...records)),
    ...feed,
  });
  running = { server: fake, feed: binance, published };
  binance.start();
  return running;
}

/** Waits until the server sent everything and the feed published it. */
async function finish(r: Run): Promise<void> {
  await until('the server to send every frame', () => r.server.done);
  await sleep(300);
  await r.feed.stop();
}

afterEach(async () => {
  await running?.feed.stop();
  await running?.server.close();
  running = undefined;
});

const ofFormat = (records: RawOut[], format: string): RawOut[] => records.filter((r) => r.raw.format === format);
const payloadOf = <T>(record: RawOut): T => JSON.parse(record.raw.payload) as T;
const tradeIds = (records: RawOut[]): number[] =>
  ofFormat(records, 'binance-trade').map((r) => payloadOf<{ t: number }>(r).t);
const plain = (levels: [string, string][]): string[][] =>
  levels.map(([p, q]) => [new Decimal(p).toFixed(), new Decimal(q).toFixed()]);

function expectTrueBook(r: Run): void {
  const books = ofFormat(r.published, 'binance-book');
  const last = payloadOf<{ bids: [string, string][]; asks: [string, string][] }>(books[books.length - 1]);
  const truth = r.server.finalTop(BINANCE_DEFAULTS.depthLevels);
  expect(plain(last.bids)).toEqual(plain(truth.bids));
  expect(plain(last.asks)).toEqual(plain(truth.asks));
}

describe('Binance feed: bad frames', () => {
  it('counts frames it cannot read, never stops on one, rebuilds a book after a bad depth update', async () => {
    // 100 frames a second: each rebuild is done long before the next fault.
    const faults = { junkAt: [10, 20, 30, 40, 50, 60, 70], corruptDepthAt: 100 };
    const r = await run({ trades: 130, framesPerTick: 1, tickMs: 10, ...faults });
    await finish(r);
    const health = r.feed.health();
    expect(JUNK_FRAMES(SYMBOL)).toHaveLength(7);
    // Seven junk frames and the corrupted update; a rebuild on connect, after each of the two junk
    // depth updates of this symbol, and after the corrupted one.
    expect([health.malformed, health.resyncs, health.gaps, health.connects]).toEqual([8, 4, 0, 1]);
    expect(tradeIds(r.published)).toEqual(r.server.sentTradeIds);
    expectTrueBook(r);
  }, 60_000);

  it('names each record precisely: trade id, book update id, heartbeat number', async () => {
    const r = await run({ trades: 100, framesPerTick: 1, tickMs: 5 }, { heartbeatMs: 50 });
    await finish(r);
    const lower = SYMBOL.toLowerCase();
    for (const t of ofFormat(r.published, 'binance-trade')) {
      expect(t.raw.origin).toBe(`${lower}@trade#t=${payloadOf<{ t: number }>(t).t}`);
    }
    const books = ofFormat(r.published, 'binance-book');
    expect(books.length).toBeGreaterThan(50);
    for (const b of books) {
      expect(b.raw.origin).toBe(`${lower}@depth#u=${payloadOf<{ lastUpdateId: number }>(b).lastUpdateId}`);
    }
    const beats = ofFormat(r.published, 'binance-heartbeat');
    expect(beats.length).toBeGreaterThan(2);
    expect(beats.map((h) => h.raw.origin)).toEqual(beats.map((_, i) => `heartbeat#${i + 1}`));
  }, 60_000);
});

describe('Binance feed: snapshot refusals', () => {
  it.each([418, 429])(
    'waits out Retry-After on %i, shows the ban, keeps the newest updates, syncs',
    async (status) => {
      const refusals = { status, count: 1, retryAfterS: 2 };
      const stream = { trades: 800, framesPerTick: 2, tickMs: 5, snapshotRefusals: refusals };
      const r = await run(stream, { maxBufferedUpdates: 50 });
      await until('the first snapshot refusal', () => r.feed.health().snapshotFailures === 1);
      await until('the sync buffer to overflow', () => r.feed.health().bufferDropped > 0);
      const banned = r.feed.health();
      expect(banned.bannedUntil).not.toBeNull();
      expect(banned.books[SYMBOL]).toBe('syncing');
      expect(banned.buffered).toBe(50);
      expect(banned.bufferDropped).toBeGreaterThan(0);
      await until('the book to sync', () => r.feed.health().books[SYMBOL] === 'synced');
      const times = r.server.snapshotRequestTimes;
      expect(times.length).toBe(2);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(1990);
      await finish(r);
      expect(r.feed.health().bannedUntil).toBeNull();
      expect(tradeIds(r.published)).toEqual(r.server.sentTradeIds);
      expectTrueBook(r);
    },
    60_000,
  );

  it('backs off a failing snapshot exponentially, whatever the depth stream does', async () => {
    const r = await run(
      { trades: 400, framesPerTick: 2, tickMs: 5, snapshotRefusals: { status: 500, count: 4 } },
      { snapshotBackoffMinMs: 100, snapshotBackoffMaxMs: 100_000, maxBufferedUpdates: 20 },
    );
    await until('the book to sync', () => r.feed.health().books[SYMBOL] === 'synced');
    const times = r.server.snapshotRequestTimes;
    const waits = times.slice(1).map((t, i) => t - times[i]);
    // Failure n waits between half and all of 100 ms x 2^(n-1).
    waits.slice(0, 4).forEach((wait, n) => expect(wait).toBeGreaterThanOrEqual(50 * 2 ** n - 5));
    expect(r.feed.health().snapshotFailures).toBe(4);
    expect(r.feed.health().buffered).toBe(0);
    await finish(r);
    expectTrueBook(r);
  }, 60_000);
});

describe('Binance feed: bounded memory while Kafka is down', () => {
  it('pauses the socket at maxQueued, skips heartbeats meanwhile, publishes all in order later', async () => {
    let down = true;
    const published: RawOut[] = [];
    const kafka = async (records: RawOut[]): Promise<void> => {
      if (down) throw new Error('Kafka is down');
      published.push(...records);
    };
    const settings = { maxQueued: 100, heartbeatMs: 20, silenceMs: 300 };
    const r = await run({ trades: 400, framesPerTick: 4, tickMs: 5 }, settings, kafka);
    await until('the socket to pause', () => r.feed.health().paused);
    // The cap, plus at most what the socket had already read when it was paused.
    const queued = r.feed.health().queued;
    expect(queued).toBeGreaterThanOrEqual(100);
    expect(queued).toBeLessThan(1000);
    // Paused, nothing more comes in: no frame, and no heartbeat although they are due every 20 ms.
    await sleep(600);
    const during = r.feed.health();
    expect([during.paused, during.queued]).toEqual([true, queued]);
    expect(during.heartbeatsSkipped).toBeGreaterThan(10);
    down = false;
    await until('the socket to resume', () => !r.feed.health().paused);
    await finish(r);
    const after = r.feed.health();
    // The pause was not mistaken for a silent server.
    expect([after.silences, after.connects, after.queued, after.paused]).toEqual([0, 1, 0, false]);
    expect(tradeIds(published)).toEqual(r.server.sentTradeIds);
    running = { ...r, published };
    expectTrueBook(running);
  }, 60_000);
});

describe('Binance feed: a server that stops answering', () => {
  it('terminates a connection silent for silenceMs (no frame, no pong) and reconnects', async () => {
    const r = await run({ trades: 200, framesPerTick: 2, tickMs: 5, stallAfterFrames: 150 }, { silenceMs: 400 });
    await finish(r);
    const health = r.feed.health();
    expect([health.silences, health.connects, r.server.connections]).toEqual([1, 2, 2]);
    expect(tradeIds(r.published)).toEqual(r.server.sentTradeIds);
    expectTrueBook(r);
  }, 60_000);

  it('waits out the Retry-After of a refused websocket upgrade (418: banned) before connecting again', async () => {
    const upgradeRefusals = { status: 418, count: 1, retryAfterS: 1 };
    const r = await run({ trades: 60, framesPerTick: 2, tickMs: 5, upgradeRefusals });
    await until('the refusal', () => r.server.upgradeTimes.length === 1 && r.feed.health().bannedUntil !== null);
    await finish(r);
    const times = r.server.upgradeTimes;
    expect(times.length).toBe(2);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(990);
    expect([r.feed.health().connects, r.server.connections]).toEqual([1, 1]);
    expect(tradeIds(r.published)).toEqual(r.server.sentTradeIds);
  }, 60_000);

  it('times out an opening handshake that never completes and connects again', async () => {
    const r = await run({ trades: 100, framesPerTick: 2, tickMs: 5, hangUpgrades: 1 }, { handshakeTimeoutMs: 300 });
    await finish(r);
    const health = r.feed.health();
    expect([health.handshakeTimeouts, health.connects, r.server.connections]).toEqual([1, 1, 1]);
    expect(tradeIds(r.published)).toEqual(r.server.sentTradeIds);
  }, 60_000);
});
