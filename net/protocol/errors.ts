/**
 * Typed failures of the protocol layer.
 *
 * - {@link DecodeError}: bytes from the wire could not be decoded (truncated, hostile length, bad
 *   varint). Connection handlers answer with CORRUPT_MESSAGE / INVALID_REQUEST or close.
 * - {@link EncodeError}: a message cannot be written at the chosen version (a non-default value of
 *   a non-ignorable field, a null in a non-nullable field, an out-of-range integer).
 * - {@link KafkaError}: a failure that carries a Kafka error code (codes are generated in
 *   `net/protocol/generated/errors.ts`).
 *
 * @module
 */

/**
 * Thrown by `Reader` when the bytes do not decode.
 *
 * @example
 * ```ts
 * import { DecodeError } from "./errors.ts";
 * const err = new DecodeError("Cannot decode int32 at offset 12: 2 bytes remain");
 * console.log(err.message);
 * ```
 */
export class DecodeError extends Error {
  override name = "DecodeError";
}

/**
 * Thrown by `Writer` and generated `writeX` functions when a value cannot be encoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EncodeError } from "./errors.ts";
 * const err = new EncodeError("Cannot encode int16: 70000 is out of range");
 * assert.equal(err.name, "EncodeError");
 * ```
 */
export class EncodeError extends Error {
  override name = "EncodeError";
}

/**
 * A bad request or bad input, carrying the Kafka error code to answer with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KafkaError } from "./errors.ts";
 * import { ErrorCode } from "./generated/errors.ts";
 * const err = new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "Topic foo does not exist.");
 * assert.equal(err.code, 3); // UNKNOWN_TOPIC_OR_PARTITION
 * ```
 */
export class KafkaError extends Error {
  override name = "KafkaError";
  /** The Kafka error code (see `ErrorCode` in `generated/errors.ts`). */
  readonly code: number;

  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
