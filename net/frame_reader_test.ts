import assert from "node:assert/strict";
import { DecodeError } from "./protocol/errors.ts";
import { encodeFrame } from "./protocol/frame.ts";
import { type ByteSource, FrameBufferPool, FrameReader } from "./frame_reader.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A socket that hands out `stream` at most `chunkBytes` per read, then end of stream. */
function sourceOf(stream: Uint8Array, chunkBytes: number): ByteSource {
  let at = 0;
  return {
    read(into: Uint8Array): Promise<number | null> {
      if (at >= stream.length) return Promise.resolve(null);
      const n = Math.min(into.length, chunkBytes, stream.length - at);
      into.set(stream.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

async function readAll(reader: FrameReader): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
    frames.push(...batch);
  }
  return frames;
}

Deno.test("small and large frames split at any read size come back whole and in order", async () => {
  const sizes = [0, 1, 7, 5000, 9000, 20_000, 70_000, 3, 300_000, 16_380, 2];
  const payloads = sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
  const stream = concat(payloads.map(encodeFrame));
  for (const chunkBytes of [1, 3, 1000, 8192, 65_536, 1 << 20]) {
    const reader = new FrameReader(sourceOf(stream, chunkBytes), {
      frameBytesMax: 1 << 20,
      receiveBufferBytes: 16 * 1024,
    });
    assert.deepEqual(await readAll(reader), payloads, `reads of ${chunkBytes} bytes`);
  }
});

Deno.test("frames handed out stay intact while later frames are read", async () => {
  const payloads = Array.from({ length: 500 }, (_, i) => new Uint8Array(100 + (i % 50)).fill(i));
  const reader = new FrameReader(sourceOf(concat(payloads.map(encodeFrame)), 777), {
    frameBytesMax: 1024,
    receiveBufferBytes: 8 * 1024,
  });
  const frames = await readAll(reader);
  assert.deepEqual(frames, payloads);
});

Deno.test("an oversized or negative frame size is refused before allocation", async () => {
  const big = new FrameReader(sourceOf(new Uint8Array([0, 0, 4, 1, 9]), 64), {
    frameBytesMax: 1024,
  });
  await assert.rejects(big.next(), DecodeError);
  const negative = new FrameReader(sourceOf(new Uint8Array([0xff, 0, 0, 0]), 64), {
    frameBytesMax: 1024,
  });
  await assert.rejects(negative.next(), DecodeError);
});

Deno.test("the stream ending inside a frame ends the reader", async () => {
  const stream = encodeFrame(new Uint8Array(100_000)).subarray(0, 50_000);
  const reader = new FrameReader(sourceOf(stream, 4096), { frameBytesMax: 1 << 20 });
  assert.equal(await reader.next(), null);
});

Deno.test("a recycled large frame's buffer takes a later large frame, once", async () => {
  const payloads = [1, 2, 3].map((i) => new Uint8Array(100_000).fill(i));
  const reader = new FrameReader(sourceOf(concat(payloads.map(encodeFrame)), 1 << 20), {
    frameBytesMax: 1 << 20,
    pool: new FrameBufferPool(1 << 20),
  });
  const [first] = (await reader.next())!;
  assert.deepEqual(first, payloads[0]);
  reader.recycle(first!);
  reader.recycle(first!); // a second recycle must not hand the buffer out twice
  const [second] = (await reader.next())!;
  assert.equal(second!.buffer, first!.buffer);
  assert.deepEqual(second, payloads[1]);
  const [third] = (await reader.next())!;
  assert.notEqual(third!.buffer, second!.buffer);
  assert.deepEqual(third, payloads[2]);
});

Deno.test("the frame buffer pool keeps at most its byte bound of free buffers", () => {
  const pool = new FrameBufferPool(200_000);
  const loans = [pool.take(100_000), pool.take(100_000), pool.take(100_000)];
  for (const loan of loans) pool.give(loan);
  assert.ok(pool.freeBytes <= 200_000);
  pool.give(new Uint8Array(100_000)); // not the pool's: ignored
  assert.ok(pool.freeBytes <= 200_000);
  const again = [pool.take(100_000), pool.take(100_000)];
  assert.notEqual(again[0]!.buffer, again[1]!.buffer);
});

Deno.test("the frame buffer pool lends the smallest free buffer that fits", () => {
  const pool = new FrameBufferPool(1 << 24);
  const large = pool.take(4_000_000);
  const small = pool.take(100_000);
  pool.give(large);
  pool.give(small);
  // A small frame must not tie up the large buffer a later large frame needs.
  assert.equal(pool.take(90_000).buffer, small.buffer);
  assert.equal(pool.take(3_000_000).buffer, large.buffer);
});

Deno.test("a full frame buffer pool trades its smaller free buffers for a larger one", () => {
  const pool = new FrameBufferPool(2 * 1_048_576);
  // Two buffers just too small for what follows fill the pool (buffers come in 64 KiB steps).
  const small = [pool.take(950_000), pool.take(950_000)];
  for (const loan of small) pool.give(loan);
  const large = pool.take(1_000_000); // fits neither: fresh
  assert.ok(small.every((b) => b.buffer !== large.buffer));
  pool.give(large);
  assert.ok(pool.freeBytes <= 2 * 1_048_576);
  // Frames of that size now reuse it instead of allocating each time.
  const next = pool.take(990_000);
  assert.equal(next.buffer, large.buffer);
  pool.give(next);
  assert.equal(pool.take(1_000_000).buffer, large.buffer);
});

Deno.test("a connection of large frames only keeps one receive buffer; mixed ones stay intact", async () => {
  const large = Array.from({ length: 20 }, (_, i) => new Uint8Array(40_000 + i).fill(i + 1));
  const stream = concat(large.map(encodeFrame));
  const receiveBuffers = new Set<ArrayBufferLike>();
  const source = sourceOf(stream, 5000);
  const reader = new FrameReader({
    read(into) {
      if (into.buffer.byteLength === 16 * 1024) receiveBuffers.add(into.buffer);
      return source.read(into);
    },
  }, { frameBytesMax: 1 << 20, receiveBufferBytes: 16 * 1024 });
  assert.deepEqual(await readAll(reader), large);
  assert.equal(receiveBuffers.size, 1);

  // Small frames handed out before and after large ones are never overwritten.
  const mixed = Array.from(
    { length: 60 },
    (_, i) => new Uint8Array(i % 3 === 0 ? 30_000 : 900 + i).fill(i + 1),
  );
  const mixedReader = new FrameReader(sourceOf(concat(mixed.map(encodeFrame)), 3000), {
    frameBytesMax: 1 << 20,
    receiveBufferBytes: 16 * 1024,
  });
  assert.deepEqual(await readAll(mixedReader), mixed);
});
