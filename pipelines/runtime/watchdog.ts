/**
 * What a runner's consumer is waiting on: fetches in flight per broker and the phase of each batch
 * in flight. A healthy consumer makes progress at least every fetch wait (a fetch returns, empty or
 * not, within the fetch wait: 3 s by default); when nothing has moved for the stall limit, `stalled` names what is
 * pending and for how long, so a hang in the client or a broker call is visible instead of silent.
 */
export class Watchdog {
  private readonly fetches = new Map<number, number>();
  private readonly batches = new Map<string, { phase: string; since: number }>();
  private lastProgress: number;

  /** `onPhase` hears how long each batch phase lasted (for the phase histogram). */
  constructor(
    private readonly onPhase: (phase: string, ms: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.lastProgress = now();
  }

  fetchStarted(nodeId: number): void {
    this.fetches.set(nodeId, this.now());
  }

  fetchEnded(nodeId: number): void {
    this.fetches.delete(nodeId);
    this.progress();
  }

  /** A batch of partition `k` entered `phase` (decode, fence, restore, process, send, commit, write, ...). */
  phase(k: string, phase: string): void {
    const now = this.now();
    this.endPhase(k, now);
    this.batches.set(k, { phase, since: now });
    this.lastProgress = now;
  }

  batchEnded(k: string): void {
    const now = this.now();
    this.endPhase(k, now);
    this.batches.delete(k);
    this.lastProgress = now;
  }

  private endPhase(k: string, now: number): void {
    const current = this.batches.get(k);
    if (current) this.onPhase(current.phase, now - current.since);
  }

  progress(): void {
    this.lastProgress = this.now();
  }

  /** Milliseconds since anything moved. */
  idleFor(): number {
    return this.now() - this.lastProgress;
  }

  /**
   * A description of what is pending when nothing moved for `limitMs`, or when one batch has been
   * in the same phase that long (other partitions' progress must not hide a stuck one); undefined
   * otherwise.
   */
  stalled(limitMs: number): string | undefined {
    const now = this.now();
    const stuck = [...this.batches].filter(([, { since }]) => now - since >= limitMs);
    if (stuck.length > 0 && now - this.lastProgress < limitMs) {
      return stuck
        .map(([k, { phase, since }]) => `batch of ${k} in '${phase}' for ${((now - since) / 1000).toFixed(0)} s`)
        .join('; ');
    }
    if (now - this.lastProgress < limitMs) return undefined;
    const parts: string[] = [];
    for (const [nodeId, since] of this.fetches)
      parts.push(`fetch from broker ${nodeId} pending ${((now - since) / 1000).toFixed(0)} s`);
    for (const [k, { phase, since }] of this.batches)
      parts.push(`batch of ${k} in '${phase}' for ${((now - since) / 1000).toFixed(0)} s`);
    if (parts.length === 0) parts.push('no fetch and no batch in flight (the consumer is not fetching)');
    return `no progress for ${((now - this.lastProgress) / 1000).toFixed(0)} s: ${parts.join('; ')}`;
  }
}
