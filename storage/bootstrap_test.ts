// Layouts follow Kafka 3.9's BootstrapDirectory.writeBinaryFile and RecordsSnapshotWriter
// (KIP-853 bootstrap snapshot at offset 0, epoch 0).
import { deepEqual, equal } from "node:assert/strict";
import { join } from "node:path";
import { Reader } from "../net/protocol/reader.ts";
import { batchesIn } from "../net/protocol/record_batch.ts";
import { decodeBatch, decodeControlKey } from "../net/protocol/records.ts";
import { CONTROL_RECORDS, readMetadataRecord } from "../net/protocol/generated/metadata_records.ts";
import {
  BOOTSTRAP_SNAPSHOT_FILE,
  CLUSTER_METADATA_DIR,
  encodeBootstrapCheckpoint,
  encodeBootstrapSnapshot,
  writeBootstrapFiles,
} from "./bootstrap.ts";

function batches(bytes: Uint8Array) {
  return [...batchesIn(bytes)].map(({ pos, sizeBytes }) =>
    decodeBatch(bytes.subarray(pos, pos + sizeBytes))
  );
}

Deno.test("bootstrap.checkpoint holds one batch of FeatureLevelRecords, metadata.version first", () => {
  const bytes = encodeBootstrapCheckpoint(
    new Map([["transaction.version", 2], ["metadata.version", 21], ["kraft.version", 1], [
      "group.version",
      0,
    ]]),
    1_700_000_000_000,
  );
  const [batch, ...rest] = batches(bytes);
  equal(rest.length, 0);
  equal(batch!.header.baseOffset, 0);
  equal(batch!.header.partitionLeaderEpoch, 0);
  const records = batch!.records.map((r) => readMetadataRecord(new Reader(r.value!)));
  deepEqual(records.map((r) => [r.type, (r.data as { name: string }).name]), [
    [12, "metadata.version"],
    [12, "transaction.version"],
  ]);
  equal((records[0]!.data as { featureLevel: number }).featureLevel, 21);
});

Deno.test("the dynamic quorum snapshot is header, kraft.version and voters, then a footer", () => {
  const bytes = encodeBootstrapSnapshot({
    kraftVersion: 1,
    voters: [
      { nodeId: 2, host: "h2", port: 9094, directoryId: "MvDxzVmcRsaTz33bUuRU6A" },
      { nodeId: 1, host: "h1", port: 9093, directoryId: "b7tCfPnxRpOmQVrWcIAyJw" },
    ],
    controllerListenerName: "CONTROLLER",
  }, 1_700_000_000_000);
  const [first, footer] = batches(bytes);
  equal(first!.header.baseOffset, 0);
  equal(footer!.header.baseOffset, 3);
  const types = [...first!.records, ...footer!.records].map((r) => decodeControlKey(r.key).type);
  deepEqual(types, [3, 5, 6, 4]);
  const voters = CONTROL_RECORDS.get(6)!.read(new Reader(first!.records[2]!.value!), 0) as {
    voters: { voterId: number; voterDirectoryId: string; endpoints: { name: string }[] }[];
  };
  deepEqual(voters.voters.map((v) => [v.voterId, v.voterDirectoryId, v.endpoints[0]!.name]), [
    [1, "b7tCfPnxRpOmQVrWcIAyJw", "CONTROLLER"],
    [2, "MvDxzVmcRsaTz33bUuRU6A", "CONTROLLER"],
  ]);
});

Deno.test("writeBootstrapFiles writes the snapshot only for a dynamic quorum", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bootstrap_test_" });
  try {
    const featureLevels = new Map([["metadata.version", 21]]);
    await writeBootstrapFiles(join(dir), { featureLevels, nowMs: 0 });
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepEqual(names, ["bootstrap.checkpoint"]);
    await writeBootstrapFiles(dir, {
      featureLevels,
      nowMs: 0,
      dynamicQuorum: {
        kraftVersion: 1,
        voters: [{
          nodeId: 1,
          host: "localhost",
          port: 9093,
          directoryId: "b7tCfPnxRpOmQVrWcIAyJw",
        }],
        controllerListenerName: "CONTROLLER",
      },
    });
    const stat = await Deno.stat(join(dir, CLUSTER_METADATA_DIR, BOOTSTRAP_SNAPSHOT_FILE));
    equal(stat.isFile, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
