// Loading __consumer_offsets logs one line per burst, not one per partition (issue #11: every
// start logged 150 INFO lines about __consumer_offsets partitions).
import { deepEqual, equal, ok } from "node:assert/strict";
import type { Logger } from "../core/log.ts";
import { Admin } from "../net/client/admin.ts";
import { startCluster } from "./embedded_cluster.ts";
import { GroupLoadLog, partitionRanges } from "./group_load_log.ts";

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return {
    lines,
    logger: { debug: () => {}, info: keep("INFO"), warn: keep("WARN"), error: keep("ERROR") },
  };
}

Deno.test("partition numbers print as compact ranges", () => {
  equal(partitionRanges([4, 0, 1, 2, 3, 7, 9, 10]), "0-4,7,9-10");
  equal(partitionRanges([5]), "5");
  equal(partitionRanges([2, 2, 1]), "1-2");
  equal(partitionRanges([]), "");
});

Deno.test("a burst of loads is logged in one line once it pauses", async () => {
  const { logger, lines } = capture();
  const log = new GroupLoadLog(logger, "__consumer_offsets", { quietMs: 30 });
  log.loaded({ partition: 1, groups: 2, records: 7, elapsedMs: 4 });
  await new Promise((resolve) => setTimeout(resolve, 10));
  log.loaded({ partition: 0, groups: 1, records: 3, elapsedMs: 9 });
  log.loaded({ partition: 2, groups: 0, records: 0, elapsedMs: 1 });
  deepEqual(lines, [], "nothing while the burst goes on");
  await new Promise((resolve) => setTimeout(resolve, 60));
  deepEqual(lines, [
    "INFO Loaded 3 groups from 10 records of 3 __consumer_offsets partitions (0-2), the slowest in 9 ms",
  ]);
});

Deno.test("flush logs pending loads and unloads at once and stops the timer", () => {
  const { logger, lines } = capture();
  const log = new GroupLoadLog(logger, "__consumer_offsets");
  for (const p of [3, 4, 5, 8]) log.unloaded(p);
  log.loaded({ partition: 9, groups: 1, records: 2, elapsedMs: 0 });
  log.flush();
  deepEqual(lines, [
    "INFO Loaded 1 groups from 2 records of 1 __consumer_offsets partitions (9), the slowest in 0 ms",
    "INFO Unloaded the groups of 4 __consumer_offsets partitions (3-5,8)",
  ]);
  log.flush();
  equal(lines.length, 2, "nothing twice");
});

Deno.test("a broker leading 50 __consumer_offsets partitions logs one load line and one unload line", async () => {
  const captured = capture();
  const cluster = await startCluster({
    overrides: { "offsets.topic.num.partitions": "50" },
    logger: () => captured.logger,
  });
  try {
    const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
    try {
      // Describing a group asks FindCoordinator, which creates and loads __consumer_offsets.
      const deadline = Date.now() + 20_000;
      while (!captured.lines.some((l) => l.includes("__consumer_offsets partitions"))) {
        ok(Date.now() < deadline, "__consumer_offsets was not loaded within 20 s");
        await admin.describeGroups(["billing"]).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      admin.close();
    }
  } finally {
    await cluster.close();
  }
  const perPartition = captured.lines.filter((l) => /__consumer_offsets-\d/.test(l));
  deepEqual(perPartition, [], "no line names a single partition");
  const offsetsLines = captured.lines.filter((l) => l.includes("__consumer_offsets partitions"));
  deepEqual(offsetsLines.map((l) => l.replace(/the slowest in \d+ ms/, "the slowest in N ms")), [
    "INFO Loaded 0 groups from 0 records of 50 __consumer_offsets partitions (0-49), the slowest in N ms",
    "INFO Unloaded the groups of 50 __consumer_offsets partitions (0-49)",
  ]);
});
