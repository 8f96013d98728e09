/**
 * Kafka's transaction coordinator as a pure state machine: InitProducerId, AddPartitionsToTxn,
 * AddOffsetsToTxn, EndTxn and `tick(nowMs)` in; `append`, `respond` and `sendMarkers` effects out.
 *
 * @example
 * ```ts
 * import { TransactionCoordinator } from "./mod.ts";
 * const coordinator = new TransactionCoordinator<number>({
 *   config: { transactionMaxTimeoutMs: 900_000 },
 * });
 * coordinator.tick(1000); // nothing to abort or expire yet
 * ```
 */
export {
  TransactionCoordinator,
  type TransactionCoordinatorOptions,
} from "./transaction_coordinator.ts";
export { appendErrorToTxnError, TxnErrorCode } from "./error_codes.ts";
export * from "./types.ts";
