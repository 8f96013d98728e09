/**
 * End-to-end broker benchmark: a real node in a child process, loaded by librdkafka
 * (confluent-kafka under /usr/bin/python3) in another process, beside a raw disk baseline and
 * the load generator's own ceiling (the same load against a sink that stores nothing), both
 * measured in the same run: a produce rate near the ceiling says the client, not the broker,
 * is the limit. Also start-up time to the first Metadata response. A second table holds the
 * targets of issue #13, each beside its baseline from the same run and the ratio
 * (`broker_targets.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { freePort, hasPythonModule, runMain, startNode } from "../../tests/integration/harness.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { loadGen } from "./load_gen_client.ts";
import { sinkProduceRate } from "./produce_sink.ts";
import {
  coldRecordCount,
  createTopic,
  failedTarget,
  formatTargets,
  measureColdCatchUp,
  measureConsumeVsCopy,
  measureSmallRecords,
  measureTmpfsTargets,
  peakRssMiB,
  type TargetRow,
} from "./broker_targets.ts";

const RECORD_BYTES = 1024;
const MIB = 1024 * 1024;

/** Options for {@link runBrokerBench}. */
export interface BrokerBenchOptions {
  /** Records per produce case (1 KiB each). */
  records?: number;
}

/** The same bytes written raw in 1 MiB chunks, fdatasync after each: the disk's own speed. */
async function rawDiskMBps(totalBytes: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-raw-" });
  const file = await Deno.open(join(dir, "raw.log"), { write: true, create: true });
  const chunk = new Uint8Array(MIB).fill(120);
  const start = performance.now();
  for (let written = 0; written < totalBytes; written += chunk.length) {
    let at = 0;
    while (at < chunk.length) at += await file.write(chunk.subarray(at));
    await file.syncData();
  }
  const seconds = (performance.now() - start) / 1000;
  file.close();
  await Deno.remove(dir, { recursive: true });
  return totalBytes / MIB / seconds;
}

/** Milliseconds from spawning `server-start` to the first successful Metadata response. */
async function startupMs(): Promise<number> {
  const node = await startNode();
  await node.kill();
  const start = performance.now();
  const restart = node.restart();
  const [host, port] = node.bootstrap.split(":");
  let elapsed = -1;
  // Bounded: at most ~30 s of 5 ms polls.
  for (let i = 0; i < 6000 && elapsed < 0; i++) {
    try {
      const conn = await KafkaConnection.connect(host!, Number(port), { connectTimeoutMs: 200 });
      await conn.send(ApiKey.METADATA, { topics: [] });
      conn.close();
      elapsed = performance.now() - start;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  await restart;
  await node.stop();
  return elapsed;
}

/** The rows `measure` returns, or one row saying why it failed (the bench goes on). */
async function attempt(
  target: string,
  goal: string,
  measure: () => Promise<TargetRow | TargetRow[]>,
): Promise<TargetRow[]> {
  try {
    return [await measure()].flat();
  } catch (error) {
    return [failedTarget(target, goal, error)];
  }
}

/**
 * Runs the broker benchmark and returns two markdown tables: the cases, then the targets of
 * issue #13, each with its baseline from the same run and the ratio.
 *
 * @example
 * ```ts ignore
 * console.log(await runBrokerBench({ records: 50_000 }));
 * ```
 */
export async function runBrokerBench(options: BrokerBenchOptions = {}): Promise<string> {
  if (!hasPythonModule("confluent_kafka")) {
    return "skipped: /usr/bin/python3 lacks confluent_kafka (apt-get install python3-confluent-kafka)";
  }
  const records = options.records ?? 100_000;
  const totalMiB = (records * RECORD_BYTES) / MIB;
  const rows: string[] = [
    "| case | MB/s | records/s | p50 ms | p99 ms | p99.9 ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  // Filled in the order they run; printed in the issue's order.
  let small: TargetRow[] = [];
  let cold: TargetRow[] = [];
  /** producer-perf-test and consumer-perf-test beside librdkafka (issue #13's 30% targets). */
  const tools: TargetRow[] = [];
  let consume: TargetRow[] = [];
  const raw = await rawDiskMBps(records * RECORD_BYTES);
  rows.push(`| raw disk: 1 MiB writes + fdatasync each (baseline) | ${raw.toFixed(0)} | | | | |`);
  const ceiling = await sinkProduceRate({ records, recordBytes: RECORD_BYTES, partitions: 1 });
  rows.push(
    `| client alone: load generator against a sink that stores nothing (ceiling) | ${
      (ceiling * RECORD_BYTES / MIB).toFixed(0)
    } | ${ceiling.toFixed(0)} | | | |`,
  );
  // The HTTP listener serves /metrics, whose event-loop delay histogram the cold catch-up reads.
  const httpAddress = `127.0.0.1:${freePort()}`;
  const node = await startNode({ props: { "kraftling.http.listener": httpAddress } });
  try {
    let maxRate = 0;
    let acks1OnePartitionMBps = 0;
    for (const acks of ["1", "all"]) {
      for (const partitions of [1, 8]) {
        const topic = `bench-${acks}-${partitions}`;
        await createTopic(node.bootstrap, topic, partitions);
        const r = await loadGen([
          "produce",
          node.bootstrap,
          topic,
          String(records),
          String(RECORD_BYTES),
          acks,
        ]);
        const rate = records / r.seconds!;
        if (acks === "all" && partitions === 1) maxRate = rate;
        if (acks === "1" && partitions === 1) acks1OnePartitionMBps = totalMiB / r.seconds!;
        rows.push(
          `| produce acks=${acks}, ${partitions} partition(s) | ${
            (totalMiB / r.seconds!).toFixed(0)
          } | ${rate.toFixed(0)} | | | |`,
        );
      }
    }
    const fixedRate = Math.max(1000, Math.floor(maxRate / 2));
    // At least ~1 s of load (bounded by the case size), so start-up is not most of the sample.
    const latencyRecords = Math.min(records, Math.max(20_000, fixedRate));
    await createTopic(node.bootstrap, "bench-latency", 1);
    const latency = await loadGen([
      "produce",
      node.bootstrap,
      "bench-latency",
      String(latencyRecords),
      String(RECORD_BYTES),
      "all",
      String(fixedRate),
    ]);
    rows.push(
      `| produce latency acks=all at ${fixedRate} records/s (half the max) | | | ${
        latency.p50_ms!.toFixed(1)
      } | ${latency.p99_ms!.toFixed(1)} | ${latency.p999_ms!.toFixed(1)} |`,
    );
    const consumed = await loadGen(["consume", node.bootstrap, "bench-all-8", String(records)]);
    const librdkafkaConsumeMBps = consumed.bytes! / MIB / consumed.seconds!;
    rows.push(
      `| consume, 8 partitions | ${(consumed.bytes! / MIB / consumed.seconds!).toFixed(0)} | ${
        (consumed.records! / consumed.seconds!).toFixed(0)
      } | | | |`,
    );
    // Our own consumer through the Kafka-named tool, on the same topic as the librdkafka row.
    const consumerPerf = await runMain([
      "consumer-perf-test",
      "--bootstrap-server",
      node.bootstrap,
      "--topic",
      "bench-all-8",
      "--messages",
      String(records),
      "--hide-header",
    ]);
    // start, end, MB, MB/s, messages, messages/s, rebalance ms, fetch ms, fetch MB/s, fetch msg/s
    const fields = consumerPerf.stdout.trim().split("\n").at(-1)?.split(", ") ?? [];
    rows.push(
      consumerPerf.code !== 0 || fields.length < 10
        ? `| consumer-perf-test (our client), 8 partitions | failed: ${
          consumerPerf.stderr.split("\n")[0]
        } | | | | |`
        : `| consumer-perf-test (our client), 8 partitions (fetch time only, as Kafka prints it) | ${
          Number(fields[8]).toFixed(0)
        } | ${Number(fields[9]).toFixed(0)} | | | |`,
    );
    if (consumerPerf.code === 0 && fields.length >= 10) {
      const ours = Number(fields[8]);
      tools.push({
        target:
          "consumer-perf-test (our client), 8 partitions, beside librdkafka on the same topic",
        measured: `${ours.toFixed(0)} MB/s`,
        baseline: `${librdkafkaConsumeMBps.toFixed(0)} MB/s: librdkafka consuming bench-all-8`,
        ratio: (ours / librdkafkaConsumeMBps).toFixed(2),
        goal: ">= 0.30",
        met: ours / librdkafkaConsumeMBps >= 0.3,
      });
    }
    // Our own client through the Kafka-named tool, beside the librdkafka rows above.
    const perf = await runMain([
      "producer-perf-test",
      "--bootstrap-server",
      node.bootstrap,
      "--topic",
      "bench-perf-tool",
      "--num-records",
      String(records),
      "--record-size",
      String(RECORD_BYTES),
      "--throughput",
      "-1",
      "--producer-props",
      "acks=1",
    ]);
    const summary =
      /([\d.]+) records\/sec \(([\d.]+) MB\/sec\).*?([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99.9th/
        .exec(perf.stdout);
    rows.push(
      summary === null
        ? `| producer-perf-test (our client), acks=1 | failed: ${
          perf.stderr.split("\n")[0]
        } | | | | |`
        : `| producer-perf-test (our client), acks=1, 1 partition | ${
          Number(summary[2]).toFixed(0)
        } | ${Number(summary[1]).toFixed(0)} | ${summary[3]} | ${summary[5]} | ${summary[6]} |`,
    );
    if (summary !== null) {
      const ours = Number(summary[2]);
      tools.push({
        target: "producer-perf-test (our client), acks=1, 1 partition, beside librdkafka",
        measured: `${ours.toFixed(0)} MB/s`,
        baseline: `${acks1OnePartitionMBps.toFixed(0)} MB/s: librdkafka, acks=1, 1 partition`,
        ratio: (ours / acks1OnePartitionMBps).toFixed(2),
        goal: ">= 0.30",
        met: ours / acks1OnePartitionMBps >= 0.3,
      });
    }
    small = await attempt(
      "produce 100 B acks=all",
      ">= 2,000,000 records/s",
      () => measureSmallRecords(node, { records }),
    );
    // Last on this node: it writes the largest topic.
    cold = await attempt(
      "p99 at 20k records/s beside a cold catch-up",
      "p99 <= 20 ms",
      () => measureColdCatchUp(node, { records, metricsUrl: `http://${httpAddress}/metrics` }),
    );
    // The catch-up's backlog (page cache warm now) when there is one: a longer, steadier read.
    const backlog = cold[0]!.met === null
      ? { topic: "bench-all-8", records }
      : { topic: "cold-8", records: coldRecordCount(records) };
    consume = await attempt(
      "consume vs raw copy",
      ">= 0.80",
      () => measureConsumeVsCopy(node, backlog),
    );
    // Memory after every case above ran on this node (issue #13: bounded, reported).
    const peak = await peakRssMiB(node);
    rows.push(
      `| peak RSS of the node after every case above (VmHWM) | ${
        peak === null ? "unknown" : `${peak.toFixed(0)} MiB`
      } | | | | |`,
    );
  } finally {
    await node.stop();
  }
  const tmpfs = await attempt(
    "produce acks=all on tmpfs; p99 at half its rate",
    ">= 0.60; p99 <= 20 ms",
    () => measureTmpfsTargets({ records }),
  );
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) startups.push(await startupMs());
  startups.sort((a, b) => a - b);
  rows.push(
    `| start-up: process spawn to first Metadata response (median of 3) | ${
      startups[1]!.toFixed(0)
    } ms | | | | |`,
  );
  return `${rows.join("\n")}\n\n${
    formatTargets([...tmpfs, ...cold, ...tools, ...consume, ...small])
  }`;
}

if (import.meta.main) {
  const records = Number(Deno.args[0] ?? 100_000);
  console.log(await runBrokerBench({ records }));
}
