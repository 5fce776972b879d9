import type { RunningVolume, Trade } from '../../schemas/types.generated';
import { Decimal } from '../../schemas/decimal';
import type { FailedRecord, InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';

/**
 * running-volume: the runtime's reference stateful stage. For every trade it emits the
 * instrument's cumulative volume and trade count so far. Its state (per instrument) lives in the
 * `totals` store, so a crash, restart or rebalance must neither lose nor double count a trade;
 * the crash and rebalance tests check exactly that.
 */
export interface Totals {
  /** Trades counted so far. */
  count: number;
  /** Sum of sizes so far, as an exact decimal string. */
  volume: string;
}

export const RUNNING_VOLUME_OUTPUT = 'md.volume.v1';

export const runningVolumeStage: Stage<Trade> = {
  name: 'running-volume',
  inputs: ['md.trades.v1'],
  outputs: [RUNNING_VOLUME_OUTPUT],
  stores: ['totals'],
  process(batch: readonly InputRecord<Trade>[], ctx: StageContext): StageResult {
    const totals = ctx.store<Totals>('totals');
    const out: OutputRecord[] = [];
    const failed: FailedRecord[] = [];
    for (const input of batch) {
      const trade = input.value;
      if (!trade.size.isPositive() || trade.size.isZero()) {
        failed.push({
          input,
          code: 'INVALID_VALUE',
          message: `trade ${trade.tradeId} of ${trade.instrumentId} has size ${trade.size.toFixed()}; sizes must be positive`,
        });
        continue;
      }
      const before = totals.get(trade.instrumentId) ?? { count: 0, volume: '0' };
      const after: Totals = { count: before.count + 1, volume: new Decimal(before.volume).plus(trade.size).toFixed() };
      totals.put(trade.instrumentId, after);
      const value: RunningVolume = {
        instrumentId: trade.instrumentId,
        venue: trade.venue,
        symbol: trade.symbol,
        source: trade.source,
        tsEvent: trade.tsEvent,
        tsRecv: trade.tsRecv,
        tradeId: trade.tradeId,
        tradeCount: after.count,
        volume: new Decimal(after.volume),
        lastPrice: trade.price,
      };
      out.push({ topic: RUNNING_VOLUME_OUTPUT, key: trade.instrumentId, value });
    }
    return { out, failed };
  },
};
