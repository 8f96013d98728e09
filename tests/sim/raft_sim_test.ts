import { strict as assert } from "node:assert";
import { DEFAULT_SIM_OPTIONS, runSimulation, type SimResult } from "./cluster.ts";

const SEEDS_PER_SHAPE = 150;

function failureReport(result: SimResult): string {
  return [
    `seed ${result.seed} failed: ${result.error}`,
    `replay: deno task sim --seed ${result.seed}`,
    ...result.trace,
  ].join("\n");
}

for (const voters of [3, 5]) {
  Deno.test(`${SEEDS_PER_SHAPE} seeded ${voters}-voter clusters stay safe under faults and recover after healing`, () => {
    // Raft §5.2–§5.4, KIP-595: one leader per epoch, epochs and high watermarks never go back,
    // committed entries are durable on a majority and never change, leaders hold them all,
    // and after the network heals a leader commits a new entry on every voter.
    let committed = 0;
    for (let seed = 1; seed <= SEEDS_PER_SHAPE; seed++) {
      const result = runSimulation({ ...DEFAULT_SIM_OPTIONS, seed: seed * 7919 + voters, voters });
      assert.ok(result.ok, failureReport(result));
      committed += result.committed;
    }
    assert.ok(committed > SEEDS_PER_SHAPE, "The workload committed almost nothing");
  });
}

Deno.test("a seed replays to exactly the same trace", () => {
  const first = runSimulation({ ...DEFAULT_SIM_OPTIONS, seed: 42, voters: 5 });
  const second = runSimulation({ ...DEFAULT_SIM_OPTIONS, seed: 42, voters: 5 });
  assert.deepEqual(first, second);
});

Deno.test("a single-voter cluster with observers commits with no faults needed", () => {
  const result = runSimulation({ ...DEFAULT_SIM_OPTIONS, seed: 3, voters: 1, observers: 2 });
  assert.ok(result.ok, failureReport(result));
  assert.ok(result.committed > 10);
});

const SNAPSHOT_SEEDS = 100;

for (const voters of [3, 5]) {
  Deno.test(`${SNAPSHOT_SEEDS} seeded ${voters}-voter clusters that snapshot every few entries stay safe and catch up through snapshots`, () => {
    // KIP-630: nodes snapshot their applied state and drop the log before it; crashed or cut-off
    // replicas behind a leader's log start fetch and install its snapshot. Snapshots hold exactly
    // the committed history, and every invariant above still holds.
    let written = 0;
    let installed = 0;
    for (let seed = 1; seed <= SNAPSHOT_SEEDS; seed++) {
      const result = runSimulation({
        ...DEFAULT_SIM_OPTIONS,
        seed: seed * 104_729 + voters,
        voters,
        observers: 2,
        snapshotEveryEntries: 5,
      });
      assert.ok(result.ok, failureReport(result));
      written += result.snapshotsWritten;
      installed += result.snapshotsInstalled;
    }
    assert.ok(written > SNAPSHOT_SEEDS, `Only ${written} snapshots were written`);
    assert.ok(installed > SNAPSHOT_SEEDS / 4, `Only ${installed} snapshots were installed`);
  });
}

Deno.test("a seed with snapshots replays to exactly the same trace", () => {
  const options = { ...DEFAULT_SIM_OPTIONS, seed: 77, voters: 3, snapshotEveryEntries: 4 };
  assert.deepEqual(runSimulation(options), runSimulation(options));
});

const FAILOVER_SEEDS = 40;

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function failoverTimes(unreachableOnCrashRate: number): number[] {
  const times: number[] = [];
  for (let seed = 1; seed <= FAILOVER_SEEDS; seed++) {
    const result = runSimulation({
      ...DEFAULT_SIM_OPTIONS,
      seed: seed * 6_151,
      voters: 3,
      observers: 1,
      chaosMs: 8_000,
      failover: { crashAtMs: 3_000 },
      unreachableOnCrashRate,
    });
    assert.ok(result.ok, failureReport(result));
    assert.ok(result.failoverMs !== null, `seed ${result.seed}: no new leader before the heal`);
    times.push(result.failoverMs);
  }
  return times;
}

Deno.test("with connection failures seen, a crashed leader is replaced well before fetch.timeout", () => {
  // KIP-996 with Kafka's default timeouts (election 1000 ms, fetch 2000 ms): a voter whose
  // leader's connection fails (kill -9 resets every connection) runs its pre-vote at once, and a
  // split vote backs off without waiting for the dead voter; without that signal the voters wait
  // out fetch.timeout. Every invariant holds either way.
  const fast = failoverTimes(1);
  const slow = failoverTimes(0);
  assert.ok(medianOf(fast) < 300, `median failover ${medianOf(fast)} ms with signals`);
  assert.ok(Math.max(...fast) < 1_000, `slowest failover ${Math.max(...fast)} ms with signals`);
  assert.ok(medianOf(slow) >= 2_000, `median failover ${medianOf(slow)} ms without signals`);
});

const DYNAMIC_SEEDS = 150;

for (const snapshotEveryEntries of [0, 5]) {
  Deno.test(
    `${DYNAMIC_SEEDS} seeded dynamic quorums that add and remove voters under faults stay safe${
      snapshotEveryEntries > 0 ? " with snapshots" : ""
    }`,
    () => {
      // KIP-853: voter changes are VotersRecords in force once appended, one uncommitted at a time,
      // after the leader committed its epoch; a removed leader resigns once its removal commits.
      // Every invariant above holds under the CURRENT voter set (one leader per epoch, committed
      // entries durable on a majority of the leader's voters and never lost).
      let added = 0;
      let removed = 0;
      let leaderRemoved = 0;
      for (let seed = 1; seed <= DYNAMIC_SEEDS; seed++) {
        const result = runSimulation({
          ...DEFAULT_SIM_OPTIONS,
          seed: seed * 15_485_863 + snapshotEveryEntries,
          voters: 3,
          observers: 2,
          dynamicQuorum: true,
          snapshotEveryEntries,
        });
        assert.ok(result.ok, failureReport(result));
        added += result.voterChanges.added;
        removed += result.voterChanges.removed;
        leaderRemoved += result.voterChanges.leaderRemoved;
      }
      assert.ok(added > DYNAMIC_SEEDS / 2, `Only ${added} voters were added`);
      assert.ok(removed > DYNAMIC_SEEDS / 2, `Only ${removed} voters were removed`);
      assert.ok(
        leaderRemoved > DYNAMIC_SEEDS / 10,
        `Only ${leaderRemoved} leaders removed themselves`,
      );
    },
  );
}

Deno.test("a dynamic quorum of one grows by adding observers and survives its leader's removal", () => {
  // KIP-853 --standalone: a single voter elects itself, then grows one voter at a time.
  const result = runSimulation({
    ...DEFAULT_SIM_OPTIONS,
    seed: 11,
    voters: 1,
    observers: 3,
    dynamicQuorum: true,
  });
  assert.ok(result.ok, failureReport(result));
  assert.ok(result.voterChanges.added > 0, "No voter was added");
});

Deno.test("a dynamic seed replays to exactly the same trace", () => {
  const options = {
    ...DEFAULT_SIM_OPTIONS,
    seed: 99,
    voters: 3,
    observers: 2,
    dynamicQuorum: true,
  };
  assert.deepEqual(runSimulation(options), runSimulation(options));
});
