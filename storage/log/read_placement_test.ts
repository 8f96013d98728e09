import assert from "node:assert/strict";
import {
  COLD_COOLDOWN_MS,
  HOT_TAIL_BYTES,
  ReadPlacement,
  SLOW_SYNC_READ_MS,
  SYNC_READ_BYTES_MAX,
} from "./read_placement.ts";

const recent = { active: true, bytesFromEnd: 1024, length: 1024 };

const s = {};
const other = {};

Deno.test("only small reads near the end of the active segment run synchronously", () => {
  const placement = new ReadPlacement<object>();
  assert.equal(placement.readSync(s, recent, 0), true);
  assert.equal(placement.readSync(s, { ...recent, active: false }, 0), false);
  assert.equal(placement.readSync(s, { ...recent, bytesFromEnd: HOT_TAIL_BYTES + 1 }, 0), false);
  assert.equal(placement.readSync(s, { ...recent, length: SYNC_READ_BYTES_MAX + 1 }, 0), false);
});

Deno.test("a slow synchronous read sends the segment's reads off the event loop for a cool-down", () => {
  const placement = new ReadPlacement<object>();
  placement.observeSyncRead(s, SLOW_SYNC_READ_MS, 0); // as fast as allowed: still hot
  assert.equal(placement.readSync(s, recent, 1), true);
  placement.observeSyncRead(s, SLOW_SYNC_READ_MS + 1, 100);
  assert.equal(placement.readSync(s, recent, 101), false);
  assert.equal(placement.readSync(other, recent, 101), true, "other segments are unaffected");
  assert.equal(placement.readSync(s, recent, 100 + COLD_COOLDOWN_MS - 1), false);
  assert.equal(placement.readSync(s, recent, 100 + COLD_COOLDOWN_MS), true, "tried again after");
  placement.observeSyncRead(s, 50, 200_000);
  placement.forget(s);
  assert.equal(placement.readSync(s, recent, 200_001), true, "a forgotten segment starts over");
});
