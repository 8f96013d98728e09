/**
 * Where a fetch read runs: synchronously on the event loop (one syscall and a copy, when the
 * bytes are in the page cache) or on Deno's blocking-I/O threads (an open, seek, reads and a
 * close: dearer, but a read that waits for the disk holds no other connection).
 *
 * Recently written bytes are in the page cache on any machine that runs a broker, so a read near
 * the end of the active segment is tried synchronously, if it is small (at most what a replica
 * fetch or a default consumer asks per partition): when the guess is wrong (memory pressure, or a
 * cache dropped on purpose) the loop waits for one small read from an SSD. On a slow disk a
 * synchronous read that took far longer than a page-cache copy shows it, and the segment's reads
 * then go off the event loop for a while.
 *
 * @module
 */

/** Bytes at the end of the active segment that count as recently written. */
export const HOT_TAIL_BYTES = 64 * 1024 * 1024;
/** The largest read tried synchronously (a replica fetch's default `replica.fetch.max.bytes`). */
export const SYNC_READ_BYTES_MAX = 1024 * 1024;
/**
 * A synchronous read slower than this waited for a slow disk (a 1 MiB page-cache copy takes
 * ~0.1 ms, an SSD read ~1-2 ms). Set well above what a busy machine's scheduling adds to a fast
 * read: at 4 ms, replica fetches on a loaded 2-core machine went off the event loop for nothing.
 */
export const SLOW_SYNC_READ_MS = 20;
/** How long a segment's reads stay off the event loop after a slow synchronous one. */
export const COLD_COOLDOWN_MS = 10_000;

/** A read about to happen. */
export interface PlannedRead {
  /** Is the segment the log's active one? */
  active: boolean;
  /** Bytes from the read's start to the segment's end. */
  bytesFromEnd: number;
  /** Bytes to read. */
  length: number;
}

/**
 * The policy for one log, per segment (keyed by the segment object; a segment that is gone is
 * forgotten with it).
 *
 * @example
 * ```ts
 * import { ReadPlacement } from "./read_placement.ts";
 * const placement = new ReadPlacement<object>();
 * const segment = {};
 * const read = { active: true, bytesFromEnd: 4096, length: 4096 };
 * placement.readSync(segment, read, 0); // true: recent and small
 * placement.observeSyncRead(segment, 25, 0); // it took 25 ms: the disk, not the page cache
 * placement.readSync(segment, read, 1_000); // false until the cool-down ends
 * ```
 */
export class ReadPlacement<Segment extends object> {
  readonly #coldUntilMs = new WeakMap<Segment, number>();

  /** Should this read run synchronously? */
  readSync(segment: Segment, read: PlannedRead, nowMs: number): boolean {
    if (!read.active || read.bytesFromEnd > HOT_TAIL_BYTES || read.length > SYNC_READ_BYTES_MAX) {
      return false;
    }
    const coldUntil = this.#coldUntilMs.get(segment);
    if (coldUntil === undefined) return true;
    if (nowMs < coldUntil) return false;
    this.#coldUntilMs.delete(segment);
    return true;
  }

  /** Reports how long a synchronous read of `segment` took. */
  observeSyncRead(segment: Segment, elapsedMs: number, nowMs: number): void {
    if (elapsedMs > SLOW_SYNC_READ_MS) this.#coldUntilMs.set(segment, nowMs + COLD_COOLDOWN_MS);
  }

  /** Forgets a segment that is gone (deleted, replaced, rolled away). */
  forget(segment: Segment): void {
    this.#coldUntilMs.delete(segment);
  }
}
