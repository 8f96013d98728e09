/**
 * What the partition request handlers (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch,
 * DeleteRecords, DescribeLogDirs, InitProducerId, WriteTxnMarkers) need from the replica manager. The handlers
 * own these interfaces and the replica manager (`node/`) implements them, so the handlers import
 * nothing from `node/`.
 *
 * @module
 */
import type { BrokerView } from "./broker_view.ts";
import type { FetchSessionCache } from "./fetch_session.ts";
import type { FileLog } from "../../storage/log/file_log.ts";
import type { TimestampAndOffset } from "../../storage/log/partition_log.ts";
import type { BrokerTopicStats } from "../../core/metrics/broker_topic_stats.ts";

/** Kafka's isolation levels. */
export const IsolationLevel = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

/** Who is appending. */
export type AppendOrigin = "client" | "internal";

/** What an append did, as a produce response reports it. */
export interface AppendInfo {
  baseOffset: number;
  lastOffset: number;
  /** LogAppendTime written, or -1 for CreateTime topics. */
  logAppendTimeMs: number;
  logStartOffset: number;
  /** True when the batch was a retry of one already appended (its original offsets returned). */
  duplicate: boolean;
}

/** A fetch read. */
export interface PartitionRead {
  records: Uint8Array;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  logEndOffset: number;
  /**
   * read_committed reads: the aborted transactions overlapping the records returned (Fetch's
   * `aborted_transactions`); null for other reads.
   */
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
}

/** Options of a read. */
export interface PartitionReadOptions {
  maxBytes: number;
  minOneMessage: boolean;
  /** 0 read_uncommitted (up to the high watermark), 1 read_committed (up to the LSO). */
  isolationLevel: number;
  /** Follower / debug reads see up to the log end. */
  upToLogEnd?: boolean;
  /** Memory for the read bytes (the storage log's `ReadBuffers`); default: fresh memory. */
  buffers?: { take(sizeBytes: number): Uint8Array };
}

/** One follower as its leader knows it (Kafka's `ReplicaState`). */
export interface FollowerView {
  readonly replicaId: number;
  /** Its log end as its last fetch showed it; -1 before its first fetch. */
  readonly logEndOffset: number;
  readonly lastCaughtUpTimeMs: number;
}

/**
 * The leader side of this broker's replication quota (KIP-73): follower fetches of throttled
 * replicas share one byte rate; over its bound they are answered without records.
 */
export interface LeaderThrottle {
  /** Does follower `replicaId`'s fetch of `p` count against the quota (out of the ISR, named)? */
  appliesTo(p: HostedPartition, replicaId: number): boolean;
  /** Is the quota's bound passed now? */
  exceeded(nowMs: number): boolean;
  /** Counts bytes sent to a throttled follower. */
  record(bytes: number, nowMs: number): void;
}

/** An end-transaction marker from the transaction coordinator (WriteTxnMarkers). */
export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  /** True for COMMIT, false for ABORT. */
  commit: boolean;
}

/** One producer's state, as DescribeProducers reports it. */
export interface ProducerView {
  producerId: number;
  epoch: number;
  batches: readonly { lastSeq: number }[];
  lastTimestampMs: number;
  coordinatorEpoch: number;
  currentTxnFirstOffset: number;
}

/**
 * A partition this broker hosts, as the handlers use it (the replica manager's `Partition`).
 *
 * @example
 * ```ts ignore
 * const error = partition.checkLeaderEpoch(request.currentLeaderEpoch);
 * ```
 */
export interface HostedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
  readonly log: FileLog;
  readonly producers: { entries(): readonly ProducerView[] };
  readonly isLeader: boolean;
  /** "offline" when it has no leader or is closed. */
  readonly role: "leader" | "follower" | "offline";
  readonly closed: boolean;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly minInsyncReplicas: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** NONE, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH for a request's currentLeaderEpoch. */
  checkLeaderEpoch(currentLeaderEpoch: number): number;
  /** What this replica, as leader, knows of its followers; empty when it does not lead. */
  followerStates(): readonly FollowerView[];
  /**
   * Is this leader's high watermark past the one its last Fetch answer to follower `replicaId`
   * carried? (Kafka's DelayedFetch case H: such a parked fetch answers at once.)
   */
  followerBehindHighWatermark(replicaId: number): boolean;
  /** Notes the high watermark a Fetch answer to follower `replicaId` carries. */
  highWatermarkSent(replicaId: number, highWatermark: number): void;
  /** NONE, or NOT_LEADER_OR_FOLLOWER for a broker that is no follower of this partition. */
  checkFollower(replicaId: number): number;
  /** NONE or NOT_ENOUGH_REPLICAS for an acks=all append. */
  checkMinIsr(): number;
  recordFollowerFetch(
    replicaId: number,
    fetchOffset: number,
    options: { nowMs: number; brokerEpoch: bigint },
  ): void;
  waitForReplication(endOffset: number, timeoutMs: number): Promise<number>;
  appendFromClient(batches: Uint8Array, origin: AppendOrigin): Promise<AppendInfo>;
  appendTxnMarker(marker: TxnMarker): Promise<AppendInfo>;
  read(fetchOffset: number, options: PartitionReadOptions): Promise<PartitionRead>;
  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null;
  onHighWatermarkChange(listener: () => void): () => void;
  deleteRecordsBefore(offset: number): Promise<number>;
}

/** A partition, or the error code a request about it gets. */
export type PartitionLookup = { partition: HostedPartition; errorCode: 0 } | {
  partition: null;
  errorCode: number;
};

/** A transaction marker written to a partition (what WriteTxnMarkers hooks are told). */
export interface TxnMarkerWritten {
  topic: string;
  partition: number;
  producerId: number;
  /** True for COMMIT, false for ABORT. */
  commit: boolean;
}

/** One log directory and the partitions in it. */
export interface LogDirInfo {
  dir: string;
  partitions: HostedPartition[];
  /** True once the directory failed (KIP-112): DescribeLogDirs answers KAFKA_STORAGE_ERROR. */
  offline?: boolean;
}

/**
 * The replica manager as the handlers see it.
 *
 * @example
 * ```ts ignore
 * const found = replicas.leaderPartition("orders", 0);
 * if (found.partition === null) return errorResponse(found.errorCode);
 * ```
 */
export interface ReplicaAccess {
  readonly ctx: BrokerView;
  readonly fetchSessions: FetchSessionCache;
  /** Replication quotas for follower fetches (KIP-73); absent: none. */
  readonly leaderThrottle?: LeaderThrottle;
  /** Messages and bytes in and out (`/metrics`); absent where nothing reads them (tests). */
  readonly topicStats?: BrokerTopicStats;
  /**
   * Where Fetch reads put record bytes: a pool the listener refills after writing each answer
   * (see `KafkaServerOptions.responseBuffers`). Absent: fresh memory per read.
   */
  readonly readBuffers?: { take(sizeBytes: number): Uint8Array };
  /**
   * The partition if this broker leads it; else UNKNOWN_TOPIC_OR_PARTITION (no such topic or
   * partition in the image), KAFKA_STORAGE_ERROR (its replica here is in a failed log directory)
   * or NOT_LEADER_OR_FOLLOWER (another broker leads, or not open yet).
   */
  leaderPartition(topic: string, partition: number): PartitionLookup;
  /**
   * When the applied image already names this broker leader of the partition but the partition is
   * still being opened (its log is created asynchronously after the image changes): a promise that
   * resolves once this broker leads it, the image application ends, or `timeoutMs` passes.
   * Otherwise null. Waiters resume in the order they asked, before any later request is read.
   */
  leaderOpening(topic: string, partition: number, timeoutMs: number): Promise<void> | null;
  /** A hosted partition, leader or not. */
  hostedPartition(topic: string, partition: number): HostedPartition | undefined;
  /** Every log directory with its partitions. */
  logDirs(): LogDirInfo[];
  /** A follower's lag behind its leader's high watermark (0 for a leader, -1 when unknown). */
  followerLag(partition: HostedPartition): number;
  /** A fresh producer id from the block the controller allocated (throws KafkaError). */
  allocateProducerId(): Promise<bigint>;
  /**
   * A transaction marker is written to a `__consumer_offsets` partition and replicated: runs the
   * listeners registered with `ReplicaManager.onTxnMarker` (the group coordinator completes or
   * drops the producer's pending offsets) and resolves when they have; a KafkaError from one is
   * the partition's answer to WriteTxnMarkers.
   */
  notifyTxnMarker(marker: TxnMarkerWritten): Promise<void>;
}
