package tickflow.peer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * Avro in the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary body)
 * with Avro's generic reader and writer over the repository's schemas. Reading skips the 5-byte
 * header and assumes the writer used the same schema (no registry lookup on the hot path); writing
 * puts the ids looked up once at startup. Decimals are written as tickflow writes them
 * ({@link Decimals#bytes}). One instance per task or thread: it reuses its buffers.
 */
final class AvroCodec {
  static final String BAR_INTERVAL = "1m";

  private final int tradeSchemaId;
  private final int barSchemaId;

  private final GenericDatumReader<GenericRecord> rawReader;
  private final GenericDatumReader<GenericRecord> tradeReader;
  private final GenericDatumWriter<GenericRecord> tradeWriter;
  private final GenericDatumWriter<GenericRecord> barWriter;
  private final GenericData.Record trade;
  private final GenericData.Record bar;
  private final GenericData.EnumSymbol[] sides;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);
  private BinaryDecoder decoder;
  private BinaryEncoder encoder;
  private GenericRecord rawReuse;
  private GenericRecord tradeReuse;

  /** Field positions of the raw record (schemas/raw-record.avsc). */
  private final int rawSource;
  private final int rawFormat;
  private final int rawPayload;

  AvroCodec(Schemas schemas, int tradeSchemaId, int barSchemaId) {
    this.tradeSchemaId = tradeSchemaId;
    this.barSchemaId = barSchemaId;
    this.rawReader = new GenericDatumReader<>(schemas.rawRecord);
    this.tradeReader = new GenericDatumReader<>(schemas.trade);
    this.tradeWriter = new GenericDatumWriter<>(schemas.trade);
    this.barWriter = new GenericDatumWriter<>(schemas.bar);
    this.trade = new GenericData.Record(schemas.trade);
    this.bar = new GenericData.Record(schemas.bar);
    Schema sideSchema = schemas.trade.getField("side").schema();
    this.sides = new GenericData.EnumSymbol[Trade.Side.values().length];
    for (Trade.Side side : Trade.Side.values()) sides[side.ordinal()] = new GenericData.EnumSymbol(sideSchema, side.name());
    checkOrder(schemas.trade, TRADE_FIELDS);
    this.rawSource = schemas.rawRecord.getField("source").pos();
    this.rawFormat = schemas.rawRecord.getField("format").pos();
    this.rawPayload = schemas.rawRecord.getField("payload").pos();
  }

  /** The order encodeTrade and decodeTrade put and get trade fields in. */
  private static final String[] TRADE_FIELDS = {"instrumentId", "venue", "symbol", "source", "tsEvent", "tsRecv", "price", "size", "side", "tradeId"};

  private static void checkOrder(Schema schema, String[] names) {
    if (schema.getFields().size() != names.length) {
      throw new IllegalStateException(schema.getFullName() + " has " + schema.getFields().size() + " fields, not " + names.length + "; update AvroCodec");
    }
    for (int i = 0; i < names.length; i++) {
      if (schema.getFields().size() <= i || !schema.getFields().get(i).name().equals(names[i])) {
        throw new IllegalStateException(schema.getFullName() + " no longer has field " + names[i] + " at position " + i + "; update AvroCodec");
      }
    }
  }

  /** The fields of a raw record normalize needs. */
  record Raw(String source, String format, String payload) {}

  /** A RawRecord value; RecordException when it is not one in the Confluent wire format. */
  Raw decodeRaw(byte[] value) {
    checkHeader(value, "raw record");
    try {
      decoder = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, decoder);
      rawReuse = rawReader.read(rawReuse, decoder);
    } catch (IOException | RuntimeException e) {
      throw new RecordException("DECODE_ERROR", "value is not an Avro RawRecord: " + e);
    }
    return new Raw(rawReuse.get(rawSource).toString(), rawReuse.get(rawFormat).toString(), rawReuse.get(rawPayload).toString());
  }

  private static void checkHeader(byte[] value, String what) {
    if (value == null) throw new RecordException("DECODE_ERROR", what + " has no value");
    if (value.length < 5 || value[0] != 0) {
      throw new RecordException("DECODE_ERROR", what + " is not in the Confluent wire format (magic byte 0, 4-byte schema id, Avro body)");
    }
  }

  byte[] encodeTrade(Trade t) {
    trade.put(0, t.instrumentId());
    trade.put(1, t.venue());
    trade.put(2, t.symbol());
    trade.put(3, t.source());
    trade.put(4, t.tsEvent());
    trade.put(5, t.tsRecv());
    trade.put(6, Decimals.buffer(t.price(), "price"));
    trade.put(7, Decimals.buffer(t.size(), "size"));
    trade.put(8, sides[t.side().ordinal()]);
    trade.put(9, t.tradeId());
    return write(tradeSchemaId, tradeWriter, trade);
  }

  /** A Trade value this peer wrote (schemas/trade.avsc); a broken invariant otherwise. */
  Trade decodeTrade(byte[] value) {
    checkHeader(value, "trade");
    try {
      decoder = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, decoder);
      tradeReuse = tradeReader.read(tradeReuse, decoder);
    } catch (IOException e) {
      throw new UncheckedIOException("a trade value is not Avro of schemas/trade.avsc", e);
    }
    GenericRecord r = tradeReuse;
    return new Trade(
        r.get(0).toString(),
        r.get(1).toString(),
        r.get(2).toString(),
        r.get(3).toString(),
        (Long) r.get(4),
        (Long) r.get(5),
        Decimals.fromBytes((ByteBuffer) r.get(6)),
        Decimals.fromBytes((ByteBuffer) r.get(7)),
        Trade.Side.valueOf(r.get(8).toString()),
        r.get(9).toString());
  }

  /** A final 1-minute bar (schemas/bar.avsc) of window [startMicros, endMicros). */
  byte[] encodeBar(String instrumentId, long startMicros, long endMicros, BarAccumulator acc) {
    bar.put("instrumentId", instrumentId);
    bar.put("venue", acc.venue);
    bar.put("symbol", acc.symbol);
    bar.put("source", acc.source);
    bar.put("interval", BAR_INTERVAL);
    bar.put("tsStart", startMicros);
    bar.put("tsEvent", acc.closeTs);
    bar.put("tsRecv", acc.closeRecv);
    bar.put("open", Decimals.buffer(acc.open, "open"));
    bar.put("high", Decimals.buffer(acc.high, "high"));
    bar.put("low", Decimals.buffer(acc.low, "low"));
    bar.put("close", Decimals.buffer(acc.close, "close"));
    bar.put("volume", Decimals.buffer(acc.volume, "volume"));
    bar.put("vwap", Decimals.buffer(acc.vwap(), "vwap"));
    bar.put("tradeCount", acc.count);
    bar.put("revision", 0);
    bar.put("final", true);
    bar.put("tsEnd", endMicros);
    return write(barSchemaId, barWriter, bar);
  }

  private byte[] write(int schemaId, GenericDatumWriter<GenericRecord> writer, GenericRecord record) {
    out.reset();
    out.write(0);
    out.write(schemaId >>> 24);
    out.write(schemaId >>> 16);
    out.write(schemaId >>> 8);
    out.write(schemaId);
    try {
      encoder = EncoderFactory.get().binaryEncoder(out, encoder);
      writer.write(record, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
