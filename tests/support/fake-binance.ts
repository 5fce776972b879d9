import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
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
 * - `skipTradeIdAt`: a trade id is skipped (a hole in the trade ids, once);
 * - `corruptDepthAt`: the depth update after that trade is sent with a level that is not a number
 *   (its ids are consumed and the true book moves: the client must rebuild);
 * - `junkAt`: after each of those trades, one frame of JUNK_FRAMES (cycling) that no client can read;
 * - `snapshotRefusals`: the first `count` depth snapshot requests get `status` (with Retry-After
 *   `retryAfterS` when given) instead of a snapshot;
 * - `stallAfterFrames`: once, after that many frames, the server stops sending and stops answering
 *   pings on that connection without closing it (the client must notice the silence);
 * - `hangUpgrades`: the first that many websocket upgrade requests are never answered;
 * - `upgradeRefusals`: the next `count` upgrade requests get `status` with Retry-After `retryAfterS`.
 */
export interface FakeBinanceOptions {
  symbol: string;
  trades: number;
  framesPerTick: number;
  tickMs: number;
  dropAfterFrames?: number;
  skipDepthUpdateAt?: number;
  skipTradeIdAt?: number;
  corruptDepthAt?: number;
  junkAt?: readonly number[];
  snapshotRefusals?: { status: number; count: number; retryAfterS?: number };
  stallAfterFrames?: number;
  hangUpgrades?: number;
  upgradeRefusals?: { status: number; count: number; retryAfterS: number };
}

/** A frame object, or text sent verbatim (junk that is not JSON). */
type Frame = { stream: string; data: Record<string, unknown> } | string;

/** Frames no client can read, each a different way: `junkAt` sends them in this order, cycling. */
export const JUNK_FRAMES = (symbol: string): Frame[] => {
  const lower = symbol.toLowerCase();
  return [
    '{"stream": "not json',
    { stream: `${lower}@depth@100ms`, data: { e: 'depthUpdate', E: 1, s: symbol, U: 'one', u: 2, b: [], a: [] } },
    { stream: `${lower}@depth@100ms`, data: { e: 'depthUpdate', E: 1, s: symbol, U: 1, u: 2, b: 'none', a: [] } },
    { stream: `${lower}@kline_1m`, data: { e: 'kline', E: 1, s: symbol } },
    JSON.stringify({ result: null, id: 1 }),
    { stream: 'other@depth@100ms', data: { e: 'depthUpdate', E: 1, s: 'OTHERUSDT', U: 1, u: 2, b: [], a: [] } },
    // Text, so the server does not count it as a trade it sent: a trade frame far too large to publish.
    JSON.stringify({ stream: `${lower}@trade`, data: { e: 'trade', E: 1, s: symbol, t: 0, pad: 'x'.repeat(70_000) } }),
  ];
};

export class FakeBinanceServer {
  private readonly server = http.createServer((req, res) => this.rest(req, res));
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly frames: Frame[] = [];
  /** The true book after each frame (by frame index) and the update id it carries. */
  private readonly books: LocalBook[] = [];
  private position = 0;
  private timer?: NodeJS.Timeout;
  private client?: WebSocket;
  private dropped = false;
  private stalled = false;
  /** The connection that went silent (`stallAfterFrames`): it neither sends nor answers pings. */
  private mute?: WebSocket;
  private upgrades = 0;
  private readonly hanging: Duplex[] = [];
  /** Wall time of every websocket upgrade request, answered or not. */
  readonly upgradeTimes: number[] = [];
  /** Wall time of every depth snapshot request, answered or refused. */
  readonly snapshotRequestTimes: number[] = [];
  private finalBook: LocalBook = bookFromSnapshot({ lastUpdateId: 0, bids: [], asks: [] });
  readonly sentTradeIds: number[] = [];
  connections = 0;
  /** Junk frames in the script (`junkAt`). */
  junkSent = 0;

  constructor(readonly options: FakeBinanceOptions) {
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/stream')) return socket.destroy();
      this.upgrades += 1;
      this.upgradeTimes.push(Date.now());
      const hang = this.options.hangUpgrades ?? 0;
      if (this.upgrades <= hang) {
        this.hanging.push(socket);
        return;
      }
      const refusals = this.options.upgradeRefusals;
      if (refusals && this.upgrades <= hang + refusals.count) {
        const reason = refusals.status === 418 ? "I'm a teapot" : 'Too Many Requests';
        const status = `HTTP/1.1 ${refusals.status} ${reason}`;
        const head = [status, `Retry-After: ${refusals.retryAfterS}`, 'Content-Length: 0'];
        socket.end(`${head.join('\r\n')}\r\n\r\n`);
        return;
      }
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
    const mid = (price: string): Decimal => new Decimal(price);
    let book = bookFromSnapshot({ lastUpdateId: 1000, bids: [], asks: [] });
    let updateId = 1000;
    let tradeId = 0;
    const tick = new Decimal('0.01');
    for (const [i, row] of rows.entries()) {
      // Exchange times 1 ms apart, ending when the script is made: in order, and never ahead of the
      // clock of the feed that receives them (normalize flags times in the future of receipt).
      const T = start - rows.length + i;
      tradeId += 1;
      if (this.options.skipTradeIdAt !== undefined && i === this.options.skipTradeIdAt) tradeId += 1;
      this.frames.push({
        stream: `${lower}@trade`,
        data: { e: 'trade', E: T, s: symbol, t: tradeId, p: row[6], q: row[7], T, m: row[5] === 'sell' },
      });
      this.books.push(book);
      // A depth update around the trade price: a few levels change, some go away, and levels that
      // would cross the price or drift more than 50 ticks away are removed, so the book stays sane.
      const centre = mid(row[6]);
      const fresh = (side: 1 | -1): [string, string][] =>
        Array.from({ length: 3 }, () => [
          centre.plus(tick.times(side * (1 + Math.floor(random() * 40)))).toFixed(2),
          random() < 0.2 ? '0' : (random() * 5 + 0.001).toFixed(3),
        ]);
      const stale = (levels: ReadonlyMap<string, string>, side: 1 | -1): [string, string][] =>
        [...levels.keys()]
          .filter(
            (p) =>
              (side === -1 ? new Decimal(p).gte(centre) : new Decimal(p).lte(centre)) ||
              new Decimal(p).minus(centre).abs().gt(tick.times(50)),
          )
          .map((p) => [p, '0']);
      const U = updateId + 1;
      updateId += 1 + Math.floor(random() * 3);
      const update = {
        e: 'depthUpdate',
        E: T,
        s: symbol,
        U,
        u: updateId,
        b: [...stale(book.bids, -1), ...fresh(-1)],
        a: [...stale(book.asks, 1), ...fresh(1)],
      };
      const applied = applyDepth(book, update, false);
      if (applied.kind !== 'applied') throw new Error('fake server: its own book went out of sequence');
      book = applied.book;
      // A skipped or corrupted update still changes the true book: the client must notice and resync.
      if (i === this.options.corruptDepthAt) {
        const corrupted = { ...update, b: [['not-a-price', '1'], ...update.b] };
        this.frames.push({ stream: `${lower}@depth@100ms`, data: corrupted });
        this.books.push(book);
      } else if (this.options.skipDepthUpdateAt === undefined || i !== this.options.skipDepthUpdateAt) {
        this.frames.push({ stream: `${lower}@depth@100ms`, data: update });
        this.books.push(book);
      }
      if (this.options.junkAt?.includes(i)) {
        const junk = JUNK_FRAMES(symbol);
        this.frames.push(junk[this.junkSent % junk.length]);
        this.books.push(book);
        this.junkSent += 1;
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
    this.mute?.terminate();
    for (const socket of this.hanging) socket.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    this.connections += 1;
    this.client?.terminate();
    this.client = ws;
    clearInterval(this.timer);
    // Pings are answered by hand, so a stalled connection can stop answering them.
    ws.on('ping', (data) => {
      if (ws !== this.mute) ws.pong(data);
    });
    this.timer = setInterval(() => this.send(ws), this.options.tickMs);
    ws.on('close', () => {
      if (this.client === ws) clearInterval(this.timer);
    });
  }

  private send(ws: WebSocket): void {
    for (let n = 0; n < this.options.framesPerTick && !this.done; n++) {
      if (
        !this.dropped &&
        this.options.dropAfterFrames !== undefined &&
        this.position >= this.options.dropAfterFrames
      ) {
        this.dropped = true;
        clearInterval(this.timer);
        ws.terminate();
        return;
      }
      const stallAt = this.options.stallAfterFrames;
      if (!this.stalled && stallAt !== undefined && this.position >= stallAt) {
        this.stalled = true;
        this.mute = ws;
        clearInterval(this.timer);
        return;
      }
      const frame = this.frames[this.position];
      this.position += 1;
      if (typeof frame === 'string') {
        ws.send(frame);
        continue;
      }
      if (frame.data.e === 'trade') this.sentTradeIds.push(frame.data.t as number);
      ws.send(JSON.stringify(frame));
    }
  }

  private rest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refusals = this.options.snapshotRefusals;
    if (url.pathname === '/api/v3/depth') {
      this.snapshotRequestTimes.push(Date.now());
      if (refusals && this.snapshotRequestTimes.length <= refusals.count) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (refusals.retryAfterS !== undefined) headers['retry-after'] = String(refusals.retryAfterS);
        res.writeHead(refusals.status, headers).end(JSON.stringify({ code: -1003, msg: 'Way too many requests.' }));
        return;
      }
    }
    if (url.pathname !== '/api/v3/depth' || url.searchParams.get('symbol') !== this.options.symbol) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }));
      return;
    }
    const limit = Number(url.searchParams.get('limit') ?? 100);
    const book =
      this.books[Math.max(0, this.position - 1)] ?? bookFromSnapshot({ lastUpdateId: 1000, bids: [], asks: [] });
    const top = topOf(book, limit);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ lastUpdateId: book.lastUpdateId, ...top }));
  }
}
