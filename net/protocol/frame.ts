/**
 * Splitting a byte stream into Kafka's size-prefixed frames (int32 big-endian length, then that
 * many bytes).
 *
 * @module
 */

import { DecodeError } from "./errors.ts";

/** Kafka's default `socket.request.max.bytes` (100 MiB). */
export const FRAME_BYTES_MAX_DEFAULT = 104857600;

/** Options of {@link FrameSplitter}. */
export interface FrameSplitterOptions {
  /** The largest frame accepted, in bytes (not counting the 4-byte size). */
  frameBytesMax?: number;
}

/**
 * A streaming splitter: push chunks as they arrive, get back the complete frames (without their
 * size prefix). Frames may span chunks and a chunk may hold many frames; every byte is copied at
 * most twice (bytes of an incomplete frame are kept in a copy of their own). A negative or oversized length throws DecodeError before anything is allocated, and
 * the splitter then refuses further input (the connection must be closed).
 *
 * Returned frames are fresh copies, so callers may reuse the chunk buffers they push.
 *
 * @example
 * ```ts
 * import { FrameSplitter } from "./frame.ts";
 * const splitter = new FrameSplitter({ frameBytesMax: 1024 });
 * splitter.push(new Uint8Array([0, 0, 0, 2, 7])); // [] (incomplete)
 * splitter.push(new Uint8Array([8, 0, 0, 0, 0])); // [Uint8Array [7, 8], Uint8Array []]
 * ```
 */
export class FrameSplitter {
  readonly frameBytesMax: number;
  #chunks: Uint8Array[] = [];
  #first = 0; // index of the first unconsumed chunk in #chunks
  #head = 0; // offset into #chunks[#first]
  #buffered = 0;
  #frameBytes = -1; // size of the frame being assembled, -1 while its prefix is incomplete
  #failed: DecodeError | undefined;

  constructor(options: FrameSplitterOptions = {}) {
    const max = options.frameBytesMax ?? FRAME_BYTES_MAX_DEFAULT;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fffffff) {
      throw new RangeError(`frameBytesMax must be an int32 >= 0, got ${max}`);
    }
    this.frameBytesMax = max;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Adds a chunk and returns every frame it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw this.#failed;
    const frames: Uint8Array[] = [];
    if (chunk.length === 0) return frames;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // Each iteration consumes at least the 4-byte prefix, so the loop is bounded by the input.
    while (true) {
      if (this.#frameBytes < 0) {
        if (this.#buffered < 4) break;
        const prefix = this.#take(4);
        const size = new DataView(prefix.buffer, prefix.byteOffset, 4).getInt32(0);
        if (size < 0 || size > this.frameBytesMax) {
          this.#failed = new DecodeError(
            size < 0
              ? `Cannot accept frame: its size ${size} is negative`
              : `Cannot accept frame: its size ${size} exceeds the maximum of ${this.frameBytesMax} bytes`,
          );
          this.#chunks = [];
          this.#first = 0;
          this.#buffered = 0;
          throw this.#failed;
        }
        this.#frameBytes = size;
      }
      if (this.#buffered < this.#frameBytes) break;
      frames.push(this.#take(this.#frameBytes));
      this.#frameBytes = -1;
    }
    this.#ownTail(chunk);
    return frames;
  }

  /**
   * Replaces the caller's `chunk`, when bytes of it are still buffered, by a copy of those bytes:
   * the caller may reuse its read buffer as soon as push returns.
   */
  #ownTail(chunk: Uint8Array): void {
    const last = this.#chunks.length - 1;
    if (last < this.#first || this.#chunks[last] !== chunk) return;
    const start = last === this.#first ? this.#head : 0;
    this.#chunks[last] = chunk.slice(start);
    if (last === this.#first) this.#head = 0;
  }

  /** Removes `n` buffered bytes (n <= buffered) and returns them as a new array. */
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const first = this.#chunks[this.#first]!;
      const count = Math.min(n - filled, first.length - this.#head);
      out.set(first.subarray(this.#head, this.#head + count), filled);
      filled += count;
      this.#head += count;
      if (this.#head === first.length) {
        this.#first++;
        this.#head = 0;
      }
    }
    if (this.#first === this.#chunks.length) {
      this.#chunks = [];
      this.#first = 0;
    } else if (this.#first >= 64) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
    this.#buffered -= n;
    return out;
  }
}

/**
 * Prefixes `payload` with its int32 size.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./frame.ts";
 * encodeFrame(new Uint8Array([1, 2])); // Uint8Array [0, 0, 0, 2, 1, 2]
 * ```
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setInt32(0, payload.length);
  out.set(payload, 4);
  return out;
}
