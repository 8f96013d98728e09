import { strict as assert } from "node:assert";
import {
  DEFAULT_REPLICATION_SIM,
  type ReplicationSimResult,
  runReplicationSimulation,
} from "./replication.ts";

const SEEDS = 200;

function failureReport(result: ReplicationSimResult, flags = ""): string {
  return [
    `seed ${result.seed} failed: ${result.error}`,
    `replay: deno task sim --replication --seed ${result.seed}${flags} --trace`,
    ...result.trace,
  ].join("\n");
}

Deno.test(`${SEEDS} seeded 3-broker replicated partitions lose no acknowledged record under crashes, cut links and lost messages`, () => {
  // Kafka's replication model (KIP-101, KIP-279, KIP-497): acks=all records survive as long as an
  // ISR member does, leaders come only from the ISR, committed offsets never change, and after
  // healing the partition has a leader that commits again with every ISR member caught up.
  let acked = 0;
  let elections = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = runReplicationSimulation({ ...DEFAULT_REPLICATION_SIM, seed });
    assert.ok(result.ok, failureReport(result));
    acked += result.acked;
    elections += result.elections;
  }
  assert.ok(acked > SEEDS * 50, `The workload acknowledged almost nothing (${acked})`);
  assert.ok(elections > SEEDS * 2, `Too few leader elections to mean anything (${elections})`);
});

Deno.test("a replication seed replays to exactly the same result", () => {
  const first = runReplicationSimulation({ ...DEFAULT_REPLICATION_SIM, seed: 42 });
  const second = runReplicationSimulation({ ...DEFAULT_REPLICATION_SIM, seed: 42 });
  assert.deepEqual(first, second);
});

Deno.test("with min.insync.replicas 3 and brokers crashing, acks=all refuses rather than loses", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const result = runReplicationSimulation({
      ...DEFAULT_REPLICATION_SIM,
      seed,
      minInsyncReplicas: 3,
    });
    assert.ok(result.ok, failureReport(result));
  }
});

Deno.test(`${SEEDS} seeded runs with Eligible Leader Replicas lose nothing and keep every ELR member complete`, () => {
  // KIP-966: eligible.leader.replicas.version 1, clean stops among the crashes. The ELR invariant
  // (every eligible replica holds the committed log) is checked at every controller change.
  let acked = 0;
  let elrElections = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = runReplicationSimulation({ ...DEFAULT_REPLICATION_SIM, seed, elr: true });
    assert.ok(result.ok, failureReport(result, " --elr"));
    acked += result.acked;
    elrElections += result.elrElections;
  }
  assert.ok(acked > SEEDS * 50, `The workload acknowledged almost nothing (${acked})`);
  assert.ok(elrElections > 0, "no seed elected a leader from the ELR: the runs prove nothing");
});

Deno.test("with ELR, the last ISR member dying below min ISR loses nothing and needs no unclean election", () => {
  // KIP-966's motivating case: ISR [1,2,3] with min ISR 2; a follower stops (ISR at min ISR),
  // the other stops too (ISR below min ISR: the high watermark stands still), then the leader
  // dies by kill -9. The follower that stopped last comes back first: it is in the ELR, so it
  // leads at once, cleanly, with every acknowledged record.
  const result = runReplicationSimulation({
    ...DEFAULT_REPLICATION_SIM,
    seed: 7,
    elr: true,
    lastIsrMemberDies: true,
    dropRate: 0,
  });
  assert.ok(result.ok, failureReport(result));
  assert.equal(result.elrElections, 1, result.trace.join("\n"));
  assert.equal(result.uncleanElections, 0);
  assert.ok(result.acked > 100, `only ${result.acked} records acknowledged`);
});

Deno.test("without ELR the same failures wait for the dead leader and elect nobody from outside the ISR", () => {
  const result = runReplicationSimulation({
    ...DEFAULT_REPLICATION_SIM,
    seed: 7,
    elr: false,
    lastIsrMemberDies: true,
    dropRate: 0,
  });
  assert.ok(result.ok, failureReport(result));
  assert.equal(result.elrElections, 0);
  assert.equal(result.uncleanElections, 0);
});
