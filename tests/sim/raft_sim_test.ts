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
