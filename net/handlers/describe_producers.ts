/**
 * DescribeProducers (v0, KIP-664), Kafka's `ReplicaManager.activeProducerState`: the producers a
 * hosted replica (leader or follower, as Kafka answers from any replica's log) knows for each
 * partition asked: id, epoch, last sequence, last timestamp, coordinator epoch and the first
 * offset of its open transaction (-1 when none), what `transactions describe-producers` and
 * `find-hanging` read. A partition not hosted here -> NOT_LEADER_OR_FOLLOWER when the image
 * knows it, UNKNOWN_TOPIC_OR_PARTITION otherwise.
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { DescribeProducersRequest } from "../protocol/generated/describe_producers_request.ts";
import {
  createDescribeProducersResponse,
  createPartitionResponse,
  createProducerState,
  createTopicResponse,
  type DescribeProducersResponse,
  type PartitionResponse,
} from "../protocol/generated/describe_producers_response.ts";
import type { ReplicaAccess } from "./replica_access.ts";

/**
 * The DescribeProducers handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.DESCRIBE_PRODUCERS, describeProducersHandler(replicaManager));
 * ```
 */
export function describeProducersHandler(
  replicas: ReplicaAccess,
): ApiHandler<DescribeProducersRequest, DescribeProducersResponse> {
  return {
    minVersion: 0,
    maxVersion: 0,
    handle: (request) =>
      createDescribeProducersResponse({
        throttleTimeMs: 0,
        topics: request.topics.map((t) =>
          createTopicResponse({
            name: t.name,
            partitions: t.partitionIndexes.map((index) =>
              describePartition(replicas, t.name, index)
            ),
          })
        ),
      }),
  };
}

function describePartition(
  replicas: ReplicaAccess,
  topic: string,
  partitionIndex: number,
): PartitionResponse {
  const p = replicas.hostedPartition(topic, partitionIndex);
  if (p === undefined || p.closed) {
    const known = replicas.ctx.metadata.image.topics.byName.get(topic)?.partitions.has(
      partitionIndex,
    );
    return createPartitionResponse({
      partitionIndex,
      errorCode: known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
  }
  return createPartitionResponse({
    partitionIndex,
    activeProducers: p.producers.entries().map((e) =>
      createProducerState({
        producerId: BigInt(e.producerId),
        producerEpoch: e.epoch,
        lastSequence: e.batches.at(-1)?.lastSeq ?? -1,
        lastTimestamp: BigInt(e.lastTimestampMs),
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnStartOffset: BigInt(e.currentTxnFirstOffset),
      })
    ),
  });
}
