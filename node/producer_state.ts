/**
 * Per-partition idempotent producer state (Kafka's `ProducerStateManager` and `ProducerAppendInfo`
 * without transactions): for every producer id, its epoch and the sequence ranges and offsets of
 * its last five batches, enough to answer a retried batch with its original offsets and to reject
 * gaps and zombie epochs.
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
 *   accepted at any sequence: UNKNOWN_PRODUCER_ID is no longer returned.
 *
 * The state is pure and synchronous; `node/partition.ts` checks a batch before the append and
 * records it at the offsets the log assigns. It survives restarts through {@link ProducerSnapshot}
 * plus replay of the batch headers appended after the snapshot.
 *
 * @module
 */
import { ErrorCode } from "../net/protocol/generated/errors.ts";

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
}

/** The outcome of checking a batch. */
export type ProducerCheck =
  | { kind: "append" }
  | { kind: "duplicate"; firstOffset: number; lastOffset: number }
  | { kind: "error"; code: number; message: string };

/** The state as of `offset` (every batch below it is included), JSON-serializable. */
export interface ProducerSnapshot {
  version: 1;
  offset: number;
  producers: ProducerEntry[];
}

const INT32_MAX = 0x7fff_ffff;

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
  #changes = 0;

  /** Number of producers known. */
  get size(): number {
    return this.#producers.size;
  }

  /** Increases on every change; snapshot writers compare it to skip unchanged state. */
  get changeCount(): number {
    return this.#changes;
  }

  /** The entry of a producer, if known. */
  entry(producerId: number): ProducerEntry | undefined {
    return this.#producers.get(producerId);
  }

  /** Checks a batch from a client without changing anything. */
  check(batch: ProducerBatch): ProducerCheck {
    if (batch.producerId < 0) return { kind: "append" };
    const entry = this.#producers.get(batch.producerId);
    if (entry === undefined) return { kind: "append" };
    const lastSeq = lastSequenceOf(batch.baseSequence, batch.lastOffsetDelta);
    const pid = batch.producerId;
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
    if (last === undefined || inSequence(last.lastSeq, batch.baseSequence)) {
      return { kind: "append" };
    }
    return {
      kind: "error",
      code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message:
        `Producer ${pid} sent sequence ${batch.baseSequence} after ${last.lastSeq} in epoch ${entry.epoch}.`,
    };
  }

  /** Records a batch appended at `firstOffset` (its last offset is firstOffset + lastOffsetDelta). */
  record(batch: ProducerBatch, firstOffset: number, nowMs: number): void {
    if (batch.producerId < 0) return;
    let entry = this.#producers.get(batch.producerId);
    if (entry === undefined || batch.producerEpoch > entry.epoch) {
      entry = {
        producerId: batch.producerId,
        epoch: batch.producerEpoch,
        batches: [],
        lastTimestampMs: -1,
      };
      this.#producers.set(batch.producerId, entry);
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

  /** Forgets producers idle for `expirationMs` (`producer.id.expiration.ms`); returns how many. */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [pid, entry] of this.#producers) {
      if (nowMs - entry.lastTimestampMs >= expirationMs) {
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
        this.#producers.delete(pid);
        this.#changes++;
      }
    }
  }

  /** Forgets batches at or after `offset` (log truncation); producers left empty are removed. */
  truncateFrom(offset: number): void {
    for (const [pid, entry] of this.#producers) {
      entry.batches = entry.batches.filter((b) => b.lastOffset < offset);
      if (entry.batches.length === 0) this.#producers.delete(pid);
    }
    this.#changes++;
  }

  /** The state as of `offset`. */
  snapshot(offset: number): ProducerSnapshot {
    return {
      version: 1,
      offset,
      producers: [...this.#producers.values()].map((e) => ({ ...e, batches: [...e.batches] })),
    };
  }

  /** Replaces the state with a snapshot's (validated; throws RangeError on a malformed one). */
  load(snapshot: ProducerSnapshot): void {
    if (snapshot.version !== 1 || !Array.isArray(snapshot.producers)) {
      throw new RangeError(`Cannot load producer snapshot: unknown version ${snapshot.version}.`);
    }
    this.#producers.clear();
    for (const e of snapshot.producers) {
      if (!Number.isSafeInteger(e.producerId) || !Array.isArray(e.batches)) {
        throw new RangeError("Cannot load producer snapshot: malformed producer entry.");
      }
      this.#producers.set(e.producerId, {
        producerId: e.producerId,
        epoch: e.epoch,
        batches: e.batches.slice(-BATCHES_RETAINED_PER_PRODUCER),
        lastTimestampMs: e.lastTimestampMs,
      });
    }
    this.#changes++;
  }
}
