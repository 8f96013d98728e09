import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestQuorum, type TestQuorum, waitUntil } from "./quorum_node_test_support.ts";
import { listSnapshotFiles } from "../storage/raft/snapshot_file.ts";
import { METADATA_PARTITION_DIR } from "./metadata_log.ts";

const text = new TextEncoder();
const decode = new TextDecoder();

/** A snapshot after every ~2 KiB of committed entries, each entry ~200 bytes. */
const SMALL_SNAPSHOTS = { maxRecordBytesBetweenSnapshots: 2048, maxSnapshotIntervalMs: 0 };

function record(i: number): Uint8Array {
  return text.encode(`record-${i}`.padEnd(200, "."));
}

function texts(state: readonly Uint8Array[]): string[] {
  return state.map((p) => decode.decode(p).replace(/\.+$/, ""));
}

async function leaderOf(quorum: TestQuorum): Promise<number> {
  await waitUntil(() => quorum.leaderId() !== -1, 10_000, "a leader to be elected");
  return quorum.leaderId();
}

async function proposeMany(quorum: TestQuorum, from: number, count: number): Promise<number> {
  const leader = quorum.replicas.get(quorum.leaderId())!.driver!;
  let offset = -1;
  for (let i = from; i < from + count; i += 10) {
    const batch = Array.from({ length: Math.min(10, from + count - i) }, (_, j) => record(i + j));
    offset = await leader.propose(batch);
  }
  return offset;
}

Deno.test("a voter snapshots its applied state and restarts from the snapshot plus the log tail (KIP-630)", async () => {
  const quorum = await startTestQuorum({ voters: [1], snapshotPolicy: SMALL_SNAPSHOTS });
  try {
    await leaderOf(quorum);
    const replica = quorum.replicas.get(1)!;
    await proposeMany(quorum, 0, 100);
    await waitUntil(
      () => (replica.driver!.latestSnapshotId?.offset ?? 0) > 50,
      10_000,
      "a snapshot to be adopted",
    );
    const files = await listSnapshotFiles(join(replica.dir, METADATA_PARTITION_DIR));
    assert.ok(files.some((f) => f.kind === "complete"), JSON.stringify(files));
    const before = texts(replica.state);
    assert.equal(before.length, 100);
    const snapshotId = replica.driver!.latestSnapshotId!;
    await quorum.stopReplica(1);
    await quorum.startReplica(1);
    const restarted = quorum.replicas.get(1)!;
    assert.ok((restarted.driver!.latestSnapshotId?.offset ?? 0) >= snapshotId.offset);
    // The log the core sees starts at the snapshot: nothing before it is replayed.
    await leaderOf(quorum);
    await waitUntil(() => restarted.state.length >= 100, 10_000, "the state to be rebuilt");
    assert.deepEqual(texts(restarted.state), before);
    assert.ok(restarted.committed.every((e) => e.offset >= snapshotId.offset));
  } finally {
    await quorum.close();
  }
});

Deno.test("a new observer joining after the log start moved catches up through FetchSnapshot (KIP-630)", async () => {
  const quorum = await startTestQuorum({
    voters: [1, 2, 3],
    observers: [4],
    snapshotPolicy: SMALL_SNAPSHOTS,
  });
  try {
    await leaderOf(quorum);
    const observer = quorum.replicas.get(4)!;
    await quorum.stopReplica(4);
    await Deno.remove(observer.dir, { recursive: true }); // a brand-new broker
    await proposeMany(quorum, 0, 120);
    const leader = quorum.replicas.get(quorum.leaderId())!;
    await waitUntil(
      () => (leader.driver!.latestSnapshotId?.offset ?? 0) > 60,
      10_000,
      "the leader's log start to move past 60",
    );
    await quorum.startReplica(4);
    const joined = quorum.replicas.get(4)!;
    await waitUntil(() => joined.state.length >= 120, 15_000, "the observer to catch up");
    assert.deepEqual(texts(joined.state), texts(leader.state));
    assert.ok(joined.driver!.snapshotCounts.installed >= 1, "it installed the leader's snapshot");
    assert.ok(joined.committed.every((e) => e.offset > 60), "nothing before the snapshot replayed");
    // It keeps following after the snapshot.
    const offset = await proposeMany(quorum, 120, 5);
    await waitUntil(
      () => joined.committed.some((e) => e.offset === offset),
      10_000,
      "the observer to apply entries after the snapshot",
    );
    assert.deepEqual(texts(joined.state).slice(-5), texts(leader.state).slice(-5));
  } finally {
    await quorum.close();
  }
});
