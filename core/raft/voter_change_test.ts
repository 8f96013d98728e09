import { strict as assert } from "node:assert";
import { SeededRandom } from "../random.ts";
import { MemoryRaftLog } from "./memory_log.ts";
import type { RaftMessage } from "./messages.ts";
import { RaftNode } from "./node.ts";
import { type Voter, voterOf } from "./types.ts";

interface Replica {
  node: RaftNode;
  log: MemoryRaftLog;
}

/** A replica of a dynamic quorum (kraft.version 1) whose bootstrap voters are `voters`. */
function replica(nodeId: number, voters: readonly Voter[], kraftVersion = 1): Replica {
  const log = new MemoryRaftLog();
  const node = new RaftNode({
    nodeId,
    voters,
    kraftVersion,
    log,
    random: new SeededRandom(nodeId),
    nowMs: 0,
  });
  return { node, log };
}

/** Persists, writes, flushes at once and returns what the replica sends. */
function drive(r: Replica, nowMs: number): RaftMessage[] {
  const out: RaftMessage[] = [];
  for (let i = 0; i < 32 && r.node.hasReady(); i++) {
    const ready = r.node.ready();
    if (ready.truncateLogTo !== null) r.log.truncateTo(ready.truncateLogTo);
    r.log.append(ready.appendToLog);
    r.node.advance();
    out.push(...ready.send);
    if (ready.appendToLog.length > 0) {
      r.node.onFlushed({ offset: r.log.endOffset(), epoch: r.log.lastEpoch() }, nowMs);
    }
  }
  return out;
}

/** Delivers messages among the replicas (bounded) and ticks them, for `rounds` steps of 10 ms. */
function run(replicas: Map<number, Replica>, fromMs: number, rounds: number): number {
  let nowMs = fromMs;
  for (let round = 0; round < rounds; round++) {
    nowMs += 10;
    const queue: RaftMessage[] = [];
    for (const r of replicas.values()) {
      r.node.tick(nowMs);
      queue.push(...drive(r, nowMs));
    }
    for (let i = 0; i < 1000 && queue.length > 0; i++) {
      const message = queue.shift()!;
      const target = replicas.get(message.to);
      if (!target) continue;
      target.node.step(message, nowMs);
      queue.push(...drive(target, nowMs));
    }
  }
  return nowMs;
}

function leaderOf(replicas: Map<number, Replica>): Replica | undefined {
  return [...replicas.values()].find((r) => r.node.role === "leader" && r.node.isLeaderReady);
}

const SOLO = [voterOf(1)];

Deno.test("a standalone voter elects itself and writes its voters into the log after the LeaderChange", () => {
  // KIP-853: the bootstrap snapshot's voters go into the log so fetchers from offset 0 learn them.
  const solo = replica(1, SOLO);
  drive(solo, 0);
  assert.equal(solo.node.role, "leader");
  const entries = solo.log.read(0, { maxCount: 10, maxBytes: Infinity });
  assert.deepEqual(entries.map((e) => e.control?.type), ["leaderChange", "kraftVersion", "voters"]);
  assert.equal(solo.node.highWatermark, 3);
});

Deno.test("an observer that caught up is added, counts toward the high watermark and votes", () => {
  // KIP-853 AddRaftVoter: the new set is in force once appended, answered once committed.
  const replicas = new Map([[1, replica(1, SOLO)], [2, replica(2, SOLO)]]);
  let nowMs = run(replicas, 0, 30);
  const leader = replicas.get(1)!;
  assert.equal(leader.node.role, "leader");
  assert.equal(replicas.get(2)!.node.isVoter, false);
  const added = leader.node.addVoter(voterOf(2), nowMs);
  assert.ok(added.ok);
  assert.deepEqual([...leader.node.voters].sort(), [1, 2]);
  assert.ok(leader.node.highWatermark <= added.offset, "Not committed before the new voter has it");
  nowMs = run(replicas, nowMs, 20);
  assert.ok(leader.node.highWatermark > added.offset);
  assert.equal(replicas.get(2)!.node.isVoter, true);
  // The leader now needs the new voter: without it nothing commits.
  const before = leader.node.highWatermark;
  replicas.delete(2);
  leader.node.propose([new TextEncoder().encode("x")], nowMs);
  run(replicas, nowMs, 10);
  assert.equal(leader.node.highWatermark, before);
});

Deno.test("voter changes are refused one at a time, for unknown replicas and on static quorums", () => {
  // KIP-853: errors as Kafka's AddVoterHandler / RemoveVoterHandler answer them.
  const replicas = new Map([[1, replica(1, SOLO)], [2, replica(2, SOLO)], [3, replica(3, SOLO)]]);
  const nowMs = run(replicas, 0, 30);
  const leader = replicas.get(1)!.node;
  const refusal = (result: ReturnType<RaftNode["addVoter"]>) => result.ok ? "ok" : result.error;
  assert.equal(refusal(leader.addVoter(voterOf(1), nowMs)), "DUPLICATE_VOTER");
  assert.equal(refusal(leader.addVoter(voterOf(9), nowMs)), "REQUEST_TIMED_OUT");
  assert.equal(
    refusal(leader.addVoter({ ...voterOf(2), directoryId: "b7tCfPnxRpOmQVrWcIAyJw" }, nowMs)),
    "INVALID_REQUEST",
  );
  assert.equal(refusal(leader.addVoter(voterOf(2), nowMs)), "ok");
  assert.equal(refusal(leader.addVoter(voterOf(3), nowMs)), "REQUEST_TIMED_OUT");
  assert.equal(
    refusal(leader.removeVoter({ id: 5, directoryId: voterOf(5).directoryId }, nowMs)),
    "REQUEST_TIMED_OUT", // still the pending change first
  );
  assert.equal(
    refusal(replicas.get(2)!.node.addVoter(voterOf(3), nowMs)),
    "NOT_LEADER_OR_FOLLOWER",
  );
  const staticLeader = replica(1, SOLO, 0);
  drive(staticLeader, 0);
  assert.equal(refusal(staticLeader.node.addVoter(voterOf(2), 0)), "UNSUPPORTED_VERSION");
  const solo = replica(1, SOLO);
  drive(solo, 0);
  assert.equal(refusal(solo.node.removeVoter(voterOf(1), 0)), "VOTER_NOT_FOUND");
});

Deno.test("a leader that removes itself leads until the removal commits, then resigns and a remaining voter takes over", () => {
  // KIP-853: the removed leader keeps serving fetches so the followers can commit its removal.
  const initial = [1, 2, 3].map(voterOf);
  const replicas = new Map([1, 2, 3].map((id) => [id, replica(id, initial)]));
  let nowMs = run(replicas, 0, 300);
  const leader = leaderOf(replicas)!;
  assert.ok(leader);
  const removed = leader.node.removeVoter(voterOf(leader.node.nodeId), nowMs);
  assert.ok(removed.ok);
  assert.equal(leader.node.isVoter, false);
  assert.equal(leader.node.role, "leader");
  nowMs = run(replicas, nowMs, 300);
  assert.notEqual(leader.node.role, "leader");
  const next = leaderOf(replicas);
  assert.ok(next && next !== leader, "A remaining voter leads");
  assert.deepEqual(
    [...next.node.voters].sort(),
    initial.map((v) => v.id).filter((id) => id !== leader.node.nodeId),
  );
  assert.ok(next.node.epoch > removed.epoch);
});
