/**
 * What the partition request handlers (Produce, Fetch, ListOffsets, OffsetForLeaderEpoch,
 * DeleteRecords, DescribeLogDirs, InitProducerId, WriteTxnMarkers) need from the replica manager. The handlers
 * depend on this interface, the replica manager implements it, so there is no import cycle.
 *
 * @module
 */
import type { BrokerContext } from "./broker_context.ts";
import type { FetchSessionCache } from "./fetch_session.ts";
import type { Partition } from "./partition.ts";

/** A partition, or the error code a request about it gets. */
export type PartitionLookup = { partition: Partition; errorCode: 0 } | {
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
  partitions: Partition[];
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
  readonly ctx: BrokerContext;
  readonly fetchSessions: FetchSessionCache;
  /**
   * The partition if this broker leads it; else UNKNOWN_TOPIC_OR_PARTITION (no such topic or
   * partition in the image) or NOT_LEADER_OR_FOLLOWER (another broker leads, or not open yet).
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
  hostedPartition(topic: string, partition: number): Partition | undefined;
  /** Every log directory with its partitions. */
  logDirs(): LogDirInfo[];
  /** A follower's lag behind its leader's high watermark (0 for a leader, -1 when unknown). */
  followerLag(partition: Partition): number;
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
