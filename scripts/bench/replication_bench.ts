/**
 * The cost of replication (issue #9): a real cluster of 3 controller and 3 broker processes
 * (`tests/integration/cluster_harness.ts`), loaded by librdkafka (`load_gen.py`), producing 1 KiB
 * records with `acks=all` to a topic with replication factor 3 (`min.insync.replicas=2`) and,
 * in the same run and on the same brokers, to one with replication factor 1. Both topics have 3
 * partitions, so both spread their leaders over the three brokers. Reports throughput, the CPU time
 * the three broker processes spent per GiB produced (from /proc: what replication costs the
 * brokers, apart from the client, which shares this machine's cores), then p50 / p99 latency of
 * both at one fixed rate (half the RF=3 maximum, after one second of warm-up), and the RF=3 /
 * RF=1 ratios.
 *
 * Each throughput run is 200,000 records (200 MiB; runs of 50,000 lasted a third of a second, and
 * the ratio swung 0.36-0.62 between runs of the same code), and the client keeps librdkafka's
 * default queue of 100,000 records: with `load_gen.py`'s 1,000,000 a producer facing the slower
 * RF=3 topic held most of the run's records at once and spent twice the CPU per GiB doing so,
 * taken from the brokers on this shared machine.
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
/** Length of each latency case, and the first part of it left out of the percentiles. */
const LATENCY_RUN_S = 6;
const LATENCY_WARMUP_S = 1;
/** Linux's clock ticks per second for /proc/<pid>/stat CPU times (USER_HZ). */
const CLOCK_TICKS_PER_S = 100;

/** Peak resident memory (VmHWM) of each process in MiB (Linux /proc), or null elsewhere. */
function peakRssMiB(pids: readonly number[]): number[] | null {
  try {
    return pids.map((pid) => {
      const kib = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
      return kib === undefined ? NaN : Number(kib) / 1024;
    });
  } catch {
    return null;
  }
}

/** User + system CPU seconds the processes have used so far (Linux /proc), or null elsewhere. */
function cpuSeconds(pids: readonly number[]): number | null {
  let ticks = 0;
  try {
    for (const pid of pids) {
      // Fields after the command name: state is 3rd, utime 14th, stime 15th of the full line.
      const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return null;
  }
  return ticks / CLOCK_TICKS_PER_S;
}

/** One measured case: a topic's replication and configs. */
interface BenchCase {
  key: string;
  label: string;
  replicationFactor: number;
  configs: Record<string, string>;
}

const CASES: readonly BenchCase[] = [
  { key: "rf1", label: "replication factor 1", replicationFactor: 1, configs: {} },
  {
    key: "rf3",
    label: "replication factor 3",
    replicationFactor: 3,
    configs: { "min.insync.replicas": "2" },
  },
  {
    // What fsync costs: kraftling acknowledges acks=all once every in-sync replica fsynced the
    // batch; with flush.ms set, leader and followers write and acknowledge without waiting for
    // fsync, as Kafka does by default.
    key: "rf3-flush-ms",
    label: "replication factor 3, `flush.ms=1000` (acks without fsync, as Kafka's default)",
    replicationFactor: 3,
    configs: { "min.insync.replicas": "2", "flush.ms": "1000" },
  },
];

/** Options for {@link runReplicationBench}. */
export interface ReplicationBenchOptions {
  /** Records per throughput case (1 KiB each). */
  records?: number;
}

/** librdkafka's default `queue.buffering.max.messages` (see the module comment). */
const CLIENT_CONFIG = { "queue.buffering.max.messages": 100_000 };

async function loadGen(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [LOAD_GEN, ...args],
    env: { KRAFTLING_LOAD_GEN_CONFIG: JSON.stringify(CLIENT_CONFIG) },
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const result = JSON.parse(text.split("\n").at(-1)!);
  if (result.errors > 0) throw new Error(`load generator saw ${result.errors} delivery errors`);
  return result;
}

/**
 * Produces `records` 1 KiB records with acks=all as fast as librdkafka can; returns the seconds
 * and the CPU seconds of the client process (all its threads).
 */
async function produce(
  cluster: TestCluster,
  topic: string,
  records: number,
): Promise<{ seconds: number; clientCpuSeconds: number }> {
  const r = await loadGen([
    "produce",
    cluster.bootstrapServers,
    topic,
    String(records),
    String(RECORD_BYTES),
    "all",
  ]);
  return { seconds: r.seconds!, clientCpuSeconds: r.cpu_seconds! };
}

/** Creates `topic` and waits (bounded) until every partition has a leader and a full ISR. */
async function createTopic(cluster: TestCluster, topic: string, c: BenchCase) {
  const replicationFactor = c.replicationFactor;
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
  try {
    await admin.createTopics([{
      name: topic,
      numPartitions: PARTITIONS,
      replicationFactor,
      configs: c.configs,
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
  const records = options.records ?? 200_000;
  const cluster = await startCluster({ controllers: 3, brokers: 3 });
  try {
    await cluster.waitForLeader();
    const rates = new Map<string, number>();
    const cpuPerGiB = new Map<string, number | null>();
    const clientCpuPerGiB = new Map<string, number>();
    const gib = records * RECORD_BYTES / (1024 * MIB);
    const brokerPids = cluster.brokers.map((b) => b.pid!);
    for (const c of CASES) await createTopic(cluster, `bench-${c.key}`, c);
    // Every path JIT-compiled before anything is measured (a fresh cluster's first run was the
    // slowest, and RF=1 ran first), then each case twice, alternating, keeping the faster run.
    await produce(cluster, "bench-rf3", Math.ceil(records / 2));
    for (let round = 0; round < 2; round++) {
      for (const c of CASES) {
        const cpuBefore = cpuSeconds(brokerPids);
        const { seconds, clientCpuSeconds } = await produce(cluster, `bench-${c.key}`, records);
        const cpuAfter = cpuSeconds(brokerPids);
        if (records / seconds <= (rates.get(c.key) ?? 0)) continue;
        rates.set(c.key, records / seconds);
        cpuPerGiB.set(
          c.key,
          cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / gib,
        );
        clientCpuPerGiB.set(c.key, clientCpuSeconds / gib);
      }
    }
    const rf1 = rates.get("rf1")!;
    const rf3 = rates.get("rf3")!;
    // One rate for both, so the latencies compare the same load.
    const fixedRate = Math.max(500, Math.floor(rf3 / 2));
    const latencyRecords = fixedRate * LATENCY_RUN_S;
    const latency = new Map<string, Record<string, number>>();
    for (const c of CASES) {
      await createTopic(cluster, `bench-latency-${c.key}`, c);
      latency.set(
        c.key,
        await loadGen([
          "produce",
          cluster.bootstrapServers,
          `bench-latency-${c.key}`,
          String(latencyRecords),
          String(RECORD_BYTES),
          "all",
          String(fixedRate),
          String(LATENCY_WARMUP_S),
        ]),
      );
    }
    const mbps = (rate: number) => (rate * RECORD_BYTES / MIB).toFixed(0);
    const rows = [
      "| case (acks=all, 1 KiB, 3 partitions, 3 brokers) | MB/s | records/s | broker CPU s/GiB | client CPU s/GiB | p50 ms | p99 ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ];
    for (const c of CASES) {
      const rate = rates.get(c.key)!;
      const l = latency.get(c.key)!;
      rows.push(
        `| ${c.label} | ${mbps(rate)} | ${rate.toFixed(0)} | ${
          cpuPerGiB.get(c.key)?.toFixed(1) ?? "n/a"
        } | ${clientCpuPerGiB.get(c.key)!.toFixed(1)} | ${l.p50_ms!.toFixed(1)} | ${
          l.p99_ms!.toFixed(1)
        } |`,
      );
    }
    const p99Ratio = latency.get("rf3")!.p99_ms! / latency.get("rf1")!.p99_ms!;
    const cpu1 = cpuPerGiB.get("rf1");
    const cpu3 = cpuPerGiB.get("rf3");
    const cpuRatio = cpu1 && cpu3 ? (cpu3 / cpu1).toFixed(2) : "n/a";
    rows.push(
      `| RF=3 / RF=1 (latency at ${fixedRate} records/s) | ${
        (rf3 / rf1).toFixed(2)
      } | | ${cpuRatio} | ${
        (clientCpuPerGiB.get("rf3")! / clientCpuPerGiB.get("rf1")!).toFixed(2)
      } | | ${p99Ratio.toFixed(2)} |`,
    );
    const rss = peakRssMiB(brokerPids);
    if (rss !== null) {
      rows.push(
        `| peak RSS of the three brokers after all cases (VmHWM), MiB | ${
          rss.map((m) => m.toFixed(0)).join(" / ")
        } | | | | | |`,
      );
    }
    return rows.join("\n");
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) {
  const records = Number(Deno.args[0] ?? 200_000);
  console.log(await runReplicationBench({ records }));
}
