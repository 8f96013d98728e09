/**
 * DescribeTopicPartitions (v0, KIP-966): topics and their partitions from the applied metadata
 * image, with each partition's Eligible Leader Replicas and LastKnownElr, paged by a cursor
 * (Kafka's `DescribeTopicPartitionsRequestHandler`). Topics are answered in name order, from the
 * cursor's topic and partition on; at most `ResponsePartitionLimit` partitions (capped by
 * `max.request.partition.size.limit`, at least 1) per answer, with `NextCursor` naming where the
 * next page starts. An empty topic list means every topic; then unknown topics cannot occur, and
 * a named topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION.
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { DescribeTopicPartitionsRequest } from "../protocol/generated/describe_topic_partitions_request.ts";
import {
  createCursor,
  createDescribeTopicPartitionsResponse,
  createDescribeTopicPartitionsResponseTopic,
  type DescribeTopicPartitionsResponse,
  type DescribeTopicPartitionsResponsePartition,
  type DescribeTopicPartitionsResponseTopic,
} from "../protocol/generated/describe_topic_partitions_response.ts";
import type { MetadataImage, PartitionRegistration } from "../../core/metadata/image.ts";
import { replicaDirectoryOnline } from "../../core/metadata/partition_change.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import type { BrokerView } from "./broker_view.ts";
import { INTERNAL_TOPICS } from "./metadata.ts";

/** Kafka's default `max.request.partition.size.limit`. */
export const PARTITION_LIMIT_MAX_DEFAULT = 2000;

/**
 * Answers one DescribeTopicPartitions request from `image`.
 *
 * @example
 * ```ts
 * import { describeTopicPartitions } from "./describe_topic_partitions.ts";
 * import { EMPTY_IMAGE } from "../../core/metadata/image.ts";
 * describeTopicPartitions(EMPTY_IMAGE, {
 *   topics: [], responsePartitionLimit: 2000, cursor: null, _unknownTaggedFields: [],
 * }).topics; // []
 * ```
 */
export function describeTopicPartitions(
  image: MetadataImage,
  request: DescribeTopicPartitionsRequest,
  partitionLimitMax: number = PARTITION_LIMIT_MAX_DEFAULT,
): DescribeTopicPartitionsResponse {
  const all = request.topics.length === 0;
  const cursor = request.cursor;
  const names = [
    ...new Set(all ? image.topics.byName.keys() : request.topics.map((t) => t.name)),
  ].filter((n) => cursor === null || n >= cursor.topicName).sort();
  let remaining = Math.max(Math.min(partitionLimitMax, request.responsePartitionLimit), 1);
  const topics: DescribeTopicPartitionsResponseTopic[] = [];
  let nextCursor = null;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const topic = image.topics.byName.get(name);
    if (topic === undefined) {
      topics.push(createDescribeTopicPartitionsResponseTopic({
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        name,
        topicId: ZERO_UUID,
      }));
      continue;
    }
    if (remaining === 0) {
      nextCursor = createCursor({ topicName: name, partitionIndex: 0 });
      break;
    }
    const start = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
    const ids = [...topic.partitions.keys()].filter((id) => id >= start).sort((a, b) => a - b);
    const shown = ids.slice(0, remaining);
    remaining -= shown.length;
    topics.push(createDescribeTopicPartitionsResponseTopic({
      name,
      topicId: topic.id,
      isInternal: INTERNAL_TOPICS.has(name),
      partitions: shown.map((id) => partitionOf(image, id, topic.partitions.get(id)!)),
    }));
    if (shown.length < ids.length) {
      nextCursor = createCursor({ topicName: name, partitionIndex: ids[shown.length]! });
      break;
    }
  }
  return createDescribeTopicPartitionsResponse({ topics, nextCursor });
}

function partitionOf(
  image: MetadataImage,
  partitionIndex: number,
  p: PartitionRegistration,
): DescribeTopicPartitionsResponsePartition {
  return {
    errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex,
    leaderId: p.leader,
    leaderEpoch: p.leaderEpoch,
    replicaNodes: [...p.replicas],
    isrNodes: [...p.isr],
    eligibleLeaderReplicas: [...p.eligibleLeaderReplicas],
    lastKnownElr: [...p.lastKnownElr],
    // As Metadata: replicas on unregistered or fenced brokers, or in an offline log directory.
    offlineReplicas: p.replicas.filter((r) => {
      const b = image.cluster.brokers.get(r);
      return b === undefined || b.fenced || !replicaDirectoryOnline(image, p, r);
    }),
    _unknownTaggedFields: [],
  };
}

/**
 * Registers the DescribeTopicPartitions handler (brokers only, as in Kafka).
 *
 * @example
 * ```ts ignore
 * registerDescribeTopicPartitions(dispatcher, ctx);
 * ```
 */
export function registerDescribeTopicPartitions(dispatcher: Dispatcher, ctx: BrokerView): void {
  dispatcher.register<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>(
    ApiKey.DESCRIBE_TOPIC_PARTITIONS,
    {
      minVersion: 0,
      maxVersion: 0,
      handle: (request) => Promise.resolve(describeTopicPartitions(ctx.metadata.image, request)),
    },
  );
}
