/**
 * The Kafka error codes the transaction coordinator returns, with the numbers from `errors.tsv`.
 * `core/` does not import the generated codecs, so the codes used here are pinned locally;
 * `error_codes_test.ts` checks them against the shared spec.
 *
 * @example
 * ```ts
 * import { TxnErrorCode } from "./error_codes.ts";
 * const retry = TxnErrorCode.CONCURRENT_TRANSACTIONS; // 51
 * ```
 */
export const TxnErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUEST: 42,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  KAFKA_STORAGE_ERROR: 56,
  PRODUCER_FENCED: 90,
  TRANSACTION_ABORTABLE: 120,
} as const;

/**
 * What a client is told when a `__transaction_state` append failed, as Kafka's
 * `TransactionStateManager.appendTransactionToLog` maps it: replication trouble is
 * COORDINATOR_NOT_AVAILABLE (retry here), lost leadership NOT_COORDINATOR (look the coordinator up
 * again), anything else UNKNOWN_SERVER_ERROR.
 *
 * @example
 * ```ts
 * import { appendErrorToTxnError, TxnErrorCode } from "./error_codes.ts";
 * appendErrorToTxnError(TxnErrorCode.NOT_ENOUGH_REPLICAS); // COORDINATOR_NOT_AVAILABLE
 * ```
 */
export function appendErrorToTxnError(errorCode: number): number {
  const E = TxnErrorCode;
  switch (errorCode) {
    case E.NONE:
      return E.NONE;
    case E.UNKNOWN_TOPIC_OR_PARTITION:
    case E.NOT_ENOUGH_REPLICAS:
    case E.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case E.REQUEST_TIMED_OUT:
    case E.COORDINATOR_NOT_AVAILABLE:
      return E.COORDINATOR_NOT_AVAILABLE;
    case E.NOT_LEADER_OR_FOLLOWER:
    case E.KAFKA_STORAGE_ERROR:
    case E.NOT_COORDINATOR:
      return E.NOT_COORDINATOR;
    default:
      return E.UNKNOWN_SERVER_ERROR;
  }
}
