/**
 * What the transaction handlers (FindCoordinator with key type TRANSACTION, InitProducerId with a
 * transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn) need from the broker's
 * transaction coordination, already routed to the `__transaction_state` partition that owns the
 * transactional id. Routing failures come back as error codes (NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE), never as exceptions.
 * `node/txn_manager.ts` implements it.
 *
 * @module
 */

import type { TxnResponse, TxnView } from "../../core/txn/types.ts";
import type { CoordinatorLocation } from "./group_service.ts";

/** One topic's partitions of an AddPartitionsToTxn request or result. */
export interface TxnPartitions {
  topic: string;
  partitions: number[];
}

/** Per-partition error codes of AddPartitionsToTxn. */
export interface TxnPartitionErrors {
  topic: string;
  partitions: { partition: number; errorCode: number }[];
}

/**
 * The broker side of transaction coordination, as the request handlers see it.
 *
 * @example
 * ```ts ignore
 * const { errorCode } = await service.endTxn({ transactionalId: "app", producerId: 7n,
 *   producerEpoch: 0, committed: true });
 * ```
 */
export interface TransactionService {
  /** Finds the coordinator of a transactional id for a request that arrived on `listenerName`. */
  findTransactionCoordinator(transactionalId: string, listenerName: string): CoordinatorLocation;
  initProducerId(input: {
    transactionalId: string;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<TxnResponse>;
  addPartitions(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    topics: TxnPartitions[];
  }): Promise<TxnPartitionErrors[]>;
  /** AddPartitionsToTxn v4+ `verifyOnly`: which partitions are in the ongoing transaction. */
  verifyPartitions(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    topics: TxnPartitions[];
  }): TxnPartitionErrors[];
  addOffsets(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    groupId: string;
  }): Promise<number>;
  /** DescribeTransactions of one id: its transaction, or why there is none. */
  describeTransaction(transactionalId: string): { errorCode: number; view: TxnView | null };
  /**
   * ListTransactions over the partitions this broker leads; COORDINATOR_LOAD_IN_PROGRESS while
   * one is loading. Empty filters match everything; `durationFilterMs` >= 0 keeps transactions
   * started at least that long ago.
   */
  listTransactions(filters: {
    states: string[];
    producerIds: bigint[];
    durationFilterMs: number;
  }): { errorCode: number; unknownStates: string[]; views: TxnView[] };
  endTxn(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    committed: boolean;
  }): Promise<number>;
}
