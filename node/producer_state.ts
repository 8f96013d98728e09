/**
 * Per-partition producer state (Kafka's `ProducerStateManager` and `ProducerAppendInfo`): for every
 * producer id, its epoch and the sequence ranges and offsets of its last five batches, enough to
 * answer a retried batch with its original offsets and to reject gaps and zombie epochs; and the
 * transactions of the partition: the first offset of each producer's ongoing transaction, and the
 * transactions completed by a marker the high watermark has not passed yet. Together they give
 * the first unstable offset, which bounds the last stable offset (LSO) read_committed reads to.
 *
 * Rules (Kafka 2.5+, KIP-360):
 * - a batch equal (epoch, first and last sequence) to one of the last five of its producer is a
 *   duplicate: it is not appended and is answered with the original offsets;
 * - an epoch below the producer's current one -> INVALID_PRODUCER_EPOCH (Kafka 2.7+ answers
 *   produce with it instead of PRODUCER_FENCED, transactional or not);
 * - a new epoch must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - within an epoch the first sequence must follow the last one (wrapping at 2^31-1), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - a producer this partition does not know (new, expired, or whose batches were deleted) is
 *   accepted at any sequence: UNKNOWN_PRODUCER_ID is no longer returned;
 * - a transactional batch starts the producer's transaction here unless one is ongoing; a
 *   non-transactional batch while one is ongoing -> INVALID_TXN_STATE;
 * - an end-transaction marker (COMMIT or ABORT control batch) with an older producer epoch ->
 *   INVALID_PRODUCER_EPOCH, with an older coordinator epoch -> TRANSACTION_COORDINATOR_FENCED; it
 *   completes the ongoing transaction (a marker of a producer with none completes nothing, as
 *   Kafka: an empty transaction leaves no trace in the LSO or the aborted-transaction index);
 * - a producer with an ongoing transaction never expires.
 *
 * The state is pure and synchronous; `node/partition.ts` checks a batch before the append and
 * records it at the offsets the log assigns. It survives restarts through Kafka's `.snapshot` files
 * ({@link ProducerStateManager.snapshotEntries}; the JSON {@link ProducerSnapshot} of earlier
 * versions is still read) plus replay of the batches appended after the snapshot.
 *
 * @module
 */
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { TxnMarker } from "../net/handlers/replica_access.ts";
import type { ProducerSnapshotEntry } from "../storage/log/producer_snapshot_file.ts";

/** Batches remembered per producer (Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`). */
export const BATCHES_RETAINED_PER_PRODUCER = 5;

/** The producer fields of one batch header. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** `lastOffsetDelta` of the batch: the last sequence is baseSequence + this, wrapping. */
  lastOffsetDelta: number;
  /** Batch max timestamp, used for producer expiration. */
  maxTimestamp: number;
  /** Batch attributes; bit 0x10 marks a transactional batch. Absent: not transactional. */
  attributes?: number;
}

/** An end-transaction marker (Kafka's `EndTransactionMarker` with its batch's producer fields). */
export type { TxnMarker };

/** A transaction a marker completed (Kafka's `CompletedTxn`). */
export interface CompletedTxn {
  producerId: number;
  /** Offset of the transaction's first record in this partition. */
  firstOffset: number;
  /** Offset of the marker. */
  lastOffset: number;
  isAborted: boolean;
}

/** One remembered batch. */
export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestampMs: number;
}

/** What is known about one producer id. */
export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most {@link BATCHES_RETAINED_PER_PRODUCER}. */
  batches: BatchMetadata[];
  /** Largest of the batch timestamps and the wall-clock time of the last append. */
  lastTimestampMs: number;
  /** First offset of the producer's ongoing transaction in this partition, -1 when none. */
  currentTxnFirstOffset: number;
  /** Coordinator epoch of the producer's last marker, -1 before any. */
  coordinatorEpoch: number;
}

/** The outcome of checking a batch. */
export type ProducerCheck =
  | { kind: "append" }
  | { kind: "duplicate"; firstOffset: number; lastOffset: number }
  | { kind: "error"; code: number; message: string };

/** The state as of `offset` (every batch below it is included), JSON-serializable. */
export interface ProducerSnapshot {
  /** 2 carries the transaction fields; 1 (no transactions) is still read. */
  version: 1 | 2;
  offset: number;
  producers: ProducerEntry[];
}

const INT32_MAX = 0x7fff_ffff;
const TRANSACTIONAL_FLAG = 0x10;

function isTransactionalBatch(batch: ProducerBatch): boolean {
  return ((batch.attributes ?? 0) & TRANSACTIONAL_FLAG) !== 0;
}

/**
 * The last sequence of a batch (Kafka's `DefaultRecordBatch.incrementSequence`).
 *
 * @example
 * ```ts
 * import { lastSequenceOf } from "./producer_state.ts";
 * lastSequenceOf(2147483647, 1); // 0
 * ```
 */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence > INT32_MAX - lastOffsetDelta) {
    return lastOffsetDelta - (INT32_MAX - baseSequence) - 1;
  }
  return baseSequence + lastOffsetDelta;
}

/** The first sequence of a batch from its last one (wrapping back past 0 to Int32.MAX_VALUE). */
function firstSequenceOf(lastSequence: number, delta: number): number {
  const first = lastSequence - delta;
  return first < 0 ? first + INT32_MAX + 1 : first;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/**
 * The producer state of one partition.
 *
 * @example
 * ```ts
 * import { ProducerStateManager } from "./producer_state.ts";
 * const state = new ProducerStateManager();
 * const batch = { producerId: 7, producerEpoch: 0, baseSequence: 0, lastOffsetDelta: 2, maxTimestamp: 1 };
 * state.check(batch); // { kind: "append" }
 * state.record(batch, 0, 1);
 * state.check(batch); // { kind: "duplicate", firstOffset: 0, lastOffset: 2 }
 * ```
 */
export class ProducerStateManager {
  #producers = new Map<number, ProducerEntry>();
  /** First offset of every ongoing transaction, by producer id. */
  #ongoing = new Map<number, number>();
  /** Completed transactions whose marker the high watermark has not passed, oldest first. */
  #unreplicated: CompletedTxn[] = [];
  #changes = 0;

  /** Number of producers known. */
  get size(): number {
    return this.#producers.size;
  }

  /** Increases on every change; snapshot writers compare it to skip unchanged state. */
  get changeCount(): number {
    return this.#changes;
  }

  /** Every known producer (DescribeProducers), in no particular order. */
  entries(): ProducerEntry[] {
    return [...this.#producers.values()];
  }

  /** The entry of a producer, if known. */
  entry(producerId: number): ProducerEntry | undefined {
    return this.#producers.get(producerId);
  }

  /**
   * Checks a batch without changing anything. A coordinator's own batch (`internal`: the group
   * coordinator's TxnOffsetCommit, written with no sequence) gets only the epoch and transaction
   * checks, as Kafka checks sequences and duplicates for `AppendOrigin.CLIENT` only.
   */
  check(batch: ProducerBatch, origin: "client" | "internal" = "client"): ProducerCheck {
    if (batch.producerId < 0) return { kind: "append" };
    const entry = this.#producers.get(batch.producerId);
    if (entry === undefined) return { kind: "append" };
    const lastSeq = lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta);
    const pid = batch.producerId;
    if (origin === "internal") {
      if (batch.producerEpoch < entry.epoch) {
        return {
          kind: "error",
          code: ErrorCode.INVALID_PRODUCER_EPOCH,
          message:
            `Epoch ${batch.producerEpoch} of producer ${pid} is older than its current epoch ${entry.epoch}.`,
        };
      }
      return this.#checkTxnState(batch, entry);
    }
    if (batch.producerEpoch === entry.epoch) {
      const dup = entry.batches.find((b) =>
        b.firstSeq === batch.baseSequence && b.lastSeq === lastSeq
      );
      if (dup !== undefined) {
        return { kind: "duplicate", firstOffset: dup.firstOffset, lastOffset: dup.lastOffset };
      }
    }
    if (batch.producerEpoch < entry.epoch) {
      return {
        kind: "error",
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message:
          `Epoch ${batch.producerEpoch} of producer ${pid} is older than its current epoch ${entry.epoch}.`,
      };
    }
    if (batch.producerEpoch > entry.epoch) {
      if (batch.baseSequence === 0) return { kind: "append" };
      return {
        kind: "error",
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message:
          `Producer ${pid} started epoch ${batch.producerEpoch} at sequence ${batch.baseSequence}, not 0.`,
      };
    }
    const last = entry.batches.at(-1);
    if (last !== undefined && !inSequence(last.lastSeq, batch.baseSequence)) {
      return {
        kind: "error",
        code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message:
          `Producer ${pid} sent sequence ${batch.baseSequence} after ${last.lastSeq} in epoch ${entry.epoch}.`,
      };
    }
    return this.#checkTxnState(batch, entry);
  }

  /** Kafka's `ProducerAppendInfo.appendDataBatch`: no plain write inside an open transaction. */
  #checkTxnState(batch: ProducerBatch, entry: ProducerEntry): ProducerCheck {
    if (entry.currentTxnFirstOffset >= 0 && !isTransactionalBatch(batch)) {
      return {
        kind: "error",
        code: ErrorCode.INVALID_TXN_STATE,
        message:
          `Expected a transactional write from producer ${batch.producerId}: its transaction started at offset ${entry.currentTxnFirstOffset}.`,
      };
    }
    return { kind: "append" };
  }

  /**
   * Checks an end-transaction marker from the coordinator without changing anything: NONE,
   * INVALID_PRODUCER_EPOCH (older producer epoch) or TRANSACTION_COORDINATOR_FENCED (older
   * coordinator epoch), as Kafka's `ProducerAppendInfo.appendEndTxnMarker`.
   */
  checkMarker(marker: TxnMarker): { code: number; message: string } {
    const entry = this.#producers.get(marker.producerId);
    if (entry === undefined) return { code: ErrorCode.NONE, message: "" };
    if (marker.producerEpoch < entry.epoch) {
      return {
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
        message:
          `Marker epoch ${marker.producerEpoch} of producer ${marker.producerId} is older than its current epoch ${entry.epoch}.`,
      };
    }
    if (marker.coordinatorEpoch < entry.coordinatorEpoch) {
      return {
        code: ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        message:
          `Coordinator epoch ${marker.coordinatorEpoch} of the marker for producer ${marker.producerId} is older than ${entry.coordinatorEpoch}.`,
      };
    }
    return { code: ErrorCode.NONE, message: "" };
  }

  /**
   * Records a marker appended at `offset` (leader, follower and recovery alike: a follower or a
   * replay takes what the leader wrote, unchecked). Returns the transaction it completed, or null
   * when the producer had none ongoing here.
   */
  recordMarker(marker: TxnMarker, offset: number, timestampMs: number): CompletedTxn | null {
    let entry = this.#producers.get(marker.producerId);
    if (entry === undefined) {
      entry = this.#newEntry(marker.producerId, marker.producerEpoch);
      this.#producers.set(marker.producerId, entry);
    }
    if (marker.producerEpoch > entry.epoch) {
      entry.epoch = marker.producerEpoch;
      entry.batches = [];
    }
    entry.coordinatorEpoch = Math.max(entry.coordinatorEpoch, marker.coordinatorEpoch);
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, timestampMs);
    this.#changes++;
    if (entry.currentTxnFirstOffset < 0) return null;
    const completed: CompletedTxn = {
      producerId: marker.producerId,
      firstOffset: entry.currentTxnFirstOffset,
      lastOffset: offset,
      isAborted: !marker.commit,
    };
    entry.currentTxnFirstOffset = -1;
    this.#ongoing.delete(marker.producerId);
    this.#unreplicated.push(completed);
    return completed;
  }

  /**
   * The smallest first offset of a transaction that is ongoing, or completed by a marker not yet
   * below the high watermark (Kafka's `firstUnstableOffset`); null when there is none.
   */
  firstUnstableOffset(): number | null {
    let first: number | null = null;
    for (const offset of this.#ongoing.values()) {
      if (first === null || offset < first) first = offset;
    }
    for (const txn of this.#unreplicated) {
      if (first === null || txn.firstOffset < first) first = txn.firstOffset;
    }
    return first;
  }

  /**
   * The last stable offset as of a transaction just completed, written into its aborted-index
   * entry: the first offset of the oldest transaction still ongoing, else the offset after the
   * marker (Kafka's `ProducerStateManager.lastStableOffset(CompletedTxn)`).
   */
  lastStableOffsetAfter(completed: CompletedTxn): number {
    let lso = completed.lastOffset + 1;
    for (const [pid, offset] of this.#ongoing) {
      if (pid !== completed.producerId && offset < lso) lso = offset;
    }
    return lso;
  }

  /** Ongoing transactions as (producer id, first offset), oldest first. */
  ongoingTransactions(): { producerId: number; firstOffset: number }[] {
    return [...this.#ongoing].map(([producerId, firstOffset]) => ({ producerId, firstOffset }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** The high watermark moved: completed transactions whose marker lies below it become stable. */
  onHighWatermarkUpdated(highWatermark: number): void {
    if (this.#unreplicated.length === 0) return;
    this.#unreplicated = this.#unreplicated.filter((t) => t.lastOffset >= highWatermark);
  }

  #newEntry(producerId: number, epoch: number): ProducerEntry {
    return {
      producerId,
      epoch,
      batches: [],
      lastTimestampMs: -1,
      currentTxnFirstOffset: -1,
      coordinatorEpoch: -1,
    };
  }

  /** Records a batch appended at `firstOffset` (its last offset is firstOffset + lastOffsetDelta). */
  record(batch: ProducerBatch, firstOffset: number, nowMs: number): void {
    if (batch.producerId < 0) return;
    let entry = this.#producers.get(batch.producerId);
    if (entry === undefined) {
      entry = this.#newEntry(batch.producerId, batch.producerEpoch);
      this.#producers.set(batch.producerId, entry);
    } else if (batch.producerEpoch > entry.epoch) {
      // Kafka's ProducerStateEntry.addBatch: a new epoch forgets the batches, not the transaction.
      entry.epoch = batch.producerEpoch;
      entry.batches = [];
    }
    if (isTransactionalBatch(batch) && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset;
      this.#ongoing.set(batch.producerId, firstOffset);
    }
    entry.batches.push({
      firstSeq: batch.baseSequence,
      lastSeq: lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta),
      firstOffset,
      lastOffset: firstOffset + batch.lastOffsetDelta,
      timestampMs: batch.maxTimestamp,
    });
    if (entry.batches.length > BATCHES_RETAINED_PER_PRODUCER) entry.batches.shift();
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, batch.maxTimestamp, nowMs);
    this.#changes++;
  }

  /**
   * Replays a batch read back from the log (recovery): like {@link record}, but a batch of an
   * older epoch than the entry's is ignored instead of checked.
   */
  replay(batch: ProducerBatch, firstOffset: number): void {
    if (batch.producerId < 0) return;
    const entry = this.#producers.get(batch.producerId);
    if (entry !== undefined && batch.producerEpoch < entry.epoch) return;
    this.record(batch, firstOffset, batch.maxTimestamp);
  }

  /**
   * Forgets producers idle for `expirationMs` (`producer.id.expiration.ms`) without an ongoing
   * transaction; returns how many.
   */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [pid, entry] of this.#producers) {
      if (entry.currentTxnFirstOffset < 0 && nowMs - entry.lastTimestampMs >= expirationMs) {
        this.#producers.delete(pid);
        removed++;
      }
    }
    if (removed > 0) this.#changes++;
    return removed;
  }

  /** Forgets producers whose last batch lies below the log start offset (retention, DeleteRecords). */
  evictBelow(logStartOffset: number): void {
    for (const [pid, entry] of this.#producers) {
      const last = entry.batches.at(-1);
      if (last === undefined || last.lastOffset < logStartOffset) {
        // Kafka's truncateHead evicts the producer's ongoing transaction with it.
        this.#producers.delete(pid);
        this.#ongoing.delete(pid);
        this.#changes++;
      }
    }
    this.#unreplicated = this.#unreplicated.filter((t) => t.lastOffset >= logStartOffset);
  }

  /**
   * Forgets batches at or after `offset` (log truncation): a transaction that started there is
   * forgotten, one whose marker was there (not yet below the high watermark) is ongoing again;
   * producers left with neither batches nor a transaction are removed.
   */
  truncateFrom(offset: number): void {
    const reopened = this.#unreplicated.filter((t) => t.lastOffset >= offset);
    this.#unreplicated = this.#unreplicated.filter((t) => t.lastOffset < offset);
    for (const txn of reopened) {
      const entry = this.#producers.get(txn.producerId);
      if (entry !== undefined && txn.firstOffset < offset) {
        entry.currentTxnFirstOffset = txn.firstOffset;
        this.#ongoing.set(txn.producerId, txn.firstOffset);
      }
    }
    for (const [pid, entry] of this.#producers) {
      entry.batches = entry.batches.filter((b) => b.lastOffset < offset);
      if (entry.currentTxnFirstOffset >= offset) {
        entry.currentTxnFirstOffset = -1;
        this.#ongoing.delete(pid);
      }
      if (entry.batches.length === 0 && entry.currentTxnFirstOffset < 0) {
        this.#producers.delete(pid);
      }
    }
    this.#changes++;
  }

  /** The state as of `offset`. */
  snapshot(offset: number): ProducerSnapshot {
    return {
      version: 2,
      offset,
      producers: [...this.#producers.values()].map((e) => ({ ...e, batches: [...e.batches] })),
    };
  }

  /**
   * The state as Kafka's `.snapshot` stores it: one entry per remembered batch of each producer,
   * oldest first (one with last offset -1 for a producer without batches), each carrying the
   * producer's epochs and open transaction. Kafka writes one entry per producer and its reader
   * keeps the last entry of a producer id, so these files stay readable by Kafka's tools while a
   * restart here still answers retries of any of the last five batches.
   */
  snapshotEntries(): ProducerSnapshotEntry[] {
    const out: ProducerSnapshotEntry[] = [];
    for (const e of this.#producers.values()) {
      const common = {
        producerId: e.producerId,
        producerEpoch: e.epoch,
        timestampMs: e.lastTimestampMs,
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnFirstOffset: e.currentTxnFirstOffset,
      };
      if (e.batches.length === 0) {
        out.push({ ...common, lastSequence: -1, lastOffset: -1, offsetDelta: 0 });
      }
      for (const b of e.batches) {
        out.push({
          ...common,
          lastSequence: b.lastSeq,
          lastOffset: b.lastOffset,
          offsetDelta: b.lastOffset - b.firstOffset,
        });
      }
    }
    return out;
  }

  /** Replaces the state with the entries of a `.snapshot` (see {@link snapshotEntries}). */
  loadSnapshotEntries(entries: readonly ProducerSnapshotEntry[]): void {
    this.#producers.clear();
    this.#ongoing.clear();
    this.#unreplicated = [];
    for (const e of entries) {
      const entry = this.#producers.get(e.producerId) ??
        this.#newEntry(e.producerId, e.producerEpoch);
      this.#producers.set(e.producerId, entry);
      entry.epoch = e.producerEpoch;
      entry.lastTimestampMs = e.timestampMs;
      entry.coordinatorEpoch = e.coordinatorEpoch;
      entry.currentTxnFirstOffset = e.currentTxnFirstOffset;
      if (e.lastOffset >= 0) {
        entry.batches.push({
          firstSeq: firstSequenceOf(e.lastSequence, e.offsetDelta),
          lastSeq: e.lastSequence,
          firstOffset: e.lastOffset - e.offsetDelta,
          lastOffset: e.lastOffset,
          timestampMs: e.timestampMs,
        });
        if (entry.batches.length > BATCHES_RETAINED_PER_PRODUCER) entry.batches.shift();
      }
      if (e.currentTxnFirstOffset >= 0) this.#ongoing.set(e.producerId, e.currentTxnFirstOffset);
      else this.#ongoing.delete(e.producerId);
    }
    this.#changes++;
  }

  /** Replaces the state with a snapshot's (validated; throws RangeError on a malformed one). */
  load(snapshot: ProducerSnapshot): void {
    if ((snapshot.version !== 1 && snapshot.version !== 2) || !Array.isArray(snapshot.producers)) {
      throw new RangeError(`Cannot load producer snapshot: unknown version ${snapshot.version}.`);
    }
    this.#producers.clear();
    this.#ongoing.clear();
    this.#unreplicated = [];
    for (const e of snapshot.producers) {
      if (!Number.isSafeInteger(e.producerId) || !Array.isArray(e.batches)) {
        throw new RangeError("Cannot load producer snapshot: malformed producer entry.");
      }
      const txnFirst = snapshot.version === 2 ? e.currentTxnFirstOffset : -1;
      if (!Number.isSafeInteger(txnFirst)) {
        throw new RangeError("Cannot load producer snapshot: malformed transaction offset.");
      }
      this.#producers.set(e.producerId, {
        producerId: e.producerId,
        epoch: e.epoch,
        batches: e.batches.slice(-BATCHES_RETAINED_PER_PRODUCER),
        lastTimestampMs: e.lastTimestampMs,
        currentTxnFirstOffset: txnFirst,
        coordinatorEpoch: snapshot.version === 2 ? e.coordinatorEpoch : -1,
      });
      if (txnFirst >= 0) this.#ongoing.set(e.producerId, txnFirst);
    }
    this.#changes++;
  }
}
