import assert from "node:assert/strict";
import { DecodeError, Reader } from "./reader.ts";
import { Writer } from "./writer.ts";
import { METADATA_TOPIC_ID, ZERO_UUID } from "./uuid.ts";

function bytesOf(write: (w: Writer) => void): Uint8Array {
  const w = new Writer(16);
  write(w);
  return w.finish();
}

Deno.test("a reader decodes what a writer encodes for every primitive", () => {
  const bytes = bytesOf((w) => {
    w.bool(true).int8(-128).int16(-32768).uint16(65535).int32(-2147483648).uint32(4294967295);
    w.int64(-(2n ** 63n)).int64(2n ** 63n - 1n).float64(-1.25);
    w.uvarint(0).uvarint(127).uvarint(128).uvarint(4294967295);
    w.varint(-1).varint(2147483647).varint(-2147483648);
    w.varlong(-(2n ** 63n)).varlong(2n ** 63n - 1n).varlong(300);
    w.string("héllo").nullableString(null).compactString("").compactNullableString(null);
    w.bytes(new Uint8Array([1, 2])).nullableBytes(null).compactBytes(new Uint8Array([3]));
    w.compactNullableBytes(null).uuid(METADATA_TOPIC_ID).uuid(ZERO_UUID);
    w.array([1, 2], (w, v) => w.int32(v)).nullableArray(null, (w, v: number) => w.int32(v));
    w.compactArray(["a"], (w, v) => w.compactString(v)).compactNullableArray(
      null,
      (w, v: string) => w.compactString(v),
    );
  });
  const r = new Reader(bytes);
  assert.equal(r.bool(), true);
  assert.equal(r.int8(), -128);
  assert.equal(r.int16(), -32768);
  assert.equal(r.uint16(), 65535);
  assert.equal(r.int32(), -2147483648);
  assert.equal(r.uint32(), 4294967295);
  assert.equal(r.int64(), -(2n ** 63n));
  assert.equal(r.int64(), 2n ** 63n - 1n);
  assert.equal(r.float64(), -1.25);
  assert.deepEqual([r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()], [0, 127, 128, 4294967295]);
  assert.deepEqual([r.varint(), r.varint(), r.varint()], [-1, 2147483647, -2147483648]);
  assert.deepEqual([r.varlong(), r.varlong(), r.varlong()], [-(2n ** 63n), 2n ** 63n - 1n, 300n]);
  assert.equal(r.string(), "héllo");
  assert.equal(r.nullableString(), null);
  assert.equal(r.compactString(), "");
  assert.equal(r.compactNullableString(), null);
  assert.deepEqual([...r.bytes()], [1, 2]);
  assert.equal(r.nullableBytes(), null);
  assert.deepEqual([...r.compactBytes()], [3]);
  assert.equal(r.compactNullableBytes(), null);
  assert.equal(r.uuid(), METADATA_TOPIC_ID);
  assert.equal(r.uuid(), ZERO_UUID);
  assert.deepEqual(r.array((r) => r.int32()), [1, 2]);
  assert.equal(r.nullableArray((r) => r.int32()), null);
  assert.deepEqual(r.compactArray((r) => r.compactString()), ["a"]);
  assert.equal(r.compactNullableArray((r) => r.compactString()), null);
  assert.equal(r.remaining, 0);
});

Deno.test("varints use Kafka's zigzag encoding", () => {
  assert.deepEqual([...bytesOf((w) => w.varint(-1))], [1]);
  assert.deepEqual([...bytesOf((w) => w.varint(1))], [2]);
  assert.deepEqual([...bytesOf((w) => w.varint(-64))], [127]);
  assert.deepEqual([...bytesOf((w) => w.varint(64))], [0x80, 1]);
  assert.deepEqual([...bytesOf((w) => w.uvarint(300))], [0xac, 2]);
  assert.deepEqual([...bytesOf((w) => w.varlong(-1n))], [1]);
  assert.equal(new Reader(new Uint8Array([0xac, 2])).uvarint(), 300);
  assert.equal(
    new Reader(bytesOf((w) => w.varlong(12345678901234))).varlongNumber(),
    12345678901234,
  );
});

Deno.test("bytes are returned as views into the frame, not copies", () => {
  const frame = bytesOf((w) => w.bytes(new Uint8Array([9, 9, 9])));
  const b = new Reader(frame).bytes();
  assert.equal(b.buffer, frame.buffer);
  assert.equal(b.byteOffset, 4);
});

Deno.test("a truncated int32 throws a one-sentence DecodeError naming offset and remainder", () => {
  const r = new Reader(new Uint8Array(14));
  r.skip(12);
  assert.throws(() => r.int32(), {
    name: "DecodeError",
    message: "Cannot decode int32 at offset 12: 2 bytes remain",
  });
});

Deno.test("a hostile length fails before allocating anything", () => {
  const arrayOfHuge = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0]);
  assert.throws(() => new Reader(arrayOfHuge).array((r) => r.int8()), DecodeError);
  const compactHuge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.throws(() => new Reader(compactHuge).compactArray((r) => r.int8()), DecodeError);
  assert.throws(() => new Reader(compactHuge).compactBytes(), DecodeError);
  assert.throws(() => new Reader(compactHuge).compactString(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array([0x7f, 0xff, 0, 0])).string(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array([0x7f, 0xff, 0xff, 0xff])).bytes(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array([0xff, 0xfe])).nullableString(), DecodeError);
  assert.throws(
    () => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xfe])).nullableBytes(),
    DecodeError,
  );
});

Deno.test("null where a non-null value is required is a DecodeError", () => {
  assert.throws(() => new Reader(new Uint8Array([0xff, 0xff])).string(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array([0])).compactString(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array([0])).compactArray((r) => r.int8()), DecodeError);
  assert.throws(
    () => new Reader(new Uint8Array([255, 255, 255, 255])).array((r) => r.int8()),
    DecodeError,
  );
});

Deno.test("overlong varints are rejected", () => {
  assert.throws(() => new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0])).uvarint(), {
    name: "DecodeError",
    message: "Cannot decode varint at offset 0: it is longer than 5 bytes",
  });
  assert.throws(
    () => new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f])).uvarint(),
    DecodeError,
  );
  assert.throws(() => new Reader(new Uint8Array([0x80])).uvarint(), DecodeError);
  assert.throws(() => new Reader(new Uint8Array(11).fill(0x80)).varlong(), DecodeError);
});

Deno.test("a reader over a sub-range does not read past its end", () => {
  const r = new Reader(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]), 0, 4);
  assert.equal(r.int32(), 1);
  assert.throws(() => r.int8(), DecodeError);
});

Deno.test("tagged fields must be in ascending order and known tags must use their exact size", () => {
  // two fields, tag 1 then tag 0
  const unordered = new Uint8Array([2, 1, 1, 5, 0, 1, 6]);
  assert.throws(() => new Reader(unordered).taggedFields(() => false), DecodeError);
  const r = new Reader(new Uint8Array([1, 0, 2, 5, 6]));
  assert.throws(
    () =>
      r.taggedFields(() => {
        r.int8();
        return true;
      }),
    DecodeError,
  );
  const unknown = new Reader(new Uint8Array([2, 0, 1, 5, 9, 2, 6, 7])).taggedFields(() => false);
  assert.deepEqual(unknown.map((f) => [f.tag, [...f.data]]), [[0, [5]], [9, [6, 7]]]);
});
