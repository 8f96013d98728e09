// KIP-848 end to end: our Consumer with groupProtocol "consumer" against a real node.
import assert from "node:assert/strict";
import { runMain, startNode } from "./harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { Consumer } from "../../net/client/consumer.ts";
import { Producer } from "../../net/client/producer.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import type { ConsumerGroupDescribeResponse } from "../../net/protocol/generated/consumer_group_describe_response.ts";
import type { ListGroupsResponse } from "../../net/protocol/generated/list_groups_response.ts";

const TOPIC = "kip848";
const GROUP = "kip848-group";

async function produce(bootstrap: string, from: number, count: number): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap });
  try {
    for (let start = from; start < from + count; start += 250) {
      const sends = [];
      for (let i = start; i < Math.min(start + 250, from + count); i++) {
        sends.push(producer.send({ topic: TOPIC, partition: i % 6, value: String(i) }));
      }
      await Promise.all(sends);
    }
  } finally {
    await producer.close();
  }
}

async function until(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test({
  name: "three KIP-848 consumers share six partitions and consume 3000 records exactly once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const node = await startNode();
    const admin = new Admin({ bootstrapServers: node.bootstrap });
    const consumers: Consumer[] = [];
    const running = new Set<Consumer>();
    const loops: Promise<void>[] = [];
    const seen = new Map<string, number>();
    try {
      await admin.createTopics([{ name: TOPIC, numPartitions: 6, replicationFactor: 1 }]);
      for (let i = 0; i < 3; i++) {
        const consumer = new Consumer({
          bootstrapServers: node.bootstrap,
          groupId: GROUP,
          groupProtocol: "consumer",
          autoOffsetReset: "earliest",
          autoCommitIntervalMs: 500,
          clientId: `kip848-${i}`,
        });
        consumer.subscribe([TOPIC]);
        consumers.push(consumer);
        running.add(consumer);
        loops.push((async () => {
          // Bounded: each poll waits at most 200 ms; the test's own deadlines stop it sooner.
          for (let round = 0; round < 3000 && running.has(consumer); round++) {
            for (const r of await consumer.poll({ timeoutMs: 200 })) {
              const value = new TextDecoder().decode(r.value!);
              seen.set(value, (seen.get(value) ?? 0) + 1);
            }
          }
        })());
      }
      await until(
        "every consumer to own two partitions",
        60_000,
        () => consumers.every((c) => c.assignment().length === 2),
      );

      const conn = await admin.cluster.connectionTo(await admin.cluster.coordinatorFor(GROUP));
      const described = await conn.send<ConsumerGroupDescribeResponse>(
        ApiKey.CONSUMER_GROUP_DESCRIBE,
        { groupIds: [GROUP], includeAuthorizedOperations: false },
        { version: 0 },
      );
      const group = described.groups[0]!;
      assert.equal(group.errorCode, 0);
      assert.equal(group.members.length, 3);
      assert.equal(group.assignorName, "uniform");
      const listed = await conn.send<ListGroupsResponse>(
        ApiKey.LIST_GROUPS,
        { statesFilter: [], typesFilter: ["consumer"] },
        { version: 5 },
      );
      assert.deepEqual(listed.groups.map((g) => [g.groupId, g.groupType]), [[GROUP, "consumer"]]);
      // The Kafka-named tool describes a KIP-848 group through ConsumerGroupDescribe.
      const tool = await runMain([
        "consumer-groups",
        "--bootstrap-server",
        node.bootstrap,
        "--describe",
        "--group",
        GROUP,
        "--members",
      ]);
      assert.equal(tool.code, 0, tool.stderr);
      assert.equal(tool.stdout.split("\n").filter((l) => l.startsWith(GROUP)).length, 3);

      await produce(node.bootstrap, 0, 1500);
      await until("the first 1500 records", 60_000, () => seen.size >= 1500);

      // One member leaves (epoch -1 after committing); the other two take its partitions.
      const leaving = consumers[2]!;
      running.delete(leaving);
      await loops[2];
      await leaving.close();
      await produce(node.bootstrap, 1500, 1500);
      await until("all 3000 records", 90_000, () => seen.size >= 3000);
      await until(
        "the two remaining consumers to own all six partitions",
        30_000,
        () => consumers[0]!.assignment().length + consumers[1]!.assignment().length === 6,
      );

      const duplicates = [...seen].filter(([, n]) => n !== 1);
      assert.deepEqual(duplicates, [], "every record is consumed exactly once");
      assert.equal(seen.size, 3000);
    } finally {
      running.clear();
      await Promise.allSettled(loops);
      for (const c of consumers) await c.close().catch(() => {});
      admin.close();
      await node.stop();
    }
  },
});
