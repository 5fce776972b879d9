package tickflow.peer;

import java.math.BigDecimal;

/** A canonical trade (schemas/trade.avsc). Prices and sizes exact; times in microseconds since the epoch, UTC. */
record Trade(
    String instrumentId,
    String venue,
    String symbol,
    String source,
    long tsEvent,
    long tsRecv,
    BigDecimal price,
    BigDecimal size,
    Side side,
    String tradeId) {

  /** schemas/trade.avsc AggressorSide, in its symbol order. */
  enum Side {
    BUY,
    SELL,
    UNKNOWN
  }
}
