/**
 * Racks end to end: 1 controller and 3 brokers with `broker.rack` (broker 2 in az1, brokers 3 and
 * 4 in az2) and Kafka's `RackAwareReplicaSelector`, librdkafka (python3-confluent-kafka) as the
 * client.
 *
 * - DescribeCluster (and Metadata) report each broker's rack.
 * - Replica placement uses the racks: with replication factor 2 every partition has one replica in
 *   each rack, so every partition has one on broker 2, the only az1 broker.
 * - KIP-392 follower fetching: a consumer with `client.rack` of a rack without the leader is sent
 *   by the leader to the in-sync follower there and reads everything from it (the brokers' own
 *   BytesOut counters show who served the records); a consumer without a rack reads from the
 *   leader.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, hasPythonModule, REPO_ROOT } from "./harness.ts";
import { startCluster } from "./cluster_harness.ts";
import { checkCommand } from "./commands.ts";
import { eventually } from "./waiting.ts";
import { Admin } from "../../net/client/admin.ts";
import { parsePrometheusText } from "../../core/metrics/prometheus_text_parser.ts";

const noPython = !hasPythonModule("confluent_kafka");
if (noPython) console.warn("rack_aware_test: skipped (python3-confluent-kafka missing)");

const PYTHON_DIR = join(REPO_ROOT, "tests/integration/python");
const RACK_OF: Record<number, string> = { 2: "az1", 3: "az2", 4: "az2" };
const RECORDS = 2_000;

function python(script: string, args: string[]): Promise<string> {
  return checkCommand("/usr/bin/python3", [join(PYTHON_DIR, script), ...args], {
    cwd: PYTHON_DIR,
  });
}

/** Record bytes a broker has sent consumers of `topic` (its BytesOut counter; 0 when none). */
async function bytesOut(httpPort: number, topic: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const family = parsePrometheusText(text).find((f) =>
    f.name === "kafka_server_brokertopicmetrics_bytesout_total"
  );
  return family?.samples.find((s) => s.labels.topic === topic)?.value ?? 0;
}

Deno.test({
  name:
    "racks: brokers report them, placement spreads replicas over them, a consumer reads from the follower in its rack (KIP-392)",
  ignore: noPython,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const httpPorts = new Map([2, 3, 4].map((id) => [id, freePort()]));
    const cluster = await startCluster({
      controllers: 1,
      brokers: 3,
      nodeProps: (nodeId, role): Record<string, string> =>
        role === "broker"
          ? {
            "broker.rack": RACK_OF[nodeId]!,
            "replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector",
            "kraftling.http.listener": `127.0.0.1:${httpPorts.get(nodeId)}`,
          }
          : {},
    });
    const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
    try {
      await cluster.waitForLeader();
      const described = await eventually("three registered brokers", 20_000, async () => {
        const c = await admin.describeCluster();
        assert.equal(c.brokers.length, 3);
        return c;
      });
      assert.deepEqual(
        Object.fromEntries(described.brokers.map((b) => [b.nodeId, b.rack])),
        RACK_OF,
      );

      await admin.createTopics([
        { name: "spread", numPartitions: 6, replicationFactor: 2 },
        { name: "racked", numPartitions: 1, replicationFactor: 3 },
      ]);
      const [spread] = await admin.describeTopics(["spread"]);
      for (const p of spread!.partitions) {
        const racks = new Set(p.replicas.map((r) => RACK_OF[r]));
        assert.equal(
          racks.size,
          2,
          `partition ${p.partition}: replicas ${p.replicas} share a rack`,
        );
      }

      const values = Array.from({ length: RECORDS }, (_, i) => `rack-${i}`);
      await checkCommand("/usr/bin/python3", [
        "-c",
        "import sys; from common import produce_values; " +
        "produce_values(sys.argv[1], 'racked', [f'rack-{i}' for i in range(int(sys.argv[2]))])",
        cluster.bootstrapServers,
        `${RECORDS}`,
      ], { cwd: PYTHON_DIR });
      // Every replica has every record and is in the ISR: a follower may serve all of it.
      const partition = await eventually("a full ISR", 30_000, async () => {
        const [racked] = await admin.describeTopics(["racked"]);
        const p = racked!.partitions[0]!;
        assert.equal(p.isr.length, 3);
        return p;
      });
      const leader = partition.leader;
      const clientRack = RACK_OF[leader] === "az1" ? "az2" : "az1";
      const before = new Map<number, number>();
      for (const [id, port] of httpPorts) before.set(id, await bytesOut(port, "racked"));

      const seen = JSON.parse(
        await python("consume_all.py", [cluster.bootstrapServers, "racked", clientRack]),
      ) as { v: string }[];
      assert.deepEqual(seen.map((r) => r.v), values);
      const served = new Map<number, number>();
      for (const [id, port] of httpPorts) {
        served.set(id, (await bytesOut(port, "racked")) - before.get(id)!);
      }
      const valueBytes = values.reduce((sum, v) => sum + v.length, 0);
      const followersInRack = [2, 3, 4].filter((id) => id !== leader && RACK_OF[id] === clientRack);
      const fromFollowers = followersInRack.reduce((sum, id) => sum + served.get(id)!, 0);
      assert.ok(
        fromFollowers >= valueBytes,
        `followers ${followersInRack} in ${clientRack} served ${fromFollowers} bytes (all: ${
          JSON.stringify([...served])
        }), the records hold ${valueBytes}`,
      );
      assert.equal(served.get(leader), 0, "the leader sent no records to the racked consumer");

      // Without a rack the leader serves.
      const plain = JSON.parse(
        await python("consume_all.py", [cluster.bootstrapServers, "racked"]),
      ) as { v: string }[];
      assert.equal(plain.length, RECORDS);
      assert.ok((await bytesOut(httpPorts.get(leader)!, "racked")) >= valueBytes);
    } finally {
      admin.close();
      await cluster.stop();
    }
  },
});
