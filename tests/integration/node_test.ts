/**
 * A real combined node in a child process, driven by real clients: kcat (librdkafka) and KafkaJS.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { hasCommand, runMain, startNode } from "./harness.ts";

Deno.test("server-start refuses an unformatted directory and names the storage format command", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-unformatted-" });
  try {
    const props = join(dir, "server.properties");
    await Deno.writeTextFile(
      props,
      [
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.voters=1@127.0.0.1:1",
        "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:1",
        "controller.listener.names=CONTROLLER",
        `log.dirs=${join(dir, "logs")}`,
      ].join("\n"),
    );
    const result = await runMain(["server-start", props]);
    assert.deepEqual(result.code, 1);
    assert.match(result.stderr, /storage format/);
    assert.match(result.stderr, new RegExp(join(dir, "logs").replaceAll("/", "\\/")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "kcat lists the broker of a freshly started node",
  ignore: !hasCommand("kcat"),
  fn: async () => {
    const node = await startNode();
    try {
      const out = new Deno.Command("kcat", {
        args: ["-L", "-b", node.bootstrap, "-m", "10"],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const text = new TextDecoder().decode(out.stdout);
      assert.deepEqual(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.match(text, new RegExp(`broker 1 at ${node.bootstrap}`));
    } finally {
      await node.stop();
    }
  },
});

Deno.test("KafkaJS admin creates, lists and deletes topics through the controller", async () => {
  const node = await startNode();
  const kafka = new Kafka({
    clientId: "kraftling-test",
    brokers: [node.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const created = await admin.createTopics({
      topics: [{ topic: "orders", numPartitions: 3 }, { topic: "events" }],
      waitForLeaders: true,
    });
    assert.deepEqual(created, true);
    assert.deepEqual((await admin.listTopics()).sort(), ["events", "orders"]);
    const metadata = await admin.fetchTopicMetadata({ topics: ["orders"] });
    assert.deepEqual(metadata.topics[0]!.partitions.length, 3);
    for (const p of metadata.topics[0]!.partitions) assert.deepEqual(p.leader, 1);
    // Creating it again is TOPIC_ALREADY_EXISTS, which KafkaJS reports as `false`.
    assert.deepEqual(await admin.createTopics({ topics: [{ topic: "orders" }] }), false);
    // Topic configs: alter through the controller, describe from the broker's image.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: 2,
        name: "orders",
        configEntries: [{ name: "retention.ms", value: "3600000" }],
      }],
    });
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: "orders", configNames: ["retention.ms", "cleanup.policy"] }],
    });
    const entries = new Map(
      described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]),
    );
    assert.equal(entries.get("retention.ms"), "3600000");
    assert.equal(entries.get("cleanup.policy"), "delete");
    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    await admin.deleteTopics({ topics: ["events"] });
    assert.deepEqual(await admin.listTopics(), ["orders"]);
    // Restart: the topics come back from the metadata log.
    await admin.disconnect();
    await node.kill();
    await node.restart();
    await admin.connect();
    assert.deepEqual(await admin.listTopics(), ["orders"]);
    const again = await admin.fetchTopicMetadata({ topics: ["orders"] });
    assert(again.topics[0]!.partitions.every((p) => p.leader === 1));
  } finally {
    await admin.disconnect().catch(() => {});
    await node.stop();
  }
});

Deno.test("a second server-start on a directory in use fails with one line and the first keeps serving", async () => {
  const node = await startNode();
  try {
    const second = await runMain(["server-start", node.propertiesPath]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /Failed to acquire lock on file \.lock in /);
    const kafka = new Kafka({ brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "still-serving" }] });
    assert.ok((await admin.listTopics()).includes("still-serving"));
    await admin.disconnect();
  } finally {
    await node.stop();
  }
});
