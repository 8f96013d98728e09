/**
 * Runs the deterministic KRaft cluster simulation over many seeds, or replays one; with
 * `--replication`, the partition replication simulation (brokers, ISR, acks=all) instead.
 *
 * ```
 * deno task sim --seeds 500 --voters 5          # seeds 1..500
 * deno task sim --seed 1234 --voters 3 --trace  # replay one seed and print its trace
 * deno task sim --replication --seeds 5000 --min-isr 2
 * deno task sim --replication --seed 51 --trace
 * deno task sim --replication --elr --seeds 5000
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_SIM_OPTIONS, runSimulation } from "../tests/sim/cluster.ts";
import { DEFAULT_REPLICATION_SIM, runReplicationSimulation } from "../tests/sim/replication.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "100" },
    seed: { type: "string" },
    "first-seed": { type: "string", default: "1" },
    voters: { type: "string", default: String(DEFAULT_SIM_OPTIONS.voters) },
    observers: { type: "string", default: String(DEFAULT_SIM_OPTIONS.observers) },
    "chaos-ms": { type: "string", default: String(DEFAULT_SIM_OPTIONS.chaosMs) },
    "liveness-ms": { type: "string", default: String(DEFAULT_SIM_OPTIONS.livenessMs) },
    "trace-length": { type: "string", default: String(DEFAULT_SIM_OPTIONS.traceLength) },
    trace: { type: "boolean", default: false },
    replication: { type: "boolean", default: false },
    elr: { type: "boolean", default: false },
    "min-isr": { type: "string", default: String(DEFAULT_REPLICATION_SIM.minInsyncReplicas) },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: deno task sim [--seeds N | --seed S] [--first-seed F] [--voters V] [--observers O]\n" +
      "                     [--chaos-ms MS] [--liveness-ms MS] [--trace-length N] [--trace]\n" +
      "       deno task sim --replication [--seeds N | --seed S] [--min-isr N] [--elr] [--trace]",
  );
  Deno.exit(0);
}

function integer(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`Invalid --${name}: ${text} is not a non-negative integer`);
    Deno.exit(2);
  }
  return value;
}

const shape = {
  ...DEFAULT_SIM_OPTIONS,
  voters: integer("voters", values.voters),
  observers: integer("observers", values.observers),
  chaosMs: integer("chaos-ms", values["chaos-ms"]),
  livenessMs: integer("liveness-ms", values["liveness-ms"]),
  traceLength: integer("trace-length", values["trace-length"]),
};
const seeds = values.seed !== undefined ? [integer("seed", values.seed)] : Array.from(
  { length: integer("seeds", values.seeds) },
  (_, i) => integer("first-seed", values["first-seed"]) + i,
);

if (values.replication) {
  const minInsyncReplicas = integer("min-isr", values["min-isr"]);
  const startedMs = performance.now();
  let failed = 0;
  let acked = 0;
  for (const seed of seeds) {
    const result = runReplicationSimulation({
      ...DEFAULT_REPLICATION_SIM,
      seed,
      minInsyncReplicas,
      elr: values.elr,
      traceLength: values.trace ? 1_000_000 : DEFAULT_REPLICATION_SIM.traceLength,
    });
    acked += result.acked;
    if (values.trace || !result.ok) console.log(result.trace.join("\n"));
    if (!result.ok) {
      failed++;
      console.log(`seed ${seed} FAILED: ${result.error}`);
      console.log(
        `replay: deno task sim --replication --seed ${seed} --min-isr ${minInsyncReplicas}${
          values.elr ? " --elr" : ""
        } --trace`,
      );
    }
  }
  const elapsedMs = Math.round(performance.now() - startedMs);
  console.log(
    `${seeds.length} seeds, ${failed} failed, ${acked} acknowledged records, ${elapsedMs} ms`,
  );
  Deno.exit(failed > 0 ? 1 : 0);
}

const startedMs = performance.now();
let failed = 0;
let committed = 0;
let elections = 0;
for (const seed of seeds) {
  const result = runSimulation({ ...shape, seed });
  committed += result.committed;
  elections += result.elections;
  if (values.trace || !result.ok) {
    console.log(result.trace.join("\n"));
  }
  if (!result.ok) {
    failed++;
    console.log(`seed ${seed} FAILED: ${result.error}`);
    console.log(`replay: deno task sim --seed ${seed} --voters ${shape.voters} --trace`);
  }
}
const elapsedMs = Math.round(performance.now() - startedMs);
console.log(
  `${seeds.length} seeds, ${failed} failed, ${elections} elections, ${committed} committed entries, ${elapsedMs} ms`,
);
Deno.exit(failed > 0 ? 1 : 0);
