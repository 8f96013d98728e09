/**
 * Header-level validation of record batches arriving at the log, without touching records:
 * whole batch present, magic 2, CRC32C, record count consistent with lastOffsetDelta, size within
 * `max.message.bytes`.
 *
 * @module
 */
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchSizeAt,
  CorruptBatchError,
  readBatchHeader,
  verifyBatchCrc,
} from "../../net/protocol/record_batch.ts";
import { LogError, LogErrorCode } from "./log_error.ts";

/** One validated batch inside an append buffer. */
export interface ValidatedBatch {
  pos: number;
  sizeBytes: number;
  header: BatchHeader;
}

/** Options of {@link validateBatches}. */
export interface ValidateOptions {
  maxMessageBytes: number;
  /** Leader appends need dense batches (recordCount = lastOffsetDelta + 1 >= 1). */
  leader: boolean;
  /** Followers may receive a partial batch at the end of a fetch; it is ignored. */
  allowPartialTail: boolean;
  /** False when the caller verified the CRCs already (default true). */
  checkCrc?: boolean;
}

function corrupt(message: string, cause?: unknown): LogError {
  return new LogError(LogErrorCode.CORRUPT_MESSAGE, message, { cause });
}

/**
 * Validates every batch in `buf`; throws {@link LogError} with CORRUPT_MESSAGE (2) or
 * MESSAGE_TOO_LARGE (10) at the first bad one.
 *
 * @example
 * ```ts
 * import { validateBatches } from "./batch_validation.ts";
 * const batches = validateBatches(new Uint8Array(0), {
 *   maxMessageBytes: 1048588, leader: true, allowPartialTail: false,
 * }); // []
 * ```
 */
export function validateBatches(buf: Uint8Array, options: ValidateOptions): ValidatedBatch[] {
  const batches: ValidatedBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let sizeBytes: number | null;
    try {
      sizeBytes = batchSizeAt(buf, pos);
    } catch (error) {
      throw corrupt(`Batch at byte ${pos} is corrupt: ${(error as Error).message}`, error);
    }
    if (sizeBytes === null || pos + sizeBytes > buf.length) {
      if (options.allowPartialTail) break;
      throw corrupt(`Batch at byte ${pos} is truncated: ${buf.length - pos} bytes remain.`);
    }
    if (sizeBytes > options.maxMessageBytes) {
      throw new LogError(
        LogErrorCode.MESSAGE_TOO_LARGE,
        `Batch at byte ${pos} has ${sizeBytes} bytes, above max.message.bytes ${options.maxMessageBytes}.`,
      );
    }
    if (sizeBytes < BATCH_HEADER_BYTES) {
      throw corrupt(`Batch at byte ${pos} has ${sizeBytes} bytes, less than a v2 header.`);
    }
    const header = readHeader(buf, pos);
    if (options.checkCrc !== false && !verifyBatchCrc(buf, pos)) {
      throw corrupt(`Batch at byte ${pos} fails its CRC32C check.`);
    }
    checkCounts(header, pos, options.leader);
    batches.push({ pos, sizeBytes, header });
    pos += sizeBytes;
  }
  return batches;
}

function readHeader(buf: Uint8Array, pos: number): BatchHeader {
  try {
    return readBatchHeader(buf, pos);
  } catch (error) {
    if (error instanceof CorruptBatchError) {
      throw corrupt(`Batch at byte ${pos} is corrupt: ${error.message}`, error);
    }
    throw error;
  }
}

function checkCounts(header: BatchHeader, pos: number, leader: boolean): void {
  const { recordCount, lastOffsetDelta } = header;
  const ok = leader
    ? recordCount >= 1 && recordCount === lastOffsetDelta + 1
    : recordCount >= 0 && lastOffsetDelta >= 0 && recordCount <= lastOffsetDelta + 1;
  if (!ok) {
    throw corrupt(
      `Batch at byte ${pos} has ${recordCount} records but lastOffsetDelta ${lastOffsetDelta}.`,
    );
  }
}
