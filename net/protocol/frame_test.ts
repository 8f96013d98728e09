import assert from "node:assert/strict";
import { DecodeError } from "./errors.ts";
import { encodeFrame, FRAME_BYTES_MAX_DEFAULT, FrameSplitter } from "./frame.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("the default maximum frame size is Kafka's socket.request.max.bytes", () => {
  assert.equal(FRAME_BYTES_MAX_DEFAULT, 104857600);
  assert.equal(new FrameSplitter().frameBytesMax, 104857600);
});

Deno.test("many frames in one chunk are all returned in order", () => {
  const payloads = [new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3, 4])];
  const frames = new FrameSplitter().push(concat(payloads.map(encodeFrame)));
  assert.deepEqual(frames, payloads);
});

Deno.test("frames split at every byte boundary are reassembled", () => {
  const payloads = Array.from({ length: 20 }, (_, i) => new Uint8Array(i * 7).fill(i));
  const stream = concat(payloads.map(encodeFrame));
  for (const chunkBytes of [1, 2, 3, 5, 64, 1000]) {
    const splitter = new FrameSplitter();
    const frames: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += chunkBytes) {
      frames.push(...splitter.push(stream.subarray(at, at + chunkBytes)));
    }
    assert.deepEqual(frames, payloads, `chunks of ${chunkBytes}`);
    assert.equal(splitter.bufferedBytes, 0);
  }
});

Deno.test("returned frames are copies, so pushed buffers may be reused", () => {
  const splitter = new FrameSplitter();
  const chunk = encodeFrame(new Uint8Array([7, 7]));
  const [frame] = splitter.push(chunk);
  chunk.fill(0);
  assert.deepEqual([...frame!], [7, 7]);
});

Deno.test("a pushed buffer may be reused while the frame it starts is incomplete", () => {
  // Readers fill one buffer per read: the bytes of a partial frame must not alias it.
  const splitter = new FrameSplitter();
  const bytes = concat([encodeFrame(new Uint8Array([1, 2])), encodeFrame(new Uint8Array([3, 4]))]);
  const buf = new Uint8Array(16);
  const frames: number[][] = [];
  for (const [from, to] of [[0, 4], [4, 9], [9, 12]] as const) {
    buf.set(bytes.subarray(from, to));
    frames.push(...splitter.push(buf.subarray(0, to - from)).map((f) => [...f]));
    buf.fill(0xee);
  }
  assert.deepEqual(frames, [[1, 2], [3, 4]]);
  assert.equal(splitter.bufferedBytes, 0);
});

Deno.test("an oversized length is rejected before the frame is buffered", () => {
  const splitter = new FrameSplitter({ frameBytesMax: 10 });
  assert.throws(() => splitter.push(new Uint8Array([0, 0, 0, 11])), {
    name: "DecodeError",
    message: "Cannot accept frame: its size 11 exceeds the maximum of 10 bytes",
  });
  assert.throws(() => splitter.push(new Uint8Array([0])), DecodeError); // stays failed
  const huge = new FrameSplitter();
  assert.throws(() => huge.push(new Uint8Array([0x7f, 0xff, 0xff, 0xff])), DecodeError);
});

Deno.test("a negative length is rejected", () => {
  assert.throws(() => new FrameSplitter().push(new Uint8Array([0xff, 0xff, 0xff, 0xfe])), {
    message: "Cannot accept frame: its size -2 is negative",
  });
});

Deno.test("a large frame arriving in many small chunks is assembled in linear time", () => {
  const payload = new Uint8Array(4 * 1024 * 1024).map((_, i) => i & 255);
  const stream = encodeFrame(payload);
  const splitter = new FrameSplitter();
  const started = performance.now();
  const frames: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += 1024) {
    frames.push(...splitter.push(stream.subarray(at, at + 1024)));
  }
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.subarray(0, 300), payload.subarray(0, 300));
  assert.equal(frames[0]!.length, payload.length);
  assert.ok(performance.now() - started < 2000);
});
