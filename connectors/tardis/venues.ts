/**
 * Tardis exchange ids to tickflow venue codes. Instrument ids are `<venue>:<symbol>`, e.g.
 * BINANCE-FUT:BTCUSDT. An exchange missing here maps to its id in upper case.
 */
const VENUES: Readonly<Record<string, string>> = {
  'binance-futures': 'BINANCE-FUT',
  'binance-delivery': 'BINANCE-DLV',
  binance: 'BINANCE',
  'binance-us': 'BINANCE-US',
  bitmex: 'BITMEX',
  deribit: 'DERIBIT',
  coinbase: 'COINBASE',
  bybit: 'BYBIT',
  'okex-swap': 'OKX-SWAP',
  kraken: 'KRAKEN',
};

export function venueOf(exchange: string): string {
  // Own keys only: 'constructor' or '__proto__' must not find a prototype's property.
  return Object.hasOwn(VENUES, exchange) ? VENUES[exchange] : exchange.toUpperCase();
}

export function instrumentIdOf(venue: string, symbol: string): string {
  return `${venue}:${symbol}`;
}
