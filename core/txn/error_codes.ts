import { ErrorCode } from "../../net/protocol/generated/errors.ts";

/**
 * The Kafka error codes the transaction coordinator returns. The numbers come from the one
 * generated table (`net/protocol/generated/errors.ts`, from Kafka's `errors.tsv`): the wire
 * protocol is the vocabulary every layer shares, `core/` included.
 *
 * @example
 * ```ts
 * import { TxnErrorCode } from "./error_codes.ts";
 * const retry = TxnErrorCode.CONCURRENT_TRANSACTIONS; // 51
 * ```
 */
export const TxnErrorCode = ErrorCode;

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
