import { TickflowError } from './errors';

/**
 * How long the broker may hold an idle consumer's fetch, `TICKFLOW_FETCH_MAX_WAIT_MS` (default
 * 3000). A fetch returns as soon as committed data is there, so this only sets the pace of an idle
 * consumer: 3 s against 1 s takes an idle pipeline from about 2.4% to 1.5% of a core
 * (`tickflow bench idle`). kafkajs heartbeats between fetches, so a runner uses at most a quarter of
 * its session timeout.
 */
export function fetchMaxWaitMs(): number {
  const text = process.env.TICKFLOW_FETCH_MAX_WAIT_MS ?? '3000';
  const value = Number(text);
  if (!Number.isInteger(value) || value < 10 || value > 10_000) {
    throw new TickflowError(
      'CONFIG',
      `TICKFLOW_FETCH_MAX_WAIT_MS is '${text}'`,
      'set it to a whole number of milliseconds from 10 to 10000, or unset it (default 3000)',
    );
  }
  return value;
}
