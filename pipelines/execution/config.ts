import { Decimal } from '../../schemas/decimal';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import { TickflowError } from '../runtime/errors';

/**
 * The execution stage's settings (`tickflow run --set execution.<key>=<value>`). Units are in the
 * names; money rates are numbers here and become exact Decimals (from their decimal text, never
 * from float arithmetic) in `engineConfig`.
 */
export const EXECUTION_CONFIG = {
  toVenueMs: {
    type: 'number',
    default: 5,
    min: 0,
    max: 60_000,
    description: 'latency from a request (its tsEvent) to its arrival at the simulated venue, in milliseconds',
  },
  jitterMs: {
    type: 'number',
    default: 0,
    min: 0,
    max: 60_000,
    description: 'extra seeded random latency to the venue, uniform in [0, jitterMs] milliseconds',
  },
  venueToReportMs: {
    type: 'number',
    default: 1,
    min: 0,
    max: 60_000,
    description: 'latency from a venue-side change (acceptance, fill, cancel) to its report, in milliseconds',
  },
  maxQuoteAgeMs: {
    type: 'number',
    default: 5_000,
    min: 0,
    max: 86_400_000,
    description: 'a taker match uses the last quote/book only if it is at most this old (event time), milliseconds',
  },
  slippageModel: {
    type: 'string',
    default: 'none',
    choices: ['none', 'fixedBps', 'spread', 'sqrtImpact'],
    description: 'price worsening of taker fills: none, fixedBps, spread (fraction of the spread), sqrtImpact',
  },
  slippageBps: { type: 'number', default: 0, min: 0, max: 10_000, description: 'fixedBps: slippage in basis points' },
  slippageSpreadFraction: {
    type: 'number',
    default: 0.5,
    min: 0,
    max: 100,
    description: 'spread: slippage as a fraction of the quoted spread at the match',
  },
  impactCoefficient: {
    type: 'number',
    default: 0.1,
    min: 0,
    max: 100,
    description: 'sqrtImpact: slippage = coefficient x price x sqrt(quantity / traded volume in the window)',
  },
  impactWindowMs: {
    type: 'number',
    default: 60_000,
    positive: true,
    integer: true,
    max: 86_400_000,
    description: 'sqrtImpact: the window of recent traded volume, in milliseconds (event time)',
  },
  makerFeeBps: {
    type: 'number',
    default: 0,
    min: -100,
    max: 1000,
    description: 'fee on maker fills in basis points of notional (negative: a rebate)',
  },
  takerFeeBps: { type: 'number', default: 0, min: 0, max: 1000, description: 'fee on taker fills, basis points' },
  feePerUnit: {
    type: 'number',
    default: 0,
    min: 0,
    max: 1000,
    description: 'fee per unit (share, contract, coin) filled, in quote currency',
  },
  minFeePerFill: {
    type: 'number',
    default: 0,
    min: 0,
    max: 1_000_000,
    description: 'minimum fee per fill in quote currency (applies when the computed fee is positive)',
  },
  seed: { type: 'number', default: 42, integer: true, description: 'seed of the latency jitter' },
  defaultVwapCurve: {
    type: 'list',
    default: ['12', '8', '6', '5', '5', '4', '4', '4', '5', '6', '8', '13'],
    description: 'VWAP: relative volume per part of the horizon (a U-shaped intraday curve), stretched onto the slices',
  },
  maxWorkingOrders: {
    type: 'number',
    default: 500,
    positive: true,
    integer: true,
    max: 100_000,
    description: 'working orders per instrument (children included); more are REJECTED with TOO_MANY_ORDERS',
  },
  maxRequestsInFlight: {
    type: 'number',
    default: 1000,
    positive: true,
    integer: true,
    max: 100_000,
    description:
      'requests per instrument waiting for the market to reach their arrival; more are rejected (TOO_MANY_ORDERS)',
  },
  maxSlices: {
    type: 'number',
    default: 1000,
    positive: true,
    integer: true,
    max: 100_000,
    description: 'TWAP/VWAP: most slices one parent may have',
  },
  recentRequestIds: {
    type: 'number',
    default: 1000,
    positive: true,
    integer: true,
    max: 1_000_000,
    description: 'request ids remembered per instrument to ignore duplicates (oldest forgotten first)',
  },
  recentOrders: {
    type: 'number',
    default: 500,
    positive: true,
    integer: true,
    max: 1_000_000,
    description: 'finished order ids remembered per instrument (duplicate ids, late cancels)',
  },
} as const satisfies ConfigSchema;

export type ExecutionConfig = ConfigOf<typeof EXECUTION_CONFIG>;

export type SlippageModel = 'none' | 'fixedBps' | 'spread' | 'sqrtImpact';

/** The engine's view of the config: times in microseconds, rates as exact Decimals. */
export interface EngineConfig {
  readonly toVenueMicros: number;
  readonly jitterMicros: number;
  readonly reportMicros: number;
  readonly maxQuoteAgeMicros: number;
  readonly slippageModel: SlippageModel;
  readonly slippageBps: Decimal;
  readonly slippageSpreadFraction: Decimal;
  readonly impactCoefficient: Decimal;
  readonly impactWindowMicros: number;
  readonly makerFeeBps: Decimal;
  readonly takerFeeBps: Decimal;
  readonly feePerUnit: Decimal;
  readonly minFeePerFill: Decimal;
  readonly seed: number;
  readonly defaultVwapCurve: readonly number[];
  readonly maxWorkingOrders: number;
  readonly maxRequestsInFlight: number;
  readonly maxSlices: number;
  readonly recentRequestIds: number;
  readonly recentOrders: number;
}

const ms = (n: number): number => Math.round(n * 1000);

export function engineConfig(config: ExecutionConfig): EngineConfig {
  const curve = config.defaultVwapCurve.map(Number);
  if (curve.length === 0 || curve.some((w) => !Number.isFinite(w) || w < 0) || !curve.some((w) => w > 0))
    throw new TickflowError(
      'CONFIG',
      `execution.defaultVwapCurve: '${config.defaultVwapCurve.join(',')}' is not a list of weights >= 0`,
      'for example --set execution.defaultVwapCurve=3,2,1,1,2,3',
    );
  return {
    toVenueMicros: ms(config.toVenueMs),
    jitterMicros: ms(config.jitterMs),
    reportMicros: ms(config.venueToReportMs),
    maxQuoteAgeMicros: ms(config.maxQuoteAgeMs),
    slippageModel: config.slippageModel as SlippageModel,
    slippageBps: new Decimal(String(config.slippageBps)),
    slippageSpreadFraction: new Decimal(String(config.slippageSpreadFraction)),
    impactCoefficient: new Decimal(String(config.impactCoefficient)),
    impactWindowMicros: ms(config.impactWindowMs),
    makerFeeBps: new Decimal(String(config.makerFeeBps)),
    takerFeeBps: new Decimal(String(config.takerFeeBps)),
    feePerUnit: new Decimal(String(config.feePerUnit)),
    minFeePerFill: new Decimal(String(config.minFeePerFill)),
    seed: config.seed,
    defaultVwapCurve: curve,
    maxWorkingOrders: config.maxWorkingOrders,
    maxRequestsInFlight: config.maxRequestsInFlight,
    maxSlices: config.maxSlices,
    recentRequestIds: config.recentRequestIds,
    recentOrders: config.recentOrders,
  };
}
