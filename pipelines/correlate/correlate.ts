import type { BarReturn, Feature } from '../../schemas/types.generated';
import { TickflowError } from '../runtime/errors';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import { RollingCorrelation } from '../indicators/pairs';
import { intervalMicros } from '../../schemas/intervals';

/**
 * correlate: rolling correlation of configured instrument pairs (md.returns.v1 -> md.features.v1).
 * md.returns.v1 is keyed by interval, so all instruments' bar returns of an interval meet here. For
 * each pair `A~B`, returns are aligned by bar start (a bar only one of them had waits up to
 * `alignBars` bars for the other, then is dropped); the Pearson correlation of the last `window`
 * aligned returns goes out for both instruments: feature `corr_<window>`, basis `<interval>~<other>`.
 * State per pair and interval is in store `pairs`.
 */
export const CORRELATE_CONFIG = {
  pairs: { type: 'list', default: [], description: 'instrument pairs A~B, e.g. BINANCE:BTCUSDT~BINANCE:ETHUSDT' },
  window: {
    type: 'number',
    default: 30,
    min: 2,
    max: 10_000,
    integer: true,
    description: 'aligned returns in the correlation',
  },
  alignBars: {
    type: 'number',
    default: 5,
    min: 1,
    max: 1000,
    integer: true,
    description: "bars a return waits for the other instrument's return of the same bar",
  },
} as const satisfies ConfigSchema;

export type CorrelateConfig = ConfigOf<typeof CORRELATE_CONFIG>;

interface PairState {
  /** bar start -> the returns seen so far for it ([a, b]; null: not yet). */
  pending: Record<string, [number | null, number | null]>;
  corr: unknown;
}

export function correlateStage(config: CorrelateConfig): Stage<BarReturn> {
  const pairs = config.pairs.map((entry) => {
    const [a, b, extra] = entry.split('~');
    if (!a || !b || extra !== undefined || a === b)
      throw new TickflowError(
        'CONFIG',
        `correlate.pairs: '${entry}' is not <instrument>~<other instrument>`,
        'for example --set correlate.pairs=BINANCE:BTCUSDT~BINANCE:ETHUSDT',
      );
    return { a, b };
  });
  const name = `corr_${config.window}`;
  return {
    name: 'correlate',
    inputs: ['md.returns.v1'],
    outputs: ['md.features.v1'],
    stores: ['pairs'],
    process(batch: readonly InputRecord<BarReturn>[], ctx: StageContext): StageResult {
      const store = ctx.store<PairState>('pairs');
      const out: OutputRecord[] = [];
      for (const { value: r } of batch) {
        for (const { a, b } of pairs) {
          const side = r.instrumentId === a ? 0 : r.instrumentId === b ? 1 : -1;
          if (side < 0) continue;
          const key = `${a}~${b}|${r.interval}`;
          const state = store.get(key) ?? { pending: {}, corr: undefined };
          const slot = state.pending[r.tsStart] ?? [null, null];
          slot[side as 0 | 1] = r.logReturn;
          state.pending[r.tsStart] = slot;
          const corr = new RollingCorrelation(config.window);
          if (state.corr !== undefined) corr.restore(state.corr);
          if (slot[0] !== null && slot[1] !== null) {
            delete state.pending[r.tsStart];
            corr.update({ x: slot[0], y: slot[1] });
            const value = corr.value;
            if (value !== undefined) {
              for (const [id, other] of [
                [a, b],
                [b, a],
              ]) {
                const feature: Feature = {
                  instrumentId: id,
                  venue: id.slice(0, id.indexOf(':')),
                  symbol: id.slice(id.indexOf(':') + 1),
                  source: r.source,
                  tsEvent: r.tsStart,
                  tsRecv: r.tsRecv,
                  basis: `${r.interval}~${other}`,
                  name,
                  value,
                  exact: null,
                  eventId: null,
                };
                out.push({ topic: 'md.features.v1', key: id, value: feature });
              }
            }
          }
          const horizon = r.tsStart - config.alignBars * (intervalMicros(r.interval) ?? 0);
          for (const start of Object.keys(state.pending)) if (Number(start) < horizon) delete state.pending[start];
          store.put(key, { pending: state.pending, corr: corr.snapshot() });
        }
      }
      return { out, failed: [] };
    },
  };
}
