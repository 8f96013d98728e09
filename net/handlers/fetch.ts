/**
 * Fetch (v0-v17) for data partitions, Kafka's `KafkaApis.handleFetchRequest` +
 * `ReplicaManager.fetchMessages` + `DelayedFetch`.
 *
 * - v0-v3 (clients before Kafka 0.11, e.g. kafka-python with `api_version=(0, 10)`) read legacy
 *   message sets: stored batches are down-converted to magic 0 (v0-v1) or magic 1 (v2-v3),
 *   uncompressed, without headers or control records (Kafka's `RecordsUtil.downConvert`).
 * - Sessions (v7+, KIP-227) through `fetch_session.ts`; v4-v6 are sessionless.
 * - v13+ names topics by id: an id the image does not know -> UNKNOWN_TOPIC_ID.
 * - Reads stored bytes as they are (never re-encoded) up to the high watermark (read_uncommitted)
 *   or the last stable offset (read_committed, with `aborted_transactions`: the producer id and
 *   first offset of every aborted transaction overlapping the records returned, from the
 *   partition's `.txnindex`, so the client drops their records; null for read_uncommitted).
 * - Followers (replicaId >= 0, from `ReplicaState` in v15+) read up to the log end; their fetch
 *   offset is recorded as their log end (it moves the high watermark and the ISR), a broker that
 *   is no replica gets NOT_LEADER_OR_FOLLOWER, a fetch past the log end OFFSET_OUT_OF_RANGE (with
 *   the leader's log start and high watermark, so the follower can tell which side it fell off).
 *   A follower's long poll ends when the log end moves, a consumer's when the high watermark does.
 * - Byte limits as Kafka: the response limit is min(maxBytes, fetch.max.bytes); each partition
 *   reads at most min(partitionMaxBytes, what the response has left); the first partition that
 *   has data returns at least one whole batch even when it is larger than both limits.
 * - Long poll: unless maxWaitMs <= 0, minBytes is reached, or a partition has an error, the
 *   request waits (at most maxWaitMs, bounded by {@link FETCH_WAIT_MS_MAX}) for the high
 *   watermark of one of its partitions to move, then reads again.
 * - An empty partition answer carries an empty record set, never null.
 * - `__cluster_metadata` is not served here (it is no topic of the image): the raft Fetch runs on
 *   the controller listener.
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { FetchRequest } from "../protocol/generated/fetch_request.ts";
import {
  createAbortedTransaction,
  createEpochEndOffset,
  createFetchableTopicResponse,
  createFetchResponse,
  createPartitionData,
  type FetchResponse,
  type PartitionData,
} from "../protocol/generated/fetch_response.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import {
  type FetchContext,
  type FetchTarget,
  type ForgottenTarget,
  type PartitionOutcome,
  targetKey,
} from "./fetch_session.ts";
import { type HostedPartition as Partition, IsolationLevel } from "./replica_access.ts";
import type { ReplicaAccess } from "./replica_access.ts";
import { downConvertBatches } from "../protocol/message_set.ts";
import { preferredReadReplica } from "../../core/replication/replica_selector.ts";

/** Longest a fetch waits, whatever maxWaitMs says. */
export const FETCH_WAIT_MS_MAX = 30_000;
/** Bound on re-reads of one long-polling fetch. */
const FETCH_ROUNDS_MAX = 10_000;
const EMPTY_RECORDS = new Uint8Array(0);

/**
 * The Fetch handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.FETCH, fetchHandler(replicaManager));
 * ```
 */
export function fetchHandler(replicas: ReplicaAccess): ApiHandler<FetchRequest, FetchResponse> {
  return {
    minVersion: 0,
    maxVersion: 17,
    handle: (request, context) =>
      handleFetch(replicas, request, context.apiVersion, context.listenerName),
  };
}

interface ReadOutcome {
  data: PartitionData;
  outcome: PartitionOutcome;
  /** The partition to wait on, when the read succeeded. */
  partition: Partition | null;
  /** The log end the read saw (followers wait for it to move). */
  logEndOffset: number;
}

interface FetchParams {
  isolationLevel: number;
  fromFollower: boolean;
  /** The fetching follower's id and broker epoch (-1 / -1n for consumers). */
  replicaId: number;
  replicaEpoch: bigint;
  nowMs: number;
  usesTopicIds: boolean;
  /** The message format of Fetch v0-v3 responses; null for v4+ (batches as stored). */
  legacyMagic: 0 | 1 | null;
  /**
   * A consumer's `client.rack` (Fetch v11+ `rack_id`, "" when it named none); null before v11,
   * which carries no client metadata: such a consumer reads from leaders only (KIP-392).
   */
  clientRack: string | null;
  /** The listener the request came in on: a read replica must be reachable there. */
  listenerName: string;
}

function errorData(
  partitionIndex: number,
  errorCode: number,
  offsets: { highWatermark: number; logStartOffset: number } = {
    highWatermark: -1,
    logStartOffset: -1,
  },
): ReadOutcome {
  return {
    data: createPartitionData({
      partitionIndex,
      errorCode,
      highWatermark: BigInt(offsets.highWatermark),
      lastStableOffset: -1n,
      logStartOffset: BigInt(offsets.logStartOffset),
      records: EMPTY_RECORDS,
    }),
    outcome: {
      errorCode,
      highWatermark: -1,
      lastStableOffset: -1,
      logStartOffset: -1,
      recordsBytes: 0,
      diverging: false,
    },
    partition: null,
    logEndOffset: -1,
  };
}

async function readTarget(
  replicas: ReplicaAccess,
  t: FetchTarget,
  limits: { maxBytes: number; minOneMessage: boolean },
  params: FetchParams,
): Promise<ReadOutcome> {
  if (params.usesTopicIds && t.topic === "") {
    return errorData(t.partition, ErrorCode.UNKNOWN_TOPIC_ID);
  }
  const found = replicas.leaderPartition(t.topic, t.partition);
  const p = found.partition ?? followerForConsumer(replicas, t, found.errorCode, params);
  if (p === null) return errorData(t.partition, found.errorCode);
  const epochError = p.checkLeaderEpoch(t.currentLeaderEpoch);
  if (epochError !== ErrorCode.NONE) return errorData(t.partition, epochError);

  if (params.fromFollower) {
    const followerError = p.checkFollower(params.replicaId);
    if (followerError !== ErrorCode.NONE) {
      return errorData(t.partition, followerError, {
        highWatermark: p.highWatermark,
        logStartOffset: p.logStartOffset,
      });
    }
  }
  const base = {
    partitionIndex: t.partition,
    abortedTransactions: params.isolationLevel === IsolationLevel.READ_COMMITTED ? [] : null,
    preferredReadReplica: -1,
  };
  if (t.lastFetchedEpoch >= 0) {
    // KIP-320/KIP-595 divergence: the fetcher's last epoch ends before its fetch offset here.
    const end = p.log.endOffsetForLeaderEpoch(t.lastFetchedEpoch);
    if (end.epoch < t.lastFetchedEpoch || end.endOffset < t.fetchOffset) {
      return answerWithoutRecords(p, {
        ...base,
        divergingEpoch: createEpochEndOffset({
          epoch: end.epoch,
          endOffset: BigInt(end.endOffset),
        }),
      }, { diverging: true });
    }
  }
  // Fetch v0-v3 needs its batches converted to message format v0/v1: refused where disabled.
  if (
    params.legacyMagic !== null && !params.fromFollower &&
    !p.log.config.messageDownConversionEnable
  ) {
    return errorData(t.partition, ErrorCode.UNSUPPORTED_VERSION);
  }
  const readReplica = preferredReplicaFor(replicas, p, t.fetchOffset, params);
  if (readReplica >= 0) {
    // KIP-392: the consumer is sent to a replica in its rack, without records (as Kafka does).
    return answerWithoutRecords(p, { ...base, preferredReadReplica: readReplica }, {
      preferredReadReplica: readReplica,
    });
  }
  if (params.fromFollower) {
    // After the divergence check: a diverging follower's fetch offset is no log end to count.
    // (Whether it is a replica at all was checked before the divergence check, as Kafka does.)
    try {
      p.recordFollowerFetch(params.replicaId, t.fetchOffset, {
        nowMs: params.nowMs,
        brokerEpoch: params.replicaEpoch,
      });
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      return errorData(t.partition, error.code, {
        highWatermark: p.highWatermark,
        logStartOffset: p.logStartOffset,
      });
    }
  }
  // KIP-73: a throttled follower gets no records while the leader's replication quota is spent.
  const throttle = params.fromFollower ? replicas.leaderThrottle : undefined;
  const throttled = throttle !== undefined && throttle.appliesTo(p, params.replicaId);
  const held = throttled && throttle!.exceeded(params.nowMs);
  try {
    const read = await p.read(t.fetchOffset, {
      maxBytes: held ? 0 : limits.maxBytes,
      minOneMessage: held ? false : limits.minOneMessage,
      isolationLevel: params.isolationLevel,
      upToLogEnd: params.fromFollower,
      buffers: replicas.readBuffers,
    });
    const records = params.legacyMagic === null ? read.records : downConvertBatches(read.records, {
      magic: params.legacyMagic,
      fromOffset: t.fetchOffset,
      sizeBytesMax: limits.maxBytes,
    });
    if (throttled) throttle!.record(records.length, params.nowMs);
    return {
      data: createPartitionData({
        ...base,
        abortedTransactions: read.abortedTransactions === null
          ? base.abortedTransactions
          : read.abortedTransactions.map((a) =>
            createAbortedTransaction({
              producerId: BigInt(a.producerId),
              firstOffset: BigInt(a.firstOffset),
            })
          ),
        highWatermark: BigInt(read.highWatermark),
        lastStableOffset: BigInt(read.lastStableOffset),
        logStartOffset: BigInt(read.logStartOffset),
        records,
      }),
      outcome: {
        errorCode: 0,
        highWatermark: read.highWatermark,
        lastStableOffset: read.lastStableOffset,
        logStartOffset: read.logStartOffset,
        recordsBytes: records.length,
        diverging: false,
      },
      partition: p,
      logEndOffset: read.logEndOffset,
    };
  } catch (error) {
    if (error instanceof KafkaError) {
      return errorData(t.partition, error.code, {
        highWatermark: p.highWatermark,
        logStartOffset: p.logStartOffset,
      });
    }
    replicas.ctx.logger.error(
      `Fetch from ${t.topic}-${t.partition} failed: ${(error as Error).stack ?? error}`,
    );
    return errorData(t.partition, ErrorCode.KAFKA_STORAGE_ERROR);
  }
}

/**
 * An answer for `p` that carries its offsets and no records: a diverging epoch for a follower, or
 * a preferred read replica for a consumer (`fields`, `outcome` say which).
 */
function answerWithoutRecords(
  p: Partition,
  fields: Partial<PartitionData>,
  outcome: Partial<PartitionOutcome>,
): ReadOutcome {
  const offsets = {
    highWatermark: p.highWatermark,
    lastStableOffset: p.lastStableOffset,
    logStartOffset: p.logStartOffset,
  };
  return {
    data: createPartitionData({
      ...fields,
      highWatermark: BigInt(offsets.highWatermark),
      lastStableOffset: BigInt(offsets.lastStableOffset),
      logStartOffset: BigInt(offsets.logStartOffset),
      records: EMPTY_RECORDS,
    }),
    outcome: { errorCode: 0, ...offsets, recordsBytes: 0, diverging: false, ...outcome },
    partition: p,
    logEndOffset: p.logEndOffset,
  };
}

/**
 * KIP-392: a consumer's fetch (v11+) of a partition this broker follows is served here, up to this
 * replica's high watermark (read_committed: its last stable offset), as Kafka serves consumers
 * that a leader sent to a follower. Null when this broker has no open follower replica of it.
 */
function followerForConsumer(
  replicas: ReplicaAccess,
  t: FetchTarget,
  leaderErrorCode: number,
  params: FetchParams,
): Partition | null {
  if (params.fromFollower || params.clientRack === null) return null;
  if (leaderErrorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER) return null;
  const hosted = replicas.hostedPartition(t.topic, t.partition);
  return hosted !== undefined && hosted.role === "follower" && !hosted.closed ? hosted : null;
}

/**
 * The replica a consumer should read `p` from instead of this leader, or -1: only with
 * `replica.selector.class` set to the rack-aware selector, for a consumer that named its rack.
 */
function preferredReplicaFor(
  replicas: ReplicaAccess,
  p: Partition,
  fetchOffset: number,
  params: FetchParams,
): number {
  if (params.fromFollower || !params.clientRack || !p.isLeader) return -1;
  if (!replicas.ctx.config.rackAwareReplicaSelector) return -1;
  if (fetchOffset < p.logStartOffset) return -1; // the leader answers OFFSET_OUT_OF_RANGE
  const brokers = replicas.ctx.metadata.image.cluster.brokers;
  const isr = new Set(p.isr);
  return preferredReadReplica({
    clientRack: params.clientRack,
    fetchOffset,
    leaderRack: brokers.get(replicas.ctx.nodeId)?.rack ?? null,
    followers: p.followerStates().map((f) => {
      const broker = brokers.get(f.replicaId);
      return {
        ...f,
        inIsr: isr.has(f.replicaId),
        alive: broker !== undefined && !broker.fenced && !broker.inControlledShutdown &&
          broker.endpoints.some((e) => e.name === params.listenerName),
        rack: broker?.rack ?? null,
      };
    }),
    nowMs: params.nowMs,
  });
}

/**
 * Reads every target in order under the response byte limit (Kafka's `readFromLog`): each gets
 * at most its partition limit and what the earlier ones left of the response limit.
 *
 * A consumer's reads of older data run off the event loop, and one after another each would wait
 * its own round trip to the I/O threads. So the reads of the first targets start together, each
 * with the limit it would get if every earlier one returned all it may; a result is kept only when
 * it was read with exactly the limits the order above gives it, else that target is read again,
 * so the answer is the sequential one. (Not for followers: their reads record their fetch.)
 */
async function readAll(
  replicas: ReplicaAccess,
  targets: readonly FetchTarget[],
  responseMaxBytes: number,
  params: FetchParams,
): Promise<ReadOutcome[]> {
  const early = params.fromFollower
    ? []
    : startEarlyReads(replicas, targets, responseMaxBytes, params);
  let limitBytes = responseMaxBytes;
  let minOneMessage = true;
  const out: ReadOutcome[] = [];
  for (const [i, t] of targets.entries()) {
    const limits = { maxBytes: Math.max(0, Math.min(t.maxBytes, limitBytes)), minOneMessage };
    const r = await earlyReadMatching(early[i], limits) ??
      await readTarget(replicas, t, limits, params);
    const size = r.outcome.recordsBytes;
    if (size > 0) minOneMessage = false;
    limitBytes = Math.max(0, limitBytes - size);
    out.push(r);
  }
  return out;
}

/**
 * The early read's result when it is what a read with `limits` gives: the same byte limit, and the
 * same minOneMessage, or an early read without it that returned data (its first batch fit, so the
 * flag changed nothing). A tailing consumer's first partition with new data is thus not read twice.
 */
async function earlyReadMatching(
  started: { maxBytes: number; minOneMessage: boolean; read: Promise<ReadOutcome> } | undefined,
  limits: { maxBytes: number; minOneMessage: boolean },
): Promise<ReadOutcome | null> {
  if (started === undefined || started.maxBytes !== limits.maxBytes) return null;
  if (started.minOneMessage === limits.minOneMessage) return await started.read;
  if (started.minOneMessage) return null;
  const r = await started.read;
  return r.outcome.recordsBytes > 0 ? r : null;
}

/** Starts the reads of the targets that fit the response limit even at their full partition limits. */
function startEarlyReads(
  replicas: ReplicaAccess,
  targets: readonly FetchTarget[],
  responseMaxBytes: number,
  params: FetchParams,
): { maxBytes: number; minOneMessage: boolean; read: Promise<ReadOutcome> }[] {
  const early: { maxBytes: number; minOneMessage: boolean; read: Promise<ReadOutcome> }[] = [];
  if (targets.length < 2) return early; // nothing to overlap
  let budgetBytes = responseMaxBytes;
  for (const [i, t] of targets.entries()) {
    const maxBytes = Math.max(0, Math.min(t.maxBytes, budgetBytes));
    if (maxBytes === 0) break;
    const limits = { maxBytes, minOneMessage: i === 0 };
    const read = readTarget(replicas, t, limits, params);
    read.catch(() => {}); // an unused early read's failure is not an unhandled rejection
    early.push({ ...limits, read });
    budgetBytes -= maxBytes;
  }
  return early;
}

/**
 * Resolves when one partition's high watermark (a follower: its log end) moves past what was
 * read, or after `waitMs`.
 */
function waitForData(
  reads: readonly ReadOutcome[],
  waitMs: number,
  fromFollower: boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const removers: (() => void)[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const remove of removers) remove();
      resolve();
    };
    for (const r of reads) {
      if (r.partition === null) continue;
      removers.push(r.partition.onHighWatermarkChange(finish));
      const moved = fromFollower
        ? r.partition.logEndOffset !== r.logEndOffset
        : r.partition.highWatermark !== r.outcome.highWatermark;
      if (r.partition.closed || moved) finish();
    }
    if (!done) timer = setTimeout(finish, waitMs);
  });
}

function resolveTargets(replicas: ReplicaAccess, request: FetchRequest, usesTopicIds: boolean) {
  const image = replicas.ctx.metadata.image;
  const names = (topic: string, topicId: string) =>
    usesTopicIds
      ? { topic: image.topics.byId.get(topicId)?.name ?? "", topicId }
      : { topic, topicId: image.topics.byName.get(topic)?.id ?? ZERO_UUID };
  const targets: FetchTarget[] = request.topics.flatMap((t) => {
    const n = names(t.topic, t.topicId);
    return t.partitions.map((p) => ({
      ...n,
      partition: p.partition,
      fetchOffset: Number(p.fetchOffset),
      maxBytes: p.partitionMaxBytes,
      currentLeaderEpoch: p.currentLeaderEpoch,
      lastFetchedEpoch: p.lastFetchedEpoch,
    }));
  });
  const forgotten: ForgottenTarget[] = request.forgottenTopicsData.flatMap((t) => {
    const n = names(t.topic, t.topicId);
    return t.partitions.map((partition) => ({ ...n, partition }));
  });
  return { targets, forgotten };
}

async function handleFetch(
  replicas: ReplicaAccess,
  request: FetchRequest,
  version: number,
  listenerName: string,
): Promise<FetchResponse> {
  const usesTopicIds = version >= 13;
  const replicaId = version >= 15 ? request.replicaState.replicaId : request.replicaId;
  const nowMs = Date.now();
  const params: FetchParams = {
    isolationLevel: request.isolationLevel,
    fromFollower: replicaId >= 0,
    replicaId,
    replicaEpoch: version >= 15 ? request.replicaState.replicaEpoch : -1n,
    nowMs,
    usesTopicIds,
    legacyMagic: version < 2 ? 0 : version < 4 ? 1 : null,
    clientRack: version >= 11 ? request.rackId : null,
    listenerName,
  };
  const { targets, forgotten } = resolveTargets(replicas, request, usesTopicIds);
  const sessionRequest = {
    sessionId: version >= 7 ? request.sessionId : 0,
    sessionEpoch: version >= 7 ? request.sessionEpoch : -1,
    targets,
    forgotten,
    usesTopicIds,
    privileged: params.fromFollower,
    nowMs,
  };
  const context: FetchContext = replicas.fetchSessions.newContext(sessionRequest);
  if (context.kind === "error") {
    return createFetchResponse({ errorCode: context.errorCode, sessionId: 0, responses: [] });
  }
  const config = replicas.ctx.config;
  const responseMaxBytes = Math.min(
    request.maxBytes,
    params.fromFollower ? replicaResponseMaxBytes(config.values) : config.fetchMaxBytes,
  );
  const waitMs = Math.min(Math.max(0, request.maxWaitMs), FETCH_WAIT_MS_MAX);
  const deadline = nowMs + waitMs;
  let reads: ReadOutcome[] = [];
  for (let round = 0; round < FETCH_ROUNDS_MAX; round++) {
    reads = await readAll(replicas, context.targets, responseMaxBytes, {
      ...params,
      nowMs: Date.now(),
    });
    const bytes = reads.reduce((sum, r) => sum + r.outcome.recordsBytes, 0);
    const settled = waitMs === 0 || context.targets.length === 0 || bytes >= request.minBytes ||
      reads.some((r) =>
        r.outcome.errorCode !== ErrorCode.NONE || r.outcome.diverging ||
        (r.outcome.preferredReadReplica ?? -1) >= 0 ||
        // Kafka's DelayedFetch case H: a follower learns a new high watermark at once.
        (params.fromFollower && r.partition?.followerBehindHighWatermark(replicaId) === true)
      );
    const remainingMs = deadline - Date.now();
    if (settled || remainingMs <= 0) break;
    await waitForData(reads, remainingMs, params.fromFollower);
  }
  if (!params.fromFollower) countBytesOut(replicas, context.targets, reads);
  else {
    for (const r of reads) r.partition?.highWatermarkSent(replicaId, r.outcome.highWatermark);
  }
  const outcomes = new Map<string, PartitionOutcome>();
  context.targets.forEach((t, i) => outcomes.set(targetKey(t, usesTopicIds), reads[i]!.outcome));
  const { sessionId, include } = replicas.fetchSessions.complete(context, outcomes, Date.now());
  return createFetchResponse({
    errorCode: ErrorCode.NONE,
    sessionId,
    responses: groupByTopic(context.targets, reads, (t) => include(targetKey(t, usesTopicIds))),
  });
}

/** Kafka's BytesOutPerSec counts what consumers are sent, not what followers replicate. */
function countBytesOut(
  replicas: ReplicaAccess,
  targets: readonly FetchTarget[],
  reads: ReadOutcome[],
) {
  reads.forEach((r, i) => {
    if (r.outcome.recordsBytes > 0) {
      replicas.topicStats?.recordOut(targets[i]!.topic, r.outcome.recordsBytes);
    }
  });
}

/** `replica.fetch.response.max.bytes` (10 MiB by default). */
function replicaResponseMaxBytes(values: ReadonlyMap<string, unknown>): number {
  const v = values.get("replica.fetch.response.max.bytes");
  return typeof v === "number" ? v : 10 * 1024 * 1024;
}

/** Consecutive targets of one topic share a topic entry, in fetch order. */
function groupByTopic(
  targets: readonly FetchTarget[],
  reads: readonly ReadOutcome[],
  include: (t: FetchTarget) => boolean,
) {
  const responses: ReturnType<typeof createFetchableTopicResponse>[] = [];
  targets.forEach((t, i) => {
    if (!include(t)) return;
    const last = responses.at(-1);
    const sameTopic = last !== undefined && last.topic === t.topic && last.topicId === t.topicId;
    const entry = sameTopic
      ? last
      : createFetchableTopicResponse({ topic: t.topic, topicId: t.topicId, partitions: [] });
    if (!sameTopic) responses.push(entry);
    entry.partitions.push(reads[i]!.data);
  });
  return responses;
}
