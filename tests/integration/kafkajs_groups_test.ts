// KafkaJS 2.2.4 (an unmodified npm client) against a real kraftling node: a three-member eager
// group sharing six partitions through a member leaving, gzip, and the admin calls for groups, partitions, records and offsets by timestamp.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { CompressionTypes, type Consumer, Kafka, logLevel } from "kafkajs";
import { startNode } from "./harness.ts";

/** Upper bound of any wait in this file, in milliseconds. */
const WAIT_MS_MAX = 30_000;

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes. */
async function waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS_MAX) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function messages(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` }));
}

Deno.test({
  name: "KafkaJS consumer groups share, rebalance and commit; admin manages groups and records",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await startNode();
    const kafka = new Kafka({
      clientId: "kraftling-kjs-groups",
      brokers: [node.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumers: Consumer[] = [];
    try {
      await admin.connect();
      await producer.connect();
      assert(
        await admin.createTopics({
          topics: [
            { topic: "grp", numPartitions: 6 },
            { topic: "gz", numPartitions: 1 },
            { topic: "adm", numPartitions: 2 },
          ],
          waitForLeaders: true,
        }),
      );

      await t.step(
        "three members share six partitions, then two finish after one leaves",
        async () => {
          const seen = new Map<string, number>();
          const byMember: number[] = [0, 0, 0];
          const assigned: number[][] = [[], [], []];
          for (let m = 0; m < 3; m++) {
            const consumer = kafka.consumer({
              groupId: "grp-group",
              sessionTimeout: 10_000,
              rebalanceTimeout: 10_000,
              heartbeatInterval: 500,
              // Members notice a rebalance between fetches: keep long polls short.
              maxWaitTimeInMs: 500,
            });
            consumer.on(consumer.events.GROUP_JOIN, (e) => {
              assigned[m] = e.payload.memberAssignment["grp"] ?? [];
            });
            await consumer.connect();
            await consumer.subscribe({ topic: "grp", fromBeginning: true });
            await consumer.run({
              eachMessage: ({ message }) => {
                const key = message.key!.toString();
                seen.set(key, (seen.get(key) ?? 0) + 1);
                byMember[m]!++;
                return Promise.resolve();
              },
            });
            consumers.push(consumer);
          }
          await waitFor(
            "three members with two partitions each",
            () => assigned.every((a) => a.length === 2),
          );
          assertEquals(assigned.flat().sort(), [0, 1, 2, 3, 4, 5]);
          for (let i = 0; i < 3000; i += 500) {
            await producer.send({ topic: "grp", messages: messages(i, 500) });
          }
          await waitFor("3000 messages consumed", () => seen.size === 3000);
          assert([...seen.values()].every((n) => n === 1), "a message was consumed twice");
          assert(byMember.every((n) => n > 0), `a member got nothing: ${byMember}`);

          await consumers.pop()!.disconnect();
          await waitFor(
            "two members with three partitions each",
            () => assigned[0]!.length === 3 && assigned[1]!.length === 3,
          );
          await producer.send({ topic: "grp", messages: messages(3000, 600) });
          await waitFor("3600 messages consumed", () => seen.size === 3600);
          assertEquals([...seen.values()].filter((n) => n > 1).length, 0);
        },
      );

      await t.step("gzip batches round trip", async () => {
        await producer.send({
          topic: "gz",
          compression: CompressionTypes.GZIP,
          messages: messages(0, 200),
        });
        const consumer = kafka.consumer({ groupId: "gz-group", maxWaitTimeInMs: 500 });
        consumers.push(consumer);
        const values: string[] = [];
        await consumer.connect();
        await consumer.subscribe({ topic: "gz", fromBeginning: true });
        await consumer.run({
          eachMessage: ({ message }) => {
            values.push(message.value!.toString());
            return Promise.resolve();
          },
        });
        await waitFor("200 gzip messages", () => values.length >= 200);
        assertEquals(values, messages(0, 200).map((m) => m.value));
        await consumers.pop()!.disconnect();
      });

      await t.step("admin reads, resets, sets and deletes group offsets", async () => {
        const fetched = await admin.fetchOffsets({ groupId: "gz-group", topics: ["gz"] });
        assertEquals(fetched[0]!.partitions.map((p) => [p.partition, p.offset]), [[0, "200"]]);

        const groups = await admin.listGroups();
        assert(
          groups.groups.some((g) => g.groupId === "gz-group" && g.protocolType === "consumer"),
        );
        const described = await admin.describeGroups(["grp-group", "gz-group"]);
        const byId = new Map(described.groups.map((g) => [g.groupId, g]));
        assertEquals(byId.get("gz-group")!.state, "Empty");
        assertEquals(byId.get("grp-group")!.members.length, 2);

        await admin.resetOffsets({ groupId: "gz-group", topic: "gz", earliest: true });
        const reset = await admin.fetchOffsets({ groupId: "gz-group", topics: ["gz"] });
        // KafkaJS commits the EARLIEST sentinel itself (as it would against Kafka).
        assertEquals(reset[0]!.partitions[0]!.offset, "-2");
        await admin.setOffsets({
          groupId: "gz-group",
          topic: "gz",
          partitions: [{ partition: 0, offset: "150" }],
        });
        const set = await admin.fetchOffsets({ groupId: "gz-group", topics: ["gz"] });
        assertEquals(set[0]!.partitions[0]!.offset, "150");

        await admin.deleteGroups(["gz-group"]);
        const after = await admin.listGroups();
        assert(!after.groups.some((g) => g.groupId === "gz-group"));
        const gone = await admin.fetchOffsets({ groupId: "gz-group", topics: ["gz"] });
        assertEquals(gone[0]!.partitions[0]!.offset, "-1");
      });

      await t.step(
        "admin grows partitions, deletes records and finds offsets by timestamp",
        async () => {
          const before = Date.now();
          await producer.send({
            topic: "adm",
            messages: messages(0, 100).map((m) => ({ ...m, partition: 0 })),
          });
          await new Promise((resolve) => setTimeout(resolve, 20));
          const middle = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 20));
          await producer.send({
            topic: "adm",
            messages: messages(100, 50).map((m) => ({ ...m, partition: 0 })),
          });

          await admin.createPartitions({ topicPartitions: [{ topic: "adm", count: 4 }] });
          const meta = await admin.fetchTopicMetadata({ topics: ["adm"] });
          assertEquals(meta.topics[0]!.partitions.length, 4);

          const byTime = await admin.fetchTopicOffsetsByTimestamp("adm", middle);
          assertEquals(byTime.find((p) => p.partition === 0)!.offset, "100");
          const byOldTime = await admin.fetchTopicOffsetsByTimestamp("adm", before - 60_000);
          assertEquals(byOldTime.find((p) => p.partition === 0)!.offset, "0");

          await admin.deleteTopicRecords({
            topic: "adm",
            partitions: [{ partition: 0, offset: "120" }],
          });
          const offsets = await admin.fetchTopicOffsets("adm");
          const p0 = offsets.find((p) => p.partition === 0)!;
          assertEquals([p0.low, p0.high], ["120", "150"]);
          assertEquals(offsets.length, 4);
        },
      );
    } catch (error) {
      console.error(
        node.logs().split("\n").filter((l) => /WARN|ERROR/.test(l)).slice(-40).join("\n"),
      );
      throw error;
    } finally {
      for (const c of consumers) await c.disconnect().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await node.stop();
    }
  },
});
