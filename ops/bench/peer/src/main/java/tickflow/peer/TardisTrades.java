package tickflow.peer;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;

/**
 * Tardis CSV trades ({@code exchange,symbol,timestamp,local_timestamp,id,side,price,amount}) to a
 * canonical trade: a port of connectors/tardis/formats.ts {@code tardisTrades.parse} with the field
 * checks it applies (payload length, field count, side, identifiers, microsecond timestamps in
 * [1980, 2100), exact decimal(38, 12) price and amount) and connectors/tardis/venues.ts. Throws
 * {@link RecordException} with tickflow's wording for a line it refuses.
 */
final class TardisTrades {
  static final String FORMAT = "tardis-trades";
  static final int MAX_PAYLOAD_LENGTH = 128 * 1024;
  static final int MAX_VENUE_LENGTH = 32;
  static final int MAX_SYMBOL_LENGTH = 64;
  static final int MAX_TRADE_ID_LENGTH = 128;
  /** connectors/time.ts: [1980-01-01T00:00:00Z, 2100-01-01T00:00:00Z) in microseconds. */
  static final long MIN_TIMESTAMP_MICROS = 315_532_800_000_000L;
  static final long MAX_TIMESTAMP_MICROS = 4_102_444_800_000_000L;

  /** connectors/tardis/venues.ts; an exchange missing here maps to its id in upper case. */
  private static final Map<String, String> VENUES = Map.of(
      "binance-futures", "BINANCE-FUT",
      "binance-delivery", "BINANCE-DLV",
      "binance", "BINANCE",
      "binance-us", "BINANCE-US",
      "bitmex", "BITMEX",
      "deribit", "DERIBIT",
      "coinbase", "COINBASE",
      "bybit", "BYBIT",
      "okex-swap", "OKX-SWAP",
      "kraken", "KRAKEN");

  private static final int FIELDS = 8;

  private TardisTrades() {}

  static String venueOf(String exchange) {
    String venue = VENUES.get(exchange);
    return venue != null ? venue : exchange.toUpperCase(Locale.ROOT);
  }

  static Trade parse(String source, String payload) {
    if (payload.length() > MAX_PAYLOAD_LENGTH) {
      throw new RecordException("payload of " + payload.length() + " characters is longer than the " + MAX_PAYLOAD_LENGTH
          + " a record may hold: '" + Decimals.bounded(payload, 120) + "'");
    }
    String[] f = split(payload);
    Trade.Side side = switch (f[5]) {
      case "buy" -> Trade.Side.BUY;
      case "sell" -> Trade.Side.SELL;
      case "unknown" -> Trade.Side.UNKNOWN;
      default -> throw new RecordException("side '" + Decimals.bounded(f[5], 40) + "' is not buy, sell or unknown");
    };
    String exchange = identifier(f[0], "exchange", MAX_VENUE_LENGTH, false);
    String venue = identifier(venueOf(exchange), "exchange", MAX_VENUE_LENGTH, false);
    // Upper case can be longer ('ß' is 'SS'): checked again, as formats.ts does.
    String symbol = identifier(identifier(f[1], "symbol", MAX_SYMBOL_LENGTH, true).toUpperCase(Locale.ROOT), "symbol", MAX_SYMBOL_LENGTH, true);
    long tsEvent = micros(f[2], "timestamp");
    long tsRecv = micros(f[3], "local_timestamp");
    String tradeId = identifier(f[4], "id", MAX_TRADE_ID_LENGTH, true);
    BigDecimal price = Decimals.parse(f[6], "price");
    BigDecimal size = Decimals.parse(f[7], "amount");
    return new Trade(venue + ":" + symbol, venue, symbol, source, tsEvent, tsRecv, price, size, side, tradeId);
  }

  /** The 8 fields of a line; a line with any other count is refused (no cost beyond one scan). */
  private static String[] split(String payload) {
    String[] fields = new String[FIELDS];
    int count = 0;
    int start = 0;
    for (int i = 0; i < payload.length(); i++) {
      if (payload.charAt(i) == ',') {
        if (count == FIELDS - 1) {
          throw new RecordException(FORMAT + " line has more than " + FIELDS + " fields, expected " + FIELDS + ": '" + Decimals.bounded(payload, 120) + "'");
        }
        fields[count++] = payload.substring(start, i);
        start = i + 1;
      }
    }
    fields[count++] = payload.substring(start);
    if (count != FIELDS) {
      throw new RecordException(FORMAT + " line has " + count + " fields, expected " + FIELDS + ": '" + Decimals.bounded(payload, 120) + "'");
    }
    return fields;
  }

  /** Integer microseconds written as 1 to 16 ASCII digits, within [1980, 2100) (connectors/time.ts checkedMicros). */
  static long micros(String text, String what) {
    boolean digits = !text.isEmpty() && text.length() <= 16;
    for (int i = 0; digits && i < text.length(); i++) digits = text.charAt(i) >= '0' && text.charAt(i) <= '9';
    if (!digits) throw new RecordException(what + " '" + Decimals.bounded(text, 40) + "' is not an integer microsecond timestamp");
    long value = Long.parseLong(text);
    if (value < MIN_TIMESTAMP_MICROS) throw new RecordException(what + " " + value + " is before 1980-01-01T00:00:00Z");
    if (value >= MAX_TIMESTAMP_MICROS) throw new RecordException(what + " " + value + " is not before 2100-01-01T00:00:00Z");
    return value;
  }

  /**
   * {@code value} when it is a usable identifier (formats.ts {@code identifier}): non-empty, at most
   * {@code maxLength} UTF-16 units, no C0/C1 control character or lone surrogate, and no ':' unless
   * {@code colon}.
   */
  static String identifier(String value, String what, int maxLength, boolean colon) {
    if (value.isEmpty()) throw new RecordException(what + " is empty");
    if (value.length() > maxLength) {
      throw new RecordException(what + " \"" + Decimals.bounded(value, 40) + "\" is longer than " + maxLength + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) throw new RecordException(what + " \"" + Decimals.bounded(value, 40) + "\" holds a control character");
      if (Character.isSurrogate(c)) {
        boolean paired = Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1));
        if (!paired) throw new RecordException(what + " \"" + Decimals.bounded(value, 40) + "\" is not well-formed Unicode (a lone surrogate)");
        i++;
      }
      if (!colon && c == ':') {
        throw new RecordException(what + " \"" + Decimals.bounded(value, 40) + "\" holds ':', which separates venue and symbol in instrument ids");
      }
    }
    return value;
  }
}
