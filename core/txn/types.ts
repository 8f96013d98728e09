/**
 * Types of the transaction coordinator: states with Kafka's `TransactionState` ids (the status
 * byte of `TransactionLogValue`), the records it persists, its inputs, responses and effects.
 *
 * @module
 */

/**
 * Kafka's transaction states with the ids written in `__transaction_state`
 * (`TransactionState.id` in Kafka 3.9). PrepareEpochFence and Dead are never written as values:
 * the first is the in-memory state while an epoch bump and abort are being persisted, the second a
 * tombstone.
 *
 * @example
 * ```ts
 * import { TxnState } from "./types.ts";
 * TxnState.PrepareCommit; // 2
 * ```
 */
export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;

/** A state name, as Kafka prints it (ListTransactions / DescribeTransactions use these names). */
export type TxnStateName = keyof typeof TxnState;

/** The state name of a status byte, or undefined for an unknown one. */
export function txnStateName(id: number): TxnStateName | undefined {
  for (const [name, value] of Object.entries(TxnState)) {
    if (value === id) return name as TxnStateName;
  }
  return undefined;
}

/** Producer epochs are int16; Kafka bumps to a new producer id from 32766 on (KIP-360). */
export const PRODUCER_EPOCH_MAX = 32767;
/** No producer id / epoch (RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH). */
export const NO_PRODUCER_ID = -1n;
/** See {@link NO_PRODUCER_ID}. */
export const NO_PRODUCER_EPOCH = -1;

/** True when `epoch` may not be bumped by a regular InitProducerId (Kafka's isEpochExhausted). */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= PRODUCER_EPOCH_MAX - 1;
}

/** Partitions of one topic. */
export interface TxnTopicPartitions {
  topic: string;
  partitions: number[];
}

/** One `__transaction_state` value (TransactionLogValue), with the state by name. */
export interface TxnLogValue {
  producerId: bigint;
  producerEpoch: number;
  transactionTimeoutMs: number;
  state: TxnStateName;
  /** The partitions of the ongoing transaction, sorted by topic then partition. */
  partitions: TxnTopicPartitions[];
  lastUpdateTimestampMs: number;
  /** -1 when no transaction has started. */
  startTimestampMs: number;
}

/** One `__transaction_state` record: a value, or a tombstone (`null`) for an expired id. */
export interface TxnLogRecord {
  transactionalId: string;
  value: TxnLogValue | null;
}

/** Broker settings the coordinator reads, with Kafka's names and defaults. */
export interface TxnCoordinatorConfig {
  /** transaction.max.timeout.ms */
  transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  transactionalIdExpirationMs: number;
  /** Backoff before a failed CompleteCommit/CompleteAbort write is tried again. */
  completeRetryBackoffMs: number;
}

/** Kafka's defaults for {@link TxnCoordinatorConfig}. */
export const TXN_COORDINATOR_DEFAULTS: TxnCoordinatorConfig = {
  transactionMaxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 604_800_000,
  completeRetryBackoffMs: 500,
};

/** InitProducerId with a transactional id. */
export interface InitProducerIdInput {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** The client's current producer id (v3+, KIP-360), else -1. */
  producerId: bigint;
  /** The client's current epoch (v3+, KIP-360), else -1. */
  producerEpoch: number;
  /**
   * A fresh producer id, required when {@link TransactionCoordinator.needsProducerId} said so
   * (the node takes it from the controller's block; the core cannot do I/O).
   */
  newProducerId: bigint | null;
}

/** AddPartitionsToTxn (and AddOffsetsToTxn, with the group's `__consumer_offsets` partition). */
export interface AddPartitionsInput {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  partitions: TxnTopicPartitions[];
}

/** EndTxn. */
export interface EndTxnInput {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  committed: boolean;
}

/** What a client is answered: the producer fields matter for InitProducerId only. */
export interface TxnResponse {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

/** WriteTxnMarkers to send for one transaction; the node adds the coordinator epoch. */
export interface MarkerRequest {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  committed: boolean;
  partitions: TxnTopicPartitions[];
}

/**
 * What the coordinator asks of the node: persist a record (report back with `appendComplete`),
 * answer a parked request, or send markers (report back with `markersWritten`).
 */
export type TxnEffect<H> =
  | { type: "append"; appendId: number; record: TxnLogRecord }
  | { type: "respond"; handle: H; response: TxnResponse }
  | { type: "sendMarkers"; markers: MarkerRequest };

/** A transaction as DescribeTransactions and ListTransactions show it. */
export interface TxnView {
  transactionalId: string;
  state: TxnStateName;
  producerId: bigint;
  producerEpoch: number;
  transactionTimeoutMs: number;
  /** -1 when no transaction has started. */
  startTimestampMs: number;
  partitions: TxnTopicPartitions[];
}
