/**
 * The bookkeeping that decides when a segment rolls and when a sparse index entry is made, shared
 * by the file log and the in-memory log so both cut segments at the same offsets.
 *
 * Mirrors Kafka's `LogSegment.shouldRoll` (size, `segment.ms` measured from the first batch's max
 * timestamp, full indexes, relative offset overflow) and the per-batch index cadence of
 * `LogSegment.recover` (an entry when more than `index.interval.bytes` were written since the last).
 *
 * @module
 */
import type { LogConfig } from "./log_config.ts";

/** What the roll and index decisions need to know about a batch. */
export interface BatchSummary {
  baseOffset: number;
  lastOffset: number;
  sizeBytes: number;
  maxTimestamp: number;
}

/** Which index entries a batch produced. */
export interface IndexDecision {
  offsetEntry: boolean;
  timeEntry: boolean;
}

const INT32_MAX = 0x7fffffff;

/**
 * Tracks size, timestamps and index entry counts of one segment.
 *
 * @example
 * ```ts
 * import { SegmentShape } from "./segment_shape.ts";
 * import { logConfig } from "./log_config.ts";
 * const shape = new SegmentShape(0, 0);
 * const batch = { baseOffset: 0, lastOffset: 9, sizeBytes: 500, maxTimestamp: 1 };
 * if (!shape.shouldRoll(batch, 1, logConfig())) shape.add(batch, 4096);
 * ```
 */
export class SegmentShape {
  readonly baseOffset: number;
  readonly createdMs: number;
  sizeBytes = 0;
  /** Max timestamp of the first batch, -1 before any batch (Kafka's rollingBasedTimestamp). */
  rollingBasedTimestamp = -1;
  maxTimestampSoFar = -1;
  offsetOfMaxTimestampSoFar = -1;
  offsetIndexEntries = 0;
  timeIndexEntries = 0;
  lastTimeIndexTimestamp = -1;
  bytesSinceLastIndexEntry = 0;
  /** Offset after the last batch; the base offset while empty. */
  nextOffset: number;
  /** This segment's share of `segment.jitter.ms`: it rolls that much before `segment.ms`. */
  rollJitterMs = 0;

  constructor(baseOffset: number, createdMs: number) {
    this.baseOffset = baseOffset;
    this.createdMs = createdMs;
    this.nextOffset = baseOffset;
  }

  /** Whether `batch` must go into a new segment. */
  shouldRoll(batch: BatchSummary, nowMs: number, config: LogConfig): boolean {
    if (batch.lastOffset - this.baseOffset > INT32_MAX) return true;
    if (this.sizeBytes === 0) return false;
    if (this.sizeBytes > config.segmentBytes - batch.sizeBytes) return true;
    const waitedMs = this.rollingBasedTimestamp >= 0
      ? batch.maxTimestamp - this.rollingBasedTimestamp
      : nowMs - this.createdMs;
    // KIP-354: a compacted log's active segment rolls by max.compaction.lag.ms, so its records
    // can be compacted in time.
    const rollMs = config.cleanupPolicy.compact
      ? Math.min(config.segmentMs, config.maxCompactionLagMs)
      : config.segmentMs;
    if (waitedMs > rollMs - this.rollJitterMs) return true;
    return this.offsetIndexEntries >= Math.floor(config.segmentIndexBytes / 8) ||
      this.timeIndexEntries >= Math.floor(config.segmentIndexBytes / 12);
  }

  /** Accounts for `batch` appended at the end; says which index entries to make for it. */
  add(batch: BatchSummary, indexIntervalBytes: number): IndexDecision {
    if (this.sizeBytes === 0) this.rollingBasedTimestamp = batch.maxTimestamp;
    if (batch.maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = batch.maxTimestamp;
      this.offsetOfMaxTimestampSoFar = batch.lastOffset;
    }
    const decision = { offsetEntry: false, timeEntry: false };
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes) {
      decision.offsetEntry = true;
      this.offsetIndexEntries++;
      if (this.maxTimestampSoFar > this.lastTimeIndexTimestamp) {
        decision.timeEntry = true;
        this.timeIndexEntries++;
        this.lastTimeIndexTimestamp = this.maxTimestampSoFar;
      }
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.sizeBytes;
    this.sizeBytes += batch.sizeBytes;
    this.nextOffset = batch.lastOffset + 1;
    return decision;
  }
}
