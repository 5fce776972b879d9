import WebSocket from 'ws';
import type { RawRecord } from '../../schemas/types.generated';
import { logger } from '../../ops/log';
import type { RawOut } from '../file-replay/replay';
import type { DepthUpdate, LocalBook } from './messages';
import { applyDepth, bookFromSnapshot, topOf } from './messages';

const log = logger('binance');

/**
 * The Binance live feed: one combined websocket stream (`<symbol>@trade` and `<symbol>@depth@100ms`
 * per symbol) plus REST depth snapshots, published as raw records (see messages.ts). It keeps a local
 * book per symbol, rebuilt from a snapshot whenever the update ids break (a gap) or the connection
 * drops; reconnects by itself with jittered exponential backoff and resubscribes; sends a heartbeat
 * per symbol every `heartbeatMs` while connected; and reports its health.
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
}

export const BINANCE_DEFAULTS = { wsUrl: 'wss://stream.binance.com:9443', restUrl: 'https://api.binance.com', depthLevels: 25, snapshotLimit: 1000, heartbeatMs: 1000, reconnectMinMs: 200, reconnectMaxMs: 10_000 };

export interface FeedHealth {
  connected: boolean;
  connects: number;
  disconnects: number;
  /** Books rebuilt from a snapshot (after connecting, or after a gap). */
  resyncs: number;
  gaps: number;
  published: number;
  queued: number;
  lastMessageAt: number | null;
  books: Record<string, 'synced' | 'syncing'>;
}

interface BookSync {
  book?: LocalBook;
  buffer: DepthUpdate[];
  first: boolean;
  fetching: boolean;
}

export class BinanceFeed {
  private ws?: WebSocket;
  private stopped = false;
  private attempt = 0;
  private readonly queue: RawOut[] = [];
  private flushing = false;
  private heartbeatTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private readonly syncs = new Map<string, BookSync>();
  private sequence = 0;
  private lastRecv = 0;
  /** Exchange time of the newest frame and the wall time it arrived: the heartbeat clock. */
  private clock?: { exchangeMs: number; wallMs: number };
  private readonly stats = { connects: 0, disconnects: 0, resyncs: 0, gaps: 0, published: 0, lastMessageAt: null as number | null };
  private readonly source: string;

  constructor(private readonly options: BinanceFeedOptions) {
    this.source = options.source ?? 'binance-ws';
  }

  health(): FeedHealth {
    const books: Record<string, 'synced' | 'syncing'> = {};
    for (const symbol of this.options.symbols) books[symbol.toUpperCase()] = this.syncs.get(symbol.toUpperCase())?.book ? 'synced' : 'syncing';
    return { connected: this.ws?.readyState === WebSocket.OPEN, ...this.stats, queued: this.queue.length, books };
  }

  start(): void {
    this.stopped = false;
    this.connect();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
  }

  /** Stops reading, then publishes what is queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
    while (this.queue.length > 0 || this.flushing) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private connect(): void {
    const streams = this.options.symbols.flatMap((s) => [`${s}@trade`, `${s}@depth@100ms`]).join('/');
    const url = `${this.options.wsUrl}/stream?streams=${streams}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.on('open', () => {
      this.attempt = 0;
      this.stats.connects += 1;
      log.info(`connected to ${url}`);
      for (const symbol of this.options.symbols) this.resync(symbol.toUpperCase());
    });
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('error', (error) => log.warn(`websocket error: ${error.message}`));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.stats.disconnects += 1;
      this.syncs.clear();
      if (this.stopped) return;
      const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      log.warn(`connection closed; reconnecting in ${Math.round(delay)} ms (attempt ${this.attempt})`);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private raw(format: string, payload: string, origin: string): RawRecord {
    this.sequence += 1;
    // Receive times strictly increase, so records received in the same millisecond stay apart.
    this.lastRecv = Math.max(this.lastRecv + 1, Date.now() * 1000);
    return { source: this.source, format, tsRecv: this.lastRecv, origin, sequence: this.sequence, payload };
  }

  private enqueue(key: string, tsEventMs: number, raw: RawRecord): void {
    this.queue.push({ key, tsEvent: tsEventMs * 1000, raw });
    // Backpressure: stop reading the socket while Kafka is behind.
    if (this.queue.length > 50_000) this.ws?.pause();
    void this.flush();
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
            log.warn(`publishing ${batch.length} records failed (retrying): ${(error as Error).message}`);
            await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
          }
        }
        this.stats.published += batch.length;
        if (this.queue.length < 10_000) this.ws?.resume();
      }
    } finally {
      this.flushing = false;
    }
  }

  private onFrame(text: string): void {
    this.stats.lastMessageAt = Date.now();
    let frame: { stream?: string; data?: Record<string, unknown> };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      log.warn(`a frame that is not JSON: ${text.slice(0, 120)}`);
      return;
    }
    const data = frame.data;
    if (!data || typeof data.s !== 'string') return;
    const symbol = data.s;
    if (typeof data.E === 'number') this.clock = { exchangeMs: Math.max(data.E, this.clock?.exchangeMs ?? 0), wallMs: Date.now() };
    if (data.e === 'trade') {
      // Unparseable trades are published too: normalize dead-letters them with their origin.
      this.enqueue(`BINANCE:${symbol}`, Number(data.T), this.raw('binance-trade', JSON.stringify(data), `${frame.stream ?? 'ws'}`));
    } else if (data.e === 'depthUpdate') {
      this.onDepth(symbol, data as unknown as DepthUpdate);
    }
  }

  private onDepth(symbol: string, update: DepthUpdate): void {
    const sync = this.syncs.get(symbol) ?? { buffer: [], first: true, fetching: false };
    this.syncs.set(symbol, sync);
    if (!sync.book) {
      sync.buffer.push(update);
      return;
    }
    this.apply(symbol, sync, update);
  }

  private apply(symbol: string, sync: BookSync, update: DepthUpdate): void {
    const result = applyDepth(sync.book as LocalBook, update, sync.first);
    if (result.kind === 'stale') return;
    if (result.kind === 'gap') {
      this.stats.gaps += 1;
      log.warn(`${symbol}: depth update ids jumped (expected ${result.expected}, got ${result.got}); rebuilding the book from a snapshot`);
      this.resync(symbol);
      (this.syncs.get(symbol) as BookSync).buffer.push(update);
      return;
    }
    sync.book = result.book;
    sync.first = false;
    const top = topOf(result.book, this.options.depthLevels);
    this.enqueue(`BINANCE:${symbol}`, update.E, this.raw('binance-book', JSON.stringify({ symbol, E: update.E, lastUpdateId: result.book.lastUpdateId, ...top }), `${symbol.toLowerCase()}@depth`));
  }

  /** Forgets the book and rebuilds it: buffer updates, fetch a snapshot, apply what came after it. */
  private resync(symbol: string): void {
    const sync: BookSync = { buffer: [], first: true, fetching: true };
    this.syncs.set(symbol, sync);
    this.stats.resyncs += 1;
    const url = `${this.options.restUrl}/api/v3/depth?symbol=${symbol}&limit=${this.options.snapshotLimit}`;
    const attemptFetch = async (attempt: number): Promise<void> => {
      try {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const snapshot = (await response.json()) as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
        if (this.syncs.get(symbol) !== sync) return;
        sync.book = bookFromSnapshot(snapshot);
        sync.fetching = false;
        const buffered = sync.buffer.splice(0);
        for (const update of buffered) {
          if (this.syncs.get(symbol) !== sync) break;
          this.apply(symbol, sync, update);
        }
      } catch (error) {
        if (this.stopped || this.syncs.get(symbol) !== sync) return;
        const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** attempt) * (0.5 + Math.random() / 2);
        log.warn(`${symbol}: depth snapshot from ${url} failed (${(error as Error).message}); retrying in ${Math.round(delay)} ms`);
        setTimeout(() => void attemptFetch(attempt + 1), delay);
      }
    };
    void attemptFetch(0);
  }

  private heartbeat(): void {
    if (this.ws?.readyState !== WebSocket.OPEN || !this.clock) return;
    const E = this.clock.exchangeMs + (Date.now() - this.clock.wallMs);
    for (const symbol of this.options.symbols) {
      const upper = symbol.toUpperCase();
      this.enqueue(`BINANCE:${upper}`, E, this.raw('binance-heartbeat', JSON.stringify({ symbol: upper, E }), 'heartbeat'));
    }
  }
}
