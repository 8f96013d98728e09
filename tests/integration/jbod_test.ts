/**
 * JBOD in KRaft (KIP-858, KIP-112) with real processes: 1 controller and 3 brokers, broker 2 with
 * two `log.dirs` (`logs`, which also holds the metadata log, and `logs2`), librdkafka
 * (python3-confluent-kafka) as the client.
 *
 * Topic `jbod`: 4 partitions, RF=3, `min.insync.replicas=2`, broker 2 the preferred leader of all
 * of them, so it spreads them over its two directories (the one with fewer partitions first) and
 * tells the controller where each lives (AssignReplicasToDirs). While an idempotent `acks=all`
 * producer runs, `logs2` fails at run time: it is moved away and a plain file takes its place, so
 * the broker's next write there (at the latest its high watermark checkpoint) fails with ENOTDIR.
 * Running as root, `chmod 000` would change nothing, hence the replacement. Then:
 * - broker 2 stays up and reports the directory; the controller moves the leadership of the
 *   partitions in `logs2` to brokers 3 and 4 and drops broker 2 from their ISR;
 * - the partitions in `logs` are still led by broker 2, with it in their ISR (still serving);
 * - DescribeLogDirs on broker 2 answers `logs2` with KAFKA_STORAGE_ERROR (`log-dirs --describe`
 *   prints Kafka's KafkaStorageException), and `topics --describe` shows the moved leaders;
 * - every acknowledged record is read back exactly once.
 * A restart with `logs2` still broken starts the broker without it (Kafka's `errorLogDirs`): its
 * replicas in `logs` rejoin the ISR, those of `logs2` stay out. Then `logs` fails too: with no log
 * dir left the broker exits, as Kafka halts, and the partitions it still led move to brokers 3
 * and 4.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hasPythonModule, REPO_ROOT, runMain } from "./harness.ts";
import { createCluster, type TestCluster } from "./cluster_harness.ts";
import { runCommand } from "./commands.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import {
  createCreatableReplicaAssignment,
  createCreatableTopic,
  createCreatableTopicConfig,
} from "../../net/protocol/generated/create_topics_request.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import type { DescribeLogDirsResponse } from "../../net/protocol/generated/describe_log_dirs_response.ts";
import { eventually, sleep } from "./waiting.ts";

const noPython = !hasPythonModule("confluent_kafka");
if (noPython) console.warn("jbod_test: skipped (python3-confluent-kafka missing)");

const PYTHON_DIR = join(REPO_ROOT, "tests/integration/python");
/** How long one Python client may run, in milliseconds. */
const PYTHON_TIMEOUT_MS = 120_000;
/** The longest a leadership or ISR change may take to show. */
const CHANGE_TIMEOUT_MS = 30_000;
const TOPIC = "jbod";
const PARTITIONS = 4;
/** Records produced, spread over this many seconds (the failure comes in the middle). */
const RECORDS = 6_000;
const SPREAD_S = 16;

async function python(script: string, args: string[]): Promise<string> {
  const out = await runCommand("/usr/bin/python3", [join(PYTHON_DIR, script), ...args], {
    cwd: PYTHON_DIR,
    timeoutMs: PYTHON_TIMEOUT_MS,
  });
  if (out.code !== 0) {
    throw new Error(`${script} exited with ${out.code}:\n${out.stderr.slice(-3000)}`);
  }
  return out.stdout;
}

async function withConnection<T>(
  address: string,
  fn: (conn: KafkaConnection) => Promise<T>,
): Promise<T> {
  const [host, port] = address.split(":");
  const conn = await KafkaConnection.connect(host!, Number(port), {
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 10_000,
  });
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** `topics --describe`: each partition's leader and ISR. */
async function describe(cluster: TestCluster) {
  const r = await runMain([
    "topics",
    "--bootstrap-server",
    cluster.bootstrapServers,
    "--describe",
    "--topic",
    TOPIC,
  ], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const parts = [...r.stdout.matchAll(/Partition: (\d+)\tLeader: (-?\d+|none)\t.*Isr: ([\d,]*)/g)]
    .map((m) => ({
      partition: Number(m[1]),
      leader: m[2] === "none" ? -1 : Number(m[2]),
      isr: m[3] === "" ? [] : m[3]!.split(",").map(Number).sort(),
    }));
  assert.equal(parts.length, PARTITIONS, r.stdout);
  return parts;
}

/** DescribeLogDirs asked of one broker: each dir's error code and partitions of the topic. */
async function logDirsOf(address: string) {
  const response = await withConnection(
    address,
    (conn) =>
      conn.send<DescribeLogDirsResponse>(ApiKey.DESCRIBE_LOG_DIRS, { topics: null }, {
        version: 4,
      }),
  );
  return response.results.map((r) => ({
    dir: r.logDir,
    errorCode: r.errorCode,
    partitions: r.topics.filter((t) => t.name === TOPIC)
      .flatMap((t) => t.partitions.map((p) => p.partitionIndex)).sort(),
  }));
}

Deno.test({
  name:
    "a failed log dir takes only its replicas offline; their leadership moves and nothing acknowledged is lost",
  ignore: noPython,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await createCluster({
      controllers: 1,
      brokers: 3,
      props: {
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "500",
        "replica.lag.time.max.ms": "4000",
        "replica.fetch.backoff.ms": "200",
        "replica.high.watermark.checkpoint.interval.ms": "500",
      },
    });
    try {
      // Broker 2 gets a second log dir, formatted like the first.
      const jbod = cluster.node(2);
      const logs = join(jbod.dir, "logs");
      const logs2 = join(jbod.dir, "logs2");
      const props = await Deno.readTextFile(jbod.propertiesPath);
      await Deno.writeTextFile(
        jbod.propertiesPath,
        props.replace(/^log\.dirs=.*$/m, `log.dirs=${logs},${logs2}`),
      );
      const format = await runMain([
        "storage",
        "format",
        "-t",
        cluster.clusterId,
        "-c",
        jbod.propertiesPath,
        "--ignore-formatted",
      ]);
      assert.equal(format.code, 0, format.stderr);
      await cluster.startAll();
      await cluster.waitForLeader();

      // Broker 2 is the preferred leader of every partition.
      const created = await withConnection(
        jbod.address,
        (conn) =>
          conn.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
            topics: [createCreatableTopic({
              name: TOPIC,
              numPartitions: -1,
              replicationFactor: -1,
              assignments: Array.from({ length: PARTITIONS }, (_, partitionIndex) =>
                createCreatableReplicaAssignment({
                  partitionIndex,
                  brokerIds: partitionIndex % 2 === 0 ? [2, 3, 4] : [2, 4, 3],
                })),
              configs: [createCreatableTopicConfig({ name: "min.insync.replicas", value: "2" })],
            })],
            timeoutMs: 30_000,
            validateOnly: false,
          }),
      );
      assert.equal(
        created.topics[0]!.errorCode,
        ErrorCode.NONE,
        created.topics[0]!.errorMessage ?? "",
      );
      await eventually("full ISR led by broker 2", CHANGE_TIMEOUT_MS, async () => {
        for (const p of await describe(cluster)) {
          assert.deepEqual([p.leader, p.isr], [2, [2, 3, 4]], `partition ${p.partition}`);
        }
      });
      // Spread over both directories, the one with fewer partitions first.
      const placed = await logDirsOf(jbod.address);
      assert.deepEqual(placed.map((d) => [d.dir, d.errorCode]), [[logs, 0], [logs2, 0]]);
      const inLogs = placed[0]!.partitions;
      const inLogs2 = placed[1]!.partitions;
      assert.equal(inLogs.length, PARTITIONS / 2, JSON.stringify(placed));
      assert.equal(inLogs2.length, PARTITIONS / 2, JSON.stringify(placed));

      const producing = python("produce.py", [
        cluster.bootstrapServers,
        TOPIC,
        `${RECORDS}`,
        "acks=all",
        "enable.idempotence=true",
        "message.timeout.ms=90000",
        "request.timeout.ms=10000",
        `test.spread.s=${SPREAD_S}`,
      ]);
      let producerDone = false;
      producing.finally(() => producerDone = true).catch(() => {});
      await sleep(4_000);

      // The disk under logs2 goes away while records keep arriving.
      await Deno.rename(logs2, `${logs2}.failed`);
      await Deno.writeTextFile(logs2, "this was a log directory\n");

      const moved = await eventually(
        "leadership off the failed directory",
        CHANGE_TIMEOUT_MS,
        async () => {
          const parts = await describe(cluster);
          for (const p of parts) {
            if (inLogs2.includes(p.partition)) {
              assert.ok([3, 4].includes(p.leader), `partition ${p.partition} leader ${p.leader}`);
              assert.deepEqual(p.isr, [3, 4], `partition ${p.partition}`);
            } else {
              // The healthy directory's replicas keep leading, in sync.
              assert.deepEqual([p.leader, p.isr], [2, [2, 3, 4]], `partition ${p.partition}`);
            }
          }
          return parts;
        },
      );
      assert.ok(jbod.running, "the broker with the failed directory stays up");
      assert.match(jbod.logs(), /Log directory .*logs2 failed/);

      const dirs = await logDirsOf(jbod.address);
      assert.deepEqual(dirs.map((d) => [d.dir, d.errorCode, d.partitions]), [
        [logs, ErrorCode.NONE, inLogs],
        [logs2, ErrorCode.KAFKA_STORAGE_ERROR, []],
      ]);
      assert.ok(!producerDone, "the producer finished before the failure: spread it more");
      // kafka-log-dirs.sh names the failed directory's error as Kafka does.
      const tool = await runMain([
        "log-dirs",
        "--bootstrap-server",
        cluster.bootstrapServers,
        "--describe",
        "--broker-list",
        "2",
        "--topic-list",
        TOPIC,
      ], { timeoutMs: 30_000 });
      assert.equal(tool.code, 0, tool.stderr);
      const described = JSON.parse(tool.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual(
        described.brokers[0].logDirs.map((d: { logDir: string; error: string | null }) => [
          d.logDir,
          d.error,
        ]),
        [[logs, null], [logs2, "org.apache.kafka.common.errors.KafkaStorageException"]],
      );

      const out = await producing;
      const delivered: string[] = [];
      const errors: string[] = [];
      for (const line of out.split("\n")) {
        if (line.trim() === "") continue;
        const event = JSON.parse(line);
        if (event.err !== undefined) errors.push(event.err);
        else if (event.v !== undefined) delivered.push(event.v);
      }
      assert.deepEqual(errors.slice(0, 5), [], "every record was acknowledged");
      assert.equal(delivered.length, RECORDS);
      const seen: { p: number; v: string }[] = JSON.parse(
        await python("consume_all.py", [cluster.bootstrapServers, TOPIC]),
      );
      const counts = new Map<string, number>();
      for (const r of seen) counts.set(r.v, (counts.get(r.v) ?? 0) + 1);
      const wrong = delivered.filter((v) => counts.get(v) !== 1).slice(0, 10);
      assert.deepEqual(wrong, [], "every acknowledged record exactly once");
      assert.equal(seen.length, RECORDS, "no record beyond the acknowledged ones");
      // Records reached the healthy directory's partitions, still led by broker 2, after the failure.
      assert.ok(seen.some((r) => inLogs.includes(r.p)));
      assert.ok(jbod.running, "the broker is still up after losing one of its directories");
      assert.equal(moved.length, PARTITIONS);

      // A restart with the disk still broken: the broker starts without logs2 (Kafka's
      // errorLogDirs), its replicas in logs rejoin the ISR, those of logs2 stay out of it.
      await jbod.stop();
      await jbod.start();
      await eventually(
        "the restarted broker back in sync from logs",
        CHANGE_TIMEOUT_MS,
        async () => {
          for (const p of await describe(cluster)) {
            const expected = inLogs.includes(p.partition) ? [2, 3, 4] : [3, 4];
            assert.deepEqual(p.isr, expected, `partition ${p.partition}`);
            assert.notEqual(p.leader, inLogs2.includes(p.partition) ? 2 : -1);
          }
        },
      );
      assert.match(jbod.logs(), /logs2 cannot be read: starting without it/);
      const restarted = await logDirsOf(jbod.address);
      assert.deepEqual(restarted.map((d) => [d.dir, d.errorCode, d.partitions]), [
        [logs, ErrorCode.NONE, inLogs],
        [logs2, ErrorCode.KAFKA_STORAGE_ERROR, []],
      ]);

      // Its last directory (the metadata one too) fails: the broker stops, as Kafka halts, and
      // the partitions it still led move to the others once it is fenced.
      await Deno.rename(logs, `${logs}.failed`);
      await Deno.writeTextFile(logs, "this was a log directory too\n");
      await eventually("the broker stops", CHANGE_TIMEOUT_MS, () => {
        assert.ok(!jbod.running, "still running");
        return Promise.resolve();
      });
      assert.match(jbod.logs(), /has failed/);
      await eventually("every partition led by brokers 3 and 4", CHANGE_TIMEOUT_MS, async () => {
        for (const p of await describe(cluster)) {
          assert.deepEqual([[3, 4].includes(p.leader), p.isr], [true, [3, 4]], `${p.partition}`);
        }
      });
    } finally {
      await cluster.stop();
    }
  },
});
