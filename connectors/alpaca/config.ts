import { TickflowError } from '../../pipelines/runtime/errors';
import { loadSettings } from '../../pipelines/runtime/settings';

/** Alpaca's paper trading endpoints (https://docs.alpaca.markets/docs/websocket-streaming). */
export const ALPACA_PAPER_BASE_URL = 'https://paper-api.alpaca.markets';
export const ALPACA_PAPER_STREAM_URL = 'wss://paper-api.alpaca.markets/stream';

export interface AlpacaCredentials {
  readonly keyId: string;
  readonly secretKey: string;
}

export interface AlpacaEndpoints {
  /** REST base, e.g. https://paper-api.alpaca.markets (no trailing slash). */
  readonly baseUrl: string;
  /** trade_updates websocket, e.g. wss://paper-api.alpaca.markets/stream */
  readonly streamUrl: string;
}

export type AlpacaConfig = AlpacaCredentials & AlpacaEndpoints;

/**
 * A secret as tickflow reads its own (pipelines/runtime/settings.ts): from `NAME`, the file named by
 * `NAME_FILE`, or the config file of TICKFLOW_CONFIG_FILE; never from a flag, never printed.
 */
function secret(env: NodeJS.ProcessEnv, name: 'ALPACA_API_KEY_ID' | 'ALPACA_API_SECRET_KEY', what: string): string {
  const setting = loadSettings(env).get(name);
  if (!setting) {
    throw new TickflowError(
      'CONFIG',
      `${name} is not set: the Alpaca adapter needs ${what}`,
      `set ${name} (or ${name}_FILE, a file holding it) to ${what} from the Alpaca dashboard`,
    );
  }
  return checked(name, setting.value);
}

function checked(name: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new TickflowError(
      'CONFIG',
      `${name} contains a control character (a stray line break or tab?)`,
      `set ${name} to the value alone`,
    );
  }
  return value;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: readonly string[]): string {
  const value = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new TickflowError('CONFIG', `${name} is '${value}', which is not a URL`, `set ${name} to e.g. ${fallback}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new TickflowError(
      'CONFIG',
      `${name} is '${value}': expected a ${protocols.join(' or ')} URL`,
      `set ${name} to e.g. ${fallback}`,
    );
  }
  return value.replace(/\/+$/, '');
}

/**
 * The adapter's settings from the environment: ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY (or
 * their `_FILE` twins), ALPACA_BASE_URL (default: the paper API, so nothing trades real money by
 * accident) and ALPACA_STREAM_URL (default: the base URL's `/stream` over ws or wss).
 */
export function alpacaConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AlpacaConfig {
  const keyId = secret(env, 'ALPACA_API_KEY_ID', 'the API key id');
  const secretKey = secret(env, 'ALPACA_API_SECRET_KEY', 'the API secret key');
  const baseUrl = url(env, 'ALPACA_BASE_URL', ALPACA_PAPER_BASE_URL, ['https:', 'http:']);
  const derived = `${baseUrl.replace(/^http/, 'ws')}/stream`;
  const streamUrl = url(env, 'ALPACA_STREAM_URL', derived, ['wss:', 'ws:']);
  return { keyId, secretKey, baseUrl, streamUrl };
}
