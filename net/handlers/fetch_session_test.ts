import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  FetchSessionCache,
  type FetchSessionRequest,
  type FetchTarget,
  type PartitionOutcome,
  targetKey,
} from "./fetch_session.ts";

const ZERO = "AAAAAAAAAAAAAAAAAAAAAA";

function target(topic: string, partition: number, fetchOffset = 0): FetchTarget {
  return {
    topic,
    topicId: ZERO,
    partition,
    fetchOffset,
    maxBytes: 1024,
    currentLeaderEpoch: -1,
    lastFetchedEpoch: -1,
  };
}

function request(init: Partial<FetchSessionRequest>): FetchSessionRequest {
  return {
    sessionId: 0,
    sessionEpoch: 0,
    targets: [],
    forgotten: [],
    usesTopicIds: false,
    privileged: false,
    nowMs: 0,
    ...init,
  };
}

function outcome(highWatermark: number, recordsBytes = 0, errorCode = 0): PartitionOutcome {
  return {
    errorCode,
    highWatermark,
    lastStableOffset: highWatermark,
    logStartOffset: 0,
    recordsBytes,
    diverging: false,
  };
}

function counter(): () => number {
  let id = 0;
  return () => ++id;
}

Deno.test("a full fetch at epoch 0 opens a session and lists every partition (KIP-227)", () => {
  const cache = new FetchSessionCache({ nextId: counter() });
  const ctx = cache.newContext(request({ targets: [target("a", 0), target("a", 1)] }));
  assertEquals(ctx.kind, "full");
  const done = cache.complete(ctx, new Map([["a:0", outcome(5)], ["a:1", outcome(0)]]), 0);
  assertEquals(done.sessionId, 1);
  assertEquals(done.include("a:1"), true);
  assertEquals(cache.session(1)?.epoch, 1);
});

Deno.test("a sessionless fetch (epoch -1) opens nothing", () => {
  const cache = new FetchSessionCache({ nextId: counter() });
  const ctx = cache.newContext(request({ sessionEpoch: -1, targets: [target("a", 0)] }));
  assertEquals(ctx.kind, "sessionless");
  assertEquals(cache.complete(ctx, new Map(), 0).sessionId, 0);
  assertEquals(cache.size, 0);
});

Deno.test("an incremental fetch keeps omitted partitions and answers only changed ones", () => {
  const cache = new FetchSessionCache({ nextId: counter() });
  const full = cache.newContext(
    request({ targets: [target("a", 0), target("a", 1), target("b", 0)] }),
  );
  cache.complete(full, new Map([["a:0", outcome(5)], ["a:1", outcome(0)], ["b:0", outcome(0)]]), 0);
  // The client moved a-0 forward and forgets b-0.
  const inc = cache.newContext(request({
    sessionId: 1,
    sessionEpoch: 1,
    targets: [target("a", 0, 5)],
    forgotten: [{ topic: "b", topicId: ZERO, partition: 0 }],
  }));
  assertEquals(inc.kind, "incremental");
  if (inc.kind !== "incremental") return;
  assertEquals(inc.targets.map((t) => targetKey(t, false)), ["a:0", "a:1"]);
  assertEquals(inc.targets[0]!.fetchOffset, 5);
  const done = cache.complete(inc, new Map([["a:0", outcome(5)], ["a:1", outcome(3, 100)]]), 0);
  assertEquals(done.include("a:0"), false);
  assertEquals(done.include("a:1"), true);
  assertEquals(cache.session(1)?.epoch, 2);
});

Deno.test("errors always appear in incremental responses", () => {
  const cache = new FetchSessionCache({ nextId: counter() });
  cache.complete(
    cache.newContext(request({ targets: [target("a", 0)] })),
    new Map([["a:0", outcome(0)]]),
    0,
  );
  const inc = cache.newContext(request({ sessionId: 1, sessionEpoch: 1 }));
  const done = cache.complete(
    inc,
    new Map([["a:0", outcome(-1, 0, ErrorCode.NOT_LEADER_OR_FOLLOWER)]]),
    0,
  );
  assertEquals(done.include("a:0"), true);
});

Deno.test("an unknown session or a wrong epoch is refused", () => {
  const cache = new FetchSessionCache({ nextId: counter() });
  assertEquals(cache.newContext(request({ sessionId: 9, sessionEpoch: 1 })), {
    kind: "error",
    errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  });
  cache.complete(cache.newContext(request({ targets: [target("a", 0)] })), new Map(), 0);
  assertEquals(cache.newContext(request({ sessionId: 1, sessionEpoch: 3 })), {
    kind: "error",
    errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH,
  });
});

Deno.test("a full cache evicts a stale session, then only less valuable ones", () => {
  const cache = new FetchSessionCache({ maxSessions: 2, evictionMs: 1_000, nextId: counter() });
  const open = (targets: FetchTarget[], nowMs: number, privileged = false) =>
    cache.complete(cache.newContext(request({ targets, nowMs, privileged })), new Map(), nowMs)
      .sessionId;
  assertEquals(open([target("a", 0)], 0), 1);
  assertEquals(open([target("a", 0), target("a", 1)], 500), 2);
  // Nothing stale, and a one-partition session is worth no more than session 1: refused.
  assertEquals(open([target("c", 0)], 600), 0);
  // A bigger session evicts the smallest one.
  assertEquals(open([target("a", 0), target("a", 1), target("a", 2)], 700), 3);
  assertEquals(cache.session(1), undefined);
  // Later, session 2 has been idle past evictionMs and goes first.
  assertEquals(open([target("d", 0)], 2_000), 4);
  assertEquals(cache.session(2), undefined);
  assertEquals(cache.evictions, 2);
});
