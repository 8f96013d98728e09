import assert from "node:assert/strict";
import lz4js from "lz4js";
import { compress as snappyRaw } from "snappyjs";
import { decompress as fzstdDecompress } from "fzstd";
import { Codec, compress, decompress, xxh32 } from "./compression.ts";
import { CorruptBatchError } from "./record_batch.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const isCorrupt = (e: unknown) => e instanceof CorruptBatchError && e.code === 2;

function pseudoRandom(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function jsonLike(n: number): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; parts.join("").length < n; i++) {
    parts.push(
      JSON.stringify({ id: i, user: `user-${i % 97}`, amount: (i * 37) % 1000, ok: true }),
    );
  }
  return ascii(parts.join("\n")).subarray(0, n);
}

const samples: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["one byte", new Uint8Array([42])],
  ["twelve bytes", ascii("hello world!")],
  ["incompressible 100 KiB", pseudoRandom(100 * 1024)],
  ["json 300 KiB", jsonLike(300 * 1024)],
  ["zeros 1 MiB", new Uint8Array(1024 * 1024)],
];

Deno.test("every codec round trips empty, tiny, random, text and zero inputs", () => {
  for (const codec of [0, 1, 2, 3, 4]) {
    for (const [name, data] of samples) {
      const packed = compress(codec, data);
      assert.deepEqual(decompress(codec, packed), data, `codec ${codec} on ${name}`);
    }
  }
});

Deno.test("xxh32 matches the reference check values", () => {
  assert.equal(xxh32(new Uint8Array(0)), 0x02cc5d05);
  assert.equal(xxh32(ascii("a")), 0x550d7456);
  assert.equal(xxh32(ascii("abc")), 0x32d153ff);
  assert.equal(xxh32(ascii("Nobody inspects the spammish repetition")), 0xe2293b2f);
});

Deno.test("lz4 frames use Kafka's header: independent 64 KiB blocks and a correct HC byte", () => {
  const frame = compress(Codec.LZ4, jsonLike(1000));
  assert.deepEqual([...frame.subarray(0, 6)], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
  assert.equal(frame[6], (xxh32(frame, 4, 6) >>> 8) & 0xff);
  const legacy = compress(Codec.LZ4, jsonLike(1000), { lz4LegacyHeaderChecksum: true });
  assert.equal(legacy[6], (xxh32(legacy, 0, 6) >>> 8) & 0xff);
  assert.deepEqual(decompress(Codec.LZ4, legacy), jsonLike(1000));
});

/** Walks an LZ4 block and checks the end-of-block rules strict decoders enforce. */
function checkLz4BlockRules(block: Uint8Array, decodedLength: number) {
  let s = 0;
  let o = 0;
  for (;;) {
    const token = block[s++]!;
    let lit = token >>> 4;
    if (lit === 15) { for (let b = 255; b === 255; lit += b) b = block[s++]!; }
    s += lit;
    o += lit;
    if (s === block.length) break;
    assert.ok(o <= decodedLength - 12, `a match starts ${decodedLength - o} bytes before the end`);
    s += 2;
    let ml = token & 15;
    if (ml === 15) { for (let b = 255; b === 255; ml += b) b = block[s++]!; }
    o += ml + 4;
    assert.ok(o <= decodedLength - 5, "a match reaches into the last five bytes");
  }
  assert.equal(o, decodedLength);
}

Deno.test("lz4 blocks respect MFLIMIT and LASTLITERALS so lz4-java can decode them", () => {
  const data = jsonLike(200 * 1024);
  const frame = compress(Codec.LZ4, data);
  const v = new DataView(frame.buffer, frame.byteOffset);
  let s = 7;
  let consumed = 0;
  for (;;) {
    const word = v.getUint32(s, true);
    s += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    const plain = Math.min(65536, data.length - consumed);
    if ((word & 0x80000000) === 0) checkLz4BlockRules(frame.subarray(s, s + size), plain);
    consumed += plain;
    s += size;
  }
  assert.equal(consumed, data.length);
});

Deno.test("lz4 interoperates with lz4js in both directions", () => {
  const data = jsonLike(150 * 1024);
  assert.deepEqual(new Uint8Array(lz4js.decompress(compress(Codec.LZ4, data))), data);
  assert.deepEqual(decompress(Codec.LZ4, new Uint8Array(lz4js.compress(data))), data);
});

Deno.test("lz4 frames with content size and block checksums decode, bad checksums do not", () => {
  const data = ascii("abcabcabcabcabcabcabc");
  const frame = new Uint8Array(4 + 2 + 8 + 1 + 4 + data.length + 4 + 4);
  const v = new DataView(frame.buffer);
  v.setUint32(0, 0x184d2204, true);
  frame[4] = 0x40 | 0x20 | 0x10 | 0x08; // version, independent, block checksum, content size
  frame[5] = 0x70; // 4 MiB blocks
  v.setUint32(6, data.length, true);
  frame[14] = (xxh32(frame, 4, 14) >>> 8) & 0xff;
  v.setUint32(15, data.length | 0x80000000, true);
  frame.set(data, 19);
  v.setUint32(19 + data.length, xxh32(data), true);
  assert.deepEqual(decompress(Codec.LZ4, frame), data);
  frame[20]! ^= 1;
  assert.throws(() => decompress(Codec.LZ4, frame), isCorrupt);
});

Deno.test("snappy decompression reads both xerial framing and raw snappy", () => {
  const data = jsonLike(100 * 1024);
  const xerial = compress(Codec.SNAPPY, data);
  assert.deepEqual([...xerial.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0]);
  assert.equal(new DataView(xerial.buffer).getInt32(8), 1);
  assert.deepEqual(decompress(Codec.SNAPPY, xerial), data);
  assert.deepEqual(decompress(Codec.SNAPPY, snappyRaw(data)), data);
  assert.deepEqual(
    decompress(Codec.SNAPPY, compress(Codec.SNAPPY, data, { snappyRaw: true })),
    data,
  );
});

Deno.test("zstd output decodes with fzstd and concatenated frames decode", () => {
  const a = jsonLike(70 * 1024);
  const b = pseudoRandom(5000);
  const za = compress(Codec.ZSTD, a);
  assert.deepEqual(fzstdDecompress(za), a);
  const both = new Uint8Array([...za, ...compress(Codec.ZSTD, b)]);
  assert.deepEqual(decompress(Codec.ZSTD, both), new Uint8Array([...a, ...b]));
});

Deno.test("decompression past the size limit throws CorruptBatchError for every codec", () => {
  const bomb = new Uint8Array(4 * 1024 * 1024);
  for (const codec of [0, 1, 2, 3, 4]) {
    const packed = compress(codec, bomb);
    assert.throws(() => decompress(codec, packed, 1024 * 1024), isCorrupt, `codec ${codec}`);
    assert.equal(decompress(codec, packed, bomb.length).length, bomb.length);
  }
});

Deno.test("truncated and garbage inputs throw CorruptBatchError, never anything else", () => {
  const data = jsonLike(20 * 1024);
  let seed = 99;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const codec of [1, 2, 3, 4]) {
    const packed = compress(codec, data);
    for (let i = 0; i < 300; i++) {
      const input = packed.slice(0, Math.floor(rand() * packed.length));
      if (i % 2 === 1 && input.length > 0) input[Math.floor(rand() * input.length)]! ^= 0xff;
      try {
        decompress(codec, input, 1 << 20);
      } catch (e) {
        assert.ok(isCorrupt(e), `codec ${codec} iteration ${i}: ${e}`);
      }
    }
  }
  assert.throws(() => decompress(7, data), isCorrupt);
});
