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
 * the log start offset, past `retention.ms`, or beyond `retention.bytes` — never the active one,
 * never one reaching the high watermark.
 */
export function deletableSegmentCount(
  segments: readonly RetentionSegment[],
  options: {
    config: LogConfig;
    nowMs: number;
    logStartOffset: number;
    highWatermark: number;
    startOffsetOnly: boolean;
  },
): number {
  const { config, nowMs, logStartOffset, highWatermark } = options;
  let total = segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  const retainBytes = config.retentionBytes;
  const useDelete = config.cleanupPolicy.delete && !options.startOffsetOnly;
  let count = 0;
  for (let i = 0; i + 1 < segments.length; i++) {
    const segment = segments[i]!;
    const nextBase = segments[i + 1]!.baseOffset;
    if (nextBase > highWatermark) break;
    const belowStart = nextBase <= logStartOffset;
    const expired = useDelete && config.retentionMs >= 0 &&
      nowMs - segment.largestTimestampMs > config.retentionMs;
    const oversized = useDelete && retainBytes >= 0 && total - segment.sizeBytes >= retainBytes;
    if (!belowStart && !expired && !oversized) break;
    total -= segment.sizeBytes;
    count++;
  }
  return count;
}
