/**
 * DeleteRecords (v0-v2), Kafka's `ReplicaManager.deleteRecords`: moves a partition's log start
 * offset (offset -1 = the high watermark), deleting segments wholly below it, and answers the new
 * low watermark. Beyond the high watermark -> OFFSET_OUT_OF_RANGE; cleanup.policy=compact only ->
 * POLICY_VIOLATION. With no replication the leader's log start is the low watermark at once.
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { DeleteRecordsRequest } from "../protocol/generated/delete_records_request.ts";
import {
  createDeleteRecordsPartitionResult,
  createDeleteRecordsResponse,
  createDeleteRecordsTopicResult,
  type DeleteRecordsPartitionResult,
  type DeleteRecordsResponse,
} from "../protocol/generated/delete_records_response.ts";
import type { ReplicaAccess } from "./replica_access.ts";

/**
 * The DeleteRecords handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.DELETE_RECORDS, deleteRecordsHandler(replicaManager));
 * ```
 */
export function deleteRecordsHandler(
  replicas: ReplicaAccess,
): ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> {
  return {
    minVersion: 0,
    maxVersion: 2,
    handle: async (request) =>
      createDeleteRecordsResponse({
        throttleTimeMs: 0,
        topics: await Promise.all(request.topics.map(async (t) =>
          createDeleteRecordsTopicResult({
            name: t.name,
            partitions: await Promise.all(
              t.partitions.map((q) =>
                deletePartition(replicas, t.name, q.partitionIndex, q.offset)
              ),
            ),
          })
        )),
      }),
  };
}

async function deletePartition(
  replicas: ReplicaAccess,
  topic: string,
  partitionIndex: number,
  offset: bigint,
): Promise<DeleteRecordsPartitionResult> {
  const failed = (errorCode: number) =>
    createDeleteRecordsPartitionResult({ partitionIndex, errorCode, lowWatermark: -1n });
  const found = replicas.leaderPartition(topic, partitionIndex);
  if (found.partition === null) return failed(found.errorCode);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER) || offset < -1n) {
    return failed(ErrorCode.OFFSET_OUT_OF_RANGE);
  }
  try {
    const start = await found.partition.deleteRecordsBefore(Number(offset));
    return createDeleteRecordsPartitionResult({ partitionIndex, lowWatermark: BigInt(start) });
  } catch (error) {
    if (error instanceof KafkaError) return failed(error.code);
    replicas.ctx.logger.error(
      `DeleteRecords on ${topic}-${partitionIndex} failed: ${(error as Error).stack ?? error}`,
    );
    return failed(ErrorCode.KAFKA_STORAGE_ERROR);
  }
}
