import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { Decimal, quotientHalfEven } from '../../schemas/decimal';

/**
 * A local server speaking Alpaca's Trading API v2 as documented, for tests:
 * - REST (https://docs.alpaca.markets/reference/postorder and neighbours): POST /v2/orders,
 *   GET /v2/orders?status=open|closed|all&nested=.., GET /v2/orders/{id},
 *   GET /v2/orders:by_client_order_id?client_order_id=.., DELETE /v2/orders/{id} (204),
 *   PATCH /v2/orders/{id} (replace: a new order that `replaces` the old). Auth by the
 *   APCA-API-KEY-ID / APCA-API-SECRET-KEY headers (401 otherwise); errors as
 *   `{"code": <int>, "message": ".."}`: 403 insufficient buying power, 422 invalid or duplicate
 *   client_order_id, 404 unknown order, 422 not cancelable.
 * - The trade_updates websocket on /stream (https://docs.alpaca.markets/docs/websocket-streaming):
 *   `{"action":"auth","key","secret"}` -> `authorization` authorized/unauthorized, `{"action":
 *   "listen",..}` -> `listening`, then `trade_updates` messages (binary frames, as the paper endpoint
 *   sends) with `event`, `order`, and for fills `execution_id`, `price`, `qty`, `position_qty`,
 *   `timestamp`. Updates while no client listens are lost, as on the real stream.
 * Orders do not fill by themselves: a test scripts fills with `fill`, and faults with `failNext`
 * (REST answers or hangs), `dropStream` and `holdUpgrades`.
 */
export interface FakeAlpacaOptions {
  keyId: string;
  secretKey: string;
  /** Cash for buy orders, checked at qty × (limit_price or `markPrice`); default unlimited. */
  buyingPower?: string;
  /** The price a market buy is valued at for the buying power check; default 100. */
  markPrice?: string;
}

export interface FakeOrder {
  id: string;
  client_order_id: string;
  created_at: string;
  updated_at: string;
  submitted_at: string;
  filled_at: string | null;
  expired_at: string | null;
  canceled_at: string | null;
  failed_at: string | null;
  replaced_at: string | null;
  replaced_by: string | null;
  replaces: string | null;
  asset_id: string;
  symbol: string;
  asset_class: string;
  notional: string | null;
  qty: string;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: string;
  order_type: string;
  type: string;
  side: string;
  time_in_force: string;
  limit_price: string | null;
  stop_price: string | null;
  status: string;
  extended_hours: boolean;
  legs: FakeOrder[] | null;
  trail_percent: string | null;
  trail_price: string | null;
  hwm: string | null;
}

interface Failure {
  status: number;
  retryAfterS?: number;
  hang?: boolean;
  method?: string;
}

const OPEN = new Set(['new', 'accepted', 'pending_new', 'partially_filled', 'held']);
const TYPES = new Set(['market', 'limit', 'stop', 'stop_limit', 'trailing_stop']);
const TIFS = new Set(['day', 'gtc', 'opg', 'cls', 'ioc', 'fok']);

export class FakeAlpacaServer {
  private readonly server = http.createServer((req, res) => this.rest(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  /** Every order, legs included, by id. */
  readonly orders = new Map<string, FakeOrder>();
  /** Top-level orders in creation order. */
  private readonly roots: string[] = [];
  private readonly notional = new Map<string, Decimal>();
  private readonly positions = new Map<string, Decimal>();
  private readonly failures: Failure[] = [];
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly heldSockets: Duplex[] = [];
  private readonly listeners = new Set<WebSocket>();
  private readonly sockets = new Set<WebSocket>();
  /** Every REST request: method, path with query, parsed body. */
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  /** Upgrades are refused (503) while true. */
  holdUpgrades = false;
  connections = 0;
  authFailures = 0;
  /** Updates generated while no client listened (lost, as on the real stream). */
  lostUpdates = 0;
  private clock = Date.parse('2024-03-04T15:00:00Z');

  constructor(readonly options: FakeAlpacaOptions) {
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/stream')) return socket.destroy();
      if (this.holdUpgrades) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
  }

  async listen(): Promise<{ baseUrl: string; streamUrl: string }> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return { baseUrl: `http://127.0.0.1:${port}`, streamUrl: `ws://127.0.0.1:${port}/stream` };
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    for (const res of this.hanging) res.destroy();
    for (const socket of this.heldSockets) socket.destroy();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next REST requests (of `method`, when given) get `status` (or no answer at all with `hang`). */
  failNext(failure: Failure, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** Cuts every stream connection (no close frame), as a network failure would. */
  dropStream(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  get listening(): number {
    return this.listeners.size;
  }

  byClientId(clientOrderId: string): FakeOrder | undefined {
    return [...this.orders.values()].find((o) => o.client_order_id === clientOrderId);
  }

  /** Top-level orders with this client order id prefix, e.g. to count how many a test created. */
  rootOrders(): FakeOrder[] {
    return this.roots.map((id) => this.orders.get(id) as FakeOrder);
  }

  /**
   * Executes `qty` at `price` on an open order (id or client order id): a `partial_fill`, or a
   * `fill` when nothing is left. A filled bracket entry activates its legs; a filled leg cancels
   * its sibling.
   */
  fill(idOrClientId: string, qty: string, price: string): void {
    const order = this.orders.get(idOrClientId) ?? this.byClientId(idOrClientId);
    if (!order || !OPEN.has(order.status)) throw new Error(`fake alpaca: ${idOrClientId} is not open`);
    const quantity = new Decimal(qty);
    const filled = new Decimal(order.filled_qty).plus(quantity);
    if (filled.gt(order.qty)) throw new Error(`fake alpaca: ${qty} overfills ${order.id}`);
    const notional = (this.notional.get(order.id) ?? new Decimal(0)).plus(quantity.times(price));
    this.notional.set(order.id, notional);
    const now = this.tick();
    order.filled_qty = filled.toFixed();
    order.filled_avg_price = quotientHalfEven(notional, filled, 12).toFixed();
    const complete = filled.eq(order.qty);
    order.status = complete ? 'filled' : 'partially_filled';
    order.updated_at = now;
    if (complete) order.filled_at = now;
    const signed = order.side === 'buy' ? quantity : quantity.neg();
    const position = (this.positions.get(order.symbol) ?? new Decimal(0)).plus(signed);
    this.positions.set(order.symbol, position);
    this.send({
      event: complete ? 'fill' : 'partial_fill',
      execution_id: crypto.randomUUID(),
      order: this.view(order),
      price,
      qty,
      position_qty: position.toFixed(),
      timestamp: now,
    });
    if (!complete) return;
    const parent = this.parentOf(order);
    if (order.legs && order.order_class === 'bracket') {
      for (const leg of order.legs) {
        leg.status = 'new';
        leg.updated_at = now;
        this.send({ event: 'new', order: this.view(leg), timestamp: now });
      }
    }
    if (parent) {
      // A leg that filled ends its siblings (and an OCO's primary).
      for (const other of [parent, ...(parent.legs ?? [])]) {
        if (other.id === order.id || !OPEN.has(other.status)) continue;
        if (other === parent && parent.order_class !== 'oco') continue;
        this.cancelOne(other, now);
      }
    } else if (order.order_class === 'oco') {
      for (const leg of order.legs ?? []) if (OPEN.has(leg.status)) this.cancelOne(leg, now);
    }
  }

  /** The broker ends an open order by itself (`expired`, or `canceled` e.g. an IOC remainder). */
  end(idOrClientId: string, event: 'expired' | 'canceled'): void {
    const order = this.orders.get(idOrClientId) ?? this.byClientId(idOrClientId);
    if (!order) throw new Error(`fake alpaca: no order ${idOrClientId}`);
    const now = this.tick();
    order.status = event;
    order.updated_at = now;
    if (event === 'expired') order.expired_at = now;
    else order.canceled_at = now;
    this.send({ event, order: this.view(order), timestamp: now });
  }

  private parentOf(order: FakeOrder): FakeOrder | undefined {
    return [...this.orders.values()].find((o) => o.legs?.some((leg) => leg.id === order.id));
  }

  private cancelOne(order: FakeOrder, now: string): void {
    order.status = 'canceled';
    order.canceled_at = now;
    order.updated_at = now;
    this.send({ event: 'canceled', order: this.view(order), timestamp: now });
  }

  private tick(): string {
    this.clock += 1;
    return new Date(this.clock).toISOString().replace('Z', '123456Z');
  }

  /** A copy as the API shows it (legs nested). */
  private view(order: FakeOrder): FakeOrder {
    return JSON.parse(JSON.stringify(order)) as FakeOrder;
  }

  private send(data: Record<string, unknown>): void {
    if (this.listeners.size === 0) this.lostUpdates += 1;
    const frame = Buffer.from(JSON.stringify({ stream: 'trade_updates', data }));
    for (const ws of this.listeners) ws.send(frame, { binary: true });
  }

  private onConnection(ws: WebSocket): void {
    this.connections += 1;
    this.sockets.add(ws);
    let authorized = false;
    const reply = (message: unknown): void => ws.send(Buffer.from(JSON.stringify(message)), { binary: true });
    ws.on('message', (raw) => {
      let message: { action?: string; key?: string; secret?: string; data?: { streams?: string[] } };
      try {
        message = JSON.parse(String(raw)) as typeof message;
      } catch {
        reply({ action: 'error', data: { error_message: 'invalid syntax' } });
        return;
      }
      if (message.action === 'auth' || message.action === 'authenticate') {
        authorized = message.key === this.options.keyId && message.secret === this.options.secretKey;
        if (!authorized) this.authFailures += 1;
        reply({
          stream: 'authorization',
          data: { status: authorized ? 'authorized' : 'unauthorized', action: 'authenticate' },
        });
      } else if (message.action === 'listen') {
        if (!authorized) {
          reply({ stream: 'authorization', data: { status: 'unauthorized', action: 'listen' } });
          return;
        }
        const streams = (message.data?.streams ?? []).filter((s) => s === 'trade_updates');
        if (streams.length > 0) this.listeners.add(ws);
        else this.listeners.delete(ws);
        reply({ stream: 'listening', data: { streams } });
      }
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.listeners.delete(ws);
    });
  }

  private rest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const method = req.method ?? 'GET';
      this.requests.push({ method, path: req.url ?? '/', body });
      const answer = (status: number, value?: unknown, headers: Record<string, string> = {}): void => {
        if (value === undefined) res.writeHead(status, headers).end();
        else res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
      };
      const failure = this.failures.findIndex((f) => f.method === undefined || f.method === method);
      if (failure >= 0) {
        const [f] = this.failures.splice(failure, 1);
        if (f.hang) {
          // Executed but never answered: the client times out and must retry.
          this.hanging.add(res);
          this.route(method, new URL(req.url ?? '/', 'http://localhost'), body, () => undefined);
          return;
        }
        const headers: Record<string, string> =
          f.retryAfterS !== undefined ? { 'retry-after': String(f.retryAfterS) } : {};
        answer(
          f.status,
          { code: f.status * 100000, message: f.status === 429 ? 'rate limit exceeded' : 'internal server error' },
          headers,
        );
        return;
      }
      if (
        req.headers['apca-api-key-id'] !== this.options.keyId ||
        req.headers['apca-api-secret-key'] !== this.options.secretKey
      ) {
        answer(401, { code: 40110000, message: 'request is not authorized' });
        return;
      }
      this.route(method, new URL(req.url ?? '/', 'http://localhost'), body, answer);
    });
  }

  private route(
    method: string,
    url: URL,
    body: unknown,
    answer: (status: number, value?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const path = url.pathname;
    const nested = url.searchParams.get('nested') === 'true';
    const show = (o: FakeOrder): FakeOrder => {
      const v = this.view(o);
      if (!nested && v.legs) v.legs = null;
      return v;
    };
    if (method === 'POST' && path === '/v2/orders') return this.create(body as Record<string, unknown>, answer);
    if (method === 'GET' && path === '/v2/orders') {
      const status = url.searchParams.get('status') ?? 'open';
      const list = this.rootOrders().filter((o) =>
        status === 'all' ? true : status === 'open' ? OPEN.has(o.status) : !OPEN.has(o.status),
      );
      return answer(200, list.map(show));
    }
    if (method === 'GET' && path === '/v2/orders:by_client_order_id') {
      const order = this.byClientId(url.searchParams.get('client_order_id') ?? '');
      return order ? answer(200, show(order)) : answer(404, { code: 40410000, message: 'order not found' });
    }
    const m = /^\/v2\/orders\/([^/]+)$/.exec(path);
    const order = m ? this.orders.get(decodeURIComponent(m[1])) : undefined;
    if (m && !order) return answer(404, { code: 40410000, message: 'order not found' });
    if (order && method === 'GET') return answer(200, show(order));
    if (order && method === 'DELETE') {
      if (!OPEN.has(order.status)) return answer(422, { code: 42210000, message: 'order is not cancelable' });
      const now = this.tick();
      this.cancelOne(order, now);
      for (const leg of order.legs ?? []) if (OPEN.has(leg.status)) this.cancelOne(leg, now);
      return answer(204);
    }
    if (order && method === 'PATCH') return this.replace(order, body as Record<string, unknown>, answer);
    answer(404, { code: 40400000, message: 'endpoint not found' });
  }

  private invalid(message: string): { code: number; message: string } {
    return { code: 40010001, message };
  }

  private create(
    b: Record<string, unknown>,
    answer: (status: number, value?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const str = (v: unknown): string | null => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);
    const type = str(b.type) ?? '';
    const tif = str(b.time_in_force) ?? '';
    const orderClass = str(b.order_class) ?? 'simple';
    const qty = str(b.qty);
    if (!str(b.symbol)) return answer(422, this.invalid('symbol is required'));
    if (!qty || !/^\d+(\.\d+)?$/.test(qty) || new Decimal(qty).lte(0))
      return answer(422, this.invalid('qty must be > 0'));
    if (b.side !== 'buy' && b.side !== 'sell') return answer(422, this.invalid('invalid side'));
    if (!TYPES.has(type)) return answer(422, this.invalid(`invalid order type ${type}`));
    if (!TIFS.has(tif)) return answer(422, this.invalid(`invalid time_in_force ${tif}`));
    if ((type === 'limit' || type === 'stop_limit') && !str(b.limit_price))
      return answer(422, this.invalid('limit_price is required'));
    if ((type === 'stop' || type === 'stop_limit') && !str(b.stop_price))
      return answer(422, this.invalid('stop_price is required'));
    if (type === 'trailing_stop' && !str(b.trail_price) && !str(b.trail_percent))
      return answer(422, this.invalid('trail_price or trail_percent is required'));
    const takeProfit = str((b.take_profit as Record<string, unknown> | undefined)?.limit_price);
    const stopLoss = str((b.stop_loss as Record<string, unknown> | undefined)?.stop_price);
    if ((orderClass === 'bracket' || orderClass === 'oco') && (!takeProfit || !stopLoss))
      return answer(422, this.invalid('take_profit.limit_price and stop_loss.stop_price are required'));
    if (orderClass === 'oco' && type !== 'limit') return answer(422, this.invalid('oco orders must be limit orders'));
    const clientOrderId = str(b.client_order_id) ?? crypto.randomUUID();
    if (clientOrderId.length > 48)
      return answer(422, this.invalid('client_order_id must be no more than 48 characters'));
    if (this.byClientId(clientOrderId)) return answer(422, this.invalid('client_order_id must be unique'));
    if (b.side === 'buy' && this.options.buyingPower !== undefined) {
      const price = str(b.limit_price) ?? this.options.markPrice ?? '100';
      if (new Decimal(qty).times(price).gt(this.options.buyingPower)) {
        return answer(403, { code: 40310000, message: 'insufficient buying power' });
      }
    }
    const now = this.tick();
    const base = (over: Partial<FakeOrder>): FakeOrder => ({
      id: crypto.randomUUID(),
      client_order_id: crypto.randomUUID(),
      created_at: now,
      updated_at: now,
      submitted_at: now,
      filled_at: null,
      expired_at: null,
      canceled_at: null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: '904837e3-3b76-47ec-b432-046db621571b',
      symbol: str(b.symbol) as string,
      asset_class: 'us_equity',
      notional: null,
      qty,
      filled_qty: '0',
      filled_avg_price: null,
      order_class: orderClass === 'simple' ? '' : orderClass,
      order_type: type,
      type,
      side: b.side as string,
      time_in_force: tif,
      limit_price: str(b.limit_price),
      stop_price: str(b.stop_price),
      status: 'accepted',
      extended_hours: false,
      legs: null,
      trail_percent: str(b.trail_percent),
      trail_price: str(b.trail_price),
      hwm: null,
      ...over,
    });
    const exit = b.side === 'buy' ? 'sell' : 'buy';
    const order = base({ client_order_id: clientOrderId });
    if (orderClass === 'bracket') {
      order.legs = [
        base({
          type: 'limit',
          order_type: 'limit',
          side: exit,
          limit_price: takeProfit,
          order_class: 'bracket',
          status: 'held',
        }),
        base({
          type: 'stop',
          order_type: 'stop',
          side: exit,
          stop_price: stopLoss,
          order_class: 'bracket',
          status: 'held',
        }),
      ];
    } else if (orderClass === 'oco') {
      order.limit_price = takeProfit;
      order.legs = [
        base({
          type: 'stop',
          order_type: 'stop',
          side: b.side as string,
          stop_price: stopLoss,
          order_class: 'oco',
          status: 'new',
        }),
      ];
    }
    this.orders.set(order.id, order);
    for (const leg of order.legs ?? []) this.orders.set(leg.id, leg);
    this.roots.push(order.id);
    answer(200, this.view(order));
    // Routed to the venue right after the answer.
    setImmediate(() => {
      if (order.status !== 'accepted') return;
      order.status = 'new';
      order.updated_at = this.tick();
      this.send({ event: 'new', order: this.view(order), timestamp: order.updated_at });
      if (orderClass === 'oco') {
        for (const leg of order.legs ?? [])
          this.send({ event: 'new', order: this.view(leg), timestamp: order.updated_at });
      }
    });
  }

  private replace(
    old: FakeOrder,
    b: Record<string, unknown>,
    answer: (status: number, value?: unknown, headers?: Record<string, string>) => void,
  ): void {
    if (!OPEN.has(old.status) || old.status === 'accepted') {
      return answer(422, { code: 42210000, message: `order is ${old.status}, cannot be replaced` });
    }
    const clientOrderId = typeof b.client_order_id === 'string' ? b.client_order_id : crypto.randomUUID();
    if (this.byClientId(clientOrderId)) return answer(422, this.invalid('client_order_id must be unique'));
    const now = this.tick();
    const next: FakeOrder = {
      ...this.view(old),
      id: crypto.randomUUID(),
      client_order_id: clientOrderId,
      created_at: now,
      updated_at: now,
      submitted_at: now,
      replaces: old.id,
      replaced_by: null,
      qty: typeof b.qty === 'string' ? b.qty : old.qty,
      time_in_force: typeof b.time_in_force === 'string' ? b.time_in_force : old.time_in_force,
      limit_price: typeof b.limit_price === 'string' ? b.limit_price : old.limit_price,
      stop_price: typeof b.stop_price === 'string' ? b.stop_price : old.stop_price,
      trail_price: typeof b.trail === 'string' ? b.trail : old.trail_price,
      filled_qty: '0',
      filled_avg_price: null,
      status: 'pending_new',
      legs: null,
    };
    this.orders.set(next.id, next);
    this.roots.push(next.id);
    answer(200, this.view(next));
    setImmediate(() => {
      const t = this.tick();
      old.status = 'replaced';
      old.replaced_at = t;
      old.replaced_by = next.id;
      old.updated_at = t;
      this.send({ event: 'replaced', order: this.view(old), timestamp: t });
      next.status = 'new';
      next.updated_at = t;
      this.send({ event: 'new', order: this.view(next), timestamp: t });
    });
  }
}
