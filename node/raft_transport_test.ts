import assert from "node:assert/strict";
import type { LogEntry } from "../core/raft/types.ts";
import { startTestQuorum, type TestQuorum, waitUntil } from "./quorum_node_test_support.ts";

const text = new TextEncoder();
const decode = new TextDecoder();

function payloads(entries: readonly LogEntry[]): string[] {
  return entries.filter((e) => e.control === undefined).map((e) => decode.decode(e.payload));
}

async function electedLeader(quorum: TestQuorum, timeoutMs = 10_000): Promise<number> {
  await waitUntil(() => quorum.leaderId() !== -1, timeoutMs, "a leader to be elected");
  return quorum.leaderId();
}

Deno.test("three voters elect a leader over Kafka RPCs, replicate, and an observer follows (KIP-595)", async () => {
  const quorum = await startTestQuorum({ voters: [1, 2, 3], observers: [4] });
  try {
    const leaderId = await electedLeader(quorum);
    const leader = quorum.replicas.get(leaderId)!.driver!;
    const offset = await leader.propose([text.encode("a"), text.encode("b")]);
    for (const replica of quorum.replicas.values()) {
      await waitUntil(
        () => replica.committed.some((e) => e.offset === offset),
        10_000,
        `node ${replica.nodeId} to commit offset ${offset}`,
      );
      assert.deepEqual(payloads(replica.committed), ["a", "b"]);
    }
    const observer = quorum.replicas.get(4)!;
    assert.equal(observer.driver!.isVoter, false);
    assert.equal(observer.driver!.leaderId, leaderId);
    assert.ok(observer.roles.every((r) => r.observer));
    // The leader saw the observer's fetches (DescribeQuorum's observers).
    const progress = quorum.replicas.get(leaderId)!.transport!.replicaProgress();
    await waitUntil(
      () =>
        (quorum.replicas.get(leaderId)!.transport!.replicaProgress().get(4)?.logEndOffset ?? 0) >
          offset,
      5_000,
      "the observer's progress at the leader",
    );
    assert.ok(progress.size >= 2);
  } finally {
    await quorum.close();
  }
});

Deno.test("when the leader stops, the others elect a new one that keeps every committed entry; the old one rejoins", async () => {
  const quorum = await startTestQuorum({ voters: [1, 2, 3], observers: [4] });
  try {
    const first = await electedLeader(quorum);
    const offset = await quorum.replicas.get(first)!.driver!.propose([text.encode("before")]);
    await quorum.stopReplica(first);
    await waitUntil(
      () => quorum.leaderId() !== -1 && quorum.leaderId() !== first,
      10_000,
      "a new leader",
    );
    const second = quorum.leaderId();
    const after = await quorum.replicas.get(second)!.driver!.propose([text.encode("after")]);
    assert.ok(after > offset);
    await quorum.startReplica(first);
    for (const replica of quorum.replicas.values()) {
      await waitUntil(
        () => replica.committed.some((e) => e.offset === after),
        10_000,
        `node ${replica.nodeId} to commit offset ${after}`,
      );
      assert.deepEqual(payloads(replica.committed), ["before", "after"]);
    }
    assert.equal(quorum.replicas.get(first)!.driver!.leaderId, second);
    assert.equal(quorum.replicas.get(4)!.driver!.leaderId, second);
  } finally {
    await quorum.close();
  }
});

Deno.test("a voter of another cluster is refused with INCONSISTENT_CLUSTER_ID and never joins", async () => {
  const quorum = await startTestQuorum({
    voters: [1, 2, 3],
    clusterIds: { 3: "AAAAAAAAAAAAAAAAAAAAAA" },
  });
  try {
    await waitUntil(
      () => quorum.leaderId() === 1 || quorum.leaderId() === 2,
      10_000,
      "node 1 or 2 to lead",
    );
    const leaderId = quorum.leaderId();
    const offset = await quorum.replicas.get(leaderId)!.driver!.propose([text.encode("x")]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stranger = quorum.replicas.get(3)!;
    assert.ok(!stranger.committed.some((e) => e.offset === offset));
    assert.notEqual(stranger.driver!.leaderId, leaderId);
  } finally {
    await quorum.close();
  }
});

Deno.test("a crashed leader's reset connections start the election long before fetch.timeout, and the observer finds the new leader", async () => {
  // KIP-996: the transport reports the dead leader unreachable; a voter runs its pre-vote at once
  // and the observer asks the other voters (KIP-595 Fetch answers name the leader). fetch.timeout
  // is 5 s here, so a new leader within 2.5 s can only come from the connection failures.
  const quorum = await startTestQuorum({
    voters: [1, 2, 3],
    observers: [4],
    config: { electionTimeoutMs: 1_000, fetchTimeoutMs: 5_000, requestTimeoutMs: 5_000 },
  });
  try {
    const first = await electedLeader(quorum);
    const offset = await quorum.replicas.get(first)!.driver!.propose([text.encode("before")]);
    for (const replica of quorum.replicas.values()) {
      await waitUntil(
        () => replica.committed.some((e) => e.offset === offset),
        10_000,
        `node ${replica.nodeId} to commit offset ${offset}`,
      );
    }
    const crashedAt = Date.now();
    await quorum.crashReplica(first);
    await waitUntil(
      () => quorum.leaderId() !== -1 && quorum.leaderId() !== first,
      2_500,
      "a new leader well before fetch.timeout",
    );
    const second = quorum.leaderId();
    await waitUntil(
      () => quorum.replicas.get(4)!.driver!.leaderId === second,
      2_500 - (Date.now() - crashedAt),
      "the observer to follow the new leader",
    );
  } finally {
    await quorum.close();
  }
});
