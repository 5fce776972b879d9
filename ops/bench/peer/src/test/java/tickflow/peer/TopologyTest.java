package tickflow.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole topology without a broker (Kafka Streams' TopologyTestDriver, exactly_once_v2): every
 * line of the trades fixture, plus bad lines, in as raw records. The trade and bar bodies must be
 * byte for byte what tickflow's own code writes for the same lines: the digests below were computed
 * with tickflow's compiled TypeScript (connectors/tardis/formats.ts parse, schemas/avro.ts
 * avroType('trade'/'bar'), pipelines/aggregate/bars.ts addTrade/toBar with 1-minute buckets,
 * allowed lateness 2 s, final bars only).
 */
class TopologyTest {
  static final String INPUT = "md.raw.tardis.v1";
  static final int TRADE_ID = 11;
  static final int BAR_ID = 12;
  /** SHA-256 of the 9,999 trade bodies (no header) tickflow writes for the fixture, in order. */
  static final String TICKFLOW_TRADES_SHA256 = "a53a4d1d9dce27f1e158b9453a5b29dffcd6f4de0d22ec9cb98bdc5bd0c59cc0";
  /** SHA-256 of the 125 final 1m bar bodies tickflow writes once its watermark passes end + 2 s. */
  static final String TICKFLOW_BARS_SHA256 = "5355c7ec5e0f3aa84faa4e8146bfb2b1a5f0382f1327ad8dee08925e9ce53d5b";

  @TempDir
  Path stateDir;

  private TopologyTestDriver driver(String store, Counters counters) {
    PeerOptions options = PeerOptions.parse(new String[] {"--input", INPUT, "--store", store}, Map.of());
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "peer-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(store).toString());
    return new TopologyTestDriver(PeerTopology.build(options, Schemas.load(null), TRADE_ID, BAR_ID, counters), props);
  }

  @Test
  void fixtureThroughTheTopologyMatchesTickflow() throws Exception {
    Schemas schemas = Schemas.load(null);
    Counters counters = new Counters();
    try (TopologyTestDriver driver = driver("memory", counters)) {
      TestInputTopic<byte[], byte[]> raw = driver.createInputTopic(INPUT, new ByteArraySerializer(), new ByteArraySerializer());
      TestOutputTopic<byte[], byte[]> trades = driver.createOutputTopic("md.trades.v1", new ByteArrayDeserializer(), new ByteArrayDeserializer());
      TestOutputTopic<byte[], byte[]> bars = driver.createOutputTopic("md.bars.v1", new ByteArrayDeserializer(), new ByteArrayDeserializer());
      TestOutputTopic<byte[], byte[]> dlq = driver.createOutputTopic(INPUT + ".dlq", new ByteArrayDeserializer(), new ByteArrayDeserializer());

      List<String> lines = ParseAndEncodeTest.fixtureLines();
      GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(schemas.rawRecord);
      long sequence = 0;
      for (String line : lines) raw.pipeInput(vendorKey(line), rawRecord(writer, schemas, "tardis-trades", ++sequence, line));
      byte[] notAvro = "not avro".getBytes(StandardCharsets.UTF_8);
      raw.pipeInput("x:y".getBytes(StandardCharsets.UTF_8), notAvro);
      raw.pipeInput(null, rawRecord(writer, schemas, "tardis-trades", ++sequence, "binance-futures,BTCUSDT,1582337147728000,1582337147800000,1,buy,9682.0000000000001,1"));
      raw.pipeInput(null, rawRecord(writer, schemas, "tardis-quotes", ++sequence, "binance-futures,BTCUSDT,1582337147728000,1582337147800000,1,2,3,4"));
      raw.pipeInput(null, rawRecord(writer, schemas, "tardis-trades", ++sequence, "binance-futures,BTCUSDT,1582337147728000,1582337147800000,1,buy,0,1"));

      // Trades: keyed by instrument, header with the trade schema id, bodies as tickflow writes them.
      List<TestRecord<byte[], byte[]>> tradeRecords = trades.readRecordsToList();
      assertEquals(lines.size(), tradeRecords.size());
      MessageDigest tradeDigest = MessageDigest.getInstance("SHA-256");
      for (TestRecord<byte[], byte[]> r : tradeRecords) {
        assertEquals("BINANCE-FUT:BTCUSDT", new String(r.key(), StandardCharsets.UTF_8));
        assertEquals("000000000b", HexFormat.of().formatHex(r.value(), 0, 5));
        tradeDigest.update(r.value(), 5, r.value().length - 5);
      }
      assertEquals(TICKFLOW_TRADES_SHA256, HexFormat.of().formatHex(tradeDigest.digest()));

      // Dead letters: the raw bytes as read, with the reason.
      List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
      assertEquals(4, dead.size());
      assertTrue(Arrays.equals(notAvro, dead.get(0).value()));
      assertEquals("DECODE_ERROR", header(dead.get(0), "tickflow.error.code"));
      assertTrue(header(dead.get(1), "tickflow.error.message").contains("has 13 decimal places"), header(dead.get(1), "tickflow.error.message"));
      assertEquals("UNSUPPORTED_FORMAT", header(dead.get(2), "tickflow.error.code"));
      assertEquals("INVALID_VALUE", header(dead.get(3), "tickflow.error.code"));

      // Bars: one final bar per closed minute (the last minute, 02:05, is still open), as tickflow's.
      List<TestRecord<byte[], byte[]>> barRecords = bars.readRecordsToList();
      assertEquals(125, barRecords.size());
      MessageDigest barDigest = MessageDigest.getInstance("SHA-256");
      for (TestRecord<byte[], byte[]> r : barRecords) {
        assertEquals("000000000c", HexFormat.of().formatHex(r.value(), 0, 5));
        barDigest.update(r.value(), 5, r.value().length - 5);
      }
      GenericRecord first = decode(schemas, barRecords.get(0).value());
      assertEquals("BINANCE-FUT:BTCUSDT", first.get("instrumentId").toString());
      assertEquals(1582329600000000L, first.get("tsStart"));
      assertEquals(1582329660000000L, first.get("tsEnd"));
      assertEquals(1582329654201000L, first.get("tsEvent"));
      assertEquals(90, first.get("tradeCount"));
      assertEquals("9682.977207739479", Decimals.fromBytes((ByteBuffer) first.get("vwap")).stripTrailingZeros().toPlainString());
      assertEquals("35.713", Decimals.fromBytes((ByteBuffer) first.get("volume")).stripTrailingZeros().toPlainString());
      assertEquals(TICKFLOW_BARS_SHA256, HexFormat.of().formatHex(barDigest.digest()));

      // A trade for a minute whose window closed (stream time is past end + grace) is dropped, not re-emitted.
      raw.pipeInput(null, rawRecord(writer, schemas, "tardis-trades", ++sequence, "binance-futures,BTCUSDT,1582329601000000,1582337147800000,2,buy,1,1"));
      assertEquals(1, trades.readRecordsToList().size());
      assertTrue(bars.isEmpty());

      assertEquals(lines.size() + 5, counters.rawIn.sum());
      assertEquals(lines.size() + 1, counters.tradesOut.sum());
      assertEquals(lines.size() + 1, counters.tradesIn.sum());
      assertEquals(4, counters.dlqOut.sum());
      assertEquals(125, counters.barsOut.sum());
    }
  }

  /**
   * The RocksDB window store (Kafka Streams' default) gives the same bars as the in-memory one. On
   * fewer lines: the test driver commits, and so flushes RocksDB, after every record.
   */
  @Test
  void rocksDbStoreGivesTheSameBars() throws Exception {
    List<String> lines = ParseAndEncodeTest.fixtureLines().subList(0, 1500);
    List<String> memory = bars("memory", lines);
    List<String> rocksdb = bars("rocksdb", lines);
    assertTrue(memory.size() >= 10, "bars: " + memory.size());
    assertEquals(memory, rocksdb);
  }

  private List<String> bars(String store, List<String> lines) throws IOException {
    Schemas schemas = Schemas.load(null);
    GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(schemas.rawRecord);
    try (TopologyTestDriver driver = driver(store, new Counters())) {
      TestInputTopic<byte[], byte[]> raw = driver.createInputTopic(INPUT, new ByteArraySerializer(), new ByteArraySerializer());
      TestOutputTopic<byte[], byte[]> bars = driver.createOutputTopic("md.bars.v1", new ByteArrayDeserializer(), new ByteArrayDeserializer());
      long sequence = 0;
      for (String line : lines) raw.pipeInput(vendorKey(line), rawRecord(writer, schemas, "tardis-trades", ++sequence, line));
      return bars.readValuesToList().stream().map(v -> HexFormat.of().formatHex(v)).toList();
    }
  }

  private static byte[] vendorKey(String line) {
    String[] f = line.split(",", 3);
    return (f[0] + ":" + f[1]).getBytes(StandardCharsets.UTF_8);
  }

  private static String header(TestRecord<byte[], byte[]> record, String name) {
    return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
  }

  /** A RawRecord as tickflow's replay writes it: Confluent wire format, schema id 1. */
  static byte[] rawRecord(GenericDatumWriter<GenericRecord> writer, Schemas schemas, String format, long sequence, String payload) throws IOException {
    GenericRecord r = new GenericData.Record(schemas.rawRecord);
    r.put("source", "tardis-file");
    r.put("format", format);
    r.put("tsRecv", 1_600_000_000_000_000L);
    r.put("origin", "binance-futures-btcusdt-trades-2020-02-22.csv:" + (sequence + 1));
    r.put("sequence", sequence);
    r.put("payload", payload);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {0, 0, 0, 0, 1});
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    writer.write(r, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  private static GenericRecord decode(Schemas schemas, byte[] value) throws IOException {
    return new GenericDatumReader<GenericRecord>(schemas.bar).read(null, DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null));
  }
}
