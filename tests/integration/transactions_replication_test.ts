// Issue 10 with replication: followers replay the leader's transactional batches and markers, so
// after the leader is killed the new leader answers the same last stable offset, the same aborted
// transactions (its own .txnindex, written as the markers arrived) and the same open
// transaction, which the coordinator can still commit through it. One controller and two brokers,
// a topic with two replicas; frames as in transactions_partition_test.ts.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { Admin } from "../../net/client/admin.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { runMain } from "./harness.ts";
import { type ClusterNode, startCluster, type TestCluster } from "./cluster_harness.ts";
import { initProducer, txnBatch, txnFrames } from "./txn_frames.ts";

const TOPIC = "txn-replicated";
const { produce, writeMarker, fetch, latestOffset, describeProducers } = txnFrames(TOPIC);
/** Bound on waiting for a leader change or an ISR to show, in milliseconds. */
const CHANGE_TIMEOUT_MS = 30_000;

async function eventually<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + CHANGE_TIMEOUT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The partition's leader and ISR as a live broker's metadata says. */
async function partitionState(cluster: TestCluster) {
  const admin = new Admin({
    bootstrapServers: cluster.brokers.filter((b) => b.running).map((b) => b.address).join(","),
    requestTimeoutMs: 5_000,
    connectTimeoutMs: 2_000,
    retries: 0,
  });
  try {
    const [topic] = await admin.describeTopics([TOPIC]);
    const p = topic!.partitions[0]!;
    return { leader: p.leader, isr: [...p.isr].sort() };
  } finally {
    admin.close();
  }
}

function connect(node: ClusterNode): Promise<KafkaConnection> {
  return KafkaConnection.connect("127.0.0.1", node.port);
}

Deno.test({
  name: "a new leader has the old leader's LSO, aborted transactions and open transaction",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      props: {
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "500",
        "replica.fetch.backoff.ms": "200",
      },
    });
    const conns: KafkaConnection[] = [];
    try {
      await cluster.waitForLeader();
      const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
      try {
        await admin.createTopics([{ name: TOPIC, numPartitions: 1, replicationFactor: 2 }]);
      } finally {
        admin.close();
      }
      const before = await eventually("both replicas in sync", async () => {
        const s = await partitionState(cluster);
        assertEquals(s.isr.length, 2);
        return s;
      });
      const leaderNode = cluster.node(before.leader);
      const followerNode = cluster.brokers.find((b) => b.nodeId !== before.leader)!;
      const leader = await connect(leaderNode);
      conns.push(leader);
      const a = await initProducer(leader);
      const b = await initProducer(leader);
      // acks=all: each answer means the follower holds the batch.
      assertEquals((await produce(leader, txnBatch(["a0", "a1"], a, 0, true))).baseOffset, 0);
      assertEquals((await produce(leader, txnBatch(["b0"], b, 0, true))).baseOffset, 2);
      assertEquals(await writeMarker(leader, a, false), [0]);
      assertEquals(await latestOffset(leader, 1), 2);
      assertEquals(await latestOffset(leader, 0), 4);

      // The follower appends nothing itself: a marker sent to it is refused, as Kafka does.
      const asFollower = await connect(followerNode);
      conns.push(asFollower);
      assertEquals(await writeMarker(asFollower, b, true), [ErrorCode.NOT_LEADER_OR_FOLLOWER]);

      await leaderNode.kill();
      await eventually("the follower leads", async () => {
        const s = await partitionState(cluster);
        assertEquals(s.leader, followerNode.nodeId);
      });
      const next = await connect(followerNode);
      conns.push(next);
      await eventually("the new leader answers", async () => {
        assertEquals((await fetch(next, 1)).errorCode, 0);
      });
      assertEquals(await latestOffset(next, 1), 2);
      const committed = await fetch(next, 1);
      assertEquals(committed.lastStableOffset, 2n);
      const all = await fetch(next, 0);
      assertEquals(
        all.abortedTransactions,
        null,
        "read_uncommitted gets no aborted list",
      );
      assertEquals(
        (await eventually("read_committed sees the aborted list", async () => {
          const upToB = await fetch(next, 1);
          ok(upToB.abortedTransactions !== null);
          return upToB;
        })).abortedTransactions?.map((x) => [x.producerId, x.firstOffset]),
        [[a.id, 0n]],
      );
      const described = await describeProducers(next);
      assertEquals(described.producers.get(b.id), [0, 2]);
      assertEquals(described.producers.get(a.id), [0, -1]);
      // The coordinator finishes b's transaction through the new leader.
      assertEquals(await writeMarker(next, b, true), [0]);
      assertEquals(await latestOffset(next, 1), 5);
      const read = await fetch(next, 1);
      assertEquals(read.abortedTransactions?.map((x) => [x.producerId, x.firstOffset]), [
        [a.id, 0n],
      ]);
      // a's next instance (epoch 1) writes; its epoch-0 zombie is then fenced on the new leader.
      assertEquals(
        (await produce(next, txnBatch(["x"], { id: a.id, epoch: 1 }, 0, true))).errorCode,
        ErrorCode.NONE,
      );
      assertEquals(
        (await produce(next, txnBatch(["y"], a, 2, true))).errorCode,
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      // The follower wrote its own aborted-transaction index while replicating.
      const dir = join(followerNode.metadataLogDir, `${TOPIC}-0`);
      const index = await runMain([
        "dump-log",
        "--files",
        join(dir, "00000000000000000000.txnindex"),
      ]);
      ok(
        index.stdout.includes(`producerId: ${a.id} firstOffset: 0 lastOffset: 3`),
        index.stdout,
      );
    } finally {
      for (const c of conns) c.close();
      await cluster.stop();
    }
  },
});
