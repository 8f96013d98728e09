/**
 * Which old segments retention deletes, shared by the file log and the in-memory log (Kafka's
 * `UnifiedLog.deleteOldSegments`: log start offset breached, `retention.ms`, `retention.bytes`).
 *
 * @module
 */
import type { LogConfig } from "./log_config.ts";

/** A segment as retention sees it. */
export interface RetentionSegment {
  baseOffset: number;
  sizeBytes: number;
  largestTimestampMs: number;
}

/**
 * How many leading segments retention may delete (Kafka's deleteOldSegments): those wholly below
 * the log start offset, past `retention.ms`, or beyond `retention.bytes`, never one reaching past
 * the high watermark. The active (last) segment counts too once it is non-empty, expired and
 * wholly below the high watermark: Kafka then rolls a new empty segment at the log end and
 * deletes the old one, so expired data never stays readable on a quiet topic. When the count is
 * `segments.length` the caller must roll before deleting (a log always has one segment).
 *
 * @example
 * ```ts
 * import { deletableSegmentCount } from "./retention.ts";
 * import { logConfig } from "./log_config.ts";
 * const segments = [{ baseOffset: 0, sizeBytes: 100, largestTimestampMs: 1_000 }];
 * deletableSegmentCount(segments, {
 *   config: logConfig({ retentionMs: 5_000 }),
 *   nowMs: 10_000,
 *   logStartOffset: 0,
 *   logEndOffset: 50,
 *   highWatermark: 50,
 *   startOffsetOnly: false,
 * }); // 1: the expired active segment goes (after a roll)
 * ```
 */
export function deletableSegmentCount(
  segments: readonly RetentionSegment[],
  options: {
    config: LogConfig;
    nowMs: number;
    logStartOffset: number;
    /** The log end offset: where the active segment ends. */
    logEndOffset: number;
    highWatermark: number;
    startOffsetOnly: boolean;
  },
): number {
  const { config, nowMs, logStartOffset, highWatermark } = options;
  let total = segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  const retainBytes = config.retentionBytes;
  const useDelete = config.cleanupPolicy.delete && !options.startOffsetOnly;
  let count = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const isActive = i + 1 === segments.length;
    if (isActive && segment.sizeBytes === 0) break;
    const nextBase = isActive ? options.logEndOffset : segments[i + 1]!.baseOffset;
    if (nextBase > highWatermark) break;
    // Kafka: only a following segment's base proves a segment lies below the log start offset.
    const belowStart = !isActive && nextBase <= logStartOffset;
    const expired = useDelete && config.retentionMs >= 0 &&
      nowMs - segment.largestTimestampMs > config.retentionMs;
    const oversized = useDelete && retainBytes >= 0 && total - segment.sizeBytes >= retainBytes;
    if (!belowStart && !expired && !oversized) break;
    total -= segment.sizeBytes;
    count++;
  }
  return count;
}
