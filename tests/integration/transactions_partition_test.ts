// Issue 10, the partition side, against a real node: transactional batches and the coordinator's
// WriteTxnMarkers sent as raw frames (the transaction coordinator is exercised elsewhere), read
// back by our consumer and by librdkafka (kcat) with read_committed and read_uncommitted; the last
// stable offset in Fetch and ListOffsets; Kafka's error codes for stale epochs, plain writes inside
// a transaction and unknown partitions; DescribeProducers; dump-log of markers and the .txnindex;
// and the same answers after kill -9 and a restart.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { hasCommand, runMain, startNode, type TestNode } from "./harness.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { Consumer } from "../../net/client/consumer.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import { createCreatableTopic } from "../../net/protocol/generated/create_topics_request.ts";
import { initProducer, txnBatch, txnFrames } from "./txn_frames.ts";

const TOPIC = "txn";
const { produce, writeMarker, fetch, latestOffset, describeProducers } = txnFrames(TOPIC);
const batch = txnBatch;

/** Every value our consumer reads from offset 0 with the isolation level. */
async function consume(node: TestNode, isolation: "read_committed" | "read_uncommitted") {
  const consumer = new Consumer({ bootstrapServers: node.bootstrap, isolationLevel: isolation });
  const values: string[] = [];
  try {
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    for (let i = 0; i < 10; i++) {
      const records = await consumer.poll({ timeoutMs: 300 });
      values.push(...records.map((r) => new TextDecoder().decode(r.value!)));
      if (records.length === 0 && i > 1) break;
    }
  } finally {
    await consumer.close();
  }
  return values;
}

/** What kcat (librdkafka) reads from the beginning to the end of the partition. */
async function kcat(node: TestNode, isolation: string): Promise<string[]> {
  const out = await new Deno.Command("kcat", {
    args: [
      "-C",
      "-b",
      node.bootstrap,
      "-t",
      TOPIC,
      "-p",
      "0",
      "-o",
      "beginning",
      "-e",
      "-q",
      "-X",
      `isolation.level=${isolation}`,
      "-f",
      "%s\\n",
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

async function connected(node: TestNode): Promise<KafkaConnection> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
      // The partition may still be opening after a restart: wait until it answers Fetch.
      if ((await fetch(conn, 0)).errorCode === 0) return conn;
      conn.close();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error("the partition never became readable");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const COMMITTED = ["p0", "b0", "b1"];
const EVERYTHING = ["a0", "a1", "a2", "p0", "b0", "b1", "c0"];

Deno.test({
  name:
    "transactional batches and markers: read_committed sees committed records only, up to the LSO",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await startNode();
    let conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
    try {
      const created = await conn.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
        topics: [createCreatableTopic({ name: TOPIC, numPartitions: 1, replicationFactor: 1 })],
        timeoutMs: 10_000,
      });
      assertEquals(created.topics[0]!.errorCode, 0);
      conn.close();
      conn = await connected(node);
      // Producer a is a restarted instance (epoch 1), so its epoch 0 is a zombie's.
      const a = { ...(await initProducer(conn)), epoch: 1 };
      const b = await initProducer(conn);
      const c = await initProducer(conn);

      await t.step(
        "open transactions hold the last stable offset at their first record",
        async () => {
          assertEquals(await produce(conn, batch(["a0", "a1", "a2"], a, 0, true)), {
            errorCode: 0,
            baseOffset: 0,
          });
          assertEquals((await produce(conn, batch(["p0"], null, 0, false))).baseOffset, 3);
          assertEquals((await produce(conn, batch(["b0", "b1"], b, 0, true))).baseOffset, 4);
          assertEquals(await latestOffset(conn, 0), 6);
          assertEquals(await latestOffset(conn, 1), 0);
          const committed = await fetch(conn, 1);
          assertEquals(
            [committed.highWatermark, committed.lastStableOffset, committed.records?.length],
            [6n, 0n, 0],
          );
        },
      );

      await t.step("bad input gets Kafka's error codes and appends nothing", async () => {
        // A plain write of a producer inside its transaction.
        assertEquals(
          (await produce(conn, batch(["x"], b, 2, false))).errorCode,
          ErrorCode.INVALID_TXN_STATE,
        );
        // A zombie: an older epoch than the partition knows.
        assertEquals(
          (await produce(conn, batch(["x"], { id: a.id, epoch: a.epoch - 1 }, 3, true)))
            .errorCode,
          ErrorCode.INVALID_PRODUCER_EPOCH,
        );
        assertEquals(
          await writeMarker(conn, { id: a.id, epoch: a.epoch - 1 }, false),
          [ErrorCode.INVALID_PRODUCER_EPOCH],
        );
        assertEquals(
          await writeMarker(conn, a, false, [{ name: "nope", partitions: [0] }, {
            name: TOPIC,
            partitions: [7],
          }]),
          [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        );
        assertEquals(await latestOffset(conn, 0), 6);
      });

      await t.step(
        "markers end the transactions; aborted ones are listed to read_committed",
        async () => {
          assertEquals(await writeMarker(conn, a, false), [0]);
          assertEquals(await latestOffset(conn, 1), 4);
          assertEquals(await writeMarker(conn, b, true), [0]);
          assertEquals(await latestOffset(conn, 1), 8);
          // A third transaction stays open: it holds the LSO at offset 8.
          assertEquals((await produce(conn, batch(["c0"], c, 0, true))).baseOffset, 8);
          const committed = await fetch(conn, 1);
          assertEquals(committed.lastStableOffset, 8n);
          assertEquals(
            committed.abortedTransactions?.map((x) => [x.producerId, x.firstOffset]),
            [[a.id, 0n]],
          );
          assertEquals((await fetch(conn, 0)).abortedTransactions, null);
        },
      );

      await t.step(
        "DescribeProducers shows each producer's epoch and open transaction",
        async () => {
          const described = await describeProducers(conn);
          assertEquals([described.errorCode, described.unknownErrorCode], [
            0,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          ]);
          assertEquals(described.producers.get(a.id), [1, -1]);
          assertEquals(described.producers.get(b.id), [0, -1]);
          assertEquals(described.producers.get(c.id), [0, 8]);
        },
      );

      await t.step("our consumer and kcat see committed records only, in order", async () => {
        assertEquals(await consume(node, "read_committed"), COMMITTED);
        assertEquals(await consume(node, "read_uncommitted"), EVERYTHING);
        if (!hasCommand("kcat")) throw new Error("kcat is not installed");
        assertEquals(await kcat(node, "read_committed"), COMMITTED);
        assertEquals(await kcat(node, "read_uncommitted"), EVERYTHING);
      });

      await t.step("dump-log shows the markers and the aborted-transaction index", async () => {
        const dir = join(node.dataDir, "logs", `${TOPIC}-0`);
        const log = await runMain([
          "dump-log",
          "--deep-iteration",
          "--files",
          join(dir, "00000000000000000000.log"),
        ]);
        ok(log.stdout.includes("endTxnMarker: ABORT coordinatorEpoch: 0"), log.stdout);
        ok(log.stdout.includes("endTxnMarker: COMMIT coordinatorEpoch: 0"), log.stdout);
        const index = await runMain([
          "dump-log",
          "--files",
          join(dir, "00000000000000000000.txnindex"),
        ]);
        ok(
          index.stdout.includes(
            `version: 0 producerId: ${a.id} firstOffset: 0 lastOffset: 6 lastStableOffset: 4`,
          ),
          index.stdout,
        );
      });

      await t.step(
        "after kill -9 and a restart the LSO and the aborted list are the same",
        async () => {
          conn.close();
          await node.kill();
          await node.restart();
          conn = await connected(node);
          const deadline = Date.now() + 20_000;
          while ((await latestOffset(conn, 0)) < 9 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
          assertEquals(await latestOffset(conn, 1), 8);
          const committed = await fetch(conn, 1);
          assertEquals(
            committed.abortedTransactions?.map((x) => [x.producerId, x.firstOffset]),
            [[a.id, 0n]],
          );
          // The open transaction survived too: committing it releases c0.
          assertEquals(await writeMarker(conn, c, true), [0]);
          assertEquals(await latestOffset(conn, 1), 10);
          assertEquals(await consume(node, "read_committed"), [...COMMITTED, "c0"]);
          // A marker for a producer this partition never saw is appended and completes nothing:
          // the LSO moves past it, as in Kafka.
          assertEquals(await writeMarker(conn, { id: 999_999n, epoch: 0 }, false), [0]);
          assertEquals(await latestOffset(conn, 1), 11);
          assertEquals(
            (await fetch(conn, 1)).abortedTransactions?.map((x) => [x.producerId, x.firstOffset]),
            [[a.id, 0n]],
          );
        },
      );
    } finally {
      conn.close();
      await node.stop();
    }
  },
});
