/**
 * Consumer group rebalance time: N members (our own client, eager range assignor) subscribe at
 * once to a 50-partition topic on a real node; the clock stops when every member holds a
 * disjoint share of the partitions and the group is Stable with N members.
 *
 * @module
 */

import { startNode } from "../../tests/integration/harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { Consumer } from "../../net/client/consumer.ts";

const PARTITIONS = 50;

async function rebalanceMs(bootstrap: string, members: number, round: number): Promise<number> {
  const topic = `group-bench-${round}`;
  const admin = new Admin({ bootstrapServers: bootstrap });
  await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
  const groupId = `bench-group-${round}`;
  const consumers = Array.from(
    { length: members },
    () => new Consumer({ bootstrapServers: bootstrap, groupId, autoOffsetReset: "earliest" }),
  );
  const start = performance.now();
  for (const c of consumers) c.subscribe([topic]);
  let elapsed = -1;
  // Bounded: at most 600 polling rounds.
  for (let i = 0; i < 600 && elapsed < 0; i++) {
    await Promise.all(consumers.map((c) => c.poll({ timeoutMs: 50 })));
    const owned = consumers.flatMap((c) => c.assignment().map((p) => p.partition));
    const stable = new Set(owned).size === PARTITIONS && owned.length === PARTITIONS &&
      consumers.every((c) => c.assignment().length > 0 || members > PARTITIONS);
    if (!stable) continue;
    const [group] = await admin.describeGroups([groupId]);
    if (group?.state === "Stable" && group.members.length === members) {
      elapsed = performance.now() - start;
    }
  }
  await Promise.all(consumers.map((c) => c.close()));
  admin.close();
  return elapsed;
}

/**
 * Runs the group bench for 1, 10 and 50 members and returns a markdown table.
 *
 * @example
 * ```ts ignore
 * console.log(await runGroupBench());
 * ```
 */
export async function runGroupBench(sizes: readonly number[] = [1, 10, 50]): Promise<string> {
  const node = await startNode();
  const rows = ["| members | JoinGroup to all assigned (ms) |", "| ---: | ---: |"];
  try {
    for (const [i, members] of sizes.entries()) {
      const ms = await rebalanceMs(node.bootstrap, members, i);
      rows.push(`| ${members} | ${ms < 0 ? "did not settle" : ms.toFixed(0)} |`);
    }
  } finally {
    await node.stop();
  }
  return rows.join("\n");
}

if (import.meta.main) console.log(await runGroupBench());
