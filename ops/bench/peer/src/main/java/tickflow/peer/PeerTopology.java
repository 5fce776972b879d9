package tickflow.peer;

import java.time.Duration;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.WallclockTimestampExtractor;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The peer's topology, two sub-topologies as tickflow's two stages:
 * <pre>
 *   input (raw records) -> normalize -> trades topic (key: instrument id)
 *                                    -> input.dlq (raw bytes)
 *   trades topic (event time = tsEvent) -> 1-minute windows, grace 2 s -> aggregate (store "bars")
 *       -> suppress until the window closes -> final Bar -> bars topic (key: instrument id)
 * </pre>
 * The bar stage reads the trades topic back, as tickflow's aggregate reads md.trades.v1: the trades
 * are already keyed by instrument, so no repartition topic is needed. Under exactly_once_v2 it sees
 * a trade once normalize's transaction committed, the same exactly-once hop tickflow makes.
 */
final class PeerTopology {
  static final String STORE = "bars";
  static final Duration WINDOW = Duration.ofMinutes(1);

  private PeerTopology() {}

  static Topology build(PeerOptions o, Schemas schemas, int tradeSchemaId, int barSchemaId, Counters counters) {
    StreamsBuilder builder = new StreamsBuilder();
    TradeSerde trades = new TradeSerde(schemas, tradeSchemaId, barSchemaId, counters);
    Duration grace = Duration.ofMillis(o.graceMs);

    Materialized<String, BarAccumulator, WindowStore<Bytes, byte[]>> store = o.inMemoryStore
        ? Materialized.<String, BarAccumulator>as(Stores.inMemoryWindowStore(STORE, WINDOW.plus(grace), WINDOW, false))
        : Materialized.<String, BarAccumulator, WindowStore<Bytes, byte[]>>as(STORE);
    store = store.withKeySerde(Serdes.String()).withValueSerde(BarAccumulator.serde());

    builder.stream(o.tradesTopic, Consumed.with(Serdes.String(), trades).withTimestampExtractor(new TradeTimestampExtractor()).withName("trades-source"))
        .groupByKey(Grouped.with("bars-group", Serdes.String(), trades))
        .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW, grace))
        .aggregate(BarAccumulator::new, (instrument, trade, bar) -> bar.add(trade), Named.as("bars-aggregate"), store)
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName("bars-suppress"))
        .toStream(Named.as("bars-closed"))
        .process(() -> new BarEmitter(new AvroCodec(schemas, tradeSchemaId, barSchemaId), counters), Named.as("bars-encode"))
        .to(o.barsTopic, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("bars-sink"));

    Topology topology = builder.build();
    topology
        // Output trades carry the wall-clock time normalize wrote them, as kafkajs's producer stamps tickflow's.
        .addSource(Topology.AutoOffsetReset.EARLIEST, "raw-source", new WallclockTimestampExtractor(), new ByteArrayDeserializer(), new ByteArrayDeserializer(), o.input)
        .addProcessor("normalize", () -> new NormalizeProcessor(new AvroCodec(schemas, tradeSchemaId, barSchemaId), counters), "raw-source")
        .addSink(NormalizeProcessor.TRADES_SINK, o.tradesTopic, new ByteArraySerializer(), new ByteArraySerializer(), "normalize")
        .addSink(NormalizeProcessor.DLQ_SINK, o.dlqTopic, new ByteArraySerializer(), new ByteArraySerializer(), "normalize");
    return topology;
  }
}
