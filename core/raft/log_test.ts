import { strict as assert } from "node:assert";
import { LogState } from "./log.ts";
import { MemoryRaftLog } from "./memory_log.ts";
import type { LogEntry } from "./types.ts";

function entry(offset: number, epoch: number): LogEntry {
  return { offset, epoch, payload: new Uint8Array([offset]) };
}

Deno.test("a pending truncation hides storage entries from reads and epoch lookups", () => {
  const view = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 1), entry(2, 2), entry(3, 2)] });
  const log = new LogState(view);
  log.truncateTo(2);
  log.append([entry(2, 3)]);
  assert.equal(log.endOffset(), 3);
  assert.equal(log.lastEpoch(), 3);
  assert.deepEqual(log.endOffsetForEpoch(2), { offset: 2, epoch: 1 });
  assert.deepEqual(log.endOffsetForEpoch(3), { offset: 3, epoch: 3 });
  assert.deepEqual(log.read(0, { maxCount: 10, maxBytes: Infinity }).map((e) => e.offset), [0, 1]);
  assert.deepEqual(log.read(2, { maxCount: 10, maxBytes: Infinity }).map((e) => e.epoch), [3]);
});

Deno.test("pending writes are handed out as one truncation followed by appends", () => {
  const view = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 1)] });
  const log = new LogState(view);
  log.truncateTo(1);
  log.append([entry(1, 2), entry(2, 2)]);
  log.truncateTo(2);
  const pending = log.pending();
  assert.equal(pending.truncateTo, 1);
  assert.deepEqual(pending.entries.map((e) => e.offset), [1]);
  view.truncateTo(1);
  view.append(pending.entries);
  log.acknowledge();
  assert.equal(log.hasPending(), false);
  assert.equal(log.endOffset(), 2);
});

Deno.test("acknowledging writes storage did not perform is a broken invariant", () => {
  const log = new LogState(new MemoryRaftLog());
  log.append([entry(0, 1)]);
  assert.throws(() => log.acknowledge(), /Storage log ends at 0/);
});

Deno.test("appending an entry from an older epoch is a broken invariant", () => {
  // Raft §5.3: epochs never decrease along the log.
  const log = new LogState(new MemoryRaftLog({ entries: [entry(0, 2)] }));
  assert.throws(() => log.append([entry(1, 1)]), /Cannot append epoch 1/);
});
