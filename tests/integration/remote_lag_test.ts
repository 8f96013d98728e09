// Consumer lag of partitions another broker leads: in a 2-broker cluster the group coordinator's
// /metrics reports kafka_consumergroup_lag for both partitions of a topic (one led by each
// broker), the remote one from the leader's high watermark fetched over the inter-broker listener.
import assert from "node:assert/strict";
import { type ClusterNode, startCluster } from "./cluster_harness.ts";
import { parsePrometheusText } from "../../core/metrics/prometheus_text_parser.ts";
import { Admin } from "../../net/client/admin.ts";
import { Producer } from "../../net/client/producer.ts";

function httpPortOf(node: ClusterNode): number {
  const port = /Serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(node.logs())?.[1];
  assert.ok(port !== undefined, `node ${node.nodeId} logged no HTTP listener`);
  return Number(port);
}

async function lagOf(node: ClusterNode): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPortOf(node)}/metrics`)).text();
  const family = parsePrometheusText(text).find((f) => f.name === "kafka_consumergroup_lag");
  const out = new Map<string, number>();
  for (const s of family?.samples ?? []) {
    if (s.labels.consumergroup === "g") out.set(`${s.labels.topic}-${s.labels.partition}`, s.value);
  }
  return out;
}

Deno.test({
  name:
    "the coordinator reports lag for partitions led by other brokers, and other brokers' consoles list its groups",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      props: { "kraftling.http.listener": "127.0.0.1:0" },
    });
    try {
      const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
      const producer = new Producer({ bootstrapServers: cluster.bootstrapServers });
      try {
        // Both brokers unfenced first, so the two partitions are placed one on each.
        const deadline = Date.now() + 30_000;
        while ((await admin.describeCluster()).brokers.length < 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
        }
        await admin.createTopics([{ name: "lagged", numPartitions: 2, replicationFactor: 1 }]);
        // CreateTopics answers once the controller committed it; the broker asked next may not
        // have the record yet (UNKNOWN_TOPIC_OR_PARTITION), as in Kafka.
        let described: Awaited<ReturnType<Admin["describeTopics"]>>[number] | undefined;
        while (described === undefined && Date.now() < deadline) {
          described = (await admin.describeTopics(["lagged"]).catch(() => []))[0];
          if (described === undefined) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(described !== undefined, "no broker reported topic lagged within 30 s");
        const leaders = new Set(described.partitions.map((p) => p.leader));
        assert.equal(leaders.size, 2, "each broker leads one partition");
        for (let i = 0; i < 20; i++) {
          await producer.send({ topic: "lagged", partition: i % 2, value: `v${i}` });
        }
        await admin.alterConsumerGroupOffsets("g", [
          { topic: "lagged", partition: 0, offset: 3 },
          { topic: "lagged", partition: 1, offset: 4 },
        ]);
      } finally {
        await producer.close();
        admin.close();
      }
      const lagDeadline = Date.now() + 40_000;
      let seen = new Map<string, number>();
      while (Date.now() < lagDeadline) {
        const reports = await Promise.all(cluster.brokers.map(lagOf));
        seen = reports.find((r) => r.size > 0) ?? new Map();
        if (seen.size === 2) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(Object.fromEntries(seen), { "lagged-0": 7, "lagged-1": 6 });

      // The other broker's console lists the group too, with its total lag.
      const reports = await Promise.all(cluster.brokers.map(lagOf));
      const other = cluster.brokers[reports.findIndex((r) => r.size === 0)]!;
      const overviewDeadline = Date.now() + 30_000;
      let page = "";
      while (Date.now() < overviewDeadline) {
        page = await (await fetch(`http://127.0.0.1:${httpPortOf(other)}/`)).text();
        if (
          /g <span class="muted">\(another broker\)<\/span>.*?<td class="num warn">13<\/td>/s.test(
            page,
          )
        ) {
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.match(page, /g <span class="muted">\(another broker\)<\/span>/);
      assert.match(page, /<td class="num warn">13<\/td>/);
    } finally {
      await cluster.stop();
    }
  },
});
