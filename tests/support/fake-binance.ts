import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { Decimal } from '../../schemas/decimal';
import { rng } from '../../connectors/synthetic/trades';
import type { LocalBook } from '../../connectors/binance/messages';
import { applyDepth, bookFromSnapshot, topOf } from '../../connectors/binance/messages';
import { TRADES_FILE, csvRows } from './helpers';

/**
 * A local server that speaks Binance's documented wire format, for tests: the combined websocket
 * stream (`/stream?streams=<symbol>@trade/<symbol>@depth@100ms`) and the REST depth snapshot
 * (`/api/v3/depth?symbol=..&limit=..`). It replays the recorded Binance Futures BTCUSDT trades as
 * `trade` frames of `symbol` (ids from 1, times shifted to start now) and interleaves `depthUpdate`
 * frames of a book that moves with them. The script advances only while a client is connected,
 * so frames are never sent into the void; faults are injected on purpose:
 * - `dropAfterFrames`: the server closes the connection once, after that many frames;
 * - `skipDepthUpdateAt`: a depth update id is consumed without being sent (a gap, once);
 * - `skipTradeIdAt`: a trade id is skipped (a hole in the trade ids, once).
 */
export interface FakeBinanceOptions {
  symbol: string;
  trades: number;
  framesPerTick: number;
  tickMs: number;
  dropAfterFrames?: number;
  skipDepthUpdateAt?: number;
  skipTradeIdAt?: number;
}

type Frame = { stream: string; data: Record<string, unknown> };

export class FakeBinanceServer {
  private readonly server = http.createServer((req, res) => this.rest(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly frames: Frame[] = [];
  /** The true book after each frame (by frame index) and the update id it carries. */
  private readonly books: LocalBook[] = [];
  private position = 0;
  private timer?: NodeJS.Timeout;
  private client?: WebSocket;
  private dropped = false;
  private finalBook: LocalBook = bookFromSnapshot({ lastUpdateId: 0, bids: [], asks: [] });
  readonly sentTradeIds: number[] = [];
  connections = 0;

  constructor(readonly options: FakeBinanceOptions) {
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/stream')) return socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
    this.script();
  }

  /** The trade and depth frames, built once: the same options give the same frames. */
  private script(): void {
    const { symbol } = this.options;
    const lower = symbol.toLowerCase();
    const random = rng(7);
    const rows = csvRows(TRADES_FILE).slice(0, this.options.trades);
    const start = Date.now() - 1000;
    const first = Number(rows[0][2]) / 1000;
    const mid = (price: string): Decimal => new Decimal(price);
    let book = bookFromSnapshot({ lastUpdateId: 1000, bids: [], asks: [] });
    let updateId = 1000;
    let tradeId = 0;
    const tick = new Decimal('0.01');
    for (const [i, row] of rows.entries()) {
      const T = Math.round(start + Number(row[2]) / 1000 - first);
      tradeId += 1;
      if (this.options.skipTradeIdAt !== undefined && i === this.options.skipTradeIdAt) tradeId += 1;
      this.frames.push({ stream: `${lower}@trade`, data: { e: 'trade', E: T, s: symbol, t: tradeId, p: row[6], q: row[7], T, m: row[5] === 'sell' } });
      this.books.push(book);
      // A depth update around the trade price: a few levels change, some go away, and levels that
      // would cross the price or drift more than 50 ticks away are removed, so the book stays sane.
      const centre = mid(row[6]);
      const fresh = (side: 1 | -1): [string, string][] =>
        Array.from({ length: 3 }, () => [centre.plus(tick.times(side * (1 + Math.floor(random() * 40)))).toFixed(2), random() < 0.2 ? '0' : (random() * 5 + 0.001).toFixed(3)]);
      const stale = (levels: ReadonlyMap<string, string>, side: 1 | -1): [string, string][] =>
        [...levels.keys()].filter((p) => (side === -1 ? new Decimal(p).gte(centre) : new Decimal(p).lte(centre)) || new Decimal(p).minus(centre).abs().gt(tick.times(50))).map((p) => [p, '0']);
      const U = updateId + 1;
      updateId += 1 + Math.floor(random() * 3);
      const update = { e: 'depthUpdate', E: T, s: symbol, U, u: updateId, b: [...stale(book.bids, -1), ...fresh(-1)], a: [...stale(book.asks, 1), ...fresh(1)] };
      const applied = applyDepth(book, update, false);
      if (applied.kind !== 'applied') throw new Error('fake server: its own book went out of sequence');
      book = applied.book;
      // A skipped update still changes the true book: the client must notice the id gap and resync.
      if (this.options.skipDepthUpdateAt === undefined || i !== this.options.skipDepthUpdateAt) {
        this.frames.push({ stream: `${lower}@depth@100ms`, data: update });
        this.books.push(book);
      }
    }
    this.finalBook = book;
  }

  /** The true book once every frame is sent, top `depth` levels. */
  finalTop(depth: number): { bids: [string, string][]; asks: [string, string][] } {
    return topOf(this.finalBook, depth);
  }

  get done(): boolean {
    return this.position >= this.frames.length;
  }

  get frameCount(): number {
    return this.frames.length;
  }

  async listen(): Promise<{ wsUrl: string; restUrl: string }> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return { wsUrl: `ws://127.0.0.1:${port}`, restUrl: `http://127.0.0.1:${port}` };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.client?.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    this.connections += 1;
    this.client?.terminate();
    this.client = ws;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.send(ws), this.options.tickMs);
    ws.on('close', () => {
      if (this.client === ws) clearInterval(this.timer);
    });
  }

  private send(ws: WebSocket): void {
    for (let n = 0; n < this.options.framesPerTick && !this.done; n++) {
      if (!this.dropped && this.options.dropAfterFrames !== undefined && this.position >= this.options.dropAfterFrames) {
        this.dropped = true;
        clearInterval(this.timer);
        ws.terminate();
        return;
      }
      const frame = this.frames[this.position];
      this.position += 1;
      if (frame.data.e === 'trade') this.sentTradeIds.push(frame.data.t as number);
      ws.send(JSON.stringify(frame));
    }
  }

  private rest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api/v3/depth' || url.searchParams.get('symbol') !== this.options.symbol) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }));
      return;
    }
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const book = this.books[Math.max(0, this.position - 1)] ?? bookFromSnapshot({ lastUpdateId: 1000, bids: [], asks: [] });
    const top = topOf(book, limit);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ lastUpdateId: book.lastUpdateId, ...top }));
  }
}
