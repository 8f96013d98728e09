/**
 * Model test of the transaction coordinator: random clients (re-inits, adds, commits, aborts),
 * failing appends, timeouts, lost markers and coordinator failovers (a new coordinator loads the
 * durable log), from one seed each. After every step the invariants below must hold; at the end,
 * with failures stopped, every transaction must complete.
 */
import { strict as assert } from "node:assert";
import { SeededRandom } from "../random.ts";
import { TxnErrorCode as E } from "./error_codes.ts";
import { TxnHarness } from "./test_harness.ts";
import { TransactionCoordinator } from "./transaction_coordinator.ts";

const IDS = ["a", "b", "c"];
const TOPICS = ["t0", "t1"];
const SEEDS = 200;
const STEPS = 300;

interface Client {
  producer: { producerId: bigint; producerEpoch: number } | null;
}

interface Expect {
  /** Partitions whose AddPartitions was answered NONE in the current transaction. */
  added: Set<string>;
  /** Set when EndTxn was answered NONE: the next markers must match it. */
  ended: { committed: boolean; partitions: Set<string> } | null;
  /** The outcome of the last markers seen: a failover resends them. */
  sent: { producerId: bigint; producerEpoch: number; committed: boolean } | null;
}

function run(seed: number): void {
  const random = new SeededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random.next() * xs.length)]!;
  const h = new TxnHarness({ transactionalIdExpirationMs: 1e12, completeRetryBackoffMs: 10 });
  h.autoSettle = false;
  const clients = new Map(IDS.map((id) => [id, { producer: null } as Client]));
  const expect = new Map(
    IDS.map((id) => [id, { added: new Set(), ended: null, sent: null } as Expect]),
  );
  let nextPid = 1000n;
  let handle = 0;
  let markersSeen = 0;
  let failureRate = 0.1;

  const checkMarkers = () => {
    for (const m of h.markers.slice(markersSeen)) {
      const e = expect.get(m.transactionalId)!;
      const resent = e.ended === null && e.sent !== null && e.sent.producerId === m.producerId &&
        e.sent.producerEpoch === m.producerEpoch;
      if (resent) {
        assert.equal(m.committed, e.sent!.committed, `seed ${seed}: a resend flips the outcome`);
        continue;
      }
      const sent = new Set(m.partitions.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)));
      const must = e.ended?.partitions ?? e.added;
      for (const tp of must) assert(sent.has(tp), `seed ${seed}: markers miss ${tp}`);
      if (e.ended !== null) {
        assert.equal(m.committed, e.ended.committed, `seed ${seed}: the markers flip the outcome`);
      } else {
        assert.equal(m.committed, false, `seed ${seed}: a commit nobody asked for`);
      }
      e.ended = null;
      e.added = new Set();
      e.sent = { producerId: m.producerId, producerEpoch: m.producerEpoch, committed: m.committed };
    }
    markersSeen = h.markers.length;
  };

  const settle = () => {
    const failed = random.next() < failureRate;
    h.settle(failed ? pick([E.NOT_ENOUGH_REPLICAS, E.NOT_LEADER_OR_FOLLOWER]) : 0);
  };

  // Responses of parked requests arrive when their append settles: react to them afterwards.
  const parked = new Map<string, { id: string; kind: "init" | "add" | "end"; detail: unknown }>();
  const drainResponses = () => {
    for (const [name, p] of [...parked]) {
      const r = h.responses.get(name);
      if (r === undefined) continue;
      parked.delete(name);
      const e = expect.get(p.id)!;
      if (r.errorCode !== E.NONE) continue;
      if (p.kind === "init") {
        clients.get(p.id)!.producer = { producerId: r.producerId, producerEpoch: r.producerEpoch };
        e.added = new Set();
      } else if (p.kind === "add") {
        for (const tp of p.detail as string[]) e.added.add(tp);
      } else if (p.detail !== null) {
        e.ended = { committed: p.detail as boolean, partitions: e.added };
        e.added = new Set();
      }
    }
  };

  const checkDurableMatchesMemory = () => {
    const reloaded = new TransactionCoordinator<string>();
    reloaded.load(h.log, h.nowMs);
    for (const id of IDS) {
      const live = h.coordinator.describe(id);
      const pendingAppend = h.pendingAppends.some((a) => a.record.transactionalId === id);
      if (pendingAppend || live?.state === "PrepareEpochFence") continue;
      const durable = reloaded.describe(id);
      if (live === null || live.producerEpoch === -1) {
        assert(durable === null || live !== null, `seed ${seed}: ${id} lost from memory`);
        continue;
      }
      assert.deepEqual(durable, live, `seed ${seed}: ${id} in memory differs from its log`);
    }
  };

  const epochs = new Map<bigint, number>();
  const checkEpochsGrow = () => {
    for (const record of h.log) {
      if (record.value === null) continue;
      const previous = epochs.get(record.value.producerId) ?? -1;
      assert(record.value.producerEpoch >= previous, `seed ${seed}: an epoch went backwards`);
      epochs.set(record.value.producerId, record.value.producerEpoch);
    }
    epochs.clear();
  };

  for (let step = 0; step < STEPS; step++) {
    const id = pick(IDS);
    const client = clients.get(id)!;
    const op = random.next();
    if (op < 0.12) {
      const newPid = h.coordinator.needsProducerId(id) ? nextPid++ : null;
      const name = `r${handle++}`;
      parked.set(name, { id, kind: "init", detail: null });
      h.init(name, id, newPid, { timeoutMs: 50 + Math.floor(random.next() * 200) });
    } else if (op < 0.35 && client.producer !== null) {
      const tps = [`${pick(TOPICS)}:${Math.floor(random.next() * 3)}`];
      const name = `r${handle++}`;
      parked.set(name, { id, kind: "add", detail: tps });
      const [topic, p] = tps[0]!.split(":");
      h.add(name, id, client.producer, [{ topic: topic!, partitions: [Number(p)] }]);
    } else if (op < 0.45 && client.producer !== null) {
      const committed = random.next() < 0.6;
      const name = `r${handle++}`;
      // A retry answered NONE on a completed transaction sends no markers.
      const retry = h.coordinator.describe(id)?.state.startsWith("Complete") ?? false;
      parked.set(name, { id, kind: "end", detail: retry ? null : committed });
      h.end(name, id, client.producer, committed);
    } else if (op < 0.7 && h.pendingAppends.length > 0) {
      settle();
    } else if (op < 0.8) {
      // Some markers are delayed (the node retries them until written); the rest are written.
      const markers = h.markers.splice(0);
      const written = markers.filter(() => random.next() >= 0.3);
      h.markers.push(...markers.filter((m) => !written.includes(m)));
      markersSeen = h.markers.length;
      for (const m of written) {
        h.run(h.coordinator.markersWritten(
          m.transactionalId,
          m.producerId,
          m.producerEpoch,
          h.nowMs,
        ));
      }
    } else if (op < 0.93) {
      h.tick(h.nowMs + Math.floor(random.next() * 60));
    } else {
      checkMarkers();
      h.failover();
      markersSeen = 0;
    }
    drainResponses();
    checkMarkers();
    checkDurableMatchesMemory();
  }
  checkEpochsGrow();

  // Liveness: with no more failures, every transaction completes.
  failureRate = 0;
  for (let round = 0; round < 50; round++) {
    while (h.pendingAppends.length > 0) settle();
    drainResponses();
    checkMarkers();
    if (h.markers.length > 0) {
      markersSeen = 0;
      h.ackMarkers();
      continue;
    }
    h.tick(h.nowMs + 1000);
  }
  for (const id of IDS) {
    const state = h.coordinator.describe(id)?.state;
    assert(
      state === undefined || state === "Empty" || state === "CompleteCommit" ||
        state === "CompleteAbort",
      `seed ${seed}: ${id} stuck in ${state}`,
    );
  }
}

Deno.test("random clients, failing appends, lost markers and failovers keep the coordinator's promises", () => {
  for (let seed = 1; seed <= SEEDS; seed++) run(seed);
});
