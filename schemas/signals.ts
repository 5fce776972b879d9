/**
 * The closed list of reasons validate rejects a candidate for (signals.rejected.v1 and the `signals`
 * table's `reject_code`); consumers may switch on them. Adding one is a contract change: document it
 * in pipelines/validate/README.md and in signal.avsc's `rejectCode` doc.
 */
export const SIGNAL_REJECT_CODES = ['STALE', 'LOW_CONFIDENCE', 'OUTSIDE_SESSION', 'DUPLICATE'] as const;
export type SignalRejectCode = (typeof SIGNAL_REJECT_CODES)[number];
