/**
 * The aborted-transaction index of a partition (Kafka's `TransactionIndex`): one `.txnindex` file
 * beside each segment, named after the segment's base offset, holding an entry for every aborted
 * transaction whose ABORT marker lies in that segment. Each entry is 34 bytes, big-endian, as
 * Kafka writes them: version (int16, 0), producerId (int64), firstOffset (int64), lastOffset (int64,
 * the marker's offset), lastStableOffset (int64, the LSO once the transaction completed).
 *
 * read_committed fetches ask it which aborted transactions overlap the offsets they return
 * ({@link TransactionIndex.collect}). The entries are kept in memory (they are few: one per aborted
 * transaction still in the log) and written through to the files; a segment's file is deleted with
 * the segment (`LogSegment.deleteSync`). Recovery reads the files back, drops entries past the log
 * end and merges what the producer-state replay found ({@link TransactionIndex.recover}).
 *
 * @module
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { readInt64Number, writeInt64Number } from "../../net/protocol/record_batch.ts";
import { offsetFileStem } from "./log_segment.ts";

/** Bytes per entry. */
export const TXN_INDEX_ENTRY_BYTES = 34;
/** The only entry version Kafka writes. */
const TXN_INDEX_VERSION = 0;
/** File suffix. */
export const TXN_INDEX_SUFFIX = ".txnindex";

/** One aborted transaction (Kafka's `AbortedTxn`). */
export interface AbortedTxn {
  producerId: number;
  /** Offset of the transaction's first record in the partition. */
  firstOffset: number;
  /** Offset of the ABORT marker. */
  lastOffset: number;
  /** The partition's last stable offset right after the transaction completed. */
  lastStableOffset: number;
}

/**
 * Encodes entries in Kafka's `.txnindex` layout.
 *
 * @example
 * ```ts
 * import { encodeAbortedTxns } from "./transaction_index.ts";
 * encodeAbortedTxns([{ producerId: 7, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 }]).length; // 34
 * ```
 */
export function encodeAbortedTxns(entries: readonly AbortedTxn[]): Uint8Array {
  const out = new Uint8Array(entries.length * TXN_INDEX_ENTRY_BYTES);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    const at = i * TXN_INDEX_ENTRY_BYTES;
    view.setInt16(at, TXN_INDEX_VERSION);
    writeInt64Number(view, at + 2, e.producerId);
    writeInt64Number(view, at + 10, e.firstOffset);
    writeInt64Number(view, at + 18, e.lastOffset);
    writeInt64Number(view, at + 26, e.lastStableOffset);
  });
  return out;
}

/**
 * Decodes a `.txnindex` file's bytes. A trailing partial entry (a torn write) is reported in
 * `trailingBytes`, not decoded; an entry of another version throws RangeError (Kafka's
 * `AbortedTxn` rejects it too).
 *
 * @example
 * ```ts
 * import { decodeAbortedTxns, encodeAbortedTxns } from "./transaction_index.ts";
 * const e = { producerId: 7, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 };
 * decodeAbortedTxns(encodeAbortedTxns([e])); // { entries: [e], trailingBytes: 0 }
 * ```
 */
export function decodeAbortedTxns(
  bytes: Uint8Array,
): { entries: AbortedTxn[]; trailingBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.length / TXN_INDEX_ENTRY_BYTES);
  const entries: AbortedTxn[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * TXN_INDEX_ENTRY_BYTES;
    const version = view.getInt16(at);
    if (version !== TXN_INDEX_VERSION) {
      throw new RangeError(
        `Cannot read aborted transaction at byte ${at}: version ${version}, only ${TXN_INDEX_VERSION} exists.`,
      );
    }
    entries.push({
      producerId: readInt64Number(view, at + 2, "producerId"),
      firstOffset: readInt64Number(view, at + 10, "firstOffset"),
      lastOffset: readInt64Number(view, at + 18, "lastOffset"),
      lastStableOffset: readInt64Number(view, at + 26, "lastStableOffset"),
    });
  }
  return { entries, trailingBytes: bytes.length - count * TXN_INDEX_ENTRY_BYTES };
}

/**
 * The `.txnindex` path of the segment starting at `baseOffset`.
 *
 * @example
 * ```ts
 * import { txnIndexPath } from "./transaction_index.ts";
 * txnIndexPath("/data/orders-0", 0); // "/data/orders-0/00000000000000000000.txnindex"
 * ```
 */
export function txnIndexPath(dir: string, baseOffset: number): string {
  return path.join(dir, `${offsetFileStem(baseOffset)}${TXN_INDEX_SUFFIX}`);
}

/** The base of the segment holding `offset`: the greatest base <= offset (bases ascending). */
function segmentOf(offset: number, segmentBases: readonly number[]): number {
  let base = segmentBases[0] ?? 0;
  for (const b of segmentBases) {
    if (b > offset) break;
    base = b;
  }
  return base;
}

function sameEntries(a: readonly AbortedTxn[], b: readonly AbortedTxn[]): boolean {
  return a.length === b.length && a.every((e, i) => {
    const f = b[i]!;
    return e.producerId === f.producerId && e.firstOffset === f.firstOffset &&
      e.lastOffset === f.lastOffset && e.lastStableOffset === f.lastStableOffset;
  });
}

/**
 * The aborted transactions of one partition directory.
 *
 * @example
 * ```ts
 * import { TransactionIndex } from "./transaction_index.ts";
 * const dir = await Deno.makeTempDir();
 * const index = await TransactionIndex.open(dir, [0]);
 * index.append({ producerId: 7, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 }, [0]);
 * index.collect(0, 10); // [{ producerId: 7, firstOffset: 0 }]
 * ```
 */
export class TransactionIndex {
  readonly dir: string;
  /** Ascending by lastOffset (markers are appended in offset order). */
  #entries: AbortedTxn[] = [];
  /** Segments whose file could not be read whole: {@link recover} rewrites them. */
  #unreadable = new Set<number>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** An index with no entries, before {@link open} has read the files. */
  static empty(dir: string): TransactionIndex {
    return new TransactionIndex(dir);
  }

  /**
   * Reads the `.txnindex` files of the given segments. A file that cannot be read as Kafka's
   * format is reported through `warn` and left to {@link recover} to rewrite.
   */
  static async open(
    dir: string,
    segmentBases: readonly number[],
    warn: (line: string) => void = console.warn,
  ): Promise<TransactionIndex> {
    const index = new TransactionIndex(dir);
    for (const base of segmentBases) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(txnIndexPath(dir, base));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      try {
        const { entries, trailingBytes } = decodeAbortedTxns(bytes);
        if (trailingBytes > 0) {
          index.#unreadable.add(base);
          warn(`Ignoring ${trailingBytes} trailing bytes of ${txnIndexPath(dir, base)}`);
        }
        index.#entries.push(...entries);
      } catch (error) {
        index.#unreadable.add(base);
        warn(`Ignoring unreadable ${txnIndexPath(dir, base)}: ${(error as Error).message}`);
      }
    }
    index.#entries.sort((a, b) => a.lastOffset - b.lastOffset);
    return index;
  }

  /** Every entry, ascending by marker offset. */
  get entries(): readonly AbortedTxn[] {
    return this.#entries;
  }

  /**
   * Records an aborted transaction and appends it to the file of the segment holding its marker
   * at once (entries stay in order); resolves once the file is fsynced, which runs off the event
   * loop. The caller acknowledges the marker only after that, so a synced entry never lags the
   * log it describes.
   */
  append(entry: AbortedTxn, segmentBases: readonly number[]): Promise<void> {
    const last = this.#entries.at(-1);
    assert(
      last === undefined || entry.lastOffset > last.lastOffset,
      `aborted transaction at ${entry.lastOffset} appended after one at ${last?.lastOffset}`,
    );
    this.#entries.push(entry);
    const file = Deno.openSync(txnIndexPath(this.dir, segmentOf(entry.lastOffset, segmentBases)), {
      create: true,
      append: true,
    });
    try {
      const bytes = encodeAbortedTxns([entry]);
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    } catch (error) {
      file.close();
      return Promise.reject(error);
    }
    return file.syncData().finally(() => file.close());
  }

  /**
   * Aborted transactions overlapping [startOffset, upperBoundOffset): those whose marker is at or
   * after `startOffset` and whose first record is before `upperBoundOffset` (Kafka's
   * `UnifiedLog.collectAbortedTransactions`).
   */
  collect(
    startOffset: number,
    upperBoundOffset: number,
  ): { producerId: number; firstOffset: number }[] {
    const out: { producerId: number; firstOffset: number }[] = [];
    for (const e of this.#entries) {
      if (e.lastOffset >= startOffset && e.firstOffset < upperBoundOffset) {
        out.push({ producerId: e.producerId, firstOffset: e.firstOffset });
      }
    }
    return out;
  }

  /**
   * Drops entries whose marker is at or after `offset` (log truncation; the log already deleted
   * the files of the segments it removed) and rewrites the files of the remaining segments.
   */
  truncateFrom(offset: number, segmentBases: readonly number[]): void {
    const dropped = this.#entries.filter((e) => e.lastOffset >= offset);
    if (dropped.length === 0) return;
    this.#entries = this.#entries.filter((e) => e.lastOffset < offset);
    const touched = new Set(dropped.map((e) => segmentOf(e.lastOffset, segmentBases)));
    for (const base of touched) {
      if (segmentBases.includes(base)) this.#rewriteSync(base, segmentBases);
    }
  }

  /** Forgets every entry (the log started over; its files went with its segments). */
  clear(): void {
    this.#entries = [];
  }

  /** Forgets entries wholly below the log start (their segments are deleted or will be). */
  dropBelow(logStartOffset: number): void {
    this.#entries = this.#entries.filter((e) => e.lastOffset >= logStartOffset);
  }

  /**
   * After a restart: drops entries whose marker lies at or past `logEndOffset` (lost with the
   * log's unsynced tail), adds the `replayed` ones (aborts the producer-state replay met) that are
   * missing, and rewrites every segment file whose content changed.
   */
  async recover(
    replayed: readonly AbortedTxn[],
    options: { logEndOffset: number; segmentBases: readonly number[] },
  ): Promise<void> {
    const { logEndOffset, segmentBases } = options;
    const byMarker = new Map<number, AbortedTxn>();
    for (const e of this.#entries) if (e.lastOffset < logEndOffset) byMarker.set(e.lastOffset, e);
    for (const e of replayed) if (e.lastOffset < logEndOffset) byMarker.set(e.lastOffset, e);
    const before = this.#entries;
    this.#entries = [...byMarker.values()].sort((a, b) => a.lastOffset - b.lastOffset);
    for (const base of segmentBases) {
      const was = before.filter((e) => segmentOf(e.lastOffset, segmentBases) === base);
      const now = this.#entries.filter((e) => segmentOf(e.lastOffset, segmentBases) === base);
      if (!sameEntries(was, now) || this.#unreadable.has(base)) await this.#rewrite(base, now);
    }
    this.#unreadable.clear();
  }

  #rewriteSync(base: number, segmentBases: readonly number[]): void {
    const entries = this.#entries.filter((e) => segmentOf(e.lastOffset, segmentBases) === base);
    const filePath = txnIndexPath(this.dir, base);
    const tmp = `${filePath}.tmp`;
    Deno.writeFileSync(tmp, encodeAbortedTxns(entries));
    Deno.renameSync(tmp, filePath);
  }

  async #rewrite(base: number, entries: readonly AbortedTxn[]): Promise<void> {
    const filePath = txnIndexPath(this.dir, base);
    const tmp = `${filePath}.tmp`;
    await Deno.writeFile(tmp, encodeAbortedTxns(entries));
    const file = await Deno.open(tmp, { write: true });
    try {
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, filePath);
  }
}
