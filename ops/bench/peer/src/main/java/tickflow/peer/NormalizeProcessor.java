package tickflow.peer;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * normalize for Tardis trades: raw record -> canonical trade keyed by instrument id, or the raw
 * bytes (key and value as read) to the dead-letter topic with the reason in headers. Stateless, one
 * instance per task.
 */
final class NormalizeProcessor implements Processor<byte[], byte[], byte[], byte[]> {
  static final String TRADES_SINK = "trades-sink";
  static final String DLQ_SINK = "dlq-sink";

  private final AvroCodec codec;
  private final Counters counters;
  private ProcessorContext<byte[], byte[]> context;

  NormalizeProcessor(AvroCodec codec, Counters counters) {
    this.codec = codec;
    this.counters = counters;
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    counters.rawIn.increment();
    byte[] key;
    byte[] value;
    try {
      AvroCodec.Raw raw = codec.decodeRaw(record.value());
      if (!TardisTrades.FORMAT.equals(raw.format())) {
        throw new RecordException("UNSUPPORTED_FORMAT", "format '" + Decimals.bounded(raw.format(), 40) + "' is not " + TardisTrades.FORMAT + " (the only format the peer parses)");
      }
      Trade trade = TardisTrades.parse(raw.source(), raw.payload());
      // aggregate refuses these as INVALID_VALUE (normalize's NON_POSITIVE rule flags them first).
      if (trade.price().signum() <= 0 || trade.size().signum() <= 0) {
        throw new RecordException("INVALID_VALUE", "trade " + trade.tradeId() + " of " + trade.instrumentId() + " has price "
            + trade.price().toPlainString() + " and size " + trade.size().toPlainString() + "; both must be positive");
      }
      key = trade.instrumentId().getBytes(StandardCharsets.UTF_8);
      value = codec.encodeTrade(trade);
    } catch (RecordException e) {
      RecordHeaders headers = new RecordHeaders();
      headers.add("tickflow.error.code", e.code.getBytes(StandardCharsets.UTF_8));
      headers.add("tickflow.error.message", e.getMessage().getBytes(StandardCharsets.UTF_8));
      context.forward(new Record<>(record.key(), record.value(), record.timestamp(), headers), DLQ_SINK);
      counters.dlqOut.increment();
      return;
    }
    context.forward(new Record<>(key, value, record.timestamp()), TRADES_SINK);
    counters.tradesOut.increment();
  }
}
