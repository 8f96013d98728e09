/**
 * One segment of a partition log: `<base>.log` holding v2 batches exactly as on the wire, with its
 * sparse `.index` and `.timeindex` (see `index_file.ts`).
 *
 * All file I/O here is synchronous and positional on one handle per file, so the in-memory view
 * (size, indexes, next offset) and the bytes written never disagree at an `await`: an append is a
 * single `write` into the page cache and the only slow call, fsync, is async and lives in
 * {@link LogSegment.sync}.
 *
 * Descriptors: a segment holds none of its own. Its `.log` handle (and its indexes' handles, see
 * `index_file.ts`) live in a bounded {@link HandleCache}: opened on demand, pinned for the length
 * of one synchronous call or one fsync, and closed when evicted. A segment with bytes not yet
 * fsynced holds its `.log` handle until the fsync, so a flush never has to open a file (and never
 * fails the log for want of a descriptor). {@link LogSegment.close} and
 * {@link LogSegment.deleteSync} close them before the files are renamed or removed.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  BATCH_HEADER_BYTES,
  CRC_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  readBatchHeader,
  readInt64Number,
  verifyBatchCrc,
} from "../../net/protocol/record_batch.ts";
import { readAtAsync, readAtSync, writeAllSync } from "../fs.ts";
import {
  type CachedFile,
  type HandleCache,
  isTooManyOpenFiles,
  sharedHandleCache,
} from "./handle_cache.ts";
import { OffsetIndex, TimeIndex } from "./index_file.ts";
import type { LogConfig } from "./log_config.ts";
import type { ReadBuffers } from "./partition_log.ts";
import { maxTimestampOfRecords, untrustedMaxTimestamp } from "./log_validator.ts";
import { type BatchSummary, SegmentShape } from "./segment_shape.ts";

/** Reads below this size get fresh memory: cheap at that size, and no pooled buffer is tied up. */
const POOLED_READ_BYTES_MIN = 64 * 1024;

function readBuffer(sizeBytes: number, buffers: ReadBuffers | undefined): Uint8Array {
  return buffers !== undefined && sizeBytes >= POOLED_READ_BYTES_MIN
    ? buffers.take(sizeBytes)
    : new Uint8Array(sizeBytes);
}
/**
 * Reads off the event loop run one at a time per log directory (one disk, as `log.dirs` are laid
 * out). A consumer's Fetch starts the reads of all its partitions at once and the kernel reads
 * ahead of each (8 MiB on this machine's disk), so eight of them queued ahead of the appends'
 * fsyncs, which mq-deadline serves after reads: a producer's p99 beside a consumer catching up on
 * cold data measured 30-46 ms with them all in flight, 19-25 ms with one at a time, the catch-up
 * about as fast.
 *
 * @example
 * ```ts
 * import { OffLoopReadQueue } from "./log_segment.ts";
 * const queue = new OffLoopReadQueue();
 * const order: string[] = [];
 * await Promise.all(["a", "b"].map((name) => queue.run(async () => order.push(name))));
 * console.log(order); // ["a", "b"]
 * ```
 */
export class OffLoopReadQueue {
  #busy = false;
  readonly #waiting: (() => void)[] = [];

  /** Runs `read` once every read queued before it has settled. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    // Every finished read hands the queue to the next waiter, so each waiter is woken once.
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#busy = true;
    try {
      return await read();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#busy = false;
      else next();
    }
  }
}

/** One queue per log directory (a handful per process, never dropped). */
const offLoopReadQueues = new Map<string, OffLoopReadQueue>();

function offLoopReadQueueFor(logDir: string): OffLoopReadQueue {
  let queue = offLoopReadQueues.get(logDir);
  if (queue === undefined) {
    queue = new OffLoopReadQueue();
    offLoopReadQueues.set(logDir, queue);
  }
  return queue;
}

/** Bytes read at a time when walking batch headers or verifying a segment. */
const SCAN_CHUNK_BYTES = 64 * 1024;
/**
 * First read of a walk that looks for one batch (every fetch does): the offset index has an entry
 * every `index.interval.bytes` (4 KiB by default), so the batch's header is nearly always within
 * this much; reading 64 KiB into fresh memory to peek at one header cost more than the fetch's
 * own bookkeeping.
 */
const FIND_CHUNK_BYTES = 8 * 1024;
/**
 * Where synchronous header walks read: headers are parsed into numbers and nothing keeps a view
 * of it past one step, and a walk never awaits, so one buffer serves every segment.
 */
const walkScratch = new Uint8Array(SCAN_CHUNK_BYTES);
/** Bytes read at a time by {@link LogSegment.readBatchesAsync}. */
const BATCH_READ_CHUNK_BYTES = 1024 * 1024;
const RECOVER_CHUNK_BYTES = 8 * 1024 * 1024;

/** `00000000000000000042` for 42. */
export function offsetFileStem(offset: number): string {
  return String(offset).padStart(20, "0");
}

/** Header fields of a stored batch, read without its records. */
export interface StoredBatchHeader extends BatchSummary {
  position: number;
  leaderEpoch: number;
  attributes: number;
  baseTimestamp: number;
}

/** Sees each valid batch of a scan, or the first problem (batch null); false stops the scan. */
type ScanVisitor = (
  batch: StoredBatchHeader | null,
  problem: string | null,
  position: number,
) => boolean;

/** A batch to append plus where its bytes sit in the caller's buffer. */
export interface PlacedBatch extends BatchSummary {
  pos: number;
}

/** A line-oriented warning sink (recovery reports each thing it drops). */
export type LogWarn = (line: string) => void;

/** Reads the fields of the batch header at `off` of `view`; needs 61 bytes. */
function peekHeader(view: DataView, off: number, position: number): StoredBatchHeader {
  const baseOffset = readInt64Number(view, off, "baseOffset");
  return {
    position,
    baseOffset,
    sizeBytes: LOG_OVERHEAD_BYTES + view.getInt32(off + 8),
    leaderEpoch: view.getInt32(off + 12),
    lastOffset: baseOffset + view.getInt32(off + 23),
    maxTimestamp: readInt64Number(view, off + 35, "maxTimestamp"),
    attributes: view.getInt16(off + 21),
    baseTimestamp: readInt64Number(view, off + 27, "baseTimestamp"),
  };
}

function tryPeekHeader(view: DataView, off: number, position: number): StoredBatchHeader | null {
  if (view.getInt32(off + 8) < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) return null;
  try {
    return peekHeader(view, off, position);
  } catch {
    return null;
  }
}

/**
 * A log segment with its indexes.
 *
 * @example
 * ```ts
 * import { LogSegment } from "./log_segment.ts";
 * import { logConfig } from "./log_config.ts";
 * const dir = await Deno.makeTempDir();
 * const segment = LogSegment.create(dir, 0, logConfig(), Date.now());
 * console.log(segment.sizeBytes); // 0
 * segment.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class LogSegment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** Size, timestamps and index cadence. */
  shape: SegmentShape;
  /** Bytes were written since the last fsync. */
  dirty = false;
  /** The segment is no longer active and its index files await their final fsync. */
  indexesNeedSync = false;
  #file: CachedFile;
  /** Where this segment's reads off the event loop wait their turn (its log directory's). */
  readonly #offLoopReads: OffLoopReadQueue;
  /** The `.log` handle is held until the next fsync (unsynced bytes). */
  #held = false;
  #closed = false;

  private constructor(
    dir: string,
    baseOffset: number,
    options: { config: LogConfig; createdMs: number; handles: HandleCache; suffix?: string },
  ) {
    const stem = path.join(dir, offsetFileStem(baseOffset));
    const { config, handles } = options;
    const suffix = options.suffix ?? "";
    this.baseOffset = baseOffset;
    this.logPath = `${stem}.log${suffix}`;
    this.offsetIndex = new OffsetIndex(
      `${stem}.index${suffix}`,
      baseOffset,
      config.segmentIndexBytes,
      handles,
    );
    this.timeIndex = new TimeIndex(
      `${stem}.timeindex${suffix}`,
      baseOffset,
      config.segmentIndexBytes,
      handles,
    );
    this.shape = new SegmentShape(baseOffset, options.createdMs);
    this.#file = handles.file(this.logPath, { read: true, append: true, create: true });
    this.#offLoopReads = offLoopReadQueueFor(path.dirname(dir));
  }

  /** Creates an empty segment, replacing any files of that name. */
  static create(
    dir: string,
    baseOffset: number,
    config: LogConfig,
    nowMs: number,
    handles: HandleCache = sharedHandleCache,
  ): LogSegment {
    return LogSegment.#createFiles(dir, baseOffset, { config, createdMs: nowMs, handles });
  }

  /**
   * Creates an empty segment whose three files carry `suffix` (`.cleaned`): the log cleaner
   * appends the cleaned batches to it, so its `.index` and `.timeindex` are built as it is written,
   * then renames the files into place (Kafka's cleaner writes all three too).
   */
  static createWithSuffix(
    dir: string,
    baseOffset: number,
    options: { config: LogConfig; nowMs: number; suffix: string; handles?: HandleCache },
  ): LogSegment {
    return LogSegment.#createFiles(dir, baseOffset, {
      config: options.config,
      createdMs: options.nowMs,
      handles: options.handles ?? sharedHandleCache,
      suffix: options.suffix,
    });
  }

  static #createFiles(
    dir: string,
    baseOffset: number,
    options: { config: LogConfig; createdMs: number; handles: HandleCache; suffix?: string },
  ): LogSegment {
    const nowMs = options.createdMs;
    const segment = new LogSegment(dir, baseOffset, options);
    segment.lastModifiedMs = nowMs;
    segment.#file.use((file) => file.truncateSync(0));
    Deno.writeFileSync(segment.offsetIndex.filePath, new Uint8Array(0));
    Deno.writeFileSync(segment.timeIndex.filePath, new Uint8Array(0));
    segment.offsetIndex.markEmptyOnDisk();
    segment.timeIndex.markEmptyOnDisk();
    return segment;
  }

  /**
   * Opens an existing segment and loads its indexes; returns the problems found with them (the
   * caller rebuilds through {@link recover}). Size and max timestamp come from the files.
   */
  static open(
    dir: string,
    baseOffset: number,
    config: LogConfig,
    nowMs: number,
    handles: HandleCache = sharedHandleCache,
  ): { segment: LogSegment; indexProblems: string[] } {
    const segment = new LogSegment(dir, baseOffset, { config, createdMs: nowMs, handles });
    const stat = segment.#file.use((file) => file.statSync());
    segment.shape.sizeBytes = stat.size;
    const problems: string[] = [];
    const offsetProblem = segment.offsetIndex.loadFromFile() ??
      segment.offsetIndex.sanityProblem(stat.size);
    if (offsetProblem !== null && !(offsetProblem === "missing" && stat.size === 0)) {
      problems.push(`${segment.offsetIndex.filePath}: ${offsetProblem}`);
    }
    const timeProblem = segment.timeIndex.loadFromFile() ??
      segment.timeIndex.sanityProblem(Number.MAX_SAFE_INTEGER);
    if (timeProblem !== null && !(timeProblem === "missing" && stat.size === 0)) {
      problems.push(`${segment.timeIndex.filePath}: ${timeProblem}`);
    }
    const last = segment.timeIndex.lastEntry();
    segment.shape.maxTimestampSoFar = last.timestamp;
    segment.shape.offsetOfMaxTimestampSoFar = last.offset;
    segment.shape.offsetIndexEntries = segment.offsetIndex.entries;
    segment.shape.timeIndexEntries = segment.timeIndex.entries;
    segment.shape.lastTimeIndexTimestamp = last.timestamp;
    segment.lastModifiedMs = stat.mtime?.getTime() ?? nowMs;
    return { segment, indexProblems: problems };
  }

  /** File modification time at open, for time retention of segments without timestamps. */
  lastModifiedMs = 0;

  get sizeBytes(): number {
    return this.shape.sizeBytes;
  }

  /** Offset after the last batch (the base offset while empty). */
  get nextOffset(): number {
    return this.shape.nextOffset;
  }

  /** Largest timestamp in the segment, or the modification time when it holds none. */
  get largestTimestampMs(): number {
    return this.shape.maxTimestampSoFar >= 0 ? this.shape.maxTimestampSoFar : this.lastModifiedMs;
  }

  /**
   * Appends `batches` (already validated, offsets assigned) whose bytes are `bytes[first.pos ..
   * last.pos + last.sizeBytes)` with one write, and indexes them.
   */
  append(bytes: Uint8Array, batches: readonly PlacedBatch[], indexIntervalBytes: number): void {
    assert(!this.#closed && batches.length > 0);
    const first = batches[0]!;
    const last = batches[batches.length - 1]!;
    const start = this.shape.sizeBytes;
    this.#file.use((file) =>
      writeAllSync(file, bytes.subarray(first.pos, last.pos + last.sizeBytes))
    );
    for (const batch of batches) {
      this.#indexBatch(batch, start + batch.pos - first.pos, indexIntervalBytes);
    }
    this.#markDirty();
  }

  /** Appended bytes await fsync: the handle stays open for it. */
  #markDirty(): void {
    this.dirty = true;
    if (this.#held || this.#closed) return;
    this.#file.hold();
    this.#held = true;
  }

  #indexBatch(batch: BatchSummary, position: number, indexIntervalBytes: number): void {
    const decision = this.shape.add(batch, indexIntervalBytes);
    if (decision.offsetEntry) this.offsetIndex.append(batch.lastOffset, position);
    if (decision.timeEntry) {
      this.timeIndex.maybeAppend(
        this.shape.maxTimestampSoFar,
        this.shape.offsetOfMaxTimestampSoFar,
      );
    }
  }

  /** Reads `length` bytes at `position` (fewer at the end of the segment). */
  readBytes(position: number, length: number, buffers?: ReadBuffers): Uint8Array {
    const available = Math.max(0, Math.min(length, this.shape.sizeBytes - position));
    return this.#readInto(position, readBuffer(available, buffers));
  }

  /** Fills `out` from `position` through the writer's handle (bytes the segment holds). */
  #readInto(position: number, out: Uint8Array): Uint8Array {
    const n = this.#file.use((file) => readAtSync(file, position, out));
    assert(n === out.length, `short read of ${this.logPath} at ${position}`);
    return out;
  }

  /**
   * Reads `length` bytes at `position` (fewer at the end of the segment) off the event loop, for
   * fetches of data that may not be in the page cache. Null when the file is gone (the segment
   * was deleted or replaced meanwhile): the caller reads again from the log's current segments.
   */
  async readBytesAsync(
    position: number,
    length: number,
    buffers?: ReadBuffers,
  ): Promise<Uint8Array | null> {
    const available = Math.max(0, Math.min(length, this.shape.sizeBytes - position));
    const out = readBuffer(available, buffers);
    try {
      const n = await this.#offLoopReads.run(() => readAtAsync(this.logPath, position, out));
      return n === available ? out : out.subarray(0, n);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
  }

  /**
   * Walks batch headers from `fromPosition` until `visit` returns false or the segment ends.
   * Headers only: records and CRCs are not read. The first read takes `firstChunkBytes`, later
   * ones {@link SCAN_CHUNK_BYTES}.
   */
  walkHeaders(
    fromPosition: number,
    visit: (header: StoredBatchHeader) => boolean,
    firstChunkBytes = SCAN_CHUNK_BYTES,
  ): void {
    const end = this.shape.sizeBytes;
    let pos = fromPosition;
    let chunkBytes = Math.max(BATCH_HEADER_BYTES, Math.min(firstChunkBytes, SCAN_CHUNK_BYTES));
    const maxSteps = end; // every batch is > 0 bytes
    for (let steps = 0; pos + BATCH_HEADER_BYTES <= end && steps < maxSteps; steps++) {
      const chunk = this.#readInto(pos, walkScratch.subarray(0, Math.min(chunkBytes, end - pos)));
      chunkBytes = SCAN_CHUNK_BYTES;
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let off = 0;
      while (off + BATCH_HEADER_BYTES <= chunk.length) {
        const header = tryPeekHeader(view, off, pos + off);
        // A header that cannot be real ends the walk; recovery, not reads, deals with it.
        if (header === null || header.position + header.sizeBytes > end) return;
        if (!visit(header)) return;
        off += header.sizeBytes;
      }
      if (off === 0) return;
      pos += off;
    }
  }

  /**
   * Every whole batch of the segment with its bytes, read in chunks off the event loop (the log
   * cleaner reads old segments, which may not be in the page cache). Ends where a header cannot
   * be real, when the segment closes, or when its file is gone.
   */
  async *readBatchesAsync(
    chunkBytes = BATCH_READ_CHUNK_BYTES,
  ): AsyncGenerator<{ header: StoredBatchHeader; bytes: Uint8Array }> {
    const end = this.shape.sizeBytes;
    let pos = 0;
    // Every step advances by at least one batch (> 0 bytes) or ends the walk.
    for (let steps = 0; pos + BATCH_HEADER_BYTES <= end && steps < end; steps++) {
      if (this.#closed) return;
      const chunk = await this.readBytesAsync(pos, Math.min(chunkBytes, end - pos));
      if (chunk === null || chunk.length < BATCH_HEADER_BYTES) return;
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let off = 0;
      while (off + BATCH_HEADER_BYTES <= chunk.length) {
        const header = tryPeekHeader(view, off, pos + off);
        if (header === null || header.position + header.sizeBytes > end) return;
        if (off + header.sizeBytes > chunk.length) {
          if (off > 0) break; // the rest comes with the next chunk
          // One batch larger than the chunk: read it whole.
          const whole = await this.readBytesAsync(pos, header.sizeBytes);
          if (whole === null || whole.length < header.sizeBytes) return;
          yield { header, bytes: whole };
          off = header.sizeBytes;
          break;
        }
        yield { header, bytes: chunk.subarray(off, off + header.sizeBytes) };
        off += header.sizeBytes;
      }
      pos += off;
    }
  }

  /** Position and header of the first batch with lastOffset >= `offset`, or null. */
  findBatch(offset: number): StoredBatchHeader | null {
    const start = this.offsetIndex.lookup(offset).position;
    let found: StoredBatchHeader | null = null;
    this.walkHeaders(start, (header) => {
      if (header.lastOffset < offset) return true;
      found = header;
      return false;
    }, FIND_CHUNK_BYTES);
    return found;
  }

  /** Sets nextOffset by walking from the last index entry (used when opened, not recovered). */
  loadNextOffset(): void {
    let next = this.baseOffset;
    let bytes = 0;
    const last = this.offsetIndex.entries > 0 ? this.offsetIndex.entries - 1 : -1;
    const from = last >= 0 ? this.offsetIndex.positionAt(last) : 0;
    this.walkHeaders(from, (header) => {
      next = header.lastOffset + 1;
      bytes = header.position + header.sizeBytes - from;
      return true;
    });
    this.shape.nextOffset = next;
    this.shape.bytesSinceLastIndexEntry = bytes;
  }

  /** Verifies header and CRC of every batch from `fromPosition`; returns the first bad position. */
  firstInvalidPosition(fromPosition: number): { position: number; why: string } | null {
    let result: { position: number; why: string } | null = null;
    this.#scanValid(fromPosition, (_batch, problem, position) => {
      if (problem !== null) result = { position, why: problem };
      return problem === null;
    });
    return result;
  }

  /**
   * Kafka's `LogSegment.recover`: re-reads every batch, checks header, CRC and offsets, rebuilds
   * both indexes and the shape, and truncates at the first invalid batch. `onBatch` sees each valid
   * batch (to rebuild the leader epoch cache). Returns the number of bytes truncated.
   */
  recover(
    config: LogConfig,
    warn: LogWarn,
    onBatch: (batch: StoredBatchHeader) => void,
  ): number {
    const recovery = this.#beginRecovery(config, warn, onBatch);
    this.#scanValid(0, recovery.visit, recovery.size);
    return this.#endRecovery(recovery.size, recovery.validBytes());
  }

  /**
   * {@link recover} with the segment read off the event loop: a broker opening a partition after
   * a crash must not stall its other connections (and a combined node's raft) while it re-reads
   * up to a whole segment.
   */
  async recoverAsync(
    config: LogConfig,
    warn: LogWarn,
    onBatch: (batch: StoredBatchHeader) => void,
  ): Promise<number> {
    const recovery = this.#beginRecovery(config, warn, onBatch);
    await this.#scanValidAsync(0, recovery.visit, recovery.size);
    return this.#endRecovery(recovery.size, recovery.validBytes());
  }

  #beginRecovery(config: LogConfig, warn: LogWarn, onBatch: (batch: StoredBatchHeader) => void) {
    const shape = new SegmentShape(this.baseOffset, this.shape.createdMs);
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.shape = shape;
    const size = this.#file.use((file) => file.statSync().size);
    shape.sizeBytes = 0;
    let validBytes = 0;
    const visit: ScanVisitor = (batch, problem, position) => {
      if (problem !== null) {
        warn(
          `Dropping ${size - position} bytes of ${this.logPath} from byte ${position}: ${problem}`,
        );
        return false;
      }
      this.#indexBatch(this.#withTrustedMaxTimestamp(batch!), position, config.indexIntervalBytes);
      validBytes = position + batch!.sizeBytes;
      onBatch(batch!);
      return true;
    };
    return { size, visit, validBytes: () => validBytes };
  }

  #endRecovery(size: number, validBytes: number): number {
    if (validBytes < size) this.#file.use((file) => file.truncateSync(validBytes));
    this.#appendFinalTimeEntry();
    this.offsetIndex.writeToFile();
    this.timeIndex.writeToFile();
    this.dirty = true;
    return size - validBytes;
  }

  /** A header written before client batches were validated may lie (issue 16): ask the records. */
  #withTrustedMaxTimestamp(batch: StoredBatchHeader): StoredBatchHeader {
    if (!untrustedMaxTimestamp(batch)) return batch;
    const bytes = new Uint8Array(batch.sizeBytes);
    this.#file.use((file) => readAtSync(file, batch.position, bytes));
    return { ...batch, maxTimestamp: maxTimestampOfRecords(bytes) };
  }

  #appendFinalTimeEntry(): void {
    if (this.shape.maxTimestampSoFar > this.shape.lastTimeIndexTimestamp) {
      this.timeIndex.maybeAppend(
        this.shape.maxTimestampSoFar,
        this.shape.offsetOfMaxTimestampSoFar,
        true,
      );
      this.shape.lastTimeIndexTimestamp = this.shape.maxTimestampSoFar;
      this.shape.timeIndexEntries++;
    }
  }

  /** Reads full batches from `fromPosition`, reporting each valid one or the first problem. */
  #scanValid(fromPosition: number, visit: ScanVisitor, fileSize = this.shape.sizeBytes): void {
    this.#file.use((file) => {
      const steps = this.#scanSteps(fromPosition, visit, fileSize);
      for (let step = steps.next(); !step.done;) {
        const bytes = new Uint8Array(step.value.length);
        readAtSync(file, step.value.position, bytes);
        step = steps.next(bytes);
      }
    });
  }

  /** {@link #scanValid} with every read off the event loop. */
  async #scanValidAsync(fromPosition: number, visit: ScanVisitor, fileSize: number): Promise<void> {
    const steps = this.#scanSteps(fromPosition, visit, fileSize);
    for (let step = steps.next(); !step.done;) {
      const bytes = new Uint8Array(step.value.length);
      await readAtAsync(this.logPath, step.value.position, bytes);
      step = steps.next(bytes);
    }
  }

  /**
   * The scan itself, apart from how bytes are read: it yields each read it needs (position and
   * length) and is resumed with the bytes, so the synchronous and the asynchronous scans share it.
   */
  *#scanSteps(
    fromPosition: number,
    visit: ScanVisitor,
    fileSize: number,
  ): Generator<{ position: number; length: number }, void, Uint8Array> {
    let pos = fromPosition;
    let expectedMin = this.baseOffset;
    for (let steps = 0; pos < fileSize && steps <= fileSize; steps++) {
      const chunk = yield { position: pos, length: Math.min(RECOVER_CHUNK_BYTES, fileSize - pos) };
      const view = new DataView(chunk.buffer);
      let off = 0;
      while (off < chunk.length) {
        const remaining = chunk.length - off;
        if (remaining < BATCH_HEADER_BYTES) {
          if (pos + off + remaining >= fileSize) {
            visit(null, `${remaining} trailing bytes are shorter than a batch header`, pos + off);
            return;
          }
          break;
        }
        const size = LOG_OVERHEAD_BYTES + view.getInt32(off + 8);
        if (size < BATCH_HEADER_BYTES || pos + off + size > fileSize) {
          const why = size < BATCH_HEADER_BYTES
            ? `batch length ${size - LOG_OVERHEAD_BYTES} is impossible`
            : `batch of ${size} bytes is cut off at the end of the file`;
          visit(null, why, pos + off);
          return;
        }
        if (size > remaining) {
          if (size > chunk.length) {
            // Re-read with a chunk that holds this batch.
            const big = yield { position: pos + off, length: size };
            const problem = this.#checkBatch(big, 0, expectedMin);
            const header = problem === null
              ? peekHeader(new DataView(big.buffer), 0, pos + off)
              : null;
            if (!visit(header, problem, pos + off)) return;
            expectedMin = header!.lastOffset + 1;
            off += size;
          }
          break;
        }
        const problem = this.#checkBatch(chunk, off, expectedMin);
        const header = problem === null ? peekHeader(view, off, pos + off) : null;
        if (!visit(header, problem, pos + off)) return;
        expectedMin = header!.lastOffset + 1;
        off += size;
      }
      pos += off;
    }
  }

  #checkBatch(buf: Uint8Array, off: number, expectedMinOffset: number): string | null {
    const magic = buf[off + MAGIC_OFFSET];
    if (magic !== 2) return `magic ${magic} is not 2`;
    let header;
    try {
      header = readBatchHeader(
        buf.subarray(
          0,
          off + LOG_OVERHEAD_BYTES + new DataView(buf.buffer, buf.byteOffset).getInt32(off + 8),
        ),
        off,
      );
    } catch (error) {
      return (error as Error).message;
    }
    if (!verifyBatchCrc(buf, off)) {
      return `CRC32C mismatch (stored ${
        new DataView(buf.buffer, buf.byteOffset).getUint32(off + CRC_OFFSET)
      })`;
    }
    if (header.baseOffset < expectedMinOffset) {
      return `base offset ${header.baseOffset} is below ${expectedMinOffset}`;
    }
    const relativeLast = header.baseOffset + header.lastOffsetDelta - this.baseOffset;
    if (header.lastOffsetDelta < 0 || relativeLast > 0x7fffffff) {
      return `offsets ${header.baseOffset}+${header.lastOffsetDelta} do not fit the segment`;
    }
    if (header.recordCount < 0 || header.recordCount > header.lastOffsetDelta + 1) {
      return `record count ${header.recordCount} disagrees with lastOffsetDelta`;
    }
    return null;
  }

  /**
   * Drops every batch with lastOffset >= `offset` (a batch containing `offset` goes whole);
   * returns the bytes removed.
   */
  truncateTo(offset: number): number {
    const first = this.findBatch(offset);
    if (first === null) return 0;
    const removed = this.shape.sizeBytes - first.position;
    this.#file.use((file) => file.truncateSync(first.position));
    this.offsetIndex.truncateTo(offset);
    this.timeIndex.truncateTo(offset);
    this.#rebuildShape(first.position);
    this.dirty = true;
    return removed;
  }

  /** Recomputes the shape for the first `sizeBytes` bytes from the headers. */
  #rebuildShape(sizeBytes: number): void {
    const shape = new SegmentShape(this.baseOffset, this.shape.createdMs);
    shape.sizeBytes = sizeBytes;
    shape.offsetIndexEntries = this.offsetIndex.entries;
    shape.timeIndexEntries = this.timeIndex.entries;
    shape.lastTimeIndexTimestamp = this.timeIndex.lastEntry().timestamp;
    const lastEntry = this.offsetIndex.entries - 1;
    const indexed = lastEntry >= 0 ? this.offsetIndex.positionAt(lastEntry) : 0;
    this.shape = shape;
    this.walkHeaders(0, (header) => {
      if (header.position === 0) shape.rollingBasedTimestamp = header.maxTimestamp;
      if (header.maxTimestamp > shape.maxTimestampSoFar) {
        shape.maxTimestampSoFar = header.maxTimestamp;
        shape.offsetOfMaxTimestampSoFar = header.lastOffset;
      }
      shape.nextOffset = header.lastOffset + 1;
      if (header.position >= indexed) {
        shape.bytesSinceLastIndexEntry = header.position + header.sizeBytes - indexed;
      }
      return true;
    });
  }

  /** The first batch's max timestamp (-1 when empty), loaded on first use after a reopen. */
  firstBatchTimestampMs(): number {
    if (this.shape.rollingBasedTimestamp < 0) this.loadRollingBasedTimestamp();
    return this.shape.rollingBasedTimestamp;
  }

  /** Loads the first batch's timestamp, used for `segment.ms` after a reopen. */
  loadRollingBasedTimestamp(): void {
    if (this.shape.sizeBytes < BATCH_HEADER_BYTES) return;
    const head = this.readBytes(0, BATCH_HEADER_BYTES);
    this.shape.rollingBasedTimestamp = peekHeader(new DataView(head.buffer), 0, 0).maxTimestamp;
  }

  /** The segment stops being active: final time index entry, indexes written, fsync pending. */
  onBecomeInactive(): void {
    this.#appendFinalTimeEntry();
    this.offsetIndex.writeToFile();
    this.timeIndex.writeToFile();
    this.indexesNeedSync = true;
    this.dirty = true;
  }

  /** fdatasyncs the log (and the index files once the segment is inactive). */
  async sync(): Promise<void> {
    if (this.#closed) return;
    const syncIndexes = this.indexesNeedSync;
    this.indexesNeedSync = false;
    try {
      await this.#file.useAsync((file) => file.syncData());
      if (this.#held && !this.dirty) {
        this.#held = false;
        this.#file.release();
      }
      if (syncIndexes) await this.#syncIndexes();
    } catch (error) {
      if (this.#closed && error instanceof Deno.errors.BadResource) return; // deleted meanwhile
      throw error;
    }
  }

  /** fsyncs both indexes; out of descriptors, it tries again at the next flush. */
  async #syncIndexes(): Promise<void> {
    try {
      await Promise.all([this.offsetIndex.sync(), this.timeIndex.sync()]);
    } catch (error) {
      if (!isTooManyOpenFiles(error)) throw error;
      this.indexesNeedSync = true;
      this.dirty = true;
    }
  }

  /** Writes pending index entries to their files (no fsync). */
  writeIndexes(): void {
    if (this.#closed) return;
    this.offsetIndex.writeToFile();
    this.timeIndex.writeToFile();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the files (indexes written, with the final time index entry when `final`). */
  close(final = false): void {
    if (this.#closed) return;
    if (final) this.#appendFinalTimeEntry();
    this.writeIndexes();
    this.#closed = true;
    this.#file.close();
    this.offsetIndex.close();
    this.timeIndex.close();
  }

  /**
   * Closes and removes the segment's files at once (synchronously, so the log's view and the
   * directory agree at every await; a new segment may reuse the name right after).
   */
  deleteSync(): void {
    this.#closeForDelete();
    for (const file of this.#files()) removeSyncIfExists(file);
  }

  /**
   * Closes the segment and renames its files to `.deleted` at once (so the log's view and the
   * directory agree at every await, and a new segment may take the name right after), then
   * removes them off the event loop, as Kafka's asynchronous segment deletion does: unlinking a
   * large file can hold the caller for milliseconds. A crash in between leaves `.deleted` files,
   * which the next open of the log removes.
   */
  deleteAsync(): Promise<void> {
    this.#closeForDelete();
    const renamed: string[] = [];
    for (const file of this.#files()) {
      try {
        Deno.renameSync(file, `${file}${DELETED_SUFFIX}`);
        renamed.push(`${file}${DELETED_SUFFIX}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    return Promise.all(renamed.map(removeIfExists)).then(() => {});
  }

  #closeForDelete(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
    this.offsetIndex.close();
    this.timeIndex.close();
  }

  #files(): string[] {
    return [
      this.logPath,
      this.offsetIndex.filePath,
      this.timeIndex.filePath,
      this.logPath.replace(/\.log$/, ".txnindex"),
    ];
  }
}

/** Suffix of segment files on their way out (removed by the next open if a crash left them). */
const DELETED_SUFFIX = ".deleted";

async function removeIfExists(filePath: string): Promise<void> {
  try {
    await Deno.remove(filePath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function removeSyncIfExists(filePath: string): void {
  try {
    Deno.removeSync(filePath);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
