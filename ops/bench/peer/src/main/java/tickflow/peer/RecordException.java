package tickflow.peer;

/**
 * A record that cannot be processed: it goes to the dead-letter topic with this message, as a
 * tickflow RecordError (code PARSE_ERROR, or INVALID_VALUE) does. Carries no stack trace: it is
 * an answer about input, not a fault.
 */
final class RecordException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  final String code;

  RecordException(String message) {
    this("PARSE_ERROR", message);
  }

  RecordException(String code, String message) {
    super(message, null, false, false);
    this.code = code;
  }
}
