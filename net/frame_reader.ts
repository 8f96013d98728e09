/**
 * Reads Kafka's size-prefixed frames (int32 big-endian length, then that many bytes) straight
 * from a socket, without copying the bytes of a frame after the kernel hands them over.
 *
 * Small frames are read many at a time into a shared receive buffer and returned as views of it;
 * the buffer is never written again below what was handed out, so the views stay valid. A frame
 * that does not fit the receive buffer gets a buffer of its own and the socket reads straight
 * into it (only the few bytes already received are copied). So a 1 MiB produce request costs a
 * handful of `read` calls into its final place, not 16 reads into scratch buffers plus copies.
 *
 * Fresh memory is dear: the first touch of every page of a new 1 MiB buffer costs more than
 * the copy into it (about 0.7 ms per MiB measured here, against 0.02 ms to refill a used one). So
 * a large frame's buffer comes from a {@link FrameBufferPool} and goes back through
 * {@link FrameReader.recycle} once its request is done with it (the server knows which requests
 * keep no view of their frame), to take a later frame.
 *
 * A negative or oversized length throws DecodeError before anything is allocated.
 *
 * @module
 */

import { DecodeError } from "./protocol/errors.ts";

/** The part of a socket the reader needs. */
export interface ByteSource {
  read(into: Uint8Array): Promise<number | null>;
}

/** Options of {@link FrameReader}. */
export interface FrameReaderOptions {
  /** The largest frame accepted, in bytes (not counting the 4-byte size). */
  frameBytesMax: number;
  /** Size of the shared receive buffer for small frames (default 64 KiB). */
  receiveBufferBytes?: number;
  /** Where large frames get their buffers (shared by a server's connections); default: unpooled. */
  pool?: FrameBufferPool;
}

const RECEIVE_BUFFER_BYTES_DEFAULT = 64 * 1024;
/** Below this much free room the receive buffer is renewed rather than read in slivers. */
const READ_BYTES_MIN = 4 * 1024;
/** Large-frame buffers are allocated in multiples of this, so similar frames fit one buffer. */
const POOL_GRAIN_BYTES = 64 * 1024;

/**
 * Free buffers for large frames, bounded in bytes. Only buffers the pool allocated come back,
 * each at most once per loan, so no buffer is ever lent to two frames at a time.
 *
 * @example
 * ```ts
 * import { FrameBufferPool } from "./frame_reader.ts";
 * const pool = new FrameBufferPool(64 * 1024 * 1024);
 * const frame = pool.take(1_000_000);
 * pool.give(frame); // once nothing holds a view of it
 * pool.take(999_000).buffer === frame.buffer; // true
 * ```
 */
export class FrameBufferPool {
  readonly bytesMax: number;
  #owned = new WeakSet<ArrayBufferLike>();
  #free: Uint8Array[] = [];
  #freeBytes = 0;

  constructor(bytesMax: number) {
    this.bytesMax = bytesMax;
  }

  /** Bytes of buffers waiting to be lent again. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A buffer of exactly `size` bytes (a view of the smallest pooled one that fits, so a small
   * frame does not tie up a large buffer, or a fresh one); contents undefined.
   */
  take(size: number): Uint8Array {
    let i = -1;
    for (let j = 0; j < this.#free.length; j++) {
      const length = this.#free[j]!.length;
      if (length >= size && (i < 0 || length < this.#free[i]!.length)) i = j;
    }
    if (i >= 0) {
      const buffer = this.#free.splice(i, 1)[0]!;
      this.#freeBytes -= buffer.length;
      return buffer.subarray(0, size);
    }
    const buffer = new Uint8Array(Math.ceil(size / POOL_GRAIN_BYTES) * POOL_GRAIN_BYTES);
    this.#owned.add(buffer.buffer);
    return buffer.subarray(0, size);
  }

  /**
   * Takes back a buffer from {@link take}; others (and a second give) are ignored. When the bound
   * is reached, smaller free buffers make room for a larger one: a pool full of buffers slightly
   * smaller than its frames would otherwise allocate fresh memory for every frame (a consumer of
   * 50 MiB answers spent 0.7 s of CPU per GiB on page faults that way).
   */
  give(frame: Uint8Array): void {
    const bytes = frame.buffer.byteLength;
    if (!this.#owned.has(frame.buffer) || bytes > this.bytesMax) return;
    if (this.#free.some((b) => b.buffer === frame.buffer)) return;
    while (this.#freeBytes + bytes > this.bytesMax) {
      let smallest = 0;
      for (let j = 1; j < this.#free.length; j++) {
        if (this.#free[j]!.length < this.#free[smallest]!.length) smallest = j;
      }
      if (this.#free[smallest]!.length >= bytes) return; // the given one is the smallest
      this.#freeBytes -= this.#free.splice(smallest, 1)[0]!.length;
    }
    this.#free.push(new Uint8Array(frame.buffer));
    this.#freeBytes += bytes;
  }
}

/**
 * A frame reader over one connection.
 *
 * @example
 * ```ts ignore
 * const frames = new FrameReader(conn, { frameBytesMax: 104857600 });
 * for (let batch = await frames.next(); batch !== null; batch = await frames.next()) {
 *   for (const frame of batch) handle(frame);
 * }
 * ```
 */
export class FrameReader {
  readonly #source: ByteSource;
  readonly #frameBytesMax: number;
  readonly #receiveBytes: number;
  #buf: Uint8Array;
  #start = 0; // first byte not yet returned
  #end = 0; // end of received bytes
  #lentEnd = 0; // end of the last view of #buf handed out (0: none, so #buf may be rewritten)
  readonly #pool: FrameBufferPool;

  constructor(source: ByteSource, options: FrameReaderOptions) {
    this.#source = source;
    this.#frameBytesMax = options.frameBytesMax;
    this.#receiveBytes = Math.max(
      2 * READ_BYTES_MIN,
      options.receiveBufferBytes ?? RECEIVE_BUFFER_BYTES_DEFAULT,
    );
    this.#buf = new Uint8Array(this.#receiveBytes);
    this.#pool = options.pool ?? new FrameBufferPool(0);
  }

  /**
   * Resolves with the next complete frames (at least one, without size prefixes), or null when
   * the peer closed the connection between frames. A close inside a frame also yields null.
   */
  async next(): Promise<Uint8Array[] | null> {
    // Each round either returns or reads at least one byte, so the loop ends with the stream.
    while (true) {
      const frames = this.#completeFrames();
      if (frames.length > 0) return frames;
      const size = this.#end - this.#start >= 4 ? this.#sizeAt(this.#start) : -1;
      if (size >= 0 && 4 + size > this.#receiveBytes) return await this.#readLarge(size);
      const cramped = this.#start > 0 && this.#buf.length - this.#end < READ_BYTES_MIN;
      if (cramped || (size >= 0 && this.#start + 4 + size > this.#buf.length)) {
        this.#renew();
      }
      const n = await this.#source.read(this.#buf.subarray(this.#end));
      if (n === null || n === 0) return null;
      this.#end += n;
    }
  }

  #sizeAt(at: number): number {
    const b = this.#buf;
    const size = ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) | 0;
    if (size < 0 || size > this.#frameBytesMax) {
      throw new DecodeError(
        size < 0
          ? `Cannot accept frame: its size ${size} is negative`
          : `Cannot accept frame: its size ${size} exceeds the maximum of ${this.#frameBytesMax} bytes`,
      );
    }
    return size;
  }

  /** Every complete frame buffered, as views; advances past them. */
  #completeFrames(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    while (this.#end - this.#start >= 4) {
      const size = this.#sizeAt(this.#start);
      const end = this.#start + 4 + size;
      if (end > this.#end) break;
      frames.push(this.#buf.subarray(this.#start + 4, end));
      this.#start = end;
      this.#lentEnd = end;
    }
    return frames;
  }

  /**
   * Moves the unreturned bytes (fewer than one small frame) to the start of a receive buffer: the
   * same one when no view of it was handed out (a connection that carries only large frames, as a
   * follower's fetch answers, only ever starts one in it), else a fresh one.
   */
  #renew(): void {
    if (this.#lentEnd === 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      const next = new Uint8Array(this.#receiveBytes);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#lentEnd = 0;
    }
    this.#end -= this.#start;
    this.#start = 0;
  }

  /**
   * Gives back a frame this reader returned once nothing holds a view of it any more; a large
   * frame's buffer then receives a later large frame. Other frames are ignored.
   */
  recycle(frame: Uint8Array): void {
    this.#pool.give(frame);
  }

  /** Reads one frame larger than the receive buffer straight into a buffer of its own. */
  async #readLarge(size: number): Promise<Uint8Array[] | null> {
    const frame = this.#pool.take(size);
    const have = this.#end - this.#start - 4;
    frame.set(this.#buf.subarray(this.#start + 4, this.#end));
    this.#start = this.#end; // views handed out below stay untouched
    let filled = have;
    while (filled < size) {
      const n = await this.#source.read(frame.subarray(filled));
      if (n === null || n === 0) return null;
      filled += n;
    }
    return [frame];
  }
}
