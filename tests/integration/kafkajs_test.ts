// KafkaJS (an unmodified npm client) against a real kraftling node: admin, produce, group consume,
// commit, and a restarted consumer resuming from the committed offsets.
import { deepEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const exists = (p: string) => {
  try {
    Deno.statSync(join(ROOT, p));
    return true;
  } catch {
    return false;
  }
};
const ignore = !exists("tests/integration/harness.ts") || !exists("node/node.ts");
if (ignore) {
  console.warn("kafkajs_test: skipped (tests/integration/harness.ts or node/node.ts missing)");
}

const harness = ignore ? undefined : await import("./harness.ts");

/** Consumes with `groupId` until `count` messages arrived or `timeoutMs` passed. */
async function consumeUntil(kafka: Kafka, groupId: string, count: number, timeoutMs: number) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: "kjs", fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: true,
      eachMessage: ({ message }) => {
        seen.push(message.value!.toString());
        if (seen.length >= count) done();
        return Promise.resolve();
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([finished, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect(); // commits the offsets of what was processed
  }
  return seen;
}

Deno.test({
  name:
    "KafkaJS produces 1000 messages, a group consumes and commits them, and a restarted consumer resumes",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const node = await harness!.startNode();
    const kafka = new Kafka({
      clientId: "kraftling-kafkajs",
      brokers: [node.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5 },
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    try {
      await admin.connect();
      assertEquals(
        await admin.createTopics({
          topics: [{ topic: "kjs", numPartitions: 3 }],
          waitForLeaders: true,
        }),
        true,
      );
      await producer.connect();
      for (let batch = 0; batch < 10; batch++) {
        await producer.send({
          topic: "kjs",
          messages: Array.from(
            { length: 100 },
            (_, i) => ({ key: `k${batch * 100 + i}`, value: `v${batch * 100 + i}` }),
          ),
        });
      }
      const first = await consumeUntil(kafka, "kjs-group", 1000, 60_000);
      assertEquals(new Set(first).size, 1000);
      const offsets = await admin.fetchOffsets({ groupId: "kjs-group", topics: ["kjs"] });
      const committed = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
      assertEquals(committed, 1000);
      await producer.send({ topic: "kjs", messages: [{ key: "late", value: "v-late" }] });
      const resumed = await consumeUntil(kafka, "kjs-group", 1, 30_000);
      assertEquals(resumed, ["v-late"]);
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      await node.stop();
    }
  },
});
