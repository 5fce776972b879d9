import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decimal } from '../../schemas/decimal';
import type { OrderRequest } from '../../schemas/types.generated';
import { isTickflowError } from '../../pipelines/runtime/errors';
import { FakeAlpacaServer } from '../../tests/support/fake-alpaca';
import type { BrokerEvent } from '../brokers/adapter';
import { brokerRecords } from '../brokers/adapter';
import { AlpacaAdapter } from './adapter';
import { alpacaConfigFromEnv } from './config';
import { isoMicros, toAlpacaOrder, toAlpacaReplace } from './messages';

const KEY = 'PKTESTKEY0000000001';
const SECRET = 'test-secret-0123456789';
const D = (text: string): Decimal => new Decimal(text);

function request(over: Partial<OrderRequest> & { orderId: string }): OrderRequest {
  return {
    requestId: `${over.orderId}/new`,
    action: 'NEW',
    account: 'acct-1',
    instrumentId: 'ALPACA:AAPL',
    venue: 'ALPACA',
    symbol: 'AAPL',
    side: 'BUY',
    type: 'MARKET',
    timeInForce: 'DAY',
    quantity: D('10'),
    limitPrice: null,
    stopPrice: null,
    trailingOffset: null,
    takeProfitPrice: null,
    stopLossPrice: null,
    displayQuantity: null,
    durationMs: null,
    sliceIntervalMs: null,
    volumeCurve: null,
    reduceOnly: false,
    signalId: 'sig-1',
    strategy: 'momentum',
    reason: null,
    tsEvent: 1_709_564_400_000_000,
    tsCreated: 1_709_564_400_000_100,
    ...over,
  };
}

/** A test's world: the fake broker, an adapter on it, and every update the adapter reported. */
class World {
  server = new FakeAlpacaServer({ keyId: KEY, secretKey: SECRET, buyingPower: '100000' });
  adapter!: AlpacaAdapter;
  updates: BrokerEvent[] = [];
  private urls!: { baseUrl: string; streamUrl: string };

  async open(credentials = { keyId: KEY, secretKey: SECRET }): Promise<void> {
    this.urls = await this.server.listen();
    this.adapter = this.newAdapter(credentials);
  }

  newAdapter(credentials = { keyId: KEY, secretKey: SECRET }): AlpacaAdapter {
    const adapter = new AlpacaAdapter({
      config: { ...credentials, ...this.urls },
      now: () => 1_709_564_401_000_000,
      requestTimeoutMs: 300,
      maxAttempts: 4,
      retryBaseMs: 10,
      retryMaxMs: 50,
      reconnectMinMs: 20,
      reconnectMaxMs: 100,
      authTimeoutMs: 2000,
      startTimeoutMs: 5000,
    });
    adapter.onEvent((u) => this.updates.push(u));
    return adapter;
  }

  events(orderId: string): BrokerEvent['event'][] {
    return this.updates.map((u) => u.event).filter((e) => e.orderId === orderId);
  }

  kinds(orderId: string): string[] {
    return this.events(orderId).map((e) => e.kind);
  }

  async until(what: string, done: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${what}; events: ${JSON.stringify(this.updates.map((u) => `${u.event.eventId} ${u.event.kind}`))}`,
        );
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    await this.adapter?.close();
    await this.server.close();
  }
}

let world: World;
beforeEach(async () => {
  world = new World();
  await world.open();
});
afterEach(async () => {
  await world.close();
});

describe('request mapping (pure)', () => {
  it('maps each supported type to the documented POST /v2/orders body, decimals as strings', () => {
    expect(toAlpacaOrder(request({ orderId: 'm1', quantity: D('0.5') }))).toEqual({
      symbol: 'AAPL',
      qty: '0.5',
      side: 'buy',
      type: 'market',
      time_in_force: 'day',
      client_order_id: 'm1',
    });
    expect(
      toAlpacaOrder(request({ orderId: 'l1', type: 'LIMIT', timeInForce: 'GTC', limitPrice: D('187.125') })),
    ).toMatchObject({ type: 'limit', time_in_force: 'gtc', limit_price: '187.125' });
    expect(toAlpacaOrder(request({ orderId: 's1', type: 'STOP', side: 'SELL', stopPrice: D('180') }))).toMatchObject({
      type: 'stop',
      side: 'sell',
      stop_price: '180',
    });
    expect(
      toAlpacaOrder(
        request({
          orderId: 'sl1',
          type: 'STOP_LIMIT',
          timeInForce: 'IOC',
          stopPrice: D('180'),
          limitPrice: D('179.5'),
        }),
      ),
    ).toMatchObject({ type: 'stop_limit', time_in_force: 'ioc', stop_price: '180', limit_price: '179.5' });
    expect(
      toAlpacaOrder(request({ orderId: 't1', type: 'TRAILING_STOP', timeInForce: 'FOK', trailingOffset: D('1.25') })),
    ).toMatchObject({ type: 'trailing_stop', time_in_force: 'fok', trail_price: '1.25' });
    expect(
      toAlpacaOrder(
        request({
          orderId: 'b1',
          type: 'BRACKET',
          limitPrice: D('100.00'),
          takeProfitPrice: D('110'),
          stopLossPrice: D('95.5'),
        }),
      ),
    ).toEqual({
      symbol: 'AAPL',
      qty: '10',
      side: 'buy',
      type: 'limit',
      time_in_force: 'day',
      client_order_id: 'b1',
      limit_price: '100',
      order_class: 'bracket',
      take_profit: { limit_price: '110' },
      stop_loss: { stop_price: '95.5' },
    });
    expect(
      toAlpacaOrder(request({ orderId: 'b2', type: 'BRACKET', takeProfitPrice: D('110'), stopLossPrice: D('95') })),
    ).toMatchObject({ type: 'market', order_class: 'bracket' });
    expect(
      toAlpacaOrder(request({ orderId: 'o1', type: 'OCO', side: 'SELL', limitPrice: D('110'), stopPrice: D('95') })),
    ).toEqual({
      symbol: 'AAPL',
      qty: '10',
      side: 'sell',
      type: 'limit',
      time_in_force: 'day',
      client_order_id: 'o1',
      order_class: 'oco',
      take_profit: { limit_price: '110' },
      stop_loss: { stop_price: '95' },
    });
    // Tiny and huge decimals stay plain text (no exponent), exactly.
    expect(toAlpacaOrder(request({ orderId: 'x', quantity: D('0.000000000001') })).qty).toBe('0.000000000001');
    expect(
      toAlpacaReplace(
        request({ orderId: 'l1', action: 'REPLACE', type: 'LIMIT', quantity: D('12'), limitPrice: D('101.5') }),
        'l1~abc',
      ),
    ).toEqual({ qty: '12', time_in_force: 'day', limit_price: '101.5', client_order_id: 'l1~abc' });
  });

  it('reads RFC 3339 times with nanoseconds as microseconds', () => {
    expect(isoMicros('2022-04-19T17:45:05.024916716Z')).toBe(Date.parse('2022-04-19T17:45:05Z') * 1000 + 24916);
    expect(isoMicros('2022-04-19T13:45:04.98135-04:00')).toBe(Date.parse('2022-04-19T17:45:04Z') * 1000 + 981350);
    expect(isoMicros('yesterday')).toBeUndefined();
  });
});

describe('AlpacaAdapter against the fake Alpaca', () => {
  it('market order: new, partial_fill, fill become ACCEPTED, PARTIALLY_FILLED, FILLED with exact fills', async () => {
    await world.adapter.start();
    await world.adapter.submit(request({ orderId: 'mkt-1' }));
    await world.until('accepted', () => world.kinds('mkt-1').includes('ACCEPTED'));
    world.server.fill('mkt-1', '3', '187.11');
    world.server.fill('mkt-1', '7', '187.1234');
    await world.until('filled', () => world.kinds('mkt-1').includes('FILLED'));
    const events = world.events('mkt-1');
    expect(events.map((e) => [e.eventId, e.seq, e.kind, e.status])).toEqual([
      ['mkt-1:1', 1, 'ACCEPTED', 'ACCEPTED'],
      ['mkt-1:2', 2, 'PARTIALLY_FILLED', 'PARTIALLY_FILLED'],
      ['mkt-1:3', 3, 'FILLED', 'FILLED'],
    ]);
    const [, partial, full] = events;
    expect(partial.lastQuantity?.toFixed()).toBe('3');
    expect(partial.lastPrice?.toFixed()).toBe('187.11');
    expect(partial.filledQuantity.toFixed()).toBe('3');
    expect(partial.leavesQuantity.toFixed()).toBe('7');
    expect(full.filledQuantity.toFixed()).toBe('10');
    expect(full.leavesQuantity.toFixed()).toBe('0');
    // (3 × 187.11 + 7 × 187.1234) / 10 = 187.11938 exactly.
    expect(full.avgFillPrice?.toFixed()).toBe('187.11938');
    expect(full.requestId).toBe('mkt-1/new');
    expect(full.signalId).toBe('sig-1');
    const fills = world.updates.filter((u) => u.fill).map((u) => u.fill!);
    expect(fills.map((f) => [f.quantity.toFixed(), f.price.toFixed(), f.fee.toFixed(), f.liquidity, f.side])).toEqual([
      ['3', '187.11', '0', 'TAKER', 'BUY'],
      ['7', '187.1234', '0', 'TAKER', 'BUY'],
    ]);
    const alpacaId = world.server.byClientId('mkt-1')!.id;
    expect(fills.map((f) => f.fillId)).toEqual([`alpaca:${alpacaId}:3`, `alpaca:${alpacaId}:10`]);
    expect(full.fillId).toBe(fills[1].fillId);
    // Venue time from the update's timestamp (microseconds), processing time from the adapter's clock.
    expect(fills[0].tsEvent).toBeGreaterThan(1_709_564_400_000_000);
    expect(fills[0].tsProcessed).toBe(1_709_564_401_000_000);
    // The records the paper stage would write.
    expect(brokerRecords(world.updates[2]).map((r) => [r.topic, r.key])).toEqual([
      ['orders.events.v1', 'ALPACA:AAPL'],
      ['execution.reports.v1', 'acct-1'],
      ['fills.v1', 'ALPACA:AAPL'],
    ]);
    // What was sent: the documented body with our orderId as client_order_id, with the key headers.
    const post = world.server.requests.find((r) => r.method === 'POST');
    expect(post?.body).toEqual({
      symbol: 'AAPL',
      qty: '10',
      side: 'buy',
      type: 'market',
      time_in_force: 'day',
      client_order_id: 'mkt-1',
    });
  });

  it('limit order cancel: DELETE, then CANCELED with reasonCode USER; a second cancel is CANCEL_REJECTED', async () => {
    await world.adapter.start();
    await world.adapter.submit(
      request({ orderId: 'lim-1', type: 'LIMIT', timeInForce: 'GTC', limitPrice: D('150.25') }),
    );
    await world.until('accepted', () => world.kinds('lim-1').includes('ACCEPTED'));
    await world.adapter.submit(
      request({
        orderId: 'lim-1',
        requestId: 'lim-1/cancel',
        action: 'CANCEL',
        type: 'LIMIT',
        limitPrice: D('150.25'),
      }),
    );
    await world.until('canceled', () => world.kinds('lim-1').includes('CANCELED'));
    const canceled = world.events('lim-1').at(-1)!;
    expect(canceled).toMatchObject({
      eventId: 'lim-1:2',
      kind: 'CANCELED',
      status: 'CANCELED',
      reasonCode: 'USER',
      requestId: 'lim-1/cancel',
    });
    expect(canceled.leavesQuantity.toFixed()).toBe('0');
    expect(canceled.limitPrice?.toFixed()).toBe('150.25');
    expect(world.server.requests.some((r) => r.method === 'DELETE')).toBe(true);
    await world.adapter.submit(
      request({ orderId: 'lim-1', requestId: 'lim-1/cancel-2', action: 'CANCEL', type: 'LIMIT' }),
    );
    expect(world.events('lim-1').at(-1)).toMatchObject({
      kind: 'CANCEL_REJECTED',
      reasonCode: 'INVALID_TRANSITION',
      status: 'CANCELED',
      seq: 3,
    });
    // A cancel for an order nobody placed.
    await world.adapter.submit(request({ orderId: 'ghost', requestId: 'ghost/cancel', action: 'CANCEL' }));
    expect(world.events('ghost')).toMatchObject([{ kind: 'CANCEL_REJECTED', reasonCode: 'UNKNOWN_ORDER', seq: 1 }]);
  });

  it('replace: PATCH, REPLACED with the new terms, and fills of the replacing order stay on our orderId', async () => {
    await world.adapter.start();
    await world.adapter.submit(request({ orderId: 'rep-1', type: 'LIMIT', limitPrice: D('100') }));
    await world.until('accepted', () => world.kinds('rep-1').includes('ACCEPTED'));
    const replace = request({
      orderId: 'rep-1',
      requestId: 'rep-1/replace',
      action: 'REPLACE',
      type: 'LIMIT',
      quantity: D('12'),
      limitPrice: D('101.5'),
    });
    await world.adapter.submit(replace);
    await world.until('replaced', () => world.kinds('rep-1').includes('REPLACED'));
    const replaced = world.events('rep-1').at(-1)!;
    expect(replaced).toMatchObject({
      eventId: 'rep-1:2',
      kind: 'REPLACED',
      status: 'ACCEPTED',
      requestId: 'rep-1/replace',
    });
    expect(replaced.quantity.toFixed()).toBe('12');
    expect(replaced.limitPrice?.toFixed()).toBe('101.5');
    const patch = world.server.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.body).toMatchObject({ qty: '12', limit_price: '101.5', time_in_force: 'day' });
    const replacing = world.server.byClientId((patch.body as { client_order_id: string }).client_order_id)!;
    expect(replacing.replaces).toBe(world.server.byClientId('rep-1')!.id);
    world.server.fill(replacing.id, '12', '101.5');
    await world.until('filled', () => world.kinds('rep-1').includes('FILLED'));
    expect(world.kinds('rep-1')).toEqual(['ACCEPTED', 'REPLACED', 'FILLED']);
    // The same REPLACE again (a redelivery) is ignored.
    await world.adapter.submit(replace);
    expect(world.server.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('rejections: 403 insufficient buying power and 422 invalid become REJECTED with the broker message', async () => {
    await world.adapter.start();
    await world.adapter.submit(request({ orderId: 'big-1', type: 'LIMIT', quantity: D('5000'), limitPrice: D('100') }));
    expect(world.events('big-1')).toMatchObject([
      {
        eventId: 'big-1:1',
        kind: 'REJECTED',
        status: 'REJECTED',
        reasonCode: 'INSUFFICIENT_BUYING_POWER',
        detail: 'Alpaca: insufficient buying power',
      },
    ]);
    expect(world.events('big-1')[0].leavesQuantity.toFixed()).toBe('0');
    await world.adapter.submit(
      request({ orderId: 'bad-1', type: 'LIMIT', timeInForce: 'DAY', limitPrice: D('100'), symbol: '' }),
    );
    expect(world.events('bad-1')).toMatchObject([
      { kind: 'REJECTED', reasonCode: 'BROKER_INVALID', detail: 'Alpaca: symbol is required' },
    ]);
    // Checked before sending: a LIMIT without a price never reaches the broker.
    const posts = world.server.requests.filter((r) => r.method === 'POST').length;
    await world.adapter.submit(request({ orderId: 'bad-2', type: 'LIMIT' }));
    expect(world.events('bad-2')).toMatchObject([{ kind: 'REJECTED', reasonCode: 'INVALID_ORDER' }]);
    expect(world.server.requests.filter((r) => r.method === 'POST')).toHaveLength(posts);
  });

  it('TWAP, VWAP and ICEBERG are REJECTED with UNSUPPORTED_ORDER_TYPE, without a request and without throwing', async () => {
    await world.adapter.start();
    for (const type of ['TWAP', 'VWAP', 'ICEBERG'] as const) {
      await world.adapter.submit(
        request({ orderId: `algo-${type}`, type, durationMs: 60_000, sliceIntervalMs: 5_000, displayQuantity: D('1') }),
      );
      expect(world.events(`algo-${type}`)).toMatchObject([
        { seq: 1, kind: 'REJECTED', status: 'REJECTED', type, reasonCode: 'UNSUPPORTED_ORDER_TYPE' },
      ]);
    }
    expect(world.server.requests).toHaveLength(0);
  });

  it('bracket: one POST with take_profit and stop_loss; legs are child orders with parentOrderId, a filled leg cancels the other (OCO)', async () => {
    await world.adapter.start();
    await world.adapter.submit(
      request({
        orderId: 'br-1',
        type: 'BRACKET',
        limitPrice: D('100'),
        takeProfitPrice: D('110'),
        stopLossPrice: D('95'),
      }),
    );
    expect(world.server.requests.find((r) => r.method === 'POST')?.body).toMatchObject({
      order_class: 'bracket',
      type: 'limit',
      limit_price: '100',
      take_profit: { limit_price: '110' },
      stop_loss: { stop_price: '95' },
    });
    world.server.fill('br-1', '10', '99.98');
    await world.until(
      'legs live',
      () => world.kinds('br-1-tp').includes('ACCEPTED') && world.kinds('br-1-sl').includes('ACCEPTED'),
    );
    const tp = world.server.byClientId('br-1')!.legs!.find((l) => l.type === 'limit')!;
    world.server.fill(tp.id, '10', '110.01');
    await world.until('stop leg canceled', () => world.kinds('br-1-sl').includes('CANCELED'));
    expect(world.kinds('br-1')).toEqual(['ACCEPTED', 'FILLED']);
    expect(world.kinds('br-1-tp')).toEqual(['ACCEPTED', 'FILLED']);
    const tpFill = world.updates.find((u) => u.fill?.orderId === 'br-1-tp')!;
    expect(tpFill.fill).toMatchObject({ parentOrderId: 'br-1', side: 'SELL', account: 'acct-1' });
    expect(tpFill.fill!.price.toFixed()).toBe('110.01');
    expect(tpFill.event).toMatchObject({ parentOrderId: 'br-1', type: 'LIMIT', reduceOnly: false });
    expect(world.events('br-1-sl').at(-1)).toMatchObject({
      kind: 'CANCELED',
      reasonCode: 'OCO',
      parentOrderId: 'br-1',
      type: 'STOP',
    });
  });

  it('idempotency: the same NEW twice, or after a restart, makes one Alpaca order', async () => {
    await world.adapter.start();
    const order = request({ orderId: 'idem-1', type: 'LIMIT', limitPrice: D('90') });
    await world.adapter.submit(order);
    await world.adapter.submit(order);
    await world.adapter.submit({ ...order, requestId: 'idem-1/new-again' });
    expect(world.server.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    await world.until('accepted', () => world.kinds('idem-1').includes('ACCEPTED'));
    // A restarted adapter (no memory) submits it again: Alpaca refuses the duplicate client_order_id
    // and the adapter adopts the existing order instead of failing or making another.
    await world.adapter.close();
    const restarted = world.newAdapter();
    world.adapter = restarted;
    await restarted.start();
    const before = world.updates.length;
    await restarted.submit(order);
    expect(world.server.rootOrders().filter((o) => o.client_order_id === 'idem-1')).toHaveLength(1);
    expect(world.server.rootOrders()).toHaveLength(1);
    expect(world.updates.slice(before).map((u) => u.event.kind)).toEqual(['ACCEPTED']);
    world.server.fill('idem-1', '10', '90');
    await world.until('filled', () => world.kinds('idem-1').includes('FILLED'));
  });

  it('429 and 5xx are retried with backoff; a hung request times out and its retry adopts the order it made', async () => {
    await world.adapter.start();
    world.server.failNext({ status: 429, retryAfterS: 0 });
    world.server.failNext({ status: 503 });
    await world.adapter.submit(request({ orderId: 'retry-1' }));
    expect(world.server.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
    expect(world.server.rootOrders()).toHaveLength(1);
    await world.until('accepted', () => world.kinds('retry-1').includes('ACCEPTED'));
    // The broker takes the order but the answer never comes: timeout, retry, 422 duplicate, adopt.
    world.server.failNext({ status: 200, hang: true, method: 'POST' });
    await world.adapter.submit(request({ orderId: 'retry-2' }));
    expect(world.server.rootOrders().filter((o) => o.client_order_id === 'retry-2')).toHaveLength(1);
    await world.until('accepted', () => world.kinds('retry-2').includes('ACCEPTED'));
    expect(world.kinds('retry-2')).toEqual(['ACCEPTED']);
    // Persistent 5xx: a transient TickflowError after the bounded attempts; resubmitting later works.
    world.server.failNext({ status: 500 }, 4);
    const failed = await world.adapter.submit(request({ orderId: 'retry-3' })).catch((e: unknown) => e);
    expect(isTickflowError(failed, 'BAD_RESPONSE')).toBe(true);
    expect((failed as Error).message).toMatch(/POST \/v2\/orders: HTTP 500.*4 attempts/);
    expect(world.events('retry-3')).toEqual([]);
    await world.adapter.submit(request({ orderId: 'retry-3' }));
    await world.until('accepted', () => world.kinds('retry-3').includes('ACCEPTED'));
  });

  it('stream drop: reconnects, re-authenticates, and recovers the fills it missed by reconciliation', async () => {
    await world.adapter.start();
    await world.adapter.submit(request({ orderId: 'gap-1' }));
    await world.adapter.submit(request({ orderId: 'gap-2', type: 'LIMIT', limitPrice: D('100') }));
    await world.until(
      'accepted',
      () => world.kinds('gap-1').includes('ACCEPTED') && world.kinds('gap-2').includes('ACCEPTED'),
    );
    world.server.fill('gap-1', '4', '100.10');
    await world.until('partial', () => world.kinds('gap-1').includes('PARTIALLY_FILLED'));
    world.server.holdUpgrades = true;
    world.server.dropStream();
    await world.until('disconnect', () => world.server.listening === 0 && !world.adapter.health().connected);
    // While the stream is down: gap-1 fills completely, gap-2 partly. Those updates are lost.
    world.server.fill('gap-1', '6', '100.20');
    world.server.fill('gap-2', '2.5', '99.95');
    expect(world.server.lostUpdates).toBe(2);
    world.server.holdUpgrades = false;
    await world.until(
      'recovered',
      () => world.kinds('gap-1').includes('FILLED') && world.kinds('gap-2').includes('PARTIALLY_FILLED'),
    );
    expect(world.server.authFailures).toBe(0);
    expect(world.server.connections).toBeGreaterThanOrEqual(2);
    const health = world.adapter.health();
    expect(health).toMatchObject({ connected: true, connects: 2, recoveredFills: 2 });
    expect(health.reconciliations).toBeGreaterThanOrEqual(1);
    expect(world.server.requests.some((r) => r.method === 'GET' && r.path.startsWith('/v2/orders?status=open'))).toBe(
      true,
    );
    const full = world.events('gap-1').at(-1)!;
    expect(full).toMatchObject({ eventId: 'gap-1:3', kind: 'FILLED', status: 'FILLED' });
    // Exact: the missed fill's price comes from the order's totals: (10 × 100.16 − 4 × 100.10) / 6.
    expect(full.lastQuantity?.toFixed()).toBe('6');
    expect(full.lastPrice?.toFixed()).toBe('100.2');
    expect(full.avgFillPrice?.toFixed()).toBe('100.16');
    const id1 = world.server.byClientId('gap-1')!.id;
    expect(full.fillId).toBe(`alpaca:${id1}:10`);
    const partial = world.events('gap-2').at(-1)!;
    expect([partial.lastQuantity?.toFixed(), partial.lastPrice?.toFixed(), partial.leavesQuantity.toFixed()]).toEqual([
      '2.5',
      '99.95',
      '7.5',
    ]);
    // Later fills on the live stream continue the sequence, nothing twice.
    world.server.fill('gap-2', '7.5', '99.9');
    await world.until('gap-2 filled', () => world.kinds('gap-2').includes('FILLED'));
    expect(world.kinds('gap-2')).toEqual(['ACCEPTED', 'PARTIALLY_FILLED', 'FILLED']);
    expect(world.updates.filter((u) => u.fill).map((u) => u.fill!.fillId)).toHaveLength(
      new Set(world.updates.filter((u) => u.fill).map((u) => u.fill!.fillId)).size,
    );
    // Every order's seq runs 1..n without gaps.
    for (const id of ['gap-1', 'gap-2'])
      expect(world.events(id).map((e) => e.seq)).toEqual(world.events(id).map((_, i) => i + 1));
  });

  it('bad credentials: the stream and REST refuse them with a CONFIG error that names the settings', async () => {
    const wrong = world.newAdapter({ keyId: KEY, secretKey: 'wrong-secret' });
    const error = await wrong.start().catch((e: unknown) => e);
    expect(isTickflowError(error, 'CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(/Alpaca refused the API key on the trade_updates stream \(unauthorized\)/);
    expect((error as { fix?: string }).fix).toMatch(/ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY/);
    expect((error as Error).message).not.toContain('wrong-secret');
    expect(world.server.authFailures).toBe(1);
    const rest = world.newAdapter({ keyId: 'nobody', secretKey: 'wrong-secret' });
    const restError = await rest.submit(request({ orderId: 'auth-1' })).catch((e: unknown) => e);
    expect(isTickflowError(restError, 'CONFIG')).toBe(true);
    expect((restError as Error).message).toMatch(/HTTP 401: request is not authorized/);
    await rest.close();
  });
});

describe('alpacaConfigFromEnv', () => {
  it('names the missing variable, reads *_FILE secrets, defaults to the paper endpoints', () => {
    expect(() => alpacaConfigFromEnv({})).toThrow(/ALPACA_API_KEY_ID is not set/);
    expect(() => alpacaConfigFromEnv({ ALPACA_API_KEY_ID: 'k' })).toThrow(/ALPACA_API_SECRET_KEY is not set/);
    try {
      alpacaConfigFromEnv({ ALPACA_API_KEY_ID: 'k' });
    } catch (error) {
      expect(isTickflowError(error, 'CONFIG')).toBe(true);
      expect((error as { fix?: string }).fix).toMatch(/ALPACA_API_SECRET_KEY_FILE/);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alpaca-'));
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, 's3cret\n');
    expect(alpacaConfigFromEnv({ ALPACA_API_KEY_ID: 'k', ALPACA_API_SECRET_KEY_FILE: file })).toEqual({
      keyId: 'k',
      secretKey: 's3cret',
      baseUrl: 'https://paper-api.alpaca.markets',
      streamUrl: 'wss://paper-api.alpaca.markets/stream',
    });
    expect(
      alpacaConfigFromEnv({
        ALPACA_API_KEY_ID: 'k',
        ALPACA_API_SECRET_KEY: 's',
        ALPACA_BASE_URL: 'http://127.0.0.1:9/',
      }),
    ).toMatchObject({ baseUrl: 'http://127.0.0.1:9', streamUrl: 'ws://127.0.0.1:9/stream' });
    expect(() =>
      alpacaConfigFromEnv({ ALPACA_API_KEY_ID: 'k', ALPACA_API_SECRET_KEY: 's', ALPACA_API_SECRET_KEY_FILE: file }),
    ).toThrow(/both ALPACA_API_SECRET_KEY and ALPACA_API_SECRET_KEY_FILE/);
    expect(() =>
      alpacaConfigFromEnv({ ALPACA_API_KEY_ID: 'k', ALPACA_API_SECRET_KEY: 's', ALPACA_STREAM_URL: 'https://x' }),
    ).toThrow(/ALPACA_STREAM_URL/);
    fs.rmSync(dir, { recursive: true });
  });
});
