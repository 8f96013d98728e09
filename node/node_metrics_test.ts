import assert from "node:assert/strict";
import {
  collectNodeMetrics,
  type NodeMetricsSource,
  type PartitionMetricsView,
} from "./node_metrics.ts";
import { BrokerTopicStats } from "../core/metrics/broker_topic_stats.ts";
import { encodeMetrics } from "../core/metrics/exposition.ts";
import { parsePrometheusText } from "../core/metrics/prometheus_text_parser.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import { bindNodeHttp } from "./http_server.ts";
import { silentLogger } from "../core/log.ts";

function partition(
  topic: string,
  index: number,
  view: Partial<PartitionMetricsView> = {},
): PartitionMetricsView {
  return {
    topic,
    partition: index,
    isLeader: true,
    replicas: [1, 2],
    isr: [1, 2],
    highWatermark: 0,
    log: { sizeBytes: 0 },
    ...view,
  };
}

/** A fake image: topics by name with partitions and their leaders. */
function image(topics: Record<string, number[]>): MetadataImage {
  const byName = new Map(
    Object.entries(topics).map(([name, leaders]) => [name, {
      name,
      id: name,
      partitions: new Map(leaders.map((leader, i) => [i, { leader }])),
    }]),
  );
  return { topics: { byName, byId: byName } } as unknown as MetadataImage;
}

function source(): NodeMetricsSource {
  const stats = new BrokerTopicStats();
  stats.recordIn("orders", { messages: 5, bytes: 500 });
  stats.recordIn("gone", { messages: 1, bytes: 10 });
  const partitions = [
    partition("orders", 0, { highWatermark: 5, log: { sizeBytes: 500 } }),
    partition("orders", 1, { isr: [1], highWatermark: 9 }),
    partition("orders", 2, { isLeader: false, highWatermark: 7 }),
  ];
  return {
    image: () => image({ orders: [1, 1, 2], other: [-1] }),
    requestCounts: () => [new Map([[0, 2]]), new Map([[0, 1], [3, 4]])],
    connections: () => new Map([["PLAINTEXT", 2]]),
    raft: { leaderId: 1, epoch: 3, highWatermark: 42 },
    controller: { isActive: true },
    broker: {
      replicas: {
        topicStats: stats,
        partitions: () => partitions,
        hostedPartition: (t, p) => partitions.find((x) => x.topic === t && x.partition === p),
      },
      groups: {
        listGroups: () => ({ errorCode: 0, groups: [{ groupId: "billing" } as never] }),
        offsetFetch: () => ({
          groupId: "billing",
          errorCode: 0,
          topics: [{
            name: "orders",
            partitions: [0, 1, 2].map((partitionIndex) => ({
              partitionIndex,
              committedOffset: partitionIndex === 1 ? -1 : 2,
              committedLeaderEpoch: -1,
              metadata: null,
              errorCode: 0,
            })),
          }],
        }),
      },
    },
    memory: () => ({ rss: 1000, heapTotal: 500, heapUsed: 400, external: 10 }),
  };
}

function scrape(s: NodeMetricsSource) {
  const families = parsePrometheusText(encodeMetrics(collectNodeMetrics(s)));
  return (name: string) => families.find((f) => f.name === name)?.samples ?? [];
}

Deno.test("lag is the high watermark minus the committed offset, only where this broker leads and an offset is committed", () => {
  const lag = scrape(source())("kafka_consumergroup_lag");
  assert.deepEqual(lag.map((s) => [s.labels, s.value]), [
    [{ consumergroup: "billing", topic: "orders", partition: "0" }, 3],
  ]);
});

Deno.test("per-topic counters leave out deleted topics while the totals keep them", () => {
  const messagesIn = scrape(source())("kafka_server_brokertopicmetrics_messagesin_total");
  assert.deepEqual(messagesIn.map((s) => [s.labels, s.value]), [
    [{}, 6],
    [{ topic: "orders" }, 5],
  ]);
});

Deno.test("partition gauges count hosted, led and under-replicated partitions, and the controller counts the cluster's", () => {
  const read = scrape(source());
  const value = (name: string) => read(name)[0]?.value;
  assert.equal(value("kafka_server_replicamanager_partitioncount"), 3);
  assert.equal(value("kafka_server_replicamanager_leadercount"), 2);
  assert.equal(value("kafka_server_replicamanager_underreplicatedpartitions"), 1);
  assert.equal(value("kafka_controller_kafkacontroller_activecontrollercount"), 1);
  assert.equal(value("kafka_controller_kafkacontroller_globalpartitioncount"), 4);
  assert.equal(value("kafka_controller_kafkacontroller_offlinepartitionscount"), 1);
  assert.equal(value("kafka_server_raftmetrics_high_watermark"), 42);
});

Deno.test("requests are summed over the node's dispatchers and named by API", () => {
  const requests = scrape(source())("kafka_network_requestmetrics_requests_total");
  assert.deepEqual(requests.map((s) => [s.labels.request, s.value]), [
    ["Produce", 3],
    ["Metadata", 4],
  ]);
});

Deno.test("a broker-only node has no controller metrics", () => {
  const s = source();
  delete s.controller;
  assert.deepEqual(scrape(s)("kafka_controller_kafkacontroller_activecontrollercount"), []);
});

Deno.test("the node's HTTP listener is healthy at once and not ready until the node attaches its readiness", async () => {
  const http = bindNodeHttp({ host: "127.0.0.1", port: 0 }, silentLogger);
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${http.port}${path}`);
    return { status: response.status, body: await response.text() };
  };
  try {
    assert.equal((await get("/healthz")).status, 200);
    assert.deepEqual(await get("/readyz"), {
      status: 503,
      body: "not ready: the node is starting\n",
    });
    http.attach(source(), () => null);
    assert.equal((await get("/readyz")).status, 200);
    assert.match((await get("/metrics")).body, /^kafka_consumergroup_lag\{/m);
  } finally {
    await http.stop();
  }
});
