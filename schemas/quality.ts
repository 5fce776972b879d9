import type { QualityEvent } from './types.generated';

/**
 * The contract of md.quality.v1: its topic, the closed list of rules a finding names, and the record
 * a finding becomes. Shared by every stage that reports findings (normalize, aggregate) and by the
 * synthetic market that predicts them.
 */
export const QUALITY_TOPIC = 'md.quality.v1';

/**
 * LATE_TRADE is aggregate's: a trade later than its bars' allowed lateness. FAILOVER and FAILBACK are
 * normalize's arbitration (pipelines/normalize/arbitration.ts); the rest are normalize's quality rules.
 */
export type Rule =
  | 'LATE_TRADE'
  | 'FAILOVER'
  | 'FAILBACK'
  | 'FUTURE_TIMESTAMP'
  | 'NON_POSITIVE'
  | 'DUPLICATE_TRADE'
  | 'OUT_OF_ORDER'
  | 'PRICE_OUTLIER'
  | 'CROSSED_QUOTE'
  | 'LOCKED_QUOTE'
  | 'SEQUENCE_GAP'
  | 'STALE_FEED'
  | 'FEED_RESUMED';

export interface Finding {
  readonly rule: Rule;
  /** True: the record is withheld from canonical topics. False: reported only. */
  readonly flagged: boolean;
  readonly detail: string;
}

/** A finding as the md.quality.v1 record; `origin` locates the record (raw origin, or topic[partition]@offset). */
export function qualityEvent(
  stage: string,
  kind: string,
  record: { instrumentId: string; venue: string; symbol: string; source: string; tsEvent: number; tsRecv: number },
  finding: Finding,
  origin: string,
): QualityEvent {
  return {
    instrumentId: record.instrumentId,
    venue: record.venue,
    symbol: record.symbol,
    source: record.source,
    tsEvent: record.tsEvent,
    tsRecv: record.tsRecv,
    rule: finding.rule,
    flagged: finding.flagged,
    kind,
    stage,
    detail: finding.detail,
    origin,
    // Decimals serialise as their exact strings.
    record: finding.flagged ? JSON.stringify(record) : null,
  };
}
