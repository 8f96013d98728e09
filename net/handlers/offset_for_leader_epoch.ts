/**
 * OffsetForLeaderEpoch (v0-v4), Kafka's `Partition.lastOffsetForLeaderEpoch`: the end offset of
 * the requested epoch (the start of the next higher epoch, or the log end for the latest epoch)
 * and the largest epoch <= the requested one; -1/-1 when the log has no such epoch. Answered by
 * the leader only; currentLeaderEpoch (v2+) is checked (KIP-320).
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { OffsetForLeaderEpochRequest } from "../protocol/generated/offset_for_leader_epoch_request.ts";
import {
  createEpochEndOffset,
  createOffsetForLeaderEpochResponse,
  createOffsetForLeaderTopicResult,
  type EpochEndOffset,
  type OffsetForLeaderEpochResponse,
} from "../protocol/generated/offset_for_leader_epoch_response.ts";
import type { ReplicaAccess } from "./replica_access.ts";

/**
 * The OffsetForLeaderEpoch handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.OFFSET_FOR_LEADER_EPOCH, offsetForLeaderEpochHandler(replicaManager));
 * ```
 */
export function offsetForLeaderEpochHandler(
  replicas: ReplicaAccess,
): ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> {
  return {
    minVersion: 0,
    maxVersion: 4,
    handle: (request, context) =>
      createOffsetForLeaderEpochResponse({
        throttleTimeMs: 0,
        topics: request.topics.map((t) =>
          createOffsetForLeaderTopicResult({
            topic: t.topic,
            partitions: t.partitions.map((q) =>
              endOffset(replicas, t.topic, q, context.apiVersion)
            ),
          })
        ),
      }),
  };
}

function endOffset(
  replicas: ReplicaAccess,
  topic: string,
  q: { partition: number; currentLeaderEpoch: number; leaderEpoch: number },
  version: number,
): EpochEndOffset {
  const failed = (errorCode: number) =>
    createEpochEndOffset({ errorCode, partition: q.partition, leaderEpoch: -1, endOffset: -1n });
  const found = replicas.leaderPartition(topic, q.partition);
  if (found.partition === null) return failed(found.errorCode);
  const p = found.partition;
  const epochError = version >= 2 ? p.checkLeaderEpoch(q.currentLeaderEpoch) : ErrorCode.NONE;
  if (epochError !== ErrorCode.NONE) return failed(epochError);
  const end = p.log.endOffsetForLeaderEpoch(q.leaderEpoch);
  return createEpochEndOffset({
    errorCode: ErrorCode.NONE,
    partition: q.partition,
    leaderEpoch: end.epoch,
    endOffset: BigInt(end.endOffset),
  });
}
