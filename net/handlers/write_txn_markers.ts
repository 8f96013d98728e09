/**
 * WriteTxnMarkers (v0-v1), Kafka's `KafkaApis.handleWriteTxnMarkersRequest`: the transaction
 * coordinator asks each partition leader to end a producer's transaction with a COMMIT or ABORT
 * marker (`Partition.appendTxnMarker`). Served on the broker listener only (brokers send it to
 * brokers).
 *
 * Per partition, as Kafka answers:
 * - not hosted here as leader -> UNKNOWN_TOPIC_OR_PARTITION (no such partition in the image) or
 *   NOT_LEADER_OR_FOLLOWER; an ISR below `min.insync.replicas` -> NOT_ENOUGH_REPLICAS;
 * - a producer epoch older than the partition knows -> INVALID_PRODUCER_EPOCH, a coordinator epoch
 *   older than the producer's last marker -> TRANSACTION_COORDINATOR_FENCED;
 * - the marker is appended and the answer waits, like acks=all, until the in-sync replicas hold
 *   it (REQUEST_TIMED_OUT after {@link MARKER_REPLICATION_TIMEOUT_MS},
 *   NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank meanwhile);
 * - for `__consumer_offsets` partitions the group coordinator is then told, so the transaction's
 *   pending offsets become visible (commit) or are dropped (abort) before the answer
 *   (`ReplicaAccess.notifyTxnMarker`; its failure becomes the partition's error).
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type {
  WritableTxnMarker,
  WriteTxnMarkersRequest,
} from "../protocol/generated/write_txn_markers_request.ts";
import {
  createWritableTxnMarkerPartitionResult,
  createWritableTxnMarkerResult,
  createWritableTxnMarkerTopicResult,
  createWriteTxnMarkersResponse,
  type WritableTxnMarkerPartitionResult,
  type WritableTxnMarkerResult,
  type WriteTxnMarkersResponse,
} from "../protocol/generated/write_txn_markers_response.ts";
import type { ReplicaAccess } from "./replica_access.ts";

/** How long a marker waits for the in-sync replicas (Kafka: the broker's request.timeout.ms). */
export const MARKER_REPLICATION_TIMEOUT_MS = 30_000;
/** The group coordinator's topic: its markers also complete transactional offset commits. */
const OFFSETS_TOPIC = "__consumer_offsets";

/**
 * The WriteTxnMarkers handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.WRITE_TXN_MARKERS, writeTxnMarkersHandler(replicaManager));
 * ```
 */
export function writeTxnMarkersHandler(
  replicas: ReplicaAccess,
): ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse> {
  return {
    minVersion: 0,
    maxVersion: 1,
    handle: async (request) =>
      createWriteTxnMarkersResponse({
        markers: await Promise.all(request.markers.map((m) => writeMarker(replicas, m))),
      }),
  };
}

async function writeMarker(
  replicas: ReplicaAccess,
  m: WritableTxnMarker,
): Promise<WritableTxnMarkerResult> {
  return createWritableTxnMarkerResult({
    producerId: m.producerId,
    topics: await Promise.all(m.topics.map(async (t) =>
      createWritableTxnMarkerTopicResult({
        name: t.name,
        partitions: await Promise.all(
          t.partitionIndexes.map((index) => writePartitionMarker(replicas, m, t.name, index)),
        ),
      })
    )),
  });
}

async function writePartitionMarker(
  replicas: ReplicaAccess,
  m: WritableTxnMarker,
  topic: string,
  partitionIndex: number,
): Promise<WritableTxnMarkerPartitionResult> {
  const answer = (errorCode: number) =>
    createWritableTxnMarkerPartitionResult({ partitionIndex, errorCode });
  if (m.producerId < 0n || m.producerId > BigInt(Number.MAX_SAFE_INTEGER)) {
    return answer(ErrorCode.INVALID_REQUEST);
  }
  const found = replicas.leaderPartition(topic, partitionIndex);
  if (found.partition === null) return answer(found.errorCode);
  const p = found.partition;
  const producerId = Number(m.producerId);
  try {
    const minIsr = p.checkMinIsr();
    if (minIsr !== ErrorCode.NONE) return answer(minIsr);
    const info = await p.appendTxnMarker({
      producerId,
      producerEpoch: m.producerEpoch,
      coordinatorEpoch: m.coordinatorEpoch,
      commit: m.transactionResult,
    });
    if (p.log.recoveryPoint <= info.lastOffset) await p.log.flush();
    const replicated = await p.waitForReplication(
      info.lastOffset + 1,
      MARKER_REPLICATION_TIMEOUT_MS,
    );
    if (replicated !== ErrorCode.NONE) return answer(replicated);
    if (topic === OFFSETS_TOPIC) {
      await replicas.notifyTxnMarker({
        topic,
        partition: partitionIndex,
        producerId,
        commit: m.transactionResult,
      });
    }
    return answer(ErrorCode.NONE);
  } catch (error) {
    if (error instanceof KafkaError) return answer(error.code);
    replicas.ctx.logger.error(
      `WriteTxnMarkers on ${topic}-${partitionIndex} failed: ${(error as Error).stack ?? error}`,
    );
    return answer(ErrorCode.UNKNOWN_SERVER_ERROR);
  }
}
