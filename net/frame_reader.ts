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
}

const RECEIVE_BUFFER_BYTES_DEFAULT = 64 * 1024;
/** Below this much free room the receive buffer is renewed rather than read in slivers. */
const READ_BYTES_MIN = 4 * 1024;

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

  constructor(source: ByteSource, options: FrameReaderOptions) {
    this.#source = source;
    this.#frameBytesMax = options.frameBytesMax;
    this.#receiveBytes = Math.max(
      2 * READ_BYTES_MIN,
      options.receiveBufferBytes ?? RECEIVE_BUFFER_BYTES_DEFAULT,
    );
    this.#buf = new Uint8Array(this.#receiveBytes);
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
    }
    return frames;
  }

  /** A fresh receive buffer holding the unreturned bytes (fewer than one small frame). */
  #renew(): void {
    const next = new Uint8Array(this.#receiveBytes);
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = next;
  }

  /** Reads one frame larger than the receive buffer straight into a buffer of its own. */
  async #readLarge(size: number): Promise<Uint8Array[] | null> {
    const frame = new Uint8Array(size);
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
