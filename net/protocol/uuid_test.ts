import assert from "node:assert/strict";
import {
  isUuid,
  METADATA_TOPIC_ID,
  randomUuid,
  uuidFromBytes,
  uuidToBytes,
  ZERO_UUID,
} from "./uuid.ts";

Deno.test("uuids round-trip between base64url strings and 16 bytes", () => {
  const bytes = new Uint8Array(16).map((_, i) => i * 17);
  const s = uuidFromBytes(bytes);
  assert.equal(s.length, 22);
  assert.deepEqual(uuidToBytes(s), bytes);
  assert.equal(uuidFromBytes(new Uint8Array(16)), ZERO_UUID);
  assert.deepEqual([...uuidToBytes(METADATA_TOPIC_ID)], [...new Uint8Array(15), 1]);
});

Deno.test("uuid strings match Java's Base64 url encoder without padding", () => {
  const bytes = new Uint8Array(16).fill(0xff);
  assert.equal(uuidFromBytes(bytes), "_____________________w");
  const b = new Uint8Array(16).map((_, i) => 250 - i * 3);
  const expected = btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
  assert.equal(uuidFromBytes(b), expected);
});

Deno.test("malformed uuid strings are rejected", () => {
  for (
    const s of [
      "",
      "AAAA",
      "AAAAAAAAAAAAAAAAAAAAA=",
      "AAAAAAAAAAAAAAAAAAAAAB",
      "AAAAAAAAAAAAAAAAAAAA+A",
    ]
  ) {
    assert.equal(isUuid(s), false, s);
    assert.throws(() => uuidToBytes(s), RangeError);
  }
});

Deno.test("random uuids are version 4 and never reserved", () => {
  for (let i = 0; i < 200; i++) {
    const s = randomUuid();
    const b = uuidToBytes(s);
    assert.equal(b[6]! >> 4, 4);
    assert.ok(s !== ZERO_UUID && s !== METADATA_TOPIC_ID && !s.startsWith("-"));
  }
});
