/**
 * The console API as OpenAPI 3.1 (served at /api/openapi.json). Money, prices and quantities are exact decimal
 * strings; timestamps are ISO 8601 UTC strings with microseconds, as QuestDB stores them.
 */
type Schema = Record<string, unknown>;

const decimal: Schema = {
  type: 'string',
  pattern: '^-?[0-9]+(\\.[0-9]+)?$',
  description: 'exact decimal (never a float)',
};
const nullableDecimal: Schema = { ...decimal, type: ['string', 'null'] };
const time: Schema = { type: 'string', format: 'date-time' };
const nullableTime: Schema = { type: ['string', 'null'], format: 'date-time' };
const str: Schema = { type: 'string' };
const nullableStr: Schema = { type: ['string', 'null'] };
const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const nullableNum: Schema = { type: ['number', 'null'] };
const bool: Schema = { type: 'boolean' };

function object(properties: Record<string, Schema>, required = Object.keys(properties)): Schema {
  return { type: 'object', properties, required };
}
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const list = (items: Schema): Schema => ({ type: 'array', items });

const schemas: Record<string, Schema> = {
  Error: object({ error: str, message: str, fix: str }, ['error', 'message']),
  Bar: object({
    ts: time,
    open: decimal,
    high: decimal,
    low: decimal,
    close: decimal,
    volume: decimal,
    vwap: decimal,
    tradeCount: int,
    revision: int,
    final: bool,
  }),
  Instrument: object({
    instrumentId: str,
    signals: int,
    fills: int,
    lastTs: time,
    intervals: list(object({ interval: str, bars: int, firstTs: time, lastTs: time })),
  }),
  Signal: object({
    ts: time,
    id: str,
    instrumentId: str,
    strategy: str,
    interval: str,
    side: { enum: ['BUY', 'SELL'] },
    status: { enum: ['ACCEPTED', 'REJECTED'] },
    rejectCode: nullableStr,
    confidence: num,
    price: decimal,
    reason: str,
    rejectDetail: nullableStr,
    barStart: time,
    tsValidated: time,
  }),
  OrderEvent: object({
    ts: time,
    orderId: str,
    seq: int,
    account: str,
    instrumentId: str,
    side: str,
    type: str,
    timeInForce: str,
    kind: str,
    status: { enum: ['ACCEPTED', 'TRIGGERED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED'] },
    reasonCode: nullableStr,
    strategy: nullableStr,
    quantity: decimal,
    filledQuantity: decimal,
    leavesQuantity: decimal,
    avgFillPrice: nullableDecimal,
    limitPrice: nullableDecimal,
    stopPrice: nullableDecimal,
    lastQuantity: nullableDecimal,
    lastPrice: nullableDecimal,
    fee: nullableDecimal,
    liquidity: nullableStr,
    reduceOnly: bool,
    parentOrderId: nullableStr,
    signalId: nullableStr,
    detail: nullableStr,
    eventId: str,
    tsProcessed: time,
  }),
  Fill: object({
    ts: time,
    fillId: str,
    orderId: str,
    account: str,
    instrumentId: str,
    side: str,
    liquidity: str,
    strategy: nullableStr,
    quantity: decimal,
    price: decimal,
    fee: decimal,
    slippage: decimal,
    signalId: nullableStr,
    tsProcessed: time,
  }),
  Position: object({
    ts: time,
    account: str,
    instrumentId: str,
    quantity: decimal,
    avgCost: decimal,
    realizedPnl: decimal,
    fees: decimal,
    markPrice: nullableDecimal,
    unrealizedPnl: decimal,
    dayTrades: int,
    tsProcessed: time,
  }),
  Pnl: object({
    ts: time,
    account: str,
    tradingState: str,
    tradeDate: str,
    cash: decimal,
    equity: decimal,
    realizedPnl: decimal,
    unrealizedPnl: decimal,
    fees: decimal,
    dayPnl: decimal,
    peakEquity: decimal,
    drawdown: decimal,
    grossExposure: decimal,
    netExposure: decimal,
    tsProcessed: time,
  }),
  EquityPoint: object({ ts: time, equity: decimal, drawdown: decimal }),
  Decision: object({
    ts: time,
    decisionId: str,
    account: str,
    instrumentId: str,
    strategy: str,
    side: str,
    approved: bool,
    tradingState: str,
    reasonCodes: list(str),
    reasons: list(object({ code: str }, ['code'])),
    confidence: num,
    quantity: nullableDecimal,
    price: nullableDecimal,
    orderId: nullableStr,
    signalId: str,
    tsDecided: time,
  }),
  AuditEvent: object({
    ts: time,
    auditId: str,
    account: str,
    kind: { enum: ['DECISION', 'ORDER_EVENT', 'FILL', 'HALT', 'RESUME', 'BREAKER_TRIPPED', 'BREAKER_RESET'] },
    actor: str,
    instrumentId: nullableStr,
    refId: str,
    summary: str,
    tsRecorded: time,
  }),
  QualityFinding: object({
    ts: time,
    instrumentId: str,
    source: str,
    rule: str,
    flagged: bool,
    kind: str,
    stage: str,
    detail: str,
    origin: str,
    tsRecv: time,
  }),
  RunnerView: object({
    name: str,
    kind: { enum: ['stage', 'chain', 'sink'] },
    stages: list(str),
    inputs: list(str),
    outputs: list(str),
    group: nullableStr,
    ready: { type: ['boolean', 'null'] },
    joined: { type: ['boolean', 'null'] },
    assignedPartitions: int,
    pausedPartitions: int,
    batches: int,
    recordsIn: int,
    recordsOut: int,
    deadLetters: int,
    lastBatchAt: nullableTime,
    lag: nullableNum,
    rateIn: nullableNum,
    rateOut: nullableNum,
    health: { enum: ['ok', 'idle', 'starting', 'down', 'paused', 'lagging', 'unknown'] },
  }),
  PipelineView: object({
    source: { enum: ['pipeline', 'questdb'] },
    note: nullableStr,
    at: time,
    namespace: str,
    ready: { type: ['boolean', 'null'] },
    runners: list(ref('RunnerView')),
    dependencies: { type: 'object', additionalProperties: object({ up: bool, since: time, failures: int }) },
    tables: list(
      object({
        name: str,
        rows: int,
        lastTs: nullableTime,
        walBacklog: { type: ['integer', 'null'] },
        suspended: { type: ['boolean', 'null'] },
      }),
    ),
    feeds: list(object({ source: str, instruments: int, lastTs: nullableTime, lastRecv: nullableTime })),
  }),
  ActionRequest: object(
    {
      reason: { type: 'string', minLength: 1, maxLength: 500, description: 'why (required; kept in the audit trail)' },
      account: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'default: every account' },
      instrument: { type: 'string', description: 'VENUE:SYMBOL; default: every instrument of the scope' },
      flatten: { type: 'boolean', description: 'halt only: also close every position' },
      operator: { type: 'string', description: 'who pressed the button (recorded with the token id)' },
    },
    ['reason'],
  ),
  RiskCommand: object({
    commandId: str,
    action: { enum: ['HALT', 'RESUME'] },
    account: nullableStr,
    instrumentId: nullableStr,
    flatten: bool,
    reason: str,
    actor: str,
    tsIssued: { type: 'integer', description: 'microseconds since the epoch' },
  }),
};

function param(name: string, description: string, schema: Schema, example?: string, required = false): Schema {
  return { name, in: 'query', required, description, schema, ...(example ? { example } : {}) };
}

const p = {
  instrument: (required = false) =>
    param('instrument', 'instrument id, VENUE:SYMBOL', { type: 'string' }, 'BINANCE-FUT:BTCUSDT', required),
  account: param('account', 'account name', { type: 'string' }, 'paper-1'),
  from: param('from', 'inclusive start, ISO 8601 (UTC unless an offset is given)', {
    type: 'string',
    format: 'date-time',
  }),
  to: param('to', 'exclusive end, ISO 8601', { type: 'string', format: 'date-time' }),
  limit: (fallback: number, max: number) =>
    param('limit', `at most this many rows (default ${fallback})`, { type: 'integer', minimum: 1, maximum: max }),
};

function ok(description: string, schema: Schema): Schema {
  return {
    200: { description, content: { 'application/json': { schema } } },
    400: { description: 'a parameter is not valid', content: { 'application/json': { schema: ref('Error') } } },
    401: { description: 'the token is missing or wrong', content: { 'application/json': { schema: ref('Error') } } },
    429: { description: 'too many requests; see Retry-After' },
  };
}

function get(summary: string, parameters: Schema[], description: string, schema: Schema): Schema {
  return { get: { summary, parameters, responses: ok(description, schema) } };
}

function action(name: 'halt' | 'resume'): Schema {
  const error = { content: { 'application/json': { schema: ref('Error') } } };
  return {
    post: {
      summary:
        name === 'halt'
          ? 'Halt trading (cancel open orders, block new ones) for every account or one; published to risk.commands.v1'
          : 'Resume trading and clear breakers for every account or one; published to risk.commands.v1',
      security: [{ bearer: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: ref('ActionRequest') } } },
      responses: {
        202: {
          description: 'published; risk applies it in order with the account’s other inputs',
          content: { 'application/json': { schema: object({ command: ref('RiskCommand') }) } },
        },
        400: { description: 'the body is not valid', ...error },
        401: { description: 'no bearer token, or the wrong one', ...error },
        403: { description: 'the Origin is not this console', ...error },
        415: { description: 'the body is not application/json', ...error },
        429: { description: 'too many actions; see Retry-After' },
      },
    },
  };
}

export function openApiDocument(version = '1'): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'tickflow console API',
      version,
      description:
        'Read-only views of what the pipeline wrote to QuestDB, a live event stream, and the halt and resume actions. Money, prices and quantities are exact decimal strings.',
    },
    servers: [{ url: '/' }],
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the console token (TICKFLOW_CONSOLE_TOKEN)' },
        basic: {
          type: 'http',
          scheme: 'basic',
          description: 'reads only: any user name, the console token as password',
        },
      },
    },
    paths: {
      '/api/instruments': get(
        'Instruments that have bars, with their intervals and trading activity',
        [],
        'instruments, most recently active first',
        object({ instruments: list(ref('Instrument')) }),
      ),
      '/api/marketdata': get(
        'Bars of one instrument and interval (the newest `limit` of the range, oldest first)',
        [
          p.instrument(true),
          param('interval', 'bar interval', { type: 'string', pattern: '^[1-9][0-9]*[smhd]$' }, '1m'),
          p.from,
          p.to,
          p.limit(1000, 10000),
        ],
        'bars',
        object({ instrumentId: str, interval: str, bars: list(ref('Bar')) }),
      ),
      '/api/signals': get(
        'Signals, accepted and rejected, newest first',
        [
          p.instrument(),
          param('status', 'ACCEPTED or REJECTED', { enum: ['ACCEPTED', 'REJECTED'] }),
          p.from,
          p.to,
          p.limit(100, 1000),
        ],
        'signals',
        object({ signals: list(ref('Signal')) }),
      ),
      '/api/orders': get(
        'Order events, newest first; status=open: each working order’s latest event',
        [
          p.account,
          p.instrument(),
          param('status', '`open`, or one order status', { type: 'string' }, 'open'),
          p.limit(100, 1000),
        ],
        'order events',
        object({ orders: list(ref('OrderEvent')) }),
      ),
      '/api/fills': get(
        'Fills, newest first',
        [p.account, p.instrument(), p.from, p.to, p.limit(100, 1000)],
        'fills',
        object({ fills: list(ref('Fill')) }),
      ),
      '/api/positions': get(
        'The book: the latest position per account and instrument',
        [p.account, p.instrument(), param('open', 'only non-zero positions', { type: 'boolean' })],
        'positions',
        object({ positions: list(ref('Position')) }),
      ),
      '/api/pnl': get(
        'Equity curve and latest P&L per account',
        [p.account, p.from, p.to, p.limit(2000, 20000)],
        'per account: the latest P&L row and the equity curve (oldest first)',
        object({ accounts: list(object({ account: str, latest: ref('Pnl'), curve: list(ref('EquityPoint')) })) }),
      ),
      '/api/risk': get(
        'Latest risk decisions with reason codes, each account’s trading state, and the audit trail',
        [
          p.account,
          p.instrument(),
          param('approved', 'only approved (true) or rejected (false)', { type: 'boolean' }),
          p.limit(50, 1000),
        ],
        'decisions, trading states, audit',
        object({ decisions: list(ref('Decision')), accounts: list(ref('Pnl')), audit: list(ref('AuditEvent')) }),
      ),
      '/api/audit': get(
        'The audit trail, newest recorded first',
        [p.account, param('kind', 'one audit kind', { type: 'string' }, 'HALT'), p.limit(100, 1000)],
        'audit events',
        object({ audit: list(ref('AuditEvent')) }),
      ),
      '/api/quality': get(
        'Data-quality findings, newest first, and counts per rule',
        [p.instrument(), param('rule', 'one rule', { type: 'string' }, 'CROSSED_QUOTE'), p.limit(100, 1000)],
        'findings',
        object({
          findings: list(ref('QualityFinding')),
          summary: list(object({ rule: str, findings: int, lastTs: time })),
        }),
      ),
      '/api/pipeline': get(
        'The pipeline: runners, rates, lag, health; tables and feeds',
        [],
        'the view',
        ref('PipelineView'),
      ),
      '/api/stream': {
        get: {
          summary:
            'Server-sent events: ready, signal, decision, order, fill, position, pnl, audit, quality, bar (of ?instrument=&interval=), pipeline (every 2 s), overflow (reload a panel); heartbeat comments every 15 s',
          parameters: [p.instrument(), param('interval', 'bar interval for `bar` events', { type: 'string' }, '1m')],
          responses: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: str } } } },
        },
      },
      '/api/openapi.json': get(
        'This document',
        [],
        'OpenAPI 3.1',
        object({ openapi: str, info: { type: 'object' }, paths: { type: 'object' } }),
      ),
      '/api/halt': action('halt'),
      '/api/resume': action('resume'),
    },
  };
}
