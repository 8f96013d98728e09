/**
 * KRaft snapshots (KIP-630) in a real combined node: with a small
 * `metadata.log.max.record.bytes.between.snapshots`, creating topics writes a `.checkpoint` beside
 * the metadata log, and after kill -9 the node comes back from the snapshot plus the log tail.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startNode } from "./harness.ts";

const SNAPSHOT_WAIT_MS = 15_000;

async function checkpoints(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (/^\d{20}-\d{10}\.checkpoint$/.test(entry.name) && !entry.name.startsWith("0".repeat(20))) {
      names.push(entry.name);
    }
  }
  return names.sort();
}

Deno.test("a node snapshots its metadata, and after kill -9 every topic comes back from the snapshot and the log", async () => {
  const node = await startNode({
    props: {
      "metadata.log.max.record.bytes.between.snapshots": "4096",
      "metadata.log.max.snapshot.interval.ms": "0",
    },
  });
  const kafka = new Kafka({
    clientId: "kraftling-snapshot-test",
    brokers: [node.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
  const admin = kafka.admin();
  const partitionDir = join(node.dataDir, "logs", "__cluster_metadata-0");
  try {
    await admin.connect();
    const names = Array.from({ length: 40 }, (_, i) => `snap-topic-${String(i).padStart(2, "0")}`);
    for (let i = 0; i < names.length; i += 10) {
      await admin.createTopics({
        topics: names.slice(i, i + 10).map((topic) => ({ topic, numPartitions: 2 })),
        waitForLeaders: true,
      });
    }
    await admin.deleteTopics({ topics: [names[0]!, names[1]!] });
    const expected = names.slice(2);
    const deadline = Date.now() + SNAPSHOT_WAIT_MS;
    let files = await checkpoints(partitionDir);
    while (files.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      files = await checkpoints(partitionDir);
    }
    assert.ok(files.length > 0, `no .checkpoint in ${partitionDir}:\n${node.logs()}`);
    // One more topic after the snapshot lives only in the log tail.
    await admin.createTopics({ topics: [{ topic: "after-snapshot" }], waitForLeaders: true });
    await admin.disconnect();
    await node.kill();
    await node.restart();
    assert.match(node.logs(), /Loaded snapshot \d+-\d+/);
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith("__")).sort();
    assert.deepEqual(topics, [...expected, "after-snapshot"].sort());
    const metadata = await admin.fetchTopicMetadata({ topics: [expected[0]!] });
    assert.equal(metadata.topics[0]!.partitions.length, 2);
    assert.ok(metadata.topics[0]!.partitions.every((p) => p.leader === 1));
  } finally {
    await admin.disconnect().catch(() => {});
    await node.stop();
  }
});
