import assert from "node:assert/strict";
import { readProcessStats, RequestMetrics, startEventLoopMonitor } from "./request_metrics.ts";
import { collectNodeMetrics, type NodeMetricsSource } from "./node_metrics.ts";
import { encodeMetrics } from "../core/metrics/exposition.ts";
import { parsePrometheusText } from "../core/metrics/prometheus_text_parser.ts";
import type { MetadataImage } from "../core/metadata/image.ts";

const info = { listenerName: "PLAINTEXT", clientHost: "/127.0.0.1", connectionId: 1 };
// A Produce (api key 0) and a Metadata (api key 3) request frame: only the key is read.
const PRODUCE = new Uint8Array([0, 0, 0, 9, 0, 0, 0, 1]);
const METADATA = new Uint8Array([0, 3, 0, 12]);

Deno.test("instrumented requests are timed per API and their bytes counted per listener", async () => {
  const metrics = new RequestMetrics();
  const handler = metrics.instrument(
    "PLAINTEXT",
    (frame) => Promise.resolve(frame[1] === 0 ? [new Uint8Array(10), new Uint8Array(6)] : null),
  );
  await handler(PRODUCE, info);
  await handler(PRODUCE, info);
  await handler(METADATA, info);
  assert.equal(metrics.latencyMs.get(0)?.count, 2);
  assert.equal(metrics.latencyMs.get(3)?.count, 1);
  // Frames plus their 4-byte size prefixes in; the response chunks out (acks=0 sends none).
  assert.equal(metrics.bytesIn.get("PLAINTEXT"), 2 * (8 + 4) + (4 + 4));
  assert.equal(metrics.bytesOut.get("PLAINTEXT"), 2 * 16);
});

Deno.test("a request whose handler throws is still timed", async () => {
  const metrics = new RequestMetrics();
  const handler = metrics.instrument("PLAINTEXT", () => Promise.reject(new Error("closed")));
  await assert.rejects(handler(METADATA, info), /closed/);
  assert.equal(metrics.latencyMs.get(3)?.count, 1);
});

Deno.test("latency, bytes, event-loop delay and process metrics encode as valid Prometheus text", async () => {
  const requests = new RequestMetrics();
  await requests.instrument("PLAINTEXT", () => Promise.resolve(new Uint8Array(20)))(METADATA, info);
  const eventLoop = startEventLoopMonitor();
  try {
    const source: NodeMetricsSource = {
      image: () => ({ topics: { byId: new Map(), byName: new Map() } }) as unknown as MetadataImage,
      requestCounts: () => [],
      connections: () => new Map(),
      raft: { leaderId: 1, epoch: 1, highWatermark: 0 },
      memory: () => ({ rss: 1, heapTotal: 1, heapUsed: 1, external: 1 }),
      requests,
      eventLoop,
      process: readProcessStats,
    };
    const families = parsePrometheusText(encodeMetrics(collectNodeMetrics(source)));
    const latency = families.find((f) => f.name === "kafka_network_requestmetrics_totaltimems");
    assert.equal(latency?.type, "histogram");
    const count = latency!.samples.find((s) => s.name.endsWith("_count"));
    assert.deepEqual([count?.labels, count?.value], [{ request: "Metadata" }, 1]);
    const bytesOut = families.find((f) =>
      f.name === "kafka_server_socket_server_metrics_outgoing_byte_total"
    );
    assert.deepEqual(bytesOut?.samples.map((s) => [s.labels.listener, s.value]), [[
      "PLAINTEXT",
      20,
    ]]);
    assert.equal(
      families.find((f) => f.name === "kraftling_eventloop_delay_seconds")?.type,
      "histogram",
    );
    const cpu = families.find((f) => f.name === "process_cpu_seconds_total");
    assert.ok(
      (cpu?.samples[0]?.value ?? -1) >= 0,
      "process_cpu_seconds_total from /proc/self/stat",
    );
    assert.ok((families.find((f) => f.name === "process_open_fds")?.samples[0]?.value ?? 0) > 0);
  } finally {
    eventLoop.stop();
  }
});

Deno.test("the event-loop monitor sees a blocked loop", async () => {
  const monitor = startEventLoopMonitor();
  try {
    const until = performance.now() + 250;
    while (performance.now() < until) { /* block the loop */ }
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.ok(monitor.delaySeconds.sum >= 0.1, `delay sum ${monitor.delaySeconds.sum} s`);
  } finally {
    monitor.stop();
  }
});
