import { AlpacaAdapter } from '../../connectors/alpaca/adapter';
import { collectTopic } from '../../ops/cli/tap';
import { BrokerBridge } from '../../ops/run/broker-bridge';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { Decimal } from '../../schemas/decimal';
import type { DeadLetter, Fill, OrderEvent, OrderRequest } from '../../schemas/types.generated';
import { FakeAlpacaServer } from '../support/fake-alpaca';
import { publish } from '../support/fault-children';
import { TestNamespaces } from '../support/namespaces';
import { waitFor } from '../support/runtime-harness';

/**
 * The Alpaca adapter in place of the paper execution stage (ops/run/broker-bridge.ts), against the
 * real Kafka and the fake Alpaca server: order requests in, the paper stage's OrderEvents and
 * Fills out (same topics, same keys, exact decimals), offsets committed after submit; then a new
 * bridge in the same group with every request delivered again: no second order at the broker, no
 * event or fill repeated, and the fills it missed while down reported once, for the missing part.
 */
const TOPICS = ['orders.requests.v1', 'orders.requests.v1.dlq', 'orders.events.v1', 'execution.reports.v1', 'fills.v1'];
const KEY = 'PKTESTKEY0000000001';
const SECRET = 'test-secret-0123456789';
const NOW = 1_709_564_401_000_000;
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

const MARKET = request({ orderId: 'mkt-1' });
const LIMIT = request({
  orderId: 'lim-1',
  account: 'acct-2',
  instrumentId: 'ALPACA:MSFT',
  symbol: 'MSFT',
  side: 'SELL',
  type: 'LIMIT',
  timeInForce: 'GTC',
  quantity: D('4'),
  limitPrice: D('150.25'),
});
const CANCEL = { ...LIMIT, requestId: 'lim-1/cancel', action: 'CANCEL' as const };
const TWAP = request({ orderId: 'twap-1', type: 'TWAP', durationMs: 60_000, sliceIntervalMs: 5_000 });
const PARTIAL = request({
  orderId: 'part-1',
  instrumentId: 'ALPACA:NVDA',
  symbol: 'NVDA',
  type: 'LIMIT',
  quantity: D('5'),
  limitPrice: D('420.5'),
});

/** Decoded Avro as plain JSON: Decimals as their exact text. */
const plain = <T>(value: T): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** The fields every event of an order shares, from its NEW. */
function base(r: OrderRequest): Record<string, unknown> {
  return {
    orderId: r.orderId,
    parentOrderId: null,
    account: r.account,
    instrumentId: r.instrumentId,
    venue: r.venue,
    symbol: r.symbol,
    side: r.side,
    type: r.type,
    timeInForce: r.timeInForce,
    quantity: r.quantity.toFixed(),
    limitPrice: r.limitPrice?.toFixed() ?? null,
    stopPrice: null,
    reduceOnly: false,
    signalId: 'sig-1',
    strategy: 'momentum',
    tsEvent: expect.any(Number),
    tsProcessed: NOW,
  };
}

const NO_FILL = { lastQuantity: null, lastPrice: null, fee: null, liquidity: null, fillId: null };

function event(
  r: OrderRequest,
  seq: number,
  kind: OrderEvent['kind'],
  status: OrderEvent['status'],
  over: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...base(r),
    eventId: `${r.orderId}:${seq}`,
    seq,
    requestId: `${r.orderId}/new`,
    kind,
    status,
    avgFillPrice: null,
    reasonCode: null,
    detail: null,
    ...NO_FILL,
    ...over,
  };
}

function fillEvent(
  r: OrderRequest,
  seq: number,
  cumulative: string,
  last: [string, string],
  average: string,
  fillId: string,
): Record<string, unknown> {
  const done = D(cumulative).eq(r.quantity);
  return event(r, seq, done ? 'FILLED' : 'PARTIALLY_FILLED', done ? 'FILLED' : 'PARTIALLY_FILLED', {
    filledQuantity: cumulative,
    leavesQuantity: r.quantity.minus(cumulative).toFixed(),
    avgFillPrice: average,
    lastQuantity: last[0],
    lastPrice: last[1],
    fee: '0',
    liquidity: 'TAKER',
    fillId,
  });
}

function fill(r: OrderRequest, quantity: string, price: string, fillId: string): Record<string, unknown> {
  return {
    fillId,
    orderId: r.orderId,
    parentOrderId: null,
    account: r.account,
    instrumentId: r.instrumentId,
    venue: r.venue,
    symbol: r.symbol,
    side: r.side,
    quantity,
    price,
    fee: '0',
    liquidity: 'TAKER',
    slippage: '0',
    signalId: 'sig-1',
    strategy: 'momentum',
    tsEvent: expect.any(Number),
    tsProcessed: NOW,
  };
}

describe('broker bridge: Alpaca in place of the paper execution stage', () => {
  const ns = new TestNamespaces('test-broker');
  const codec = new AvroCodec();
  const server = new FakeAlpacaServer({ keyId: KEY, secretKey: SECRET });
  let urls: { baseUrl: string; streamUrl: string };
  const bridges: BrokerBridge[] = [];
  const fatal: string[] = [];

  beforeAll(async () => {
    await ns.open();
    urls = await server.listen();
  });
  afterAll(async () => {
    for (const bridge of bridges) await bridge.stop();
    await server.close();
    await ns.close();
  });

  function newBridge(namespace: string): BrokerBridge {
    const adapter = new AlpacaAdapter({
      config: { keyId: KEY, secretKey: SECRET, ...urls },
      now: () => NOW,
      requestTimeoutMs: 2000,
      retryBaseMs: 20,
      retryMaxMs: 200,
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
      startTimeoutMs: 10_000,
    });
    const bridge = new BrokerBridge(ns.kafka, codec, adapter, {
      prefix: namespace,
      fromBeginning: true,
      maxWaitMs: 100,
      onFatal: (error) => fatal.push(error.message),
    });
    bridges.push(bridge);
    return bridge;
  }

  const read = async (
    namespace: string,
  ): Promise<{
    events: { key: string | null; value: OrderEvent }[];
    reports: { key: string | null; value: OrderEvent }[];
    fills: { key: string | null; value: Fill }[];
    letters: DeadLetter[];
  }> => {
    const [events, reports, fills, letters] = await Promise.all([
      collectTopic<OrderEvent>(ns.kafka, `${namespace}orders.events.v1`, 30_000, 'orders.events.v1'),
      collectTopic<OrderEvent>(ns.kafka, `${namespace}execution.reports.v1`, 30_000, 'execution.reports.v1'),
      collectTopic<Fill>(ns.kafka, `${namespace}fills.v1`, 30_000, 'fills.v1'),
      collectTopic<DeadLetter>(ns.kafka, `${namespace}orders.requests.v1.dlq`, 30_000, 'orders.requests.v1.dlq'),
    ]);
    return { events, reports, fills, letters: letters.map((l) => l.value) };
  };
  const ofOrder = (records: { value: OrderEvent }[], orderId: string): unknown[] =>
    records
      .map((r) => r.value)
      .filter((e) => e.orderId === orderId)
      .sort((a, b) => a.seq - b.seq)
      .map(plain);

  it('submits in order, publishes the paper stage’s events and fills, and survives a restart with redelivery', async () => {
    const namespace = await ns.create('broker', TOPICS);
    const requestsTopic = `${namespace}orders.requests.v1`;
    // A record that is not Avro, ahead of the market order in its partition: dead-lettered, not a stop.
    const raw = ns.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await raw.connect();
    await raw.send({
      topic: requestsTopic,
      acks: -1,
      messages: [{ key: 'ALPACA:AAPL', value: Buffer.from('not avro') }],
    });
    await raw.disconnect();

    const first = newBridge(namespace);
    await first.start();
    expect(first.groupId).toBe(`tickflow.${namespace}broker-alpaca`);
    await publish(
      ns.kafka,
      codec,
      namespace,
      [MARKET, LIMIT, TWAP, PARTIAL].map((r) => ({ topic: 'orders.requests.v1', key: r.instrumentId, value: r })),
      1000,
    );
    // 3 ACCEPTED and the TWAP's REJECTED.
    await waitFor('the orders at the broker', async () => first.health().eventsPublished >= 4, 20_000, 50);
    server.fill('mkt-1', '3', '187.11');
    server.fill('mkt-1', '7', '187.1234');
    server.fill('part-1', '2', '420.5');
    await publish(
      ns.kafka,
      codec,
      namespace,
      [{ topic: 'orders.requests.v1', key: CANCEL.instrumentId, value: CANCEL }],
      1000,
    );
    await waitFor(
      'fills and the cancel published',
      async () => first.health().eventsPublished >= 8 && first.health().outboxPending === 0,
      20_000,
      50,
    );
    expect(first.health()).toMatchObject({ submitted: 5, skipped: 0, deadLetters: 1, eventsSuppressed: 0 });

    const mktId = server.byClientId('mkt-1')!.id;
    const partId = server.byClientId('part-1')!.id;
    const expectedEvents = {
      'mkt-1': [
        event(MARKET, 1, 'ACCEPTED', 'ACCEPTED', { filledQuantity: '0', leavesQuantity: '10' }),
        fillEvent(MARKET, 2, '3', ['3', '187.11'], '187.11', `alpaca:${mktId}:3`),
        // (3 × 187.11 + 7 × 187.1234) / 10
        fillEvent(MARKET, 3, '10', ['7', '187.1234'], '187.11938', `alpaca:${mktId}:10`),
      ],
      'lim-1': [
        event(LIMIT, 1, 'ACCEPTED', 'ACCEPTED', { filledQuantity: '0', leavesQuantity: '4' }),
        event(LIMIT, 2, 'CANCELED', 'CANCELED', {
          requestId: 'lim-1/cancel',
          filledQuantity: '0',
          leavesQuantity: '0',
          reasonCode: 'USER',
        }),
      ],
      'twap-1': [
        event(TWAP, 1, 'REJECTED', 'REJECTED', {
          filledQuantity: '0',
          leavesQuantity: '0',
          reasonCode: 'UNSUPPORTED_ORDER_TYPE',
          detail: expect.stringMatching(/TWAP/),
          tsEvent: NOW,
        }),
      ],
      'part-1': [
        event(PARTIAL, 1, 'ACCEPTED', 'ACCEPTED', { filledQuantity: '0', leavesQuantity: '5' }),
        fillEvent(PARTIAL, 2, '2', ['2', '420.5'], '420.5', `alpaca:${partId}:2`),
      ],
    };
    const before = await read(namespace);
    for (const [orderId, expected] of Object.entries(expectedEvents)) {
      expect(ofOrder(before.events, orderId)).toEqual(expected);
      expect(ofOrder(before.reports, orderId)).toEqual(expected);
    }
    expect(before.events).toHaveLength(8);
    // Keys: instrument on orders.events.v1 and fills.v1, account on execution.reports.v1.
    for (const r of before.events) expect(r.key).toBe(r.value.instrumentId);
    for (const r of before.reports) expect(r.key).toBe(r.value.account);
    for (const r of before.fills) expect(r.key).toBe(r.value.instrumentId);
    expect(
      before.fills
        .map((r) => plain(r.value))
        .sort((a, b) => String((a as Fill).fillId).localeCompare(String((b as Fill).fillId))),
    ).toEqual(
      [
        fill(MARKET, '3', '187.11', `alpaca:${mktId}:3`),
        fill(MARKET, '7', '187.1234', `alpaca:${mktId}:10`),
        fill(PARTIAL, '2', '420.5', `alpaca:${partId}:2`),
      ].sort((a, b) => String(a.fillId).localeCompare(String(b.fillId))),
    );
    expect(before.letters).toMatchObject([
      { stage: 'broker-alpaca', errorCode: 'DECODE_ERROR', sourceTopic: requestsTopic, sourceOffset: '0' },
    ]);
    expect(before.letters[0].originalValue?.toString()).toBe('not avro');
    expect(server.rootOrders()).toHaveLength(3);

    // Down: the bridge stops; the broker fills part-1 further (an update nobody hears).
    await first.stop();
    server.fill('part-1', '2', '420.3');
    // Every request is delivered again to a new bridge in the same group (a crash before its commits).
    await ns.admin.resetOffsets({ groupId: first.groupId, topic: requestsTopic, earliest: true });
    const posts = server.requests.filter((r) => r.method === 'POST').length;
    const second = newBridge(namespace);
    await second.start();
    // The redelivered NEW of part-1 adopts the broker's order; only the missed 2 @ 420.3 is news.
    await waitFor('the missed fill', async () => second.health().eventsPublished >= 1, 20_000, 50);
    server.fill('part-1', '1', '420.25');
    await waitFor(
      'the last fill',
      async () => second.health().eventsPublished >= 2 && second.health().outboxPending === 0,
      20_000,
      50,
    );
    expect(second.health()).toMatchObject({ submitted: 1, skipped: 4, deadLetters: 1, eventsPublished: 2 });
    await second.stop();

    expect(server.rootOrders()).toHaveLength(3);
    expect(server.rootOrders().filter((o) => o.client_order_id === 'part-1')).toHaveLength(1);
    // Only part-1's NEW reached the broker again (refused as a duplicate client_order_id, adopted).
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(posts + 1);
    expect(server.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);

    const after = await read(namespace);
    const ids = after.events.map((r) => r.value.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    const fillIds = after.fills.map((r) => r.value.fillId);
    expect(new Set(fillIds).size).toBe(fillIds.length);
    for (const orderId of ['mkt-1', 'lim-1', 'twap-1']) {
      expect(ofOrder(after.events, orderId)).toEqual(expectedEvents[orderId as keyof typeof expectedEvents]);
    }
    const partEvents = [
      ...expectedEvents['part-1'],
      // (2 × 420.5 + 2 × 420.3) / 4 and (… + 1 × 420.25) / 5
      fillEvent(PARTIAL, 3, '4', ['2', '420.3'], '420.4', `alpaca:${partId}:4`),
      fillEvent(PARTIAL, 4, '5', ['1', '420.25'], '420.37', `alpaca:${partId}:5`),
    ];
    expect(ofOrder(after.events, 'part-1')).toEqual(partEvents);
    expect(ofOrder(after.reports, 'part-1')).toEqual(partEvents);
    expect(
      after.fills
        .map((r) => r.value)
        .filter((f) => f.orderId === 'part-1')
        .map((f) => [f.fillId, f.quantity.toFixed(), f.price.toFixed()])
        .sort(),
    ).toEqual([
      [`alpaca:${partId}:2`, '2', '420.5'],
      [`alpaca:${partId}:4`, '2', '420.3'],
      [`alpaca:${partId}:5`, '1', '420.25'],
    ]);
    expect(after.fills).toHaveLength(5);
    // The undecodable record was delivered again too: dead-lettered again, from the same offset.
    expect(after.letters.map((l) => [l.errorCode, l.sourceOffset])).toEqual([
      ['DECODE_ERROR', '0'],
      ['DECODE_ERROR', '0'],
    ]);
    expect(fatal).toEqual([]);
    await ns.admin.deleteGroups([first.groupId]).catch(() => undefined);
  }, 60_000);
});
