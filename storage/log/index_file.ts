/**
 * Kafka's sparse segment indexes, held in memory and mirrored to an append-only file:
 *
 * - `.index` ({@link OffsetIndex}): 8-byte entries (int32 offset relative to the segment's base
 *   offset, int32 byte position of a batch), one per `index.interval.bytes` of log.
 * - `.timeindex` ({@link TimeIndex}): 12-byte entries (int64 timestamp, int32 relative offset),
 *   appended when the segment's max timestamp grows at an index point.
 *
 * File layout choice: Kafka preallocates index files to `segment.index.bytes` and trims them on
 * roll and close. We never preallocate: entries are appended as they are made (batched until the
 * next flush), so the files on disk always have Kafka's trimmed shape and `kafka-dump-log` reads
 * them. A full index (`segment.index.bytes / entrySize` entries) still rolls the segment.
 * Indexes of the active segment are not fsynced: recovery rebuilds them from the segment holding
 * the recovery point. A segment's indexes are fsynced when it stops being active.
 *
 * Descriptors: no handle is held. Entries live in memory; the file is opened through a
 * {@link HandleCache} (bounded LRU of idle handles) only when entries are written, i.e. at the
 * log's flush, roll and close.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readInt64Number, writeInt64Number } from "../../net/protocol/record_batch.ts";
import { writeAllSync } from "../fs.ts";
import { type CachedFile, type HandleCache, sharedHandleCache } from "./handle_cache.ts";

abstract class IndexFile {
  readonly filePath: string;
  readonly baseOffset: number;
  readonly maxEntries: number;
  protected abstract readonly entryBytes: number;
  protected buf = new Uint8Array(0);
  protected view = new DataView(this.buf.buffer);
  protected count = 0;
  /** Length of the prefix of the file known to equal the entries in memory. */
  #validFileBytes = 0;
  /** Length of the file on disk (known once loaded or first opened). */
  #fileBytes = 0;
  #fileBytesKnown = false;
  #file: CachedFile;

  constructor(
    filePath: string,
    baseOffset: number,
    options: { maxIndexBytes: number; entryBytes: number; handles: HandleCache },
  ) {
    this.filePath = filePath;
    this.baseOffset = baseOffset;
    this.maxEntries = Math.max(1, Math.floor(options.maxIndexBytes / options.entryBytes));
    this.#file = options.handles.file(filePath, { read: true, append: true, create: true });
  }

  /** Number of entries. */
  get entries(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Loads entries from the file; returns a problem description when its length is ragged. */
  loadFromFile(): string | null {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.filePath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        this.#fileBytes = 0;
        this.#fileBytesKnown = true;
        this.#validFileBytes = 0;
        this.count = 0;
        return "missing";
      }
      throw error;
    }
    this.#fileBytes = bytes.length;
    this.#fileBytesKnown = true;
    this.#validFileBytes = bytes.length;
    const whole = bytes.length - (bytes.length % this.entryBytes);
    this.ensureCapacity(whole / this.entryBytes);
    this.buf.set(bytes.subarray(0, whole));
    this.count = whole / this.entryBytes;
    if (whole !== bytes.length) {
      return `length ${bytes.length} is not a multiple of ${this.entryBytes}`;
    }
    return null;
  }

  protected ensureCapacity(entries: number): void {
    const needed = entries * this.entryBytes;
    if (needed <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(needed, this.buf.length * 2, 64 * this.entryBytes));
    grown.set(this.buf.subarray(0, this.count * this.entryBytes));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Drops all entries from index `n` on. */
  protected truncateToCount(n: number): void {
    assert(n >= 0 && n <= this.count);
    this.count = n;
    this.#validFileBytes = Math.min(this.#validFileBytes, n * this.entryBytes);
  }

  /** Drops every entry. */
  reset(): void {
    this.truncateToCount(0);
  }

  /** Marks the file as empty on disk (the segment just created it). */
  markEmptyOnDisk(): void {
    this.#fileBytes = 0;
    this.#fileBytesKnown = true;
    this.#validFileBytes = 0;
  }

  /** Brings the file in line with memory: trims it and appends unwritten entries (no fsync). */
  writeToFile(): void {
    const wantBytes = this.count * this.entryBytes;
    if (
      this.#fileBytesKnown && wantBytes === this.#validFileBytes && this.#fileBytes === wantBytes
    ) {
      return;
    }
    this.#file.use((file) => {
      if (!this.#fileBytesKnown) {
        this.#fileBytes = file.statSync().size;
        this.#fileBytesKnown = true;
        this.#validFileBytes = Math.min(this.#validFileBytes, this.#fileBytes);
      }
      if (this.#fileBytes > this.#validFileBytes) {
        file.truncateSync(this.#validFileBytes);
        this.#fileBytes = this.#validFileBytes;
      }
      if (wantBytes > this.#fileBytes) {
        writeAllSync(file, this.buf.subarray(this.#fileBytes, wantBytes));
        this.#fileBytes = wantBytes;
      }
      this.#validFileBytes = wantBytes;
    });
  }

  /** Writes and fsyncs the file. */
  async sync(): Promise<void> {
    this.writeToFile();
    await this.#file.useAsync((file) => file.syncData());
  }

  /** Closes the cached handle for good (before the file is deleted or renamed). */
  close(): void {
    this.#file.close();
  }

  /** Index of the last entry whose key <= target, or -1. */
  protected floorSlot(target: number, keyAt: (i: number) => number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (keyAt(mid) <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

/** An offset and the byte position of the batch it belongs to. */
export interface OffsetPosition {
  offset: number;
  position: number;
}

/**
 * The sparse offset index of one segment.
 *
 * @example
 * ```ts
 * import { OffsetIndex } from "./index_file.ts";
 * const index = new OffsetIndex("/tmp/x.index", 100, 10 * 1024 * 1024);
 * index.append(150, 4096);
 * index.lookup(170); // { offset: 150, position: 4096 }
 * ```
 */
export class OffsetIndex extends IndexFile {
  protected readonly entryBytes = 8;

  constructor(
    filePath: string,
    baseOffset: number,
    maxIndexBytes: number,
    handles: HandleCache = sharedHandleCache,
  ) {
    super(filePath, baseOffset, { maxIndexBytes, entryBytes: 8, handles });
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.view.getInt32(i * 8);
  }

  positionAt(i: number): number {
    return this.view.getInt32(i * 8 + 4);
  }

  /** The last indexed offset, or the base offset when empty. */
  get lastOffset(): number {
    return this.count === 0 ? this.baseOffset : this.offsetAt(this.count - 1);
  }

  append(offset: number, position: number): void {
    assert(!this.isFull, `offset index ${this.filePath} is full`);
    assert(this.count === 0 || offset > this.lastOffset, "offset index entries must increase");
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fffffff, "relative offset out of int32 range");
    this.ensureCapacity(this.count + 1);
    this.view.setInt32(this.count * 8, relative);
    this.view.setInt32(this.count * 8 + 4, position);
    this.count++;
  }

  /** The entry with the largest offset <= target, or (baseOffset, 0). */
  lookup(targetOffset: number): OffsetPosition {
    const slot = this.floorSlot(targetOffset, (i) => this.offsetAt(i));
    if (slot < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.offsetAt(slot), position: this.positionAt(slot) };
  }

  /** Drops entries for offsets >= `offset`. */
  truncateTo(offset: number): void {
    this.truncateToCount(this.floorSlot(offset - 1, (i) => this.offsetAt(i)) + 1);
  }

  /**
   * Describes why the entries cannot belong to a segment of `segmentBytes` bytes, or null:
   * offsets must increase from the base, positions increase and stay inside the segment.
   */
  sanityProblem(segmentBytes: number): string | null {
    for (let i = 0; i < this.count; i++) {
      const rel = this.view.getInt32(i * 8);
      const pos = this.positionAt(i);
      if (rel < 0 || pos < 0 || pos >= segmentBytes) {
        return `entry ${i} (${rel}, ${pos}) lies outside the segment of ${segmentBytes} bytes`;
      }
      if (i > 0 && (rel <= this.view.getInt32(i * 8 - 8) || pos <= this.positionAt(i - 1))) {
        return `entry ${i} does not increase`;
      }
    }
    return null;
  }
}

/** A timestamp and the offset Kafka's time index pairs with it. */
export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

/**
 * The sparse time index of one segment.
 *
 * @example
 * ```ts
 * import { TimeIndex } from "./index_file.ts";
 * const index = new TimeIndex("/tmp/x.timeindex", 0, 10 * 1024 * 1024);
 * index.maybeAppend(1000, 5);
 * index.lookup(1500); // { timestamp: 1000, offset: 5 }
 * ```
 */
export class TimeIndex extends IndexFile {
  protected readonly entryBytes = 12;

  constructor(
    filePath: string,
    baseOffset: number,
    maxIndexBytes: number,
    handles: HandleCache = sharedHandleCache,
  ) {
    super(filePath, baseOffset, { maxIndexBytes, entryBytes: 12, handles });
  }

  timestampAt(i: number): number {
    return readInt64Number(this.view, i * 12, "timestamp");
  }

  offsetAt(i: number): number {
    return this.baseOffset + this.view.getInt32(i * 12 + 8);
  }

  /** The last entry, or (-1, baseOffset) when empty. */
  lastEntry(): TimestampOffset {
    if (this.count === 0) return { timestamp: -1, offset: this.baseOffset };
    return { timestamp: this.timestampAt(this.count - 1), offset: this.offsetAt(this.count - 1) };
  }

  /** Appends when `timestamp` is larger than the last entry's (Kafka's maybeAppend). */
  maybeAppend(timestamp: number, offset: number, skipFullCheck = false): void {
    if (!skipFullCheck) assert(!this.isFull, `time index ${this.filePath} is full`);
    if (this.count > 0 && timestamp <= this.timestampAt(this.count - 1)) return;
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fffffff, "relative offset out of int32 range");
    if (this.count > 0) assert(offset >= this.offsetAt(this.count - 1), "time index offsets");
    this.ensureCapacity(this.count + 1);
    writeInt64Number(this.view, this.count * 12, timestamp);
    this.view.setInt32(this.count * 12 + 8, relative);
    this.count++;
  }

  /** The entry with the largest timestamp <= target, or (-1, baseOffset). */
  lookup(targetTimestamp: number): TimestampOffset {
    const slot = this.floorSlot(targetTimestamp, (i) => this.timestampAt(i));
    if (slot < 0) return { timestamp: -1, offset: this.baseOffset };
    return { timestamp: this.timestampAt(slot), offset: this.offsetAt(slot) };
  }

  /** Drops entries for offsets >= `offset`. */
  truncateTo(offset: number): void {
    let n = this.count;
    while (n > 0 && this.offsetAt(n - 1) >= offset) n--;
    this.truncateToCount(n);
  }

  /** Describes why the entries are impossible for offsets below `nextOffsetBound`, or null. */
  sanityProblem(nextOffsetBound: number): string | null {
    for (let i = 0; i < this.count; i++) {
      let ts: number;
      try {
        ts = this.timestampAt(i);
      } catch {
        return `entry ${i} has an unreadable timestamp`;
      }
      const rel = this.view.getInt32(i * 12 + 8);
      if (rel < 0 || this.baseOffset + rel >= nextOffsetBound) {
        return `entry ${i} points at offset ${this.baseOffset + rel} outside the segment`;
      }
      if (i > 0 && (ts <= this.timestampAt(i - 1) || rel < this.view.getInt32(i * 12 - 4))) {
        return `entry ${i} does not increase`;
      }
    }
    return null;
  }
}
