// End-to-end: the Kafka-named client tools against a real kraftling node.
import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

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
  console.warn("cli_test: skipped (tests/integration/harness.ts or node/node.ts missing)");
}

const harness = ignore ? undefined : await import("./harness.ts");

async function run(args: string[], stdin?: string) {
  return await harness!.runMain(args, { stdin, timeoutMs: 60_000 });
}

Deno.test({
  name: "the client tools create, fill, read, reset, alter and delete topics like Kafka's scripts",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await harness!.startNode();
    const b = ["--bootstrap-server", node.bootstrap];
    try {
      await t.step("topics --create, --list, --describe, --alter", async () => {
        const created = await run([
          "topics",
          ...b,
          "--create",
          "--topic",
          "orders",
          "--partitions",
          "2",
          "--replication-factor",
          "1",
          "--config",
          "retention.ms=86400000",
        ]);
        assertEquals(created.stdout.trim(), "Created topic orders.", created.stderr);
        const again = await run([
          "topics",
          ...b,
          "--create",
          "--topic",
          "orders",
          "--if-not-exists",
        ]);
        assertEquals(again.code, 0, again.stderr);
        const dup = await run(["topics", ...b, "--create", "--topic", "orders"]);
        assertEquals(dup.code, 1);
        match(dup.stderr, /Error while executing topic command : .*orders/);
        const list = await run(["topics", ...b, "--list", "--exclude-internal"]);
        assertEquals(list.stdout.trim(), "orders");
        const described = await run(["topics", ...b, "--describe", "--topic", "orders"]);
        match(
          described.stdout,
          /^Topic: orders\tTopicId: \S+\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: .*retention.ms=86400000/m,
        );
        match(described.stdout, /\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1/);
        const altered = await run([
          "topics",
          ...b,
          "--alter",
          "--topic",
          "orders",
          "--partitions",
          "3",
        ]);
        assertEquals(altered.code, 0, altered.stderr);
        match(
          (await run(["topics", ...b, "--describe", "--topic", "orders"])).stdout,
          /PartitionCount: 3/,
        );
        const missing = await run(["topics", ...b, "--describe", "--topic", "nope"]);
        assertEquals(missing.code, 1);
        match(missing.stderr, /Topic 'nope' does not exist as expected/);
      });

      await t.step(
        "console-producer then console-consumer --from-beginning round-trips keys and headers",
        async () => {
          const produced = await run([
            "console-producer",
            ...b,
            "--topic",
            "orders",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--property",
            "parse.headers=true",
          ], "h1:v1\tk1:one\nh2:v2\tk2:two\nh3:v3\tk3:three\n");
          assertEquals(produced.code, 0, produced.stderr);
          const consumed = await run([
            "console-consumer",
            ...b,
            "--topic",
            "orders",
            "--from-beginning",
            "--max-messages",
            "3",
            "--property",
            "print.key=true",
            "--property",
            "print.headers=true",
            "--timeout-ms",
            "20000",
          ]);
          assertEquals(consumed.code, 0, consumed.stderr);
          assertEquals(consumed.stdout.trim().split("\n").sort(), [
            "h1:v1\tk1\tone",
            "h2:v2\tk2\ttwo",
            "h3:v3\tk3\tthree",
          ]);
          match(consumed.stderr, /Processed a total of 3 messages/);
        },
      );

      await t.step("get-offsets prints topic:partition:offset", async () => {
        const latest = await run(["get-offsets", ...b, "--topic", "orders", "--time", "-1"]);
        const total = latest.stdout.trim().split("\n").map((l) => Number(l.split(":")[2])).reduce(
          (x, y) => x + y,
          0,
        );
        assertEquals(total, 3, latest.stdout + latest.stderr);
        const earliest = await run(["get-offsets", ...b, "--topic", "orders", "--time", "-2"]);
        assertEquals(earliest.stdout.trim().split("\n"), [
          "orders:0:0",
          "orders:1:0",
          "orders:2:0",
        ]);
      });

      await t.step("consumer-groups describes and resets a group", async () => {
        const consumed = await run([
          "console-consumer",
          ...b,
          "--topic",
          "orders",
          "--group",
          "g1",
          "--from-beginning",
          "--max-messages",
          "3",
          "--timeout-ms",
          "20000",
        ]);
        assertEquals(consumed.code, 0, consumed.stderr);
        const list = await run(["consumer-groups", ...b, "--list"]);
        ok(list.stdout.split("\n").includes("g1"), list.stdout + list.stderr);
        const described = await run(["consumer-groups", ...b, "--describe", "--group", "g1"]);
        match(
          described.stdout,
          /GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID/,
        );
        const reset = await run([
          "consumer-groups",
          ...b,
          "--reset-offsets",
          "--group",
          "g1",
          "--topic",
          "orders",
          "--to-earliest",
          "--execute",
        ]);
        assertEquals(reset.code, 0, reset.stderr);
        match(reset.stdout, /GROUP\s+TOPIC\s+PARTITION\s+NEW-OFFSET\ng1\s+orders\s+0\s+0/);
        const deleted = await run(["consumer-groups", ...b, "--delete", "--group", "g1"]);
        assertEquals(
          deleted.stdout.trim(),
          "Deletion of requested consumer groups ('g1') was successful.",
          deleted.stderr,
        );
      });

      await t.step("configs alters and describes topic configs", async () => {
        const altered = await run([
          "configs",
          ...b,
          "--alter",
          "--entity-type",
          "topics",
          "--entity-name",
          "orders",
          "--add-config",
          "cleanup.policy=compact,retention.ms=1000",
        ]);
        assertEquals(
          altered.stdout.trim(),
          "Completed updating config for topic orders.",
          altered.stderr,
        );
        const described = await run([
          "configs",
          ...b,
          "--describe",
          "--entity-type",
          "topics",
          "--entity-name",
          "orders",
        ]);
        match(described.stdout, /^Dynamic configs for topic orders are:\n/);
        match(
          described.stdout,
          / {2}cleanup.policy=compact sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact/,
        );
        const removed = await run([
          "configs",
          ...b,
          "--alter",
          "--topic",
          "orders",
          "--delete-config",
          "cleanup.policy",
        ]);
        assertEquals(removed.code, 0, removed.stderr);
      });

      await t.step("delete-records moves the low watermark", async () => {
        const file = join(node.dataDir, "offsets.json");
        const latest = await run(["get-offsets", ...b, "--topic", "orders", "--partitions", "0"]);
        const end = Number(latest.stdout.trim().split(":")[2]);
        await Deno.writeTextFile(
          file,
          JSON.stringify({
            partitions: [{ topic: "orders", partition: 0, offset: end }],
            version: 1,
          }),
        );
        const deleted = await run(["delete-records", ...b, "--offset-json-file", file]);
        assertEquals(deleted.stdout.trim().split("\n"), [
          "Executing records delete operation",
          "Records delete operation completed:",
          `partition: orders-0\tlow_watermark: ${end}`,
        ], deleted.stderr);
      });

      await t.step("producer-perf-test sends a small run and prints the summary", async () => {
        const perf = await run([
          "producer-perf-test",
          "--topic",
          "orders",
          "--num-records",
          "500",
          "--record-size",
          "100",
          "--throughput",
          "-1",
          "--producer-props",
          `bootstrap.servers=${node.bootstrap}`,
          "acks=1",
        ]);
        assertEquals(perf.code, 0, perf.stderr);
        match(
          perf.stdout,
          /500 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th\./,
        );
      });

      await t.step("broker-api-versions prints what the broker advertises", async () => {
        const versions = await run(["broker-api-versions", ...b]);
        assertEquals(versions.code, 0, versions.stderr);
        match(
          versions.stdout,
          /^127\.0\.0\.1:\d+ \(id: 1 rack: null\) -> \(\n\tProduce\(0\): 0 to 11 \[usable: 11\],/,
        );
        match(versions.stdout, /\tApiVersions\(18\): 0 to 4 \[usable: 4\],/);
        match(versions.stdout, /\tAlterReplicaLogDirs\(34\): UNSUPPORTED,/);
      });

      await t.step("topics --delete removes the topic", async () => {
        const deleted = await run(["topics", ...b, "--delete", "--topic", "orders"]);
        assertEquals(deleted.code, 0, deleted.stderr);
        assertEquals(
          (await run(["topics", ...b, "--list", "--exclude-internal"])).stdout.trim(),
          "",
        );
      });
    } finally {
      await node.stop();
    }
  },
});
