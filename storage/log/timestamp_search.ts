/**
 * ListOffsets by timestamp inside one batch: the first record whose timestamp >= the target, as
 * Kafka's `LogSegment.findOffsetByTimestamp` returns. Only the one batch the index search found
 * is decoded.
 *
 * @module
 */
import { timestampType } from "../../net/protocol/record_batch.ts";
import { decodeBatch } from "../../net/protocol/records.ts";
import type { TimestampAndOffset } from "./partition_log.ts";

/**
 * The first record of `batchBytes` with timestamp >= `timestampMs` and offset >= `minOffset`;
 * falls back to the batch's base offset and max timestamp when the batch cannot be decoded.
 *
 * @example
 * ```ts
 * import { exactOffsetForTimestamp } from "./timestamp_search.ts";
 * import { encodeBatch } from "../../net/protocol/records.ts";
 * const batch = encodeBatch({ baseOffset: 10, baseTimestamp: 100, records: [
 *   { offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [] },
 *   { offsetDelta: 1, timestampDelta: 50, key: null, value: null, headers: [] },
 * ] });
 * exactOffsetForTimestamp(batch, 120, 0, 0).offset; // 11
 * ```
 */
export function exactOffsetForTimestamp(
  batchBytes: Uint8Array,
  timestampMs: number,
  minOffset: number,
  leaderEpoch: number,
): TimestampAndOffset {
  let decoded;
  try {
    decoded = decodeBatch(batchBytes, { skipCrcCheck: true });
  } catch {
    const view = new DataView(batchBytes.buffer, batchBytes.byteOffset, batchBytes.byteLength);
    const base = view.getInt32(0) * 0x1_0000_0000 + view.getUint32(4);
    const max = view.getInt32(35) * 0x1_0000_0000 + view.getUint32(39);
    return { timestamp: max, offset: Math.max(base, minOffset), leaderEpoch };
  }
  const { header, records } = decoded;
  const logAppendTime = timestampType(header.attributes) === 1;
  for (const record of records) {
    const offset = header.baseOffset + record.offsetDelta;
    const timestamp = logAppendTime
      ? header.maxTimestamp
      : header.baseTimestamp + record.timestampDelta;
    if (offset >= minOffset && timestamp >= timestampMs) return { timestamp, offset, leaderEpoch };
  }
  return {
    timestamp: header.maxTimestamp,
    offset: Math.max(header.baseOffset, minOffset),
    leaderEpoch,
  };
}
