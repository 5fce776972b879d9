import type { RawRecord } from '../../schemas/types.generated';
import type { ChunkedLogState } from './chunked-log';
import type { Finding } from '../../schemas/quality';
import { TickflowError } from '../runtime/errors';

/**
 * Multi-source arbitration, per instrument, pure. The same instrument comes from a primary and a
 * backup source (`normalize.arbitration`, pairs `primary>backup` by source name). Only the active
 * source's records go on; the standby's are kept in a short buffer (its last `failoverAfterMs` of
 * exchange time). Liveness is exchange time: any record or heartbeat of a source shows it alive.
 *
 * - Failover: the primary is active and a backup record arrives more than `failoverAfterMs` after
 *   the primary was last heard from: the backup becomes active (FAILOVER, reported) and its buffer
 *   is delivered first, so what the backup saw while the primary was going quiet is not lost.
 * - Failback: the backup is active and the primary has been heard from without a pause longer than
 *   `failoverAfterMs` for `failbackAfterMs`: the primary becomes active again (FAILBACK), its buffer first.
 * Records the two sources both delivered are counted once: normalize skips a trade whose id the
 * other source already delivered and a quote or book not newer than the newest delivered (these
 * skips are the arbitration working, not faults; the switch findings count them).
 * The standby buffer is bounded (`StandbyBuffer`): past its bound the oldest standby records are
 * dropped, and a switch that delivers the buffer says how many were (they may be records the
 * primary missed).
 */
export interface ArbitrationConfig {
  readonly pairs: ReadonlyMap<string, { primary: string; backup: string }>;
  readonly failoverAfterMs: number;
  readonly failbackAfterMs: number;
}

export interface ArbitrationState {
  active: string;
  /** Newest exchange time heard from each source. */
  lastHeard: Record<string, number>;
  /** Since when the primary has been heard without a long pause (null: not heard yet). */
  primaryHealthySince: number | null;
  /** Bookkeeping of the standby's recent records (kept by the StandbyBuffer, oldest first). */
  buffer: ChunkedLogState;
  /** Standby records dropped by the buffer's bound since the last switch. */
  dropped?: number;
}

export interface Buffered {
  tsEvent: number;
  raw: RawRecord;
}

/** The standby source's recent records, bounded (an implementation drops the oldest past its bound). */
export interface StandbyBuffer {
  /** Keeps a record; returns how many records the bound dropped to make room (or 1 if this one was not kept). */
  push(entry: Buffered): number;
  /** Forgets records older than `before` (exchange time). */
  dropBefore(before: number): void;
  /** Every record kept, oldest first; the buffer is emptied. */
  drain(): Buffered[];
}

/** `a>b,c>d` pairs, keyed by both source names. */
export function parsePairs(entries: readonly string[]): Map<string, { primary: string; backup: string }> {
  const pairs = new Map<string, { primary: string; backup: string }>();
  for (const entry of entries) {
    const [primary, backup, extra] = entry.split('>').map((s) => s.trim());
    if (!primary || !backup || extra !== undefined || primary === backup)
      throw new TickflowError(
        'CONFIG',
        `normalize.arbitration: '${entry}' is not <primary source>><backup source>, e.g. binance-ws>tardis-file`,
      );
    for (const source of [primary, backup])
      if (pairs.has(source))
        throw new TickflowError('CONFIG', `normalize.arbitration: source '${source}' is in two pairs`);
    pairs.set(primary, { primary, backup });
    pairs.set(backup, { primary, backup });
  }
  return pairs;
}

export interface Arbitrated {
  readonly state: ArbitrationState;
  /** Records to deliver now, in order (a switched-to source's buffer, then possibly this one). */
  readonly deliver: readonly RawRecord[];
  /** FAILOVER / FAILBACK, reported on md.quality.v1. */
  readonly findings: readonly Finding[];
}

export function emptyArbitration(primary: string): ArbitrationState {
  return { active: primary, lastHeard: {}, primaryHealthySince: null, buffer: { next: 0, chunks: [] } };
}

/** `state` is changed in place (the caller stores it in the same batch; see KeyValueStore). */
export function arbitrate(
  state: ArbitrationState,
  raw: RawRecord,
  tsEvent: number,
  pair: { primary: string; backup: string },
  config: ArbitrationConfig,
  buffer: StandbyBuffer,
): Arbitrated {
  const failover = config.failoverAfterMs * 1000;
  const source = raw.source;
  const previous = state.lastHeard[source];
  state.lastHeard[source] = Math.max(tsEvent, previous ?? tsEvent);
  if (
    source === pair.primary &&
    (previous === undefined || tsEvent - previous > failover || state.primaryHealthySince === null)
  )
    state.primaryHealthySince = tsEvent;

  const findings: Finding[] = [];
  const switchTo = (next: string, finding: Finding): RawRecord[] => {
    const replay = buffer.drain().map((b) => b.raw);
    const dropped = state.dropped ?? 0;
    state.active = next;
    state.dropped = 0;
    const lost =
      dropped > 0
        ? `; ${dropped} older standby record${dropped === 1 ? ' was' : 's were'} dropped by the buffer's bound`
        : '';
    findings.push({
      ...finding,
      detail: `${finding.detail}; delivering ${replay.length} buffered record${replay.length === 1 ? '' : 's'} of ${next} first${lost}`,
    });
    return replay;
  };
  let deliver: RawRecord[] = [];
  if (state.active === pair.primary && source === pair.backup) {
    const primaryHeard = state.lastHeard[pair.primary];
    if (primaryHeard === undefined || tsEvent - primaryHeard > failover) {
      deliver = switchTo(pair.backup, {
        rule: 'FAILOVER',
        flagged: false,
        detail: `${pair.primary} silent for ${primaryHeard === undefined ? 'ever' : `${((tsEvent - primaryHeard) / 1e6).toFixed(3)} s`} (limit ${config.failoverAfterMs / 1000} s): switched to ${pair.backup}`,
      });
    }
  } else if (
    state.active === pair.backup &&
    source === pair.primary &&
    state.primaryHealthySince !== null &&
    tsEvent - state.primaryHealthySince >= config.failbackAfterMs * 1000
  ) {
    deliver = switchTo(pair.primary, {
      rule: 'FAILBACK',
      flagged: false,
      detail: `${pair.primary} healthy for ${((tsEvent - state.primaryHealthySince) / 1e6).toFixed(3)} s (window ${config.failbackAfterMs / 1000} s): switched back from ${pair.backup}`,
    });
  }
  if (source === state.active) {
    deliver.push(raw);
  } else {
    buffer.dropBefore(state.lastHeard[source] - failover);
    const dropped = buffer.push({ tsEvent, raw });
    if (dropped > 0) state.dropped = (state.dropped ?? 0) + dropped;
  }
  return { state, deliver, findings };
}
