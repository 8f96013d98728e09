import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  decodeProducerSnapshot,
  deleteProducerSnapshotsAbove,
  encodeProducerSnapshot,
  listProducerSnapshots,
  type ProducerSnapshotEntry,
  writeProducerSnapshot,
} from "./producer_snapshot_file.ts";

const ENTRY: ProducerSnapshotEntry = {
  producerId: 4_000_000_001,
  producerEpoch: 3,
  lastSequence: 41,
  lastOffset: 120,
  offsetDelta: 9,
  timestampMs: 1_700_000_000_000,
  coordinatorEpoch: 5,
  currentTxnFirstOffset: 100,
};

Deno.test("a snapshot is Kafka's layout: version 1, CRC32C of the rest, 46-byte entries", () => {
  const bytes = encodeProducerSnapshot([ENTRY]);
  assertEquals(bytes.length, 2 + 4 + 4 + 46);
  assertEquals([...bytes.subarray(0, 2)], [0, 1]);
  assertEquals([...bytes.subarray(6, 10)], [0, 0, 0, 1]);
  // producer_id, then epoch 3 right after it.
  assertEquals([...bytes.subarray(18, 20)], [0, 3]);
  assertEquals(decodeProducerSnapshot(bytes), [ENTRY]);
});

Deno.test("a corrupt, truncated or unknown-version snapshot is refused", () => {
  const bytes = encodeProducerSnapshot([ENTRY]);
  const flipped = bytes.slice();
  flipped[30] = flipped[30]! ^ 1;
  assertThrows(() => decodeProducerSnapshot(flipped), /corrupt/);
  assertThrows(() => decodeProducerSnapshot(bytes.subarray(0, 40)), RangeError);
  const version = bytes.slice();
  version[1] = 2;
  assertThrows(() => decodeProducerSnapshot(version), /unknown version 2/);
});

Deno.test("writing a snapshot keeps the newest ones and drops those past it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const offset of [10, 20, 30]) await writeProducerSnapshot(dir, offset, [], { keep: 2 });
    assertEquals(await listProducerSnapshots(dir), [20, 30]);
    // After a truncation a snapshot may be written below an existing one: that one is stale.
    await writeProducerSnapshot(dir, 25, [ENTRY], { keep: 2 });
    assertEquals(await listProducerSnapshots(dir), [20, 25]);
    assertEquals(await deleteProducerSnapshotsAbove(dir, 22), 1);
    assertEquals(await listProducerSnapshots(dir), [20]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
