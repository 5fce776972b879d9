import type { SignalRejectCode } from '../../schemas/signals';
import type { Candidate, Signal } from '../../schemas/types.generated';
import { instrumentRef, sessionOpen } from '../../connectors/reference/instruments';
import type { ConfigOf, ConfigSchema } from '../runtime/config';
import type { InputRecord, OutputRecord, Stage, StageContext, StageResult } from '../runtime/stage';

/**
 * validate: the gate before risk (strategy.candidates.v1 -> signals.v1, signals.rejected.v1). It
 * drops nothing: each candidate is either ACCEPTED onto signals.v1 or REJECTED onto
 * signals.rejected.v1 with a code and the numbers behind it; both land in QuestDB `signals`.
 * Checks, in order (the first that fails decides):
 * - STALE: older than `maxAgeMs` by the validation clock: the wall clock (`clock` = wall, live
 *   trading) or the instrument's newest candidate time (`clock` = event, replays and backtests);
 * - LOW_CONFIDENCE: below `minConfidence`;
 * - OUTSIDE_SESSION: the instrument's trading session (reference catalog) is closed at the signal time;
 * - DUPLICATE: the same candidate again, or one with the same strategy, instrument, interval and
 *   side within `cooldownMs` (exchange time) of the last accepted one.
 * State (the last accepted signal per strategy/instrument/interval/side and the event clock per
 * instrument) is in store `signals`.
 */
export const VALIDATE_CONFIG = {
  minConfidence: {
    type: 'number',
    default: 0.6,
    min: 0,
    max: 1,
    description: 'reject candidates below this confidence (0 to 1)',
  },
  maxAgeMs: {
    type: 'number',
    default: 10_000,
    min: 0,
    integer: true,
    description: 'reject candidates older than this by the validation clock',
  },
  cooldownMs: {
    type: 'number',
    default: 300_000,
    min: 0,
    integer: true,
    description: 'reject a repeat of an accepted signal (same strategy, instrument, interval, side) within this long',
  },
  clock: {
    type: 'string',
    default: 'wall',
    choices: ['wall', 'event'],
    description:
      "wall: age against the wall clock (live); event: against the instrument's newest candidate (replays, backtests)",
  },
} as const satisfies ConfigSchema;

export type ValidateConfig = ConfigOf<typeof VALIDATE_CONFIG>;

export const SIGNALS_OUTPUT = 'signals.v1';
export const REJECTED_OUTPUT = 'signals.rejected.v1';

type Entry = { kind: 'accepted'; id: string; tsEvent: number } | { kind: 'clock'; tsEvent: number };

export function validateStage(config: ValidateConfig): Stage<Candidate> {
  return {
    name: 'validate',
    inputs: ['strategy.candidates.v1'],
    outputs: [SIGNALS_OUTPUT, REJECTED_OUTPUT],
    stores: ['signals'],
    process(batch: readonly InputRecord<Candidate>[], ctx: StageContext): StageResult {
      const store = ctx.store<Entry>('signals');
      const out: OutputRecord[] = [];
      const pending = new Map<string, Entry>();
      const get = (key: string): Entry | undefined => pending.get(key) ?? store.get(key);
      const put = (key: string, entry: Entry): void => {
        pending.set(key, entry);
      };
      for (const { value: c } of batch) {
        const wall = ctx.clock.nowMicros();
        const clockKey = `clock|${c.instrumentId}`;
        const newest = Math.max(c.tsEvent, get(clockKey)?.tsEvent ?? c.tsEvent);
        put(clockKey, { kind: 'clock', tsEvent: newest });
        const now = config.clock === 'wall' ? wall : newest;
        const cooldownKey = `${c.strategy}|${c.instrumentId}|${c.interval}|${c.side}`;
        const last = get(cooldownKey);
        const session = instrumentRef(c.instrumentId).session;
        let reject: { code: SignalRejectCode; detail: string } | undefined;
        if (now - c.tsEvent > config.maxAgeMs * 1000) {
          reject = {
            code: 'STALE',
            detail: `${((now - c.tsEvent) / 1e6).toFixed(3)} s old by the ${config.clock} clock (limit ${config.maxAgeMs / 1000} s)`,
          };
        } else if (!(c.confidence >= config.minConfidence)) {
          reject = {
            code: 'LOW_CONFIDENCE',
            detail: `confidence ${c.confidence.toFixed(3)} is below ${config.minConfidence}`,
          };
        } else if (!sessionOpen(session, c.tsEvent)) {
          reject = {
            code: 'OUTSIDE_SESSION',
            detail: `the ${session.name} session of ${c.instrumentId} is closed at ${new Date(c.tsEvent / 1000).toISOString()}`,
          };
        } else if (
          last?.kind === 'accepted' &&
          (last.id === c.id || c.tsEvent - last.tsEvent < config.cooldownMs * 1000)
        ) {
          reject = {
            code: 'DUPLICATE',
            detail:
              last.id === c.id
                ? `${c.id} was already accepted`
                : `${c.side} from ${c.strategy} was accepted ${((c.tsEvent - last.tsEvent) / 1e6).toFixed(0)} s earlier (${last.id}); cooldown ${config.cooldownMs / 1000} s`,
          };
        }
        const signal: Signal = {
          ...c,
          status: reject ? 'REJECTED' : 'ACCEPTED',
          rejectCode: reject?.code ?? null,
          rejectDetail: reject?.detail ?? null,
          tsValidated: wall,
        };
        out.push({ topic: reject ? REJECTED_OUTPUT : SIGNALS_OUTPUT, key: c.instrumentId, value: signal });
        if (!reject) put(cooldownKey, { kind: 'accepted', id: c.id, tsEvent: c.tsEvent });
      }
      for (const [key, entry] of pending) store.put(key, entry);
      return { out, failed: [] };
    },
  };
}
