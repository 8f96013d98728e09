/**
 * Leader election and reassignment decided by real controller and broker processes (1 controller,
 * 2-3 brokers on loopback). Through metadata: a dead broker's partitions move only to ISR members
 * and otherwise go offline (leader -1); `unclean.leader.election.enable` on a topic lets a returning
 * out-of-sync replica lead (on unfencing, or by the periodic check once the config is altered); the
 * `leader-election` subcommand (ElectLeaders forwarded by a broker to the controller) answers
 * Kafka's per-partition errors and elects uncleanly on request; `topics --describe` reports
 * unavailable and under-replicated partitions and Metadata lists offline replicas. With follower
 * replication: a preferred replica back in the ISR regains leadership by `leader-election` or the
 * auto leader rebalance, SIGTERM moves leadership before exit (KIP-841), and `reassign-partitions`
 * moves a replica with its records (KIP-455), lists, verifies and cancels moves.
 */

import assert from "node:assert/strict";
import { runMain } from "./harness.ts";
import { startCluster, type TestCluster } from "./cluster_harness.ts";
import { Admin, type PartitionDescription, ResourceType } from "../../net/client/admin.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import {
  createCreatableReplicaAssignment,
  createCreatableTopic,
  createCreatableTopicConfig,
} from "../../net/protocol/generated/create_topics_request.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { eventually, sleep } from "./waiting.ts";

/** Session timeout given to brokers, in milliseconds (heartbeats every 500 ms). */
const SESSION_TIMEOUT_MS = 3_000;

async function withAdmin<T>(cluster: TestCluster, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const live = cluster.brokers.filter((b) => b.running).map((b) => b.address).join(",");
  const admin = new Admin({
    bootstrapServers: live,
    requestTimeoutMs: 8_000,
    connectTimeoutMs: 2_000,
    retries: 0,
  });
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/** Creates a topic with explicit replica lists (CreateTopics assignments). */
async function createAssigned(
  cluster: TestCluster,
  name: string,
  replicas: number[][],
  configs: Record<string, string> = {},
): Promise<void> {
  await withAdmin(cluster, async (admin) => {
    const conn = await admin.cluster.anyConnection();
    const response = await conn.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
      topics: [createCreatableTopic({
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: replicas.map((brokerIds, partitionIndex) =>
          createCreatableReplicaAssignment({ partitionIndex, brokerIds })
        ),
        configs: Object.entries(configs).map(([n, value]) =>
          createCreatableTopicConfig({ name: n, value })
        ),
      })],
      timeoutMs: 10_000,
      validateOnly: false,
    }, { version: conn.versionFor(ApiKey.CREATE_TOPICS, 7) });
    assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE, response.topics[0]!.errorMessage!);
  });
}

/** Partition 0 of each topic, as Metadata reports it now. */
async function partitionsNow(
  cluster: TestCluster,
  topics: string[],
): Promise<Record<string, PartitionDescription>> {
  return await withAdmin(cluster, async (admin) => {
    const described = await admin.describeTopics(topics);
    return Object.fromEntries(described.map((t) => [t.name, t.partitions[0]!]));
  });
}

/** Waits until partition 0 of every named topic has the expected leader and ISR. */
async function expectPartitions(
  cluster: TestCluster,
  what: string,
  expected: Record<string, { leader: number; isr: number[] }>,
): Promise<Record<string, PartitionDescription>> {
  return await eventually(what, SESSION_TIMEOUT_MS + 20_000, async () => {
    const now = await partitionsNow(cluster, Object.keys(expected));
    for (const [topic, want] of Object.entries(expected)) {
      assert.deepEqual({ leader: now[topic]!.leader, isr: now[topic]!.isr }, want, topic);
    }
    return now;
  });
}

function leaderElection(cluster: TestCluster, ...args: string[]) {
  return runMain(["leader-election", "--bootstrap-server", cluster.bootstrapServers, ...args]);
}

Deno.test({
  name:
    "partitions fail over only to in-sync replicas, go offline otherwise, and elect uncleanly only when allowed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 3,
      props: {
        "broker.session.timeout.ms": `${SESSION_TIMEOUT_MS}`,
        "broker.heartbeat.interval.ms": "500",
        "default.replication.factor": "1",
      },
      // No automatic rebalance during the test: every move below is one the test caused.
      controllerProps: {
        "auto.leader.rebalance.enable": "false",
        "unclean.leader.election.interval.ms": "1000",
      },
    });
    const [a, b] = cluster.brokers.map((n) => n.nodeId) as [number, number, number];
    try {
      await t.step("topics are created with broker a as the preferred leader", async () => {
        await createAssigned(cluster, "solo", [[a]]);
        await createAssigned(cluster, "clean", [[a, b]]);
        await createAssigned(cluster, "later", [[a, b]]);
        await createAssigned(cluster, "unclean", [[a, b]], {
          "unclean.leader.election.enable": "true",
        });
        await expectPartitions(cluster, "topics led by a", {
          solo: { leader: a, isr: [a] },
          clean: { leader: a, isr: [a, b] },
          unclean: { leader: a, isr: [a, b] },
        });
      });

      await t.step(
        "a dead leader's partitions move to the other ISR member or go offline",
        async () => {
          await cluster.node(a).kill();
          const now = await expectPartitions(cluster, "fencing of a", {
            solo: { leader: -1, isr: [a] },
            clean: { leader: b, isr: [b] },
            later: { leader: b, isr: [b] },
            unclean: { leader: b, isr: [b] },
          });
          assert.deepEqual(now.clean!.offline, [a]); // Metadata's offline replicas
          const unavailable = await runMain([
            "topics",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "--describe",
            "--unavailable-partitions",
          ]);
          assert.equal(unavailable.code, 0, unavailable.stderr);
          assert.match(unavailable.stdout, /^\tTopic: solo\tPartition: 0\tLeader: none\t/m);
          assert.doesNotMatch(unavailable.stdout, /Topic: (clean|unclean)/);
          const underReplicated = await runMain([
            "topics",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "--describe",
            "--under-replicated-partitions",
          ]);
          assert.equal(underReplicated.code, 0, underReplicated.stderr);
          const listed = [...underReplicated.stdout.matchAll(/^\tTopic: (\S+)\t/gm)].map((m) =>
            m[1]
          );
          assert.deepEqual(listed.sort(), ["clean", "later", "unclean"]);
        },
      );

      await t.step(
        "leader-election reports Kafka's errors when no leader can be elected",
        async () => {
          const unclean = await leaderElection(
            cluster,
            "--election-type",
            "unclean",
            "--topic",
            "solo",
            "--partition",
            "0",
          );
          assert.equal(unclean.code, 1);
          assert.match(
            unclean.stdout,
            /^Error completing leader election \(UNCLEAN\) for partition: solo-0: org\.apache\.kafka\.common\.errors\.EligibleLeadersNotAvailableException: /m,
          );
          assert.match(unclean.stderr, /1 replica\(s\) could not be elected/);
          const preferred = await leaderElection(
            cluster,
            "--election-type",
            "preferred",
            "--topic",
            "clean",
            "--partition",
            "0",
          );
          assert.equal(preferred.code, 1);
          assert.match(preferred.stdout, /PreferredLeaderNotAvailableException/);
          const notNeeded = await leaderElection(
            cluster,
            "--election-type",
            "unclean",
            "--topic",
            "clean",
            "--partition",
            "0",
          );
          assert.equal(notNeeded.code, 0, notNeeded.stderr);
          assert.equal(
            notNeeded.stdout.trim(),
            "Valid replica already elected for partitions clean-0",
          );
          const unknown = await leaderElection(
            cluster,
            "--election-type",
            "preferred",
            "--topic",
            "nope",
            "--partition",
            "0",
          );
          assert.equal(unknown.code, 1);
          assert.match(unknown.stdout, /UnknownTopicOrPartitionException/);
        },
      );

      await t.step(
        "with the last ISR member dead too, both replicated partitions go offline",
        async () => {
          await cluster.node(b).kill();
          await expectPartitions(cluster, "fencing of b", {
            clean: { leader: -1, isr: [b] },
            later: { leader: -1, isr: [b] },
            unclean: { leader: -1, isr: [b] },
          });
        },
      );

      await t.step(
        "the out-of-sync replica returns: it leads only the topic that allows unclean election",
        async () => {
          await cluster.node(a).start();
          await expectPartitions(cluster, "unfencing of a", {
            solo: { leader: a, isr: [a] }, // a was its ISR: a clean election
            unclean: { leader: a, isr: [a] },
            clean: { leader: -1, isr: [b] },
          });
          // The periodic unclean election (every second here) leaves topics that forbid it alone.
          await sleep(2_000);
          const now = await partitionsNow(cluster, ["clean", "later"]);
          assert.deepEqual([now.clean!.leader, now.later!.leader], [-1, -1]);
        },
      );

      await t.step(
        "allowing unclean election on an offline topic elects within unclean.leader.election.interval.ms",
        async () => {
          const r = await runMain([
            "configs",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "later",
            "--add-config",
            "unclean.leader.election.enable=true",
          ]);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          await expectPartitions(cluster, "the periodic unclean election", {
            later: { leader: a, isr: [a] },
          });
          assert.equal((await partitionsNow(cluster, ["clean"])).clean!.leader, -1);
        },
      );

      await t.step("leader-election --election-type unclean elects it on request", async () => {
        const r = await leaderElection(
          cluster,
          "--election-type",
          "unclean",
          "--all-topic-partitions",
        );
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          /^Successfully completed leader election \(UNCLEAN\) for partitions clean-0$/m,
        );
        await expectPartitions(cluster, "unclean election of clean-0", {
          clean: { leader: a, isr: [a] },
        });
      });
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "reassign-partitions starts, lists, verifies and cancels moves; reorders and removals complete at once",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 3,
      props: {
        "broker.session.timeout.ms": `${SESSION_TIMEOUT_MS}`,
        "broker.heartbeat.interval.ms": "500",
      },
      controllerProps: { "auto.leader.rebalance.enable": "false" },
    });
    const [a, b, c] = cluster.brokers.map((n) => n.nodeId) as [number, number, number];
    const dir = await Deno.makeTempDir();
    const reassign = async (...args: string[]) =>
      await runMain([
        "reassign-partitions",
        "--bootstrap-server",
        cluster.bootstrapServers,
        ...args,
      ]);
    const file = async (fileName: string, parts: { topic: string; replicas: number[] }[]) => {
      const path = `${dir}/${fileName}`;
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          version: 1,
          partitions: parts.map((p) => ({ ...p, partition: 0 })),
        }),
      );
      return path;
    };
    try {
      await createAssigned(cluster, "order", [[a, b]]);
      await createAssigned(cluster, "shrink", [[a, b, c]]);
      await createAssigned(cluster, "move", [[a]]);

      await t.step("--generate proposes a placement on the listed brokers only", async () => {
        const topicsPath = `${dir}/topics.json`;
        await Deno.writeTextFile(topicsPath, '{"topics":[{"topic":"order"}],"version":1}');
        const r = await reassign(
          "--generate",
          "--topics-to-move-json-file",
          topicsPath,
          "--broker-list",
          `${b},${c}`,
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const [, current, proposed] =
          /^Current partition replica assignment\n(.*)\n\nProposed partition reassignment configuration\n(.*)$/
            .exec(r.stdout.trim()) ?? [];
        assert.deepEqual(JSON.parse(current!).partitions, [
          { topic: "order", partition: 0, replicas: [a, b], log_dirs: ["any", "any"] },
        ]);
        const [only] = JSON.parse(proposed!).partitions;
        assert.deepEqual([...only.replicas].sort(), [b, c].sort());
      });

      await t.step("a reorder and a removal of in-sync replicas complete at once", async () => {
        const path = await file("now.json", [
          { topic: "order", replicas: [b, a] },
          { topic: "shrink", replicas: [a, b] },
        ]);
        const r = await reassign("--execute", "--reassignment-json-file", path);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(
          r.stdout,
          new RegExp(
            `^Current partition replica assignment\\n\\n\\{"version":1,"partitions":\\[\\{"topic":"order","partition":0,"replicas":\\[${a},${b}\\]`,
          ),
        );
        assert.match(
          r.stdout,
          /Successfully started partition reassignments for order-0,shrink-0$/m,
        );
        const now = await eventually("completion", 10_000, async () => {
          const p = await partitionsNow(cluster, ["order", "shrink"]);
          assert.deepEqual(p.shrink!.replicas, [a, b]);
          return p;
        });
        assert.deepEqual(now.order!.replicas, [b, a]);
        const verify = await reassign("--verify", "--reassignment-json-file", path);
        assert.equal(verify.code, 0, verify.stderr);
        assert.equal(
          verify.stdout.trim(),
          [
            "Status of partition reassignment:",
            "Reassignment of partition order-0 is completed.",
            "Reassignment of partition shrink-0 is completed.",
            `Clearing broker-level throttles on brokers ${a},${b},${c}`,
            "Clearing topic-level throttles on topics order,shrink",
          ].join("\n"),
        );
      });

      await t.step(
        "a moved replica catches up before the old one is dropped, and holds every record",
        async () => {
          await createAssigned(cluster, "data", [[a]]);
          const lines = Array.from({ length: 50 }, (_, i) => `record-${i}`);
          const produced = await runMain([
            "console-producer",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "--topic",
            "data",
            "--request-required-acks",
            "all",
          ], { stdin: lines.join("\n") + "\n" });
          assert.equal(produced.code, 0, produced.stderr);
          const path = await file("data.json", [{ topic: "data", replicas: [b] }]);
          const r = await reassign("--execute", "--reassignment-json-file", path);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          // KIP-455: b joins the ISR once caught up; only then is a dropped and b leads.
          const now = await expectPartitions(cluster, "the move to b", {
            data: { leader: b, isr: [b] },
          });
          assert.deepEqual(now.data!.replicas, [b]);
          const verify = await reassign("--verify", "--reassignment-json-file", path);
          assert.match(verify.stdout, /^Reassignment of partition data-0 is completed\.$/m);
          const consumed = await runMain([
            "console-consumer",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "--topic",
            "data",
            "--from-beginning",
            "--max-messages",
            "50",
            "--timeout-ms",
            "20000",
          ]);
          assert.equal(consumed.code, 0, consumed.stderr);
          assert.deepEqual(consumed.stdout.trim().split("\n"), lines);
        },
      );

      await t.step(
        "a move to a broker that is down stays in progress until cancelled",
        async () => {
          await cluster.node(c).kill();
          await eventually("fencing of c", SESSION_TIMEOUT_MS + 15_000, async () => {
            const brokers = await withAdmin(
              cluster,
              async (admin) => await admin.describeCluster(),
            );
            assert.ok(
              !brokers.brokers.some((x) => x.nodeId === c),
            );
          });
          const path = await file("move.json", [{ topic: "move", replicas: [c] }]);
          const started = await reassign("--execute", "--reassignment-json-file", path);
          // The tool checks live brokers (DescribeCluster) as Kafka's does ...
          assert.equal(started.code, 1);
          assert.match(started.stdout, new RegExp(`Unknown broker id ${c}`));
          // ... the controller only registered ones: start the move with the Admin API instead.
          const outcomes = await withAdmin(
            cluster,
            (admin) =>
              admin.alterPartitionReassignments([{ topic: "move", partition: 0, replicas: [c] }]),
          );
          assert.deepEqual(outcomes.map((o) => o.error), [undefined]);
          const listed = await reassign("--list");
          assert.equal(listed.code, 0, listed.stderr);
          assert.equal(
            listed.stdout.trim(),
            `Current partition reassignments:\nmove-0: replicas: ${c},${a}. adding: ${c}. removing: ${a}.`,
          );
          const described = await runMain([
            "topics",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "--describe",
            "--topic",
            "move",
          ]);
          assert.equal(described.code, 0, described.stderr);
          assert.match(described.stdout, /\tReplicationFactor: 1\t/);
          assert.match(
            described.stdout,
            new RegExp(
              `\\tReplicas: ${c},${a}\\tIsr: ${a}\\tAdding Replicas: ${c}\\tRemoving Replicas: ${a}\\t`,
            ),
          );
          const again = await reassign("--execute", "--reassignment-json-file", path);
          assert.equal(again.code, 1);
          assert.match(
            again.stdout,
            /^Cannot execute because there is an existing partition assignment\./m,
          );
          const verify = await reassign("--verify", "--reassignment-json-file", path);
          assert.equal(verify.code, 0, verify.stderr);
          assert.match(verify.stdout, /^Reassignment of partition move-0 is still in progress\.$/m);
          assert.doesNotMatch(verify.stdout, /Clearing/);
          const cancel = await reassign("--cancel", "--reassignment-json-file", path);
          assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
          assert.match(
            cancel.stdout,
            /^Successfully cancelled partition reassignment for: move-0$/m,
          );
          const after = await partitionsNow(cluster, ["move"]);
          assert.deepEqual([after.move!.replicas, after.move!.leader], [[a], a]);
          const listedAfter = await reassign("--list");
          assert.equal(listedAfter.stdout.trim(), "No partition reassignments found.");
          const verifyAfter = await reassign("--verify", "--reassignment-json-file", path);
          assert.match(
            verifyAfter.stdout,
            new RegExp(
              `There is no active reassignment of partition move-0, but replica set is ${a} rather than ${c}\\.`,
            ),
          );
        },
      );
    } finally {
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Kills broker `a`, waits for it to leave the ISR, restarts it and waits until it is back in. */
async function bounceOutOfLeadership(cluster: TestCluster, a: number, b: number): Promise<void> {
  await cluster.node(a).kill();
  await expectPartitions(cluster, "failover to b", { p: { leader: b, isr: [b] } });
  await cluster.node(a).start();
  // The leader lets a back into the ISR once its follower has caught up (AlterPartition).
  await eventually("a back in the ISR", 30_000, async () => {
    const now = await partitionsNow(cluster, ["p"]);
    assert.deepEqual([...now.p!.isr].sort(), [a, b].sort());
  });
}

Deno.test({
  name:
    "leader-election --election-type preferred moves leadership back to the in-sync preferred replica",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      props: {
        "broker.session.timeout.ms": `${SESSION_TIMEOUT_MS}`,
        "broker.heartbeat.interval.ms": "500",
      },
      controllerProps: { "auto.leader.rebalance.enable": "false" },
    });
    const [a, b] = cluster.brokers.map((n) => n.nodeId) as [number, number];
    try {
      await createAssigned(cluster, "p", [[a, b]]);
      await bounceOutOfLeadership(cluster, a, b);
      assert.equal((await partitionsNow(cluster, ["p"])).p!.leader, b); // no automatic move back
      const r = await leaderElection(
        cluster,
        "--election-type",
        "preferred",
        "--all-topic-partitions",
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(
        r.stdout.trim(),
        "Successfully completed leader election (PREFERRED) for partitions p-0",
      );
      assert.equal((await partitionsNow(cluster, ["p"])).p!.leader, a);
      const again = await leaderElection(
        cluster,
        "--election-type",
        "preferred",
        "--topic",
        "p",
        "--partition",
        "0",
      );
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout.trim(), "Valid replica already elected for partitions p-0");
      // SIGTERM: a controlled shutdown (KIP-841) moves the leadership before the process exits,
      // so it has moved already, without waiting out the session timeout.
      const stoppingAt = Date.now();
      await cluster.node(a).stop();
      const stoppedMs = Date.now() - stoppingAt;
      const after = await partitionsNow(cluster, ["p"]);
      assert.deepEqual([after.p!.leader, after.p!.isr], [b, [b]]);
      assert.ok(stoppedMs < 10_000, `the stop took ${stoppedMs} ms`);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "the auto leader rebalance moves leadership back to the preferred replica once it is in sync",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      props: {
        "broker.session.timeout.ms": `${SESSION_TIMEOUT_MS}`,
        "broker.heartbeat.interval.ms": "500",
      },
      controllerProps: { "leader.imbalance.check.interval.seconds": "1" },
    });
    const [a, b] = cluster.brokers.map((n) => n.nodeId) as [number, number];
    try {
      await createAssigned(cluster, "p", [[a, b]]);
      await bounceOutOfLeadership(cluster, a, b);
      await eventually("the rebalance", 10_000, async () => {
        assert.equal((await partitionsNow(cluster, ["p"])).p!.leader, a);
      });
    } finally {
      await cluster.stop();
    }
  },
});

/** Bytes of `topic`-0's segment files on broker `node` (its replica, however far it got). */
async function replicaBytes(cluster: TestCluster, node: number, topic: string): Promise<number> {
  const dir = `${cluster.node(node).dir}/logs/${topic}-0`;
  let bytes = 0;
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (e.name.endsWith(".log")) bytes += (await Deno.stat(`${dir}/${e.name}`)).size;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return bytes;
}

Deno.test({
  name:
    "reassign-partitions --throttle bounds a move's replication (KIP-73), --additional raises it, --verify removes it; cluster unregisters the decommissioned broker",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await startCluster({ controllers: 1, brokers: 2 });
    const [a, b] = cluster.brokers.map((n) => n.nodeId) as [number, number];
    const dir = await Deno.makeTempDir();
    const reassign = (...args: string[]) =>
      runMain(["reassign-partitions", "--bootstrap-server", cluster.bootstrapServers, ...args]);
    const configsOf = (type: number, name: string) =>
      withAdmin(cluster, async (admin) => {
        const [described] = await admin.describeConfigs([{ type, name }]);
        return new Map(described!.entries.map((e) => [e.name, e.value]));
      });
    try {
      await cluster.waitForLeader();
      await createAssigned(cluster, "bulk", [[a]]);
      const records = 8_000; // 1 KiB each: ~8 MiB to copy
      const produced = await runMain([
        "producer-perf-test",
        "--topic",
        "bulk",
        "--num-records",
        `${records}`,
        "--record-size",
        "1024",
        "--throughput",
        "-1",
        "--producer-props",
        `bootstrap.servers=${cluster.bootstrapServers}`,
        "acks=1",
      ]);
      assert.equal(produced.code, 0, produced.stderr);
      const total = await replicaBytes(cluster, a, "bulk");
      assert.ok(total > 8_000_000, `${total} bytes on the leader`);

      const path = `${dir}/bulk.json`;
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          version: 1,
          partitions: [{ topic: "bulk", partition: 0, replicas: [a, b] }],
        }),
      );
      const started = await reassign(
        "--execute",
        "--reassignment-json-file",
        path,
        "--throttle",
        "100000",
      );
      assert.equal(started.code, 0, started.stdout + started.stderr);
      assert.match(
        started.stdout,
        /Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed\.\nThe inter-broker throttle limit was set to 100000 B\/s\n/,
      );
      const topicConfigs = await configsOf(ResourceType.TOPIC, "bulk");
      assert.equal(topicConfigs.get("leader.replication.throttled.replicas"), `0:${a}`);
      assert.equal(topicConfigs.get("follower.replication.throttled.replicas"), `0:${b}`);
      for (const broker of [a, b]) {
        const brokerConfigs = await configsOf(ResourceType.BROKER, String(broker));
        assert.equal(brokerConfigs.get("leader.replication.throttled.rate"), "100000");
        assert.equal(brokerConfigs.get("follower.replication.throttled.rate"), "100000");
      }
      // 100 kB/s, with the first windows' burst (10 x the rate) allowed as Kafka allows it.
      await sleep(4_000);
      const copied = await replicaBytes(cluster, b, "bulk");
      assert.ok(copied < total / 3, `the new replica copied ${copied} of ${total} bytes in 4 s`);
      const during = await reassign(
        "--verify",
        "--reassignment-json-file",
        path,
        "--preserve-throttles",
      );
      assert.match(during.stdout, /Reassignment of partition bulk-0 is still in progress\./);

      const raised = await reassign(
        "--execute",
        "--reassignment-json-file",
        path,
        "--additional",
        "--throttle",
        "100000000",
      );
      assert.equal(raised.code, 0, raised.stdout + raised.stderr);
      await eventually("the move to complete", 60_000, async () => {
        const p = await partitionsNow(cluster, ["bulk"]);
        assert.deepEqual(p.bulk!.replicas, [a, b]);
        assert.deepEqual([...p.bulk!.isr].sort(), [a, b].sort());
      });
      assert.equal(await replicaBytes(cluster, b, "bulk"), total);
      const done = await reassign("--verify", "--reassignment-json-file", path);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /Reassignment of partition bulk-0 is completed\./);
      assert.match(done.stdout, new RegExp(`Clearing broker-level throttles on brokers ${a},${b}`));
      const cleared = await configsOf(ResourceType.TOPIC, "bulk");
      assert.equal(cleared.get("leader.replication.throttled.replicas"), "");
      assert.equal(cleared.get("follower.replication.throttled.replicas"), "");
      const brokerCleared = await configsOf(ResourceType.BROKER, String(a));
      assert.equal(brokerCleared.get("leader.replication.throttled.rate"), "9223372036854775807");

      // kafka-cluster.sh: the cluster id both ways, then b is decommissioned and unregistered.
      const ids = await Promise.all([
        runMain(["cluster", "cluster-id", "--bootstrap-server", cluster.bootstrapServers]),
        runMain(["cluster", "cluster-id", "--bootstrap-controller", cluster.bootstrapControllers]),
      ]);
      for (const id of ids) assert.equal(id.stdout.trim(), `Cluster ID: ${cluster.clusterId}`);
      await cluster.node(b).stop();
      const unregister = () =>
        runMain([
          "cluster",
          "unregister",
          "--bootstrap-server",
          cluster.node(a).address,
          "--id",
          `${b}`,
        ]);
      const gone = await unregister();
      assert.equal(gone.code, 0, gone.stderr);
      assert.equal(gone.stdout.trim(), `Broker ${b} is no longer registered.`);
      const again = await unregister();
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`Broker ID ${b} is not currently registered`));
      await eventually("b out of the cluster and the ISR", 10_000, async () => {
        const brokers = await withAdmin(cluster, (admin) => admin.describeCluster());
        assert.deepEqual(brokers.brokers.map((x) => x.nodeId), [a]);
        assert.deepEqual((await partitionsNow(cluster, ["bulk"])).bulk!.isr, [a]);
      });
    } finally {
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
