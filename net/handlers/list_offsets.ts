/**
 * ListOffsets (v0-v9), Kafka's `KafkaApis.handleListOffsetRequest` +
 * `Partition.fetchOffsetForTimestamp`.
 *
 * Special timestamps: -1 latest (the high watermark for read_uncommitted clients, the last stable
 * offset for read_committed, the log end for replicas), -2 earliest (log start offset) and -4
 * earliest local (the same: no tiered storage), -3 the max timestamp (KIP-734, v7+: the first
 * record carrying the largest timestamp), -5 latest tiered (v9, KIP-1005: offset -1 without
 * tiered storage). Other values find the first record with a timestamp >= the value below the
 * latest offset, else offset -1. The leader epoch of the answer is returned from v4 on;
 * currentLeaderEpoch is checked (KIP-320). A partition named twice gets INVALID_REQUEST.
 *
 * v0 answers the old offsets array. Kafka builds it from segment base offsets and file
 * modification times; we answer [latest] for -1, [earliest] for -2 and the timestamp lookup's
 * offset otherwise (at most maxNumOffsets entries).
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type {
  ListOffsetsPartition,
  ListOffsetsRequest,
} from "../protocol/generated/list_offsets_request.ts";
import {
  createListOffsetsPartitionResponse,
  createListOffsetsResponse,
  createListOffsetsTopicResponse,
  type ListOffsetsPartitionResponse,
  type ListOffsetsResponse,
} from "../protocol/generated/list_offsets_response.ts";
import { type HostedPartition as Partition, IsolationLevel } from "./replica_access.ts";
import type { ReplicaAccess } from "./replica_access.ts";

/** Special timestamps of ListOffsets. */
export const ListOffsetsTimestamp = {
  LATEST: -1,
  EARLIEST: -2,
  MAX_TIMESTAMP: -3,
  EARLIEST_LOCAL: -4,
  LATEST_TIERED: -5,
} as const;

/** Replica id of consumers (and of admin clients). */
const CONSUMER_REPLICA_ID = -1;

/**
 * The ListOffsets handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.LIST_OFFSETS, listOffsetsHandler(replicaManager));
 * ```
 */
export function listOffsetsHandler(
  replicas: ReplicaAccess,
): ApiHandler<ListOffsetsRequest, ListOffsetsResponse> {
  return {
    minVersion: 0,
    maxVersion: 9,
    handle: (request, context) => handleListOffsets(replicas, request, context.apiVersion),
  };
}

interface Found {
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

const NOT_FOUND: Found = { timestamp: -1, offset: -1, leaderEpoch: -1 };

function errorAnswer(partitionIndex: number, errorCode: number): ListOffsetsPartitionResponse {
  return createListOffsetsPartitionResponse({ partitionIndex, errorCode });
}

/** Kafka's `UnifiedLog.fetchOffsetByTimestamp` with the latest-offset cap of `Partition`. */
export function lookupOffset(p: Partition, timestamp: number, latest: number): Found {
  switch (timestamp) {
    case ListOffsetsTimestamp.LATEST:
      return { timestamp: -1, offset: latest, leaderEpoch: p.leaderEpoch };
    case ListOffsetsTimestamp.EARLIEST:
    case ListOffsetsTimestamp.EARLIEST_LOCAL: {
      const first = p.log.epochEntries()[0];
      const epoch = first !== undefined && first.startOffset <= p.logStartOffset ? first.epoch : -1;
      return { timestamp: -1, offset: p.logStartOffset, leaderEpoch: epoch };
    }
    case ListOffsetsTimestamp.LATEST_TIERED:
      return NOT_FOUND;
    case ListOffsetsTimestamp.MAX_TIMESTAMP: {
      const max = p.log.maxTimestampAndOffset();
      if (max === null) return NOT_FOUND;
      const exact = p.log.offsetForTimestamp(max.timestamp);
      const hit = exact !== null && exact.timestamp === max.timestamp ? exact : max;
      return hit.offset < latest ? { ...hit } : NOT_FOUND;
    }
  }
  if (timestamp < 0) return NOT_FOUND;
  const hit = p.log.offsetForTimestamp(timestamp);
  return hit !== null && hit.offset < latest ? { ...hit } : NOT_FOUND;
}

function answer(
  replicas: ReplicaAccess,
  request: ListOffsetsRequest,
  q: ListOffsetsPartition,
  topic: string,
  version: number,
): ListOffsetsPartitionResponse {
  const found = replicas.leaderPartition(topic, q.partitionIndex);
  if (found.partition === null) return errorAnswer(q.partitionIndex, found.errorCode);
  const p = found.partition;
  const epochError = version >= 4 ? p.checkLeaderEpoch(q.currentLeaderEpoch) : ErrorCode.NONE;
  if (epochError !== ErrorCode.NONE) return errorAnswer(q.partitionIndex, epochError);
  const fromClient = request.replicaId === CONSUMER_REPLICA_ID || request.replicaId < -1;
  const isolation = version >= 2 ? request.isolationLevel : IsolationLevel.READ_UNCOMMITTED;
  const latest = !fromClient
    ? p.logEndOffset
    : isolation === IsolationLevel.READ_COMMITTED
    ? p.lastStableOffset
    : p.highWatermark;
  const timestamp = Number(q.timestamp);
  const hit = lookupOffset(p, timestamp, latest);
  if (version === 0) {
    const offsets = hit.offset >= 0 && q.maxNumOffsets > 0 ? [BigInt(hit.offset)] : [];
    return createListOffsetsPartitionResponse({
      partitionIndex: q.partitionIndex,
      oldStyleOffsets: offsets,
    });
  }
  return createListOffsetsPartitionResponse({
    partitionIndex: q.partitionIndex,
    timestamp: BigInt(hit.timestamp),
    offset: BigInt(hit.offset),
    leaderEpoch: hit.leaderEpoch,
  });
}

function handleListOffsets(
  replicas: ReplicaAccess,
  request: ListOffsetsRequest,
  version: number,
): ListOffsetsResponse {
  const seen = new Map<string, number>();
  for (const t of request.topics) {
    for (const p of t.partitions) {
      const key = `${t.name}:${p.partitionIndex}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return createListOffsetsResponse({
    throttleTimeMs: 0,
    topics: request.topics.map((t) =>
      createListOffsetsTopicResponse({
        name: t.name,
        partitions: t.partitions.map((q) =>
          (seen.get(`${t.name}:${q.partitionIndex}`) ?? 0) > 1 && version >= 1
            ? errorAnswer(q.partitionIndex, ErrorCode.INVALID_REQUEST)
            : answer(replicas, request, q, t.name, version)
        ),
      })
    ),
  });
}
