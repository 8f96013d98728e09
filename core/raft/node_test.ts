import { strict as nodeAssert } from "node:assert";

function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}
function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}
function assertExists<T>(value: T): asserts value is NonNullable<T> {
  nodeAssert.ok(value !== undefined && value !== null, "Expected a value");
}
import { SeededRandom } from "../random.ts";
import { MemoryRaftLog } from "./memory_log.ts";
import type { FetchRequest, FetchResponse, RaftMessage, VoteRequest } from "./messages.ts";
import { RaftNode, type RaftNodeOptions } from "./node.ts";
import type { Ready } from "./ready.ts";
import type { LogEntry, QuorumStateData } from "./types.ts";

const text = new TextEncoder();

interface Harness {
  node: RaftNode;
  log: MemoryRaftLog;
  quorumState: QuorumStateData | undefined;
}

function harness(
  options: Partial<RaftNodeOptions> & { nodeId: number; voters: number[] },
): Harness {
  const log = (options.log as MemoryRaftLog | undefined) ?? new MemoryRaftLog();
  const node = new RaftNode({
    random: new SeededRandom(options.nodeId),
    nowMs: 0,
    ...options,
    log,
  });
  return { node, log, quorumState: options.quorumState };
}

/** Runs the driver loop once: persist, write, collect messages, advance. */
function drive(h: Harness, { flushAtMs }: { flushAtMs?: number } = {}): Ready[] {
  const readies: Ready[] = [];
  for (let i = 0; i < 16 && h.node.hasReady(); i++) {
    const ready = h.node.ready();
    if (ready.persistQuorumState) h.quorumState = ready.persistQuorumState;
    if (ready.truncateLogTo !== null) h.log.truncateTo(ready.truncateLogTo);
    h.log.append(ready.appendToLog);
    h.node.advance();
    readies.push(ready);
    if (flushAtMs !== undefined && ready.appendToLog.length > 0) {
      h.node.onFlushed({ offset: h.log.endOffset(), epoch: h.log.lastEpoch() }, flushAtMs);
    }
  }
  return readies;
}

function sent(readies: Ready[]): RaftMessage[] {
  return readies.flatMap((r) => r.send);
}

function entry(offset: number, epoch: number): LogEntry {
  return { offset, epoch, payload: text.encode(`e${offset}`) };
}

/** Delivers messages among harnesses until quiet, flushing writes at once. */
function settle(nodes: Map<number, Harness>, nowMs: number, initial: RaftMessage[] = []): void {
  const queue = [...initial];
  for (const h of nodes.values()) queue.push(...sent(drive(h, { flushAtMs: nowMs })));
  for (let i = 0; i < 1000 && queue.length > 0; i++) {
    const message = queue.shift()!;
    const target = nodes.get(message.to);
    if (!target) continue;
    target.node.step(message, nowMs);
    queue.push(...sent(drive(target, { flushAtMs: nowMs })));
  }
}

function cluster(size: number): Map<number, Harness> {
  const nodes = new Map<number, Harness>();
  const voters = Array.from({ length: size }, (_, i) => i + 1);
  for (const id of voters) nodes.set(id, harness({ nodeId: id, voters }));
  return nodes;
}

/** Elects node 1 in a fresh cluster by running its election timer out first. */
function electFirst(nodes: Map<number, Harness>): Harness {
  const first = nodes.get(1)!;
  first.node.tick(2000); // past the largest randomized election timeout
  settle(nodes, 2000);
  assertEquals(first.node.role, "leader");
  return first;
}

function voteRequest(init: Partial<VoteRequest>): VoteRequest {
  return {
    type: "VoteRequest",
    from: 2,
    to: 1,
    candidateEpoch: 1,
    candidateId: 2,
    lastOffsetEpoch: 0,
    lastOffset: 0,
    preVote: false,
    ...init,
  };
}

Deno.test("a single voter elects itself and commits its LeaderChange after flush", () => {
  // KIP-595: the only voter needs no votes; a new leader writes LeaderChange first.
  const h = harness({ nodeId: 1, voters: [1] });
  const [first] = drive(h);
  assertExists(first);
  assertEquals(first.persistQuorumState, { leaderEpoch: 1, leaderId: 1, votedId: 1 });
  assertEquals(first.appendToLog[0]?.control?.type, "leaderChange");
  assertEquals(first.highWatermark, 0);
  assertEquals(h.node.role, "leader");
  h.node.onFlushed({ offset: 1, epoch: 1 }, 1);
  const [second] = drive(h);
  assertEquals(second?.highWatermark, 1);
  assertEquals(second?.committed.map((e) => e.offset), [0]);
});

Deno.test("a single voter commits a proposal only once it is flushed", () => {
  const h = harness({ nodeId: 1, voters: [1], config: { appendLingerMs: 0 } });
  drive(h, { flushAtMs: 0 });
  const result = h.node.propose([text.encode("a"), text.encode("b")], 5);
  assertEquals(result, { ok: true, offset: 2, epoch: 1 });
  const [ready] = drive(h);
  assertEquals(ready?.appendToLog.length, 2);
  assertEquals(h.node.highWatermark, 1);
  h.node.onFlushed({ offset: 3, epoch: 1 }, 6);
  const committed = drive(h).flatMap((r) => r.committed);
  assertEquals(committed.map((e) => e.offset), [1, 2]);
});

Deno.test("a single voter restarting as leader of an old epoch elects itself in a new epoch", () => {
  const log = new MemoryRaftLog({ entries: [entry(0, 3)] });
  const h = harness({
    nodeId: 1,
    voters: [1],
    log,
    quorumState: { leaderEpoch: 3, leaderId: 1, votedId: 1 },
  });
  assertEquals(h.node.epoch, 4);
  assertEquals(h.node.role, "leader");
});

Deno.test("proposals linger until appendLingerMs passes", () => {
  const h = harness({ nodeId: 1, voters: [1] });
  drive(h, { flushAtMs: 0 });
  h.node.propose([text.encode("a")], 10);
  assertEquals(drive(h).flatMap((r) => r.appendToLog).length, 0);
  h.node.tick(35);
  assertEquals(drive(h).flatMap((r) => r.appendToLog).length, 1);
});

Deno.test("a non-leader refuses proposals with NOT_LEADER_OR_FOLLOWER", () => {
  const h = harness({ nodeId: 1, voters: [1, 2, 3] });
  assertEquals(h.node.propose([text.encode("a")], 0), {
    ok: false,
    error: "NOT_LEADER_OR_FOLLOWER",
  });
});

Deno.test("a follower rejects a vote from a stale epoch", () => {
  // KIP-595: requests from an older epoch are fenced.
  const h = harness({
    nodeId: 1,
    voters: [1, 2, 3],
    quorumState: { leaderEpoch: 5, leaderId: 3, votedId: -1 },
  });
  drive(h);
  h.node.step(voteRequest({ candidateEpoch: 4 }), 1);
  const [response] = sent(drive(h));
  assertEquals(response?.type, "VoteResponse");
  if (response?.type !== "VoteResponse") return;
  assertEquals(response.voteGranted, false);
  assertEquals(response.errorCode, "FENCED_LEADER_EPOCH");
  assertEquals(response.leaderEpoch, 5);
  assertEquals(h.node.epoch, 5);
});

Deno.test("a vote is persisted in the same Ready, before the response is sent", () => {
  // KIP-595: the quorum-state file is fsynced before a vote leaves.
  const h = harness({ nodeId: 1, voters: [1, 2, 3] });
  drive(h);
  h.node.step(voteRequest({ candidateEpoch: 1 }), 1);
  const [ready] = drive(h);
  assertEquals(ready?.persistQuorumState, { leaderEpoch: 1, leaderId: -1, votedId: 2 });
  const response = ready?.send[0];
  assert(response?.type === "VoteResponse" && response.voteGranted);
});

Deno.test("a voter grants at most one vote per epoch", () => {
  // Raft §5.2
  const h = harness({ nodeId: 1, voters: [1, 2, 3] });
  h.node.step(voteRequest({ candidateEpoch: 1, candidateId: 2, from: 2 }), 1);
  h.node.step(voteRequest({ candidateEpoch: 1, candidateId: 3, from: 3 }), 2);
  const responses = sent(drive(h)).filter((m) => m.type === "VoteResponse");
  assertEquals(responses.map((m) => m.type === "VoteResponse" && m.voteGranted), [true, false]);
});

Deno.test("a voter rejects a candidate whose log is less up to date", () => {
  // Raft §5.4.1: compare (last epoch, end offset).
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 2)] });
  const quorumState = { leaderEpoch: 2, leaderId: -1, votedId: -1 };
  const h = harness({ nodeId: 1, voters: [1, 2, 3], log, quorumState });
  h.node.step(voteRequest({ candidateEpoch: 3, lastOffsetEpoch: 1, lastOffset: 5 }), 1);
  const [response] = sent(drive(h));
  assert(response?.type === "VoteResponse" && !response.voteGranted);
  assertEquals(h.node.epoch, 3); // the higher epoch is still adopted
});

Deno.test("a pre-vote neither bumps the epoch nor persists anything", () => {
  // KIP-996
  const h = harness({ nodeId: 1, voters: [1, 2, 3] });
  drive(h);
  h.node.step(voteRequest({ candidateEpoch: 1, preVote: true }), 1);
  const [ready] = drive(h);
  assertEquals(ready?.persistQuorumState, null);
  const response = ready?.send[0];
  assert(response?.type === "VoteResponse" && response.voteGranted && response.preVote);
  assertEquals(h.node.epoch, 0);
  assertEquals(h.node.votedId, -1);
});

Deno.test("a follower that hears from its leader rejects pre-votes", () => {
  // KIP-996: a reachable leader is not replaced.
  const nodes = cluster(3);
  electFirst(nodes);
  const follower = nodes.get(2)!;
  follower.node.step(
    voteRequest({
      from: 3,
      to: 2,
      candidateId: 3,
      candidateEpoch: 2,
      preVote: true,
      lastOffsetEpoch: 9,
    }),
    2100,
  );
  const [response] = sent(drive(follower));
  assert(response?.type === "VoteResponse" && !response.voteGranted);
});

Deno.test("a timed-out voter runs a pre-vote before bumping its epoch", () => {
  // KIP-996: prospective first; only a majority of pre-votes makes a candidate.
  const h = harness({ nodeId: 1, voters: [1, 2, 3] });
  h.node.tick(2000);
  assertEquals(h.node.role, "prospective");
  assertEquals(h.node.epoch, 0);
  const requests = sent(drive(h)).filter((m): m is VoteRequest => m.type === "VoteRequest");
  assertEquals(requests.length, 2);
  assert(requests.every((r) => r.preVote && r.candidateEpoch === 1));
  h.node.step({
    type: "VoteResponse",
    from: 2,
    to: 1,
    errorCode: "NONE",
    leaderEpoch: 0,
    leaderId: -1,
    voteGranted: true,
    preVote: true,
  }, 2001);
  assertEquals(h.node.role, "candidate");
  assertEquals(h.node.epoch, 1);
});

Deno.test("a new leader appends LeaderChange first and announces BeginQuorumEpoch", () => {
  // KIP-595
  const nodes = cluster(3);
  const leader = nodes.get(1)!;
  leader.node.tick(2000);
  const messages: RaftMessage[] = [];
  settleCapture(nodes, 2000, messages);
  assertEquals(leader.node.role, "leader");
  assertEquals(leader.log.read(0, { maxCount: 1, maxBytes: 1 })[0]?.control?.type, "leaderChange");
  const begins = messages.filter((m) => m.type === "BeginQuorumEpochRequest");
  assertEquals(begins.map((m) => m.to).sort(), [2, 3]);
  assertEquals(nodes.get(2)!.node.role, "follower");
  assertEquals(nodes.get(2)!.node.leaderId, 1);
});

function settleCapture(nodes: Map<number, Harness>, nowMs: number, out: RaftMessage[]): void {
  const queue: RaftMessage[] = [];
  for (const h of nodes.values()) queue.push(...sent(drive(h, { flushAtMs: nowMs })));
  for (let i = 0; i < 1000 && queue.length > 0; i++) {
    const message = queue.shift()!;
    out.push(message);
    const target = nodes.get(message.to)!;
    target.node.step(message, nowMs);
    queue.push(...sent(drive(target, { flushAtMs: nowMs })));
  }
}

Deno.test("the high watermark advances only once a majority fetched past the epoch start", () => {
  // KIP-595: majority of voters, including an entry of the current epoch.
  const nodes = new Map([[1, harness({ nodeId: 1, voters: [1, 2, 3] })]]);
  const leader = nodes.get(1)!;
  leader.node.tick(2000);
  for (const id of [2, 3]) {
    leader.node.step({
      type: "VoteResponse",
      from: id,
      to: 1,
      errorCode: "NONE",
      leaderEpoch: 0,
      leaderId: -1,
      voteGranted: true,
      preVote: true,
    }, 2000);
  }
  leader.node.step({
    type: "VoteResponse",
    from: 2,
    to: 1,
    errorCode: "NONE",
    leaderEpoch: 1,
    leaderId: -1,
    voteGranted: true,
    preVote: false,
  }, 2000);
  assertEquals(leader.node.role, "leader");
  drive(leader, { flushAtMs: 2000 });
  assertEquals(leader.node.highWatermark, 0); // only the leader holds LeaderChange
  leader.node.step(fetch({ fetchOffset: 0, lastFetchedEpoch: 0, maxWaitMs: 0 }), 2001);
  assertEquals(leader.node.highWatermark, 0);
  leader.node.step(fetch({ fetchOffset: 1, lastFetchedEpoch: 1, maxWaitMs: 0 }), 2002);
  assertEquals(leader.node.highWatermark, 1);
  const response = sent(drive(leader)).findLast((m): m is FetchResponse =>
    m.type === "FetchResponse"
  );
  assertEquals(response?.highWatermark, 1);
});

function fetch(init: Partial<FetchRequest>): FetchRequest {
  return {
    type: "FetchRequest",
    from: 2,
    to: 1,
    correlationId: 1,
    replicaId: 2,
    currentLeaderEpoch: 1,
    fetchOffset: 0,
    lastFetchedEpoch: 0,
    logStartOffset: 0,
    highWatermark: 0,
    maxBytes: 1 << 20,
    maxWaitMs: 500,
    ...init,
  };
}

Deno.test("the leader answers a diverging fetch with its end offset for the fetcher's epoch", () => {
  // KIP-595: divergingEpoch tells the follower where to truncate.
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 1), entry(2, 3)] });
  const quorumState = { leaderEpoch: 3, leaderId: -1, votedId: -1 };
  const h = harness({ nodeId: 1, voters: [1], log, quorumState });
  drive(h, { flushAtMs: 0 });
  h.node.step(fetch({ currentLeaderEpoch: 4, fetchOffset: 3, lastFetchedEpoch: 2 }), 1);
  const response = sent(drive(h)).find((m): m is FetchResponse => m.type === "FetchResponse");
  assertEquals(response?.divergingEpoch, { epoch: 1, endOffset: 2 });
  assertEquals(response?.records, []);
});

Deno.test("a diverging follower truncates to the leader's end offset for its epoch", () => {
  // KIP-595
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 1), entry(2, 2), entry(3, 2)] });
  const h = harness({
    nodeId: 2,
    voters: [1, 2, 3],
    log,
    quorumState: { leaderEpoch: 3, leaderId: 1, votedId: -1 },
  });
  const request = sent(drive(h)).find((m): m is FetchRequest => m.type === "FetchRequest");
  assertExists(request);
  assertEquals([request.fetchOffset, request.lastFetchedEpoch], [4, 2]);
  h.node.step(fetchResponse(request, { divergingEpoch: { epoch: 1, endOffset: 2 } }), 1);
  const [ready] = drive(h);
  assertEquals(ready?.truncateLogTo, 2);
  const next = ready?.send.find((m): m is FetchRequest => m.type === "FetchRequest");
  assertEquals([next?.fetchOffset, next?.lastFetchedEpoch], [2, 1]);
});

function fetchResponse(request: FetchRequest, init: Partial<FetchResponse>): FetchResponse {
  return {
    type: "FetchResponse",
    from: request.to,
    to: request.from,
    correlationId: request.correlationId,
    errorCode: "NONE",
    highWatermark: 0,
    logStartOffset: 0,
    records: [],
    divergingEpoch: null,
    currentLeader: { leaderId: request.to, leaderEpoch: request.currentLeaderEpoch },
    snapshotId: null,
    ...init,
  };
}

Deno.test("a follower fetches again only after the appended entries are flushed", () => {
  // etcd-raft / KIP-595: a fetch offset is an acknowledgement of durable entries.
  const h = harness({
    nodeId: 2,
    voters: [1, 2, 3],
    quorumState: { leaderEpoch: 1, leaderId: 1, votedId: -1 },
  });
  const request = sent(drive(h)).find((m): m is FetchRequest => m.type === "FetchRequest")!;
  h.node.step(fetchResponse(request, { records: [entry(0, 1), entry(1, 1)], highWatermark: 2 }), 1);
  const readies = drive(h);
  assertEquals(readies.flatMap((r) => r.appendToLog).length, 2);
  assertEquals(sent(readies).filter((m) => m.type === "FetchRequest").length, 0);
  assertEquals(h.node.highWatermark, 2); // learned from the leader, capped by the validated log
  h.node.onFlushed({ offset: 2, epoch: 1 }, 2);
  const next = sent(drive(h)).find((m): m is FetchRequest => m.type === "FetchRequest");
  assertEquals(next?.fetchOffset, 2);
});

Deno.test("a flush report for a since-truncated log is ignored", () => {
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 2)] });
  const h = harness({
    nodeId: 2,
    voters: [1, 2, 3],
    log,
    quorumState: { leaderEpoch: 3, leaderId: 1, votedId: -1 },
  });
  const request = sent(drive(h)).find((m): m is FetchRequest => m.type === "FetchRequest")!;
  h.node.step(fetchResponse(request, { divergingEpoch: { epoch: 1, endOffset: 1 } }), 1);
  assertEquals(h.node.flushedEndOffset, 1);
  h.node.onFlushed({ offset: 2, epoch: 2 }, 2); // the old log, before truncation
  assertEquals(h.node.flushedEndOffset, 1);
});

Deno.test("a leader without fetches from a majority resigns and names successors", () => {
  // KIP-595 check quorum; EndQuorumEpoch carries preferred successors.
  const nodes = cluster(3);
  const leader = electFirst(nodes);
  leader.node.tick(2000 + 3001);
  assertEquals(leader.node.role, "resigned");
  const ends = sent(drive(leader)).filter((m) => m.type === "EndQuorumEpochRequest");
  assertEquals(ends.map((m) => m.to).sort(), [2, 3]);
});

Deno.test("a preferred successor campaigns at once after EndQuorumEpoch", () => {
  // KIP-595
  const nodes = cluster(3);
  const leader = electFirst(nodes);
  const follower = nodes.get(2)!;
  leader.node.resign(2100);
  const end = sent(drive(leader)).find((m) => m.type === "EndQuorumEpochRequest" && m.to === 2)!;
  assert(end.type === "EndQuorumEpochRequest");
  follower.node.step({ ...end, preferredSuccessors: [2, 3] }, 2101);
  assertEquals(follower.node.role, "unattached");
  follower.node.tick(2101);
  assertEquals(follower.node.role, "prospective");
});

Deno.test("a follower that hears nothing within fetchTimeoutMs becomes prospective", () => {
  // KIP-595 / KIP-996
  const h = harness({
    nodeId: 2,
    voters: [1, 2, 3],
    quorumState: { leaderEpoch: 1, leaderId: 1, votedId: -1 },
  });
  h.node.tick(1999);
  assertEquals(h.node.role, "follower");
  h.node.tick(2000);
  assertEquals(h.node.role, "prospective");
});

Deno.test("an observer never campaigns and finds the leader through a fetch", () => {
  // KIP-595: brokers are observers; they fetch but never vote.
  const h = harness({ nodeId: 9, voters: [1, 2, 3] });
  h.node.tick(100_000);
  assertEquals(h.node.role, "unattached");
  const request = sent(drive(h)).findLast((m): m is FetchRequest => m.type === "FetchRequest");
  assertExists(request);
  h.node.step(
    fetchResponse(request, {
      errorCode: "FENCED_LEADER_EPOCH",
      currentLeader: { leaderId: 3, leaderEpoch: 4 },
    }),
    100_001,
  );
  assertEquals([h.node.role, h.node.leaderId, h.node.epoch], ["follower", 3, 4]);
  h.node.step(voteRequest({ to: 9, candidateEpoch: 5 }), 100_002);
  const vote = sent(drive(h)).find((m) => m.type === "VoteResponse");
  assert(vote?.type === "VoteResponse" && !vote.voteGranted);
});

Deno.test("a fetch before the log start is answered with the snapshot id", () => {
  // KIP-630
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 1), entry(2, 1)] });
  log.compactTo({ offset: 2, epoch: 1 });
  const quorumState = { leaderEpoch: 1, leaderId: -1, votedId: -1 };
  const h = harness({ nodeId: 1, voters: [1], log, quorumState });
  drive(h, { flushAtMs: 0 });
  h.node.step(fetch({ currentLeaderEpoch: 2, fetchOffset: 0, lastFetchedEpoch: 0 }), 1);
  const response = sent(drive(h)).find((m): m is FetchResponse => m.type === "FetchResponse");
  assertEquals(response?.snapshotId, { offset: 2, epoch: 1 });
});

Deno.test("three voters elect one leader and replicate a proposal to all", () => {
  const nodes = cluster(3);
  const leader = electFirst(nodes);
  leader.node.propose([text.encode("x")], 2100);
  leader.node.tick(2200);
  for (let round = 0; round < 4; round++) {
    for (const h of nodes.values()) h.node.tick(2200 + round);
    settle(nodes, 2200 + round);
  }
  for (const h of nodes.values()) {
    assertEquals(h.log.endOffset(), 2);
    assertEquals(h.node.highWatermark, 2, `node ${h.node.nodeId}`);
  }
});

function snapshotFollower(): Harness {
  return harness({
    nodeId: 2,
    voters: [1, 2, 3],
    quorumState: { leaderEpoch: 3, leaderId: 1, votedId: -1 },
  });
}

function firstFetch(readies: Ready[]): FetchRequest {
  const request = sent(readies).find((m): m is FetchRequest => m.type === "FetchRequest");
  assertExists(request);
  return request;
}

Deno.test("a follower told to load a snapshot stops fetching until it is installed", () => {
  // KIP-630: the fetch answer names the leader's snapshot; the follower fetches it instead.
  const h = snapshotFollower();
  const request = firstFetch(drive(h));
  const snapshotId = { offset: 10, epoch: 2 };
  h.node.step(fetchResponse(request, { snapshotId, logStartOffset: 10, highWatermark: 12 }), 1);
  const readies = drive(h);
  assertEquals(readies[0]?.snapshotNeeded, { snapshotId, leaderId: 1 });
  assertEquals(sent(readies).filter((m) => m.type === "FetchRequest").length, 0);
  assertEquals(h.node.fetchingSnapshot, snapshotId);
  h.node.tick(500);
  assertEquals(sent(drive(h)).filter((m) => m.type === "FetchRequest").length, 0);
  assert(h.node.shouldInstallSnapshot(snapshotId));
});

Deno.test("an installed snapshot moves the log start, high watermark and next fetch to its end", () => {
  // KIP-630: after FetchSnapshot the follower truncates fully and resumes at the snapshot end.
  const h = snapshotFollower();
  const request = firstFetch(drive(h));
  const snapshotId = { offset: 10, epoch: 2 };
  h.node.step(fetchResponse(request, { snapshotId, logStartOffset: 10, highWatermark: 12 }), 1);
  drive(h);
  h.log.installSnapshot(snapshotId); // what storage does: truncate fully and start at 10
  h.node.onSnapshotInstalled(snapshotId, 2);
  const readies = drive(h);
  const next = firstFetch(readies);
  assertEquals([next.fetchOffset, next.lastFetchedEpoch], [10, 2]);
  assertEquals(h.node.highWatermark, 10);
  assertEquals(readies.flatMap((r) => r.committed), []); // the snapshot holds them
  assertEquals(h.node.fetchingSnapshot, null);
  h.node.step(fetchResponse(next, { records: [entry(10, 3)], highWatermark: 11 }), 3);
  drive(h, { flushAtMs: 3 });
  assertEquals(h.node.highWatermark, 11);
  const [ready] = drive(h);
  assertEquals(ready?.committed.map((e) => e.offset) ?? [], []);
});

Deno.test("a failed snapshot fetch resumes fetching after the retry backoff", () => {
  const h = snapshotFollower();
  const request = firstFetch(drive(h));
  h.node.step(fetchResponse(request, { snapshotId: { offset: 10, epoch: 2 } }), 1);
  drive(h);
  h.node.onSnapshotFetchFailed(2);
  assertEquals(sent(drive(h)).filter((m) => m.type === "FetchRequest").length, 0);
  h.node.tick(2 + 20);
  const again = firstFetch(drive(h));
  assertEquals(again.fetchOffset, 0);
});

Deno.test("a snapshot id that is not past the follower's log end is ignored", () => {
  // Kafka's truncateToLatestSnapshot: only a snapshot greater than the log end replaces it.
  const log = new MemoryRaftLog({ entries: [entry(0, 2), entry(1, 2), entry(2, 2)] });
  const h = harness({
    nodeId: 2,
    voters: [1, 2, 3],
    log,
    quorumState: { leaderEpoch: 3, leaderId: 1, votedId: -1 },
  });
  const request = firstFetch(drive(h));
  h.node.step(fetchResponse(request, { snapshotId: { offset: 2, epoch: 2 } }), 1);
  const readies = drive(h);
  assertEquals(readies.map((r) => r.snapshotNeeded).filter((s) => s !== null), []);
  assertEquals(h.node.fetchingSnapshot, null);
  assertEquals(h.node.shouldInstallSnapshot({ offset: 2, epoch: 2 }), false);
});

Deno.test("the leader sends a fetcher whose last epoch predates its snapshot to the snapshot", () => {
  // KIP-630 (Kafka's validateOffsetAndEpoch): positions after the log start with an older epoch
  // than the snapshot's cannot be checked for divergence, so the snapshot is the answer.
  const log = new MemoryRaftLog({ entries: [entry(0, 1), entry(1, 2), entry(2, 2), entry(3, 2)] });
  log.compactTo({ offset: 2, epoch: 2 });
  const quorumState = { leaderEpoch: 2, leaderId: -1, votedId: -1 };
  const h = harness({ nodeId: 1, voters: [1], log, quorumState });
  drive(h, { flushAtMs: 0 });
  h.node.step(fetch({ currentLeaderEpoch: 3, fetchOffset: 3, lastFetchedEpoch: 1 }), 1);
  const response = sent(drive(h)).find((m): m is FetchResponse => m.type === "FetchResponse");
  assertEquals(response?.snapshotId, { offset: 2, epoch: 2 });
  h.node.step(fetch({ currentLeaderEpoch: 3, fetchOffset: 3, lastFetchedEpoch: 2 }), 2);
  const ok = sent(drive(h)).find((m): m is FetchResponse => m.type === "FetchResponse");
  assertEquals(ok?.snapshotId, null);
});

/** Node `nodeId` follows leader 1 in epoch 1 and has had one successful fetch answered at 10 ms. */
function fetchingFollower(nodeId: number, voters = [1, 2, 3]): Harness {
  const h = harness({ nodeId, voters, quorumState: { leaderEpoch: 1, leaderId: 1, votedId: -1 } });
  const request = firstFetch(drive(h));
  h.node.step(fetchResponse(request, {}), 10);
  drive(h);
  return h;
}

function preVotesOf(readies: Ready[]): VoteRequest[] {
  return sent(readies).filter((m): m is VoteRequest => m.type === "VoteRequest" && m.preVote);
}

Deno.test("a voter whose leader's connection fails runs a pre-vote within a tenth of the election timeout", () => {
  // KIP-996: instead of waiting out fetch.timeout (2000 ms) the voter polls the others at once,
  // without bumping its epoch; the others still decide whether the leader is gone.
  const h = fetchingFollower(2);
  h.node.onPeerUnreachable(1, 20);
  h.node.tick(119);
  assertEquals([h.node.role, h.node.epoch], ["prospective", 1]);
  const preVotes = preVotesOf(drive(h));
  assertEquals(preVotes.map((v) => v.to).sort(), [1, 3]);
  assert(preVotes.every((v) => v.candidateEpoch === 2));
});

Deno.test("a connection failure seen before any successful fetch leaves the decision to fetch.timeout", () => {
  // KIP-595: only a failure after the leader was heard tells something new about it.
  const h = harness({
    nodeId: 2,
    voters: [1, 2, 3],
    quorumState: { leaderEpoch: 1, leaderId: 1, votedId: -1 },
  });
  drive(h);
  h.node.onPeerUnreachable(1, 5);
  h.node.tick(1999);
  assertEquals(h.node.role, "follower");
  h.node.tick(2000);
  assertEquals(h.node.role, "prospective");
});

Deno.test("a successful fetch after the connection failure cancels the early pre-vote", () => {
  // KIP-996: a flapping connection to a live leader starts no election.
  const h = fetchingFollower(2);
  h.node.onPeerUnreachable(1, 20);
  h.node.tick(40);
  const retry = firstFetch(drive(h));
  h.node.step(fetchResponse(retry, {}), 41);
  drive(h);
  h.node.tick(200);
  assertEquals(h.node.role, "follower");
});

Deno.test("a flapping leader connection starts at most one early pre-vote per election timeout", () => {
  // KIP-996: the other voters and the live leader reject the pre-vote; the voter goes back to
  // following, and a second failure soon after waits for fetch.timeout instead of campaigning.
  const h = fetchingFollower(2);
  h.node.onPeerUnreachable(1, 20);
  h.node.tick(200);
  assertEquals(h.node.role, "prospective");
  for (const from of [1, 3]) {
    h.node.step({
      type: "VoteResponse",
      from,
      to: 2,
      errorCode: "NONE",
      leaderEpoch: 1,
      leaderId: 1,
      voteGranted: false,
      preVote: true,
    }, 201);
  }
  assertEquals([h.node.role, h.node.leaderId, h.node.epoch], ["follower", 1, 1]);
  const fetchAgain = firstFetch(drive(h));
  h.node.step(fetchResponse(fetchAgain, {}), 210);
  drive(h);
  h.node.onPeerUnreachable(1, 300);
  h.node.tick(1100);
  assertEquals(h.node.role, "follower");
  h.node.tick(2210);
  assertEquals(h.node.role, "prospective"); // fetch.timeout after the last successful fetch
});

Deno.test("voters that both lose the leader elect the first campaigner without a split vote", () => {
  // KIP-996 / KIP-595: a voter that lost the leader grants the pre-vote, then defers its own
  // early pre-vote to the first campaigner and grants its vote in the next epoch.
  const nodes = new Map([[2, fetchingFollower(2)], [3, fetchingFollower(3)]]);
  const [two, three] = [nodes.get(2)!, nodes.get(3)!];
  two.node.onPeerUnreachable(1, 20);
  three.node.onPeerUnreachable(1, 20);
  two.node.tick(120); // past any jitter: 2 campaigns first
  const [preVote] = preVotesOf(drive(two)).filter((v) => v.to === 3);
  assertExists(preVote);
  three.node.step(preVote, 121);
  const grant = sent(drive(three));
  three.node.tick(200); // its own early pre-vote was due by now, but it deferred to 2
  assertEquals([three.node.role, three.node.epoch], ["follower", 1]);
  settle(nodes, 201, grant);
  assertEquals([two.node.role, two.node.epoch], ["leader", 2]);
  assertEquals([three.node.role, three.node.leaderId, three.node.epoch], ["follower", 2, 2]);
});

Deno.test("a follower that still hears its leader rejects the pre-vote of a voter that lost it", () => {
  // KIP-996: a connection failure seen by one voter cannot unseat a leader the others hear.
  const nodes = new Map([[2, fetchingFollower(2)], [3, fetchingFollower(3)]]);
  const [two, three] = [nodes.get(2)!, nodes.get(3)!];
  two.node.onPeerUnreachable(1, 20);
  two.node.tick(120);
  const [preVote] = preVotesOf(drive(two)).filter((v) => v.to === 3);
  assertExists(preVote);
  three.node.step(preVote, 121);
  const [answer] = sent(drive(three));
  assert(answer?.type === "VoteResponse" && !answer.voteGranted);
  assertEquals([three.node.role, three.node.epoch], ["follower", 1]);
});

Deno.test("a leader ignores unreachable followers: only check quorum makes it resign", () => {
  // KIP-595 check quorum: the leader counts fetches, not connection failures.
  const nodes = cluster(3);
  const leader = electFirst(nodes);
  leader.node.onPeerUnreachable(2, 2100);
  leader.node.onPeerUnreachable(3, 2100);
  leader.node.tick(2200);
  assertEquals(leader.node.role, "leader");
  leader.node.tick(2000 + 3001);
  assertEquals(leader.node.role, "resigned");
});

Deno.test("an observer whose leader's connection fails asks the other voters and skips that leader", () => {
  // KIP-595: a Fetch to a non-leader voter answers with the leader it knows; the observer does
  // not go back to the unreachable one in that epoch, and follows the next epoch's leader.
  const h = harness({ nodeId: 9, voters: [1, 2, 3], quorumState: undefined });
  h.node.tick(0);
  const discovery = sent(drive(h)).findLast((m): m is FetchRequest => m.type === "FetchRequest")!;
  h.node.step(
    fetchResponse(discovery, {
      errorCode: "NOT_LEADER_OR_FOLLOWER",
      currentLeader: { leaderId: 3, leaderEpoch: 4 },
    }),
    1,
  );
  assertEquals([h.node.role, h.node.leaderId], ["follower", 3]);
  drive(h);
  h.node.onPeerUnreachable(3, 2);
  assertEquals([h.node.role, h.node.epoch], ["unattached", 4]);
  const ask = firstFetch(drive(h));
  assert(ask.to !== 3, `asked ${ask.to}`);
  h.node.step(
    fetchResponse(ask, {
      errorCode: "NOT_LEADER_OR_FOLLOWER",
      currentLeader: { leaderId: 3, leaderEpoch: 4 },
    }),
    3,
  );
  assertEquals(h.node.role, "unattached");
  h.node.tick(30);
  const again = firstFetch(drive(h));
  assert(again.to !== 3, `asked ${again.to}`);
  h.node.step(
    fetchResponse(again, {
      errorCode: "FENCED_LEADER_EPOCH",
      currentLeader: { leaderId: 2, leaderEpoch: 5 },
    }),
    31,
  );
  assertEquals([h.node.role, h.node.leaderId, h.node.epoch], ["follower", 2, 5]);
});
