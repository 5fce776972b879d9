package tickflow.peer;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.TimestampExtractor;

/**
 * Event time of a trade for the 1-minute windows: its tsEvent (microseconds) in milliseconds,
 * rounded down. Bucket edges are whole minutes, so a trade lands in the same window as it does in
 * tickflow's microsecond buckets, and "stream time >= end + grace" holds exactly when tickflow's
 * microsecond watermark reaches end + allowed lateness.
 */
final class TradeTimestampExtractor implements TimestampExtractor {
  @Override
  public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
    if (record.value() instanceof Trade trade) return Math.floorDiv(trade.tsEvent(), 1000L);
    throw new IllegalStateException("the trades topic holds a record that is not a trade at " + record.topic() + "[" + record.partition() + "]@" + record.offset());
  }
}
