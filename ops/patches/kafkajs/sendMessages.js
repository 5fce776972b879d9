// tickflow patch of kafkajs 2.2.4 src/producer/sendMessages.js (installed by ops/bin/patch-deps.cjs).
//
// The original keeps the progress of a send per *broker* across retries. When a broker fails and the
// leadership of its partitions moves to a broker that already acknowledged its own part of the same
// send, the retry sends nothing for the moved partitions and the send resolves as if all had been
// written: those messages are lost, silently, inside a transaction that then commits
// (tulios/kafkajs#1303; reproduced by tickflow's broker test). This version keeps progress per
// *partition*: a retry sends every partition not yet acknowledged to its current leader, with the
// same messages and sequence numbers, so the broker's idempotence drops any part that did land.
// It also waits for every request of an attempt to settle before retrying (none still in flight
// while the next attempt starts), observes every request's failure (the original could leave one
// unhandled), and groups messages per partition in linear time.
'use strict'
const { KafkaJSMetadataNotLoaded } = require('../errors')
const { staleMetadata } = require('../protocol/error')
const createTopicData = require('./createTopicData')
const responseSerializer = require('./responseSerializer')

const TICKFLOW_PATCHED = 'tickflow-send-per-partition-1'

module.exports = ({ logger, cluster, partitioner, eosManager, retrier }) => {
  return async ({ acks, timeout, compression, topicMessages }) => {
    /** topic -> { [partition]: messages }, fixed at the first attempt (a partitioner may not be deterministic). */
    const grouped = new Map()
    /** `${topic}|${partition}` -> response entries, once that partition's messages were acknowledged. */
    const acknowledged = new Map()

    const groupPerPartition = (topic, messages) => {
      const partitionMetadata = cluster.findTopicPartitionMetadata(topic)
      if (partitionMetadata.length === 0) {
        logger.debug('Producing to topic without metadata', { topic, targetTopics: Array.from(cluster.targetTopics) })
        throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata')
      }
      const result = {}
      for (const message of messages) {
        const partition = partitioner({ topic, partitionMetadata, message })
        ;(result[partition] || (result[partition] = [])).push(message)
      }
      return result
    }

    const createProducerRequests = async () => {
      await cluster.refreshMetadataIfNecessary()
      /** broker -> topic data still to send to it */
      const perBroker = new Map()
      for (const { topic, messages } of topicMessages) {
        if (!grouped.has(topic)) grouped.set(topic, groupPerPartition(topic, messages))
        const messagesPerPartition = grouped.get(topic)
        const pending = Object.keys(messagesPerPartition).filter(p => !acknowledged.has(`${topic}|${p}`))
        if (pending.length === 0) continue
        const partitionsPerLeader = cluster.findLeaderForPartitions(topic, pending)
        for (const nodeId of Object.keys(partitionsPerLeader)) {
          const broker = await cluster.findBroker({ nodeId })
          if (!perBroker.has(broker)) perBroker.set(broker, [])
          perBroker.get(broker).push({ topic, partitions: partitionsPerLeader[nodeId], messagesPerPartition })
        }
      }

      const requests = Array.from(perBroker.entries()).map(async ([broker, topicDataForBroker]) => {
        const topicData = createTopicData(topicDataForBroker)
        await eosManager.acquireBrokerLock(broker)
        try {
          if (eosManager.isTransactional()) {
            await eosManager.addPartitionsToTransaction(topicData)
          }
          topicData.forEach(({ topic, partitions }) => {
            partitions.forEach(entry => {
              entry['firstSequence'] = eosManager.getSequence(topic, entry.partition)
              eosManager.updateSequence(topic, entry.partition, entry.messages.length)
            })
          })
          let response
          try {
            response = await broker.produce({
              transactionalId: eosManager.isTransactional() ? eosManager.getTransactionalId() : undefined,
              producerId: eosManager.getProducerId(),
              producerEpoch: eosManager.getProducerEpoch(),
              acks,
              timeout,
              compression,
              topicData,
            })
          } catch (e) {
            topicData.forEach(({ topic, partitions }) => {
              partitions.forEach(entry => {
                eosManager.updateSequence(topic, entry.partition, -entry.messages.length)
              })
            })
            throw e
          }
          const entries = acks !== 0 ? responseSerializer(response) : []
          topicData.forEach(({ topic, partitions }) => {
            partitions.forEach(({ partition }) => {
              acknowledged.set(
                `${topic}|${partition}`,
                entries.filter(r => r.topicName === topic && String(r.partition) === String(partition))
              )
            })
          })
        } finally {
          await eosManager.releaseBrokerLock(broker)
        }
      })
      // Settled together, and observed at once: a request to a broker already known dead can fail
      // before the caller gets to wait for it, which would surface as an unhandled rejection.
      return Promise.allSettled(requests)
    }

    return retrier(async (bail, retryCount, retryTime) => {
      const topics = topicMessages.map(({ topic }) => topic)
      await cluster.addMultipleTargetTopics(topics)

      try {
        const settled = await createProducerRequests()
        const failed = settled.find(s => s.status === 'rejected')
        if (failed) throw failed.reason
        return Array.from(acknowledged.values()).flat()
      } catch (e) {
        if (e.name === 'KafkaJSConnectionClosedError') {
          cluster.removeBroker({ host: e.host, port: e.port })
        }

        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${e.message}`, { retryCount, retryTime })
          await cluster.connect()
          await cluster.refreshMetadata()
          throw e
        }

        // This is necessary in case the metadata is stale and the number of partitions
        // for this topic has increased in the meantime
        if (
          staleMetadata(e) ||
          e.name === 'KafkaJSMetadataNotLoaded' ||
          e.name === 'KafkaJSConnectionError' ||
          e.name === 'KafkaJSConnectionClosedError' ||
          (e.name === 'KafkaJSProtocolError' && e.retriable)
        ) {
          logger.error(`Failed to send messages: ${e.message}`, { retryCount, retryTime })
          await cluster.refreshMetadata()
          throw e
        }

        logger.error(`${e.message}`, { retryCount, retryTime })
        if (e.retriable) throw e
        bail(e)
      }
    })
  }
}

module.exports.TICKFLOW_PATCHED = TICKFLOW_PATCHED
