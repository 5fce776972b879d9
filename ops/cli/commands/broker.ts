import type { CommandDef } from '../args';
import { namespaceFlag } from '../args';
import type { BrokerAdapter } from '../../../connectors/brokers/adapter';
import { AlpacaAdapter } from '../../../connectors/alpaca/adapter';
import { alpacaConfigFromEnv } from '../../../connectors/alpaca/config';
import { AvroCodec } from '../../../pipelines/runtime/codec';
import { TickflowError } from '../../../pipelines/runtime/errors';
import { createKafka, ensureKafkaReachable } from '../../../pipelines/runtime/kafka';
import { exitAfterLogs, logger } from '../../../pipelines/runtime/log';
import { BrokerBridge } from '../../run/broker-bridge';

const log = logger('cli');

/**
 * Broker adapters by name, explicitly. Each factory reads its own settings (credentials from the
 * environment only, never flags) and throws a CONFIG error naming what is missing.
 */
const ADAPTERS: Readonly<Record<string, () => BrokerAdapter>> = {
  alpaca: () => new AlpacaAdapter({ config: alpacaConfigFromEnv() }),
};

/**
 * `tickflow broker <adapter>`: a live broker in place of the paper execution stage, until SIGINT or
 * SIGTERM. Consumes orders.requests.v1 as group `tickflow.<namespace>broker-<adapter>` and writes
 * orders.events.v1, execution.reports.v1 and fills.v1 as the paper stage does (ops/run/broker-bridge.ts).
 * Do not run the `execution` stage on the same topics at the same time.
 */
export const BROKER_COMMAND: CommandDef = {
  spec: {
    usage: `broker <${Object.keys(ADAPTERS).join('|')}> [--namespace P.] [--from-beginning]`,
    positionals: [1, 1],
    flags: {
      namespace: {
        type: 'string',
        description:
          'the topic prefix the pipeline runs under (run --namespace), e.g. exp1.; the prefixed topics must exist',
      },
      'from-beginning': {
        type: 'boolean',
        description:
          'a new consumer group starts at the oldest order request instead of the newest (every old NEW is sent to the broker)',
      },
    },
  },
  run: async (p) => {
    const name = p.positionals[0];
    const make = Object.hasOwn(ADAPTERS, name) ? ADAPTERS[name] : undefined;
    if (!make)
      throw new TickflowError(
        'USAGE',
        `tickflow broker: no broker adapter '${name}'`,
        `use one of: ${Object.keys(ADAPTERS).join(', ')}`,
      );
    const prefix = namespaceFlag(p.flags.namespace);
    // Settings first: a missing key is reported before anything connects.
    const adapter = make();
    await ensureKafkaReachable();
    const kafka = createKafka(`tickflow-broker-${name}`);
    let failed: Error | undefined;
    let stopRequested: (() => void) | undefined;
    const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
    const bridge = new BrokerBridge(kafka, new AvroCodec(), adapter, {
      prefix,
      fromBeginning: p.flags['from-beginning'] === true,
      sessionTimeoutMs: process.env.TICKFLOW_SESSION_TIMEOUT_MS
        ? Number(process.env.TICKFLOW_SESSION_TIMEOUT_MS)
        : undefined,
      onFatal: (error) => {
        failed = error;
        stopRequested?.();
      },
    });
    const onSignal = (signal: string): void => {
      log.info(`${signal}: finishing the request in flight, publishing the last events, closing the broker stream`);
      setTimeout(() => {
        log.error('shutdown took over 20 s; exiting without waiting further');
        exitAfterLogs(1);
      }, 20_000).unref();
      stopRequested?.();
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    try {
      await bridge.start();
    } catch (error) {
      await bridge.stop();
      throw error;
    }
    log.info(`broker ${name} is executing ${prefix ?? ''}orders.requests.v1`);
    await stopped;
    await bridge.stop();
    if (failed) {
      log.error(`stopped: ${failed.message}; restart once the cause is fixed`);
      return 1;
    }
    return 0;
  },
};
