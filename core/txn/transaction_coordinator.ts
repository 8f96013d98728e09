/**
 * Kafka's transaction coordinator (TransactionCoordinator + TransactionMetadata, Kafka 3.9 with
 * transaction.version 1) for the transactional ids of one `__transaction_state` partition, as a
 * pure state machine: requests, `tick(nowMs)` and completions in, effects out.
 *
 * Every state change is first persisted (`append` effect) and applied only when the node reports
 * it durable (`appendComplete`); meanwhile the id has a pending transition and concurrent requests
 * get CONCURRENT_TRANSACTIONS, as in Kafka. EndTxn is answered once PrepareCommit/PrepareAbort is
 * durable; the markers are then sent (`sendMarkers`) and, once every partition took them
 * (`markersWritten`), CompleteCommit/CompleteAbort is written. A coordinator loaded from the log
 * resends the markers of every prepared transaction, so a failover between PrepareCommit and
 * CompleteCommit finishes the commit.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { appendErrorToTxnError, TxnErrorCode as E } from "./error_codes.ts";
import {
  type AddPartitionsInput,
  type EndTxnInput,
  type InitProducerIdInput,
  isEpochExhausted,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  PRODUCER_EPOCH_MAX,
  TXN_COORDINATOR_DEFAULTS,
  type TxnCoordinatorConfig,
  type TxnEffect,
  type TxnLogRecord,
  type TxnLogValue,
  type TxnStateName,
  type TxnTopicPartitions,
  type TxnView,
} from "./types.ts";

/** How to build a {@link TransactionCoordinator}. */
export interface TransactionCoordinatorOptions {
  /** Overrides of Kafka's defaults ({@link TXN_COORDINATOR_DEFAULTS}). */
  config?: Partial<TxnCoordinatorConfig>;
}

/** The durable part of a transactional id's metadata (what one record holds, plus the last ids). */
interface TxnData {
  producerId: bigint;
  /** The producer id before the last rotation (KIP-360 retries), not persisted in v0 records. */
  lastProducerId: bigint;
  producerEpoch: number;
  /** The epoch before the last bump (KIP-360 retries), not persisted in v0 records. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStateName;
  /** "topic" -> partitions. */
  partitions: Map<string, Set<number>>;
  startMs: number;
  lastUpdateMs: number;
}

/** What happens once a pending transition is durable (or failed). */
type Then<H> =
  | { kind: "init"; handle: H }
  | { kind: "add"; handle: H }
  | { kind: "end"; handle: H }
  | { kind: "fence"; handle: H | null }
  | { kind: "complete" }
  | { kind: "expire" };

interface Transit<H> {
  appendId: number;
  /** The data once durable; `null` for a tombstone (the id expires). */
  target: TxnData | null;
  then: Then<H>;
  /** The state DescribeTransactions shows meanwhile. */
  shownAs: TxnStateName;
}

interface Txn<H> {
  readonly transactionalId: string;
  data: TxnData;
  pending: Transit<H> | null;
  /** Set when every marker was written but the Complete record failed: retried then. */
  completeRetryAtMs: number | null;
}

function respond<H>(handle: H, errorCode: number, producerId = -1n, producerEpoch = -1) {
  return { type: "respond" as const, handle, response: { errorCode, producerId, producerEpoch } };
}

function copyPartitions(partitions: Map<string, Set<number>>): Map<string, Set<number>> {
  return new Map([...partitions].map(([t, ps]) => [t, new Set(ps)]));
}

function partitionList(partitions: Map<string, Set<number>>): TxnTopicPartitions[] {
  return [...partitions.keys()].sort().map((topic) => ({
    topic,
    partitions: [...partitions.get(topic)!].sort((a, b) => a - b),
  }));
}

function isCompleteOrEmpty(state: TxnStateName): boolean {
  return state === "Empty" || state === "CompleteCommit" || state === "CompleteAbort";
}

/**
 * The transaction coordinator of one `__transaction_state` partition.
 *
 * @example
 * ```ts
 * import { TransactionCoordinator } from "./transaction_coordinator.ts";
 * const coordinator = new TransactionCoordinator<string>();
 * const effects = coordinator.initProducerId("request-1", {
 *   transactionalId: "app-1",
 *   transactionTimeoutMs: 60_000,
 *   producerId: -1n,
 *   producerEpoch: -1,
 *   newProducerId: 1000n,
 * }, 0);
 * // effects[0] is the append of the Empty state with epoch 0; report it durable:
 * coordinator.appendComplete(1, 1, 0); // answers request-1 with producer id 1000, epoch 0
 * ```
 */
export class TransactionCoordinator<H> {
  readonly #config: TxnCoordinatorConfig;
  readonly #txns = new Map<string, Txn<H>>();
  readonly #byAppendId = new Map<number, Txn<H>>();
  #nextAppendId = 1;

  constructor(options: TransactionCoordinatorOptions = {}) {
    this.#config = { ...TXN_COORDINATOR_DEFAULTS, ...options.config };
  }

  // ---------------------------------------------------------------- loading

  /**
   * Replays `__transaction_state` records (the last one per id wins, a tombstone removes it) and
   * returns the markers to resend for transactions that were prepared but not completed.
   */
  load(records: Iterable<TxnLogRecord>, _nowMs: number): TxnEffect<H>[] {
    for (const record of records) {
      if (record.value === null) {
        this.#txns.delete(record.transactionalId);
        continue;
      }
      const v = record.value;
      this.#txns.set(record.transactionalId, {
        transactionalId: record.transactionalId,
        data: {
          producerId: v.producerId,
          lastProducerId: NO_PRODUCER_ID,
          producerEpoch: v.producerEpoch,
          lastProducerEpoch: NO_PRODUCER_EPOCH,
          timeoutMs: v.transactionTimeoutMs,
          state: v.state,
          partitions: new Map(v.partitions.map((t) => [t.topic, new Set(t.partitions)])),
          startMs: v.startTimestampMs,
          lastUpdateMs: v.lastUpdateTimestampMs,
        },
        pending: null,
        completeRetryAtMs: null,
      });
    }
    const effects: TxnEffect<H>[] = [];
    for (const txn of this.#txns.values()) {
      if (txn.data.state === "PrepareCommit" || txn.data.state === "PrepareAbort") {
        effects.push(this.#markers(txn));
      }
    }
    return effects;
  }

  /** Answers every parked request NOT_COORDINATOR (the partition moved away). */
  unload(): TxnEffect<H>[] {
    const effects: TxnEffect<H>[] = [];
    for (const txn of this.#txns.values()) {
      const then = txn.pending?.then;
      if (then !== undefined && "handle" in then && then.handle !== null) {
        effects.push(respond(then.handle, E.NOT_COORDINATOR));
      }
      txn.pending = null;
    }
    this.#txns.clear();
    this.#byAppendId.clear();
    return effects;
  }

  // ---------------------------------------------------------------- InitProducerId

  /**
   * True when InitProducerId for `transactionalId` will need a fresh producer id: the id is new
   * or its epoch is exhausted. The node allocates one before calling {@link initProducerId}.
   */
  needsProducerId(transactionalId: string): boolean {
    const txn = this.#txns.get(transactionalId);
    if (txn === undefined) return true;
    return isEpochExhausted(txn.data.producerEpoch) && isCompleteOrEmpty(txn.data.state);
  }

  /** Handles InitProducerId with a transactional id (TransactionCoordinator.handleInitProducerId). */
  initProducerId(handle: H, input: InitProducerIdInput, nowMs: number): TxnEffect<H>[] {
    const timeoutMs = input.transactionTimeoutMs;
    if (timeoutMs <= 0 || timeoutMs > this.#config.transactionMaxTimeoutMs) {
      return [respond(handle, E.INVALID_TRANSACTION_TIMEOUT)];
    }
    let txn = this.#txns.get(input.transactionalId);
    if (txn === undefined) {
      // A new id gets its producer id now and epoch -1, bumped to 0 by the first transition.
      if (input.newProducerId === null) return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
      txn = {
        transactionalId: input.transactionalId,
        data: {
          producerId: input.newProducerId,
          lastProducerId: NO_PRODUCER_ID,
          producerEpoch: NO_PRODUCER_EPOCH,
          lastProducerEpoch: NO_PRODUCER_EPOCH,
          timeoutMs,
          state: "Empty",
          partitions: new Map(),
          startMs: -1,
          lastUpdateMs: nowMs,
        },
        pending: null,
        completeRetryAtMs: null,
      };
      this.#txns.set(input.transactionalId, txn);
    }
    const expected = input.producerId === NO_PRODUCER_ID
      ? null
      : { producerId: input.producerId, producerEpoch: input.producerEpoch };
    if (txn.pending !== null) return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
    const d = txn.data;
    if (expected !== null && !this.#isValidProducerId(d, expected)) {
      return [respond(handle, E.PRODUCER_FENCED)];
    }
    switch (d.state) {
      case "PrepareCommit":
      case "PrepareAbort":
        return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
      case "Ongoing":
        // A new instance: fence the old one by bumping the epoch and abort its transaction; the
        // client retries (CONCURRENT_TRANSACTIONS) and gets the epoch after the abort.
        return this.#fence(txn, handle, nowMs);
      case "Empty":
      case "CompleteCommit":
      case "CompleteAbort":
        break;
      default:
        return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
    }
    let target: TxnData;
    if (isEpochExhausted(d.producerEpoch)) {
      // KIP-360: a new producer id with epoch 0; the old id is kept so a retry is recognized.
      if (input.newProducerId === null) return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
      target = {
        ...d,
        producerId: input.newProducerId,
        lastProducerId: d.producerId,
        producerEpoch: 0,
        lastProducerEpoch: expected !== null ? d.producerEpoch : NO_PRODUCER_EPOCH,
      };
    } else {
      const bumped = this.#bumpedEpoch(d, expected?.producerEpoch ?? null);
      if (bumped === null) return [respond(handle, E.PRODUCER_FENCED)];
      target = { ...d, ...bumped };
    }
    target = {
      ...target,
      timeoutMs,
      state: "Empty",
      partitions: new Map(),
      startMs: -1,
      lastUpdateMs: nowMs,
    };
    return [this.#begin(txn, target, { kind: "init", handle }, "Empty")];
  }

  /**
   * Kafka's `isValidProducerId`: a client naming its producer id and epoch (KIP-360) is fenced
   * unless the id is new (epoch -1), the producer id is the current one, or it is the previous one
   * with an exhausted epoch (a retry after a rotation whose answer was lost).
   */
  #isValidProducerId(d: TxnData, expected: { producerId: bigint; producerEpoch: number }) {
    return d.producerEpoch === NO_PRODUCER_EPOCH || expected.producerId === d.producerId ||
      (expected.producerId === d.lastProducerId && isEpochExhausted(expected.producerEpoch));
  }

  /** Kafka's `prepareIncrementProducerEpoch`: null when the expected epoch fences the client. */
  #bumpedEpoch(
    d: TxnData,
    expectedEpoch: number | null,
  ): { producerEpoch: number; lastProducerEpoch: number } | null {
    const bumped = d.producerEpoch + 1;
    if (expectedEpoch === null) return { producerEpoch: bumped, lastProducerEpoch: -1 };
    if (d.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === d.producerEpoch) {
      return { producerEpoch: bumped, lastProducerEpoch: d.producerEpoch };
    }
    // A retry of a bump whose answer was lost: the same epoch again.
    if (expectedEpoch === d.lastProducerEpoch) {
      return { producerEpoch: d.producerEpoch, lastProducerEpoch: d.lastProducerEpoch };
    }
    return null;
  }

  /** PrepareEpochFence: persist PrepareAbort with the epoch bumped, then abort (markers). */
  #fence(txn: Txn<H>, handle: H | null, nowMs: number): TxnEffect<H>[] {
    const d = txn.data;
    assert(d.state === "Ongoing", `Only an ongoing transaction is fenced, not ${d.state}.`);
    if (d.producerEpoch >= PRODUCER_EPOCH_MAX) {
      // Unreachable through the protocol (InitProducerId rotates ids before this), but never
      // overflow an int16.
      return handle === null ? [] : [respond(handle, E.INVALID_PRODUCER_EPOCH)];
    }
    const target: TxnData = {
      ...d,
      partitions: copyPartitions(d.partitions),
      producerEpoch: d.producerEpoch + 1,
      lastProducerEpoch: d.producerEpoch,
      state: "PrepareAbort",
      lastUpdateMs: nowMs,
    };
    return [this.#begin(txn, target, { kind: "fence", handle }, "PrepareEpochFence")];
  }

  // ---------------------------------------------------------------- AddPartitions / EndTxn

  /** Handles AddPartitionsToTxn (v0-v3) and AddOffsetsToTxn: one error code for all partitions. */
  addPartitions(handle: H, input: AddPartitionsInput, nowMs: number): TxnEffect<H>[] {
    const txn = this.#txns.get(input.transactionalId);
    const error = this.#checkProducer(txn, input);
    if (error !== E.NONE) return [respond(handle, error)];
    const d = txn!.data;
    if (txn!.pending !== null) return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
    if (d.state === "PrepareCommit" || d.state === "PrepareAbort") {
      return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
    }
    const partitions = copyPartitions(d.partitions);
    let added = false;
    for (const t of input.partitions) {
      let set = partitions.get(t.topic);
      if (set === undefined) partitions.set(t.topic, set = new Set());
      for (const p of t.partitions) {
        if (!set.has(p)) added = true;
        set.add(p);
      }
    }
    if (d.state === "Ongoing" && !added) return [respond(handle, E.NONE)];
    const target: TxnData = {
      ...d,
      partitions,
      state: "Ongoing",
      startMs: d.state === "Ongoing" ? d.startMs : nowMs,
      lastUpdateMs: nowMs,
    };
    return [this.#begin(txn!, target, { kind: "add", handle }, "Ongoing")];
  }

  /**
   * AddPartitionsToTxn v4+ with `verifyOnly` (KIP-890 part 1, asked by partition leaders): which of
   * the partitions are in the producer's ongoing transaction (NONE) and which not
   * (TRANSACTION_ABORTABLE). Changes nothing; a pending transition is not waited for, as in Kafka.
   */
  verifyPartitions(
    input: AddPartitionsInput,
  ): { topic: string; partition: number; errorCode: number }[] {
    const txn = this.#txns.get(input.transactionalId);
    let error = this.#checkProducer(txn, input);
    const d = txn?.data;
    if (error === E.NONE && (d!.state === "PrepareCommit" || d!.state === "PrepareAbort")) {
      error = E.CONCURRENT_TRANSACTIONS;
    }
    return input.partitions.flatMap((t) =>
      t.partitions.map((partition) => ({
        topic: t.topic,
        partition,
        errorCode: error !== E.NONE
          ? error
          : d!.partitions.get(t.topic)?.has(partition)
          ? E.NONE
          : E.TRANSACTION_ABORTABLE,
      }))
    );
  }

  /** Handles EndTxn (TransactionCoordinator.handleEndTransaction from a client). */
  endTxn(handle: H, input: EndTxnInput, nowMs: number): TxnEffect<H>[] {
    const txn = this.#txns.get(input.transactionalId);
    const error = this.#checkProducer(txn, input);
    if (error !== E.NONE) return [respond(handle, error)];
    if (txn!.pending !== null) return [respond(handle, E.CONCURRENT_TRANSACTIONS)];
    const d = txn!.data;
    const commit = input.committed;
    switch (d.state) {
      case "Ongoing": {
        const target: TxnData = {
          ...d,
          partitions: copyPartitions(d.partitions),
          state: commit ? "PrepareCommit" : "PrepareAbort",
          lastUpdateMs: nowMs,
        };
        return [this.#begin(txn!, target, { kind: "end", handle }, target.state)];
      }
      // A retry of an EndTxn that already completed is answered as if it had just succeeded.
      case "CompleteCommit":
        return [respond(handle, commit ? E.NONE : E.INVALID_TXN_STATE)];
      case "CompleteAbort":
        return [respond(handle, commit ? E.INVALID_TXN_STATE : E.NONE)];
      case "PrepareCommit":
        return [respond(handle, commit ? E.CONCURRENT_TRANSACTIONS : E.INVALID_TXN_STATE)];
      case "PrepareAbort":
        return [respond(handle, commit ? E.INVALID_TXN_STATE : E.CONCURRENT_TRANSACTIONS)];
      default:
        return [respond(handle, E.INVALID_TXN_STATE)];
    }
  }

  #checkProducer(
    txn: Txn<H> | undefined,
    input: { producerId: bigint; producerEpoch: number },
  ): number {
    if (txn === undefined || txn.data.state === "Dead") return E.INVALID_PRODUCER_ID_MAPPING;
    if (txn.data.producerId !== input.producerId) return E.INVALID_PRODUCER_ID_MAPPING;
    if (txn.data.producerEpoch !== input.producerEpoch) return E.PRODUCER_FENCED;
    return E.NONE;
  }

  // ---------------------------------------------------------------- completions

  /** Reports the append `appendId` durable (`errorCode` 0) or failed. */
  appendComplete(appendId: number, nowMs: number, errorCode: number): TxnEffect<H>[] {
    const txn = this.#byAppendId.get(appendId);
    // Unloaded meanwhile: whatever waited was answered NOT_COORDINATOR.
    if (txn === undefined) return [];
    this.#byAppendId.delete(appendId);
    const transit = txn.pending;
    assert(transit !== null && transit.appendId === appendId, `Append ${appendId} is not pending.`);
    txn.pending = null;
    const then = transit.then;
    if (errorCode !== E.NONE) {
      const clientError = appendErrorToTxnError(errorCode);
      if (then.kind === "complete") {
        txn.completeRetryAtMs = nowMs + this.#config.completeRetryBackoffMs;
        return [];
      }
      if (then.kind === "expire") return [];
      return then.handle === null ? [] : [respond(then.handle, clientError)];
    }
    if (transit.target === null) {
      this.#txns.delete(txn.transactionalId);
      return [];
    }
    txn.data = transit.target;
    const d = txn.data;
    switch (then.kind) {
      case "init":
        return [respond(then.handle, E.NONE, d.producerId, d.producerEpoch)];
      case "add":
        return [respond(then.handle, E.NONE)];
      case "end":
        return [respond(then.handle, E.NONE), this.#markers(txn)];
      case "fence": {
        const effects: TxnEffect<H>[] = [this.#markers(txn)];
        if (then.handle !== null) effects.push(respond(then.handle, E.CONCURRENT_TRANSACTIONS));
        return effects;
      }
      case "complete":
      case "expire":
        return [];
    }
  }

  /**
   * Reports that every partition of the prepared transaction of `transactionalId` with this
   * producer id and epoch has its marker: CompleteCommit/CompleteAbort is written next.
   */
  markersWritten(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    nowMs: number,
  ): TxnEffect<H>[] {
    const txn = this.#txns.get(transactionalId);
    if (txn === undefined || txn.pending !== null) return [];
    const d = txn.data;
    if (d.producerId !== producerId || d.producerEpoch !== producerEpoch) return [];
    if (d.state !== "PrepareCommit" && d.state !== "PrepareAbort") return [];
    return [this.#complete(txn, nowMs)];
  }

  #complete(txn: Txn<H>, nowMs: number): TxnEffect<H> {
    const d = txn.data;
    txn.completeRetryAtMs = null;
    const target: TxnData = {
      ...d,
      state: d.state === "PrepareCommit" ? "CompleteCommit" : "CompleteAbort",
      partitions: new Map(),
      lastUpdateMs: nowMs,
    };
    return this.#begin(txn, target, { kind: "complete" }, d.state);
  }

  #markers(txn: Txn<H>): TxnEffect<H> {
    const d = txn.data;
    return {
      type: "sendMarkers",
      markers: {
        transactionalId: txn.transactionalId,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        committed: d.state === "PrepareCommit",
        partitions: partitionList(d.partitions),
      },
    };
  }

  #begin(txn: Txn<H>, target: TxnData | null, then: Then<H>, shownAs: TxnStateName): TxnEffect<H> {
    assert(txn.pending === null, `${txn.transactionalId} already has a pending transition.`);
    const appendId = this.#nextAppendId++;
    txn.pending = { appendId, target, then, shownAs };
    this.#byAppendId.set(appendId, txn);
    return {
      type: "append",
      appendId,
      record: {
        transactionalId: txn.transactionalId,
        value: target === null ? null : toLogValue(target),
      },
    };
  }

  // ---------------------------------------------------------------- time

  /**
   * Aborts transactions open longer than their timeout (fencing the producer with an epoch bump,
   * as Kafka's abortTimedOutTransactions), expires ids idle for `transactional.id.expiration.ms`
   * and retries failed Complete writes.
   */
  tick(nowMs: number): TxnEffect<H>[] {
    const effects: TxnEffect<H>[] = [];
    for (const txn of [...this.#txns.values()]) {
      if (txn.pending !== null) continue;
      const d = txn.data;
      if (d.state === "Ongoing" && d.startMs + d.timeoutMs < nowMs) {
        effects.push(...this.#fence(txn, null, nowMs));
      } else if (
        isCompleteOrEmpty(d.state) &&
        d.lastUpdateMs + this.#config.transactionalIdExpirationMs <= nowMs
      ) {
        effects.push(this.#begin(txn, null, { kind: "expire" }, "Dead"));
      } else if (txn.completeRetryAtMs !== null && txn.completeRetryAtMs <= nowMs) {
        effects.push(this.#complete(txn, nowMs));
      }
    }
    return effects;
  }

  /** The earliest time `tick` has something to do, or null. */
  nextDeadlineMs(): number | null {
    let earliest = Infinity;
    for (const txn of this.#txns.values()) {
      if (txn.pending !== null) continue;
      const d = txn.data;
      if (d.state === "Ongoing") earliest = Math.min(earliest, d.startMs + d.timeoutMs + 1);
      else if (isCompleteOrEmpty(d.state)) {
        earliest = Math.min(earliest, d.lastUpdateMs + this.#config.transactionalIdExpirationMs);
      }
      if (txn.completeRetryAtMs !== null) earliest = Math.min(earliest, txn.completeRetryAtMs);
    }
    return earliest === Infinity ? null : earliest;
  }

  // ---------------------------------------------------------------- views

  /** The transaction of `transactionalId`, or null when this coordinator has none. */
  describe(transactionalId: string): TxnView | null {
    const txn = this.#txns.get(transactionalId);
    if (txn === undefined) return null;
    const d = txn.data;
    return {
      transactionalId,
      state: txn.pending?.shownAs === "PrepareEpochFence" ? "PrepareEpochFence" : d.state,
      producerId: d.producerId,
      producerEpoch: d.producerEpoch,
      transactionTimeoutMs: d.timeoutMs,
      startTimestampMs: d.startMs,
      partitions: partitionList(d.partitions),
    };
  }

  /** Every transactional id this coordinator holds. */
  transactionalIds(): string[] {
    return [...this.#txns.keys()];
  }
}

function toLogValue(d: TxnData): TxnLogValue {
  return {
    producerId: d.producerId,
    producerEpoch: d.producerEpoch,
    transactionTimeoutMs: d.timeoutMs,
    state: d.state,
    partitions: partitionList(d.partitions),
    lastUpdateTimestampMs: d.lastUpdateMs,
    startTimestampMs: d.startMs,
  };
}
