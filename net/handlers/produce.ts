/**
 * Produce (v0-v11), Kafka's `KafkaApis.handleProduceRequest` + `ReplicaManager.appendRecords`.
 *
 * The straight line: decode the envelope (records stay views into the request frame), check each
 * partition's batch header, hand the bytes to the partition (offsets and leader epoch are patched
 * in place, the bytes are written, the append joins the next group-commit fsync), answer when
 * durable. Every partition's append starts synchronously in request order, so pipelined requests
 * of one connection keep their order (idempotent sequences), and the partitions of one request
 * share fsync rounds.
 *
 * - acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS everywhere). acks=1 answers once the
 *   leader's own append is durable; acks=-1 (all) first needs an ISR of at least
 *   `min.insync.replicas` members (else NOT_ENOUGH_REPLICAS, nothing appended), then waits until
 *   the high watermark passes the batch, at most the request's `timeout_ms` (REQUEST_TIMED_OUT;
 *   NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below the minimum meanwhile, Kafka's
 *   delayed produce). acks=0 gets no response, and a partition error closes the connection
 *   (Kafka).
 * - v3+ needs exactly one magic-2 batch per partition (INVALID_RECORD), zstd needs v7+
 *   (UNSUPPORTED_COMPRESSION_TYPE); v0-v2 magic 0/1 message sets are up-converted to one v2 batch.
 * - Clients may not write internal topics (`__consumer_offsets`, `__transaction_state`):
 *   INVALID_TOPIC_EXCEPTION, unless the client id is `__admin_client` (as Kafka).
 *
 * @module
 */
import type { ApiHandler, RequestContext } from "../dispatcher.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type {
  PartitionProduceData,
  ProduceRequest,
} from "../protocol/generated/produce_request.ts";
import {
  createBatchIndexAndErrorMessage,
  createPartitionProduceResponse,
  createProduceResponse,
  createTopicProduceResponse,
  type PartitionProduceResponse,
  type ProduceResponse,
} from "../protocol/generated/produce_response.ts";
import { convertMessageSetToBatch } from "../protocol/message_set.ts";
import { Codec } from "../protocol/compression.ts";
import {
  ATTRIBUTES_OFFSET,
  batchSizeAt,
  compressionOf,
  magicAt,
} from "../protocol/record_batch.ts";
import { RecordValidationError } from "../../storage/log/log_validator.ts";
import type { ReplicaAccess } from "./replica_access.ts";
import type { HostedPartition as Partition } from "./replica_access.ts";

/** Topics clients may not produce to (Kafka's `Topic.INTERNAL_TOPICS`). */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([
  "__consumer_offsets",
  "__transaction_state",
]);
/** The client id allowed to write internal topics (Kafka's `AdminUtils.ADMIN_CLIENT_ID`). */
export const ADMIN_CLIENT_ID = "__admin_client";

const PRODUCE_VERSION_MAX = 11;
/** How long a produce waits for a partition this broker was just made leader of to open. */
const LEADER_OPENING_WAIT_MS = 5_000;

/**
 * The Produce handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.PRODUCE, produceHandler(replicaManager));
 * ```
 */
export function produceHandler(
  replicas: ReplicaAccess,
): ApiHandler<ProduceRequest, ProduceResponse> {
  return {
    minVersion: 0,
    maxVersion: PRODUCE_VERSION_MAX,
    handle: (request, context) => handleProduce(replicas, request, context),
  };
}

function errorResponse(
  index: number,
  code: number,
  message: string | null,
): PartitionProduceResponse {
  return createPartitionProduceResponse({
    index,
    errorCode: code,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    errorMessage: message,
  });
}

function fromError(index: number, error: unknown, replicas: ReplicaAccess, where: string) {
  if (error instanceof RecordValidationError) {
    // KIP-467: v8+ names each refused record; older versions drop the field.
    const response = errorResponse(index, error.code, error.message);
    response.recordErrors = error.recordErrors.map((e) =>
      createBatchIndexAndErrorMessage({
        batchIndex: e.batchIndex,
        batchIndexErrorMessage: e.message,
      })
    );
    return response;
  }
  if (error instanceof KafkaError) return errorResponse(index, error.code, error.message);
  replicas.ctx.logger.error(`Append to ${where} failed: ${(error as Error).stack ?? error}`);
  return errorResponse(index, ErrorCode.KAFKA_STORAGE_ERROR, `Append to ${where} failed.`);
}

/** What one request asks of every partition's append. */
interface ProduceParams {
  acks: number;
  timeoutMs: number;
}

/** Produces one partition; the synchronous part (checks, offset assignment) runs at call time. */
function producePartition(
  replicas: ReplicaAccess,
  topic: string,
  data: PartitionProduceData,
  context: RequestContext,
  params: ProduceParams,
): Promise<PartitionProduceResponse> {
  const acks = params.acks;
  const index = data.index;
  const where = `${topic}-${index}`;
  try {
    if (acks !== -1 && acks !== 0 && acks !== 1) {
      return Promise.resolve(
        errorResponse(index, ErrorCode.INVALID_REQUIRED_ACKS, `acks=${acks} is not -1, 0 or 1.`),
      );
    }
    if (INTERNAL_TOPICS.has(topic) && context.header.clientId !== ADMIN_CLIENT_ID) {
      return Promise.resolve(
        errorResponse(
          index,
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Cannot append to internal topic ${topic}.`,
        ),
      );
    }
    const found = replicas.leaderPartition(topic, index);
    if (found.partition !== null) return appendTo(replicas, found.partition, data, context, params);
    // A topic created a moment ago: the image names this broker leader, the log is still opening.
    // Waiting (briefly) beats NOT_LEADER_OR_FOLLOWER, which an acks=0 producer cannot retry.
    const opening = found.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER
      ? replicas.leaderOpening(topic, index, LEADER_OPENING_WAIT_MS)
      : null;
    if (opening === null) return Promise.resolve(errorResponse(index, found.errorCode, null));
    return opening.then(() => {
      const again = replicas.leaderPartition(topic, index);
      return again.partition === null
        ? errorResponse(index, again.errorCode, null)
        : appendTo(replicas, again.partition, data, context, params);
    });
  } catch (error) {
    return Promise.resolve(fromError(index, error, replicas, where));
  }
}

/** Checks and appends one partition's records; the append starts synchronously. */
function appendTo(
  replicas: ReplicaAccess,
  partition: Partition,
  data: PartitionProduceData,
  context: RequestContext,
  params: ProduceParams,
): Promise<PartitionProduceResponse> {
  const index = data.index;
  const where = `${partition.topic}-${index}`;
  try {
    if (params.acks === -1) {
      const minIsrError = partition.checkMinIsr();
      if (minIsrError !== ErrorCode.NONE) {
        return Promise.resolve(errorResponse(
          index,
          minIsrError,
          minIsrError === ErrorCode.NOT_ENOUGH_REPLICAS
            ? `The ISR of ${where} has ${partition.isr.length} member(s), below min.insync.replicas ${partition.minInsyncReplicas}.`
            : null,
        ));
      }
    }
    let records = data.records ?? new Uint8Array(0);
    if (context.apiVersion >= 3) {
      checkSingleV2Batch(records, context.apiVersion);
    } else if (records.length === 0) {
      return Promise.resolve(createPartitionProduceResponse({
        index,
        baseOffset: -1n,
        logAppendTimeMs: -1n,
        logStartOffset: BigInt(partition.logStartOffset),
      }));
    } else if (magicAt(records, 0) < 2) {
      records = convertMessageSetToBatch(records);
    }
    const bytes = records.length;
    return partition.appendFromClient(records, "client").then(
      async (info) => {
        const messages = info.lastOffset - info.baseOffset + 1;
        if (!info.duplicate) replicas.topicStats?.recordIn(partition.topic, { messages, bytes });
        if (params.acks === -1) {
          const errorCode = await partition.waitForReplication(
            info.lastOffset + 1,
            params.timeoutMs,
          );
          if (errorCode !== ErrorCode.NONE) {
            return errorResponse(index, errorCode, replicationFailure(errorCode, where));
          }
        }
        return createPartitionProduceResponse({
          index,
          baseOffset: BigInt(info.baseOffset),
          logAppendTimeMs: BigInt(info.logAppendTimeMs),
          logStartOffset: BigInt(info.logStartOffset),
        });
      },
      (error) => fromError(index, error, replicas, where),
    );
  } catch (error) {
    return Promise.resolve(fromError(index, error, replicas, where));
  }
}

function replicationFailure(errorCode: number, where: string): string {
  if (errorCode === ErrorCode.REQUEST_TIMED_OUT) {
    return `The in-sync replicas of ${where} did not confirm the append in time.`;
  }
  if (errorCode === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND) {
    return `The ISR of ${where} shrank below min.insync.replicas while the append was replicated.`;
  }
  return `Leadership of ${where} moved while the append was replicated.`;
}

/** Kafka's `ProduceRequest.validateRecords` for v3+. */
function checkSingleV2Batch(records: Uint8Array, version: number): void {
  if (records.length === 0) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `Produce v${version} needs one record batch per partition.`,
    );
  }
  const size = batchSizeAt(records, 0);
  if (magicAt(records, 0) !== 2) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `Produce v${version} accepts only magic 2 batches.`,
    );
  }
  if (size !== null && size < records.length) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `Produce v${version} accepts exactly one batch per partition.`,
    );
  }
  if (version < 7 && records.length > ATTRIBUTES_OFFSET + 1) {
    const attributes = (records[ATTRIBUTES_OFFSET]! << 8) | records[ATTRIBUTES_OFFSET + 1]!;
    if (compressionOf(attributes) === Codec.ZSTD) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `Produce v${version} cannot carry zstd batches.`,
      );
    }
  }
}

async function handleProduce(
  replicas: ReplicaAccess,
  request: ProduceRequest,
  context: RequestContext,
): Promise<ProduceResponse | null> {
  const pending = request.topicData.map((t) => ({
    name: t.name,
    partitions: t.partitionData.map((p) =>
      producePartition(replicas, t.name, p, context, {
        acks: request.acks,
        timeoutMs: Math.max(0, request.timeoutMs),
      })
    ),
  }));
  const responses = await Promise.all(
    pending.map(async (t) =>
      createTopicProduceResponse({
        name: t.name,
        partitionResponses: await Promise.all(t.partitions),
      })
    ),
  );
  if (request.acks === 0) {
    const failed = responses.flatMap((t) =>
      t.partitionResponses.filter((p) => p.errorCode !== ErrorCode.NONE).map((p) => ({ t, p }))
    );
    // Kafka closes an acks=0 connection on any error: the client has no other way to learn of it.
    if (failed.length > 0) {
      const { t, p } = failed[0]!;
      throw new KafkaError(
        p.errorCode,
        `Closing the acks=0 connection: produce to ${t.name}-${p.index} failed with ${p.errorCode} (${
          p.errorMessage ?? "no message"
        }).`,
      );
    }
    return null;
  }
  return createProduceResponse({ responses, throttleTimeMs: 0 });
}
