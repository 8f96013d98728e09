/**
 * A chaos run against a real 3-controller, 3-broker cluster (not a test: it takes minutes and its
 * faults are random). A topic with replication factor 3 and `min.insync.replicas=2` takes a
 * librdkafka workload while, every 1-4 s, a random fault hits: kill -9 and restart of a broker or
 * of the active controller, SIGSTOP/SIGCONT of either, a graceful broker restart. At most one
 * node is down at a time. Afterwards the run checks what Kafka promises:
 *
 * - `produce` (default): an idempotent acks=all producer and a group committing offsets; every
 *   acknowledged record is stored exactly once, and the group's last commits are intact.
 * - `txn`: a transactional producer (transactions of 10 records, every 7th aborted) checked with
 *   read_committed: every committed transaction whole, nothing of an aborted one visible, any
 *   transaction whose outcome the client could not learn all or nothing.
 *
 * usage: deno run -A scripts/chaos/chaos.ts [produce|txn] [--seed N] [--seconds S]
 * A seed replays the same fault schedule (timing still varies with the machine). Prints the
 * faults, then one summary line; exits 1 when a promise was broken.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { startCluster } from "../../tests/integration/cluster_harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { SeededRandom } from "../../core/random.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const PYTHON_DIR = fileURLToPath(new URL("../../tests/integration/python", import.meta.url));
const RECORDS = 30_000;
const TOPIC = "chaos";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { seed: { type: "string" }, seconds: { type: "string" } },
  allowPositionals: true,
});
const mode = positionals[0] ?? "produce";
if (mode !== "produce" && mode !== "txn") {
  console.error(`chaos: unknown mode ${mode}: produce or txn`);
  Deno.exit(2);
}
const seed = Number(values.seed ?? Date.now() % 100_000);
const seconds = Number(values.seconds ?? 60);
const random = new SeededRandom(seed);
const pick = (n: number) => random.intBelow(n);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function python(script: string, args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command("/usr/bin/python3", {
    args: [script, ...args],
    cwd: PYTHON_DIR,
    env: { PYTHONDONTWRITEBYTECODE: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

console.log(`chaos ${mode}: seed ${seed}, ${seconds} s of faults`);
const problems: string[] = [];
const cluster = await startCluster({
  controllers: 3,
  brokers: 3,
  props: {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "controller.quorum.request.timeout.ms": "1000",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "replica.lag.time.max.ms": "3000",
    "replica.fetch.backoff.ms": "200",
  },
  onUnexpectedExit: (node, code) => problems.push(`node ${node.nodeId} exited with ${code}`),
  onOutput: (node, text) => {
    for (const line of text.split("\n")) {
      if (line.includes(" ERROR ")) problems.push(`[${node.nodeId}] ${line.slice(0, 300)}`);
    }
  },
});
const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
try {
  await cluster.waitForLeader();
  await admin.createTopics([{
    name: TOPIC,
    numPartitions: 3,
    replicationFactor: 3,
    configs: { "min.insync.replicas": "2" },
  }]);
  await sleep(2_000);
  const workload = mode === "produce"
    ? Promise.all([
      python("produce.py", [
        cluster.bootstrapServers,
        TOPIC,
        `${RECORDS}`,
        "acks=all",
        "enable.idempotence=true",
        "message.timeout.ms=300000",
        "request.timeout.ms=10000",
        `test.spread.s=${seconds}`,
      ]),
      python(`${HERE}/group_commit.py`, [cluster.bootstrapServers, TOPIC, "g1", `${seconds + 20}`]),
    ])
    : Promise.all([
      python(`${HERE}/txn_produce.py`, [cluster.bootstrapServers, TOPIC, `${seconds}`]),
    ]);

  const startMs = Date.now();
  while (Date.now() - startMs < seconds * 1000) {
    await sleep(1_000 + pick(3_000));
    const leader = await cluster.waitForLeader().catch(() => -1);
    const broker = cluster.brokers[pick(cluster.brokers.length)]!;
    const controller = cluster.nodes.find((n) => n.nodeId === leader) ??
      cluster.controllers[pick(cluster.controllers.length)]!;
    const at = ((Date.now() - startMs) / 1000).toFixed(1);
    switch (pick(5)) {
      case 0:
        console.log(`${at} s: kill -9 broker ${broker.nodeId}`);
        await broker.kill();
        await sleep(500 + pick(2_500));
        await broker.start();
        break;
      case 1:
        console.log(`${at} s: SIGSTOP broker ${broker.nodeId}`);
        Deno.kill(broker.pid!, "SIGSTOP");
        await sleep(1_000 + pick(5_000));
        Deno.kill(broker.pid!, "SIGCONT");
        break;
      case 2:
        console.log(`${at} s: kill -9 active controller ${controller.nodeId}`);
        await controller.kill();
        await sleep(500 + pick(2_500));
        await controller.start();
        break;
      case 3:
        console.log(`${at} s: SIGSTOP active controller ${controller.nodeId}`);
        Deno.kill(controller.pid!, "SIGSTOP");
        await sleep(1_000 + pick(4_000));
        Deno.kill(controller.pid!, "SIGCONT");
        break;
      default:
        console.log(`${at} s: graceful restart of broker ${broker.nodeId}`);
        await broker.stop();
        await broker.start();
    }
  }
  const outputs = await workload;
  for (let i = 0; i < 60; i++) {
    const [described] = await admin.describeTopics([TOPIC]).catch(() => []);
    if (described?.partitions.every((p) => p.isr.length === 3)) break;
    await sleep(500);
  }
  if (mode === "produce") await checkProduce(outputs, await readAll(false));
  else checkTxn(outputs[0]!, await readAll(true));
} finally {
  admin.close();
  await cluster.stop();
}
if (problems.length > 0) {
  console.log(`FAILED (seed ${seed}):\n  ${problems.slice(0, 20).join("\n  ")}`);
  Deno.exit(1);
}
console.log(`ok (seed ${seed})`);

async function readAll(readCommitted: boolean): Promise<string[]> {
  const out = readCommitted
    ? await python(`${HERE}/txn_read.py`, [cluster.bootstrapServers, TOPIC])
    : await python("consume_all.py", [cluster.bootstrapServers, TOPIC]);
  if (out.code !== 0) throw new Error(`reading back failed: ${decode(out.stderr).slice(-500)}`);
  const parsed = JSON.parse(decode(out.stdout));
  return readCommitted ? parsed.seen : (parsed as { v: string }[]).map((r) => r.v);
}

async function checkProduce(outputs: Deno.CommandOutput[], stored: string[]): Promise<void> {
  const [produced, group] = outputs as [Deno.CommandOutput, Deno.CommandOutput];
  const events = decode(produced.stdout).trim().split("\n").map((l) => JSON.parse(l));
  const acked = new Set(events.filter((e) => e.o !== undefined).map((e) => e.v as string));
  const counts = new Map<string, number>();
  for (const v of stored) counts.set(v, (counts.get(v) ?? 0) + 1);
  const lost = [...acked].filter((v) => !counts.has(v));
  const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  console.log(
    `acknowledged ${acked.size}, stored ${stored.length}, lost ${lost.length}, twice ${twice.length}`,
  );
  if (lost.length > 0) problems.push(`acknowledged records lost: ${lost.slice(0, 5)}`);
  if (twice.length > 0) problems.push(`records stored twice: ${twice.slice(0, 5)}`);
  const committed = JSON.parse(decode(group.stdout).trim().split("\n").at(-1)!).committed;
  await checkCommits(committed);
}

async function checkCommits(committed: Record<string, number>): Promise<void> {
  const out = await python("group_offsets.py", [
    cluster.bootstrapServers,
    "g1",
    "committed",
    TOPIC,
    "3",
  ]);
  const now = JSON.parse(decode(out.stdout)) as Record<string, number>;
  for (const [partition, offset] of Object.entries(committed)) {
    if ((now[partition] ?? -1) < offset) {
      problems.push(`group commit lost on partition ${partition}: ${offset} -> ${now[partition]}`);
    }
  }
}

function checkTxn(produced: Deno.CommandOutput, seen: string[]): void {
  const outcome = JSON.parse(decode(produced.stdout).trim().split("\n").at(-1)!) as {
    committed: number[];
    aborted: number[];
    unknown: number[];
  };
  const perTxn = new Map<number, number>();
  for (const v of seen) {
    const txn = Number(v.slice(1, v.indexOf("-")));
    perTxn.set(txn, (perTxn.get(txn) ?? 0) + 1);
  }
  for (const t of outcome.committed) {
    if (perTxn.get(t) !== 10) problems.push(`committed transaction ${t} has ${perTxn.get(t) ?? 0}`);
  }
  for (const t of outcome.aborted) {
    if (perTxn.has(t)) problems.push(`aborted transaction ${t} is visible`);
  }
  for (const t of outcome.unknown) {
    if (perTxn.has(t) && perTxn.get(t) !== 10) problems.push(`transaction ${t} is partial`);
  }
  console.log(
    `transactions committed ${outcome.committed.length}, aborted ${outcome.aborted.length}, unknown ${outcome.unknown.length}`,
  );
}
