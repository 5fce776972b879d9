package tickflow.peer;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteBuffer;

/**
 * Exact decimals as tickflow keeps them (schemas/decimal.ts): text is measured before a number is
 * built, values never round on the way in, and Avro {@code decimal(38, 12)} on {@code bytes} is the
 * minimal big-endian two's complement of the unscaled value at scale 12 (what
 * {@code BigInteger.toByteArray()} gives, and what decimal.ts's {@code toTwosComplement} gives).
 */
final class Decimals {
  static final int PRECISION = 38;
  static final int SCALE = 12;
  static final int MAX_TEXT_LENGTH = 64;
  static final int MAX_EXPONENT = 99;

  private static final BigInteger LIMIT = BigInteger.TEN.pow(PRECISION);

  private Decimals() {}

  private static boolean digit(char c) {
    return c >= '0' && c <= '9';
  }

  /**
   * What keeps {@code text} from being a decimal(38, 12) value, or null when nothing does: a port
   * of decimal.ts {@code decimalTextProblem} (format {@code [+-]digits[.digits][e[+-]digits]} with
   * at least one digit, ASCII digits only, at most 64 characters, exponent within ±99, at most 12
   * decimal places and 26 integer digits, leading zeros and trailing fraction zeros not counted).
   */
  static String textProblem(String text) {
    if (text.length() > MAX_TEXT_LENGTH) return "is longer than the " + MAX_TEXT_LENGTH + " characters a decimal may have";
    int n = text.length();
    int i = 0;
    if (i < n && (text.charAt(i) == '+' || text.charAt(i) == '-')) i++;
    int intStart = i;
    while (i < n && digit(text.charAt(i))) i++;
    int intEnd = i;
    int fracStart = i;
    int fracEnd = i;
    if (i < n && text.charAt(i) == '.') {
      i++;
      fracStart = i;
      while (i < n && digit(text.charAt(i))) i++;
      fracEnd = i;
    }
    long exponent = 0;
    if (i < n && (text.charAt(i) == 'e' || text.charAt(i) == 'E')) {
      i++;
      boolean negative = false;
      if (i < n && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
        negative = text.charAt(i) == '-';
        i++;
      }
      int expStart = i;
      while (i < n && digit(text.charAt(i))) i++;
      if (i == expStart) return "is not a decimal number";
      // At most 64 characters: skip leading zeros, and anything past 4 significant digits is beyond ±99.
      int j = expStart;
      while (j < i - 1 && text.charAt(j) == '0') j++;
      exponent = i - j > 4 ? 10_000 : Long.parseLong(text.substring(j, i));
      if (negative) exponent = -exponent;
    }
    if (i != n) return "is not a decimal number";
    int intLength = intEnd - intStart;
    int fracLength = fracEnd - fracStart;
    if (intLength == 0 && fracLength == 0) return "is not a decimal number";
    if (Math.abs(exponent) > MAX_EXPONENT) return "has an exponent beyond ±" + MAX_EXPONENT;
    int first = -1;
    int last = -1;
    int digits = intLength + fracLength;
    for (int k = 0; k < digits; k++) {
      char c = k < intLength ? text.charAt(intStart + k) : text.charAt(fracStart + k - intLength);
      if (c != '0') {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (first < 0) return null;
    long point = intLength + exponent;
    long places = Math.max(0, last + 1 - point);
    if (places > SCALE) return "has " + places + " decimal places; the schema allows " + SCALE;
    long integerDigits = Math.max(0, point - first);
    if (integerDigits > PRECISION - SCALE) {
      return "has " + integerDigits + " integer digits; decimal(" + PRECISION + ", " + SCALE + ") allows " + (PRECISION - SCALE);
    }
    return null;
  }

  /**
   * The exact value of {@code text} (connectors/tardis/formats.ts {@code decimal}): a leading '+'
   * is refused like any non-decimal text; anything {@link #textProblem} names is refused.
   */
  static BigDecimal parse(String text, String what) {
    String problem = !text.isEmpty() && text.charAt(0) == '+' ? "is not a decimal number" : textProblem(text);
    if (problem != null) throw new RecordException(what + " '" + bounded(text, 40) + "' " + problem);
    try {
      return new BigDecimal(text);
    } catch (NumberFormatException e) {
      throw new RecordException(what + " '" + bounded(text, 40) + "' is not a decimal number");
    }
  }

  /** The unscaled integer of {@code value} at scale 12; ArithmeticException if that would round. */
  static BigInteger unscaled(BigDecimal value) {
    return value.setScale(SCALE, RoundingMode.UNNECESSARY).unscaledValue();
  }

  /** Avro decimal(38, 12) bytes of {@code value}: never rounds, refuses more than 38 digits. */
  static byte[] bytes(BigDecimal value, String what) {
    BigInteger unscaled;
    try {
      unscaled = unscaled(value);
    } catch (ArithmeticException e) {
      throw new IllegalStateException(what + " " + value.toPlainString() + " has more than " + SCALE + " decimal places", e);
    }
    if (unscaled.abs().compareTo(LIMIT) >= 0) {
      throw new IllegalStateException(what + " " + value.toPlainString() + " does not fit decimal(" + PRECISION + ", " + SCALE + ")");
    }
    return unscaled.toByteArray();
  }

  static ByteBuffer buffer(BigDecimal value, String what) {
    return ByteBuffer.wrap(bytes(value, what));
  }

  /** The value of Avro decimal bytes at scale 12 (empty bytes are 0, as decimal.ts reads them). */
  static BigDecimal fromBytes(ByteBuffer buffer) {
    if (!buffer.hasRemaining()) return BigDecimal.ZERO.setScale(SCALE);
    byte[] bytes = new byte[buffer.remaining()];
    buffer.duplicate().get(bytes);
    return new BigDecimal(new BigInteger(bytes), SCALE);
  }

  /** sum(price x size) / volume rounded half-even to 12 places, from exact operands (decimal.ts quotientHalfEven). */
  static BigDecimal quotientHalfEven(BigDecimal numerator, BigDecimal denominator) {
    return numerator.divide(denominator, SCALE, RoundingMode.HALF_EVEN);
  }

  static String bounded(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max) + "… (" + text.length() + " characters)";
  }
}
