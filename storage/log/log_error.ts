/**
 * The typed failure of the partition log: bad input or an impossible request, carrying the Kafka
 * error code a handler answers with. Broken invariants are assertions, not LogErrors.
 *
 * @module
 */
import { KafkaError } from "../../net/protocol/errors.ts";

/** Kafka error codes the log raises (values from Kafka's `Errors`). */
export const LogErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
} as const;

/**
 * A log operation refused with a Kafka error code.
 *
 * @example
 * ```ts
 * import { LogError, LogErrorCode } from "./log_error.ts";
 * const error = new LogError(LogErrorCode.OFFSET_OUT_OF_RANGE, "Offset 7 is beyond the log end 5.");
 * console.log(error.code); // 1
 * ```
 */
export class LogError extends KafkaError {
  override name = "LogError";
}
