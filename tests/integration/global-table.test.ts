import { collectTopic } from '../../ops/cli/tap';
import { AvroCodec } from '../../pipelines/runtime/codec';
import { Runner } from '../../pipelines/runtime/runner';
import type { InputRecord, Stage, StageContext } from '../../pipelines/runtime/stage';
import { Decimal } from '../../schemas/decimal';
import type { AuditEvent, Mark, Trade } from '../../schemas/types.generated';
import { publish } from '../support/fault-children';
import { unique } from '../support/helpers';
import { TestNamespaces } from '../support/namespaces';
import { waitFor } from '../support/runtime-harness';

/**
 * Global tables (Stage.globals, ctx.global): a stage sees the whole compacted topic (every
 * partition) from its first batch, follows new records and tombstones while it runs, and leaves no
 * consumer group behind. The probe stage writes what its table holds for the trade's instrument,
 * and the table's size, into audit.v1 for each trade.
 */
const TOPICS = ['md.trades.v1', 'md.trades.v1.dlq', 'marks.v1', 'audit.v1'];

function probeStage(): Stage<Trade> {
  return {
    name: 'probe',
    inputs: ['md.trades.v1'],
    outputs: ['audit.v1'],
    globals: ['marks.v1'],
    process(batch: readonly InputRecord<Trade>[], ctx: StageContext) {
      const marks = ctx.global<Mark>('marks.v1');
      return {
        out: batch.map(({ value: t }) => ({
          topic: 'audit.v1',
          key: t.instrumentId,
          value: {
            auditId: t.tradeId,
            account: 'probe',
            kind: 'DECISION',
            refId: t.tradeId,
            actor: 'probe',
            instrumentId: t.instrumentId,
            summary: JSON.stringify({ mark: marks.get(t.instrumentId)?.price.toFixed() ?? null, size: marks.size }),
            tsEvent: t.tsEvent,
            tsRecorded: t.tsEvent,
          } satisfies AuditEvent,
        })),
        failed: [],
      };
    },
  };
}

const mark = (instrumentId: string, price: string, ts: number): Mark => ({
  instrumentId,
  price: new Decimal(price),
  bid: null,
  ask: null,
  lastTrade: null,
  returnIntervalMs: 60_000,
  returnsEnd: 0,
  returns: [0.01, -0.02],
  tsEvent: ts,
  tsProcessed: ts,
});

describe('global tables', () => {
  const ns = new TestNamespaces('test-global');
  const codec = new AvroCodec();
  beforeAll(() => ns.open());
  afterAll(() => ns.close());

  it('are read whole before the first batch, follow updates and tombstones, and leave no group', async () => {
    const namespace = await ns.create('global', TOPICS);
    const prefix = unique('G');
    const now = Date.now() * 1000;
    const ids = Array.from({ length: 6 }, (_, i) => `SYN:${prefix}${i}`);
    // An older mark first: the table keeps the latest per key. Keys spread over the 3 partitions.
    await publish(
      ns.kafka,
      codec,
      namespace,
      [
        { topic: 'marks.v1', key: ids[0], value: mark(ids[0], '90', now) },
        ...ids.map((id, i) => ({ topic: 'marks.v1', key: id, value: mark(id, String(100 + i), now) })),
      ],
      10_000,
    );
    let n = 0;
    const trade = (id: string): { topic: string; key: string; value: Trade } => ({
      topic: 'md.trades.v1',
      key: id,
      value: {
        instrumentId: id,
        venue: 'SYN',
        symbol: id.slice(4),
        source: 'test',
        tsEvent: now + n,
        tsRecv: now + n,
        price: new Decimal('1'),
        size: new Decimal('1'),
        side: 'BUY',
        tradeId: `t${n++}`,
      },
    });
    const runner = Runner.forChain(ns.kafka, codec, [probeStage()], { topicPrefix: namespace, maxWaitMs: 200 });
    await runner.start();
    const seen = async (): Promise<Map<string, { mark: string | null; size: number }>> =>
      new Map(
        (await collectTopic<AuditEvent>(ns.kafka, `${namespace}audit.v1`, 60_000, 'audit.v1')).map((r) => [
          r.value.refId,
          JSON.parse(r.value.summary) as { mark: string | null; size: number },
        ]),
      );
    try {
      await publish(ns.kafka, codec, namespace, [trade(ids[0]), trade(ids[5])], 1000);
      await waitFor('the first outputs', async () => (await seen()).size >= 2, 60_000, 200);
      expect((await seen()).get('t0')).toEqual({ mark: '100', size: 6 });
      expect((await seen()).get('t1')).toEqual({ mark: '105', size: 6 });

      // An update and a tombstone while running reach the stage.
      await publish(
        ns.kafka,
        codec,
        namespace,
        [{ topic: 'marks.v1', key: ids[0], value: mark(ids[0], '101.5', now) }],
        1000,
      );
      const producer = ns.kafka.producer();
      await producer.connect();
      await producer.send({ topic: `${namespace}marks.v1`, messages: [{ key: ids[5], value: null }] });
      await producer.disconnect();
      let last: { mark: string | null; size: number } | undefined;
      await waitFor(
        'the update and the tombstone',
        async () => {
          const id = `t${n}`;
          await publish(ns.kafka, codec, namespace, [trade(ids[0])], 1000);
          await waitFor('its output', async () => (await seen()).has(id), 30_000, 100);
          last = (await seen()).get(id);
          return last?.mark === '101.5' && last.size === 5;
        },
        60_000,
        500,
      );
      expect(last).toEqual({ mark: '101.5', size: 5 });
      // While it runs, the table's throwaway group is there, named after the stage's group.
      const running = (await ns.admin.listGroups()).groups.map((g) => g.groupId);
      expect(running.filter((g) => g.startsWith(`tickflow.${namespace}probe.global.`))).toHaveLength(1);
    } finally {
      await runner.stop();
    }
    const groups = (await ns.admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups.filter((g) => g.startsWith(`tickflow.${namespace}probe.global.`))).toEqual([]);
  }, 180_000);
});
