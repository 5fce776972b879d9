import WebSocket from 'ws';
import type { RawRecord } from '../../schemas/types.generated';
import type { ConfigSchema } from '../../pipelines/runtime/config';
import { logger } from '../../pipelines/runtime/log';
import type { RawOut } from '../file-replay/replay';
import { backoffMs, boundedGet, retryAfterMs } from '../rest-poller/limits';
import type { DepthUpdate, LocalBook } from './messages';
import { MAX_BOOK_FRAME_LEVELS, applyDepth, bookFromSnapshot, topOf } from './messages';
import { TickflowError, isTickflowError } from '../../pipelines/runtime/errors';

const log = logger('binance');

/** How far ahead of this machine's clock an exchange time may be and still drive the heartbeat clock. */
const MAX_CLOCK_LEAD_MS = 60_000;
/** How long stop() keeps publishing what is queued. */
const STOP_FLUSH_MS = 10_000;

/**
 * The Binance live feed: one combined websocket stream (`<symbol>@trade` and `<symbol>@depth@100ms`
 * per symbol) plus REST depth snapshots, published as raw records (see messages.ts). It keeps a local
 * book per symbol, rebuilt from a snapshot whenever the update ids break (a gap), a depth update is
 * malformed, or the connection drops; reconnects by itself with jittered exponential backoff and
 * resubscribes; sends a heartbeat per symbol every `heartbeatMs` while it reads the socket; and
 * reports its health.
 *
 * Nothing a server sends can stop it or grow its memory without bound:
 * - a frame it cannot read (not JSON, an unknown event, a depth update of the wrong shape or with a
 *   bad level) is counted in `malformed` (the first few logged), never published and never fatal; a
 *   bad depth update also rebuilds that book. Trade frames are published verbatim whatever they
 *   hold: normalize dead-letters a bad one with its origin;
 * - depth updates buffered while a book syncs are capped at `maxBufferedUpdates` per symbol (the
 *   oldest dropped: a gap, which the sync rules repair with another snapshot);
 * - the publish queue pauses the socket at `maxQueued` records and resumes it at a fifth of that;
 *   heartbeats are skipped while paused (a paused socket holds frames older than the feed's clock);
 * - a snapshot request ends within `snapshotTimeoutMs`; failures back off (jittered, exponential, up
 *   to `snapshotBackoffMaxMs`), and a 429 or 418 (Binance: IP banned) holds every snapshot request and
 *   reconnect until its Retry-After has passed (`bannedUntil` in health);
 * - an opening handshake ends within `handshakeTimeoutMs`, and an open connection that brings no
 *   frame, ping or pong for `silenceMs` (it is pinged when quiet) is terminated and reconnected.
 */
export interface BinanceFeedOptions {
  /** Websocket base, e.g. wss://stream.binance.com:9443 */
  wsUrl: string;
  /** REST base, e.g. https://api.binance.com */
  restUrl: string;
  /** Lower-case symbols, e.g. btcusdt */
  symbols: readonly string[];
  depthLevels: number;
  snapshotLimit: number;
  heartbeatMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Publishes raw records in order; the feed awaits it before the next batch. */
  publish(records: RawOut[]): Promise<void>;
  source?: string;
  /** Depth updates kept per symbol while its book syncs (the newest); default 10,000. */
  maxBufferedUpdates?: number;
  /** Records queued for publishing at which the socket is paused; default 50,000. */
  maxQueued?: number;
  /** A depth snapshot request (connect, headers, body) must end within this; default 10 s. */
  snapshotTimeoutMs?: number;
  /** Backoff after a failed snapshot: from this, doubling, jittered; defaults 1 s and 5 min. */
  snapshotBackoffMinMs?: number;
  snapshotBackoffMaxMs?: number;
  /** The websocket opening handshake must end within this; default 10 s. */
  handshakeTimeoutMs?: number;
  /** An open connection silent this long (no frame, ping or pong) is terminated and reconnected; default 30 s. */
  silenceMs?: number;
  /** A websocket frame larger than this closes the connection (ws' maxPayload); default 4 MiB. */
  maxFrameBytes?: number;
}

export const BINANCE_DEFAULTS = {
  wsUrl: 'wss://stream.binance.com:9443',
  restUrl: 'https://api.binance.com',
  depthLevels: 25,
  snapshotLimit: 1000,
  heartbeatMs: 1000,
  reconnectMinMs: 200,
  reconnectMaxMs: 10_000,
  maxBufferedUpdates: 10_000,
  maxQueued: 50_000,
  snapshotTimeoutMs: 10_000,
  snapshotBackoffMinMs: 1000,
  snapshotBackoffMaxMs: 300_000,
  handshakeTimeoutMs: 10_000,
  silenceMs: 30_000,
  maxFrameBytes: 4 * 1024 * 1024,
};

/** The settings `tickflow feed binance` takes (connectors/registry.ts); the others stay at BINANCE_DEFAULTS. */
export const BINANCE_CONFIG = {
  symbols: { type: 'list', default: ['btcusdt'], description: 'lower-case Binance spot symbols' },
  wsUrl: { type: 'string', default: BINANCE_DEFAULTS.wsUrl, description: 'websocket base' },
  restUrl: { type: 'string', default: BINANCE_DEFAULTS.restUrl, description: 'REST base for depth snapshots' },
  depthLevels: {
    type: 'number',
    default: BINANCE_DEFAULTS.depthLevels,
    integer: true,
    min: 1,
    max: MAX_BOOK_FRAME_LEVELS,
    description: 'book levels published per side',
  },
} as const satisfies ConfigSchema;

/** Lower-case Binance spot symbols, as the stream names take them. */
export const BINANCE_SYMBOL = /^[a-z0-9]+$/;

/** A snapshot of 5000 levels a side is about 0.5 MB; anything much larger is not a depth snapshot. */
const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024;
/** Malformed frames logged one by one; later ones are only counted (health). */
const MALFORMED_LOGGED = 10;
/**
 * A trade frame is a few hundred bytes; a far larger one is not published (it is malformed), since
 * a record Kafka refuses would stop the publish queue for good.
 */
const MAX_TRADE_FRAME_CHARS = 64 * 1024;

export interface FeedHealth {
  connected: boolean;
  connects: number;
  disconnects: number;
  /** Opening handshakes that did not finish within `handshakeTimeoutMs`. */
  handshakeTimeouts: number;
  /** Open connections terminated after `silenceMs` without a frame, ping or pong. */
  silences: number;
  /** Books rebuilt from a snapshot (after connecting, a gap, or a malformed depth update). */
  resyncs: number;
  gaps: number;
  /** Frames that could not be read; never published, never fatal. */
  malformed: number;
  /** Depth updates dropped (oldest first) from a full sync buffer. */
  bufferDropped: number;
  /** Depth updates buffered now, over all books that are syncing. */
  buffered: number;
  snapshotFailures: number;
  /** Wall time (ms) before which no snapshot request or reconnect is sent (418 ban or 429), or null. */
  bannedUntil: number | null;
  /** Heartbeats not sent because the socket was paused (Kafka behind). */
  heartbeatsSkipped: number;
  published: number;
  queued: number;
  /** The socket is paused because the publish queue is full. */
  paused: boolean;
  lastMessageAt: number | null;
  books: Record<string, 'synced' | 'syncing'>;
}

interface BookSync {
  book?: LocalBook;
  buffer: DepthUpdate[];
  first: boolean;
}

type Settings = Required<Omit<BinanceFeedOptions, 'publish' | 'source'>>;

/** Why a depth update cannot be applied, or undefined when its shape is right (levels are checked by applyDepth). */
function depthShapeProblem(data: Record<string, unknown>): string | undefined {
  const id = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!id(data.E)) return `'E' must be the event time in ms, found ${JSON.stringify(data.E)}`;
  if (!id(data.U) || !id(data.u)) {
    return `'U' and 'u' must be update ids, found ${JSON.stringify(data.U)} and ${JSON.stringify(data.u)}`;
  }
  if ((data.U as number) > (data.u as number)) return `'U' ${String(data.U)} is after 'u' ${String(data.u)}`;
  if (!Array.isArray(data.b) || !Array.isArray(data.a)) {
    return `'b' and 'a' must be lists of levels, found ${typeof data.b} and ${typeof data.a}`;
  }
  return undefined;
}

export class BinanceFeed {
  private ws?: WebSocket;
  private stopped = false;
  private attempt = 0;
  private readonly queue: RawOut[] = [];
  private flushing = false;
  private heartbeatTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  /** Snapshot retries waiting to run; cleared on stop. */
  private readonly snapshotTimers = new Set<NodeJS.Timeout>();
  /** Aborted on stop: ends snapshot requests in flight. */
  private halt = new AbortController();
  private readonly syncs = new Map<string, BookSync>();
  /** Consecutive snapshot failures per symbol (reset by a success): the backoff exponent. */
  private readonly snapshotAttempts = new Map<string, number>();
  private bannedUntil = 0;
  private sequence = 0;
  private heartbeats = 0;
  private lastRecv = 0;
  /** Wall time of the last frame, ping or pong on the current connection (or of its opening). */
  private lastHeard = 0;
  /** Exchange time of the newest frame and the wall time it arrived: the heartbeat clock. */
  private clock?: { exchangeMs: number; wallMs: number };
  private readonly stats = {
    connects: 0,
    disconnects: 0,
    handshakeTimeouts: 0,
    silences: 0,
    resyncs: 0,
    gaps: 0,
    malformed: 0,
    bufferDropped: 0,
    snapshotFailures: 0,
    heartbeatsSkipped: 0,
    published: 0,
    lastMessageAt: null as number | null,
  };
  private readonly source: string;
  private readonly settings: Settings;

  constructor(private readonly options: BinanceFeedOptions) {
    this.source = options.source ?? 'binance-ws';
    const { publish: _publish, source: _source, ...given } = options;
    const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    this.settings = { ...BINANCE_DEFAULTS, ...defined } as Settings;
    const positive = [
      'maxBufferedUpdates',
      'maxQueued',
      'snapshotTimeoutMs',
      'snapshotBackoffMinMs',
      'snapshotBackoffMaxMs',
      'handshakeTimeoutMs',
      'silenceMs',
      'maxFrameBytes',
      'heartbeatMs',
    ] as const;
    const bad = positive.filter((name) => !(this.settings[name] > 0)).map((name) => `${name} ${this.settings[name]}`);
    if (bad.length > 0) throw new TickflowError('CONFIG', `Binance feed: ${bad.join(', ')} must be positive numbers`);
  }

  health(): FeedHealth {
    const books: Record<string, 'synced' | 'syncing'> = {};
    for (const symbol of this.options.symbols) {
      books[symbol.toUpperCase()] = this.syncs.get(symbol.toUpperCase())?.book ? 'synced' : 'syncing';
    }
    let buffered = 0;
    for (const sync of this.syncs.values()) buffered += sync.buffer.length;
    return {
      connected: this.ws?.readyState === WebSocket.OPEN,
      ...this.stats,
      buffered,
      bannedUntil: this.bannedUntil > Date.now() ? this.bannedUntil : null,
      queued: this.queue.length,
      paused: this.ws?.isPaused ?? false,
      books,
    };
  }

  start(): void {
    this.stopped = false;
    this.halt = new AbortController();
    this.connect();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.settings.heartbeatMs);
    this.watchdogTimer = setInterval(() => this.watch(), Math.max(10, Math.floor(this.settings.silenceMs / 4)));
  }

  /** Stops reading, then publishes what is queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.watchdogTimer);
    clearTimeout(this.reconnectTimer);
    for (const timer of this.snapshotTimers) clearTimeout(timer);
    this.snapshotTimers.clear();
    this.halt.abort(new Error('the feed is stopping'));
    this.ws?.terminate();
    // Publish what is queued, but not forever: with Kafka down the queue would never drain.
    const deadline = Date.now() + STOP_FLUSH_MS;
    while ((this.queue.length > 0 || this.flushing) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    if (this.queue.length > 0)
      log.warn(
        `stopped with ${this.queue.length} records unpublished after ${STOP_FLUSH_MS / 1000} s (is Kafka reachable?)`,
      );
  }

  private connect(): void {
    const streams = this.options.symbols.flatMap((s) => [`${s}@trade`, `${s}@depth@100ms`]).join('/');
    const url = `${this.options.wsUrl}/stream?streams=${streams}`;
    const ws = new WebSocket(url, {
      handshakeTimeout: this.settings.handshakeTimeoutMs,
      maxPayload: this.settings.maxFrameBytes,
    });
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.on('open', () => {
      this.lastHeard = Date.now();
      this.stats.connects += 1;
      log.info(`connected to ${url}`);
      for (const symbol of this.options.symbols) this.resync(symbol.toUpperCase());
      this.applyBackpressure();
    });
    ws.on('message', (data) => this.onFrame(data));
    ws.on('ping', () => (this.lastHeard = Date.now()));
    ws.on('pong', () => (this.lastHeard = Date.now()));
    // Binance answers the upgrade with 429/418 when we connect too often or are banned: honour Retry-After.
    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      if (status === 429 || status === 418) {
        const retryAfter = retryAfterMs(String(response.headers['retry-after'] ?? '') || null, Date.now());
        const { reconnectMinMs, reconnectMaxMs } = this.options;
        this.ban(status, retryAfter ?? backoffMs(this.attempt, reconnectMinMs, reconnectMaxMs));
      }
      log.warn(`websocket upgrade refused: HTTP ${status}`);
      response.resume();
      ws.terminate();
    });
    ws.on('error', (error) => {
      if (/handshake has timed out/i.test(error.message)) this.stats.handshakeTimeouts += 1;
      log.warn(`websocket error: ${error.message}`);
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.stats.disconnects += 1;
      this.syncs.clear();
      if (this.stopped) return;
      const backoff = backoffMs(this.attempt, this.options.reconnectMinMs, this.options.reconnectMaxMs);
      const delay = Math.max(backoff, this.bannedUntil - Date.now());
      this.attempt += 1;
      log.warn(`connection closed; reconnecting in ${Math.round(delay)} ms (attempt ${this.attempt})`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  /** Terminates an open connection that stayed silent too long; pings one that is merely quiet. */
  private watch(): void {
    const ws = this.ws;
    // A paused socket reads nothing, pongs included: its silence is ours, not the server's.
    if (!ws || ws.readyState !== WebSocket.OPEN || ws.isPaused) return;
    const quietMs = Date.now() - this.lastHeard;
    if (quietMs >= this.settings.silenceMs) {
      this.stats.silences += 1;
      log.warn(`no frame, ping or pong for ${quietMs} ms (limit ${this.settings.silenceMs} ms); reconnecting`);
      ws.terminate();
    } else if (quietMs >= this.settings.silenceMs / 4) {
      ws.ping();
    }
  }

  private raw(format: string, payload: string, origin: string): RawRecord {
    this.sequence += 1;
    // Receive times strictly increase, so records received in the same millisecond stay apart.
    this.lastRecv = Math.max(this.lastRecv + 1, Date.now() * 1000);
    return { source: this.source, format, tsRecv: this.lastRecv, origin, sequence: this.sequence, payload };
  }

  private enqueue(key: string | null, tsEventMs: number, raw: RawRecord): void {
    this.queue.push({ key, tsEvent: tsEventMs * 1000, raw });
    this.applyBackpressure();
    void this.flush();
  }

  /** Stops reading the socket while Kafka is behind (a socket still connecting is paused once it opens). */
  private applyBackpressure(): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN && !ws.isPaused && this.queue.length >= this.settings.maxQueued) {
      log.warn(`${this.queue.length} records wait for Kafka; pausing the websocket until they drain`);
      ws.pause();
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 500);
        for (let attempt = 0; ; attempt++) {
          try {
            await this.options.publish(batch);
            break;
          } catch (error) {
            if (this.stopped && attempt >= 2) {
              // Stopping and Kafka will not take it: give up rather than keep the process alive (stop() reports it).
              this.queue.unshift(...batch);
              return;
            }
            log.warn(`publishing ${batch.length} records failed (retrying): ${(error as Error).message}`);
            await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
          }
        }
        this.stats.published += batch.length;
        const ws = this.ws;
        if (ws?.isPaused && ws.readyState === WebSocket.OPEN && this.queue.length < this.settings.maxQueued / 5) {
          ws.resume();
          this.lastHeard = Date.now();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Counts (and logs the first few of) frames that cannot be read. */
  private malformed(reason: string, text: string): void {
    this.stats.malformed += 1;
    if (this.stats.malformed <= MALFORMED_LOGGED) {
      const last = this.stats.malformed === MALFORMED_LOGGED ? ' (later ones are only counted, in health)' : '';
      log.warn(`malformed frame ${this.stats.malformed}: ${reason}: ${text.slice(0, 160)}${last}`);
    }
  }

  /** One frame: whatever it holds, it ends here as a record, a book change, or a count in health. */
  private onFrame(data: WebSocket.RawData): void {
    const now = Date.now();
    this.lastHeard = now;
    this.stats.lastMessageAt = now;
    // A connection that delivers is a good one: the next drop backs off from the start again.
    this.attempt = 0;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const text = bytes.toString('utf8');
    try {
      this.read(text);
    } catch (error) {
      // Nothing above throws on purpose; whatever did, this frame is lost and a book it touched cannot be trusted.
      this.malformed(`it could not be handled (${(error as Error).message})`, text);
      const symbol = this.depthSymbolOf(text);
      if (symbol && this.syncs.get(symbol)?.book) this.resync(symbol);
    }
  }

  /** The subscribed symbol a depth frame names (its `data.s` or its stream), for a rebuild after a failure. */
  private depthSymbolOf(text: string): string | undefined {
    try {
      const frame = JSON.parse(text) as { stream?: unknown; data?: { e?: unknown; s?: unknown } };
      if (frame.data?.e !== 'depthUpdate') return undefined;
      const fromStream = typeof frame.stream === 'string' ? frame.stream.split('@')[0] : '';
      const name = typeof frame.data.s === 'string' ? frame.data.s : fromStream;
      const symbol = name.toUpperCase();
      return this.syncs.has(symbol) ? symbol : undefined;
    } catch {
      return undefined;
    }
  }

  private read(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return this.malformed('not JSON', text);
    }
    type Envelope = { stream?: unknown; data?: unknown };
    const { stream, data } = (typeof frame === 'object' && frame !== null ? frame : {}) as Envelope;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      return this.malformed("no 'data' object", text);
    }
    const event = data as Record<string, unknown>;
    const streamName = typeof stream === 'string' ? stream.slice(0, 100) : undefined;
    if (event.e === 'trade') return this.onTrade(event, streamName, text);
    if (event.e === 'depthUpdate') return this.onDepthFrame(event, streamName, text);
    this.malformed(`unknown event ${JSON.stringify(event.e)?.slice(0, 40)}`, text);
  }

  /**
   * The heartbeat clock follows the exchange's event times, but never more than MAX_CLOCK_LEAD_MS
   * ahead of this machine's clock: one frame stamped in the far future must not push every later
   * heartbeat (which closes bars) into the future.
   */
  private tick(E: unknown): void {
    if (typeof E === 'number' && Number.isSafeInteger(E) && E > 0) {
      const now = Date.now();
      if (E > now + MAX_CLOCK_LEAD_MS) return;
      this.clock = { exchangeMs: Math.max(E, this.clock?.exchangeMs ?? 0), wallMs: now };
    }
  }

  /** Trade frames are published verbatim, good or bad (normalize dead-letters a bad one), unless huge. */
  private onTrade(data: Record<string, unknown>, stream: string | undefined, text: string): void {
    if (text.length > MAX_TRADE_FRAME_CHARS) {
      const limit = `at most ${MAX_TRADE_FRAME_CHARS} are published`;
      return this.malformed(`a trade frame of ${text.length} characters (${limit})`, text);
    }
    this.tick(data.E);
    const symbol = typeof data.s === 'string' ? data.s : undefined;
    const tsEvent = typeof data.T === 'number' && Number.isSafeInteger(data.T) ? data.T : Number.NaN;
    const id = String(JSON.stringify(data.t) ?? 'none').slice(0, 40);
    const origin = `${stream ?? `${symbol?.toLowerCase() ?? 'unknown'}@trade`}#t=${id}`;
    this.enqueue(symbol ? `BINANCE:${symbol}` : null, tsEvent, this.raw('binance-trade', JSON.stringify(data), origin));
  }

  private onDepthFrame(data: Record<string, unknown>, stream: string | undefined, text: string): void {
    const symbol = (typeof data.s === 'string' ? data.s : (stream?.split('@')[0] ?? '')).toUpperCase();
    const sync = this.syncs.get(symbol);
    if (!sync) {
      return this.malformed(`a depth update of ${JSON.stringify(symbol.slice(0, 40))}, which is not subscribed`, text);
    }
    const problem = typeof data.s === 'string' ? depthShapeProblem(data) : "'s' must be the symbol";
    if (problem) {
      const rebuild = sync.book ? '; rebuilding the book from a snapshot' : '';
      this.malformed(`${symbol} depth update: ${problem}${rebuild}`, text);
      // While syncing, a missing update is a gap the sync rules catch; a synced book is out of sync now.
      if (sync.book) this.resync(symbol);
      return;
    }
    this.tick(data.E);
    this.onDepth(symbol, data as unknown as DepthUpdate);
  }

  /** Buffers the update while the book syncs (the newest `maxBufferedUpdates`), applies it otherwise. */
  private onDepth(symbol: string, update: DepthUpdate): void {
    const sync = this.syncs.get(symbol);
    if (!sync) return;
    if (sync.book) return this.apply(symbol, sync, update);
    sync.buffer.push(update);
    if (sync.buffer.length > this.settings.maxBufferedUpdates) {
      sync.buffer.shift();
      this.stats.bufferDropped += 1;
      if (this.stats.bufferDropped === 1 || this.stats.bufferDropped % 100_000 === 0) {
        log.warn(
          `${symbol}: more than ${this.settings.maxBufferedUpdates} depth updates wait for a snapshot; dropping ` +
            `the oldest (${this.stats.bufferDropped} so far; the book is rebuilt once a snapshot arrives)`,
        );
      }
    }
  }

  private apply(symbol: string, sync: BookSync, update: DepthUpdate): void {
    let result: ReturnType<typeof applyDepth>;
    let top: ReturnType<typeof topOf>;
    try {
      result = applyDepth(sync.book as LocalBook, update, sync.first);
      top = result.kind === 'applied' ? topOf(result.book, this.options.depthLevels) : { bids: [], asks: [] };
    } catch (error) {
      const reason = `${symbol} depth update ${update.U}..${update.u}: ${(error as Error).message}`;
      this.malformed(`${reason}; rebuilding the book from a snapshot`, JSON.stringify(update));
      this.resync(symbol);
      return;
    }
    if (result.kind === 'stale') return;
    if (result.kind === 'gap') {
      this.stats.gaps += 1;
      const jump = `expected ${result.expected}, got ${result.got}`;
      log.warn(`${symbol}: depth update ids jumped (${jump}); rebuilding the book from a snapshot`);
      this.resync(symbol);
      this.onDepth(symbol, update);
      return;
    }
    sync.book = result.book;
    sync.first = false;
    const payload = JSON.stringify({ symbol, E: update.E, lastUpdateId: result.book.lastUpdateId, ...top });
    const origin = `${symbol.toLowerCase()}@depth#u=${result.book.lastUpdateId}`;
    this.enqueue(`BINANCE:${symbol}`, update.E, this.raw('binance-book', payload, origin));
  }

  /** Forgets the book and rebuilds it: buffer updates, fetch a snapshot, apply what came after it. */
  private resync(symbol: string): void {
    const sync: BookSync = { buffer: [], first: true };
    this.syncs.set(symbol, sync);
    this.stats.resyncs += 1;
    this.scheduleSnapshot(symbol, sync, 0);
  }

  /** Holds every caller of Binance until the ban (418) or throttle (429) has passed. */
  private ban(status: number, retryAfter: number): void {
    const until = Date.now() + retryAfter;
    if (until > this.bannedUntil) {
      this.bannedUntil = until;
      const meaning = status === 418 ? 'IP banned' : 'too many requests';
      const when = new Date(until).toISOString();
      log.warn(`Binance answered ${status} (${meaning}); no snapshot request or reconnect until ${when}`);
    }
  }

  private scheduleSnapshot(symbol: string, sync: BookSync, delayMs: number): void {
    const wait = Math.max(delayMs, this.bannedUntil - Date.now());
    const fetchNow = (): void => {
      // fetchSnapshot handles every failure it expects; anything else is logged, never an unhandled rejection.
      const failed = (error: Error): void => log.error(`${symbol}: snapshot handling failed: ${error.message}`);
      this.fetchSnapshot(symbol, sync).catch(failed);
    };
    if (wait <= 0) return fetchNow();
    const timer = setTimeout(() => {
      this.snapshotTimers.delete(timer);
      fetchNow();
    }, wait);
    this.snapshotTimers.add(timer);
  }

  private async fetchSnapshot(symbol: string, sync: BookSync): Promise<void> {
    // A newer resync, a reconnect or stop() made this one moot: spend no request weight on it.
    if (this.stopped || this.syncs.get(symbol) !== sync) return;
    if (this.bannedUntil > Date.now()) return this.scheduleSnapshot(symbol, sync, 0);
    const url = `${this.options.restUrl}/api/v3/depth?symbol=${symbol}&limit=${this.options.snapshotLimit}`;
    let book: LocalBook;
    let refusal: { status: number; retryAfter: number } | undefined;
    try {
      const response = await boundedGet(url, {
        timeoutMs: this.settings.snapshotTimeoutMs,
        maxBodyBytes: MAX_SNAPSHOT_BYTES,
        signal: this.halt.signal,
      });
      if (response.status === 429 || response.status === 418) {
        const header = response.headers.get('retry-after');
        refusal = { status: response.status, retryAfter: retryAfterMs(header, Date.now()) ?? 0 };
        const meaning = response.status === 418 ? 'IP banned' : 'too many requests';
        throw new TickflowError(
          'RATE_LIMITED',
          `HTTP ${response.status} (${meaning}), Retry-After ${header ?? 'not given'}`,
        );
      }
      if (!response.ok)
        throw new TickflowError('BAD_RESPONSE', `HTTP ${response.status} ${response.body.slice(0, 120)}`);
      let snapshot: unknown;
      try {
        snapshot = JSON.parse(response.body);
      } catch {
        throw new TickflowError('BAD_RESPONSE', `not JSON: ${response.body.slice(0, 120)}`);
      }
      book = bookFromSnapshot(snapshot as Parameters<typeof bookFromSnapshot>[0]);
    } catch (error) {
      if (this.stopped || this.syncs.get(symbol) !== sync) return;
      const failures = (this.snapshotAttempts.get(symbol) ?? 0) + 1;
      this.snapshotAttempts.set(symbol, failures);
      this.stats.snapshotFailures += 1;
      const backoff = backoffMs(failures - 1, this.settings.snapshotBackoffMinMs, this.settings.snapshotBackoffMaxMs);
      const delay = Math.max(refusal?.retryAfter ?? 0, backoff);
      // The limits are per IP: every symbol's snapshot (and a reconnect) waits, not only this one.
      if (refusal) this.ban(refusal.status, delay);
      const kind = isTickflowError(error, 'TIMEOUT')
        ? ' (timeout)'
        : isTickflowError(error, 'RESPONSE_TOO_LARGE')
          ? ' (too-large)'
          : '';
      const retry = `retrying in ${Math.round(delay)} ms (failure ${failures})`;
      log.warn(`${symbol}: depth snapshot failed${kind}: ${(error as Error).message}; ${retry}`);
      this.scheduleSnapshot(symbol, sync, delay);
      return;
    }
    if (this.syncs.get(symbol) !== sync) return;
    this.snapshotAttempts.delete(symbol);
    sync.book = book;
    // Through onDepth, not apply: after a gap among them the rest belong in the new sync's buffer.
    for (const update of sync.buffer.splice(0)) this.onDepth(symbol, update);
  }

  private heartbeat(): void {
    const ws = this.ws;
    if (ws?.readyState !== WebSocket.OPEN || !this.clock) return;
    // A paused socket holds frames older than this clock: a heartbeat now would claim they were delivered.
    if (ws.isPaused) {
      this.stats.heartbeatsSkipped += this.options.symbols.length;
      return;
    }
    const E = this.clock.exchangeMs + (Date.now() - this.clock.wallMs);
    for (const symbol of this.options.symbols) {
      const upper = symbol.toUpperCase();
      this.heartbeats += 1;
      const payload = JSON.stringify({ symbol: upper, E });
      this.enqueue(`BINANCE:${upper}`, E, this.raw('binance-heartbeat', payload, `heartbeat#${this.heartbeats}`));
    }
  }
}
