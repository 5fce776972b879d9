import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { STAGES } from '../../pipelines/registry';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { changelogTopic } from '../../topics/catalog';
import { REPO_ROOT } from '../../pipelines/runtime/settings';
import { Decimal } from '../../schemas/decimal';
import type { Candidate, Signal, Trade } from '../../schemas/types.generated';
import { collectTopic, tap } from '../../ops/cli/tap';
import { changeSetting, readConfigTable } from '../../ops/run/config';
import { lagReport } from '../../ops/run/lag';
import { Pipeline } from '../../ops/run/pipeline';
import { replayTable, replayTopic } from '../../ops/run/topic-replay';
import { sql } from '../../connectors/questdb/sql';
import { ensureDemoData } from '../support/demo-data';
import { TestNamespaces } from '../support/namespaces';
import { unique } from '../support/helpers';

/**
 * The operator's tools against a running pipeline (validate in a namespace of its own):
 * `config set` changes a setting the running stage applies without a process restart, validated
 * and recorded; `tap` stops at the end, filters and joins no group that stays; `lag` shows the
 * stage's group; `replay --topic` copies an event-time range into another namespace without moving
 * the live group's offsets.
 */
describe('operator tools: config, tap, lag, replay (real stack)', () => {
  const ns = new TestNamespaces('test-operator-tools');
  const codec = new AvroCodec();
  let prefix: string;
  let pipeline: Pipeline;
  const tag = unique('OPS');
  const instrument = `TEST:${tag}`;
  const T0 = Date.UTC(2026, 0, 5, 15, 0) * 1000;
  const MINUTE = 60_000_000;
  const replayPrefixes: string[] = [];

  const candidate = (n: number, confidence: number): Candidate => ({
    id: `${tag}-${n}`,
    // One strategy each: validate refuses a repeat of a strategy's side on an instrument as DUPLICATE.
    strategy: ['ema-cross-rsi', 'vwap-reversion', 'breakout-volume'][n],
    instrumentId: instrument,
    venue: 'TEST',
    symbol: tag,
    source: 'test',
    interval: '1m',
    side: n % 2 === 0 ? 'BUY' : 'SELL',
    confidence,
    reason: 'published by the test',
    price: new Decimal('100.25').plus(n),
    barStart: T0 + n * MINUTE,
    barRevision: 0,
    tsEvent: T0 + (n + 1) * MINUTE,
    tsRecv: T0 + (n + 1) * MINUTE,
    features: {},
  });

  async function publish(candidates: Candidate[]): Promise<void> {
    const producer = ns.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic: `${prefix}strategy.candidates.v1`,
        acks: -1,
        messages: await Promise.all(
          candidates.map(async (c) => ({
            key: c.instrumentId,
            value: await codec.encode('strategy.candidates.v1', c),
          })),
        ),
      });
    } finally {
      await producer.disconnect();
    }
  }

  async function outcomes(): Promise<Map<string, string>> {
    const accepted = await collectTopic<Signal>(ns.kafka, `${prefix}signals.v1`, 30_000, 'signals.v1');
    const rejected = await collectTopic<Signal>(
      ns.kafka,
      `${prefix}signals.rejected.v1`,
      30_000,
      'signals.rejected.v1',
    );
    const all = [...accepted, ...rejected].map((r) => r.value);
    const byId = new Map<string, string>();
    for (const s of all) {
      const id = s.id;
      byId.set(id, `${byId.has(id) ? `${byId.get(id)} ` : ''}${s.status}${s.rejectCode ? ` ${s.rejectCode}` : ''}`);
    }
    return byId;
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    await ns.open();
    prefix = await ns.create('tools', [
      'strategy.candidates.v1',
      'strategy.candidates.v1.dlq',
      'signals.v1',
      'signals.rejected.v1',
      'ops.config.v1',
      'ops.config.v1.dlq',
      ...(STAGES.validate.stores ?? []).map((store) => changelogTopic('validate', store)),
    ]);
    pipeline = new Pipeline(ns.kafka, codec, {
      topicPrefix: prefix,
      fuse: false,
      settings: new Map([['validate', { clock: 'event', maxAgeMs: String(365 * 86_400_000) }]]),
    });
    await pipeline.start(['validate']);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    const admin = ns.admin;
    const leftovers = (await admin.listTopics()).filter((t) => replayPrefixes.some((p) => t.startsWith(p)));
    if (leftovers.length > 0) await admin.deleteTopics({ topics: leftovers }).catch(() => undefined);
    await ns.close();
  });

  it('config set changes a running stage at a batch boundary, validated and recorded; exactly once across the restart', async () => {
    // Before: 0.7 clears the default minimum confidence (0.6).
    await publish([candidate(0, 0.7)]);
    await waitFor('the first signal', async () => ((await outcomes()).size === 1 ? true : undefined));
    expect([...(await outcomes()).values()]).toEqual(['ACCEPTED']);

    // A value the stage's schema refuses is not published.
    await expect(
      changeSetting(ns.kafka, codec, {
        stage: 'validate',
        setting: 'minConfidence',
        value: '1.5',
        reason: 'a typo',
        prefix,
      }),
    ).rejects.toThrow(/minConfidence/);
    expect((await readConfigTable(ns.kafka, prefix)).size).toBe(0);

    const before = pipeline.runners[0];
    const change = await changeSetting(ns.kafka, codec, {
      stage: 'validate',
      setting: 'minConfidence',
      value: '0.8',
      reason: 'tighten for the test',
      actor: 'operator-tools-test',
      prefix,
    });
    expect(change).toMatchObject({ previous: '0.6', value: '0.8', actor: 'operator-tools-test' });
    // The runner is replaced in place by one with the new setting; the process keeps running.
    await waitFor('the restarted runner', async () =>
      pipeline.runners[0] !== before && pipeline.runners[0].isReady() ? true : undefined,
    );
    await publish([candidate(1, 0.7), candidate(2, 0.9)]);
    const after = await waitFor('three outcomes', async () => {
      const o = await outcomes();
      return o.size === 3 ? o : undefined;
    });
    expect(Object.fromEntries(after)).toEqual({
      [`${tag}-0`]: 'ACCEPTED',
      [`${tag}-1`]: 'REJECTED LOW_CONFIDENCE',
      [`${tag}-2`]: 'ACCEPTED',
    });
    const table = await readConfigTable(ns.kafka, prefix);
    expect(table.get('validate.minConfidence')).toMatchObject({
      value: '0.8',
      previous: '0.6',
      actor: 'operator-tools-test',
      reason: 'tighten for the test',
    });

    // A record that does not validate (written around `config set`, or made stale by a later
    // release) is not applied and does not stop the stage: the runner is not restarted.
    const running = pipeline.runners[0];
    const producer = ns.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: `${prefix}ops.config.v1`,
      acks: -1,
      messages: [
        {
          key: 'validate.maxAgeMs',
          value: await codec.encode('ops.config.v1', {
            ...change,
            changeId: 'bad',
            setting: 'maxAgeMs',
            value: 'not a number',
            previous: null,
          }),
        },
      ],
    });
    await producer.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(pipeline.runners[0]).toBe(running);
    expect(running.isReady()).toBe(true);
    // `config unset` removes it (validated with what stays).
    await changeSetting(ns.kafka, codec, {
      stage: 'validate',
      setting: 'maxAgeMs',
      value: null,
      reason: 'bad value',
      prefix,
    });

    // `tickflow config show` prints what is in force, with who and why.
    const show = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'ops', 'bin', 'tickflow.cjs'), 'config', 'show', 'validate', '--namespace', prefix],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(
      /validate\.minConfidence\s+0\.8\s+config topic\s+\S+\s+operator-tools-test\s+tighten for the test/,
    );
  }, 180_000);

  it('tap stops at the end, filters by key and field, limits, and leaves no consumer group', async () => {
    const lines: string[] = [];
    const out = (line: string): void => void lines.push(line);
    const base = { topic: 'signals.v1', prefix, follow: false, out } as const;
    expect(await tap(ns.kafka, { ...base, from: { kind: 'beginning' }, format: 'json' })).toBe(2);
    const parsed = lines.map((l) => JSON.parse(l) as { key: string; value: { price: string; status: string } });
    expect(parsed.map((p) => p.value.price).sort()).toEqual(['100.25', '102.25']);
    expect(parsed.every((p) => p.key === instrument)).toBe(true);

    lines.length = 0;
    expect(
      await tap(ns.kafka, {
        ...base,
        from: { kind: 'beginning' },
        format: 'json',
        where: ['price>100.25', 'side=BUY'],
      }),
    ).toBe(1);
    expect(JSON.parse(lines[0]).value.price).toBe('102.25');
    expect(await tap(ns.kafka, { ...base, from: { kind: 'beginning' }, format: 'line', keys: ['OTHER:*'] })).toBe(0);
    expect(await tap(ns.kafka, { ...base, from: { kind: 'beginning' }, format: 'line', max: 1 })).toBe(1);
    expect(await tap(ns.kafka, { ...base, from: { kind: 'end' }, format: 'line' })).toBe(0);
    expect(await tap(ns.kafka, { ...base, from: { kind: 'time', ms: Date.now() + 3_600_000 }, format: 'line' })).toBe(
      0,
    );
    expect(await tap(ns.kafka, { ...base, from: { kind: 'time', ms: Date.now() - 3_600_000 }, format: 'line' })).toBe(
      2,
    );

    lines.length = 0;
    expect(await tap(ns.kafka, { ...base, from: { kind: 'beginning' }, format: 'table' })).toBe(2);
    expect(lines[0]).toMatch(/^PARTITION\s+OFFSET\s+KEY\s+ID\s+STRATEGY/);
    expect(lines).toHaveLength(3);

    const groups = (await ns.admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups.filter((g) => g.startsWith('tickflow.tap.') || g.startsWith('tickflow.read.'))).toEqual([]);
  }, 120_000);

  it('lag shows the running stage with its partitions, state and last commit', async () => {
    const report = await lagReport(ns.admin, prefix);
    const validate = report.find((g) => g.name === 'validate');
    expect(validate).toMatchObject({
      kind: 'stage',
      state: 'running',
      members: 1,
      group: `tickflow.${prefix}validate`,
    });
    expect(validate?.partitions.length).toBeGreaterThan(0);
    // Every record is processed: at most the commit marker remains.
    expect(validate?.partitions.every((p) => p.lag <= 1)).toBe(true);
    expect(Date.now() - (validate?.lastCommitAt ?? 0)).toBeLessThan(5 * 60_000);
  }, 60_000);

  it('replay --topic copies an event-time range into another namespace, leaving the live offsets alone', async () => {
    const target = `${unique('test.replay.')}.`;
    replayPrefixes.push(target);
    const group = `tickflow.${prefix}validate`;
    const offsetsBefore = await ns.admin.fetchOffsets({ groupId: group, topics: [`${prefix}strategy.candidates.v1`] });
    const progress: string[] = [];
    const result = await replayTopic(ns.kafka, ns.admin, codec, {
      topic: 'strategy.candidates.v1',
      sourcePrefix: prefix,
      prefix: target,
      // candidates 1 and 2 only: tsEvent T0+2min and T0+3min
      fromMicros: T0 + 2 * MINUTE,
      toMicros: T0 + 4 * MINUTE,
      speed: { kind: 'max' },
      brokers: 1,
      onProgress: (p) => progress.push(`${p.phase} ${p.done}/${p.total}`),
    });
    expect(result).toMatchObject({
      scanned: 3,
      published: 2,
      target: `${target}strategy.candidates.v1`,
      completed: true,
    });
    expect(progress.at(-1)).toBe('publish 2/2');
    const copied = await collectTopic<Candidate>(ns.kafka, result.target, 30_000, 'strategy.candidates.v1');
    expect(copied.map((c) => c.value.id).sort()).toEqual([`${tag}-1`, `${tag}-2`]);
    expect(copied.every((c) => c.key === instrument)).toBe(true);
    // Every catalog topic exists in the new namespace, so `tickflow run --namespace` can process it.
    const topics = await ns.admin.listTopics();
    expect(topics).toContain(`${target}signals.v1`);
    expect(topics).toContain(`${target}ops.config.v1`);
    expect(await ns.admin.fetchOffsets({ groupId: group, topics: [`${prefix}strategy.candidates.v1`] })).toEqual(
      offsetsBefore,
    );
    await expect(
      replayTopic(ns.kafka, ns.admin, codec, {
        topic: 'strategy.candidates.v1',
        sourcePrefix: prefix,
        prefix,
        fromMicros: T0,
        toMicros: T0 + MINUTE,
        speed: { kind: 'max' },
        brokers: 1,
      }),
    ).rejects.toThrow(/its own namespace/);
  }, 120_000);

  it('replay --table turns a range of QuestDB rows back into the records they were written from', async () => {
    await ensureDemoData();
    const target = `${unique('test.replay.')}.`;
    replayPrefixes.push(target);
    const from = Date.parse('2020-02-22T00:00:00Z') * 1000;
    const to = Date.parse('2020-02-22T00:01:00Z') * 1000;
    const rows = await sql(
      `SELECT ts, trade_id, price, size, side FROM trades WHERE instrument_id = 'BINANCE-FUT:BTCUSDT' AND ts >= ${from}::timestamp AND ts < ${to}::timestamp`,
    );
    const all = Number(
      (await sql(`SELECT count() FROM trades WHERE ts >= ${from}::timestamp AND ts < ${to}::timestamp`)).dataset[0][0],
    );
    const result = await replayTable(ns.kafka, ns.admin, codec, {
      table: 'trades',
      prefix: target,
      fromMicros: from,
      toMicros: to,
      speed: { kind: 'max' },
      brokers: 1,
    });
    expect(result).toMatchObject({ scanned: all, published: all, target: `${target}md.trades.v1`, completed: true });
    const copied = (await collectTopic<Trade>(ns.kafka, result.target, 30_000, 'md.trades.v1')).filter(
      (r) => r.value.instrumentId === 'BINANCE-FUT:BTCUSDT',
    );
    expect(
      copied
        .map((c) => `${c.value.tradeId} ${c.value.price.toFixed()} ${c.value.size.toFixed()} ${c.value.side}`)
        .sort(),
    ).toEqual(
      rows.dataset
        .map(
          ([, id, price, size, side]) =>
            `${String(id)} ${new Decimal(String(price)).toFixed()} ${new Decimal(String(size)).toFixed()} ${String(side)}`,
        )
        .sort(),
    );
    expect(copied.every((c) => c.key === 'BINANCE-FUT:BTCUSDT')).toBe(true);
    await expect(
      replayTable(ns.kafka, ns.admin, codec, {
        table: 'fills',
        prefix: target,
        fromMicros: from,
        toMicros: to,
        speed: { kind: 'max' },
        brokers: 1,
      }),
    ).rejects.toThrow(/cannot be replayed/);
  }, 300_000);
});
