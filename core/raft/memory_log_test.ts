import { strict as assert } from "node:assert";
import { MemoryRaftLog } from "./memory_log.ts";
import type { LogEntry } from "./types.ts";

function entry(offset: number, epoch: number, sizeBytes = 1): LogEntry {
  return { offset, epoch, payload: new Uint8Array(sizeBytes) };
}

Deno.test("endOffsetForEpoch answers with the largest epoch at or below the one asked", () => {
  // KIP-595: the leader's end offset for the follower's last fetched epoch.
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 1), entry(2, 3), entry(3, 5)] });
  assert.deepEqual(log.endOffsetForEpoch(1), { offset: 2, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(2), { offset: 2, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(4), { offset: 3, epoch: 3 });
  assert.deepEqual(log.endOffsetForEpoch(9), { offset: 4, epoch: 5 });
  assert.deepEqual(log.endOffsetForEpoch(0), { offset: 0, epoch: 0 });
});

Deno.test("a compacted log starts at its snapshot and reports it", () => {
  // KIP-630
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 2), entry(2, 2)] });
  log.compactTo({ offset: 2, epoch: 2 });
  assert.equal(log.startOffset(), 2);
  assert.deepEqual(log.latestSnapshotId(), { offset: 2, epoch: 2 });
  assert.deepEqual(log.endOffsetForEpoch(1), { offset: 2, epoch: 0 });
  assert.deepEqual(log.endOffsetForEpoch(2), { offset: 3, epoch: 2 });
});

Deno.test("reads stop at the byte limit but always return one entry", () => {
  const log = new MemoryRaftLog({ entries: [entry(0, 1, 100), entry(1, 1, 100)] });
  assert.equal(log.read(0, { maxCount: 10, maxBytes: 10 }).length, 1);
  assert.equal(log.read(0, { maxCount: 10, maxBytes: 1000 }).length, 2);
  assert.equal(log.read(0, { maxCount: 1, maxBytes: 1000 }).length, 1);
});
