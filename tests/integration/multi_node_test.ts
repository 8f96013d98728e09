/**
 * Metadata behaviour of a real multi-process cluster: 3 controller-only and 3 broker-only
 * processes on loopback (see `cluster_harness.ts`). Data replication has its own suite
 * (`replication_test.ts`); this checks what the controllers decide: failover under CreateTopics load with
 * no acknowledged topic lost (KIP-595), fencing of a dead broker after its session times out and
 * leadership moving to another ISR member (KIP-631), re-registration, and a quorum without a
 * majority refusing metadata writes while brokers keep serving Metadata and Produce. Also runs
 * `metadata-quorum describe --status` and `dump-log --cluster-metadata-decoder` against it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "./harness.ts";
import { startCluster, type TestCluster } from "./cluster_harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { Producer } from "../../net/client/producer.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { eventually, sleep } from "./waiting.ts";

/** Session timeout given to brokers, in milliseconds (heartbeats every 500 ms). */
const SESSION_TIMEOUT_MS = 3_000;

/** An admin client over the running brokers, with short timeouts and no retries of its own. */
function adminOf(cluster: TestCluster, requestTimeoutMs = 8_000): Admin {
  const live = cluster.brokers.filter((b) => b.running).map((b) => b.address).join(",");
  return new Admin({
    bootstrapServers: live,
    requestTimeoutMs,
    connectTimeoutMs: 2_000,
    retries: 0,
  });
}

async function withAdmin<T>(cluster: TestCluster, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = adminOf(cluster);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/** Creates `name`, counting TOPIC_ALREADY_EXISTS on a retry as success (the first try committed). */
async function createAcknowledged(admin: Admin, name: string, retried: boolean): Promise<void> {
  try {
    await admin.createTopics([{ name, numPartitions: 1, replicationFactor: 1 }], {
      timeoutMs: 5_000,
    });
  } catch (error) {
    if (retried && error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS) {
      return;
    }
    throw error;
  }
}

Deno.test({
  name:
    "a 3-controller 3-broker cluster fails over, fences and re-admits brokers, and refuses writes without a quorum",
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
      },
    });
    try {
      const firstLeader = await cluster.waitForLeader();

      await t.step("metadata-quorum describe --status names the leader and 3 voters", async () => {
        const status = await eventually("describe --status", 20_000, async () => {
          const r = await runMain([
            "metadata-quorum",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "describe",
            "--status",
          ]);
          assert.equal(r.code, 0, r.stderr);
          return r.stdout;
        });
        assert.match(status, new RegExp(`^ClusterId:\\s+${cluster.clusterId}$`, "m"));
        assert.match(status, new RegExp(`^LeaderId:\\s+${firstLeader}$`, "m"));
        const voters = /^CurrentVoters:\s+(.*)$/m.exec(status)?.[1] ?? "";
        assert.deepEqual([...voters.matchAll(/"id": (\d+)/g)].map((m) => Number(m[1])), [1, 2, 3]);
      });

      await t.step("a topic with RF=3 spreads its replicas over the three brokers", async () => {
        await withAdmin(cluster, async (admin) => {
          await admin.createTopics([
            { name: "replicated", numPartitions: 3, replicationFactor: 3 },
            { name: "solo", numPartitions: 1, replicationFactor: 1 },
          ]);
          const [topic] = await eventually(
            "describing replicated",
            10_000,
            () => admin.describeTopics(["replicated"]),
          );
          for (const p of topic!.partitions) {
            assert.deepEqual([...p.replicas].sort(), [4, 5, 6]);
            assert.ok(p.replicas.includes(p.leader));
          }
        });
      });

      await t.step(
        "kill -9 of the active controller under CreateTopics loses no acknowledged topic",
        async () => {
          const acknowledged: string[] = [];
          const admin = adminOf(cluster);
          let killed = false;
          try {
            const deadline = Date.now() + 40_000;
            for (let i = 0; acknowledged.length < 12 && Date.now() < deadline; i++) {
              const name = `load-${i}`;
              let retried = false;
              while (Date.now() < deadline) {
                try {
                  await createAcknowledged(admin, name, retried);
                  acknowledged.push(name);
                  break;
                } catch {
                  retried = true;
                  await sleep(200);
                }
              }
              if (acknowledged.length === 4 && !killed) {
                killed = true;
                await cluster.node(firstLeader).kill();
              }
            }
          } finally {
            admin.close();
          }
          assert.ok(killed, "the leader was killed mid-load");
          assert.equal(acknowledged.length, 12, `acknowledged only ${acknowledged}`);
          const second = await cluster.waitForLeader({ not: firstLeader });
          assert.notEqual(second, firstLeader);
          await eventually(
            "every acknowledged topic listed",
            15_000,
            () =>
              withAdmin(cluster, async (admin) => {
                const names = new Set(await admin.listTopics());
                const missing = acknowledged.filter((n) => !names.has(n));
                assert.deepEqual(missing, []);
              }),
          );
          await cluster.node(firstLeader).start();
        },
      );

      await t.step(
        "a killed broker is fenced after its session and its leaderships move",
        async () => {
          const before = (await withAdmin(cluster, (a) => a.describeTopics(["replicated"])))[0]!;
          const victimId = before.partitions[0]!.leader;
          const victim = cluster.node(victimId);
          const killedAt = Date.now();
          await victim.kill();
          const after = await eventually(
            "fencing of the killed broker",
            SESSION_TIMEOUT_MS + 15_000,
            () =>
              withAdmin(cluster, async (admin) => {
                const m = await admin.cluster.refreshMetadata(["replicated"]);
                assert.ok(!m.brokers.some((b) => b.nodeId === victimId), "still listed");
                const [topic] = await admin.describeTopics(["replicated"]);
                for (const p of topic!.partitions) {
                  assert.notEqual(p.leader, victimId);
                }
                return topic!;
              }),
          );
          assert.ok(
            Date.now() - killedAt >= SESSION_TIMEOUT_MS - 1_000,
            "fenced before the timeout",
          );
          for (const p of after.partitions) {
            const was = before.partitions.find((x) => x.partition === p.partition)!;
            const candidates = was.isr.filter((r) => r !== victimId);
            if (candidates.length > 0) {
              assert.ok(candidates.includes(p.leader), `partition ${p.partition}`);
            }
          }
          // Restarting re-registers it; start() resolves once the controller unfenced it.
          await victim.start();
          await eventually(
            "the restarted broker listed again",
            15_000,
            () =>
              withAdmin(cluster, async (admin) => {
                const m = await admin.cluster.refreshMetadata([]);
                assert.ok(m.brokers.some((b) => b.nodeId === victimId));
              }),
          );
        },
      );

      await t.step(
        "without a controller majority CreateTopics fails but brokers still serve",
        async () => {
          const leader = await cluster.waitForLeader();
          const stopped = [leader, ...[1, 2, 3].filter((id) => id !== leader)].slice(0, 2);
          await Promise.all(stopped.map((id) => cluster.node(id).stop()));
          const startedAt = Date.now();
          await withAdmin(cluster, async (admin) => {
            await assert.rejects(
              () =>
                admin.createTopics([{ name: "no-quorum", numPartitions: 1 }], { timeoutMs: 3_000 }),
              (error: Error) => {
                // The broker answers (it is up); the controller side times out or has no leader.
                assert.ok(error instanceof KafkaError, `${error.name}: ${error.message}`);
                return true;
              },
            );
          });
          assert.ok(Date.now() - startedAt < 20_000, "the failure is bounded");
          const producer = new Producer({
            bootstrapServers: cluster.bootstrapServers,
            acks: 1,
            requestTimeoutMs: 5_000,
            retries: 2,
          });
          try {
            const names = await withAdmin(cluster, (admin) => admin.listTopics());
            assert.ok(names.includes("solo") && names.includes("load-0"));
            const sent = await producer.send({ topic: "solo", partition: 0, value: "still here" });
            assert.ok(sent.offset >= 0);
          } finally {
            await producer.close();
          }
          await cluster.node(stopped[1]!).start();
          await eventually(
            "CreateTopics after a majority is back",
            30_000,
            () => withAdmin(cluster, (admin) => createAcknowledged(admin, "after-quorum", true)),
          );
          await cluster.node(stopped[0]!).start();
        },
      );

      await t.step(
        "dump-log --cluster-metadata-decoder prints the controller's TOPIC_RECORDs",
        async () => {
          const segment = join(
            cluster.node(1).metadataLogDir,
            "__cluster_metadata-0",
            "00000000000000000000.log",
          );
          const r = await runMain(["dump-log", "--cluster-metadata-decoder", "--files", segment]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /^Log starting offset: 0$/m);
          assert.match(r.stdout, /"type":"TOPIC_RECORD","version":0,"data":\{"name":"replicated"/);
          assert.match(r.stdout, / LeaderChange: \{"version":0,"leaderId":\d/);
        },
      );
    } catch (error) {
      for (const n of cluster.nodes) {
        console.error(`---- ${n.role} ${n.nodeId} ----\n${n.logs().slice(-3000)}`);
      }
      throw error;
    } finally {
      await cluster.stop();
    }
  },
});
