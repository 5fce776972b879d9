import type { RawRecord } from '../../schemas/types.generated';
import type { Finding } from './quality';

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
  /** The standby's recent records, oldest first. */
  buffer: { tsEvent: number; raw: RawRecord }[];
}

/** `a>b,c>d` pairs, keyed by both source names. */
export function parsePairs(entries: readonly string[]): Map<string, { primary: string; backup: string }> {
  const pairs = new Map<string, { primary: string; backup: string }>();
  for (const entry of entries) {
    const [primary, backup, extra] = entry.split('>').map((s) => s.trim());
    if (!primary || !backup || extra !== undefined || primary === backup) throw new RangeError(`normalize.arbitration: '${entry}' is not <primary source>><backup source>, e.g. binance-ws>tardis-file`);
    for (const source of [primary, backup]) if (pairs.has(source)) throw new RangeError(`normalize.arbitration: source '${source}' is in two pairs`);
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

export function arbitrate(current: ArbitrationState | undefined, raw: RawRecord, tsEvent: number, pair: { primary: string; backup: string }, config: ArbitrationConfig): Arbitrated {
  const failover = config.failoverAfterMs * 1000;
  // Changed in place (the caller stores it in the same batch; see KeyValueStore): the buffer can be long.
  const state: ArbitrationState = current ?? { active: pair.primary, lastHeard: {}, primaryHealthySince: null, buffer: [] };
  const source = raw.source;
  const previous = state.lastHeard[source];
  state.lastHeard[source] = Math.max(tsEvent, previous ?? tsEvent);
  if (source === pair.primary && (previous === undefined || tsEvent - previous > failover || state.primaryHealthySince === null)) state.primaryHealthySince = tsEvent;

  const findings: Finding[] = [];
  const switchTo = (next: string, finding: Finding): RawRecord[] => {
    const replay = state.buffer.map((b) => b.raw);
    state.active = next;
    state.buffer = [];
    findings.push({ ...finding, detail: `${finding.detail}; delivering ${replay.length} buffered record${replay.length === 1 ? '' : 's'} of ${next} first` });
    return replay;
  };
  let deliver: RawRecord[] = [];
  if (state.active === pair.primary && source === pair.backup) {
    const primaryHeard = state.lastHeard[pair.primary];
    if (primaryHeard === undefined || tsEvent - primaryHeard > failover) {
      deliver = switchTo(pair.backup, { rule: 'FAILOVER', flagged: false, detail: `${pair.primary} silent for ${primaryHeard === undefined ? 'ever' : `${((tsEvent - primaryHeard) / 1e6).toFixed(3)} s`} (limit ${config.failoverAfterMs / 1000} s): switched to ${pair.backup}` });
    }
  } else if (state.active === pair.backup && source === pair.primary && state.primaryHealthySince !== null && tsEvent - state.primaryHealthySince >= config.failbackAfterMs * 1000) {
    deliver = switchTo(pair.primary, { rule: 'FAILBACK', flagged: false, detail: `${pair.primary} healthy for ${((tsEvent - state.primaryHealthySince) / 1e6).toFixed(3)} s (window ${config.failbackAfterMs / 1000} s): switched back from ${pair.backup}` });
  }
  if (source === state.active) {
    deliver.push(raw);
  } else {
    state.buffer.push({ tsEvent, raw });
    const horizon = state.lastHeard[source] - failover;
    let stale = 0;
    while (stale < state.buffer.length && state.buffer[stale].tsEvent < horizon) stale++;
    if (stale > 0) state.buffer.splice(0, stale);
  }
  return { state, deliver, findings };
}
