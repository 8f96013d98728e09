/**
 * Partition replication end to end (issue #9): 3 controller-only and 3 broker-only processes on
 * loopback (see `cluster_harness.ts`), librdkafka (python3-confluent-kafka) as the client.
 *
 * - The ISR shown by `topics --describe` shrinks when a broker is killed and grows back after it
 *   restarts (KIP-497 AlterPartition from the leader, fencing by the controller).
 * - RF=3, `min.insync.replicas=2`: an idempotent `acks=all` producer keeps producing while every
 *   broker in turn is killed with kill -9 and restarted, and one is paused with SIGSTOP/SIGCONT;
 *   afterwards every acknowledged record is present exactly once, the replicas' logs hold the same
 *   bytes, and a group's offsets committed before the kills are intact (`__consumer_offsets`
 *   replicated with `offsets.topic.replication.factor=3`).
 * - With 2 of 3 brokers down, `acks=all` is refused (NOT_ENOUGH_REPLICAS) and nothing is
 *   acknowledged or appended; with the brokers back, produce succeeds again.
 * - `acks=1` is acknowledged by the leader alone. Kafka's documented trade-off: such a record is
 *   lost if the leader dies before any follower fetched it (the new leader, elected from the ISR,
 *   never had it), so this only checks that acks=1 works and replicates afterwards.
 * - Bad follower fetches get Kafka's codes (NOT_LEADER_OR_FOLLOWER from a broker that is no
 *   replica, FENCED_LEADER_EPOCH for a stale epoch, OFFSET_OUT_OF_RANGE past the log end) and
 *   leave every log as it was.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hasPythonModule, REPO_ROOT, runMain } from "./harness.ts";
import { type ClusterNode, startCluster, type TestCluster } from "./cluster_harness.ts";
import { Admin, type PartitionDescription } from "../../net/client/admin.ts";
import { Producer } from "../../net/client/producer.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { FetchResponse } from "../../net/protocol/generated/fetch_response.ts";
import {
  createFetchPartition,
  createFetchTopic,
} from "../../net/protocol/generated/fetch_request.ts";
import { eventually, sleep } from "./waiting.ts";

const noPython = !hasPythonModule("confluent_kafka");
if (noPython) console.warn("replication_test: skipped (python3-confluent-kafka missing)");

const PYTHON_DIR = join(REPO_ROOT, "tests/integration/python");
/** Broker session timeout, in milliseconds (heartbeats every 500 ms): a dead broker is fenced. */
const SESSION_TIMEOUT_MS = 3_000;
/** `replica.lag.time.max.ms`: a follower that stopped fetching leaves the ISR after this. */
const REPLICA_LAG_TIME_MAX_MS = 3_000;
/** The longest any ISR change may take to show (a fence or shrink, a catch-up and expansion). */
const ISR_CHANGE_TIMEOUT_MS = 30_000;
/** How long one Python client may run before it is killed, in milliseconds. */
const PYTHON_TIMEOUT_MS = 120_000;
/** Records the durability step produces, and the seconds they are spread over. */
const DURABLE_RECORDS = 30_000;
const DURABLE_SPREAD_S = 40;

/** Runs `tests/integration/python/<script>` with /usr/bin/python3; throws when it fails. */
async function python(script: string, args: string[]): Promise<string> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [join(PYTHON_DIR, script), ...args],
    cwd: PYTHON_DIR,
    env: { PYTHONDONTWRITEBYTECODE: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, PYTHON_TIMEOUT_MS);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  if (output.code !== 0) {
    throw new Error(
      `${script} ${args.join(" ")} exited with ${output.code}:\n${
        decoder.decode(output.stderr).slice(-3000)
      }`,
    );
  }
  return stdout;
}

interface ProduceResult {
  /** Values acknowledged by the broker. */
  delivered: string[];
  /** Delivery errors, as librdkafka names them. */
  errors: string[];
  done: { delivered: number; failed: number; queued: number };
}

/** produce.py: COUNT records `m<i>` with the given producer config. */
async function produce(
  bootstrap: string,
  topic: string,
  count: number,
  config: Record<string, string>,
): Promise<ProduceResult> {
  const out = await python("produce.py", [
    bootstrap,
    topic,
    `${count}`,
    ...Object.entries(config).map(([k, v]) => `${k}=${v}`),
  ]);
  const result: ProduceResult = { delivered: [], errors: [], done: null! };
  for (const line of out.split("\n")) {
    if (line.trim() === "") continue;
    const event = JSON.parse(line);
    if (event.done) result.done = event;
    else if (event.err !== undefined) result.errors.push(event.err);
    else if (event.v !== undefined) result.delivered.push(event.v);
  }
  assert.ok(result.done !== null, `produce.py printed no summary:\n${out.slice(-2000)}`);
  return result;
}

/** consume_all.py: every record of every partition, from the log start to the high watermark. */
async function consumeAll(
  bootstrap: string,
  topic: string,
): Promise<{ p: number; o: number; v: string }[]> {
  return JSON.parse(await python("consume_all.py", [bootstrap, topic]));
}

/** Values that appear other than exactly once, as `value x count`. */
function notExactlyOnce(expected: readonly string[], seen: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
  return expected.filter((v) => counts.get(v) !== 1).map((v) => `${v} x ${counts.get(v) ?? 0}`);
}

function liveBootstrap(cluster: TestCluster): string {
  return cluster.brokers.filter((b) => b.running).map((b) => b.address).join(",");
}

async function withAdmin<T>(cluster: TestCluster, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({
    bootstrapServers: liveBootstrap(cluster),
    requestTimeoutMs: 5_000,
    connectTimeoutMs: 2_000,
    retries: 0,
  });
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

async function partitionsOf(cluster: TestCluster, topic: string): Promise<PartitionDescription[]> {
  const [described] = await withAdmin(cluster, (admin) => admin.describeTopics([topic]));
  return described!.partitions;
}

/** Waits until every partition of `topic` satisfies `ok` (bounded); returns them. */
function waitForPartitions(
  cluster: TestCluster,
  topic: string,
  what: string,
  ok: (p: PartitionDescription) => boolean,
): Promise<PartitionDescription[]> {
  return eventually(`${topic}: ${what}`, ISR_CHANGE_TIMEOUT_MS, async () => {
    const partitions = await partitionsOf(cluster, topic);
    const bad = partitions.filter((p) => !ok(p));
    assert.ok(partitions.length > 0, "no partitions described");
    assert.deepEqual(bad, [], `not yet: ${JSON.stringify(bad)}`);
    return partitions;
  });
}

const fullIsr = (p: PartitionDescription) => p.leader >= 0 && p.isr.length === p.replicas.length;

/** `topics --describe --topic` as a list of {partition, leader, isr} from its partition lines. */
async function describeCli(cluster: TestCluster, topic: string) {
  const r = await runMain([
    "topics",
    "--bootstrap-server",
    liveBootstrap(cluster),
    "--describe",
    "--topic",
    topic,
  ], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return [...r.stdout.matchAll(/Partition: (\d+)\tLeader: (-?\d+|none)\t.*Isr: ([\d,]*)/g)].map((
    m,
  ) => ({
    partition: Number(m[1]),
    leader: m[2] === "none" ? -1 : Number(m[2]),
    isr: m[3] === "" ? [] : m[3]!.split(",").map(Number).sort(),
  }));
}

/** The bytes of a replica's log of `topic-partition` (its segments in offset order). */
async function replicaLogBytes(node: ClusterNode, topic: string, partition: number) {
  const dir = join(node.dir, "logs", `${topic}-${partition}`);
  const segments: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".log")) segments.push(e.name);
  const parts = await Promise.all(segments.sort().map((s) => Deno.readFile(join(dir, s))));
  const bytes = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

/** The first byte position where `a` and `b` differ, or -1 (a short failure, not a huge diff). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

/** Waits until the three replicas of every partition of `topic` hold byte-identical logs. */
async function assertReplicasIdentical(cluster: TestCluster, topic: string, partitions: number) {
  for (let partition = 0; partition < partitions; partition++) {
    await eventually(`identical replicas of ${topic}-${partition}`, 20_000, async () => {
      const logs = await Promise.all(
        cluster.brokers.map((b) => replicaLogBytes(b, topic, partition)),
      );
      assert.ok(logs[0]!.length > 0, "empty log");
      logs.forEach((log, i) => {
        const at = firstDifference(log, logs[0]!);
        assert.equal(at, -1, `broker ${cluster.brokers[i]!.nodeId}'s log differs at byte ${at}`);
      });
    });
  }
}

function pause(node: ClusterNode, signal: "SIGSTOP" | "SIGCONT"): void {
  assert.ok(node.pid !== null, `broker ${node.nodeId} is not running`);
  Deno.kill(node.pid, signal);
}

Deno.test({
  name: "replicated partitions keep every acknowledged record through kills, pauses and outages",
  ignore: noPython,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await startCluster({
      controllers: 3,
      brokers: 3,
      props: {
        "broker.session.timeout.ms": `${SESSION_TIMEOUT_MS}`,
        "broker.heartbeat.interval.ms": "500",
        "controller.quorum.request.timeout.ms": "1000",
        "offsets.topic.replication.factor": "3",
        "replica.lag.time.max.ms": `${REPLICA_LAG_TIME_MAX_MS}`,
        "replica.fetch.backoff.ms": "200",
      },
    });
    const paused = new Set<ClusterNode>();
    // Each step builds on the cluster the one before left: stop at the first failure.
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`Step failed: ${name}`);
    };
    try {
      await cluster.waitForLeader();
      await withAdmin(cluster, (admin) =>
        admin.createTopics([
          {
            name: "durable",
            numPartitions: 3,
            replicationFactor: 3,
            configs: { "min.insync.replicas": "2" },
          },
          {
            name: "min-isr",
            numPartitions: 1,
            replicationFactor: 3,
            configs: { "min.insync.replicas": "2" },
          },
          { name: "acks-one", numPartitions: 1, replicationFactor: 3 },
        ]));
      await waitForPartitions(cluster, "durable", "full ISR", fullIsr);

      await step(
        "topics --describe shows the ISR shrink after a kill and grow back",
        async () => {
          const victim = cluster.brokers[2]!;
          await victim.kill();
          const shrunk = await eventually("the ISR without the killed broker", 20_000, async () => {
            const parts = await describeCli(cluster, "durable");
            assert.equal(parts.length, 3);
            for (const p of parts) {
              assert.ok(!p.isr.includes(victim.nodeId), `partition ${p.partition}: ${p.isr}`);
            }
            return parts;
          });
          for (const p of shrunk) assert.equal(p.isr.length, 2);
          await victim.start();
          await eventually("the ISR with the restarted broker", ISR_CHANGE_TIMEOUT_MS, async () => {
            const parts = await describeCli(cluster, "durable");
            for (const p of parts) assert.deepEqual(p.isr, [4, 5, 6], `partition ${p.partition}`);
          });
        },
      );

      await step(
        "acks=all with idempotence loses and duplicates nothing through rolling kill -9 and SIGSTOP",
        async () => {
          // Offsets committed before the kills must survive them (__consumer_offsets has RF=3).
          await python("group_offsets.py", [
            cluster.bootstrapServers,
            "survivors",
            "commit",
            "durable",
            "0:11,1:22,2:33",
          ]);
          await waitForPartitions(cluster, "__consumer_offsets", "full ISR", fullIsr);
          const producing = produce(cluster.bootstrapServers, "durable", DURABLE_RECORDS, {
            "acks": "all",
            "enable.idempotence": "true",
            "linger.ms": "5",
            "message.timeout.ms": "90000",
            "request.timeout.ms": "10000",
            "test.spread.s": `${DURABLE_SPREAD_S}`,
          });
          let producerDone = false;
          producing.finally(() => producerDone = true).catch(() => {});
          await sleep(3_000);
          for (const broker of cluster.brokers) {
            await broker.kill();
            await sleep(1_000);
            await broker.start();
            // Kafka's rolling restart rule: the next broker goes only once the ISR is whole again.
            await waitForPartitions(cluster, "durable", "full ISR", fullIsr);
            await waitForPartitions(cluster, "__consumer_offsets", "full ISR", fullIsr);
          }
          const [first] = await partitionsOf(cluster, "durable");
          const sleeper = cluster.node(first!.leader);
          pause(sleeper, "SIGSTOP");
          paused.add(sleeper);
          await sleep(SESSION_TIMEOUT_MS + 2_000);
          pause(sleeper, "SIGCONT");
          paused.delete(sleeper);
          await waitForPartitions(cluster, "durable", "full ISR", fullIsr);
          assert.ok(!producerDone, "the producer finished before the kills ended: spread it more");

          const result = await producing;
          assert.deepEqual(result.errors.slice(0, 5), [], "every record was acknowledged");
          assert.equal(result.done.delivered, DURABLE_RECORDS);
          const seen = (await consumeAll(cluster.bootstrapServers, "durable")).map((r) => r.v);
          assert.deepEqual(notExactlyOnce(result.delivered, seen).slice(0, 10), []);
          assert.equal(seen.length, DURABLE_RECORDS, "no record beyond the acknowledged ones");
          await assertReplicasIdentical(cluster, "durable", 3);

          const committed = JSON.parse(
            await python("group_offsets.py", [
              cluster.bootstrapServers,
              "survivors",
              "committed",
              "durable",
              "3",
            ]),
          );
          assert.deepEqual(committed, { "0": 11, "1": 22, "2": 33 });
        },
      );

      await step(
        "with 2 of 3 brokers down acks=all is refused and nothing is acknowledged",
        async () => {
          await waitForPartitions(cluster, "min-isr", "full ISR", fullIsr);
          const [before] = await partitionsOf(cluster, "min-isr");
          // The leader goes down too: the controller elects the survivor from the ISR.
          const survivor = cluster.brokers.find((b) => b.nodeId !== before!.leader)!;
          const downed = cluster.brokers.filter((b) => b !== survivor);
          await Promise.all(downed.map((b) => b.kill()));
          await waitForPartitions(
            cluster,
            "min-isr",
            `ISR [${survivor.nodeId}]`,
            (p) => p.leader === survivor.nodeId && p.isr.length === 1,
          );

          const producer = new Producer({
            bootstrapServers: survivor.address,
            acks: -1,
            retries: 0,
            requestTimeoutMs: 5_000,
          });
          try {
            await assert.rejects(
              () => producer.send({ topic: "min-isr", partition: 0, value: "refused" }),
              (error: Error) => {
                assert.ok(error instanceof KafkaError, `${error.name}: ${error.message}`);
                assert.equal(error.code, ErrorCode.NOT_ENOUGH_REPLICAS, error.message);
                return true;
              },
            );
          } finally {
            await producer.close();
          }
          const refused = await produce(survivor.address, "min-isr", 50, {
            "acks": "all",
            "message.timeout.ms": "5000",
          });
          assert.equal(refused.done.delivered, 0, "nothing acknowledged without min.insync");
          assert.equal(refused.done.failed, 50);

          await Promise.all(downed.map((b) => b.start()));
          await waitForPartitions(cluster, "min-isr", "full ISR", fullIsr);
          const accepted = await produce(cluster.bootstrapServers, "min-isr", 50, {
            "acks": "all",
          });
          assert.equal(accepted.done.delivered, 50);
          const seen = (await consumeAll(cluster.bootstrapServers, "min-isr")).map((r) => r.v);
          // Exactly the 50 accepted: none of the refused attempts was appended.
          assert.deepEqual(seen.sort(), accepted.delivered.sort());
        },
      );

      await step("acks=1 is acknowledged by the leader and replicates after", async () => {
        const result = await produce(cluster.bootstrapServers, "acks-one", 200, {
          "acks": "1",
          "enable.idempotence": "false",
        });
        assert.equal(result.done.delivered, 200);
        const seen = (await consumeAll(cluster.bootstrapServers, "acks-one")).map((r) => r.v);
        assert.deepEqual(notExactlyOnce(result.delivered, seen), []);
        await assertReplicasIdentical(cluster, "acks-one", 1);
      });

      await step(
        "bad follower fetches get Kafka's error codes and corrupt no log",
        async () => {
          const meta = await withAdmin(
            cluster,
            (admin) => admin.cluster.refreshMetadata(["durable"]),
          );
          const topicMeta = meta.topics.find((x) => x.name === "durable")!;
          const p0 = topicMeta.partitions.find((p) => p.partitionIndex === 0)!;
          assert.ok(p0.leaderEpoch >= 1, `leader epoch ${p0.leaderEpoch} moved with the kills`);
          const follower = p0.replicaNodes.find((id) => id !== p0.leaderId)!;
          const leader = cluster.node(p0.leaderId);
          const before = await consumeAll(cluster.bootstrapServers, "durable");
          const conn = await KafkaConnection.connect("127.0.0.1", leader.port, {
            clientId: "not-a-broker",
            requestTimeoutMs: 5_000,
          });
          try {
            const version = conn.versionFor(ApiKey.FETCH, 17);
            assert.ok(version >= 15, `Fetch v${version}`);
            const fetch = async (
              replicaId: number,
              partition: {
                currentLeaderEpoch: number;
                fetchOffset: bigint;
                lastFetchedEpoch?: number;
              },
            ) => {
              const res = await conn.send<FetchResponse>(ApiKey.FETCH, {
                replicaId: -1,
                replicaState: { replicaId, replicaEpoch: 1n, _unknownTaggedFields: [] },
                maxWaitMs: 0,
                minBytes: 1,
                maxBytes: 1024 * 1024,
                topics: [createFetchTopic({
                  topicId: topicMeta.topicId,
                  partitions: [createFetchPartition({
                    partition: 0,
                    partitionMaxBytes: 65536,
                    ...partition,
                  })],
                })],
              }, { version });
              assert.equal(res.errorCode, ErrorCode.NONE);
              return res.responses[0]!.partitions[0]!.errorCode;
            };
            const current = { currentLeaderEpoch: p0.leaderEpoch, fetchOffset: 0n };
            // Kafka's Partition.fetchRecords: a replica id outside the assignment.
            assert.equal(await fetch(42, current), ErrorCode.NOT_LEADER_OR_FOLLOWER);
            assert.equal(await fetch(leader.nodeId, current), ErrorCode.NOT_LEADER_OR_FOLLOWER);
            // ... checked before the read, so no diverging epoch is answered to it either.
            assert.equal(
              await fetch(42, { ...current, fetchOffset: 1_000_000_000n, lastFetchedEpoch: 0 }),
              ErrorCode.NOT_LEADER_OR_FOLLOWER,
            );
            // KIP-320: an epoch older than the leader's.
            assert.equal(
              await fetch(follower, { ...current, currentLeaderEpoch: p0.leaderEpoch - 1 }),
              ErrorCode.FENCED_LEADER_EPOCH,
            );
            assert.equal(
              await fetch(follower, { ...current, fetchOffset: 1_000_000_000n }),
              ErrorCode.OFFSET_OUT_OF_RANGE,
            );
            assert.equal(
              await fetch(-1, { ...current, fetchOffset: 1_000_000_000n }),
              ErrorCode.OFFSET_OUT_OF_RANGE,
            );
          } finally {
            conn.close();
          }
          // Partitions interleave differently from one read to the next: compare in log order.
          const byPosition = (records: { p: number; o: number; v: string }[]) =>
            records.map((r) => `${r.p}:${r.o}:${r.v}`).sort();
          const after = byPosition(await consumeAll(cluster.bootstrapServers, "durable"));
          const expected = byPosition(before);
          assert.equal(after.length, expected.length, "records read before and after");
          const changed = after.filter((r, i) => r !== expected[i]);
          assert.deepEqual(changed.slice(0, 5), [], "records changed by the bad fetches");
          await waitForPartitions(cluster, "durable", "full ISR", fullIsr);
          await assertReplicasIdentical(cluster, "durable", 3);
        },
      );
    } catch (error) {
      for (const n of cluster.nodes) {
        console.error(`---- ${n.role} ${n.nodeId} ----\n${n.logs().slice(-4000)}`);
      }
      throw error;
    } finally {
      for (const n of paused) {
        try {
          pause(n, "SIGCONT");
        } catch { /* exited */ }
      }
      await cluster.stop();
    }
  },
});
