package tickflow.peer;

import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Trades on the trades topic as the bar stage reads them: Avro of schemas/trade.avsc behind the
 * 5-byte header. Kafka Streams may share one serde between stream threads, so each thread decodes
 * with a codec of its own. Also counts the trades the bar stage reads.
 */
final class TradeSerde implements Serde<Trade> {
  private final ThreadLocal<AvroCodec> codecs;
  private final Counters counters;

  TradeSerde(Schemas schemas, int tradeSchemaId, int barSchemaId, Counters counters) {
    this.codecs = ThreadLocal.withInitial(() -> new AvroCodec(schemas, tradeSchemaId, barSchemaId));
    this.counters = counters;
  }

  @Override
  public Serializer<Trade> serializer() {
    return (topic, trade) -> trade == null ? null : codecs.get().encodeTrade(trade);
  }

  @Override
  public Deserializer<Trade> deserializer() {
    return (topic, data) -> {
      if (data == null) return null;
      Trade trade = codecs.get().decodeTrade(data);
      counters.tradesIn.increment();
      return trade;
    };
  }
}
