// The WASM slicing-by-16 CRC agrees with a bit-at-a-time reference at every length around its
// 16-byte step, at odd offsets, and across its 1 MiB input window.
import { strict as assert } from "node:assert";
import { crc32, crc32c } from "./crc32c.ts";

function reference(polynomial: number, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

Deno.test("the check values of CRC32C and CRC32", () => {
  const digits = new TextEncoder().encode("123456789");
  assert.equal(crc32c(digits), 0xe3069283);
  assert.equal(crc32(digits), 0xcbf43926);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("every length from 0 to 4200 bytes, at odd offsets, matches the bit-wise reference", () => {
  let seed = 12345;
  const data = new Uint8Array(4300).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  for (let length = 0; length <= 4200; length += length < 64 ? 1 : 37) {
    for (const offset of [0, 3]) {
      const view = data.subarray(offset, offset + length);
      assert.equal(crc32c(view), reference(0x82f63b78, view), `crc32c of ${length} at ${offset}`);
      assert.equal(crc32(view), reference(0xedb88320, view), `crc32 of ${length} at ${offset}`);
    }
  }
});

Deno.test("inputs longer than the 1 MiB window match the reference across window boundaries", () => {
  const mib = 1 << 20;
  let seed = 777;
  const data = new Uint8Array(2 * mib + 100).map(() =>
    (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
  );
  for (const length of [mib - 1, mib, mib + 1, mib + 17, 2 * mib + 99]) {
    const view = data.subarray(1, 1 + length);
    assert.equal(crc32c(view), reference(0x82f63b78, view), `crc32c of ${length}`);
    assert.equal(crc32(view), reference(0xedb88320, view), `crc32 of ${length}`);
  }
});
