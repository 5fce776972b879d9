import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { readableLog } from '../../pipelines/runtime/log';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { sleep } from './runtime-harness';

/** Processes of tests/support/fault-run.ts (compiled), for the fault tests that kill, freeze and restart stages. */
const FAULT_RUN = path.join(REPO_ROOT, 'dist', 'tests', 'support', 'fault-run.js');

export interface Child {
  exited: Promise<number | null>;
  log: string;
  kill(signal: NodeJS.Signals): void;
}

export function startFaultRun(stages: string, namespace: string, env: Record<string, string>, label: string): Child {
  if (!fs.existsSync(FAULT_RUN)) throw new Error(`${FAULT_RUN} is missing: run \`npm run build\` (npm test does it)`);
  const log = path.join(os.tmpdir(), `tickflow-${label}-${process.pid}-${Date.now()}.log`);
  const out = fs.openSync(log, 'a');
  const child = spawn(process.execPath, [FAULT_RUN, stages, namespace], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  fs.closeSync(out);
  return {
    log,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

/** The child's log as a person reads it (it logs JSON lines to its file). */
export const logOf = (child: Child): string => readableLog(fs.readFileSync(child.log, 'utf8'));

let publishes = 0;

/** Publishes records to several topics of a namespace, in transactions of `chunk`, at `rate` records/s. */
export async function publish(
  kafka: Kafka,
  codec: AvroCodec,
  namespace: string,
  records: readonly { topic: string; key: string; value: unknown }[],
  rate: number,
  chunk = 500,
): Promise<void> {
  const producer = kafka.producer({
    // Unique per call: two publishes at once (two namespaces) must not fence each other.
    transactionalId: `tickflow.test.publish.${process.pid}.${Date.now()}.${(publishes += 1)}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const started = Date.now();
  try {
    for (let i = 0; i < records.length; i += chunk) {
      const due = started + (i / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      const byTopic = new Map<string, Message[]>();
      for (const r of records.slice(i, i + chunk)) {
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.key, value: await codec.encode(r.topic, r.value) });
        byTopic.set(r.topic, list);
      }
      const transaction = await producer.transaction();
      await transaction.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic: `${namespace}${topic}`, messages })),
        acks: -1,
      });
      await transaction.commit();
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Trades of `instruments` instruments and, after every 400 trades, a heartbeat per instrument carrying its trade count.
 */
