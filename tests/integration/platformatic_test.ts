/**
 * @platformatic/kafka, a new client that demands recent versions (Produce v9+, Fetch v15+,
 * Metadata v12), against a real node: admin, keyed produce with headers, group consumption.
 */

import assert from "node:assert/strict";
import {
  Admin,
  Consumer,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { startNode } from "./harness.ts";

const COUNT = 500;

Deno.test("@platformatic/kafka creates a topic, produces with headers and consumes in a group", async () => {
  const node = await startNode();
  const bootstrapBrokers = [node.bootstrap];
  try {
    const admin = new Admin({ clientId: "plat-admin", bootstrapBrokers });
    await admin.createTopics({ topics: ["plat"], partitions: 3, replicas: 1 });
    assert.ok((await admin.listTopics()).includes("plat"));
    await admin.close();

    const producer = new Producer({
      clientId: "plat-producer",
      bootstrapBrokers,
      serializers: stringSerializers,
    });
    await producer.send({
      messages: Array.from({ length: COUNT }, (_, i) => ({
        topic: "plat",
        key: `key-${i}`,
        value: `value-${i}`,
        headers: { index: String(i) },
      })),
    });
    await producer.close();

    const consumer = new Consumer({
      groupId: "plat-group",
      clientId: "plat-consumer",
      bootstrapBrokers,
      deserializers: stringDeserializers,
    });
    const stream = await consumer.consume({ topics: ["plat"], mode: "earliest" });
    const seen = new Map<string, string>();
    const deadline = Date.now() + 20_000;
    for await (const message of stream) {
      assert.equal(message.headers.get("index"), message.key.slice("key-".length));
      seen.set(message.key, message.value);
      if (seen.size >= COUNT || Date.now() > deadline) break;
    }
    await stream.close();
    await consumer.close();
    assert.equal(seen.size, COUNT);
    for (let i = 0; i < COUNT; i++) assert.equal(seen.get(`key-${i}`), `value-${i}`);
  } finally {
    await node.stop();
  }
});
