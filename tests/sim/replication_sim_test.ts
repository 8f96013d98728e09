import { strict as assert } from "node:assert";
import {
  DEFAULT_REPLICATION_SIM,
  type ReplicationSimResult,
  runReplicationSimulation,
} from "./replication.ts";

const SEEDS = 200;

function failureReport(result: ReplicationSimResult): string {
  return [
    `seed ${result.seed} failed: ${result.error}`,
    `replay: deno task sim --replication --seed ${result.seed} --trace`,
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
