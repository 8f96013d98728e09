/**
 * One hosted replica of a partition (Kafka's `Partition`): its log, its role as the metadata image
 * says (leader, follower, or offline when no leader is elected), its idempotent producer state,
 * its high watermark, and the fetch long-poll waiters keyed to it.
 *
 * As leader it keeps a {@link LeaderState} (core/replication): follower fetches report each
 * follower's log end, and the high watermark is the smallest log end among the in-sync replicas,
 * the leader's own counted as its *durable* log end (the recovery point when appends are fsynced
 * before they are acknowledged, the default; the log end offset with `flush.messages` /
 * `flush.ms` set). `acks=all` appends wait in {@link Partition.waitForReplication} until the high
 * watermark passes them. As follower it appends the leader's batches verbatim (same offsets and
 * epochs), truncates where the leader says the logs diverge, and takes the leader's high
 * watermark capped at its own log end. Consumers never read past the high watermark.
 *
 * Transactions (Kafka's partition side): transactional batches open a transaction of their
 * producer here, end-transaction markers from the transaction coordinator (WriteTxnMarkers,
 * {@link Partition.appendTxnMarker}) close it. The last stable offset is the smallest first
 * offset of a transaction not yet complete below the high watermark, capped by the high
 * watermark; read_committed reads stop there and carry the aborted transactions overlapping what
 * they return, from the `.txnindex` files (storage/log/transaction_index.ts). Followers and
 * recovery replay markers the same way, so every replica's LSO and index agree with its log.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import type { PartitionRegistration } from "../core/metadata/image.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import {
  batchesIn,
  type BatchHeader,
  batchSizeAt,
  isControl,
  isTransactional,
  magicAt,
  readBatchHeader,
} from "../net/protocol/record_batch.ts";
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  decodeEndTxnMarkerValue,
  encodeBatch,
  encodeControlKey,
  encodeEndTxnMarkerValue,
} from "../net/protocol/records.ts";
import { type AbortedTxn, TransactionIndex } from "../storage/log/transaction_index.ts";
import { readTextIfExists, removeIfExists } from "../storage/fs.ts";
import {
  decodeProducerSnapshot,
  deleteProducerSnapshotsAbove,
  listProducerSnapshots,
  producerSnapshotPath,
  writeProducerSnapshot,
} from "../storage/log/producer_snapshot_file.ts";
import type { FileLog } from "../storage/log/file_log.ts";
import type { AppendResult, TimestampAndOffset } from "../storage/log/partition_log.ts";
import { clientBatchRules, validateClientBatches } from "../storage/log/log_validator.ts";
import type { Logger } from "../core/log.ts";
import { type FollowerState, LeaderState } from "../core/replication/leader_state.ts";
import {
  type AppendInfo,
  type AppendOrigin,
  type HostedPartition,
  IsolationLevel,
  type PartitionRead,
  type PartitionReadOptions,
} from "../net/handlers/replica_access.ts";
import { followerHighWatermark } from "../core/replication/follower.ts";
import {
  type CompletedTxn,
  type ProducerSnapshot,
  ProducerStateManager,
  type TxnMarker,
} from "./producer_state.ts";

export { IsolationLevel };
export type { AppendInfo, AppendOrigin, PartitionRead, PartitionReadOptions };

/**
 * The JSON producer state file of earlier versions, read once when no `.snapshot` exists yet and
 * deleted after the first `.snapshot` is written.
 */
export const PRODUCER_STATE_FILE = "producer-state.json";
/** `.snapshot` files kept per partition (the newest ones). */
const PRODUCER_SNAPSHOTS_KEPT = 2;
/** Bytes read per step while rebuilding producer state from the log. */
const REPLAY_CHUNK_BYTES = 1024 * 1024;
/** Upper bound on replay steps (each step advances at least one batch). */
const REPLAY_STEPS_MAX = 10_000_000;

/** This replica's role in the partition. */
export type ReplicaRole = "leader" | "follower" | "offline";

/** What changed when a registration was applied. */
export interface RegistrationChange {
  /** Leadership of this broker changed (became or stopped being leader). */
  leadershipChanged: boolean;
  /** The role or the leader / leader epoch changed: the replica fetcher must follow. */
  roleChanged: boolean;
}

/** An acks=all append waiting for the high watermark. */
interface AckWaiter {
  endOffset: number;
  resolve: (errorCode: number) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Construction options. */
export interface PartitionOptions {
  topic: string;
  partition: number;
  topicId: string;
  log: FileLog;
  /** The log directory (`log.dirs` entry) holding the partition directory. */
  logDir: string;
  nodeId: number;
  logger: Logger;
  /** Called after a follower's fetch was recorded (the ISR may change). */
  onFollowerFetch?: (p: Partition) => void;
  /**
   * Called when a log operation of this open partition failed; the replica manager decides
   * whether the error means its log directory failed (KIP-112). The operation still rejects.
   */
  onLogFailure?: (p: Partition, error: unknown) => void;
}

function badRecord(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_RECORD, message);
}

/**
 * A partition hosted by this broker.
 *
 * @example
 * ```ts ignore
 * const p = new Partition({ topic: "orders", partition: 0, topicId, log, logDir, nodeId: 1, logger });
 * p.setRegistration(registration);
 * const info = await p.appendFromClient(batchBytes, "client");
 * ```
 */
export class Partition implements HostedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly logDir: string;
  readonly log: FileLog;
  readonly producers = new ProducerStateManager();
  topicId: string;
  leaderId = -1;
  leaderEpoch = -1;
  partitionEpoch = -1;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  #minInsyncReplicas = 1;
  readonly #nodeId: number;
  readonly #logger: Logger;
  readonly #onFollowerFetch: ((p: Partition) => void) | undefined;
  readonly #onLogFailure: ((p: Partition, error: unknown) => void) | undefined;
  #waiters = new Set<() => void>();
  #notifiedHighWatermark = -1;
  #notifiedLogEnd = -1;
  #closed = false;
  #snapshotChanges = -1;
  /** Producer state snapshot writes, one at a time. */
  #snapshotWriting: Promise<void> = Promise.resolve();
  /** The active segment when producer state was last snapshotted for a roll. */
  #snapshotSegmentBase = -1;
  /** Leader-side replication state while this broker leads; null otherwise. */
  #leader: LeaderState | null = null;
  #highWatermark: number;
  #ackWaiters: AckWaiter[] = [];
  /** Aborted transactions of this log; replaced by the files' content in loadProducerState. */
  #txnIndex: TransactionIndex;

  constructor(options: PartitionOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.topicId = options.topicId;
    this.log = options.log;
    this.logDir = options.logDir;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger;
    this.#onFollowerFetch = options.onFollowerFetch;
    this.#onLogFailure = options.onLogFailure;
    // Not known until a leader says so (or this broker leads): nothing past the log start is
    // exposed before then, so a restarted replica never shows data it may have to truncate.
    this.#highWatermark = this.log.logStartOffset;
    this.#notifiedHighWatermark = this.#highWatermark;
    this.#txnIndex = TransactionIndex.empty(this.log.dir);
    // Kafka's cleaner never cleans past the LSO and drops aborted transactions' batches.
    this.log.cleanerLimits = () => ({
      endOffset: this.lastStableOffset,
      abortedTransactions: this.#txnIndex.entries,
    });
  }

  /** Passes a failed log operation to the failure hook (once closed, failures are expected). */
  #io<T>(operation: Promise<T>): Promise<T> {
    operation.catch((error) => {
      if (!this.#closed) this.#onLogFailure?.(this, error);
    });
    return operation;
  }

  get isLeader(): boolean {
    return !this.#closed && this.leaderId === this.#nodeId && this.#leader !== null;
  }

  /** This replica's role. */
  get role(): ReplicaRole {
    if (this.#closed || this.leaderId < 0) return "offline";
    return this.leaderId === this.#nodeId ? "leader" : "follower";
  }

  /** What this leader knows of its followers (KIP-392 read replicas); empty when not leader. */
  followerStates(): readonly FollowerState[] {
    return this.#leader === null ? [] : [...this.#leader.followers.values()];
  }

  followerBehindHighWatermark(replicaId: number): boolean {
    const f = this.#leader?.followers.get(replicaId);
    return f !== undefined && f.lastSentHighWatermark < this.#highWatermark;
  }

  highWatermarkSent(replicaId: number, highWatermark: number): void {
    const f = this.#leader?.followers.get(replicaId);
    if (f !== undefined) f.lastSentHighWatermark = highWatermark;
  }

  /** The leader-side replication state (tests, DescribeLogDirs lag), null when not leader. */
  get leaderState(): LeaderState | null {
    return this.#leader;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Below this offset every in-sync replica holds the records (see the module comment). */
  get highWatermark(): number {
    return this.#highWatermark;
  }

  /**
   * Restores the high watermark a previous run checkpointed (`replication-offset-checkpoint`),
   * capped by the log: a restarted replica then answers ListOffsets and reads at once instead of
   * waiting for a leader's answer. A committed offset is never truncated, so this never exposes
   * data that may go.
   */
  restoreHighWatermark(offset: number): void {
    if (this.#leader !== null || this.#highWatermark !== this.log.logStartOffset) return;
    this.#highWatermark = Math.max(
      this.log.logStartOffset,
      Math.min(offset, this.log.logEndOffset),
    );
    this.#notifiedHighWatermark = this.#highWatermark;
  }

  /** The log end this replica counts as its own: durable under the flush policy. */
  get durableEndOffset(): number {
    return this.log.flushPolicy.kind === "durable" ? this.log.recoveryPoint : this.log.logEndOffset;
  }

  /**
   * The first offset of a transaction not complete below the high watermark, or the high
   * watermark when it is smaller (Kafka's `UnifiedLog.lastStableOffset`).
   */
  get lastStableOffset(): number {
    // The high watermark is also set directly (restored checkpoint, new leader state): markers
    // below it are replicated whichever way it got there.
    this.producers.onHighWatermarkUpdated(this.#highWatermark);
    const firstUnstable = this.producers.firstUnstableOffset();
    return firstUnstable === null
      ? this.#highWatermark
      : Math.min(firstUnstable, this.#highWatermark);
  }

  /** The aborted-transaction index (tests, tools). */
  get transactionIndex(): TransactionIndex {
    return this.#txnIndex;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  /**
   * Applies the image's registration. Becoming leader (or a new leader epoch of this broker)
   * starts a fresh {@link LeaderState} from the current high watermark and records the epoch's
   * start in the log; anything else drops leader state and fails waiting acks=all appends.
   */
  setRegistration(reg: PartitionRegistration, nowMs = Date.now()): RegistrationChange {
    const wasLeader = this.isLeader;
    const before = { role: this.role, leaderId: this.leaderId, leaderEpoch: this.leaderEpoch };
    this.leaderId = reg.leader;
    this.leaderEpoch = reg.leaderEpoch;
    this.partitionEpoch = reg.partitionEpoch;
    this.replicas = reg.replicas;
    this.isr = reg.isr;
    if (reg.leader === this.#nodeId && !this.#closed) {
      if (this.#leader === null || this.#leader.leaderEpoch !== reg.leaderEpoch) {
        this.#becomeLeader(reg, nowMs);
      } else {
        this.#leader.updateRegistration(reg, nowMs);
        this.#leaderProgress();
      }
    } else if (this.#leader !== null) {
      this.#leader = null;
      this.#failAckWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    const roleChanged = before.role !== this.role || before.leaderId !== this.leaderId ||
      before.leaderEpoch !== this.leaderEpoch;
    return { leadershipChanged: wasLeader !== this.isLeader, roleChanged };
  }

  /** `min.insync.replicas` of the topic (set by the replica manager from the image). */
  get minInsyncReplicas(): number {
    return this.#minInsyncReplicas;
  }

  /** Below it a leader's high watermark stands still (strict min ISR, KIP-966): re-judged now. */
  set minInsyncReplicas(minInsyncReplicas: number) {
    this.#minInsyncReplicas = minInsyncReplicas;
    const leader = this.#leader;
    if (leader === null || leader.minInsyncReplicas === minInsyncReplicas) return;
    leader.setMinInsyncReplicas(minInsyncReplicas);
    this.#leaderProgress();
  }

  #becomeLeader(reg: PartitionRegistration, nowMs: number): void {
    const logEnd = this.log.logEndOffset;
    this.log.assignEpochStartOffset(reg.leaderEpoch, logEnd);
    this.#failAckWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.#leader = new LeaderState({
      localId: this.#nodeId,
      replicas: reg.replicas,
      isr: reg.isr,
      leaderEpoch: reg.leaderEpoch,
      partitionEpoch: reg.partitionEpoch,
      highWatermark: Math.min(this.#highWatermark, logEnd),
      leaderEpochStartOffset: logEnd,
      nowMs,
      minInsyncReplicas: this.#minInsyncReplicas,
    });
    this.#highWatermark = this.#leader.highWatermark;
    this.#leaderProgress();
  }

  /** The leader's durable end moved: advance the high watermark, complete acks. */
  #leaderProgress(): void {
    const leader = this.#leader;
    if (leader === null) return;
    leader.updateLocalEnd(this.durableEndOffset);
    this.#setHighWatermark(leader.highWatermark);
    this.#checkAckWaiters();
  }

  #setHighWatermark(offset: number): void {
    if (offset === this.#highWatermark) return;
    this.#highWatermark = offset;
    this.producers.onHighWatermarkUpdated(offset);
    this.notifyHighWatermark();
  }

  // ---------------------------------------------------------------- leader: replication

  /**
   * Records a follower's fetch (KIP-392 fetch state): its log end is `fetchOffset`. Throws
   * NOT_LEADER_OR_FOLLOWER for a broker that is no replica of this partition.
   */
  recordFollowerFetch(
    replicaId: number,
    fetchOffset: number,
    options: { nowMs: number; brokerEpoch: bigint },
  ): void {
    this.#requireLeader();
    const leader = this.#leader!;
    if (!leader.followers.has(replicaId)) {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Broker ${replicaId} is not a follower of ${this.topic}-${this.partition}.`,
      );
    }
    const logEnd = this.log.logEndOffset;
    if (fetchOffset > logEnd) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Follower ${replicaId} fetches ${this.topic}-${this.partition} at ${fetchOffset}, past the log end ${logEnd}.`,
      );
    }
    leader.updateFollower(replicaId, {
      fetchOffset,
      nowMs: options.nowMs,
      leaderEndOffset: logEnd,
      brokerEpoch: options.brokerEpoch,
    });
    this.#setHighWatermark(leader.highWatermark);
    this.#checkAckWaiters();
    this.#onFollowerFetch?.(this);
  }

  /**
   * NONE, or NOT_LEADER_OR_FOLLOWER when `replicaId` may not fetch as a follower: this broker does
   * not lead, or `replicaId` is no other replica of the partition (Kafka's `followerReplicaOrThrow`,
   * checked before anything is read, so such a fetch learns nothing of the log, not even a
   * diverging epoch).
   */
  checkFollower(replicaId: number): number {
    return this.isLeader && this.#leader!.followers.has(replicaId)
      ? ErrorCode.NONE
      : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /** NONE or NOT_ENOUGH_REPLICAS: may an acks=all append go ahead (Kafka checks the ISR size)? */
  checkMinIsr(): number {
    if (this.#leader === null) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return this.#leader.checkMinIsr(this.minInsyncReplicas);
  }

  /**
   * Resolves with NONE once the high watermark reaches `endOffset` (the offset after the last
   * appended record) and the ISR holds at least `min.insync.replicas` members, with
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when it reached it with fewer, REQUEST_TIMED_OUT after
   * `timeoutMs`, NOT_LEADER_OR_FOLLOWER when leadership is lost meanwhile.
   */
  waitForReplication(endOffset: number, timeoutMs: number): Promise<number> {
    const leader = this.#leader;
    if (leader === null || this.#closed) {
      return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    const now = leader.ackOutcome(endOffset, this.minInsyncReplicas);
    if (now.done) return Promise.resolve(now.errorCode);
    return new Promise((resolve) => {
      const waiter: AckWaiter = {
        endOffset,
        resolve,
        timer: setTimeout(() => {
          this.#ackWaiters = this.#ackWaiters.filter((w) => w !== waiter);
          resolve(ErrorCode.REQUEST_TIMED_OUT);
        }, Math.max(0, timeoutMs)),
      };
      this.#ackWaiters.push(waiter);
    });
  }

  #checkAckWaiters(): void {
    const leader = this.#leader;
    if (leader === null || this.#ackWaiters.length === 0) return;
    const waiting: AckWaiter[] = [];
    for (const w of this.#ackWaiters) {
      const outcome = leader.ackOutcome(w.endOffset, this.minInsyncReplicas);
      if (!outcome.done) {
        waiting.push(w);
        continue;
      }
      clearTimeout(w.timer);
      w.resolve(outcome.errorCode);
    }
    this.#ackWaiters = waiting;
  }

  #failAckWaiters(errorCode: number): void {
    const waiters = this.#ackWaiters;
    this.#ackWaiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve(errorCode);
    }
  }

  /** The ISR this leader should propose now (expansion of eligible replicas, or shrink), or null. */
  isrChange(
    nowMs: number,
    replicaLagTimeMaxMs: number,
    isEligible?: (replicaId: number) => boolean,
  ): number[] | null {
    return this.#leader?.isrChange(nowMs, replicaLagTimeMaxMs, isEligible) ?? null;
  }

  /** Marks an AlterPartition for `isr` as sent. */
  proposeIsr(isr: readonly number[]): void {
    this.#leader?.proposeIsr(isr);
  }

  /** The controller's answer to our AlterPartition (null: refused or failed). */
  completeIsrChange(result: { isr: number[]; partitionEpoch: number; leaderEpoch: number } | null) {
    const leader = this.#leader;
    if (leader === null) return;
    if (result !== null && result.leaderEpoch !== leader.leaderEpoch) result = null;
    leader.completeIsrChange(result);
    if (result !== null) {
      this.isr = result.isr;
      this.partitionEpoch = Math.max(this.partitionEpoch, result.partitionEpoch);
    }
    this.#setHighWatermark(leader.highWatermark);
    this.#checkAckWaiters();
  }

  // ---------------------------------------------------------------- follower: replication

  /**
   * Appends the leader's batches verbatim (offsets, epochs, timestamps as the leader wrote them),
   * replays their producer state, and takes the leader's high watermark and log start.
   */
  async appendAsFollower(
    records: Uint8Array,
    leader: { highWatermark: number; logStartOffset: number },
  ): Promise<void> {
    this.#requireFollower();
    if (records.length > 0) {
      const before = this.log.logEndOffset;
      await this.#io(this.log.appendAsFollower(records, { nowMs: Date.now() }));
      const indexSyncs: Promise<void>[] = [];
      for (const { pos, sizeBytes } of batchesIn(records)) {
        if (magicAt(records, pos) !== 2) continue;
        const h = readBatchHeader(records, pos);
        if (h.baseOffset < before) continue;
        const aborted = this.#replayBatch(records.subarray(pos, pos + sizeBytes), h);
        if (aborted !== null) {
          indexSyncs.push(this.#txnIndex.append(aborted, this.log.segmentBaseOffsets()));
        }
      }
      this.#snapshotOnRoll();
      await this.#io(Promise.all(indexSyncs));
    }
    await this.#followLeaderOffsets(leader);
  }

  async #followLeaderOffsets(leader: { highWatermark: number; logStartOffset: number }) {
    // The role may have changed while an append was syncing: a leader's offsets are its own.
    if (this.role !== "follower") return;
    if (
      leader.logStartOffset > this.log.logStartOffset &&
      leader.logStartOffset <= this.log.logEndOffset
    ) {
      const start = await this.#io(this.log.deleteRecordsBefore(leader.logStartOffset));
      this.producers.evictBelow(start);
      this.#txnIndex.dropBelow(start);
      if (this.role !== "follower") return;
    }
    this.#setHighWatermark(
      followerHighWatermark(leader.highWatermark, this.log.logEndOffset, this.#highWatermark),
    );
  }

  /** Takes the leader's offsets from an answer without records. */
  async followLeader(leader: { highWatermark: number; logStartOffset: number }): Promise<void> {
    this.#requireFollower();
    await this.#followLeaderOffsets(leader);
  }

  /** Truncates to `offset` where the leader's log diverges, and rebuilds producer state. */
  async truncateAsFollower(offset: number): Promise<void> {
    this.#requireFollower();
    if (offset >= this.log.logEndOffset) {
      // Drops an epoch this broker started at its log end as a leader that never appended.
      await this.#io(this.log.truncateTo(offset));
      return;
    }
    this.#logger.info(
      `Truncating ${this.topic}-${this.partition} from ${this.log.logEndOffset} to ${offset} (leader ${this.leaderId}, epoch ${this.leaderEpoch})`,
    );
    await this.#io(this.log.truncateTo(offset));
    this.producers.truncateFrom(offset);
    this.#txnIndex.truncateFrom(offset, this.log.segmentBaseOffsets());
    // A snapshot past the new end describes records that are gone (Kafka's truncateAndReload).
    await deleteProducerSnapshotsAbove(this.log.dir, this.log.logEndOffset);
    this.#highWatermark = Math.min(this.#highWatermark, this.log.logEndOffset);
  }

  /** Starts the log over, empty, at the leader's log start (the follower fell behind it). */
  async restartAsFollower(offset: number): Promise<void> {
    this.#requireFollower();
    this.#logger.info(
      `Restarting ${this.topic}-${this.partition} empty at ${offset}: behind the leader's log start`,
    );
    await this.#io(this.log.truncateFullyAndStartAt(offset));
    this.producers.evictBelow(offset);
    this.#txnIndex.clear();
    await deleteProducerSnapshotsAbove(this.log.dir, -1);
    this.#highWatermark = offset;
  }

  #requireFollower(): void {
    if (this.role !== "follower") {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `This broker is not a follower of ${this.topic}-${this.partition}.`,
      );
    }
  }

  /** NONE, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH for a request's currentLeaderEpoch (KIP-320). */
  checkLeaderEpoch(currentLeaderEpoch: number): number {
    if (currentLeaderEpoch < 0) return ErrorCode.NONE;
    if (currentLeaderEpoch < this.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (currentLeaderEpoch > this.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
    return ErrorCode.NONE;
  }

  #requireLeader(): void {
    if (!this.isLeader) {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `This broker is not the leader of ${this.topic}-${this.partition}.`,
      );
    }
  }

  // ---------------------------------------------------------------- appends

  /**
   * Appends v2 batches as leader and resolves once they are durable under the log's flush
   * policy. Everything up to the log's offset assignment runs synchronously, so appends started
   * in order (one connection's pipelined requests) land in order.
   *
   * Checks from Kafka's `LogValidator` / `ProducerStateManager` for client batches: no control
   * batches, record count = lastOffsetDelta + 1, a producer id needs a sequence, at most one
   * idempotent batch per append, total size within `segment.bytes` (RECORD_LIST_TOO_LARGE).
   * A transactional batch opens (or continues) its producer's transaction here; one of an older
   * epoch is INVALID_PRODUCER_EPOCH, a plain batch of a producer inside a transaction
   * INVALID_TXN_STATE. KIP-890 part 1 (asking the coordinator whether the partition was added to
   * the transaction before accepting the first batch) is not done: a transactional batch is
   * trusted to belong to its producer's current transaction.
   */
  appendFromClient(batches: Uint8Array, origin: AppendOrigin): Promise<AppendInfo> {
    this.#requireLeader();
    const headers = readHeaders(batches);
    if (origin === "client") {
      checkClientBatches(headers);
      // Kafka's LogValidator: records checked, max timestamp from the records (maybe rebuilt).
      const at = { topicPartition: `${this.topic}-${this.partition}`, nowMs: Date.now() };
      batches = validateClientBatches(batches, clientBatchRules(this.log.config, at));
    }
    if (batches.length > this.log.config.segmentBytes) {
      throw new KafkaError(
        ErrorCode.RECORD_LIST_TOO_LARGE,
        `${batches.length} bytes exceed segment.bytes ${this.log.config.segmentBytes} of ${this.topic}-${this.partition}.`,
      );
    }
    const idempotent = headers.filter((h) => h.producerId >= 0);
    if (idempotent.length > 1) {
      throw badRecord(
        "At most one batch with a producer id may be appended to a partition at once.",
      );
    }
    const first = idempotent[0];
    if (first !== undefined) {
      const check = this.producers.check(first, origin);
      if (check.kind === "error") throw new KafkaError(check.code, check.message);
      if (check.kind === "duplicate") {
        return this.#answerDuplicate(check.firstOffset, check.lastOffset);
      }
    }
    const nowMs = Date.now();
    const before = this.log.logEndOffset;
    const appending = this.#io(this.log.append(batches, {
      leaderEpoch: Math.max(0, this.leaderEpoch),
      nowMs,
      crcVerified: origin === "client",
    }));
    if (this.log.logEndOffset === before) {
      // The log refused the batches synchronously (CRC, size): the promise carries the error.
      return appending.then(() => assert.fail("an append that assigned no offset resolved"));
    }
    let next = before;
    for (const h of headers) {
      if (h.producerId >= 0) this.producers.record(h, next, nowMs);
      next += h.lastOffsetDelta + 1;
    }
    // Followers long-polling for new data read up to the log end: wake them now, not after fsync.
    this.#notifyLogEnd();
    return appending.then((result) => this.#appended(result, before));
  }

  /** An append as leader is durable: the high watermark may move; its answer to the caller. */
  #appended(result: AppendResult, expectedBaseOffset: number): AppendInfo {
    assert.equal(
      result.baseOffset,
      expectedBaseOffset,
      "the log assigned offsets other than predicted",
    );
    this.#leaderProgress();
    return {
      baseOffset: result.baseOffset,
      lastOffset: result.lastOffset,
      logAppendTimeMs: result.logAppendTimeMs,
      logStartOffset: result.logStartOffset,
      duplicate: false,
    };
  }

  async #answerDuplicate(firstOffset: number, lastOffset: number): Promise<AppendInfo> {
    if (lastOffset >= this.durableEndOffset) {
      await this.#io(this.log.flush());
      this.#leaderProgress();
    }
    return {
      baseOffset: firstOffset,
      lastOffset,
      logAppendTimeMs: -1,
      logStartOffset: this.log.logStartOffset,
      duplicate: true,
    };
  }

  /**
   * Appends the coordinator's end-transaction marker as leader (Kafka's WriteTxnMarkers path,
   * `AppendOrigin.COORDINATOR`): a control batch of one record (key: version 0 + type ABORT 0 /
   * COMMIT 1; value: version 0 + coordinator epoch) with the producer's id and epoch. It completes
   * the producer's transaction here; an aborted one goes into the `.txnindex`. Refused with
   * INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED for stale epochs. Resolves once
   * durable under the flush policy; the caller waits for the ISR as acks=all.
   */
  appendTxnMarker(marker: TxnMarker): Promise<AppendInfo> {
    this.#requireLeader();
    const check = this.producers.checkMarker(marker);
    if (check.code !== ErrorCode.NONE) throw new KafkaError(check.code, check.message);
    const nowMs = Date.now();
    const batch = encodeBatch({
      baseOffset: 0,
      baseTimestamp: nowMs,
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      baseSequence: -1,
      transactional: true,
      control: true,
      records: [{
        offsetDelta: 0,
        timestampDelta: 0,
        key: encodeControlKey(marker.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT),
        value: encodeEndTxnMarkerValue(marker.coordinatorEpoch),
        headers: [],
      }],
    });
    const before = this.log.logEndOffset;
    const appending = this.#io(this.log.append(batch, {
      leaderEpoch: Math.max(0, this.leaderEpoch),
      nowMs,
    }));
    if (this.log.logEndOffset === before) {
      return appending.then(() => assert.fail("a marker append that assigned no offset resolved"));
    }
    const completed = this.producers.recordMarker(marker, before, nowMs);
    const indexed = completed === null ? null : this.#indexCompleted(completed);
    this.#notifyLogEnd();
    return Promise.all([appending, indexed === null ? null : this.#io(indexed)]).then((
      [result],
    ) => this.#appended(result, before));
  }

  /**
   * Writes an aborted transaction's `.txnindex` entry (a committed one needs none); the promise
   * resolves once it is durable.
   */
  #indexCompleted(completed: CompletedTxn): Promise<void> | null {
    const entry = this.#abortedEntry(completed);
    return entry === null ? null : this.#txnIndex.append(entry, this.log.segmentBaseOffsets());
  }

  /** The `.txnindex` entry of a completed transaction: only an aborted one has one. */
  #abortedEntry(completed: CompletedTxn | null): AbortedTxn | null {
    if (completed === null || !completed.isAborted) return null;
    return {
      producerId: completed.producerId,
      firstOffset: completed.firstOffset,
      lastOffset: completed.lastOffset,
      lastStableOffset: this.producers.lastStableOffsetAfter(completed),
    };
  }

  /**
   * Replays one stored batch into the producer state (follower appends, recovery): a marker
   * completes its producer's transaction, a data batch is replayed unchecked. Returns the
   * aborted-index entry a marker produced, not yet written, or null.
   */
  #replayBatch(bytes: Uint8Array, h: BatchHeader): AbortedTxn | null {
    if (!isControl(h.attributes)) {
      this.producers.replay(h, h.baseOffset);
      return null;
    }
    const marker = txnMarkerOf(bytes, h);
    if (marker === null) return null;
    return this.#abortedEntry(
      this.producers.recordMarker(marker, h.baseOffset, h.maxTimestamp),
    );
  }

  // ---------------------------------------------------------------- reads

  /** Reads stored batches for Fetch; throws LogError OFFSET_OUT_OF_RANGE. */
  async read(fetchOffset: number, options: PartitionReadOptions): Promise<PartitionRead> {
    const highWatermark = this.highWatermark;
    const lastStableOffset = this.lastStableOffset;
    const bound = options.upToLogEnd
      ? this.log.logEndOffset
      : options.isolationLevel === IsolationLevel.READ_COMMITTED
      ? lastStableOffset
      : highWatermark;
    const result = await this.#io(this.log.read(fetchOffset, {
      maxBytes: Math.max(0, options.maxBytes),
      maxOffset: bound,
      minOneMessage: options.minOneMessage,
      buffers: options.buffers,
    }));
    const readCommitted = !options.upToLogEnd &&
      options.isolationLevel === IsolationLevel.READ_COMMITTED;
    return {
      records: result.records,
      highWatermark,
      lastStableOffset,
      logStartOffset: result.logStartOffset,
      logEndOffset: result.logEndOffset,
      abortedTransactions: readCommitted
        ? this.#abortedIn(fetchOffset, nextOffsetAfter(result.records))
        : null,
    };
  }

  /** Aborted transactions overlapping [fromOffset, upToOffset); none for an empty range. */
  #abortedIn(fromOffset: number, upToOffset: number | null) {
    if (upToOffset === null) return [];
    return this.#txnIndex.collect(fromOffset, upToOffset);
  }

  /** The first record with a timestamp >= `timestampMs`, or null (ListOffsets). */
  offsetForTimestamp(timestampMs: number): TimestampAndOffset | null {
    return this.log.offsetForTimestamp(timestampMs);
  }

  // ---------------------------------------------------------------- high watermark waiters

  /**
   * Calls `listener` once the high watermark or the log end moves (or the partition closes);
   * returns a remover. Consumers wait for the high watermark, followers for the log end.
   */
  onHighWatermarkChange(listener: () => void): () => void {
    this.#waiters.add(listener);
    return () => this.#waiters.delete(listener);
  }

  /** Wakes waiters when the high watermark moved since the last notification. */
  notifyHighWatermark(force = false): void {
    const hw = this.highWatermark;
    if (!force && hw === this.#notifiedHighWatermark) return;
    this.#notifiedHighWatermark = hw;
    this.#wakeWaiters();
  }

  /**
   * Kafka snapshots producer state when the log rolls, so a restart without a newer snapshot
   * replays at most the last two segments (see {@link loadProducerState}) and still meets every
   * open transaction's first batch.
   */
  #snapshotOnRoll(): void {
    const base = this.log.activeSegmentBaseOffset;
    if (base === this.#snapshotSegmentBase) return;
    const first = this.#snapshotSegmentBase < 0;
    this.#snapshotSegmentBase = base;
    if (first) return;
    this.writeProducerState().catch((error) =>
      this.#logger.warn(
        `Cannot snapshot producer state of ${this.topic}-${this.partition}: ${error}`,
      )
    );
  }

  #notifyLogEnd(): void {
    this.#snapshotOnRoll();
    const end = this.log.logEndOffset;
    if (end === this.#notifiedLogEnd) return;
    this.#notifiedLogEnd = end;
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  // ---------------------------------------------------------------- log start

  /**
   * DeleteRecords on the leader: `offset` -1 means the high watermark; beyond the high watermark
   * -> OFFSET_OUT_OF_RANGE; a compact-only topic -> POLICY_VIOLATION. Returns the new log start.
   */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.#requireLeader();
    const policy = this.log.config.cleanupPolicy;
    if (!policy.delete) {
      throw new KafkaError(
        ErrorCode.POLICY_VIOLATION,
        `Records of ${this.topic}-${this.partition} cannot be deleted: cleanup.policy=compact.`,
      );
    }
    const target = offset === -1 ? this.highWatermark : offset;
    if (target < 0 || target > this.highWatermark) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot delete records of ${this.topic}-${this.partition} before ${offset}: the high watermark is ${this.highWatermark}.`,
      );
    }
    const start = await this.log.deleteRecordsBefore(target);
    this.producers.evictBelow(start);
    this.#txnIndex.dropBelow(start);
    this.notifyHighWatermark(true);
    return start;
  }

  // ---------------------------------------------------------------- producer state persistence

  get #producerStatePath(): string {
    return path.join(this.log.dir, PRODUCER_STATE_FILE);
  }

  /**
   * Rebuilds producer state: the newest `.snapshot` (Kafka's format) within the log, else the
   * JSON file of earlier versions, then the batches after it (or, without a usable snapshot,
   * those of the last two segments). Snapshots past the log end (its unsynced tail was lost) go.
   */
  async loadProducerState(): Promise<void> {
    // Without a snapshot: the last two segments, as Kafka (a snapshot is written at each roll;
    // the previous segment covers a crash between a roll and its snapshot).
    const bases = this.log.segmentBaseOffsets();
    let from = Math.max(this.log.logStartOffset, bases.at(-2) ?? bases.at(-1) ?? 0);
    const loaded = await this.#loadProducerSnapshot();
    const text = loaded === null ? await readTextIfExists(this.#producerStatePath) : null;
    if (loaded !== null) from = loaded;
    if (text !== null) {
      try {
        const snapshot = JSON.parse(text) as ProducerSnapshot;
        if (
          snapshot.offset >= this.log.logStartOffset && snapshot.offset <= this.log.logEndOffset
        ) {
          this.producers.load(snapshot);
          from = snapshot.offset;
        } else {
          this.#logger.warn(
            `Ignoring producer state of ${this.topic}-${this.partition} at offset ${snapshot.offset}: the log spans [${this.log.logStartOffset}, ${this.log.logEndOffset}].`,
          );
        }
      } catch (error) {
        this.#logger.warn(
          `Ignoring unreadable producer state of ${this.topic}-${this.partition}: ${
            (error as Error).message
          }`,
        );
      }
    }
    const segmentBases = this.log.segmentBaseOffsets();
    this.#txnIndex = await TransactionIndex.open(
      this.log.dir,
      segmentBases,
      (line) => this.#logger.warn(line),
    );
    const aborted = await this.#replayFrom(from);
    await this.#txnIndex.recover(aborted, { logEndOffset: this.log.logEndOffset, segmentBases });
    this.producers.evictBelow(this.log.logStartOffset);
    this.#txnIndex.dropBelow(this.log.logStartOffset);
    this.#snapshotChanges = this.producers.changeCount;
  }

  /** Replays the batches from `from` to the log end; returns the aborted transactions met. */
  async #replayFrom(from: number): Promise<AbortedTxn[]> {
    const aborted: AbortedTxn[] = [];
    let offset = from;
    const end = this.log.logEndOffset;
    for (let step = 0; step < REPLAY_STEPS_MAX && offset < end; step++) {
      const { records } = await this.log.read(offset, {
        maxBytes: REPLAY_CHUNK_BYTES,
        maxOffset: end,
        minOneMessage: true,
      });
      if (records.length === 0) break;
      for (const { pos, sizeBytes } of batchesIn(records)) {
        if (magicAt(records, pos) !== 2) continue;
        const h = readBatchHeader(records, pos);
        const entry = this.#replayBatch(records.subarray(pos, pos + sizeBytes), h);
        if (entry !== null) aborted.push(entry);
        offset = h.baseOffset + h.lastOffsetDelta + 1;
      }
    }
    return aborted;
  }

  /** Loads the newest readable `.snapshot` within the log; returns its offset, or null. */
  async #loadProducerSnapshot(): Promise<number | null> {
    const dir = this.log.dir;
    await deleteProducerSnapshotsAbove(dir, this.log.logEndOffset);
    const offsets = (await listProducerSnapshots(dir)).reverse();
    for (const offset of offsets) {
      if (offset < this.log.logStartOffset) break;
      try {
        this.producers.loadSnapshotEntries(
          decodeProducerSnapshot(await Deno.readFile(producerSnapshotPath(dir, offset))),
        );
        return offset;
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        this.#logger.warn(
          `Deleting unreadable producer snapshot ${
            producerSnapshotPath(dir, offset)
          }: ${error.message}`,
        );
        await removeIfExists(producerSnapshotPath(dir, offset));
      }
    }
    return null;
  }

  /**
   * Writes `<log end>.snapshot` (Kafka's format) when the state changed since the last write,
   * keeping the newest {@link PRODUCER_SNAPSHOTS_KEPT}.
   */
  /** Resolves once the producer state snapshots started so far are written (or failed). */
  snapshotsWritten(): Promise<void> {
    return this.#snapshotWriting.catch(() => {});
  }

  writeProducerState(): Promise<void> {
    const write = this.#snapshotWriting.catch(() => {}).then(async () => {
      const changes = this.producers.changeCount;
      if (changes === this.#snapshotChanges) return;
      // Entries and offset are taken in the same turn: the state covers exactly the log below.
      await this.#io(writeProducerSnapshot(
        this.log.dir,
        this.log.logEndOffset,
        this.producers.snapshotEntries(),
        { keep: PRODUCER_SNAPSHOTS_KEPT },
      ));
      await removeIfExists(this.#producerStatePath);
      this.#snapshotChanges = changes;
    });
    this.#snapshotWriting = write;
    return write;
  }

  /**
   * Stops serving: waiters wake (and see the partition gone), acks=all appends waiting for the
   * ISR get `errorCode` (KAFKA_STORAGE_ERROR when its log directory failed). The log is closed by
   * its owner.
   */
  close(errorCode: number = ErrorCode.NOT_LEADER_OR_FOLLOWER): void {
    this.#closed = true;
    this.#leader = null;
    this.#failAckWaiters(errorCode);
    this.notifyHighWatermark(true);
  }
}

/** Reads every batch header; legacy or malformed batches -> CORRUPT_MESSAGE / INVALID_RECORD. */
function readHeaders(batches: Uint8Array): BatchHeader[] {
  const headers: BatchHeader[] = [];
  let pos = 0;
  while (pos < batches.length) {
    const size = batchSizeAt(batches, pos);
    if (size === null || pos + size > batches.length) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Batch at byte ${pos} is truncated.`);
    }
    if (magicAt(batches, pos) !== 2) {
      throw badRecord(
        `Batch at byte ${pos} has magic ${magicAt(batches, pos)}; only v2 batches are stored.`,
      );
    }
    headers.push(readBatchHeader(batches, pos));
    pos += size;
  }
  if (headers.length === 0) throw badRecord("The record set holds no batch.");
  return headers;
}

/**
 * Refused before validation: a transactional batch without a producer id can belong to no
 * transaction (Kafka would append it outside any; we refuse it as the bad input it is).
 */
function checkClientBatches(headers: readonly BatchHeader[]): void {
  for (const h of headers) {
    if (isTransactional(h.attributes) && h.producerId < 0) {
      throw badRecord("A transactional batch needs a producer id.");
    }
  }
}

/** The offset after the last batch of `records`, or null when there is none. */
function nextOffsetAfter(records: Uint8Array): number | null {
  let next: number | null = null;
  for (const { pos } of batchesIn(records)) {
    if (magicAt(records, pos) !== 2) continue;
    const h = readBatchHeader(records, pos);
    next = h.baseOffset + h.lastOffsetDelta + 1;
  }
  return next;
}

/**
 * The end-transaction marker of a stored control batch, or null for other control records. A
 * marker too short to decode throws CorruptBatchError (CORRUPT_MESSAGE).
 */
function txnMarkerOf(bytes: Uint8Array, h: BatchHeader): TxnMarker | null {
  const record = decodeBatch(bytes, { skipCrcCheck: true }).records[0];
  if (record === undefined) return null;
  const { type } = decodeControlKey(record.key);
  if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) return null;
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    coordinatorEpoch: decodeEndTxnMarkerValue(record.value).coordinatorEpoch,
    commit: type === ControlRecordType.COMMIT,
  };
}
