import assert from "node:assert/strict";
import { join } from "node:path";
import {
  decodeSnapshot,
  encodeSnapshot,
  listSnapshotFiles,
  parseSnapshotFileName,
  readSnapshotChunk,
  readSnapshotFile,
  snapshotBatches,
  snapshotFileName,
  SnapshotFileWriter,
  writeSnapshotFile,
  writeSnapshotStreaming,
} from "./snapshot_file.ts";
import { decodeBatch } from "../../net/protocol/records.ts";
import { batchesIn } from "../../net/protocol/record_batch.ts";

const text = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("snapshot files are named by 20-digit end offset and 10-digit epoch (KIP-630)", () => {
  assert.equal(
    snapshotFileName({ offset: 42, epoch: 3 }),
    "00000000000000000042-0000000003.checkpoint",
  );
  assert.deepEqual(parseSnapshotFileName("00000000000000000042-0000000003.checkpoint"), {
    id: { offset: 42, epoch: 3 },
    kind: "complete",
  });
  assert.equal(
    parseSnapshotFileName("00000000000000000042-0000000003.checkpoint.part")?.kind,
    "partial",
  );
  assert.equal(parseSnapshotFileName("00000000000000000000.log"), null);
  assert.equal(parseSnapshotFileName("bootstrap.checkpoint"), null);
});

Deno.test("a snapshot is a header batch, data batches and a footer batch, all of its epoch", () => {
  const payloads = Array.from({ length: 2500 }, (_, i) => text.encode(`record-${i}`));
  const bytes = concat(encodeSnapshot({ offset: 99, epoch: 7 }, {
    payloads,
    lastContainedLogTimestampMs: 1234,
  }, 5));
  const batches = [...batchesIn(bytes)].map(({ pos, sizeBytes }) =>
    decodeBatch(bytes.subarray(pos, pos + sizeBytes))
  );
  assert.equal(batches.length, 5); // header, 3 data batches of at most 1024 records, footer
  assert.ok(batches.every((b) => b.header.partitionLeaderEpoch === 7));
  assert.equal(batches[0]!.header.baseOffset, 0);
  assert.equal((batches[0]!.header.attributes & 0x20) !== 0, true);
  assert.equal((batches.at(-1)!.header.attributes & 0x20) !== 0, true);
  const decoded = decodeSnapshot(bytes);
  assert.equal(decoded.lastContainedLogTimestampMs, 1234);
  assert.deepEqual(decoded.payloads, payloads);
  assert.equal(decoded.voters, undefined);
});

Deno.test("a snapshot with a voter set carries KRaftVersion and Voters records (KIP-853)", () => {
  const bytes = concat(encodeSnapshot({ offset: 3, epoch: 1 }, {
    payloads: [text.encode("x")],
    lastContainedLogTimestampMs: 0,
    voters: [3, 1, 2].map((id) => ({
      id,
      directoryId: "b7tCfPnxRpOmQVrWcIAyJw",
      endpoints: [{ name: "CONTROLLER", host: "localhost", port: 9090 + id }],
    })),
  }, 0));
  // Sorted by id, with directory ids and endpoints.
  assert.deepEqual(decodeSnapshot(bytes).voters?.map((v) => [v.id, v.endpoints[0]!.port]), [
    [1, 9091],
    [2, 9092],
    [3, 9093],
  ]);
});

Deno.test("a truncated or corrupted snapshot is rejected", () => {
  const bytes = concat(encodeSnapshot({ offset: 3, epoch: 1 }, {
    payloads: [text.encode("abc"), text.encode("def")],
    lastContainedLogTimestampMs: 0,
  }, 0));
  assert.throws(() => decodeSnapshot(bytes.subarray(0, bytes.length - 10)), /SnapshotFooter/);
  const corrupt = bytes.slice();
  corrupt[80] = corrupt[80]! ^ 0xff;
  assert.throws(() => decodeSnapshot(corrupt));
});

Deno.test("a snapshot is written as .checkpoint.part and renamed whole; chunks read back by position", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-snapshot-" });
  try {
    const id = { offset: 10, epoch: 2 };
    const writer = await SnapshotFileWriter.create(dir, id);
    await writer.append(text.encode("partial"));
    assert.deepEqual((await listSnapshotFiles(dir)).map((p) => p.kind), ["partial"]);
    await writer.abort();
    assert.deepEqual(await listSnapshotFiles(dir), []);
    const batches = encodeSnapshot(id, {
      payloads: [text.encode("a"), text.encode("b")],
      lastContainedLogTimestampMs: 9,
    }, 0);
    const sizeBytes = await writeSnapshotFile(dir, id, batches);
    assert.deepEqual(await listSnapshotFiles(dir), [{ id, kind: "complete" }]);
    assert.deepEqual((await readSnapshotFile(dir, id)).payloads, [
      text.encode("a"),
      text.encode("b"),
    ]);
    const whole = await Deno.readFile(join(dir, snapshotFileName(id)));
    const first = await readSnapshotChunk(dir, id, 0, 50);
    const rest = await readSnapshotChunk(dir, id, 50, 1 << 20);
    assert.equal(first?.sizeBytes, sizeBytes);
    assert.deepEqual(concat([first!.bytes, rest!.bytes]), whole);
    assert.equal((await readSnapshotChunk(dir, id, sizeBytes, 10))?.bytes.length, 0);
    assert.equal(await readSnapshotChunk(dir, { offset: 11, epoch: 2 }, 0, 10), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a snapshot written while it is encoded equals the one encoded whole; payloads are pulled lazily", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const id = { offset: 5000, epoch: 4 };
    const payloads = Array.from({ length: 3000 }, (_, i) => new Uint8Array([i % 256, 1, 2]));
    let pulled = 0;
    const lazy = function* () {
      for (const p of payloads) {
        pulled++;
        yield p;
      }
    };
    const batches = snapshotBatches(id, { payloads: lazy(), lastContainedLogTimestampMs: 9 }, 7);
    batches.next(); // the header batch pulls nothing
    assert.equal(pulled, 0);
    const written = await writeSnapshotStreaming(
      dir,
      id,
      { payloads: payloads.values(), lastContainedLogTimestampMs: 9 },
      7,
    );
    assert.equal(written.records, 3000);
    const whole = encodeSnapshot(id, { payloads, lastContainedLogTimestampMs: 9 }, 7);
    const bytes = await Deno.readFile(join(dir, snapshotFileName(id)));
    assert.deepEqual(bytes, concat(whole));
    assert.equal(written.sizeBytes, bytes.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
