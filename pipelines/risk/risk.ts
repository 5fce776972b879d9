import { Decimal, MAX_DECIMAL_TEXT_LENGTH } from '../../schemas/decimal';
import type {
  AuditEvent,
  AuditKind,
  Mark,
  OrderEvent,
  OrderRequest,
  OrderType,
  Pnl,
  Position,
  RiskCommand,
  RiskDecision,
  Signal,
  TimeInForce,
  TradingState,
} from '../../schemas/types.generated';
import { calendarOf } from '../../connectors/reference/instruments';
import { CALENDARS, isOpen } from '../../connectors/reference/calendars';
import type {
  FailedRecord,
  GlobalView,
  InputRecord,
  KeyValueStore,
  OutputRecord,
  Stage,
  StageContext,
  StageResult,
} from '../runtime/stage';
import type { ReturnSeries } from './analytics';
import type { PortfolioState } from './portfolio';
import type { Valuation } from './portfolio';
import { applyFill, dayTradesWithin, markDay, newPortfolio, notePeak, valuation } from './portfolio';
import type { AccountSettings, RiskRules, RiskStageConfig } from './risk-config';
import { loadRiskConfig } from './risk-config';
import { evaluateOrder, isReducing, sizeOrder } from './rules';

/**
 * risk: pre-trade risk per account (README.md). Inputs, all keyed by account: risk.signals.v1
 * (accepted signals), execution.reports.v1 (order events: fills and order states),
 * risk.commands.v1 (HALT / RESUME; key `*`: every account of the partition). Per signal one
 * RiskDecision (`<signalId>|<account>`) with every failed rule, and when approved an OrderRequest;
 * per fill a Position and a Pnl; a Pnl after each decision; an AuditEvent for every decision, halt,
 * resume and breaker change. State (store `accounts`, changelogged): per account its portfolio,
 * open orders, breaker, operator state, rate windows and the event ids seen; under `*control` the
 * partition-wide operator state. Rules use event time; the clock only stamps tsDecided/tsProcessed.
 */
export const SIGNALS_INPUT = 'risk.signals.v1';
export const REPORTS_INPUT = 'execution.reports.v1';
export const COMMANDS_INPUT = 'risk.commands.v1';
export const DECISIONS_OUTPUT = 'risk.decisions.v1';
export const ORDERS_OUTPUT = 'orders.requests.v1';
export const POSITIONS_OUTPUT = 'positions.v1';
export const PNL_OUTPUT = 'pnl.v1';
export const AUDIT_OUTPUT = 'audit.v1';
export const MARKS_GLOBAL = 'marks.v1';
export const STORE = 'accounts';
/** The store key of the partition-wide operator state. */
export const CONTROL_KEY = '*control';

/** Event ids (reports) and signal ids remembered per account for dedupe. */
const SEEN_LIMIT = 5000;
/** Operator command ids remembered per scope (account, or the partition control) for dedupe. */
const SEEN_COMMANDS_LIMIT = 1000;
/**
 * Most event times kept per rate window: the rules only need to know whether the count exceeds the
 * limit, so the newest `min(limit, RATE_WINDOW_CAP) + 1` entries answer every check.
 */
const RATE_WINDOW_CAP = 10_000;
const SECOND_MICROS = 1_000_000;
const OUTPUT_SCALE = 12;

export interface OpenOrder {
  instrumentId: string;
  side: 'BUY' | 'SELL';
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: string;
  leaves: string;
  reduceOnly: boolean;
  /**
   * A cancel was sent and not answered yet: no second one is sent (its answer would only be a
   * CANCEL_REJECTED, and how many were sent would depend on how fast execution answers). A
   * CANCEL_REJECTED clears it.
   */
  cancelRequested?: boolean;
}

export interface Breaker {
  rule: 'DAILY_LOSS' | 'MAX_DRAWDOWN';
  state: 'REDUCING' | 'HALTED';
  detail: string;
  tsEvent: number;
}

export interface OperatorState {
  state: TradingState;
  commandId: string;
  reason: string;
  actor: string;
  tsEvent: number;
}

export interface AccountState {
  kind: 'account';
  account: string;
  portfolio: PortfolioState;
  openOrders: Record<string, OpenOrder>;
  seenEvents: string[];
  seenSignals: string[];
  /** operator commands applied to this account (dedupe of a replayed HALT / RESUME); absent in older state */
  seenCommands?: string[];
  /** event times of the NEW requests / CANCEL and REPLACE requests of the last second */
  submits: number[];
  modifies: number[];
  operator: OperatorState | null;
  breaker: Breaker | null;
  /** what the loss breakers measure from: the day start and the peak, reset by RESUME */
  lossBase: { tradeDate: string | null; dayStart: string; peak: string };
  /** equity of the last Pnl record sent: punctuation sends a new one when the marks move it; absent in older state */
  lastPnlEquity?: string;
  /** operators' halts of single instruments of this account; absent in older state */
  instrumentOperators?: Record<string, OperatorState>;
}

export interface ControlState {
  kind: 'control';
  operator: OperatorState;
  /** operators' halts of single instruments for every account of the partition; absent in older state */
  instruments?: Record<string, OperatorState>;
  /** partition-wide commands applied (dedupe of a replayed `*` HALT / RESUME); absent in older state */
  seenCommands?: string[];
}

type Entry = AccountState | ControlState;

const SEVERITY: Readonly<Record<TradingState, number>> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };
const ZERO = new Decimal(0);

/** A Decimal from a decoded decimal (Decimal) or its text; undefined when it is neither. */
function toDecimal(v: unknown): Decimal | undefined {
  if (v instanceof Decimal) return v;
  if (typeof v === 'string' && v.trim() !== '' && v.length <= MAX_DECIMAL_TEXT_LENGTH) {
    try {
      const d = new Decimal(v);
      return d.isFinite() ? d : undefined;
    } catch {
      return undefined;
    }
  }
  if (typeof v === 'object' && v !== null && typeof (v as { toFixed?: unknown }).toFixed === 'function') {
    return toDecimal((v as { toFixed(): string }).toFixed());
  }
  return undefined;
}

const out12 = (d: Decimal): Decimal => d.toDecimalPlaces(OUTPUT_SCALE, Decimal.ROUND_HALF_EVEN);

function tradeDateOf(settings: AccountSettings, tsMicros: number): string {
  const day = (CALENDARS[settings.calendar] ?? CALENDARS['24x7']).tradingDayOf(tsMicros);
  return day ?? new Date(Math.floor(tsMicros / 1000)).toISOString().slice(0, 10);
}

function venueSymbol(instrumentId: string): { venue: string; symbol: string } {
  const i = instrumentId.indexOf(':');
  return i < 0
    ? { venue: '', symbol: instrumentId }
    : { venue: instrumentId.slice(0, i), symbol: instrumentId.slice(i + 1) };
}

function remember(list: string[], id: string): void {
  list.push(id);
  if (list.length > SEEN_LIMIT) list.splice(0, list.length - SEEN_LIMIT);
}

function prune(times: number[], ts: number): void {
  let i = 0;
  while (i < times.length && times[i] <= ts - SECOND_MICROS) i++;
  if (i > 0) times.splice(0, i);
}

/** Records an event time in a rate window, keeping at most `min(limit, RATE_WINDOW_CAP) + 1` entries. */
function noteRate(times: number[], ts: number, limit: number | null): void {
  times.push(ts);
  const cap = Math.min(limit ?? RATE_WINDOW_CAP, RATE_WINDOW_CAP) + 1;
  if (times.length > cap) times.splice(0, times.length - cap);
}

/**
 * Ids that name a property of every plain object (`constructor`, `__proto__`, `toString`, ...) cannot
 * key the JSON records of the state (`positions[id]`, `openOrders[id]` would read the prototype).
 */
function unsafeKey(id: string): boolean {
  return id in Object.prototype;
}

function newAccount(account: string, settings: AccountSettings): AccountState {
  const cash = settings.startingCash.toFixed();
  return {
    kind: 'account',
    account,
    portfolio: newPortfolio(settings.startingCash),
    openOrders: {},
    seenEvents: [],
    seenSignals: [],
    seenCommands: [],
    submits: [],
    modifies: [],
    operator: null,
    breaker: null,
    lossBase: { tradeDate: null, dayStart: cash, peak: cash },
  };
}

/** The stage from its settings: reads and validates the risk config file once. */
export function riskStage(config: RiskStageConfig): Stage {
  return createRiskStage(loadRiskConfig(config));
}

/** The stage from validated risk rules (tests build them with parseRiskConfig). */
export function createRiskStage(rules: RiskRules): Stage {
  return {
    name: 'risk',
    inputs: [SIGNALS_INPUT, REPORTS_INPUT, COMMANDS_INPUT],
    outputs: [DECISIONS_OUTPUT, ORDERS_OUTPUT, POSITIONS_OUTPUT, PNL_OUTPUT, AUDIT_OUTPUT],
    stores: [STORE],
    globals: [MARKS_GLOBAL],
    process(batch: readonly InputRecord[], ctx: StageContext): StageResult {
      return new Batch(rules, ctx).run(batch);
    },
    // Between inputs, marks still move: every second each account is revalued at the latest marks, so
    // a loss breaker trips (and cancels the account's orders) when the market moves against it with
    // no signal or fill arriving, and the equity curve on pnl.v1 follows the market.
    punctuate: {
      intervalMs: PUNCTUATION_MS,
      due: (ctx) => new Batch(rules, ctx).revaluationDue(),
      run: (ctx) => new Batch(rules, ctx).revalueAll().out,
    },
  };
}

export const PUNCTUATION_MS = 1000;

/** One batch: loads the entries it touches, writes them back at the end. */
class Batch {
  private readonly store: KeyValueStore<Entry>;
  private readonly marks: GlobalView<Mark>;
  private readonly touched = new Map<string, Entry>();
  private readonly out: OutputRecord[] = [];
  private readonly failed: FailedRecord[] = [];
  private readonly now: number;

  constructor(
    private readonly rules: RiskRules,
    ctx: StageContext,
  ) {
    this.store = ctx.store<Entry>(STORE);
    this.marks = ctx.global<Mark>(MARKS_GLOBAL);
    this.now = ctx.clock.nowMicros();
  }

  run(batch: readonly InputRecord[]): StageResult {
    for (const record of batch) {
      const problem =
        record.topic === SIGNALS_INPUT
          ? this.onSignal(record)
          : record.topic === REPORTS_INPUT
            ? this.onReport(record)
            : record.topic === COMMANDS_INPUT
              ? this.onCommand(record)
              : `risk does not consume ${record.topic}`;
      if (problem) this.failed.push({ input: record, code: 'INVALID_VALUE', message: problem });
    }
    for (const [key, entry] of this.touched) this.store.put(key, entry);
    return { out: this.out, failed: this.failed };
  }

  /**
   * Whether an account's valuation at the latest marks differs from the equity it last reported, or
   * would trip a loss breaker. Reads only.
   */
  revaluationDue(): boolean {
    return this.accountKeys().some((key) => this.revaluation(key) !== undefined);
  }

  /** Revalues every account that is due: a breaker check and a Pnl at the marks' time. */
  revalueAll(): StageResult {
    for (const key of this.accountKeys()) {
      const ts = this.revaluation(key);
      const loaded = ts === undefined ? undefined : this.account(key);
      if (ts === undefined || !loaded) continue;
      const v = this.revalue(loaded.st, loaded.settings, ts);
      this.checkBreakers(loaded.st, loaded.settings, v.equity, ts);
      this.pnl(loaded.st, ts, v);
    }
    for (const [key, entry] of this.touched) this.store.put(key, entry);
    return { out: this.out, failed: this.failed };
  }

  /** The event time to revalue `key` at (the newest mark of its positions), or undefined when not due. */
  private revaluation(key: string): number | undefined {
    const st = this.entry(key);
    const settings = this.rules.account(key);
    if (st?.kind !== 'account' || !settings) return undefined;
    let ts: number | undefined;
    for (const [instrumentId, position] of Object.entries(st.portfolio.positions)) {
      const mark = this.mark(instrumentId);
      if (mark && !new Decimal(position.qty).isZero()) ts = Math.max(ts ?? 0, mark.tsEvent);
    }
    if (ts === undefined) return undefined;
    const equity = valuation(st.portfolio, this.markPrice).equity;
    if (st.lastPnlEquity !== equity.toFixed()) return ts;
    if (st.breaker) return undefined;
    const { dayLoss, drawdown } = this.losses(st, equity);
    const breached =
      (settings.maxDailyLoss !== null && dayLoss.gt(settings.maxDailyLoss)) ||
      (settings.maxDrawdown !== null && drawdown.gt(settings.maxDrawdown));
    return breached ? ts : undefined;
  }

  // ---- state access ----

  private entry(key: string): Entry | undefined {
    return this.touched.get(key) ?? this.store.get(key);
  }

  private control(): ControlState | undefined {
    const c = this.entry(CONTROL_KEY);
    return c?.kind === 'control' ? c : undefined;
  }

  /**
   * The partition's control entry to change: a copy of every part of the current one (the partition
   * halt, the instrument halts, the commands seen), or a new one with `operator` when there is none.
   */
  private controlCopy(operator: OperatorState): ControlState {
    const current = this.control();
    return {
      kind: 'control',
      operator: current?.operator ?? operator,
      ...(current?.instruments ? { instruments: { ...current.instruments } } : {}),
      seenCommands: [...(current?.seenCommands ?? [])],
    };
  }

  /** The account's state, created on first sight; undefined for an unknown account of a strict config. */
  private account(account: string): { st: AccountState; settings: AccountSettings } | undefined {
    const settings = this.rules.account(account);
    if (!settings) return undefined;
    const existing = this.entry(account);
    const st = existing?.kind === 'account' ? existing : newAccount(account, settings);
    this.touched.set(account, st);
    return { st, settings };
  }

  private accountKeys(): string[] {
    const keys = new Set<string>();
    for (const [key] of this.store.entries()) if (!key.startsWith('*')) keys.add(key);
    for (const key of this.touched.keys()) if (!key.startsWith('*')) keys.add(key);
    return [...keys].sort();
  }

  private mark(instrumentId: string): Mark | undefined {
    return this.marks.get(instrumentId);
  }

  private markPrice = (instrumentId: string): Decimal | undefined => {
    const m = this.mark(instrumentId);
    const p = m ? toDecimal(m.price) : undefined;
    return p && p.gt(0) ? p : undefined;
  };

  private returnsOf = (instrumentId: string): ReturnSeries | undefined => {
    const m = this.mark(instrumentId);
    if (!m || !Array.isArray(m.returns)) return undefined;
    return { returns: m.returns, end: m.returnsEnd, intervalMs: m.returnIntervalMs };
  };

  /** The account's effective state: the worst of its operator state, the partition's, and its breaker. */
  /** The operator's halt of one instrument in force for the account (its own, or the partition's). */
  private instrumentHalt(st: AccountState, instrumentId: string): OperatorState | undefined {
    const own = st.instrumentOperators?.[instrumentId];
    const partition = this.control()?.instruments?.[instrumentId];
    if (!own) return partition;
    if (!partition) return own;
    return SEVERITY[partition.state] > SEVERITY[own.state] ? partition : own;
  }

  private effectiveState(st: AccountState): { state: TradingState; cause: string } {
    let state: TradingState = 'ACTIVE';
    let cause = 'active';
    const consider = (s: TradingState, why: string): void => {
      if (SEVERITY[s] > SEVERITY[state]) {
        state = s;
        cause = why;
      }
    };
    const control = this.control();
    if (control)
      consider(control.operator.state, `partition halt ${control.operator.commandId}: ${control.operator.reason}`);
    if (st.operator) consider(st.operator.state, `operator ${st.operator.commandId}: ${st.operator.reason}`);
    if (st.breaker) consider(st.breaker.state, `breaker ${st.breaker.rule}: ${st.breaker.detail}`);
    return { state, cause };
  }

  // ---- outputs ----

  private audit(
    account: string,
    kind: AuditKind,
    refId: string,
    actor: string,
    summary: string,
    tsEvent: number,
    instrumentId: string | null = null,
    /** tells apart lines of one command on several partitions (a `*` command is on each) */
    partition?: number,
  ): void {
    const event: AuditEvent = {
      auditId: `${kind}|${refId}|${account}${partition === undefined ? '' : `|p${partition}`}`,
      account,
      kind,
      refId,
      actor,
      instrumentId,
      summary,
      tsEvent,
      tsRecorded: this.now,
    };
    this.out.push({ topic: AUDIT_OUTPUT, key: account, value: event });
  }

  private request(
    fields: Partial<OrderRequest> &
      Pick<
        OrderRequest,
        | 'requestId'
        | 'action'
        | 'orderId'
        | 'account'
        | 'instrumentId'
        | 'side'
        | 'type'
        | 'timeInForce'
        | 'quantity'
        | 'tsEvent'
      >,
  ): void {
    const { venue, symbol } = venueSymbol(fields.instrumentId);
    const request: OrderRequest = {
      venue,
      symbol,
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
      signalId: null,
      strategy: null,
      reason: null,
      tsCreated: this.now,
      ...fields,
    };
    this.out.push({ topic: ORDERS_OUTPUT, key: request.instrumentId, value: request });
  }

  /** Cancels the account's open orders that `which` selects (all by default), each a CANCEL request. */
  private cancelOpen(
    st: AccountState,
    cause: string,
    reason: string,
    tsEvent: number,
    which: (o: OpenOrder) => boolean = () => true,
  ): number {
    let n = 0;
    for (const orderId of Object.keys(st.openOrders).sort()) {
      const o = st.openOrders[orderId];
      if (o.cancelRequested || !which(o)) continue;
      o.cancelRequested = true;
      this.request({
        requestId: `${orderId}|CANCEL|${cause}`,
        action: 'CANCEL',
        orderId,
        account: st.account,
        instrumentId: o.instrumentId,
        side: o.side,
        type: o.type,
        timeInForce: o.timeInForce,
        quantity: new Decimal(o.quantity),
        reduceOnly: o.reduceOnly,
        reason,
        tsEvent,
      });
      noteRate(st.modifies, tsEvent, this.rules.account(st.account)?.maxModifiesPerSecond ?? null);
      n++;
    }
    return n;
  }

  /** Reduce-only market orders closing every position (after a halt's cancels). */
  private flatten(st: AccountState, commandId: string, tsEvent: number, only: string | null = null): number {
    let n = 0;
    for (const [instrumentId, b] of Object.entries(st.portfolio.positions).sort(([x], [y]) => (x < y ? -1 : 1))) {
      const qty = new Decimal(b.qty);
      if (qty.isZero() || (only !== null && instrumentId !== only)) continue;
      const orderId = `flatten|${commandId}|${st.account}|${instrumentId}`;
      const side = qty.isNeg() ? 'BUY' : 'SELL';
      this.request({
        requestId: `${orderId}|NEW`,
        action: 'NEW',
        orderId,
        account: st.account,
        instrumentId,
        side,
        type: 'MARKET',
        timeInForce: 'DAY',
        quantity: qty.abs(),
        reduceOnly: true,
        reason: 'FLATTEN',
        tsEvent,
      });
      st.openOrders[orderId] = {
        instrumentId,
        side,
        type: 'MARKET',
        timeInForce: 'DAY',
        quantity: qty.abs().toFixed(),
        leaves: qty.abs().toFixed(),
        reduceOnly: true,
      };
      noteRate(st.submits, tsEvent, this.rules.account(st.account)?.maxSubmitsPerSecond ?? null);
      n++;
    }
    return n;
  }

  /** A Pnl record of the account; `v`: its valuation when the caller has it (cash and positions unchanged since). */
  private pnl(st: AccountState, tsEvent: number, v: Valuation = valuation(st.portfolio, this.markPrice)): void {
    const p = st.portfolio;
    const dayStart = new Decimal(p.dayStartEquity);
    const peak = Decimal.max(new Decimal(p.peakEquity), v.equity);
    const value: Pnl = {
      account: st.account,
      cash: out12(new Decimal(p.cash)),
      equity: out12(v.equity),
      realizedPnl: out12(new Decimal(p.realized)),
      unrealizedPnl: out12(v.unrealized),
      fees: out12(new Decimal(p.fees)),
      dayStartEquity: out12(dayStart),
      dayPnl: out12(v.equity.sub(dayStart)),
      peakEquity: out12(peak),
      drawdown: out12(peak.sub(v.equity)),
      grossExposure: out12(v.gross),
      netExposure: out12(v.net),
      tradingState: this.effectiveState(st).state,
      tradeDate: p.tradeDate ?? '',
      tsEvent,
      tsProcessed: this.now,
    };
    this.out.push({ topic: PNL_OUTPUT, key: st.account, value });
    st.lastPnlEquity = v.equity.toFixed();
  }

  private position(st: AccountState, instrumentId: string, tsEvent: number): void {
    const b = st.portfolio.positions[instrumentId];
    const qty = new Decimal(b.qty);
    const cost = new Decimal(b.cost);
    const mark = this.markPrice(instrumentId);
    const price = mark ?? new Decimal(b.lastPrice);
    const value: Position = {
      account: st.account,
      instrumentId,
      quantity: out12(qty),
      avgCost: qty.isZero() ? ZERO : out12(cost.div(qty)),
      realizedPnl: out12(new Decimal(b.realized)),
      fees: out12(new Decimal(b.fees)),
      markPrice: mark ? out12(mark) : null,
      unrealizedPnl: out12(qty.mul(price).sub(cost)),
      dayTrades: b.dayTrades.filter((d) => d === st.portfolio.tradeDate).length,
      tsEvent,
      tsProcessed: this.now,
    };
    this.out.push({ topic: POSITIONS_OUTPUT, key: st.account, value });
  }

  // ---- valuation, day roll and breakers ----

  /** Values the account at `tsEvent`, rolls its trade date, raises its peaks; returns the equity. */
  private revalue(st: AccountState, settings: AccountSettings, tsEvent: number): Valuation {
    const v = valuation(st.portfolio, this.markPrice);
    markDay(st.portfolio, tradeDateOf(settings, tsEvent), v.equity);
    this.noteLossBase(st, v.equity);
    return v;
  }

  private noteLossBase(st: AccountState, equity: Decimal): void {
    const p = st.portfolio;
    if (st.lossBase.tradeDate !== p.tradeDate) {
      st.lossBase.tradeDate = p.tradeDate;
      st.lossBase.dayStart = p.dayStartEquity;
    }
    if (equity.gt(new Decimal(st.lossBase.peak))) st.lossBase.peak = equity.toFixed();
  }

  private losses(st: AccountState, equity: Decimal): { dayLoss: Decimal; drawdown: Decimal } {
    return {
      dayLoss: new Decimal(st.lossBase.dayStart).sub(equity),
      drawdown: new Decimal(st.lossBase.peak).sub(equity),
    };
  }

  /** Trips the breaker when a loss limit is breached (once: it stays until RESUME). */
  private checkBreakers(st: AccountState, settings: AccountSettings, equity: Decimal, tsEvent: number): void {
    if (st.breaker) return;
    const { dayLoss, drawdown } = this.losses(st, equity);
    let trip: { rule: Breaker['rule']; detail: string } | undefined;
    if (settings.maxDailyLoss && dayLoss.gt(settings.maxDailyLoss))
      trip = { rule: 'DAILY_LOSS', detail: `day loss ${dayLoss.toFixed(2)} over ${settings.maxDailyLoss.toFixed()}` };
    else if (settings.maxDrawdown && drawdown.gt(settings.maxDrawdown))
      trip = { rule: 'MAX_DRAWDOWN', detail: `drawdown ${drawdown.toFixed(2)} over ${settings.maxDrawdown.toFixed()}` };
    if (!trip) return;
    st.breaker = { ...trip, state: settings.breakerAction, tsEvent };
    const refId = `${st.account}|${trip.rule}|${tsEvent}`;
    this.audit(
      st.account,
      'BREAKER_TRIPPED',
      refId,
      'risk',
      `${trip.rule} breaker: ${trip.detail}; account ${settings.breakerAction}`,
      tsEvent,
    );
    // Orders that add risk go: all of them when halted, the non-reduce-only ones when reducing.
    this.cancelOpen(
      st,
      `breaker|${trip.rule}|${tsEvent}`,
      'BREAKER',
      tsEvent,
      (o) => settings.breakerAction === 'HALTED' || !o.reduceOnly,
    );
  }

  // ---- signals ----

  private onSignal(record: InputRecord): string | undefined {
    const s = record.value as Signal;
    if (typeof s !== 'object' || s === null) return 'a signal record holds no value';
    const accountId = record.key;
    if (!accountId) return 'a risk.signals.v1 record needs the account as its key';
    if (typeof s.id !== 'string' || typeof s.instrumentId !== 'string' || !s.instrumentId)
      return 'a signal needs an id and an instrumentId';
    if (unsafeKey(s.instrumentId)) return `signal ${s.id}: ${s.instrumentId} is not an instrument id`;
    if (s.side !== 'BUY' && s.side !== 'SELL') return `signal ${s.id}: side ${String(s.side)} is not BUY or SELL`;
    if (s.status !== undefined && s.status !== 'ACCEPTED') return `signal ${s.id} is ${String(s.status)}, not ACCEPTED`;
    const price = toDecimal(s.price);
    if (!price || !price.gt(0)) return `signal ${s.id}: price ${String(s.price)} is not a positive decimal`;
    if (!Number.isFinite(s.tsEvent)) return `signal ${s.id}: tsEvent is not a number`;
    if (!(s.confidence >= 0 && s.confidence <= 1)) return `signal ${s.id}: confidence ${s.confidence} is not in [0, 1]`;
    const loaded = this.account(accountId);
    if (!loaded) return `account ${accountId} is not in the risk config (strictAccounts)`;
    const { st, settings } = loaded;
    if (st.seenSignals.includes(s.id)) return undefined; // a replayed signal: decided already
    remember(st.seenSignals, s.id);
    this.decide(st, settings, s, price);
    return undefined;
  }

  private decide(st: AccountState, settings: AccountSettings, s: Signal, price: Decimal): void {
    const ts = s.tsEvent;
    // Deciding changes no cash and no position: one valuation serves the checks and the Pnl.
    const v = this.revalue(st, settings, ts);
    const equity = v.equity;
    this.checkBreakers(st, settings, equity, ts);
    const p = st.portfolio;
    const configured = this.rules.instrument(st.account, s.instrumentId);
    const halt = this.instrumentHalt(st, s.instrumentId);
    const ins =
      halt && SEVERITY[halt.state] > SEVERITY[configured.tradingState]
        ? { ...configured, tradingState: halt.state }
        : configured;
    const instrumentCause = halt && ins !== configured ? `operator ${halt.commandId}: ${halt.reason}` : undefined;
    const position = new Decimal(p.positions[s.instrumentId]?.qty ?? '0');
    const { state, cause } = this.effectiveState(st);
    const own = this.returnsOf(s.instrumentId);
    let { quantity } = sizeOrder({
      account: settings,
      instrument: ins,
      side: s.side,
      confidence: s.confidence,
      price,
      equity,
      position,
      returns: own?.returns ?? [],
    });
    // REDUCING (account or instrument): an order against the position, at most closing what the
    // open orders of the same side (a flatten, earlier reducing orders) do not close already: the
    // venue does not enforce reduceOnly, so together they must never flip the position.
    const reducingOnly = state === 'REDUCING' || ins.tradingState === 'REDUCING';
    if (reducingOnly && isReducing(position, s.side, position.abs())) {
      let pending = ZERO;
      for (const o of Object.values(st.openOrders))
        if (o.instrumentId === s.instrumentId && o.side === s.side) pending = pending.add(new Decimal(o.leaves));
      quantity = Decimal.max(ZERO, Decimal.min(quantity, position.abs().sub(pending)));
    }
    prune(st.submits, ts);
    prune(st.modifies, ts);
    // Open orders on the other side of the instrument are superseded by an approved order.
    const superseded = Object.entries(st.openOrders)
      .filter(([, o]) => o.instrumentId === s.instrumentId && o.side !== s.side && !o.reduceOnly)
      .map(([id]) => id);
    const calendar = calendarOf(s.instrumentId);
    const mark = this.markPrice(s.instrumentId) ?? null;
    const exposures = new Map([...v.positions].map(([id, x]) => [id, x.value]));
    const { dayLoss, drawdown } = this.losses(st, equity);
    const tradeDate = p.tradeDate ?? tradeDateOf(settings, ts);
    const regime = this.rules.regimeAt(tradeDate);
    const reasons = evaluateOrder({
      account: settings,
      instrument: ins,
      instrumentId: s.instrumentId,
      side: s.side,
      quantity,
      price,
      mark,
      sessionOpen: isOpen(calendar, ts, { extended: settings.allowExtendedHours }),
      sessionName: calendar.name,
      accountState: state,
      stateCause: cause,
      instrumentCause,
      position,
      openOrders: Object.keys(st.openOrders).length - superseded.length,
      submitsLastSecond: st.submits.length,
      modifiesLastSecond: st.modifies.length,
      modifiesNeeded: superseded.length,
      exposures,
      equity,
      cash: new Decimal(p.cash),
      dayLoss,
      drawdown,
      regime,
      dayTradesInWindow: dayTradesWithin(p, tradeDate, regime.windowBusinessDays),
      returnsOf: this.returnsOf,
      marginRateOf: (id) => this.rules.instrument(st.account, id).intradayMarginRate,
    });
    const approved = reasons.length === 0;
    const decisionId = `${s.id}|${st.account}`;
    const orderId = approved ? `risk|${decisionId}` : null;
    const decision: RiskDecision = {
      decisionId,
      account: st.account,
      signalId: s.id,
      strategy: s.strategy,
      instrumentId: s.instrumentId,
      venue: s.venue,
      symbol: s.symbol,
      side: s.side,
      confidence: s.confidence,
      approved,
      reasons,
      quantity: out12(quantity),
      price: out12(price),
      orderId,
      tradingState: state,
      tsEvent: ts,
      tsDecided: this.now,
    };
    this.out.push({ topic: DECISIONS_OUTPUT, key: st.account, value: decision });
    this.audit(
      st.account,
      'DECISION',
      decisionId,
      'risk',
      approved
        ? `approved ${s.side} ${quantity.toFixed()} ${s.instrumentId} at ${price.toFixed()}`
        : `rejected ${s.side} ${quantity.toFixed()} ${s.instrumentId}: ${reasons.map((r) => r.code).join(', ')}`,
      ts,
      s.instrumentId,
    );
    if (orderId) {
      for (const id of superseded) {
        this.cancelOpen(st, decisionId, 'SUPERSEDED', ts, (o) => o === st.openOrders[id]);
      }
      const reduceOnly = reducingOnly;
      const limit = settings.orderType === 'LIMIT';
      this.request({
        requestId: `${orderId}|NEW`,
        action: 'NEW',
        orderId,
        account: st.account,
        instrumentId: s.instrumentId,
        venue: s.venue,
        symbol: s.symbol,
        side: s.side,
        type: settings.orderType,
        timeInForce: settings.timeInForce,
        quantity: out12(quantity),
        limitPrice: limit ? out12(price) : null,
        reduceOnly,
        signalId: s.id,
        strategy: s.strategy,
        reason: `decision ${decisionId}`,
        tsEvent: ts,
      });
      st.openOrders[orderId] = {
        instrumentId: s.instrumentId,
        side: s.side,
        type: settings.orderType,
        timeInForce: settings.timeInForce,
        quantity: quantity.toFixed(),
        leaves: quantity.toFixed(),
        reduceOnly,
      };
      noteRate(st.submits, ts, settings.maxSubmitsPerSecond);
    }
    this.pnl(st, ts, v);
  }

  // ---- execution reports ----

  private onReport(record: InputRecord): string | undefined {
    const e = record.value as OrderEvent;
    if (typeof e !== 'object' || e === null) return 'an execution report holds no value';
    if (typeof e.eventId !== 'string' || typeof e.orderId !== 'string' || typeof e.instrumentId !== 'string')
      return 'an execution report needs eventId, orderId and instrumentId';
    const accountId = record.key ?? e.account;
    if (!accountId) return `report ${e.eventId} has no account`;
    if (e.account && e.account !== accountId) return `report ${e.eventId} is for ${e.account} but keyed ${accountId}`;
    if (!Number.isFinite(e.tsEvent)) return `report ${e.eventId}: tsEvent is not a number`;
    if (unsafeKey(e.orderId) || unsafeKey(e.instrumentId))
      return `report ${e.eventId}: ${e.orderId} / ${e.instrumentId} cannot be an order or instrument id`;
    // A fill carries its fill fields; a PARTIALLY_FILLED / FILLED event without them is a parent's
    // (OCO, TWAP/VWAP) cumulative progress, whose fills its children report: it only tracks the order.
    const fill =
      (e.kind === 'PARTIALLY_FILLED' || e.kind === 'FILLED') &&
      !(e.fillId == null && e.lastQuantity == null && e.lastPrice == null);
    const lastQuantity = toDecimal(e.lastQuantity);
    const lastPrice = toDecimal(e.lastPrice);
    const fee = e.fee === null || e.fee === undefined ? ZERO : toDecimal(e.fee);
    if (fill && (!lastQuantity || !lastQuantity.gt(0) || !lastPrice || !lastPrice.gt(0) || !fee))
      return `fill ${e.eventId}: lastQuantity and lastPrice must be positive decimals, fee a decimal`;
    if (fill && e.side !== 'BUY' && e.side !== 'SELL') return `fill ${e.eventId}: side ${String(e.side)}`;
    const loaded = this.account(accountId);
    if (!loaded) return `account ${accountId} is not in the risk config (strictAccounts)`;
    const { st, settings } = loaded;
    if (st.seenEvents.includes(e.eventId)) return undefined; // a replayed report: counted already
    remember(st.seenEvents, e.eventId);
    this.trackOrder(st, e);
    if (fill && lastQuantity && lastPrice && fee) {
      this.revalue(st, settings, e.tsEvent);
      applyFill(st.portfolio, {
        instrumentId: e.instrumentId,
        side: e.side,
        quantity: lastQuantity,
        price: lastPrice,
        fee,
        tradeDate: st.portfolio.tradeDate ?? tradeDateOf(settings, e.tsEvent),
      });
      const v = valuation(st.portfolio, this.markPrice);
      notePeak(st.portfolio, v.equity);
      this.noteLossBase(st, v.equity);
      this.position(st, e.instrumentId, e.tsEvent);
      this.checkBreakers(st, settings, v.equity, e.tsEvent);
      this.pnl(st, e.tsEvent, v);
    }
    return undefined;
  }

  /** Open orders: terminal states remove, others record the leaves quantity. */
  private trackOrder(st: AccountState, e: OrderEvent): void {
    const terminal =
      e.status === 'FILLED' || e.status === 'CANCELED' || e.status === 'EXPIRED' || e.status === 'REJECTED';
    if (terminal) {
      delete st.openOrders[e.orderId];
      return;
    }
    const known = st.openOrders[e.orderId];
    const leaves = toDecimal(e.leavesQuantity);
    const quantity = toDecimal(e.quantity);
    st.openOrders[e.orderId] = {
      instrumentId: e.instrumentId,
      side: e.side,
      type: e.type ?? known?.type ?? 'MARKET',
      timeInForce: e.timeInForce ?? known?.timeInForce ?? 'DAY',
      quantity: quantity?.toFixed() ?? known?.quantity ?? '0',
      leaves: leaves?.toFixed() ?? known?.leaves ?? '0',
      reduceOnly: e.reduceOnly ?? known?.reduceOnly ?? false,
      ...(known?.cancelRequested && e.kind !== 'CANCEL_REJECTED' ? { cancelRequested: true } : {}),
    };
  }

  // ---- operator commands ----

  private onCommand(record: InputRecord): string | undefined {
    const c = record.value as RiskCommand;
    if (typeof c !== 'object' || c === null) return 'a command record holds no value';
    if (c.action !== 'HALT' && c.action !== 'RESUME') return `command action ${String(c.action)} is not HALT or RESUME`;
    if (typeof c.commandId !== 'string' || !c.commandId) return 'a command needs a commandId';
    if (!Number.isFinite(c.tsIssued)) return `command ${c.commandId}: tsIssued is not a number`;
    const scope = record.key ?? c.account ?? '*';
    if (scope === '*' ? c.account !== null && c.account !== undefined : c.account !== null && c.account !== scope)
      return `command ${c.commandId}: account ${String(c.account)} does not match its key ${scope}`;
    if (scope !== '*' && scope.startsWith('*')) return `command ${c.commandId}: ${scope} is not an account`;
    // A command seen before in this scope (a replay, a re-sent message) is not applied again: a
    // replayed RESUME must not lift a breaker that tripped after the original.
    const seenIn = (holder: { seenCommands?: string[] }): boolean => {
      const seen = (holder.seenCommands ??= []);
      if (seen.includes(c.commandId)) return true;
      seen.push(c.commandId);
      if (seen.length > SEEN_COMMANDS_LIMIT) seen.splice(0, seen.length - SEEN_COMMANDS_LIMIT);
      return false;
    };
    const operator: OperatorState = {
      state: c.action === 'HALT' ? 'HALTED' : 'ACTIVE',
      commandId: c.commandId,
      reason: String(c.reason ?? ''),
      actor: String(c.actor ?? 'operator'),
      tsEvent: c.tsIssued,
    };
    const instrumentId = c.instrumentId ?? null;
    if (instrumentId !== null) {
      if (typeof instrumentId !== 'string' || !instrumentId || unsafeKey(instrumentId))
        return `command ${c.commandId}: ${String(instrumentId)} is not an instrument id`;
      return this.onInstrumentCommand(c, scope, instrumentId, operator, seenIn, record.partition);
    }
    if (scope === '*') {
      const control = this.controlCopy(operator);
      if (seenIn(control)) return undefined;
      control.operator = operator;
      this.touched.set(CONTROL_KEY, control);
      this.audit(
        '*',
        c.action,
        c.commandId,
        operator.actor,
        `${c.action} of every account of the partition: ${operator.reason}`,
        c.tsIssued,
        null,
        record.partition,
      );
      for (const account of this.accountKeys()) {
        const loaded = this.account(account);
        if (loaded) this.apply(loaded.st, c, operator, true);
      }
      return undefined;
    }
    const loaded = this.account(scope);
    if (!loaded) return `account ${scope} is not in the risk config (strictAccounts)`;
    if (seenIn(loaded.st)) return undefined;
    this.apply(loaded.st, c, operator, false);
    return undefined;
  }

  /**
   * A halt or resume of one instrument: for one account (its `instrumentOperators`) or, with key `*`,
   * for every account of the partition (the control entry's `instruments`, so accounts first seen
   * later are covered too). A halt cancels the scope's open orders on the instrument and with
   * `flatten` closes its positions in it; new orders on it are refused (INSTRUMENT_HALTED) until a
   * resume of the same scope.
   */
  private onInstrumentCommand(
    c: RiskCommand,
    scope: string,
    instrumentId: string,
    operator: OperatorState,
    seenIn: (holder: { seenCommands?: string[] }) => boolean,
    partition: number,
  ): string | undefined {
    const set = (holder: Record<string, OperatorState>): void => {
      if (c.action === 'HALT') holder[instrumentId] = operator;
      else delete holder[instrumentId];
    };
    let accounts: AccountState[];
    if (scope === '*') {
      const control = this.controlCopy({ ...operator, state: 'ACTIVE' });
      if (seenIn(control)) return undefined;
      set((control.instruments ??= {}));
      this.touched.set(CONTROL_KEY, control);
      this.audit(
        '*',
        c.action,
        c.commandId,
        operator.actor,
        `${c.action} of ${instrumentId} for every account of the partition: ${operator.reason}`,
        c.tsIssued,
        instrumentId,
        partition,
      );
      accounts = this.accountKeys().flatMap((key) => {
        const loaded = this.account(key);
        return loaded ? [loaded.st] : [];
      });
    } else {
      const loaded = this.account(scope);
      if (!loaded) return `account ${scope} is not in the risk config (strictAccounts)`;
      if (seenIn(loaded.st)) return undefined;
      set((loaded.st.instrumentOperators ??= {}));
      accounts = [loaded.st];
    }
    for (const st of accounts) {
      const ts = c.tsIssued;
      if (c.action === 'HALT') {
        const cancels = this.cancelOpen(st, c.commandId, 'HALT', ts, (o) => o.instrumentId === instrumentId);
        const flattens = c.flatten ? this.flatten(st, c.commandId, ts, instrumentId) : 0;
        this.audit(
          st.account,
          'HALT',
          c.commandId,
          operator.actor,
          `${instrumentId} halted (${operator.reason}): ${cancels} cancels, ${flattens} flatten orders`,
          ts,
          instrumentId,
        );
      } else {
        this.audit(
          st.account,
          'RESUME',
          c.commandId,
          operator.actor,
          `${instrumentId} resumed (${operator.reason})`,
          ts,
          instrumentId,
        );
      }
      this.pnl(st, ts);
    }
    return undefined;
  }

  private apply(st: AccountState, c: RiskCommand, operator: OperatorState, partition: boolean): void {
    const ts = c.tsIssued;
    if (c.action === 'HALT') {
      // A partition halt lives in the control entry; the account keeps its own state.
      if (!partition) st.operator = operator;
      const cancels = this.cancelOpen(st, c.commandId, 'HALT', ts);
      const flattens = c.flatten ? this.flatten(st, c.commandId, ts) : 0;
      this.audit(
        st.account,
        'HALT',
        c.commandId,
        operator.actor,
        `halted (${operator.reason}): ${cancels} cancels, ${flattens} flatten orders`,
        ts,
      );
    } else {
      st.operator = null;
      if (st.breaker) {
        this.audit(
          st.account,
          'BREAKER_RESET',
          c.commandId,
          operator.actor,
          `${st.breaker.rule} breaker reset by ${c.commandId}`,
          ts,
        );
        st.breaker = null;
      }
      // The loss breakers measure from here on (the reported day P&L and peak are unchanged).
      const equity = valuation(st.portfolio, this.markPrice).equity;
      st.lossBase = { tradeDate: st.portfolio.tradeDate, dayStart: equity.toFixed(), peak: equity.toFixed() };
      const still = this.control()?.operator.state === 'HALTED' ? '; still halted by the partition-wide halt' : '';
      this.audit(st.account, 'RESUME', c.commandId, operator.actor, `resumed (${operator.reason})${still}`, ts);
    }
    this.pnl(st, ts);
  }
}
