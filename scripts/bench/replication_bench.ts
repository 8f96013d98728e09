/**
 * The cost of replication (issue #9): a real cluster of 3 controller and 3 broker processes
 * (`tests/integration/cluster_harness.ts`), loaded by librdkafka (`load_gen.py`), producing 1 KiB
 * records with `acks=all` to a topic with replication factor 3 (`min.insync.replicas=2`) and,
 * in the same run and on the same brokers, to one with replication factor 1. Both topics have 3
 * partitions, so both spread their leaders over the three brokers. Reports throughput, then p50 /
 * p99 latency of both at one fixed rate (half the RF=3 maximum), and the RF=3 / RF=1 ratios.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { hasPythonModule } from "../../tests/integration/harness.ts";
import { startCluster, type TestCluster } from "../../tests/integration/cluster_harness.ts";
import { Admin } from "../../net/client/admin.ts";

const LOAD_GEN = fileURLToPath(new URL("./load_gen.py", import.meta.url));
const RECORD_BYTES = 1024;
const MIB = 1024 * 1024;
const PARTITIONS = 3;
/** How long the cluster may take to show a full ISR for a new topic, in milliseconds. */
const ISR_WAIT_MS = 30_000;

/** Options for {@link runReplicationBench}. */
export interface ReplicationBenchOptions {
  /** Records per throughput case (1 KiB each). */
  records?: number;
}

async function loadGen(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command("/usr/bin/python3", { args: [LOAD_GEN, ...args] }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const result = JSON.parse(text.split("\n").at(-1)!);
  if (result.errors > 0) throw new Error(`load generator saw ${result.errors} delivery errors`);
  return result;
}

/** Creates `topic` and waits (bounded) until every partition has a leader and a full ISR. */
async function createTopic(cluster: TestCluster, topic: string, replicationFactor: number) {
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
  try {
    await admin.createTopics([{
      name: topic,
      numPartitions: PARTITIONS,
      replicationFactor,
      configs: replicationFactor > 1 ? { "min.insync.replicas": "2" } : {},
    }]);
    const deadline = Date.now() + ISR_WAIT_MS;
    while (Date.now() < deadline) {
      const [described] = await admin.describeTopics([topic]).catch(() => []);
      const ready = described?.partitions.length === PARTITIONS &&
        described.partitions.every((p) => p.leader >= 0 && p.isr.length === replicationFactor);
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${topic} did not get a full ISR within ${ISR_WAIT_MS} ms`);
  } finally {
    admin.close();
  }
}

/**
 * Runs the replication benchmark and returns a markdown table.
 *
 * @example
 * ```ts ignore
 * console.log(await runReplicationBench({ records: 50_000 }));
 * ```
 */
export async function runReplicationBench(options: ReplicationBenchOptions = {}): Promise<string> {
  if (!hasPythonModule("confluent_kafka")) {
    return "skipped: /usr/bin/python3 lacks confluent_kafka (apt-get install python3-confluent-kafka)";
  }
  const records = options.records ?? 50_000;
  const cluster = await startCluster({ controllers: 3, brokers: 3 });
  try {
    await cluster.waitForLeader();
    const rates = new Map<number, number>();
    for (const rf of [1, 3]) {
      await createTopic(cluster, `bench-rf${rf}`, rf);
      const r = await loadGen([
        "produce",
        cluster.bootstrapServers,
        `bench-rf${rf}`,
        String(records),
        String(RECORD_BYTES),
        "all",
      ]);
      rates.set(rf, records / r.seconds!);
    }
    const rf1 = rates.get(1)!;
    const rf3 = rates.get(3)!;
    // One rate for both, so the latencies compare the same load.
    const fixedRate = Math.max(500, Math.floor(rf3 / 2));
    const latencyRecords = Math.min(records, Math.max(10_000, fixedRate * 3));
    const latency = new Map<number, Record<string, number>>();
    for (const rf of [1, 3]) {
      await createTopic(cluster, `bench-latency-rf${rf}`, rf);
      latency.set(
        rf,
        await loadGen([
          "produce",
          cluster.bootstrapServers,
          `bench-latency-rf${rf}`,
          String(latencyRecords),
          String(RECORD_BYTES),
          "all",
          String(fixedRate),
        ]),
      );
    }
    const mbps = (rate: number) => (rate * RECORD_BYTES / MIB).toFixed(0);
    const rows = [
      "| case (acks=all, 1 KiB, 3 partitions, 3 brokers) | MB/s | records/s | p50 ms | p99 ms |",
      "| --- | ---: | ---: | ---: | ---: |",
    ];
    for (const rf of [1, 3]) {
      const rate = rates.get(rf)!;
      const l = latency.get(rf)!;
      rows.push(
        `| replication factor ${rf} | ${mbps(rate)} | ${rate.toFixed(0)} | ${
          l.p50_ms!.toFixed(1)
        } | ${l.p99_ms!.toFixed(1)} |`,
      );
    }
    const p99Ratio = latency.get(3)!.p99_ms! / latency.get(1)!.p99_ms!;
    rows.push(
      `| RF=3 / RF=1 (latency at ${fixedRate} records/s) | ${(rf3 / rf1).toFixed(2)} | | | ${
        p99Ratio.toFixed(2)
      } |`,
    );
    return rows.join("\n");
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) {
  const records = Number(Deno.args[0] ?? 50_000);
  console.log(await runReplicationBench({ records }));
}
