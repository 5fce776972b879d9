import type { ConfigOf, ConfigSchema } from '../../pipelines/runtime/config';
import type { RawOut } from '../file-replay/replay';
import { refreshedOf, throttledBody } from './alphavantage';
import { RestPoller } from './poller';

/** The settings `tickflow feed alphavantage` takes (connectors/registry.ts). The API key is not one: it is a secret. */
export const ALPHAVANTAGE_CONFIG = {
  pairs: { type: 'list', default: [], description: 'FX pairs to poll, e.g. USD/JPY,EUR/USD' },
  url: { type: 'string', default: 'https://www.alphavantage.co', description: 'API base' },
  intervalMs: { type: 'number', default: 60_000, integer: true, min: 1, description: 'poll each pair this often' },
  maxRequests: {
    type: 'number',
    default: 5,
    integer: true,
    min: 1,
    description: 'at most this many requests per window',
  },
  windowMs: { type: 'number', default: 60_000, integer: true, min: 1, description: 'the rate-limit window' },
} as const satisfies ConfigSchema;

export type AlphaVantageConfig = ConfigOf<typeof ALPHAVANTAGE_CONFIG>;

/** An FX pair as Alpha Vantage's CURRENCY_EXCHANGE_RATE takes it: `USD/JPY`. */
export const FX_PAIR = /^[A-Z]{3}\/[A-Z]{3}$/;

/**
 * Polls Alpha Vantage's CURRENCY_EXCHANGE_RATE for each pair (records keyed `ALPHAVANTAGE:<pair>`,
 * format `alphavantage-fx`), within the configured rate limit. `apikey` goes only into the request
 * URLs (the records' origin masks it).
 */
export function alphaVantagePoller(
  config: AlphaVantageConfig,
  apikey: string,
  publish: (records: RawOut[]) => Promise<void>,
): RestPoller {
  return new RestPoller({
    targets: config.pairs.map((pair) => {
      const [from, to] = pair.split('/');
      return {
        key: `ALPHAVANTAGE:${pair}`,
        url: `${config.url}/query?function=CURRENCY_EXCHANGE_RATE&from_currency=${from}&to_currency=${to}&apikey=${encodeURIComponent(apikey)}`,
      };
    }),
    format: 'alphavantage-fx',
    source: 'alphavantage',
    intervalMs: config.intervalMs,
    maxRequests: config.maxRequests,
    windowMs: config.windowMs,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    maxAttempts: 6,
    versionOf: refreshedOf,
    throttled: throttledBody,
    publish,
  });
}
