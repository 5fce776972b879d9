package tickflow.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Parsing, decimal bytes and vwap rounding, checked against values worked out by hand (and, for the
 * trade encoding, against bytes tickflow's own TypeScript encoder wrote for the same line).
 */
class ParseAndEncodeTest {
  static final Path FIXTURE = Path.of(System.getProperty("tickflow.root", "../../.."), "connectors/tardis/fixtures/binance-futures-btcusdt-trades-2020-02-22.csv");

  static List<String> fixtureLines() throws IOException {
    List<String> lines = Files.readAllLines(FIXTURE, StandardCharsets.UTF_8);
    assertEquals("exchange,symbol,timestamp,local_timestamp,id,side,price,amount", lines.get(0));
    return lines.subList(1, lines.size());
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  @Test
  void parsesTheFirstFixtureLines() throws IOException {
    List<String> lines = fixtureLines();
    Trade t = TardisTrades.parse("tardis-file", lines.get(0));
    assertEquals("BINANCE-FUT:BTCUSDT", t.instrumentId());
    assertEquals("BINANCE-FUT", t.venue());
    assertEquals("BTCUSDT", t.symbol());
    assertEquals("tardis-file", t.source());
    assertEquals(1582329602111000L, t.tsEvent());
    assertEquals(1582329602418379L, t.tsRecv());
    assertEquals("42377944", t.tradeId());
    assertEquals(Trade.Side.BUY, t.side());
    assertEquals(new BigDecimal("9682"), t.price());
    assertEquals(new BigDecimal("0.132"), t.size());
    Trade fourth = TardisTrades.parse("tardis-file", lines.get(3));
    assertEquals(new BigDecimal("9682.19"), fourth.price());
    assertEquals(new BigDecimal("0.01"), fourth.size());
  }

  @Test
  void decimalBytesAreMinimalTwosComplementAtScale12() {
    // 9682 -> 9682 x 10^12 = 9,682,000,000,000,000 = 0x2265BA4AB72000 (7 bytes, top bit clear).
    assertEquals("2265ba4ab72000", hex(Decimals.bytes(new BigDecimal("9682"), "price")));
    // 0.132 -> 132,000,000,000 = 30 x 2^32 + 3,150,981,120 = 0x1E_BBD02800.
    assertEquals("1ebbd02800", hex(Decimals.bytes(new BigDecimal("0.132"), "size")));
    // 1 -> 10^12 = 0xE8D4A51000: top bit set, so a 0x00 sign byte leads.
    assertEquals("00e8d4a51000", hex(Decimals.bytes(BigDecimal.ONE, "x")));
    // -1 -> 2^48 - 10^12 = 0xFF172B5AF000 (six bytes: -2^39 > -10^12 >= -2^47).
    assertEquals("ff172b5af000", hex(Decimals.bytes(BigDecimal.ONE.negate(), "x")));
    // 0.000000000001 -> unscaled 1; 0 -> one zero byte (decimal.ts writes '00' for 0n).
    assertEquals("01", hex(Decimals.bytes(new BigDecimal("0.000000000001"), "x")));
    assertEquals("00", hex(Decimals.bytes(BigDecimal.ZERO, "x")));
    assertEquals("ff", hex(Decimals.bytes(new BigDecimal("-0.000000000001"), "x")));
    // Round trip.
    assertEquals(0, new BigDecimal("-123.456").compareTo(Decimals.fromBytes(java.nio.ByteBuffer.wrap(Decimals.bytes(new BigDecimal("-123.456"), "x")))));
    // Never rounds.
    assertThrows(IllegalStateException.class, () -> Decimals.bytes(new BigDecimal("0.0000000000001"), "x"));
    assertThrows(IllegalStateException.class, () -> Decimals.bytes(new BigDecimal("1e26"), "x"));
  }

  @Test
  void tradeEncodingMatchesTickflowByteForByte() throws IOException {
    // Avro body tickflow (schemas/avro.ts avroType('trade') with decimal.ts DecimalType) wrote for
    // the first fixture line, parsed by connectors/tardis/formats.ts.
    String tickflow = "2642494e414e43452d4655543a425443555344541642494e414e43452d4655540e42544355534454167461726469732d66696c65"
        + "b0d8cf9ddac7cf05969bf59ddac7cf050e2265ba4ab720000a1ebbd0280000103432333737393434";
    AvroCodec codec = new AvroCodec(Schemas.load(null), 0x01020304, 9);
    byte[] value = codec.encodeTrade(TardisTrades.parse("tardis-file", fixtureLines().get(0)));
    assertEquals("0001020304" + tickflow, hex(value));
    Trade back = codec.decodeTrade(value);
    assertEquals(0, new BigDecimal("9682").compareTo(back.price()));
    assertEquals(1582329602111000L, back.tsEvent());
  }

  @Test
  void vwapIsRoundedHalfEvenFromExactSums() throws IOException {
    // The first four fixture trades: pv = 9682 x (0.132 + 0.412 + 0.296) + 9682.19 x 0.01
    // = 8132.88 + 96.8219 = 8229.7019; volume 0.85; 8229.7019 / 0.85 = 9682.002235294117|647... -> ...118.
    BarAccumulator bar = new BarAccumulator();
    for (String line : fixtureLines().subList(0, 4)) bar.add(TardisTrades.parse("tardis-file", line));
    assertEquals(new BigDecimal("8229.7019"), bar.pv.stripTrailingZeros());
    assertEquals(new BigDecimal("0.850"), bar.volume);
    assertEquals(new BigDecimal("9682.002235294118"), bar.vwap());
    assertEquals(new BigDecimal("9682"), bar.open);
    assertEquals(new BigDecimal("9682.19"), bar.close);
    assertEquals(4, bar.count);

    // Exact ties at the 13th place go to the even neighbour: (2e-12 x 0.5 + 3e-12 x 0.5) / 1 = 2.5e-12 -> 2e-12,
    // and (1e-12 x 0.5 + 2e-12 x 0.5) / 1 = 1.5e-12 -> 2e-12 (half-up would give 3e-12 for the first).
    assertEquals(new BigDecimal("0.000000000002"), vwapOf("0.000000000002", "0.5", "0.000000000003", "0.5"));
    assertEquals(new BigDecimal("0.000000000002"), vwapOf("0.000000000001", "0.5", "0.000000000002", "0.5"));
    // (1 x 1 + 2 x 2) / 3 = 1.666...: 1.666666666667; (1 x 2 + 2 x 1) / 3 = 1.333333333333.
    assertEquals(new BigDecimal("1.666666666667"), vwapOf("1", "1", "2", "2"));
    assertEquals(new BigDecimal("1.333333333333"), vwapOf("1", "2", "2", "1"));
    // Its bytes: 1.666666666667 -> unscaled 1,666,666,666,667 = 0x1_840D_131A_AB (6 bytes, top bit clear).
    assertEquals("01840d131aab", hex(Decimals.bytes(vwapOf("1", "1", "2", "2"), "vwap")));
  }

  private static BigDecimal vwapOf(String p1, String s1, String p2, String s2) {
    BarAccumulator bar = new BarAccumulator();
    bar.add(trade(1_600_000_000_000_000L, p1, s1));
    bar.add(trade(1_600_000_000_000_001L, p2, s2));
    return bar.vwap();
  }

  private static Trade trade(long ts, String price, String size) {
    return new Trade("X:Y", "X", "Y", "s", ts, ts, new BigDecimal(price), new BigDecimal(size), Trade.Side.BUY, "1");
  }

  @Test
  void openAndCloseFollowEventTimeWithTiesByArrival() {
    BarAccumulator bar = new BarAccumulator();
    bar.add(trade(2_000, "10", "1"));
    bar.add(trade(1_000, "9", "1")); // earlier: the new open
    bar.add(trade(1_000, "8", "1")); // a tie with the open: the first to arrive stays open
    bar.add(trade(2_000, "11", "1")); // a tie with the close: the last to arrive closes
    assertEquals(new BigDecimal("9"), bar.open);
    assertEquals(new BigDecimal("11"), bar.close);
    assertEquals(new BigDecimal("8"), bar.low);
    assertEquals(new BigDecimal("11"), bar.high);
    assertEquals(new BigDecimal("4"), bar.volume);
  }

  @Test
  void refusesWhatTickflowRefuses() {
    String ok = "binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,";
    // 13 decimal places; 27 integer digits; a leading '+'; non-ASCII digits; an exponent beyond 99.
    assertRefused(ok + "9682,0.0000000000001", "has 13 decimal places");
    assertRefused(ok + "123456789012345678901234567,1", "has 27 integer digits");
    assertRefused(ok + "+9682,1", "is not a decimal number");
    assertRefused(ok + "9\u0666,1", "is not a decimal number");
    assertRefused(ok + "1e100,1", "exponent beyond");
    assertRefused("binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,hold,9682,1", "is not buy, sell or unknown");
    assertRefused("binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682", "has 7 fields");
    assertRefused(ok + "9682,1,extra", "more than 8 fields");
    assertRefused("binance-futures,BTCUSDT,1582329602111,1582329602418379,42377944,buy,9682,1", "before 1980");
    assertRefused("bin:ance,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,1", "holds ':'");
    assertRefused("binance-futures,,1582329602111000,1582329602418379,42377944,buy,9682,1", "symbol is empty");
    // Accepted as tickflow accepts them: exponents within range, trailing zeros past 12 places, leading zeros.
    assertEquals(0, new BigDecimal("96820").compareTo(TardisTrades.parse("s", ok + "9.682e4,1").price()));
    assertEquals(0, new BigDecimal("0.5").compareTo(TardisTrades.parse("s", ok + ".5,0.50000000000000000").price()));
    assertEquals(0, new BigDecimal("5").compareTo(TardisTrades.parse("s", ok + "5.,1").price()));
    assertEquals(0, BigDecimal.ONE.compareTo(TardisTrades.parse("s", ok + "00000000000000000000000000000001,1").price()));
    // Venues: the table, else upper case; the symbol upper-cased.
    assertEquals("DERIBIT:BTC-PERPETUAL", TardisTrades.parse("s", "deribit,btc-perpetual,1582329602111000,1582329602418379,1,sell,1,1").instrumentId());
    assertEquals("OKX-SWAP:X", TardisTrades.parse("s", "okex-swap,x,1582329602111000,1582329602418379,1,unknown,1,1").instrumentId());
    assertEquals("HUOBI:Y", TardisTrades.parse("s", "huobi,y,1582329602111000,1582329602418379,1,unknown,1,1").instrumentId());
  }

  private static void assertRefused(String line, String reason) {
    RecordException e = assertThrows(RecordException.class, () -> TardisTrades.parse("s", line));
    assertTrue(e.getMessage().contains(reason), () -> "'" + e.getMessage() + "' does not say '" + reason + "'");
  }

  /**
   * The registry lookup must send the text tickflow registered, JSON.stringify(JSON.parse(file)):
   * for these files (no escapes) that is the file without whitespace outside strings.
   */
  @Test
  void schemaTextIsSentAsTickflowSendsIt() throws IOException {
    Path dir = FIXTURE.getParent().getParent().getParent().getParent().resolve("schemas");
    Schemas schemas = Schemas.load(dir);
    assertEquals(stripWhitespace(Files.readString(dir.resolve("trade.avsc"))), schemas.tradeJson);
    assertEquals(stripWhitespace(Files.readString(dir.resolve("bar.avsc"))), schemas.barJson);
    assertTrue(schemas.tradeJson.startsWith("{\"type\":\"record\",\"name\":\"Trade\",\"namespace\":\"tickflow.md\",\"doc\":"), schemas.tradeJson);
  }

  private static String stripWhitespace(String json) {
    StringBuilder out = new StringBuilder();
    boolean inString = false;
    for (int i = 0; i < json.length(); i++) {
      char c = json.charAt(i);
      if (inString) {
        out.append(c);
        if (c == '\\') out.append(json.charAt(++i));
        else if (c == '"') inString = false;
      } else if (c == '"') {
        inString = true;
        out.append(c);
      } else if (!Character.isWhitespace(c)) {
        out.append(c);
      }
    }
    return out.toString();
  }
}
