// The HTTP listener (kraftling.http.listener, issue #14) of a real node: after a known workload
// (kcat produces, a confluent-kafka group consumes part and commits), /metrics parses under the
// strict exposition-format parser and holds the counts, gauges and lag Strimzi's dashboards and
// kafka-exporter name; /healthz and /readyz answer; bad requests get 4xx and the Kafka listener
// keeps serving.
import assert from "node:assert/strict";
import { freePort, hasCommand, hasPythonModule, startNode } from "./harness.ts";
import {
  type ParsedFamily,
  parsePrometheusText,
} from "../../core/metrics/prometheus_text_parser.ts";

const missing = !hasCommand("kcat") || !hasPythonModule("confluent_kafka");
if (missing) console.warn("metrics_http_test: skipped (kcat or python3-confluent-kafka missing)");

const COMMAND_TIMEOUT_MS = 30_000;
const TOPIC = "metrics-orders";
const RECORDS = 10;
const CONSUMED = 4;
const VALUE_BYTES = 20;

async function run(command: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, COMMAND_TIMEOUT_MS);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  if (output.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${decoder.decode(output.stderr)}`);
  }
  return decoder.decode(output.stdout);
}

/** Consumes exactly `count` records in group `group` and commits their offsets synchronously. */
const CONSUME_AND_COMMIT = `
import sys
from confluent_kafka import Consumer
bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([topic])
seen = 0
while seen < count:
    m = c.poll(10.0)
    if m is None:
        raise SystemExit("no record within 10 s")
    if m.error():
        raise SystemExit(str(m.error()))
    seen += 1
    last = m
c.commit(message=last, asynchronous=False)
c.close()
print(last.offset())
`;

function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}) {
  const family = families.find((f) => f.name === name);
  assert.ok(family !== undefined, `no family ${name}`);
  const found = family.samples.find((s) =>
    Object.keys(s.labels).length === Object.keys(labels).length &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(found !== undefined, `no ${name} sample with ${JSON.stringify(labels)}`);
  return found.value;
}

Deno.test({
  name:
    "/metrics counts a known workload, lag follows a partial consume, health answers and bad requests get 4xx",
  ignore: missing,
  fn: async () => {
    const httpPort = freePort();
    const node = await startNode({ props: { "kraftling.http.listener": `127.0.0.1:${httpPort}` } });
    const base = `http://127.0.0.1:${httpPort}`;
    try {
      assert.match(node.logs(), new RegExp(`Serving ${base}/metrics`));
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200, await ready.text());

      const values = Array.from({ length: RECORDS }, (_, i) => `v${i}`.padEnd(VALUE_BYTES, "x"));
      await run("kcat", ["-P", "-b", node.bootstrap, "-t", TOPIC], values.join("\n") + "\n");
      const lastOffset = await run("/usr/bin/python3", [
        "-c",
        CONSUME_AND_COMMIT,
        node.bootstrap,
        TOPIC,
        "dashboards",
        String(CONSUMED),
      ]);
      assert.equal(lastOffset.trim(), String(CONSUMED - 1));

      const scrape = await fetch(`${base}/metrics`);
      assert.equal(scrape.status, 200);
      assert.match(scrape.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusText(await scrape.text());
      for (const f of families) assert.ok(f.help !== null && f.type !== null, f.name);

      const messagesIn = "kafka_server_brokertopicmetrics_messagesin_total";
      assert.equal(sample(families, messagesIn, { topic: TOPIC }), RECORDS);
      // Only client produce counts: the group's offset commit is not a message in.
      assert.equal(sample(families, messagesIn), RECORDS);
      const bytesIn = sample(families, "kafka_server_brokertopicmetrics_bytesin_total", {
        topic: TOPIC,
      });
      assert.ok(bytesIn >= RECORDS * VALUE_BYTES, `bytes in ${bytesIn}`);
      assert.equal(sample(families, "kafka_server_brokertopicmetrics_bytesin_total"), bytesIn);
      const bytesOut = sample(families, "kafka_server_brokertopicmetrics_bytesout_total", {
        topic: TOPIC,
      });
      assert.ok(bytesOut > 0, `bytes out ${bytesOut}`);

      // One partition of the topic and the harness's four __consumer_offsets partitions.
      const partitions = 1 + 4;
      assert.equal(sample(families, "kafka_server_replicamanager_partitioncount"), partitions);
      assert.equal(sample(families, "kafka_server_replicamanager_leadercount"), partitions);
      assert.equal(sample(families, "kafka_server_replicamanager_underreplicatedpartitions"), 0);
      assert.equal(sample(families, "kafka_controller_kafkacontroller_activecontrollercount"), 1);
      assert.equal(
        sample(families, "kafka_controller_kafkacontroller_globalpartitioncount"),
        partitions,
      );
      assert.equal(sample(families, "kafka_controller_kafkacontroller_offlinepartitionscount"), 0);
      const lagLabels = { consumergroup: "dashboards", topic: TOPIC, partition: "0" };
      assert.equal(sample(families, "kafka_consumergroup_lag", lagLabels), RECORDS - CONSUMED);
      assert.equal(sample(families, "kafka_consumergroup_current_offset", lagLabels), CONSUMED);
      assert.ok(
        sample(families, "kafka_log_log_size", { topic: TOPIC, partition: "0" }) >= bytesIn,
      );
      assert.ok(
        sample(families, "kafka_network_requestmetrics_requests_total", { request: "Produce" }) >=
          1,
      );
      assert.ok(
        sample(families, "kafka_network_requestmetrics_requests_total", { request: "Fetch" }) >= 1,
      );
      sample(families, "kafka_server_socket_server_metrics_connection_count", {
        listener: "PLAINTEXT",
      });
      assert.ok(sample(families, "process_resident_memory_bytes") > 0);
      assert.ok(sample(families, "deno_heap_used_bytes") > 0);

      const notFound = await fetch(`${base}/console`);
      assert.equal(notFound.status, 404);
      await notFound.body?.cancel();
      const wrongMethod = await fetch(`${base}/metrics`, { method: "DELETE" });
      assert.equal(wrongMethod.status, 405);
      await wrongMethod.body?.cancel();
      const oversized = await fetch(`${base}/metrics`, { method: "POST", body: "x".repeat(4096) });
      assert.equal(oversized.status, 413);
      await oversized.body?.cancel();
      // The Kafka listener is undisturbed.
      const consumed = await run("kcat", ["-C", "-b", node.bootstrap, "-t", TOPIC, "-e", "-q"]);
      assert.equal(consumed.trim().split("\n").length, RECORDS);
    } finally {
      await node.stop();
    }
  },
});
