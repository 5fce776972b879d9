import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Kafka } from 'kafkajs';
import type { RiskCommand } from '../../schemas/types.generated';
import type { AvroCodec } from '../../pipelines/runtime/codec';

export const RISK_COMMANDS_TOPIC = 'risk.commands.v1';

/** What a halt or resume may name (the CLI and the console check both before publishing). */
export const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const INSTRUMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}:[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

export interface RiskCommandOptions {
  action: RiskCommand['action'];
  /** One account, or every account when absent. */
  account?: string;
  /** Only this instrument of the scope (absent: everything). */
  instrumentId?: string;
  flatten?: boolean;
  reason: string;
  /** Who: default user@host of this process. */
  actor?: string;
  /** Topic prefix of the pipeline's namespace (`run --namespace`). */
  prefix?: string;
  /** Default: a random UUID (tests replaying one command into two namespaces give their own). */
  commandId?: string;
  /** Default: now (microseconds). Replays and tests in recorded time give the command's time in that time. */
  tsIssued?: number;
}

export function defaultActor(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${os.hostname()}`;
}

/**
 * Publishes a halt or resume for risk to act on. One account: keyed by it, so it lands in that
 * account's partition (the default partitioner, as for risk.signals.v1). Every account: key `*`
 * written to every partition, since each risk task only sees its own partition's accounts. Written
 * idempotently with acks from all in-sync replicas; the record is the audit's source (who, why, when).
 */
export async function publishRiskCommand(
  kafka: Kafka,
  codec: AvroCodec,
  options: RiskCommandOptions,
): Promise<RiskCommand> {
  const command: RiskCommand = {
    commandId: options.commandId ?? randomUUID(),
    action: options.action,
    account: options.account ?? null,
    instrumentId: options.instrumentId ?? null,
    flatten: options.flatten ?? false,
    reason: options.reason,
    actor: options.actor ?? defaultActor(),
    tsIssued: options.tsIssued ?? Date.now() * 1000,
  };
  const topic = `${options.prefix ?? ''}${RISK_COMMANDS_TOPIC}`;
  await codec.prepare([RISK_COMMANDS_TOPIC]);
  const value = await codec.encode(RISK_COMMANDS_TOPIC, command);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    if (options.account !== undefined) {
      await producer.send({ topic, acks: -1, messages: [{ key: options.account, value }] });
    } else {
      const admin = kafka.admin();
      await admin.connect();
      let partitions: number[];
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
        partitions = metadata.topics[0].partitions.map((p) => p.partitionId);
      } finally {
        await admin.disconnect();
      }
      await producer.send({
        topic,
        acks: -1,
        messages: partitions.map((partition) => ({ key: '*', value, partition })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  return command;
}
