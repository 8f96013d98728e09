/**
 * A dynamic (KIP-853) controller quorum of real processes on loopback: one controller formatted
 * with `--standalone` elects itself, two more formatted with `--no-initial-controllers` start as
 * observers and join with `metadata-quorum add-controller`, the leader is killed with -9 and a
 * new one is elected among the three, then `remove-controller` shrinks the quorum back to one
 * (removing the active controller too, which resigns once its removal commits). A broker
 * registered from the start keeps serving Metadata, and CreateTopics works at every stage.
 * Voter changes go through `--bootstrap-controller` and through `--bootstrap-server` (the broker
 * forwards AddRaftVoter / RemoveRaftVoter to the active controller); `features describe` reports
 * `kraft.version` 1; `quorum-state` names the voted-for replica's directory id.
 */

import assert from "node:assert/strict";
import { runMain } from "./harness.ts";
import { createCluster, describeQuorumAt, type TestCluster } from "./cluster_harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { readMetaProperties } from "../../storage/meta_properties.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { eventually } from "./waiting.ts";

/** The voter ids the given controller's leader reports (DescribeQuorum), or throws. */
async function votersSeenBy(cluster: TestCluster, controllerIds: number[]): Promise<number[]> {
  for (const id of controllerIds) {
    const node = cluster.node(id);
    if (!node.running) continue;
    const p = (await describeQuorumAt("127.0.0.1", node.port))?.topics[0]?.partitions[0];
    if (p?.errorCode === ErrorCode.NONE) return p.currentVoters.map((v) => v.replicaId).sort();
  }
  throw new Error("No running controller answered DescribeQuorum as the leader");
}

async function describeStatus(cluster: TestCluster, controllers: string): Promise<string> {
  return await eventually("describe --status", 20_000, async () => {
    const r = await runMain([
      "metadata-quorum",
      "--bootstrap-controller",
      controllers,
      "describe",
      "--status",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ClusterId:\\s+${cluster.clusterId}$`, "m"));
    return r.stdout;
  });
}

function voterIdsOf(status: string): number[] {
  const voters = /^CurrentVoters:\s+(.*)$/m.exec(status)?.[1] ?? "";
  return [...voters.matchAll(/"id": (\d+)/g)].map((m) => Number(m[1]));
}

/** CreateTopics through the broker succeeds and the broker's Metadata lists the topic and itself. */
async function createAndSee(cluster: TestCluster, name: string): Promise<void> {
  const admin = new Admin({
    bootstrapServers: cluster.bootstrapServers,
    requestTimeoutMs: 8_000,
    connectTimeoutMs: 2_000,
    retries: 0,
  });
  try {
    await eventually(`CreateTopics ${name}`, 30_000, async () => {
      try {
        await admin.createTopics([{ name, numPartitions: 1, replicationFactor: 1 }], {
          timeoutMs: 5_000,
        });
      } catch (error) {
        // A retry after a commit whose answer was lost to a failover.
        if (!String((error as Error).message).includes("already exists")) throw error;
      }
    });
    await eventually(`Metadata listing ${name}`, 10_000, async () => {
      const topics = await admin.listTopics();
      assert.ok(topics.includes(name), `Metadata lacks ${name}: ${topics}`);
      const described = await admin.describeCluster();
      assert.deepEqual(described.brokers.map((b) => b.nodeId), [4]);
    });
  } finally {
    admin.close();
  }
}

/** The `kraft.version` line of `features describe` through `--bootstrap-server` or `--bootstrap-controller`. */
async function kraftVersionLine(flag: string, servers: string): Promise<string> {
  const r = await runMain(["features", flag, servers, "describe"]);
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split("\n").find((l) => l.startsWith("Feature: kraft.version\t"));
  assert.ok(line, r.stdout);
  return line;
}

/** `votedId` and `votedDirectoryId` of a controller's `quorum-state`. */
async function votedKeyOf(cluster: TestCluster, nodeId: number) {
  const path = `${cluster.node(nodeId).metadataLogDir}/__cluster_metadata-0/quorum-state`;
  const json = JSON.parse(await Deno.readTextFile(path));
  return { votedId: json.votedId as number, votedDirectoryId: json.votedDirectoryId as string };
}

async function directoryIdOf(cluster: TestCluster, nodeId: number): Promise<string> {
  const meta = await readMetaProperties(cluster.node(nodeId).metadataLogDir);
  assert.ok(meta?.directoryId, `No directory id for node ${nodeId}`);
  return meta.directoryId;
}

Deno.test({
  name:
    "a dynamic quorum grows from 1 to 3 controllers, fails over and shrinks back to 1 while a broker keeps serving",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const startedMs = Date.now();
    const cluster = await createCluster({
      controllers: 3,
      brokers: 1,
      dynamicQuorum: { initialVoters: 1 },
      props: {
        "broker.session.timeout.ms": "6000",
        "broker.heartbeat.interval.ms": "500",
        "controller.quorum.request.timeout.ms": "1000",
      },
    });
    const allControllers = cluster.controllers.map((c) => c.address).join(",");
    try {
      await t.step(
        "a --standalone controller elects itself; the others start as observers",
        async () => {
          await cluster.startAll();
          assert.equal(await cluster.waitForLeader(), 1);
          const status = await describeStatus(cluster, cluster.node(1).address);
          assert.deepEqual(voterIdsOf(status), [1]);
          const dir1 = await directoryIdOf(cluster, 1);
          assert.match(status, new RegExp(`"id": 1, "directoryId": "${dir1}"`));
          await createAndSee(cluster, "stage-1");
        },
      );

      await t.step(
        "features describe shows kraft.version 1 on a dynamic quorum (KIP-853)",
        async () => {
          for (
            const [flag, servers] of [
              ["--bootstrap-server", cluster.bootstrapServers],
              ["--bootstrap-controller", cluster.node(1).address],
            ]
          ) {
            const line = await kraftVersionLine(flag!, servers!);
            assert.match(line, /\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 1\t/, flag);
          }
        },
      );

      await t.step(
        "add-controller adds controller 2 through a controller and 3 through the broker",
        async () => {
          for (const id of [2, 3]) {
            const via = id === 2
              ? ["--bootstrap-controller", cluster.node(1).address]
              : ["--bootstrap-server", cluster.bootstrapServers];
            const r = await runMain([
              "metadata-quorum",
              ...via,
              "add-controller",
              "--command-config",
              cluster.node(id).propertiesPath,
            ]);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            const dir = await directoryIdOf(cluster, id);
            assert.match(r.stdout, new RegExp(`^Added controller ${id} with directory id ${dir}`));
          }
          const status = await describeStatus(cluster, allControllers);
          assert.deepEqual(voterIdsOf(status), [1, 2, 3]);
          await createAndSee(cluster, "stage-3");
        },
      );

      let leader = 1;
      await t.step("kill -9 of the leader elects a new one among the three", async () => {
        await cluster.node(1).kill();
        leader = await cluster.waitForLeader({ not: 1, timeoutMs: 20_000 });
        assert.ok([2, 3].includes(leader));
        await createAndSee(cluster, "after-failover");
        // quorum-state carries the directory id of the replica voted for, not the zero UUID.
        const leaderDir = await directoryIdOf(cluster, leader);
        assert.deepEqual(await votedKeyOf(cluster, leader), {
          votedId: leader,
          votedDirectoryId: leaderDir,
        });
        await cluster.node(1).start();
        await eventually("node 1 rejoins as a voter", 20_000, async () => {
          assert.deepEqual(await votersSeenBy(cluster, [2, 3]), [1, 2, 3]);
        });
      });

      await t.step(
        "remove-controller shrinks the quorum back to one, the leader included",
        async () => {
          const survivor = [1, 2, 3].find((id) => id !== leader && id !== 1)!;
          for (const id of [1, leader]) {
            const dir = await directoryIdOf(cluster, id);
            const via = id === 1
              ? ["--bootstrap-server", cluster.bootstrapServers]
              : ["--bootstrap-controller", allControllers];
            const r = await runMain([
              "metadata-quorum",
              ...via,
              "remove-controller",
              "--controller-id",
              String(id),
              "--controller-directory-id",
              dir,
            ]);
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.match(r.stdout, new RegExp(`^Removed KRaft controller ${id} with directory id`));
          }
          assert.equal(await cluster.waitForLeader({ timeoutMs: 20_000 }), survivor);
          const status = await describeStatus(cluster, allControllers);
          assert.deepEqual(voterIdsOf(status), [survivor]);
          await createAndSee(cluster, "stage-back-to-1");
        },
      );
    } catch (error) {
      for (const node of cluster.nodes) {
        console.error(`---- ${node.role} ${node.nodeId}\n${node.logs().slice(-3000)}`);
      }
      throw error;
    } finally {
      await cluster.stop();
      console.log(`dynamic quorum test took ${Date.now() - startedMs} ms`);
    }
  },
});

Deno.test({
  name:
    "three --initial-controllers voters elect a leader, report their directory ids and fail over",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cluster = await createCluster({
      controllers: 3,
      brokers: 1,
      dynamicQuorum: { initialVoters: 3 },
      props: { "controller.quorum.request.timeout.ms": "1000" },
    });
    try {
      await cluster.startAll();
      const first = await cluster.waitForLeader();
      const status = await describeStatus(cluster, cluster.bootstrapControllers);
      assert.deepEqual(voterIdsOf(status), [1, 2, 3]);
      for (const id of [1, 2, 3]) {
        const dir = await directoryIdOf(cluster, id);
        assert.match(status, new RegExp(`"id": ${id}, "directoryId": "${dir}"`));
      }
      await createAndSee(cluster, "initial-3");
      await cluster.node(first).kill();
      const next = await cluster.waitForLeader({ not: first, timeoutMs: 20_000 });
      assert.notEqual(next, first);
      await createAndSee(cluster, "initial-3-after-failover");
    } finally {
      await cluster.stop();
    }
  },
});
