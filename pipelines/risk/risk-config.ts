import { readFileSync } from 'node:fs';
import { Decimal, decimalTextProblem } from '../../schemas/decimal';
import type { TradingState } from '../../schemas/types.generated';
import { instrumentRef } from '../../connectors/reference/instruments';
import { CALENDARS } from '../../connectors/reference/calendars';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import { TickflowError } from '../runtime/errors';
import RISK_DEFAULT from './risk.default.json';

/**
 * Risk limits live only here (DESIGN §4.12): one JSON file (README.md "Config file"), validated whole
 * when the stage is created; every problem is a TickflowError('CONFIG') naming the setting's path
 * (`accounts.paper-1.maxOrderNotional`) and a fix. Keys starting with `$` are comments.
 *
 * Layers, later wins: `defaults` < `accounts.<account>` for account settings; for the settings of
 * one instrument `defaults` < `accounts.<account>` < `instruments.<instrument>` <
 * `accounts.<account>.instruments.<instrument>`. A limit set to null is off.
 */
export const RISK_CONFIG = {
  configFile: {
    type: 'string',
    default: '',
    description:
      'path of the risk config JSON (limits, accounts, instruments, day-trading regimes); ' +
      'empty: the shipped pipelines/risk/risk.default.json',
  },
} as const satisfies ConfigSchema;

export type RiskStageConfig = ConfigOf<typeof RISK_CONFIG>;

export type SizingMethod = 'fixed-fraction' | 'volatility-target';
export type VarMethod = 'historical' | 'parametric';
export type DayTradingRule = 'PATTERN_DAY_TRADER' | 'INTRADAY_MARGIN' | 'NONE';

/** Settings of one instrument for one account (after the layers). */
export interface InstrumentSettings {
  readonly lotSize: Decimal;
  /** null: no tick known (the reference has none and the config sets none) */
  readonly tickSize: Decimal | null;
  readonly tradingState: TradingState;
  readonly maxOrderQuantity: Decimal | null;
  readonly maxOrderNotional: Decimal | null;
  /** |price - mark| / mark */
  readonly priceCollarFraction: Decimal | null;
  readonly maxPositionQuantity: Decimal | null;
  readonly maxPositionNotional: Decimal | null;
  /** intraday margin requirement per unit of market value (INTRADAY_MARGIN regime) */
  readonly intradayMarginRate: Decimal;
}

export interface AccountSettings extends InstrumentSettings {
  readonly startingCash: Decimal;
  /** a margin account (day-trading rules apply) rather than a cash account (buys limited to cash) */
  readonly margin: boolean;
  /** trade dates (day P&L, day trades) are the trading days of this calendar */
  readonly calendar: string;
  readonly breakerAction: 'REDUCING' | 'HALTED';
  readonly orderType: 'MARKET' | 'LIMIT';
  readonly timeInForce: 'DAY' | 'GTC' | 'IOC' | 'FOK';
  readonly sizingMethod: SizingMethod;
  /** fixed-fraction: the order's notional is equity x sizingFraction x confidence */
  readonly sizingFraction: Decimal;
  /** volatility-target: the position's return volatility per mark return interval, as a fraction of equity */
  readonly targetVolatility: number;
  /** cut the sized quantity to the order and position limits (else those rules reject it) */
  readonly clampToLimits: boolean;
  readonly allowExtendedHours: boolean;
  readonly maxOpenOrders: number | null;
  readonly maxSubmitsPerSecond: number | null;
  readonly maxModifiesPerSecond: number | null;
  readonly maxGrossExposure: Decimal | null;
  readonly maxNetExposure: Decimal | null;
  readonly correlationThreshold: number;
  /** exposure in instruments correlated above the threshold (the order's own included) / equity */
  readonly maxCorrelatedFraction: Decimal | null;
  readonly maxDailyLoss: Decimal | null;
  readonly maxDrawdown: Decimal | null;
  readonly maxVar: Decimal | null;
  readonly varMethod: VarMethod;
  readonly varConfidence: number;
  /** fewer aligned returns than this: VaR, correlation and volatility sizing are not computed */
  readonly minReturnObservations: number;
}

export interface DayTradingRegime {
  /** first trade date (YYYY-MM-DD) the regime applies */
  readonly from: string;
  readonly rule: DayTradingRule;
  readonly minEquity: Decimal;
  readonly maxDayTrades: number;
  readonly windowBusinessDays: number;
}

export interface RiskRules {
  /** unknown accounts are dead letters (true) or get the defaults (false) */
  readonly strictAccounts: boolean;
  readonly accounts: ReadonlyMap<string, AccountSettings>;
  readonly dayTrading: readonly DayTradingRegime[];
  account(account: string): AccountSettings | undefined;
  instrument(account: string, instrumentId: string): InstrumentSettings;
  regimeAt(tradeDate: string): DayTradingRegime;
}

type Kind =
  | { t: 'decimal'; nullable?: boolean; positive?: boolean }
  | { t: 'int'; nullable?: boolean; min: number }
  | { t: 'number'; min: number; max: number; exclusive?: boolean }
  | { t: 'boolean' }
  | { t: 'choice'; choices: readonly string[] };

const INSTRUMENT_KEYS: Readonly<Record<keyof InstrumentSettings, Kind>> = {
  lotSize: { t: 'decimal', positive: true },
  tickSize: { t: 'decimal', positive: true },
  tradingState: { t: 'choice', choices: ['ACTIVE', 'REDUCING', 'HALTED'] },
  maxOrderQuantity: { t: 'decimal', nullable: true, positive: true },
  maxOrderNotional: { t: 'decimal', nullable: true, positive: true },
  priceCollarFraction: { t: 'decimal', nullable: true, positive: true },
  maxPositionQuantity: { t: 'decimal', nullable: true, positive: true },
  maxPositionNotional: { t: 'decimal', nullable: true, positive: true },
  intradayMarginRate: { t: 'decimal' },
};

const ACCOUNT_KEYS: Readonly<Record<Exclude<keyof AccountSettings, keyof InstrumentSettings>, Kind>> = {
  startingCash: { t: 'decimal' },
  margin: { t: 'boolean' },
  calendar: { t: 'choice', choices: Object.keys(CALENDARS) },
  breakerAction: { t: 'choice', choices: ['REDUCING', 'HALTED'] },
  orderType: { t: 'choice', choices: ['MARKET', 'LIMIT'] },
  timeInForce: { t: 'choice', choices: ['DAY', 'GTC', 'IOC', 'FOK'] },
  sizingMethod: { t: 'choice', choices: ['fixed-fraction', 'volatility-target'] },
  sizingFraction: { t: 'decimal', positive: true },
  targetVolatility: { t: 'number', min: 0, max: 1, exclusive: true },
  clampToLimits: { t: 'boolean' },
  allowExtendedHours: { t: 'boolean' },
  maxOpenOrders: { t: 'int', nullable: true, min: 0 },
  maxSubmitsPerSecond: { t: 'int', nullable: true, min: 0 },
  maxModifiesPerSecond: { t: 'int', nullable: true, min: 0 },
  maxGrossExposure: { t: 'decimal', nullable: true, positive: true },
  maxNetExposure: { t: 'decimal', nullable: true, positive: true },
  correlationThreshold: { t: 'number', min: -1, max: 1 },
  maxCorrelatedFraction: { t: 'decimal', nullable: true, positive: true },
  maxDailyLoss: { t: 'decimal', nullable: true, positive: true },
  maxDrawdown: { t: 'decimal', nullable: true, positive: true },
  maxVar: { t: 'decimal', nullable: true, positive: true },
  varMethod: { t: 'choice', choices: ['historical', 'parametric'] },
  varConfidence: { t: 'number', min: 0.5, max: 1, exclusive: true },
  minReturnObservations: { t: 'int', min: 2 },
};

const REGIME_KEYS: Readonly<Record<string, Kind>> = {
  rule: { t: 'choice', choices: ['PATTERN_DAY_TRADER', 'INTRADAY_MARGIN', 'NONE'] },
  minEquity: { t: 'decimal' },
  maxDayTrades: { t: 'int', min: 0 },
  windowBusinessDays: { t: 'int', min: 1 },
};

/** Built-in values under the file's `defaults` (the shipped file sets them all explicitly too). */
const BUILT_IN: Readonly<Record<string, unknown>> = {
  lotSize: '1',
  tradingState: 'ACTIVE',
  maxOrderQuantity: null,
  maxOrderNotional: null,
  priceCollarFraction: null,
  maxPositionQuantity: null,
  maxPositionNotional: null,
  intradayMarginRate: '0.25',
  startingCash: '100000',
  margin: false,
  calendar: '24x7',
  breakerAction: 'HALTED',
  orderType: 'MARKET',
  timeInForce: 'DAY',
  sizingMethod: 'fixed-fraction',
  sizingFraction: '0.02',
  targetVolatility: 0.001,
  clampToLimits: true,
  allowExtendedHours: false,
  maxOpenOrders: null,
  maxSubmitsPerSecond: null,
  maxModifiesPerSecond: null,
  maxGrossExposure: null,
  maxNetExposure: null,
  correlationThreshold: 0.7,
  maxCorrelatedFraction: null,
  maxDailyLoss: null,
  maxDrawdown: null,
  maxVar: null,
  varMethod: 'historical',
  varConfidence: 0.99,
  minReturnObservations: 20,
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function fail(path: string, message: string, fix: string): never {
  throw new TickflowError('CONFIG', `risk config ${path}: ${message}`, fix);
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function objectAt(v: unknown, path: string): Json {
  if (!isObject(v)) fail(path, 'is not an object', `make ${path} a JSON object ({ ... })`);
  return v;
}

function parseValue(v: unknown, kind: Kind, path: string): unknown {
  if (v === null) {
    if ((kind.t === 'decimal' || kind.t === 'int') && kind.nullable) return null;
    fail(path, 'is null', 'give it a value (only limits may be null, meaning no limit)');
  }
  switch (kind.t) {
    case 'decimal': {
      if (typeof v !== 'string')
        fail(path, `${JSON.stringify(v)} is not a decimal string`, `write it as a string, e.g. "${String(v)}"`);
      const problem = decimalTextProblem(v, 38, 12);
      if (problem) fail(path, `'${v}' ${problem}`, 'use a plain decimal string such as "1000.50"');
      const d = new Decimal(v);
      if (d.isNeg()) fail(path, `${v} is negative`, 'use a value of at least 0');
      if (kind.positive && d.isZero()) fail(path, '0 is not above 0', 'use a positive value, or null for no limit');
      return d;
    }
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v))
        fail(path, `${JSON.stringify(v)} is not a whole number`, `use a whole number of at least ${kind.min}`);
      if (v < kind.min) fail(path, `${v} is below the minimum ${kind.min}`, `use at least ${kind.min}`);
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v))
        fail(path, `${JSON.stringify(v)} is not a number`, `use a number between ${kind.min} and ${kind.max}`);
      if (v < kind.min || v > kind.max || (kind.exclusive && (v === kind.min || v === kind.max)))
        fail(
          path,
          `${v} is out of range`,
          `use a number ${kind.exclusive ? 'strictly ' : ''}between ${kind.min} and ${kind.max}`,
        );
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') fail(path, `${JSON.stringify(v)} is not true or false`, 'use true or false');
      return v;
    case 'choice':
      if (typeof v !== 'string' || !kind.choices.includes(v))
        fail(path, `${JSON.stringify(v)} is not one of ${kind.choices.join(', ')}`, `use "${kind.choices[0]}"`);
      return v;
  }
}

/** Parses the keys of `obj` that `keys` knows; others (but `$` comments and `extra`) are errors. */
function parseKeys(
  obj: Json,
  keys: Readonly<Record<string, Kind>>,
  path: string,
  extra: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key.startsWith('$') || extra.includes(key)) continue;
    const kind = keys[key];
    if (!kind)
      fail(`${path}.${key}`, 'is not a setting', `settings here: ${[...Object.keys(keys), ...extra].join(', ')}`);
    out[key] = parseValue(value, kind, `${path}.${key}`);
  }
  return out;
}

const ALL_ACCOUNT_KEYS: Readonly<Record<string, Kind>> = { ...INSTRUMENT_KEYS, ...ACCOUNT_KEYS };
const PLAIN_INSTRUMENT_KEYS: Readonly<Record<string, Kind>> = INSTRUMENT_KEYS;

/** Validates a parsed risk config document; `source` names it in messages. */
export function parseRiskConfig(doc: unknown): RiskRules {
  const root = objectAt(doc, '(root)');
  for (const key of Object.keys(root)) {
    if (!key.startsWith('$') && !['strictAccounts', 'defaults', 'accounts', 'instruments', 'dayTrading'].includes(key))
      fail(key, 'is not a section', 'sections: strictAccounts, defaults, accounts, instruments, dayTrading');
  }
  const strict =
    root.strictAccounts === undefined ? true : parseValue(root.strictAccounts, { t: 'boolean' }, 'strictAccounts');
  const builtIn = parseKeys(BUILT_IN as Json, ALL_ACCOUNT_KEYS, '(built-in)');
  const defaults = {
    ...builtIn,
    ...parseKeys(objectAt(root.defaults ?? {}, 'defaults'), ALL_ACCOUNT_KEYS, 'defaults'),
  };
  const instrumentLayer = new Map<string, Record<string, unknown>>();
  for (const [id, v] of Object.entries(objectAt(root.instruments ?? {}, 'instruments'))) {
    if (id.startsWith('$')) continue;
    instrumentLayer.set(id, parseKeys(objectAt(v, `instruments.${id}`), PLAIN_INSTRUMENT_KEYS, `instruments.${id}`));
  }
  const accounts = new Map<string, AccountSettings>();
  const accountInstruments = new Map<string, Map<string, Record<string, unknown>>>();
  for (const [name, v] of Object.entries(objectAt(root.accounts ?? {}, 'accounts'))) {
    if (name.startsWith('$')) continue;
    if (name === '*' || name.startsWith('*')) fail(`accounts.${name}`, 'is a reserved name', 'name accounts without *');
    const path = `accounts.${name}`;
    const obj = objectAt(v, path);
    const own = parseKeys(obj, ALL_ACCOUNT_KEYS, path, ['instruments']);
    accounts.set(name, { ...defaults, ...own } as unknown as AccountSettings);
    const perInstrument = new Map<string, Record<string, unknown>>();
    for (const [id, iv] of Object.entries(objectAt(obj.instruments ?? {}, `${path}.instruments`))) {
      if (id.startsWith('$')) continue;
      perInstrument.set(
        id,
        parseKeys(objectAt(iv, `${path}.instruments.${id}`), PLAIN_INSTRUMENT_KEYS, `${path}.instruments.${id}`),
      );
    }
    accountInstruments.set(name, perInstrument);
  }
  if (strict && accounts.size === 0)
    fail('accounts', 'is empty while strictAccounts is true', 'add an account, e.g. "paper-1": {}');
  const dayTrading = parseRegimes(root.dayTrading);
  const defaultAccount = defaults as unknown as AccountSettings;
  const instrumentCache = new Map<string, InstrumentSettings>();
  return {
    strictAccounts: strict as boolean,
    accounts,
    dayTrading,
    account: (account) => accounts.get(account) ?? (strict ? undefined : defaultAccount),
    instrument(account, instrumentId) {
      const cacheKey = `${account}|${instrumentId}`;
      const cached = instrumentCache.get(cacheKey);
      if (cached) return cached;
      const reference = instrumentRef(instrumentId).tickSize;
      const base = accounts.get(account) ?? defaultAccount;
      const merged = {
        ...base,
        // The reference catalog's tick beats a tick in `defaults` or the account; the instrument layers beat it.
        tickSize: new Decimal(reference).isZero() ? (base.tickSize ?? null) : new Decimal(reference),
        ...(instrumentLayer.get(instrumentId) ?? {}),
        ...(accountInstruments.get(account)?.get(instrumentId) ?? {}),
      } as unknown as InstrumentSettings;
      if (instrumentCache.size < 10_000) instrumentCache.set(cacheKey, merged);
      return merged;
    },
    regimeAt(tradeDate) {
      let current: DayTradingRegime = NO_REGIME;
      for (const r of dayTrading) if (r.from <= tradeDate) current = r;
      return current;
    },
  };
}

const NO_REGIME: DayTradingRegime = {
  from: '0000-01-01',
  rule: 'NONE',
  minEquity: new Decimal(0),
  maxDayTrades: 0,
  windowBusinessDays: 1,
};

function parseRegimes(v: unknown): DayTradingRegime[] {
  if (v === undefined) return [];
  const obj = objectAt(v, 'dayTrading');
  for (const key of Object.keys(obj))
    if (!key.startsWith('$') && key !== 'regimes')
      fail(`dayTrading.${key}`, 'is not a setting', 'dayTrading has: regimes');
  if (obj.regimes === undefined) return [];
  if (!Array.isArray(obj.regimes)) fail('dayTrading.regimes', 'is not a list', 'make it a JSON array of regimes');
  const regimes: DayTradingRegime[] = [];
  obj.regimes.forEach((r, i) => {
    const path = `dayTrading.regimes[${i}]`;
    const o = objectAt(r, path);
    if (typeof o.from !== 'string' || !DATE.test(o.from) || Number.isNaN(Date.parse(o.from)))
      fail(`${path}.from`, `${JSON.stringify(o.from)} is not a date`, 'use YYYY-MM-DD, e.g. "2026-06-04"');
    const parsed = parseKeys(o, REGIME_KEYS, path, ['from']);
    if (parsed.rule === undefined)
      fail(`${path}.rule`, 'is missing', 'set rule to PATTERN_DAY_TRADER, INTRADAY_MARGIN or NONE');
    const previous = regimes[regimes.length - 1];
    if (previous && previous.from >= o.from)
      fail(`${path}.from`, `${o.from} is not after ${previous.from}`, 'list regimes in order of their dates');
    regimes.push({
      from: o.from,
      rule: parsed.rule as DayTradingRule,
      minEquity: (parsed.minEquity as Decimal | undefined) ?? new Decimal('25000'),
      maxDayTrades: (parsed.maxDayTrades as number | undefined) ?? 3,
      windowBusinessDays: (parsed.windowBusinessDays as number | undefined) ?? 5,
    });
  });
  return regimes;
}

/** Reads and validates the config file named by the stage setting (once, at creation). */
export function loadRiskConfig(config: RiskStageConfig): RiskRules {
  if (config.configFile === '') return parseRiskConfig(RISK_DEFAULT);
  let text: string;
  try {
    text = readFileSync(config.configFile, 'utf8');
  } catch (error) {
    throw new TickflowError(
      'CONFIG',
      `risk.configFile: cannot read ${config.configFile} (${(error as Error).message})`,
      'point --set risk.configFile=<path> at a readable JSON file, or leave it empty for the shipped default',
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new TickflowError(
      'CONFIG',
      `risk.configFile: ${config.configFile} is not JSON (${(error as Error).message})`,
      'fix the JSON syntax (pipelines/risk/risk.default.json is a valid example)',
    );
  }
  return parseRiskConfig(doc);
}
