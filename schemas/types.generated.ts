// Generated from schemas/*.avsc by `tickflow schemas codegen`; do not edit.
// A test fails when this file and the .avsc files disagree.
import type { Decimal } from './decimal';

export type AggressorSide = 'BUY' | 'SELL' | 'UNKNOWN';

/** A canonical trade print. Key on md.trades.v1: instrumentId. */
export interface Trade {
  /** VENUE:SYMBOL, e.g. BINANCE-FUT:BTCUSDT */
  readonly instrumentId: string;
  /** tickflow venue code, e.g. BINANCE-FUT */
  readonly venue: string;
  /** the venue's own symbol, e.g. BTCUSDT */
  readonly symbol: string;
  /** the feed that delivered it, e.g. tardis-file */
  readonly source: string;
  /** exchange time, microseconds since the Unix epoch, UTC */
  readonly tsEvent: number;
  /** receive time, microseconds since the Unix epoch, UTC */
  readonly tsRecv: number;
  /** exact decimal */
  readonly price: Decimal;
  /** exact decimal, base-asset units */
  readonly size: Decimal;
  /** side of the aggressor (taker) */
  readonly side: AggressorSide;
  /** the venue's trade id, unique per instrument */
  readonly tradeId: string;
}

/** Best bid and offer. Key on md.quotes.v1: instrumentId. */
export interface Quote {
  /** VENUE:SYMBOL, e.g. BINANCE-FUT:BTCUSDT */
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly source: string;
  /** exchange time, microseconds since the Unix epoch, UTC */
  readonly tsEvent: number;
  /** receive time, microseconds since the Unix epoch, UTC */
  readonly tsRecv: number;
  readonly bidPrice: Decimal;
  readonly bidSize: Decimal;
  readonly askPrice: Decimal;
  readonly askSize: Decimal;
  /** the venue's sequence number, or for files the line number: tells apart quotes with the same times (TrueFX gives milliseconds only) */
  readonly sequence: null | number;
}

export interface PriceLevel {
  readonly price: Decimal;
  readonly size: Decimal;
}

/** An order book snapshot, best level first on each side. Key on md.book.v1: instrumentId. */
export interface BookSnapshot {
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly source: string;
  readonly tsEvent: number;
  readonly tsRecv: number;
  /** highest price first */
  readonly bids: readonly PriceLevel[];
  /** lowest price first */
  readonly asks: readonly PriceLevel[];
  /** identifies the snapshot among those of the same instrument and times: the venue's update id, or the file line / connector sequence of its raw record */
  readonly sequence: null | number;
}

/** An event-time OHLCV bar over [tsStart, tsEnd): its bucket by the instrument's calendar (epoch-aligned, or for intervals of an hour and more aligned to the trading session). A later revision of the same (instrumentId, interval, tsStart) replaces earlier ones. Key on md.bars.v1: instrumentId. */
export interface Bar {
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly source: string;
  /** 1s, 1m, 5m, ... */
  readonly interval: string;
  /** bar open time (inclusive) */
  readonly tsStart: number;
  /** exchange time of the last trade in the bar */
  readonly tsEvent: number;
  /** receive time of the last trade in the bar */
  readonly tsRecv: number;
  readonly open: Decimal;
  readonly high: Decimal;
  readonly low: Decimal;
  readonly close: Decimal;
  /** sum of trade sizes */
  readonly volume: Decimal;
  /** sum(price x size) / volume, rounded half-even to the scale */
  readonly vwap: Decimal;
  readonly tradeCount: number;
  /** 0 for the first emission, +1 for each late-data revision */
  readonly revision: number;
  /** true once the watermark passed tsEnd + allowed lateness */
  readonly final: boolean;
  /** bar close time (exclusive); 0 in bars written before it existed, whose end is tsStart + interval */
  readonly tsEnd: number;
}

/** One named analytic value of an instrument at an event time, computed from a quote, a book snapshot or a bar. Key on md.features.v1: instrumentId. */
export interface Feature {
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly source: string;
  /** exchange time of the input it was computed from */
  readonly tsEvent: number;
  /** receive time of that input */
  readonly tsRecv: number;
  /** what it was computed from: quote, book, or a bar interval (1s, 1m, ...) */
  readonly basis: string;
  /** spread, mid, microprice, imbalance_l1, imbalance_depth5, ... */
  readonly name: string;
  /** the value as float64 (ratios and indicators are float64) */
  readonly value: number;
  /** price-like features (spread, mid, microprice) as exact decimals, rounded half-even to 12 places where a division needs it */
  readonly exact: null | Decimal;
  /** the event it was computed from, among those of the same instrument and times: a quote's or book's sequence, a trade's id; null for bar features (one per bar) */
  readonly eventId: null | string;
}

/** A data-quality finding on a valid record or on a stream. Key on md.quality.v1: instrumentId. */
export interface QualityEvent {
  /** VENUE:SYMBOL */
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  /** the feed that delivered the record */
  readonly source: string;
  /** exchange time of the record (of the heartbeat for stream findings) */
  readonly tsEvent: number;
  /** receive time of the record */
  readonly tsRecv: number;
  /** NON_POSITIVE, DUPLICATE_TRADE, OUT_OF_ORDER, PRICE_OUTLIER, CROSSED_QUOTE, LOCKED_QUOTE, SEQUENCE_GAP, STALE_FEED, FEED_RESUMED, FAILOVER, FAILBACK (normalize); LATE_TRADE (aggregate) */
  readonly rule: string;
  /** true: the record was withheld from the canonical topics (it reaches no bar or analytic); false: reported only */
  readonly flagged: boolean;
  /** trade, quote, book or heartbeat */
  readonly kind: string;
  /** the stage that found it */
  readonly stage: string;
  /** what was found, for people */
  readonly detail: string;
  /** where the record came from: the raw record's origin (file:line, feed and sequence) or topic[partition]@offset */
  readonly origin: string;
  /** the canonical record as JSON, decimals as strings (null for stream findings) */
  readonly record: null | string;
}

/** A source's liveness signal for one instrument, as normalize passed it on. Key on md.heartbeats.v1: instrumentId. It lets aggregate close a quiet instrument's bars: once aggregate has seen `trades` trades of the instrument, no trade with tsEvent before `tsEvent` minus the out-of-order tolerance can still come from normalize. */
export interface Heartbeat {
  /** VENUE:SYMBOL */
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  /** the feed that sent it */
  readonly source: string;
  /** the source's exchange-time clock: it has delivered the instrument's events up to here */
  readonly tsEvent: number;
  /** receive time */
  readonly tsRecv: number;
  /** trades of this instrument normalize had put on md.trades.v1 before this heartbeat */
  readonly trades: number;
}

export type SignalSide = 'BUY' | 'SELL';

/** A candidate trading signal from a strategy, before validation. Key on strategy.candidates.v1: instrumentId. */
export interface Candidate {
  /** <strategy>:<instrumentId>:<interval>:<barStart>; the same bar and strategy always give the same id */
  readonly id: string;
  /** registered strategy name, e.g. ema-cross-rsi */
  readonly strategy: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  /** the feed the bar's trades came from */
  readonly source: string;
  /** interval of the bar it was computed on */
  readonly interval: string;
  readonly side: SignalSide;
  /** in [0, 1] */
  readonly confidence: number;
  /** why, for people, with the values that decided it */
  readonly reason: string;
  /** the bar's close, exact */
  readonly price: Decimal;
  /** start of the bar it used */
  readonly barStart: number;
  /** revision of the bar it used (score acts on final bars) */
  readonly barRevision: number;
  /** when the signal is known: the bar's end */
  readonly tsEvent: number;
  /** receive time of the bar's last trade */
  readonly tsRecv: number;
  /** the feature values it used, by feature name (as in md.features.v1) */
  readonly features: Readonly<Record<string, number>>;
}

export type SignalStatus = 'ACCEPTED' | 'REJECTED';

/** A validated candidate: ACCEPTED ones on signals.v1 (what risk consumes), REJECTED ones on signals.rejected.v1 with the reason. Key: instrumentId. */
export interface Signal {
  /** <strategy>:<instrumentId>:<interval>:<barStart>; the same bar and strategy always give the same id */
  readonly id: string;
  /** registered strategy name, e.g. ema-cross-rsi */
  readonly strategy: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  /** the feed the bar's trades came from */
  readonly source: string;
  /** interval of the bar it was computed on */
  readonly interval: string;
  readonly side: SignalSide;
  /** in [0, 1] */
  readonly confidence: number;
  /** why, for people, with the values that decided it */
  readonly reason: string;
  /** the bar's close, exact */
  readonly price: Decimal;
  /** start of the bar it used */
  readonly barStart: number;
  /** revision of the bar it used (score acts on final bars) */
  readonly barRevision: number;
  /** when the signal is known: the bar's end */
  readonly tsEvent: number;
  /** receive time of the bar's last trade */
  readonly tsRecv: number;
  /** the feature values it used, by feature name (as in md.features.v1) */
  readonly features: Readonly<Record<string, number>>;
  readonly status: SignalStatus;
  /** STALE, LOW_CONFIDENCE, OUTSIDE_SESSION or DUPLICATE when rejected */
  readonly rejectCode: null | string;
  /** the rejection with its numbers, for people */
  readonly rejectDetail: null | string;
  /** validate's clock when it decided */
  readonly tsValidated: number;
}

/** The log return of an instrument's close from one final bar to the next, for cross-instrument analytics. Key on md.returns.v1: the interval (all instruments of an interval meet in one partition). */
export interface BarReturn {
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly source: string;
  readonly interval: string;
  /** start of the bar whose close ends the return */
  readonly tsStart: number;
  readonly tsRecv: number;
  /** ln(close / previous close); float64, an analytic */
  readonly logReturn: number;
  readonly close: Decimal;
}

/** A vendor record as received, before normalization. Key on md.raw.<source>.v1: the vendor's instrument (exchange:symbol). */
export interface RawRecord {
  /** feed name, e.g. tardis-file */
  readonly source: string;
  /** vendor format; selects the parser in normalize, e.g. tardis-trades */
  readonly format: string;
  /** receive time, microseconds since the Unix epoch, UTC (recorded receive time on replay) */
  readonly tsRecv: number;
  /** where it came from, e.g. file name and line */
  readonly origin: string;
  /** position in its origin (line number, vendor sequence); stable across replays */
  readonly sequence: number;
  /** the vendor record, verbatim */
  readonly payload: string;
}

/** A record a stage could not process, with its original bytes and origin. Key on <topic>.dlq: the original key. */
export interface DeadLetter {
  /** the stage or sink that rejected it */
  readonly stage: string;
  /** typed code, e.g. DECODE_ERROR, PARSE_ERROR */
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  /** Kafka offset as a decimal string (int64) */
  readonly sourceOffset: string;
  readonly originalKey: null | Buffer;
  readonly originalValue: null | Buffer;
  readonly originalHeaders: Readonly<Record<string, string>>;
  /** when the stage rejected it (processing time), microseconds UTC */
  readonly tsFailed: number;
}

/** Cumulative traded volume of an instrument after one trade; one record per input trade. Key on md.volume.v1: instrumentId. */
export interface RunningVolume {
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly source: string;
  /** exchange time of the trade */
  readonly tsEvent: number;
  /** receive time of the trade */
  readonly tsRecv: number;
  /** the trade this record follows */
  readonly tradeId: string;
  /** trades seen for the instrument so far, this one included */
  readonly tradeCount: number;
  /** sum of sizes so far, this trade included */
  readonly volume: Decimal;
  readonly lastPrice: Decimal;
}

/** A state-store value on a compacted changelog topic <stage>.<store>.changelog; the key is the store key, a null value deletes it. */
export interface StateEntry {
  /** the value as JSON (money as decimal strings) */
  readonly json: string;
}

export type OrderAction = 'NEW' | 'CANCEL' | 'REPLACE';

export type OrderSide = 'BUY' | 'SELL';

export type OrderType = 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LIMIT' | 'TRAILING_STOP' | 'BRACKET' | 'OCO' | 'TWAP' | 'VWAP' | 'ICEBERG';

export type TimeInForce = 'DAY' | 'GTC' | 'IOC' | 'FOK';

/** What risk asks execution to do: a new order, a cancel or a replace. Key on orders.requests.v1: instrumentId (execution is keyed by instrument). */
export interface OrderRequest {
  /** unique per request; the same decision always gives the same id (replays and retries dedupe on it) */
  readonly requestId: string;
  readonly action: OrderAction;
  /** the client order id: new for NEW, the target for CANCEL and REPLACE */
  readonly orderId: string;
  readonly account: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** total quantity (for REPLACE: the new total) */
  readonly quantity: Decimal;
  /** LIMIT, STOP_LIMIT, the entry of a BRACKET (null: market entry), the take-profit leg of OCO, ICEBERG, optional cap of TWAP/VWAP */
  readonly limitPrice: null | Decimal;
  /** STOP, STOP_LIMIT, the stop leg of OCO */
  readonly stopPrice: null | Decimal;
  /** TRAILING_STOP: distance from the best price reached, in price units */
  readonly trailingOffset: null | Decimal;
  /** BRACKET: the take-profit limit */
  readonly takeProfitPrice: null | Decimal;
  /** BRACKET: the stop-loss stop */
  readonly stopLossPrice: null | Decimal;
  /** ICEBERG: the visible slice */
  readonly displayQuantity: null | Decimal;
  /** TWAP/VWAP: horizon over which the parent is worked */
  readonly durationMs: null | number;
  /** TWAP/VWAP: time between child slices */
  readonly sliceIntervalMs: null | number;
  /** VWAP: relative volume per slice (null: the execution stage's default intraday curve) */
  readonly volumeCurve: null | readonly number[];
  /** only reduce a position (REDUCING state, flatten) */
  readonly reduceOnly: boolean;
  /** the signal behind it, if any */
  readonly signalId: null | string;
  readonly strategy: null | string;
  /** why: the decision, a halt, a flatten */
  readonly reason: null | string;
  /** event time of the decision (the signal's or the command's time); the latency model starts here */
  readonly tsEvent: number;
  /** risk's clock when it decided */
  readonly tsCreated: number;
}

export type OrderEventKind = 'ACCEPTED' | 'REJECTED' | 'TRIGGERED' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REPLACED' | 'CANCEL_REJECTED' | 'REPLACE_REJECTED';

export type OrderStatus = 'ACCEPTED' | 'TRIGGERED' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';

export type Liquidity = 'MAKER' | 'TAKER';

/** One change of an order's state, from execution (or a broker adapter). Key on orders.events.v1: instrumentId; on execution.reports.v1 (back to risk): account. */
export interface OrderEvent {
  /** <orderId>:<seq> */
  readonly eventId: string;
  /** per order, from 1 */
  readonly seq: number;
  readonly orderId: string;
  /** the parent of a child order (algorithm slice, bracket or OCO leg) */
  readonly parentOrderId: null | string;
  /** the request that caused it */
  readonly requestId: null | string;
  readonly account: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly kind: OrderEventKind;
  /** the order's state after the event */
  readonly status: OrderStatus;
  readonly quantity: Decimal;
  readonly filledQuantity: Decimal;
  readonly leavesQuantity: Decimal;
  readonly avgFillPrice: null | Decimal;
  readonly limitPrice: null | Decimal;
  readonly stopPrice: null | Decimal;
  /** fills: this fill's quantity */
  readonly lastQuantity: null | Decimal;
  /** fills: this fill's price */
  readonly lastPrice: null | Decimal;
  /** fills: this fill's fee (positive: paid) */
  readonly fee: null | Decimal;
  readonly liquidity: null | Liquidity;
  readonly fillId: null | string;
  readonly reduceOnly: boolean;
  /** REJECTED and *_REJECTED: why (INVALID_TRANSITION, UNKNOWN_ORDER, FOK_UNFILLABLE, ...); CANCELED: HALT, IOC, OCO, USER, ... */
  readonly reasonCode: null | string;
  /** for people */
  readonly detail: null | string;
  readonly signalId: null | string;
  readonly strategy: null | string;
  /** venue (event) time of the change */
  readonly tsEvent: number;
  /** execution's clock */
  readonly tsProcessed: number;
}

/** An execution. Key on fills.v1: instrumentId. */
export interface Fill {
  readonly fillId: string;
  readonly orderId: string;
  readonly parentOrderId: null | string;
  readonly account: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
  readonly price: Decimal;
  /** positive: paid */
  readonly fee: Decimal;
  readonly liquidity: Liquidity;
  /** price worse than the touch it filled against, in price units (>= 0) */
  readonly slippage: Decimal;
  readonly signalId: null | string;
  readonly strategy: null | string;
  /** venue time of the fill */
  readonly tsEvent: number;
  readonly tsProcessed: number;
}

export interface RiskReason {
  /** typed reason code (pipelines/risk/README.md) */
  readonly code: string;
  /** for people, with the numbers */
  readonly detail: string;
  /** the value checked */
  readonly value: null | string;
  /** the limit it was checked against */
  readonly limit: null | string;
}

/** ACTIVE: any order; REDUCING: only orders that reduce a position; HALTED: cancels only */
export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';

/** Risk's answer to one signal for one account. Key on risk.decisions.v1: account. */
export interface RiskDecision {
  /** <signalId>|<account> */
  readonly decisionId: string;
  readonly account: string;
  readonly signalId: string;
  readonly strategy: string;
  readonly instrumentId: string;
  readonly venue: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly confidence: number;
  readonly approved: boolean;
  /** every failed rule (empty when approved) */
  readonly reasons: readonly RiskReason[];
  /** the order quantity (approved) or the sized quantity that was checked */
  readonly quantity: null | Decimal;
  /** reference price (the signal's) */
  readonly price: null | Decimal;
  readonly orderId: null | string;
  /** the account's state when deciding */
  readonly tradingState: TradingState;
  /** the signal's event time */
  readonly tsEvent: number;
  /** risk's clock */
  readonly tsDecided: number;
}

/** An account's position in one instrument after a change. Key on positions.v1: account. */
export interface Position {
  readonly account: string;
  readonly instrumentId: string;
  /** signed: long > 0, short < 0 */
  readonly quantity: Decimal;
  /** average entry price of the open quantity */
  readonly avgCost: Decimal;
  readonly realizedPnl: Decimal;
  readonly fees: Decimal;
  readonly markPrice: null | Decimal;
  readonly unrealizedPnl: Decimal;
  /** round trips opened and closed on the same trade date, this date */
  readonly dayTrades: number;
  readonly tsEvent: number;
  readonly tsProcessed: number;
}

/** An account's cash, equity and P&L after a change. Key on pnl.v1: account. */
export interface Pnl {
  readonly account: string;
  readonly cash: Decimal;
  /** cash + market value of positions */
  readonly equity: Decimal;
  readonly realizedPnl: Decimal;
  readonly unrealizedPnl: Decimal;
  readonly fees: Decimal;
  readonly dayStartEquity: Decimal;
  /** equity - dayStartEquity */
  readonly dayPnl: Decimal;
  readonly peakEquity: Decimal;
  /** peakEquity - equity */
  readonly drawdown: Decimal;
  readonly grossExposure: Decimal;
  readonly netExposure: Decimal;
  readonly tradingState: TradingState;
  /** YYYY-MM-DD */
  readonly tradeDate: string;
  readonly tsEvent: number;
  readonly tsProcessed: number;
}

/** The latest price of an instrument and its recent returns. Key on marks.v1 (compacted, a global table): instrumentId. */
export interface Mark {
  readonly instrumentId: string;
  /** mid when a fresh quote exists, else the last trade */
  readonly price: Decimal;
  readonly bid: null | Decimal;
  readonly ask: null | Decimal;
  readonly lastTrade: null | Decimal;
  readonly returnIntervalMs: number;
  /** end of the newest return bucket (aligns instruments) */
  readonly returnsEnd: number;
  /** log returns of the mark over consecutive returnIntervalMs buckets, oldest first */
  readonly returns: readonly number[];
  readonly tsEvent: number;
  readonly tsProcessed: number;
}

export type RiskAction = 'HALT' | 'RESUME';

/** An operator's halt or resume. Key on risk.commands.v1: account, or * for all accounts (sent to every partition); with instrumentId, only that instrument. */
export interface RiskCommand {
  readonly commandId: string;
  readonly action: RiskAction;
  /** null: every account */
  readonly account: null | string;
  /** only this instrument in the scope (its orders canceled, its positions flattened; new orders on it refused); null: everything */
  readonly instrumentId: null | string;
  /** HALT: also close every position */
  readonly flatten: boolean;
  readonly reason: string;
  /** who: user@host */
  readonly actor: string;
  readonly tsIssued: number;
}

export type AuditKind = 'DECISION' | 'ORDER_EVENT' | 'FILL' | 'HALT' | 'RESUME' | 'BREAKER_TRIPPED' | 'BREAKER_RESET';

/** One line of the append-only audit trail. Key on audit.v1: account. */
export interface AuditEvent {
  /** unique; the same event always gives the same id */
  readonly auditId: string;
  readonly account: string;
  readonly kind: AuditKind;
  /** the decision, order event, fill or command id */
  readonly refId: string;
  /** risk, execution, or the operator */
  readonly actor: string;
  readonly instrumentId: null | string;
  readonly summary: string;
  readonly tsEvent: number;
  readonly tsRecorded: number;
}

/** A setting of a running stage or sink changed by an operator (`tickflow config set`). Key on ops.config.v1 (compacted: the latest per key is in force): STAGE.SETTING. */
export interface ConfigChange {
  readonly changeId: string;
  /** the stage or sink (pipelines/registry.ts) */
  readonly stage: string;
  /** a setting of its config schema */
  readonly setting: string;
  /** the new value as text, as --set takes it; null: back to the default */
  readonly value: null | string;
  /** the value in force before (the config topic's, else the default) */
  readonly previous: null | string;
  /** who: user@host, or console:<who> */
  readonly actor: string;
  readonly reason: string;
  /** when it was published (microseconds UTC) */
  readonly tsChanged: number;
}
