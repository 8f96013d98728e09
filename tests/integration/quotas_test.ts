// Client quotas on a real node: set and described through the Admin API (AlterClientQuotas /
// DescribeClientQuotas), enforced on librdkafka (confluent-kafka) producers and consumers, which
// see the broker's throttle_time_ms in their statistics; a client without a quota is not throttled.
import assert from "node:assert/strict";
import { runMain, startNode, type TestNode } from "./harness.ts";
import { runCommand } from "./commands.ts";
import { Admin } from "../../net/client/admin.ts";
import { KafkaConnection } from "../../net/connection.ts";

const SCRIPT = `
import json, sys, time
from confluent_kafka import Producer, Consumer
bootstrap, client_id, mode = sys.argv[1], sys.argv[2], sys.argv[3]
throttle = {"max": 0}
def stats(text):
    for b in json.loads(text).get("brokers", {}).values():
        throttle["max"] = max(throttle["max"], b.get("throttle", {}).get("max", 0))
common = {"bootstrap.servers": bootstrap, "client.id": client_id,
          "statistics.interval.ms": 200, "stats_cb": stats}
if mode == "produce":
    p = Producer({**common, "linger.ms": 5})
    for i in range(400):
        p.produce("quota", b"x" * 1000)
        p.poll(0)
    p.flush(60)
    deadline = time.time() + 3
    while time.time() < deadline:
        p.poll(0.2)
else:
    c = Consumer({**common, "group.id": client_id, "auto.offset.reset": "earliest",
                  "max.partition.fetch.bytes": 100000})
    c.subscribe(["quota"])
    got = 0
    deadline = time.time() + 30
    while got < 400 and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got += 1
    deadline = time.time() + 2
    while time.time() < deadline:
        c.poll(0.2)
    c.close()
print(json.dumps({"throttle_max_ms": throttle["max"]}))
`;

async function client(bootstrap: string, clientId: string, mode: "produce" | "consume") {
  const out = await runCommand("/usr/bin/python3", ["-c", SCRIPT, bootstrap, clientId, mode], {
    timeoutMs: 90_000,
  });
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout) as { throttle_max_ms: number };
}

Deno.test({
  name: "client quotas throttle the client ids they name and no one else",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let node: TestNode | undefined;
    const admin = () => new Admin({ bootstrapServers: node!.bootstrap });
    try {
      node = await startNode();
      const a = admin();
      try {
        await a.createTopics([{ name: "quota", numPartitions: 1, replicationFactor: 1 }]);
        await a.alterClientQuotas(
          [{ entityType: "client-id", entityName: "slow" }],
          new Map([["producer_byte_rate", 20_000], ["consumer_byte_rate", 20_000]]),
        );
        const described = await a.describeClientQuotas([
          { entityType: "client-id", matchType: 0, match: "slow" },
        ]);
        assert.deepEqual(described.map((d) => Object.fromEntries(d.values)), [
          { producer_byte_rate: 20_000, consumer_byte_rate: 20_000 },
        ]);
        // IP quotas stand alone: ip cannot be combined with a user or client id.
        await assert.rejects(
          a.alterClientQuotas(
            [{ entityType: "ip", entityName: "10.0.0.1" }, { entityType: "user", entityName: "u" }],
            new Map([["connection_creation_rate", 5]]),
          ),
          /ip cannot be combined/,
        );
        await a.alterClientQuotas(
          [{ entityType: "ip", entityName: "10.0.0.1" }],
          new Map([["connection_creation_rate", 5]]),
        );
        assert.equal(
          (await a.describeClientQuotas([{ entityType: "ip", matchType: 0, match: "10.0.0.1" }]))
            .length,
          1,
        );
      } finally {
        a.close();
      }
      const slow = await client(node.bootstrap, "slow", "produce");
      assert.ok(
        slow.throttle_max_ms > 0,
        `the slow producer was throttled: ${JSON.stringify(slow)}`,
      );
      const fast = await client(node.bootstrap, "fast", "produce");
      assert.equal(fast.throttle_max_ms, 0, "a client without a quota is not throttled");
      const slowReader = await client(node.bootstrap, "slow", "consume");
      assert.ok(slowReader.throttle_max_ms > 0, "the slow consumer was throttled");

      const b = admin();
      try {
        await b.alterClientQuotas(
          [{ entityType: "client-id", entityName: "slow" }],
          new Map([["producer_byte_rate", null], ["consumer_byte_rate", null]]),
        );
        assert.deepEqual(
          await b.describeClientQuotas([{ entityType: "client-id", matchType: 2, match: null }]),
          [],
        );
      } finally {
        b.close();
      }
    } catch (error) {
      if (node !== undefined) console.error(node.logs().slice(-6000));
      throw error;
    } finally {
      await node?.stop();
    }
  },
});

Deno.test({
  name: "configs sets, describes and deletes user and client quotas as kafka-configs.sh does",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const node = await startNode();
    const configs = async (...args: string[]) => {
      const out = await runMain(["configs", "--bootstrap-server", node.bootstrap, ...args]);
      return { ...out, text: out.stdout.trim() };
    };
    try {
      const set = await configs(
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        "alice",
        "--add-config",
        "producer_byte_rate=1024,consumer_byte_rate=2048",
      );
      assert.equal(set.code, 0, set.stderr);
      assert.equal(set.text, "Completed updating config for user alice.");
      assert.equal(
        (await configs("--alter", "--client-defaults", "--add-config", "request_percentage=25"))
          .code,
        0,
      );
      assert.equal(
        (await configs("--describe", "--entity-type", "users", "--entity-name", "alice")).text,
        "Quota configs for user-principal 'alice' are consumer_byte_rate=2048.0, producer_byte_rate=1024.0",
      );
      assert.equal(
        (await configs("--describe", "--entity-type", "clients")).text,
        "Quota configs for the default client-id are request_percentage=25.0",
      );
      await configs("--alter", "--user", "alice", "--delete-config", "consumer_byte_rate");
      assert.equal(
        (await configs("--describe", "--user", "alice")).text,
        "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0",
      );
      const refused = await configs(
        "--alter",
        "--user",
        "bob",
        "--add-config",
        "connection_creation_rate=5",
      );
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /connection_creation_rate is not a SCRAM mechanism .* or a client quota/,
      );
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "controller_mutation_rate refuses topic creations over the quota (KIP-599)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const node = await startNode();
    try {
      const root = new Admin({ bootstrapServers: node.bootstrap });
      try {
        await root.alterClientQuotas(
          [{ entityType: "client-id", entityName: "builder" }],
          new Map([["controller_mutation_rate", 1]]),
        );
      } finally {
        root.close();
      }
      // One mutation per second, a burst of 11 (quota.window.num x 1 s): 10 + 10 partitions
      // pass (the second drives the bucket below zero), the third request is refused.
      const builder = new Admin({ bootstrapServers: node.bootstrap, clientId: "builder" });
      const other = new Admin({ bootstrapServers: node.bootstrap, clientId: "other" });
      try {
        await builder.createTopics([{ name: "m1", numPartitions: 10, replicationFactor: 1 }]);
        await builder.createTopics([{ name: "m2", numPartitions: 10, replicationFactor: 1 }]);
        await assert.rejects(
          builder.createTopics([{ name: "m3", numPartitions: 1, replicationFactor: 1 }]),
          /mutation quota is exceeded|THROTTLING_QUOTA_EXCEEDED/i,
        );
        // Another client id has no quota.
        await other.createTopics([{ name: "m4", numPartitions: 10, replicationFactor: 1 }]);
        assert.deepEqual(
          (await other.listTopics()).filter((t) => t.startsWith("m")).sort(),
          ["m1", "m2", "m4"],
        );
      } finally {
        builder.close();
        other.close();
      }
    } finally {
      await node.stop();
    }
  },
});

const RATE_SCRIPT = `
import json, sys, time
from confluent_kafka import Producer
bootstrap, client_id, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
throttle = {"max": 0}
def stats(text):
    for b in json.loads(text).get("brokers", {}).values():
        throttle["max"] = max(throttle["max"], b.get("throttle", {}).get("max", 0))
p = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 5,
              "batch.size": 16384, "acks": 1, "statistics.interval.ms": 200, "stats_cb": stats})
start = time.time()
for i in range(total // 1000):
    while True:
        try:
            p.produce("rated", b"x" * 1000)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
p.flush(120)
elapsed = time.time() - start
deadline = time.time() + 1
while time.time() < deadline:
    p.poll(0.2)
print(json.dumps({"bytes_per_second": total / elapsed, "throttle_max_ms": throttle["max"]}))
`;

Deno.test({
  name:
    "a producer limited to 1 MB/s measures about that and sees throttle times, and an unlimited one beside it does not",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Two 1 s windows, so the rate follows the quota within a few seconds.
    const node = await startNode({
      props: { "quota.window.num": "2", "quota.window.size.seconds": "1" },
    });
    try {
      const admin = new Admin({ bootstrapServers: node.bootstrap });
      try {
        await admin.createTopics([{ name: "rated", numPartitions: 1, replicationFactor: 1 }]);
        await admin.alterClientQuotas(
          [{ entityType: "client-id", entityName: "limited" }],
          new Map([["producer_byte_rate", 1_000_000]]),
        );
      } finally {
        admin.close();
      }
      const run = async (clientId: string, total: number) => {
        const out = await runCommand(
          "/usr/bin/python3",
          ["-c", RATE_SCRIPT, node.bootstrap, clientId, String(total)],
          { timeoutMs: 120_000 },
        );
        assert.equal(out.code, 0, out.stderr);
        return JSON.parse(out.stdout) as { bytes_per_second: number; throttle_max_ms: number };
      };
      const [limited, free] = await Promise.all([
        run("limited", 6_000_000),
        run("free", 30_000_000),
      ]);
      assert.ok(
        limited.bytes_per_second > 500_000 && limited.bytes_per_second < 1_500_000,
        `the limited producer measured ${limited.bytes_per_second.toFixed(0)} B/s for 1000000`,
      );
      assert.ok(limited.throttle_max_ms > 0, "the limited producer saw no throttle time");
      assert.ok(
        free.bytes_per_second > 3 * limited.bytes_per_second,
        `the unlimited producer measured only ${free.bytes_per_second.toFixed(0)} B/s`,
      );
      assert.equal(free.throttle_max_ms, 0, "the unlimited producer was throttled");
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "listener.name.<l>.max.connection.creation.rate holds back new connections (KIP-612)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The node-wide max.connection.creation.rate spares the inter-broker listener, which this
    // combined node's only listener is; a listener's own rate applies to it.
    const node = await startNode({
      props: { "listener.name.plaintext.max.connection.creation.rate": "2" },
    });
    try {
      // 2 per second over the 11 one-second windows: the first ~20 pass at once, then each new
      // connection waits about half a second before the broker serves it.
      const [host, port] = node.bootstrap.split(":");
      const startMs = performance.now();
      for (let i = 0; i < 23; i++) {
        const conn = await KafkaConnection.connect(host!, Number(port), {
          requestTimeoutMs: 20_000,
        });
        conn.close();
      }
      const elapsedMs = performance.now() - startMs;
      assert.ok(elapsedMs >= 1_000, `23 connections in ${elapsedMs.toFixed(0)} ms`);
    } finally {
      await node.stop();
    }
  },
});
