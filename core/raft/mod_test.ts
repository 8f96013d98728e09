import { strict as assert } from "node:assert";
import { SeededRandom } from "../random.ts";
import { MemoryRaftLog, RaftNode } from "./mod.ts";

Deno.test("the mod.ts example drives one voter through ready() and advance() to commit", () => {
  const log = new MemoryRaftLog();
  const node = new RaftNode({ nodeId: 1, voters: [1], log, random: new SeededRandom(7), nowMs: 0 });
  let nowMs = 0;
  const applied: number[] = [];
  const drive = () => {
    for (let i = 0; i < 16 && node.hasReady(); i++) {
      const ready = node.ready();
      if (ready.truncateLogTo !== null) log.truncateTo(ready.truncateLogTo);
      log.append(ready.appendToLog);
      applied.push(...ready.committed.map((e) => e.offset));
      node.advance();
      if (ready.appendToLog.length > 0) {
        node.onFlushed({ offset: log.endOffset(), epoch: log.lastEpoch() }, nowMs);
      }
    }
  };
  drive();
  node.propose([new TextEncoder().encode("record")], nowMs);
  nowMs += 25;
  node.tick(nowMs);
  drive();
  assert.equal(node.highWatermark, 2);
  assert.deepEqual(applied, [0, 1]);
});
