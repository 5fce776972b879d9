import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import { scalar, waitForWalApplied } from '../../connectors/questdb/sql';
import { REPO_ROOT } from '../../ops/config';
import { collectTopic } from '../../ops/tap';
import type { AvroCodec } from '../../pipelines/runtime/codec';
import { readPartition } from '../../pipelines/runtime/runner';
import { changelogTopic } from '../../pipelines/runtime/store';
import type { RunningVolume, StateEntry, Trade } from '../../schemas/types.generated';
import { topicSpec } from '../../topics/catalog';
import type { Decimal } from '../../schemas/decimal';

/** Publishes trades to md.trades.v1 keyed by instrument (idempotent producer: order per key kept). */
export async function publishTrades(kafka: Kafka, codec: AvroCodec, trades: readonly (Trade | { raw: Buffer; key: string })[], ratePerSecond?: number): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = Date.now();
  try {
    for (let i = 0; i < trades.length; i += 2000) {
      if (ratePerSecond) {
        const due = started + (i / ratePerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const messages: Message[] = await Promise.all(
        trades.slice(i, i + 2000).map(async (t) => ('raw' in t ? { key: t.key, value: t.raw } : { key: t.instrumentId, value: await codec.encode('md.trades.v1', t) })),
      );
      await producer.send({ topic: 'md.trades.v1', messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface RunProcess {
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

const CLI = path.join(REPO_ROOT, 'dist', 'ops', 'cli', 'main.js');

/** Starts `tickflow run` as its own OS process (so it can be SIGKILLed), logging to a file. */
export function startRun(args: string[], env: NodeJS.ProcessEnv = {}, label = 'run'): RunProcess {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it)`);
  const logFile = path.join(os.tmpdir(), `tickflow-${label}-${process.pid}-${Date.now()}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [CLI, 'run', '--metrics-port', '0', ...args], { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logFile, exited };
}

export async function killRun(run: RunProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  run.child.kill(signal);
  return run.exited;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

export async function volumeRows(prefix: string): Promise<number> {
  return Number(await scalar(`SELECT count() FROM running_volume WHERE instrument_id LIKE 'SYN:${prefix}%'`));
}

/** Waits until QuestDB holds `count` running_volume rows of the prefix, with the WAL applied. */
export async function waitForVolumeRows(prefix: string, count: number, timeoutMs: number): Promise<void> {
  await waitFor(`${count} running_volume rows for ${prefix}`, async () => {
    await waitForWalApplied(['running_volume']).catch(() => undefined);
    return (await volumeRows(prefix)) >= count;
  }, timeoutMs, 1000);
}

/**
 * Exactly-once check of md.volume.v1 against the input: one output per input trade (by instrument
 * and trade id), in order per instrument, each carrying the exact cumulative volume and count.
 * Returns problems (empty when all is well).
 */
export async function checkVolumeOutputs(kafka: Kafka, prefix: string, trades: readonly Trade[]): Promise<string[]> {
  const outputs = (await collectTopic<RunningVolume>(kafka, 'md.volume.v1', 180_000)).map((r) => r.value).filter((v) => v.instrumentId.startsWith(`SYN:${prefix}`));
  const problems: string[] = [];
  if (outputs.length !== trades.length) problems.push(`md.volume.v1 has ${outputs.length} outputs for ${trades.length} inputs`);
  const seen = new Set<string>();
  for (const o of outputs) {
    const id = `${o.instrumentId}/${o.tradeId}`;
    if (seen.has(id)) problems.push(`duplicate output for ${id}`);
    seen.add(id);
  }
  const expected = new Map<string, { count: number; volume: string }>();
  const running = new Map<string, { count: number; volume: Decimal }>();
  for (const t of trades) {
    const before = running.get(t.instrumentId);
    const after = { count: (before?.count ?? 0) + 1, volume: before ? before.volume.plus(t.size) : t.size };
    running.set(t.instrumentId, after);
    expected.set(`${t.instrumentId}/${t.tradeId}`, { count: after.count, volume: after.volume.toFixed() });
  }
  for (const o of outputs) {
    const want = expected.get(`${o.instrumentId}/${o.tradeId}`);
    if (!want) problems.push(`output for unknown trade ${o.instrumentId}/${o.tradeId}`);
    else if (want.count !== o.tradeCount || want.volume !== o.volume.toFixed()) problems.push(`${o.instrumentId}/${o.tradeId}: got count ${o.tradeCount} volume ${o.volume.toFixed()}, want ${want.count} ${want.volume}`);
    if (problems.length > 20) break;
  }
  return problems;
}

/** The running-volume state as a restarted instance restores it: the changelog, read_committed. */
export async function restoredTotals(kafka: Kafka, codec: AvroCodec, prefix: string): Promise<Record<string, unknown>> {
  const topic = changelogTopic('running-volume', 'totals');
  const state: Record<string, unknown> = {};
  for (let p = 0; p < (topicSpec(topic)?.partitions ?? 0); p++) {
    await readPartition(kafka, topic, p, async (m) => {
      const k = m.key?.toString('utf8') ?? '';
      if (!k.startsWith(`SYN:${prefix}`)) return;
      if (m.value) state[k] = JSON.parse((await codec.decode<StateEntry>(topic, m.value)).json);
      else delete state[k];
    });
  }
  return state;
}

export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}
