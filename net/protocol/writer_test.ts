import assert from "node:assert/strict";
import { EncodeError } from "./errors.ts";
import { Reader } from "./reader.ts";
import { nonNull, utf8Length, valuesEqual, Writer } from "./writer.ts";

Deno.test("a writer grows past its initial capacity", () => {
  const w = new Writer(16);
  for (let i = 0; i < 1000; i++) w.int32(i);
  const r = new Reader(w.finish());
  for (let i = 0; i < 1000; i++) assert.equal(r.int32(), i);
});

Deno.test("a reserved size prefix is patched with the size of what follows", () => {
  const w = new Writer();
  const at = w.reserveSizePrefix();
  w.int16(18).int16(3).int32(7);
  w.patchSizePrefix(at);
  assert.deepEqual([...w.finish()], [0, 0, 0, 8, 0, 18, 0, 3, 0, 0, 0, 7]);
});

Deno.test("reset reuses the buffer and finish returns an independent copy", () => {
  const w = new Writer();
  w.int8(1);
  const first = w.finish();
  w.reset().int8(2);
  assert.deepEqual([...first], [1]);
  assert.deepEqual([...w.finish()], [2]);
  assert.equal(w.length, 1);
});

Deno.test("out-of-range integers are EncodeErrors, not silent wraparound", () => {
  const w = new Writer();
  assert.throws(() => w.int8(128), EncodeError);
  assert.throws(() => w.int16(70000), { message: "Cannot encode int16: 70000 is out of range" });
  assert.throws(() => w.int32(2 ** 31), EncodeError);
  assert.throws(() => w.int32(1.5), EncodeError);
  assert.throws(() => w.uint16(-1), EncodeError);
  assert.throws(() => w.uvarint(-1), EncodeError);
  assert.throws(() => w.int64(2n ** 63n), EncodeError);
  assert.throws(() => w.uuid("not-a-uuid"), EncodeError);
  assert.throws(() => w.string("x".repeat(40000)), EncodeError);
  assert.equal(w.length, 0);
});

Deno.test("strings are measured in UTF-8 bytes", () => {
  for (const s of ["", "abc", "é", "€", "😀", "a😀b€é", "\ud800x"]) {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, s);
    const w = new Writer();
    w.compactString(s);
    assert.equal(
      new Reader(w.finish()).compactString(),
      new TextDecoder().decode(new TextEncoder().encode(s)),
    );
  }
});

Deno.test("nonNull passes values through and rejects null", () => {
  assert.equal(nonNull(0, "x"), 0);
  assert.throws(() => nonNull(null, "topicName"), EncodeError);
});

Deno.test("valuesEqual compares nested values, bytes and bigints", () => {
  assert.ok(
    valuesEqual({ a: [1n, { b: new Uint8Array([1]) }] }, { a: [1n, { b: new Uint8Array([1]) }] }),
  );
  assert.ok(!valuesEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!valuesEqual([1], { 0: 1 }));
  assert.ok(!valuesEqual(new Uint8Array([1]), new Uint8Array([2])));
  assert.ok(valuesEqual(null, null));
  assert.ok(!valuesEqual(null, {}));
});

Deno.test("unknown tagged fields are written in order below a tag", () => {
  const w = new Writer();
  const fields = [{ tag: 1, data: new Uint8Array([5]) }, { tag: 4, data: new Uint8Array([6]) }];
  const next = w.unknownTaggedFields(fields, 0, 3);
  assert.equal(next, 1);
  w.unknownTaggedFields(fields, next, Infinity);
  assert.deepEqual([...w.finish()], [1, 1, 5, 4, 1, 6]);
});

Deno.test("long raw bytes are referenced, not copied, when the writer is told to", () => {
  const records = new Uint8Array(100).fill(7);
  const w = new Writer();
  w.referenceBytesMin = 64;
  const at = w.reserveSizePrefix();
  w.int16(1).bytes(records).int8(2).raw(new Uint8Array([9, 9]));
  w.patchSizePrefix(at);
  const chunks = w.finishChunks();
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], records, "the record bytes are the caller's array");
  assert.equal(w.length, 4 + 2 + 4 + 100 + 1 + 2);
  const joined = w.finish();
  assert.equal(new DataView(joined.buffer).getInt32(0), 2 + 4 + 100 + 1 + 2);
  assert.deepEqual(joined.subarray(10, 110), records);
  assert.deepEqual([...joined.subarray(110)], [2, 9, 9]);
});
