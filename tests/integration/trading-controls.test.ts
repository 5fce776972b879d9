import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { benchRiskConfig } from '../../ops/bench/trading-config';
import { stageTopics } from '../../ops/bench/trading';
import { collectTopic } from '../../ops/cli/tap';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import type { AuditEvent, Fill, OrderEvent, Position, RiskCommand, RiskDecision } from '../../schemas/types.generated';
import { dlqTopicOf } from '../../topics/catalog';
import { scalar, sql, waitForWalApplied } from '../../connectors/questdb/sql';
import type { Child } from '../support/fault-children';
import { publish, startFaultRun } from '../support/fault-children';
import { unique } from '../support/helpers';
import { TestNamespaces } from '../support/namespaces';
import { SHORT_SESSION_ENV, sleep, waitFor } from '../support/runtime-harness';
import { quoteAt, signalFor } from '../support/trading';

/**
 * The controls a trader relies on, on the real stack with risk and execution in their own processes
 * and a live market (a quote per instrument every 100 ms, stamped now): a loss breaker trips when
 * the market moves against a position (no signal needed) and stays tripped after risk is SIGKILLed
 * and restarted; `tickflow halt` (the CLI) cancels every open
 * order within a second and blocks new ones; `tickflow resume` restores trading; every step is in
 * the audit trail with who, why and when; and every trading record reaches its QuestDB table once.
 */
const run = promisify(execFile);

async function read<V>(kafka: Kafka, namespace: string, topic: string): Promise<V[]> {
  return (await collectTopic<V>(kafka, `${namespace}${topic}`, 60_000, topic)).map((r) => r.value);
}

async function tickflow(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'ops', 'bin', 'tickflow.cjs'), ...args], {
    env: { ...process.env, TICKFLOW_LOG_FORMAT: 'json' },
  });
  return stdout;
}

describe('trading controls: breakers, halt and resume', () => {
  const ns = new TestNamespaces('test-controls');
  const codec = new AvroCodec();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tickflow-controls-'));
  const children: Child[] = [];
  beforeAll(() => ns.open());
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await ns.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a loss breaker survives a SIGKILL, halt cancels every open order within a second, resume restores, all audited', async () => {
    const stored = ['risk.decisions.v1', 'orders.events.v1', 'fills.v1', 'positions.v1', 'pnl.v1', 'audit.v1'];
    const namespace = await ns.create('controls', [
      ...new Set([...stageTopics(['risk', 'execution', 'marks']), ...stored.map(dlqTopicOf)]),
    ]);
    const startedMicros = Date.now() * 1000;
    const p = unique('C');
    const ids = [0, 1, 2].map((i) => `SYN:${p}${i}`);
    const configFile = path.join(dir, 'risk.json');
    const config = benchRiskConfig(['ctl-a', 'ctl-b']);
    config.accounts = {
      // A breaker at a loss of 20: about 99 units bought at 100.01 lose that when the market falls a cent.
      'ctl-a': { maxDailyLoss: '20', breakerAction: 'HALTED' },
      // Limit orders at the signal's price: below the market, they rest.
      'ctl-b': { orderType: 'LIMIT' },
    };
    fs.writeFileSync(configFile, JSON.stringify(config));
    const env = {
      ...SHORT_SESSION_ENV,
      TICKFLOW_TEST_SETTINGS: JSON.stringify({
        risk: { configFile },
        marks: { markIntervalMs: '0' },
        'sink-questdb': { topics: stored.join(',') },
      }),
    };
    const start = (stages: string, label: string): Child => {
      const child = startFaultRun(stages, namespace, env, label);
      children.push(child);
      return child;
    };
    let risk = start('risk', 'controls-risk');
    start('execution,marks,sink-questdb', 'controls-exec');
    const prices = { bid: '100.00', ask: '100.01' };
    let market = true;
    const quotes = (async () => {
      while (market) {
        const now = Date.now() * 1000;
        await publish(
          ns.kafka,
          codec,
          namespace,
          ids.map((id, i) => quoteAt(id, now + i, prices.bid, prices.ask)),
          1e6,
        );
        await sleep(100);
      }
    })();
    const decision = async (signalId: string, account: string): Promise<RiskDecision> => {
      let found: RiskDecision | undefined;
      await waitFor(
        `the decision on ${signalId}`,
        async () => {
          found = (await read<RiskDecision>(ns.kafka, namespace, 'risk.decisions.v1')).find(
            (d) => d.decisionId === `${signalId}|${account}`,
          );
          return found !== undefined;
        },
        60_000,
        300,
      );
      return found as RiskDecision;
    };
    const signal = async (account: string, id: string, side: 'BUY' | 'SELL', price: string): Promise<RiskDecision> => {
      const s = signalFor(account, id, side, price, Date.now() * 1000);
      await publish(ns.kafka, codec, namespace, [s], 1e6);
      return decision(s.value.id, account);
    };
    const events = (): Promise<OrderEvent[]> => read<OrderEvent>(ns.kafka, namespace, 'orders.events.v1');
    try {
      await sleep(3000);
      // 1. A loss trips ctl-a's breaker; it stays tripped after risk is SIGKILLed and restarted.
      const bought = await signal('ctl-a', ids[0], 'BUY', '100.01');
      expect([bought.approved, bought.reasons]).toEqual([true, []]);
      await waitFor(
        'the buy to fill',
        async () => (await events()).some((e) => e.orderId === bought.orderId && e.status === 'FILLED'),
        60_000,
        300,
      );
      prices.bid = '99.00';
      prices.ask = '99.01';
      // The breaker trips from the market alone (risk revalues accounts every second), no signal needed.
      await waitFor(
        'the breaker to trip on the market move',
        async () =>
          (await read<AuditEvent>(ns.kafka, namespace, 'audit.v1')).some(
            (a) => a.account === 'ctl-a' && a.kind === 'BREAKER_TRIPPED',
          ),
        30_000,
        300,
      );
      const tripped = await signal('ctl-a', ids[0], 'BUY', '99.01');
      expect(tripped.approved).toBe(false);
      expect(tripped.tradingState).toBe('HALTED');
      risk.kill('SIGKILL');
      await risk.exited;
      risk = start('risk', 'controls-risk-2');
      const afterRestart = await signal('ctl-a', ids[0], 'BUY', '99.01');
      expect(afterRestart.approved).toBe(false);
      expect(afterRestart.reasons.map((r) => r.code)).toContain('STATE_HALTED');

      // 2. Halt from the CLI cancels every open order of ctl-b within a second.
      const resting = [];
      for (const id of ids) resting.push(await signal('ctl-b', id, 'BUY', '90.00'));
      expect(resting.map((d) => d.approved)).toEqual([true, true, true]);
      const orderIds = resting.map((d) => d.orderId as string);
      await waitFor(
        'the three limit orders to rest',
        async () => {
          const accepted = new Set((await events()).filter((e) => e.kind === 'ACCEPTED').map((e) => e.orderId));
          return orderIds.every((o) => accepted.has(o));
        },
        60_000,
        300,
      );
      const halted = await tickflow([
        'halt',
        '--account',
        'ctl-b',
        '--reason',
        'test: feed looks wrong',
        '--actor',
        'ops@desk',
        '--namespace',
        namespace,
      ]);
      expect(halted).toMatch(/halt .* sent for ctl-b by ops@desk: test: feed looks wrong/);
      const command = (await read<RiskCommand>(ns.kafka, namespace, 'risk.commands.v1')).find(
        (c) => c.action === 'HALT',
      ) as RiskCommand;
      let canceled: OrderEvent[] = [];
      await waitFor(
        'every open order canceled',
        async () => {
          canceled = (await events()).filter((e) => orderIds.includes(e.orderId) && e.kind === 'CANCELED');
          return canceled.length === 3;
        },
        30_000,
        200,
      );
      const latencyMs = (Math.max(...canceled.map((e) => e.tsProcessed)) - command.tsIssued) / 1000;
      expect(latencyMs).toBeLessThan(1000);
      const blocked = await signal('ctl-b', ids[1], 'BUY', '90.00');
      expect(blocked.reasons.map((r) => r.code)).toContain('STATE_HALTED');

      // 3. Resume restores trading (and clears ctl-a's breaker).
      await tickflow(['resume', '--account', 'ctl-b', '--reason', 'test: feed fixed', '--namespace', namespace]);
      await tickflow(['resume', '--account', 'ctl-a', '--reason', 'test: loss reviewed', '--namespace', namespace]);
      await waitFor(
        'ctl-b to trade again',
        async () => (await signal('ctl-b', ids[2], 'BUY', '90.00')).approved,
        60_000,
        500,
      );
      await waitFor(
        'ctl-a to trade again',
        async () => (await signal('ctl-a', ids[0], 'SELL', '99.00')).approved,
        60_000,
        500,
      );

      // An instrument can be halted alone, for every account: orders on it are refused, others go on.
      await tickflow(['halt', '--instrument', ids[2], '--reason', 'test: bad prints', '--namespace', namespace]);
      await waitFor(
        `${ids[2]} to be halted`,
        async () =>
          (await signal('ctl-b', ids[2], 'BUY', '90.00')).reasons.map((r) => r.code).includes('INSTRUMENT_HALTED'),
        60_000,
        500,
      );
      expect((await signal('ctl-b', ids[1], 'BUY', '90.00')).approved).toBe(true);
      await tickflow(['resume', '--instrument', ids[2], '--reason', 'test: prints fixed', '--namespace', namespace]);
      await waitFor(
        `${ids[2]} to trade again`,
        async () => (await signal('ctl-b', ids[2], 'BUY', '90.00')).approved,
        60_000,
        500,
      );

      // 4. The audit trail has all of it, with who and why.
      const audit = await read<AuditEvent>(ns.kafka, namespace, 'audit.v1');
      const kinds = (account: string): string[] => audit.filter((a) => a.account === account).map((a) => a.kind);
      expect(kinds('ctl-a')).toEqual(
        expect.arrayContaining(['DECISION', 'FILL', 'BREAKER_TRIPPED', 'RESUME', 'BREAKER_RESET']),
      );
      expect(kinds('ctl-b')).toEqual(expect.arrayContaining(['DECISION', 'ORDER_EVENT', 'HALT', 'RESUME']));
      const halt = audit.find(
        (a) => a.kind === 'HALT' && a.account === 'ctl-b' && a.instrumentId === null,
      ) as AuditEvent;
      expect(halt.actor).toBe('ops@desk');
      expect(halt.summary).toContain('test: feed looks wrong');
      const resume = audit.find(
        (a) => a.kind === 'RESUME' && a.account === 'ctl-b' && a.instrumentId === null,
      ) as AuditEvent;
      const instrumentHalts = audit.filter((a) => a.kind === 'HALT' && a.instrumentId === ids[2]);
      // One line per partition for every account (*), and one per account it reached.
      expect(instrumentHalts.filter((a) => a.account === '*')).toHaveLength(3);
      expect(instrumentHalts.map((a) => a.summary).join(' ')).toContain('test: bad prints');
      expect(resume.actor).toMatch(/@/);
      expect(resume.summary).toContain('test: feed fixed');
      process.stdout.write(`halt: every open order canceled ${latencyMs.toFixed(0)} ms after the command was issued\n`);

      // 5. Every trading record is in QuestDB, once: decisions, order events, fills, positions, P&L, audit.
      market = false;
      await quotes;
      const list = ids.map((id) => `'${id}'`).join(', ');
      const expected = {
        risk_decisions: (await read<RiskDecision>(ns.kafka, namespace, 'risk.decisions.v1')).length,
        orders: (await events()).length,
        fills: (await read<Fill>(ns.kafka, namespace, 'fills.v1')).length,
        audit: (await read<AuditEvent>(ns.kafka, namespace, 'audit.v1')).length,
      };
      const rows = async (): Promise<typeof expected> => {
        await waitForWalApplied(['risk_decisions', 'orders', 'fills', 'audit']);
        const count = async (query: string): Promise<number> => Number(await scalar(query));
        return {
          risk_decisions: await count(`SELECT count() FROM risk_decisions WHERE instrument_id IN (${list})`),
          orders: await count(`SELECT count() FROM orders WHERE instrument_id IN (${list})`),
          fills: await count(`SELECT count() FROM fills WHERE instrument_id IN (${list})`),
          audit: await count(
            `SELECT count() FROM audit WHERE account IN ('ctl-a', 'ctl-b', '*') AND ts_recorded >= ${startedMicros}`,
          ),
        };
      };
      let found: typeof expected | undefined;
      await waitFor(
        'the trading tables to hold every record',
        async () => JSON.stringify((found = await rows())) === JSON.stringify(expected),
        60_000,
        1000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(found)}`);
      });
      expect(expected.fills).toBeGreaterThan(0);
      const positions = await read<Position>(ns.kafka, namespace, 'positions.v1');
      const last = positions.filter((x) => x.account === 'ctl-a').pop() as Position;
      const row = await sql(
        `SELECT quantity, avg_cost FROM positions WHERE account = 'ctl-a' AND instrument_id = '${last.instrumentId}' LATEST ON ts PARTITION BY instrument_id`,
      );
      expect(row.dataset[0]?.map(String)).toEqual([last.quantity.toFixed(12), last.avgCost.toFixed(12)]);
      expect(
        Number(await scalar(`SELECT count() FROM pnl WHERE account = 'ctl-a' AND ts_processed >= ${startedMicros}`)),
      ).toBeGreaterThan(0);
    } finally {
      market = false;
      await quotes;
    }
  }, 300_000);
});
