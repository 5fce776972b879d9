package tickflow.peer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * One bar being built (pipelines/aggregate/bars.ts {@code addTrade}): open and close are the first
 * and last trade by tsEvent with ties broken by arrival (open moves only to a strictly earlier
 * trade, close to a later or equal one); high and low; volume = sum of sizes and pv = sum of
 * price x size, both exact; the trade count. {@code count == 0} is the empty aggregate.
 */
final class BarAccumulator {
  String venue = "";
  String symbol = "";
  String source = "";
  BigDecimal open;
  long openTs;
  BigDecimal high;
  BigDecimal low;
  BigDecimal close;
  long closeTs;
  long closeRecv;
  BigDecimal volume;
  BigDecimal pv;
  int count;

  /** Adds a trade (in arrival order); returns this. */
  BarAccumulator add(Trade t) {
    BigDecimal product = t.price().multiply(t.size());
    if (count == 0) {
      open = high = low = close = t.price();
      openTs = closeTs = t.tsEvent();
      closeRecv = t.tsRecv();
      volume = t.size();
      pv = product;
    } else {
      if (t.tsEvent() < openTs) {
        open = t.price();
        openTs = t.tsEvent();
      }
      if (t.tsEvent() >= closeTs) {
        close = t.price();
        closeTs = t.tsEvent();
        closeRecv = t.tsRecv();
      }
      if (t.price().compareTo(high) > 0) high = t.price();
      if (t.price().compareTo(low) < 0) low = t.price();
      volume = volume.add(t.size());
      pv = pv.add(product);
    }
    // The instrument's names and source follow its latest trade, as aggregate's state does.
    venue = t.venue();
    symbol = t.symbol();
    source = t.source();
    count++;
    return this;
  }

  /** sum(price x size) / volume, rounded half-even to 12 places from the exact sums. */
  BigDecimal vwap() {
    return Decimals.quotientHalfEven(pv, volume);
  }

  /** Compact binary state for the window store and its changelog (decimals as scale + unscaled bytes). */
  static Serde<BarAccumulator> serde() {
    return Serdes.serdeFrom(new BarSerializer(), new BarDeserializer());
  }

  private static void writeDecimal(DataOutputStream out, BigDecimal value) throws IOException {
    byte[] unscaled = value.unscaledValue().toByteArray();
    out.writeInt(value.scale());
    out.writeShort(unscaled.length);
    out.write(unscaled);
  }

  private static BigDecimal readDecimal(DataInputStream in) throws IOException {
    int scale = in.readInt();
    byte[] unscaled = new byte[in.readUnsignedShort()];
    in.readFully(unscaled);
    return new BigDecimal(new BigInteger(unscaled), scale);
  }

  static final class BarSerializer implements Serializer<BarAccumulator> {
    @Override
    public byte[] serialize(String topic, BarAccumulator bar) {
      if (bar == null) return null;
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(160);
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        out.writeInt(bar.count);
        if (bar.count > 0) {
          out.writeUTF(bar.venue);
          out.writeUTF(bar.symbol);
          out.writeUTF(bar.source);
          writeDecimal(out, bar.open);
          writeDecimal(out, bar.high);
          writeDecimal(out, bar.low);
          writeDecimal(out, bar.close);
          writeDecimal(out, bar.volume);
          writeDecimal(out, bar.pv);
          out.writeLong(bar.openTs);
          out.writeLong(bar.closeTs);
          out.writeLong(bar.closeRecv);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return bytes.toByteArray();
    }
  }

  static final class BarDeserializer implements Deserializer<BarAccumulator> {
    @Override
    public BarAccumulator deserialize(String topic, byte[] data) {
      if (data == null) return null;
      BarAccumulator bar = new BarAccumulator();
      try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
        bar.count = in.readInt();
        if (bar.count > 0) {
          bar.venue = in.readUTF();
          bar.symbol = in.readUTF();
          bar.source = in.readUTF();
          bar.open = readDecimal(in);
          bar.high = readDecimal(in);
          bar.low = readDecimal(in);
          bar.close = readDecimal(in);
          bar.volume = readDecimal(in);
          bar.pv = readDecimal(in);
          bar.openTs = in.readLong();
          bar.closeTs = in.readLong();
          bar.closeRecv = in.readLong();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return bar;
    }
  }
}
