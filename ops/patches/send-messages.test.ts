/**
 * The kafkajs send patch (ops/patches/kafkajs/sendMessages.js, tulios/kafkajs#1303) at the level
 * where the bug lived: one send spanning two brokers, one of which dies, its partition moving to the
 * broker that already acknowledged. The cluster here is a stand-in for kafkajs' own Cluster object
 * (leaders, brokers, metadata refresh); the broker test proves the same against a real cluster.
 */
import { KafkaJSConnectionError } from 'kafkajs';
import '../../pipelines/runtime/kafka';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const createSendMessages = require('kafkajs/src/producer/sendMessages') as (options: object) => (request: object) => Promise<{ topicName: string; partition: number }[]>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createRetry = require('kafkajs/src/retry') as (options: object) => unknown;

interface Produced {
  broker: number;
  partition: number;
  firstSequence: number;
  values: string[];
}

function fakeCluster(failBrokerOnce: number) {
  const leaders: Record<number, number> = { 0: 1, 1: 2 };
  const produced: Produced[] = [];
  let failed = false;
  const brokers = new Map<number, object>();
  const brokerFor = (nodeId: number): object => {
    if (!brokers.has(nodeId)) {
      brokers.set(nodeId, {
        nodeId,
        produce: async ({ topicData }: { topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: { value: string }[] }[] }[] }) => {
          if (nodeId === failBrokerOnce && !failed) {
            failed = true;
            leaders[1] = 1; // the controller moves the dead broker's partition to broker 1
            throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { broker: `b${nodeId}` });
          }
          for (const t of topicData) for (const p of t.partitions) produced.push({ broker: nodeId, partition: p.partition, firstSequence: p.firstSequence, values: p.messages.map((m) => m.value) });
          return { topics: topicData.map((t) => ({ topicName: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })) })) };
        },
      });
    }
    return brokers.get(nodeId) as object;
  };
  const cluster = {
    targetTopics: new Set<string>(),
    addMultipleTargetTopics: async () => undefined,
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => undefined,
    isConnected: () => true,
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () => [0, 1].map((partitionId) => ({ partitionId, leader: leaders[partitionId] })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const result: Record<number, number[]> = {};
      for (const p of partitions.map(Number)) (result[leaders[p]] ??= []).push(p);
      return result;
    },
    findBroker: async ({ nodeId }: { nodeId: string }) => brokerFor(Number(nodeId)),
  };
  return { cluster, produced };
}

function eosManager() {
  const sequences = new Map<string, number>();
  return {
    acquireBrokerLock: async () => undefined,
    releaseBrokerLock: async () => undefined,
    isTransactional: () => false,
    getTransactionalId: () => undefined,
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getSequence: (topic: string, partition: number) => sequences.get(`${topic}|${partition}`) ?? 0,
    updateSequence: (topic: string, partition: number, delta: number) => sequences.set(`${topic}|${partition}`, (sequences.get(`${topic}|${partition}`) ?? 0) + delta),
  };
}

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('patched kafkajs send (per-partition progress across retries)', () => {
  it('sends the partition of a failed broker to its new leader, even when that leader already acknowledged its own part', async () => {
    const { cluster, produced } = fakeCluster(2);
    const send = createSendMessages({
      logger,
      cluster,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager: eosManager(),
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 2 }),
    });
    const messages = [0, 1, 0, 1].map((partition, i) => ({ partition, value: `m${i}` }));
    const responses = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages }] });

    // Every message written once, partition 1 by its new leader, with the sequence it first had.
    expect(produced.map((p) => [p.broker, p.partition, p.firstSequence, p.values.join(',')]).sort()).toEqual([
      [1, 0, 0, 'm0,m2'],
      [1, 1, 0, 'm1,m3'],
    ]);
    expect(responses.map((r) => r.partition).sort()).toEqual([0, 1]);
  });
});
