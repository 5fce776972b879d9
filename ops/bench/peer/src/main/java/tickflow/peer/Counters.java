package tickflow.peer;

import java.util.concurrent.atomic.LongAdder;

/**
 * What the peer has done, counted where it happens (so under exactly-once a count can include
 * records of a transaction that is still open, or that a crash aborted).
 */
final class Counters {
  /** Raw records read by normalize. */
  final LongAdder rawIn = new LongAdder();
  /** Canonical trades normalize forwarded to the trades topic. */
  final LongAdder tradesOut = new LongAdder();
  /** Raw records normalize sent to the dead-letter topic. */
  final LongAdder dlqOut = new LongAdder();
  /** Trades the bar stage read back from the trades topic. */
  final LongAdder tradesIn = new LongAdder();
  /** Final bars written to the bars topic. */
  final LongAdder barsOut = new LongAdder();

  /** Sum of all counts: it changes whenever anything was processed. */
  long activity() {
    return rawIn.sum() + tradesOut.sum() + dlqOut.sum() + tradesIn.sum() + barsOut.sum();
  }
}
