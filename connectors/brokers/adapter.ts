import type { Fill, OrderEvent, OrderRequest } from '../../schemas/types.generated';

/**
 * What a broker adapter reports: one change of one order's state, and with it the execution when
 * the change is a fill (kind PARTIALLY_FILLED or FILLED). `fill.fillId` equals `event.fillId`.
 */
export interface BrokerEvent {
  readonly event: OrderEvent;
  readonly fill?: Fill;
}

export type BrokerListener = (update: BrokerEvent) => void;

/**
 * A real broker in place of the paper execution stage (see README.md in this folder).
 *
 * - Input: the OrderRequests risk writes to orders.requests.v1 (NEW, CANCEL, REPLACE), one call of
 *   `submit` each, in topic order per instrument.
 * - Output: OrderEvents (and Fills) through the listeners, shaped exactly as the paper execution
 *   stage emits them: `eventId` is `<orderId>:<seq>`, `seq` counts from 1 per order with no gaps,
 *   decimals are exact, and every order ends in one terminal status. The caller writes each event to
 *   orders.events.v1 (key instrumentId) and execution.reports.v1 (key account) and each fill to
 *   fills.v1 (key instrumentId): see `brokerRecords`.
 * - Idempotency: the broker's client order id is our `orderId`, so submitting the same NEW twice
 *   (a retry, a replay after a crash) never creates a second order; a request whose `requestId` was
 *   already handled is ignored.
 * - Failures the broker reports about an order (refused, invalid, unknown) are events (REJECTED,
 *   CANCEL_REJECTED, REPLACE_REJECTED with a reasonCode and the broker's words in `detail`), never
 *   exceptions. `submit` throws only a TickflowError: CONFIG for credentials the broker refuses, or a
 *   transient code (NOT_REACHABLE, TIMEOUT, RATE_LIMITED, BAD_RESPONSE) once its own bounded retries
 *   are spent; the caller may submit the same request again.
 */
export interface BrokerAdapter {
  /** Short name for logs and metrics, e.g. `alpaca`. */
  readonly name: string;
  /** Connects the broker's update stream; resolves once it is authorized and listening. */
  start(): Promise<void>;
  submit(request: OrderRequest): Promise<void>;
  /** Adds a listener; the returned function removes it. Listeners are called synchronously, in order. */
  onEvent(listener: BrokerListener): () => void;
  /** Closes the stream and ends requests in flight; idempotent. */
  close(): Promise<void>;
}

export const ORDER_EVENTS_TOPIC = 'orders.events.v1';
export const EXECUTION_REPORTS_TOPIC = 'execution.reports.v1';
export const FILLS_TOPIC = 'fills.v1';

export interface BrokerRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: OrderEvent | Fill;
}

/** The records the paper execution stage writes for one update: the same topics and keys. */
export function brokerRecords(update: BrokerEvent): BrokerRecord[] {
  const { event, fill } = update;
  const records: BrokerRecord[] = [
    { topic: ORDER_EVENTS_TOPIC, key: event.instrumentId, value: event },
    { topic: EXECUTION_REPORTS_TOPIC, key: event.account, value: event },
  ];
  if (fill) records.push({ topic: FILLS_TOPIC, key: fill.instrumentId, value: fill });
  return records;
}
