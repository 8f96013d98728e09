/**
 * Controller failover and metadata write rate on a real multi-process cluster (3 controllers,
 * 1 broker, Kafka's default quorum timeouts): the time from kill -9 of the active controller to
 * the first successful CreateTopics through the broker, median and max over several runs; and
 * topics created per second, one CreateTopics per topic, sequentially and 10 at a time. The
 * configured timeouts are printed beside the numbers as the bound to compare with.
 *
 * @module
 */

import { startCluster, type TestCluster } from "../../tests/integration/cluster_harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";

/** Kafka's defaults, set explicitly (the test harness shortens them). */
const QUORUM_PROPS = {
  "controller.quorum.election.timeout.ms": "1000",
  "controller.quorum.fetch.timeout.ms": "2000",
};
/** The longest one failover may take before the bench gives up, in milliseconds. */
const FAILOVER_TIMEOUT_MS = 60_000;
/** Topics created by each rate measurement. */
const RATE_TOPICS = 200;
/** Concurrent CreateTopics in the concurrent rate measurement. */
const CONCURRENCY = 10;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates one topic; TOPIC_ALREADY_EXISTS after a retry means the first attempt committed. */
async function create(admin: Admin, name: string, retried: boolean): Promise<void> {
  try {
    await admin.createTopics([{ name, numPartitions: 1, replicationFactor: 1 }]);
  } catch (error) {
    const exists = error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS;
    if (!(retried && exists)) throw error;
  }
}

/** Milliseconds from `start` until a controller other than `old` reports itself leader. */
async function electedMs(cluster: TestCluster, old: number, start: number): Promise<number> {
  await cluster.waitForLeader({ not: old, timeoutMs: FAILOVER_TIMEOUT_MS });
  return performance.now() - start;
}

/**
 * kill -9 of the active controller to a new leader (polled with DescribeQuorum) and to the first
 * acknowledged CreateTopics through the broker, in milliseconds.
 */
async function failoverMs(
  cluster: TestCluster,
  admin: Admin,
  run: number,
): Promise<{ electedMs: number; createdMs: number }> {
  await Promise.all(cluster.controllers.map((c) => c.start()));
  const leader = await cluster.waitForLeader();
  await create(admin, `warm-${run}`, false); // the quorum commits before the clock starts
  const start = performance.now();
  await cluster.node(leader).kill();
  const elected = electedMs(cluster, leader, start);
  const deadline = Date.now() + FAILOVER_TIMEOUT_MS;
  let retried = false;
  while (Date.now() < deadline) {
    try {
      await create(admin, `failover-${run}`, retried);
      const createdMs = performance.now() - start;
      return { electedMs: await elected, createdMs };
    } catch {
      retried = true;
      await sleep(10);
    }
  }
  await elected.catch(() => {});
  throw new Error(`No CreateTopics succeeded within ${FAILOVER_TIMEOUT_MS} ms of the kill`);
}

/** Topics per second, `total` CreateTopics calls spread over `workers` sequential loops. */
async function topicsPerSecond(
  admin: Admin,
  prefix: string,
  total: number,
  workers: number,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < total) await create(admin, `${prefix}-${next++}`, false);
  }));
  return total / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs the failover bench and returns markdown tables.
 *
 * @example
 * ```ts ignore
 * console.log(await runFailoverBench(5));
 * ```
 */
export async function runFailoverBench(runs = 10): Promise<string> {
  const cluster = await startCluster({ controllers: 3, brokers: 1, props: QUORUM_PROPS });
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers, retries: 0 });
  try {
    const samples: { electedMs: number; createdMs: number }[] = [];
    for (let run = 0; run < runs; run++) samples.push(await failoverMs(cluster, admin, run));
    const elected = samples.map((s) => s.electedMs);
    const created = samples.map((s) => s.createdMs);
    await Promise.all(cluster.controllers.map((c) => c.start()));
    await cluster.waitForLeader();
    await create(admin, "rate-warm", false);
    const sequential = await topicsPerSecond(admin, "seq", RATE_TOPICS, 1);
    const concurrent = await topicsPerSecond(admin, "conc", RATE_TOPICS, CONCURRENCY);
    return [
      `3 controllers + 1 broker, separate processes on loopback; election timeout ${
        QUORUM_PROPS["controller.quorum.election.timeout.ms"]
      } ms, fetch timeout ${
        QUORUM_PROPS["controller.quorum.fetch.timeout.ms"]
      } ms (Kafka's defaults)`,
      "",
      "| after kill -9 of the active controller | new leader (ms) | first CreateTopics ok (ms) |",
      "| --- | ---: | ---: |",
      `| median of ${runs} | ${median(elected).toFixed(0)} | ${median(created).toFixed(0)} |`,
      `| max | ${Math.max(...elected).toFixed(0)} | ${Math.max(...created).toFixed(0)} |`,
      "",
      "| CreateTopics, 1 topic each (RF=1, 1 partition) | topics/s |",
      "| --- | ---: |",
      `| sequential, ${RATE_TOPICS} topics | ${sequential.toFixed(0)} |`,
      `| ${CONCURRENCY} concurrent, ${RATE_TOPICS} topics | ${concurrent.toFixed(0)} |`,
    ].join("\n");
  } finally {
    admin.close();
    await cluster.stop();
  }
}

if (import.meta.main) {
  console.log(await runFailoverBench(Number(Deno.args[0] ?? 10)));
}
