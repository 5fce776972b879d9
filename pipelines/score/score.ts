import type { Bar, BarReturn, Candidate, Feature } from '../../schemas/types.generated';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import { TickflowError } from '../runtime/errors';
import type { InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import type { BarInput, Indicator } from '../indicators/indicator';
import { INDICATORS, canonicalName, createIndicator } from '../indicators/registry';
import { STRATEGIES, strategyParams } from './strategies/registry';
import type { Strategy, Values } from './strategies/strategy';
import { intervalMicros } from '../../schemas/intervals';

/**
 * score: indicators and strategies on final bars (md.bars.v1 -> md.features.v1,
 * strategy.candidates.v1). Per instrument and configured interval it keeps one instance of every
 * indicator the strategies need plus the configured extra ones, fed once per final bar (a bar's
 * revisions before it are skipped, so every indicator sees each bar exactly once, in its final
 * form); every indicator value goes to md.features.v1 (basis = the interval, time = the bar's
 * start), every strategy's candidate to strategy.candidates.v1, and each bar's log return to
 * md.returns.v1 (keyed by interval, for cross-instrument analytics). State (indicator snapshots, the
 * last bar scored and the previous bar's values) is in store `indicators`.
 *
 * Feature names are canonical: `<indicator>_<parameter values>` (decimal points as `p`) and
 * `.<field>` for indicators with several outputs, e.g. `ema_12`, `macd_12_26_9.signal`,
 * `realized_vol_20_50_0p75_1p5.regime`.
 */
export const SCORE_CONFIG = {
  intervals: { type: 'list', default: ['1m'], description: 'bar intervals to score' },
  strategies: {
    type: 'list',
    default: Object.keys(STRATEGIES),
    description: `strategies to run (${Object.keys(STRATEGIES).join(', ')})`,
  },
  params: {
    type: 'list',
    default: [],
    description: 'strategy parameters, <strategy>.<param>=<value>, e.g. ema-cross-rsi.fast=5',
  },
  indicators: {
    type: 'list',
    default: ['atr', 'realized_vol'],
    description: 'extra indicators to publish as features: <name> or <name>:<param>=<value>:..., e.g. sma:period=50',
  },
} as const satisfies ConfigSchema;

export type ScoreConfig = ConfigOf<typeof SCORE_CONFIG>;

export const FEATURES_OUTPUT = 'md.features.v1';
export const CANDIDATES_OUTPUT = 'strategy.candidates.v1';
export const RETURNS_OUTPUT = 'md.returns.v1';

interface Instance {
  readonly indicator: string;
  readonly params: Readonly<Record<string, number>>;
  readonly input: 'close' | 'bar' | 'quote' | 'trade' | 'pair';
}

/** Per instrument and interval. */
export interface ScoreState {
  lastStart: number;
  snapshots: Record<string, unknown>;
  /** Canonical values at the last bar scored. */
  previous: Record<string, number> | null;
}

function configError(message: string, fix: string): TickflowError {
  return new TickflowError('CONFIG', `score: ${message}`, fix);
}

function parseNumber(text: string, where: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw configError(
      `${where}: '${text}' is not a number`,
      'give numbers, e.g. --set score.params=ema-cross-rsi.fast=5',
    );
  return n;
}

/** What the config asks for: indicator instances by canonical name and each strategy's alias -> instance. */
export function scorePlan(config: ScoreConfig): {
  instances: Map<string, Instance>;
  strategies: { strategy: Strategy; params: Record<string, number>; aliases: Record<string, string> }[];
} {
  const instances = new Map<string, Instance>();
  const add = (indicator: string, overrides: Record<string, number>): string => {
    const spec = INDICATORS[indicator];
    if (!spec)
      throw configError(`unknown indicator '${indicator}'`, `use one of ${Object.keys(INDICATORS).join(', ')}`);
    if (spec.input === 'quote' || spec.input === 'trade')
      throw configError(
        `indicator ${indicator} runs on each ${spec.input}, not on bars`,
        'the flow stage computes it: tickflow run --stages flow',
      );
    if (spec.input === 'pair')
      throw configError(
        `indicator ${indicator} needs two instruments`,
        'the correlate stage computes it: --set correlate.pairs=A~B',
      );
    for (const key of Object.keys(overrides))
      if (!(key in spec.params))
        throw configError(
          `indicator ${indicator} has no parameter '${key}'`,
          `its parameters are ${Object.keys(spec.params).join(', ')}`,
        );
    const params = { ...spec.params, ...overrides };
    createIndicator(indicator, params);
    const name = canonicalName(indicator, params);
    instances.set(name, { indicator, params, input: spec.input });
    return name;
  };
  for (const entry of config.indicators) {
    const [indicator, ...assignments] = entry.split(':');
    const overrides: Record<string, number> = {};
    for (const a of assignments) {
      const [key, value] = a.split('=');
      if (value === undefined)
        throw configError(
          `indicator entry '${entry}' has '${a}', not <param>=<value>`,
          'for example --set score.indicators=sma:period=50',
        );
      overrides[key] = parseNumber(value, `indicator entry '${entry}'`);
    }
    add(indicator, overrides);
  }
  const overridesOf = new Map<string, Record<string, number>>();
  for (const entry of config.params) {
    const match = /^([a-z0-9-]+)\.([A-Za-z0-9]+)=(.+)$/.exec(entry);
    if (!match)
      throw configError(
        `params entry '${entry}' is not <strategy>.<param>=<value>`,
        'for example --set score.params=ema-cross-rsi.fast=5',
      );
    overridesOf.set(match[1], {
      ...(overridesOf.get(match[1]) ?? {}),
      [match[2]]: parseNumber(match[3], `params entry '${entry}'`),
    });
  }
  for (const name of overridesOf.keys())
    if (!config.strategies.includes(name))
      throw configError(
        `params given for '${name}', which is not among the strategies run (${config.strategies.join(', ')})`,
        'add it to score.strategies or drop its params',
      );
  const strategies = config.strategies.map((name) => {
    const strategy = STRATEGIES[name];
    if (!strategy) throw configError(`unknown strategy '${name}'`, `use any of ${Object.keys(STRATEGIES).join(', ')}`);
    let params: Record<string, number>;
    try {
      params = strategyParams(name, overridesOf.get(name));
    } catch (error) {
      throw configError((error as Error).message, `see pipelines/score/README.md for each strategy's parameters`);
    }
    const aliases: Record<string, string> = {};
    for (const [alias, use] of Object.entries(strategy.indicators(params)))
      aliases[alias] = add(use.indicator, { ...use.params });
    return { strategy, params, aliases };
  });
  return { instances, strategies };
}

function barInput(bar: Bar): BarInput {
  return {
    open: bar.open.toNumber(),
    high: bar.high.toNumber(),
    low: bar.low.toNumber(),
    close: bar.close.toNumber(),
    volume: bar.volume.toNumber(),
    vwap: bar.vwap.toNumber(),
  };
}

/** An indicator's value as canonical entries: `name` for a number, `name.field` for each numeric field. */
function flatten(name: string, value: unknown, into: Record<string, number>): void {
  if (typeof value === 'number') into[name] = value;
  else if (value && typeof value === 'object')
    for (const [field, v] of Object.entries(value)) if (typeof v === 'number') into[`${name}.${field}`] = v;
}

/** A strategy's view of canonical values: its aliases in place of the canonical names. */
function aliased(canonical: Readonly<Record<string, number>>, aliases: Readonly<Record<string, string>>): Values {
  const view: Record<string, number> = { close: canonical.close, volume: canonical.volume };
  for (const [alias, name] of Object.entries(aliases)) {
    for (const [key, value] of Object.entries(canonical)) {
      if (key === name) view[alias] = value;
      else if (key.startsWith(`${name}.`)) view[`${alias}${key.slice(name.length)}`] = value;
    }
  }
  return view;
}

export function scoreStage(config: ScoreConfig): Stage<Bar> {
  for (const interval of config.intervals)
    if (intervalMicros(interval) === undefined)
      throw configError(`interval '${interval}' is not one aggregate makes`, 'use e.g. 1s, 1m, 5m');
  const plan = scorePlan(config);
  const intervals = new Set(config.intervals);
  return {
    name: 'score',
    inputs: ['md.bars.v1'],
    outputs: [FEATURES_OUTPUT, CANDIDATES_OUTPUT, RETURNS_OUTPUT],
    stores: ['indicators'],
    process(batch: readonly InputRecord<Bar>[], ctx: StageContext): StageResult {
      const store = ctx.store<ScoreState>('indicators');
      const out: OutputRecord[] = [];
      const changed = new Map<string, ScoreState>();
      for (const { value: bar } of batch) {
        if (!bar.final || !intervals.has(bar.interval)) continue;
        const key = `${bar.instrumentId}|${bar.interval}`;
        const state = changed.get(key) ??
          store.get(key) ?? { lastStart: Number.MIN_SAFE_INTEGER, snapshots: {}, previous: null };
        // A final bar comes once; one seen again (a replay, or a re-emission) was already scored.
        if (bar.tsStart <= state.lastStart) continue;
        const input = barInput(bar);
        const canonical: Record<string, number> = { close: input.close, volume: input.volume };
        const snapshots: Record<string, unknown> = {};
        for (const [name, instance] of plan.instances) {
          const indicator = createIndicator(instance.indicator, instance.params) as Indicator<unknown, unknown>;
          if (state.snapshots[name] !== undefined) indicator.restore(state.snapshots[name]);
          indicator.update(instance.input === 'bar' ? input : input.close);
          snapshots[name] = indicator.snapshot();
          if (indicator.initialized) flatten(name, indicator.value, canonical);
        }
        for (const [name, value] of Object.entries(canonical)) {
          if (name === 'close' || name === 'volume') continue;
          const feature: Feature = {
            instrumentId: bar.instrumentId,
            venue: bar.venue,
            symbol: bar.symbol,
            source: bar.source,
            tsEvent: bar.tsStart,
            tsRecv: bar.tsRecv,
            basis: bar.interval,
            name,
            value,
            exact: null,
            eventId: null,
          };
          out.push({ topic: FEATURES_OUTPUT, key: bar.instrumentId, value: feature });
        }
        if (state.previous && state.previous.close > 0 && input.close > 0) {
          const value: BarReturn = {
            instrumentId: bar.instrumentId,
            venue: bar.venue,
            symbol: bar.symbol,
            source: bar.source,
            interval: bar.interval,
            tsStart: bar.tsStart,
            tsRecv: bar.tsRecv,
            logReturn: Math.log(input.close / state.previous.close),
            close: bar.close,
          };
          // Keyed by interval: every instrument's returns of an interval meet in one partition (correlate).
          out.push({ topic: RETURNS_OUTPUT, key: bar.interval, value });
        }
        // Bars written before tsEnd existed carry 0: their end is start + interval.
        const end = bar.tsEnd > 0 ? bar.tsEnd : bar.tsStart + (intervalMicros(bar.interval) as number);
        for (const { strategy, params, aliases } of plan.strategies) {
          const draft = strategy.evaluate(
            {
              bar,
              values: aliased(canonical, aliases),
              previous: state.previous ? aliased(state.previous, aliases) : undefined,
            },
            params,
          );
          if (!draft) continue;
          const features: Record<string, number> = {};
          for (const key of draft.used) {
            const [alias, ...field] = key.split('.');
            const name = aliases[alias] ? [aliases[alias], ...field].join('.') : key;
            features[name] = canonical[name];
          }
          const candidate: Candidate = {
            id: `${strategy.name}:${bar.instrumentId}:${bar.interval}:${bar.tsStart}`,
            strategy: strategy.name,
            instrumentId: bar.instrumentId,
            venue: bar.venue,
            symbol: bar.symbol,
            source: bar.source,
            interval: bar.interval,
            side: draft.side,
            confidence: Math.min(1, Math.max(0, draft.confidence)),
            reason: draft.reason,
            price: bar.close,
            barStart: bar.tsStart,
            barRevision: bar.revision,
            tsEvent: end,
            tsRecv: bar.tsRecv,
            features,
          };
          out.push({ topic: CANDIDATES_OUTPUT, key: bar.instrumentId, value: candidate });
        }
        changed.set(key, { lastStart: bar.tsStart, snapshots, previous: canonical });
      }
      for (const [key, state] of changed) store.put(key, state);
      return { out, failed: [] };
    },
  };
}
