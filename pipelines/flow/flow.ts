import type { Feature, Quote, Trade } from '../../schemas/types.generated';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';
import type { QuoteInput, SweepValue, TradeInput, VpinValue } from '../indicators/flow';
import { OrderFlowImbalance, SweepDetector, Vpin } from '../indicators/flow';
import { canonicalName } from '../indicators/registry';

/**
 * flow: order-flow analytics per instrument from every quote and trade (md.quotes.v1, md.trades.v1
 * -> md.features.v1): order-flow imbalance after each quote (basis `quote`), VPIN each time a volume
 * bucket completes and sweeps when detected (basis `trade`). Feature names are canonical as in
 * score: `ofi_50`, `vpin_10_50`, `sweep_50_3` (the side times the levels swept) and
 * `sweep_50_3.volume`. The indicators' state is in store `flow`, restored once per instrument per
 * batch and saved once at its end.
 */
export const FLOW_CONFIG = {
  ofiWindow: {
    type: 'number',
    default: 50,
    min: 1,
    max: 10_000,
    integer: true,
    description: 'quote updates summed in the order-flow imbalance',
  },
  vpinBucketVolume: {
    type: 'number',
    default: 10,
    positive: true,
    max: 1e15,
    description: "volume per VPIN bucket (base-asset units; choose about 1/50 of a day's volume)",
  },
  vpinBuckets: {
    type: 'number',
    default: 50,
    min: 1,
    max: 10_000,
    integer: true,
    description: 'buckets averaged in VPIN',
  },
  sweepWindowMs: {
    type: 'number',
    default: 50,
    min: 0,
    max: 3_600_000,
    description: 'most time between two trades of one sweep',
  },
  sweepMinLevels: {
    type: 'number',
    default: 3,
    min: 1,
    max: 10_000,
    integer: true,
    description: 'prices a run of same-side trades must go through to be a sweep',
  },
} as const satisfies ConfigSchema;

export type FlowConfig = ConfigOf<typeof FLOW_CONFIG>;

interface FlowState {
  ofi: unknown;
  vpin: unknown;
  sweep: unknown;
}

const SIDE = { BUY: 1, SELL: -1, UNKNOWN: 0 } as const;

export function flowStage(config: FlowConfig): Stage<Trade | Quote> {
  const names = {
    ofi: canonicalName('ofi', { window: config.ofiWindow }),
    vpin: canonicalName('vpin', { bucketVolume: config.vpinBucketVolume, buckets: config.vpinBuckets }),
    sweep: canonicalName('sweep', { windowMs: config.sweepWindowMs, minLevels: config.sweepMinLevels }),
  };
  return {
    name: 'flow',
    inputs: ['md.trades.v1', 'md.quotes.v1'],
    outputs: ['md.features.v1'],
    stores: ['flow'],
    process(batch: readonly InputRecord<Trade | Quote>[], ctx: StageContext): StageResult {
      const store = ctx.store<FlowState>('flow');
      const live = new Map<string, { ofi: OrderFlowImbalance; vpin: Vpin; sweep: SweepDetector }>();
      const out: OutputRecord[] = [];
      const indicatorsOf = (id: string) => {
        let set = live.get(id);
        if (!set) {
          set = {
            ofi: new OrderFlowImbalance(config.ofiWindow),
            vpin: new Vpin(config.vpinBucketVolume, config.vpinBuckets),
            sweep: new SweepDetector(config.sweepWindowMs, config.sweepMinLevels),
          };
          const saved = store.get(id);
          if (saved) {
            set.ofi.restore(saved.ofi);
            set.vpin.restore(saved.vpin);
            set.sweep.restore(saved.sweep);
          }
          live.set(id, set);
        }
        return set;
      };
      const feature = (r: Trade | Quote, basis: string, name: string, value: number): void => {
        // The event a value came from: the quote's sequence or the trade's id (quotes and trades share milliseconds).
        const eventId = 'tradeId' in r ? r.tradeId : r.sequence === null ? null : String(r.sequence);
        const f: Feature = {
          instrumentId: r.instrumentId,
          venue: r.venue,
          symbol: r.symbol,
          source: r.source,
          tsEvent: r.tsEvent,
          tsRecv: r.tsRecv,
          basis,
          name,
          value,
          exact: null,
          eventId,
        };
        out.push({ topic: 'md.features.v1', key: r.instrumentId, value: f });
      };
      for (const input of batch) {
        const set = indicatorsOf(input.value.instrumentId);
        if (input.topic === 'md.quotes.v1') {
          const q = input.value as Quote;
          const quote: QuoteInput = {
            bidPrice: q.bidPrice.toNumber(),
            bidSize: q.bidSize.toNumber(),
            askPrice: q.askPrice.toNumber(),
            askSize: q.askSize.toNumber(),
          };
          set.ofi.update(quote);
          if (set.ofi.initialized) feature(q, 'quote', names.ofi, set.ofi.value as number);
          continue;
        }
        const t = input.value as Trade;
        const trade: TradeInput = {
          price: t.price.toNumber(),
          size: t.size.toNumber(),
          side: SIDE[t.side],
          tsEvent: t.tsEvent,
        };
        const before = (set.vpin.value as VpinValue | undefined)?.buckets;
        set.vpin.update(trade);
        const after = set.vpin.value as VpinValue | undefined;
        if (after && after.buckets !== before) feature(t, 'trade', names.vpin, after.vpin);
        set.sweep.update(trade);
        const sweep = set.sweep.value as SweepValue | undefined;
        if (sweep) {
          feature(t, 'trade', names.sweep, sweep.side * sweep.levels);
          feature(t, 'trade', `${names.sweep}.volume`, sweep.volume);
        }
      }
      for (const [id, set] of live)
        store.put(id, { ofi: set.ofi.snapshot(), vpin: set.vpin.snapshot(), sweep: set.sweep.snapshot() });
      return { out, failed: [] };
    },
  };
}
