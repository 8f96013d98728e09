// Issue 10, the transaction coordinator, against a real node with real clients: confluent-kafka
// (librdkafka) commits and aborts, consume-transform-produce with send_offsets_to_transaction, a
// zombie fenced by a new instance, a transaction left open by a dead client aborted after its
// timeout, an open transaction aborted by the next instance after kill -9 and a restart
// (the coordinator reloads __transaction_state); KafkaJS transactions with sendOffsets; and
// Kafka's error codes for out-of-order and fenced requests sent as raw frames.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import {
  Admin as PlatformaticAdmin,
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { hasPythonModule, REPO_ROOT, runMain, startNode, type TestNode } from "./harness.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { Admin } from "../../net/client/admin.ts";
import { startCluster as startProcessCluster } from "./cluster_harness.ts";
import { initProducer, txnBatch, txnFrames } from "./txn_frames.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { ApiVersionsResponse } from "../../net/protocol/generated/api_versions_response.ts";
import type { FindCoordinatorResponse } from "../../net/protocol/generated/find_coordinator_response.ts";
import type { InitProducerIdResponse } from "../../net/protocol/generated/init_producer_id_response.ts";
import type { EndTxnResponse } from "../../net/protocol/generated/end_txn_response.ts";
import type { AddPartitionsToTxnResponse } from "../../net/protocol/generated/add_partitions_to_txn_response.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import { createCreatableTopic } from "../../net/protocol/generated/create_topics_request.ts";
import {
  createAddPartitionsToTxnTopic,
  createAddPartitionsToTxnTransaction,
} from "../../net/protocol/generated/add_partitions_to_txn_request.ts";

const noPython = !hasPythonModule("confluent_kafka");
if (noPython) console.warn("transactions_test: confluent-kafka tests skipped (module missing)");

const SCRIPT = join(REPO_ROOT, "tests/integration/python/txn_scenarios.py");
/** Bound on one client script, in milliseconds. */
const SCRIPT_TIMEOUT_MS = 90_000;
/** Bound on waiting for a condition, in milliseconds. */
const WAIT_MS_MAX = 30_000;

const NODE_PROPS = {
  "transaction.state.log.replication.factor": "1",
  "transaction.state.log.min.isr": "1",
  "transaction.state.log.num.partitions": "4",
  "transaction.max.timeout.ms": "60000",
  "num.partitions": "1",
};

/** Runs one scenario of txn_scenarios.py and returns its JSON output. */
async function scenario(node: TestNode, name: string, ...args: string[]) {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [SCRIPT, node.bootstrap, name, ...args],
    env: { PYTHONDONTWRITEBYTECODE: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, SCRIPT_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(`${name} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(stdout.split("\n").at(-1)!);
}

async function withNode(fn: (node: TestNode) => Promise<void>) {
  const node = await startNode({ props: NODE_PROPS });
  try {
    await fn(node);
  } catch (error) {
    console.error(node.logs().split("\n").slice(-60).join("\n"));
    throw error;
  } finally {
    await node.stop();
  }
}

async function eventually<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + WAIT_MS_MAX;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${WAIT_MS_MAX} ms`);
}

Deno.test({
  name: "confluent-kafka transactions: commit, abort, consume-transform-produce, fencing, timeouts",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await withNode(async (node) => {
      await t.step("read_committed sees committed records only, read_uncommitted all", async () => {
        const r = await scenario(node, "commit-abort");
        assertEquals(r.read_committed, ["c0", "c1", "c2", "c3"]);
        assertEquals(r.read_uncommitted, ["c0", "c1", "c2", "a0", "a1", "c3"]);
      });

      await t.step(
        "send_offsets_to_transaction copies exactly once; aborted offsets never show",
        async () => {
          const r = await scenario(node, "ctp");
          const values = Array.from({ length: 10 }, (_, i) => `v${i}`);
          assertEquals(r.copied, values);
          assertEquals(r.out, values.map((v) => v.toUpperCase()));
          assertEquals(r.committed, [10]);
        },
      );

      await t.step(
        "a new instance fences the old one and aborts its open transaction",
        async () => {
          const r = await scenario(node, "zombie");
          assertEquals(r.read_committed, ["from-the-new-instance"]);
          ok(r.old_error !== null, "the zombie's commit must fail");
          assertEquals(r.old_error.fatal, true);
        },
      );

      await t.step("a timeout above transaction.max.timeout.ms is refused", async () => {
        const r = await scenario(node, "too-long-timeout", "120000");
        assertEquals(r.error, "INVALID_TRANSACTION_TIMEOUT");
      });

      await t.step(
        "a dead client's transaction is aborted after its timeout and readers move on",
        async () => {
          await scenario(node, "open-and-die", "stalled", "stuck", "dead-1", "2000");
          await scenario(node, "commit-one", "stalled", "later", "live-1");
          const values = await eventually("the LSO moving past the dead transaction", async () => {
            const r = await scenario(node, "read", "stalled", "read_committed", "1");
            return r.values.includes("later") ? r.values as string[] : null;
          });
          assertEquals(values, ["later"]);
        },
      );
    });
  },
});

Deno.test({
  name: "after kill -9 the coordinator reloads an open transaction and the next instance aborts it",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withNode(async (node) => {
      await scenario(node, "commit-one", "crash", "before", "crash-1");
      await scenario(node, "open-and-die", "crash", "in-flight", "crash-1", "60000");
      await node.kill();
      await node.restart();
      await scenario(node, "commit-one", "crash", "after", "crash-1");
      const r = await scenario(node, "read", "crash", "read_committed", "2");
      assertEquals(r.values, ["before", "after"]);
      const all = await scenario(node, "read", "crash", "read_uncommitted", "3");
      assertEquals(all.values, ["before", "in-flight", "after"]);
    });
  },
});

Deno.test({
  name: "KafkaJS transactions: sendOffsets commits the group's offset only with the transaction",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withNode(async (node) => {
      const kafka = new Kafka({
        clientId: "kjs-txn",
        brokers: [node.bootstrap],
        logLevel: logLevel.NOTHING,
        retry: { retries: 10, initialRetryTime: 100 },
      });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic: "kjs", numPartitions: 1 }],
        waitForLeaders: true,
      });
      const producer = kafka.producer({
        transactionalId: "kjs-tx",
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      try {
        const committed = await producer.transaction();
        await committed.send({ topic: "kjs", messages: [{ value: "one" }, { value: "two" }] });
        await committed.sendOffsets({
          consumerGroupId: "kjs-group",
          topics: [{ topic: "kjs", partitions: [{ partition: 0, offset: "2" }] }],
        });
        await committed.commit();
        const aborted = await producer.transaction();
        await aborted.send({ topic: "kjs", messages: [{ value: "never" }] });
        await aborted.sendOffsets({
          consumerGroupId: "kjs-group",
          topics: [{ topic: "kjs", partitions: [{ partition: 0, offset: "3" }] }],
        });
        await aborted.abort();
        const offsets = await admin.fetchOffsets({ groupId: "kjs-group", topics: ["kjs"] });
        assertEquals(offsets[0]!.partitions.map((p) => p.offset), ["2"]);

        const consumer = kafka.consumer({ groupId: "kjs-reader", readUncommitted: false });
        await consumer.connect();
        const seen: string[] = [];
        await consumer.subscribe({ topic: "kjs", fromBeginning: true });
        await consumer.run({
          eachMessage: ({ message }) => Promise.resolve(void seen.push(String(message.value))),
        });
        await eventually(
          "the committed records",
          () => Promise.resolve(seen.length >= 2 ? seen : null),
        );
        await new Promise((r) => setTimeout(r, 1000));
        await consumer.disconnect();
        assertEquals(seen, ["one", "two"]);
      } finally {
        await producer.disconnect();
        await admin.disconnect();
      }
    });
  },
});

Deno.test({
  name: "raw frames: FindCoordinator finds the transaction coordinator; misuse gets Kafka's errors",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withNode(async (node) => {
      const conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
      try {
        const versions = await conn.send<ApiVersionsResponse>(ApiKey.API_VERSIONS, {}, {
          version: 3,
        });
        const served = new Map(
          versions.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]),
        );
        assertEquals(served.get(ApiKey.ADD_PARTITIONS_TO_TXN), [0, 5]);
        assertEquals(served.get(ApiKey.ADD_OFFSETS_TO_TXN), [0, 4]);
        assertEquals(served.get(ApiKey.END_TXN), [0, 4]);
        assertEquals(served.get(ApiKey.TXN_OFFSET_COMMIT), [0, 4]);

        const created = await conn.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
          topics: [createCreatableTopic({ name: "raw", numPartitions: 1, replicationFactor: 1 })],
          timeoutMs: 10_000,
        });
        assertEquals(created.topics[0]!.errorCode, ErrorCode.NONE);
        const coordinator = await eventually("a transaction coordinator", async () => {
          const r = await conn.send<FindCoordinatorResponse>(ApiKey.FIND_COORDINATOR, {
            keyType: 1,
            coordinatorKeys: ["raw-1"],
          }, { version: 4 });
          return r.coordinators[0]!.errorCode === ErrorCode.NONE ? r.coordinators[0]! : null;
        });
        assertEquals([coordinator.nodeId, coordinator.port], [1, node.brokerPort]);

        const init = await eventually("InitProducerId", async () => {
          const r = await conn.send<InitProducerIdResponse>(ApiKey.INIT_PRODUCER_ID, {
            transactionalId: "raw-1",
            transactionTimeoutMs: 30_000,
            producerId: -1n,
            producerEpoch: -1,
          }, { version: 4 });
          return r.errorCode === ErrorCode.NONE ? r : null;
        });
        assertEquals(init.producerEpoch, 0);
        const endTxn = (epoch: number, version: number) =>
          conn.send<EndTxnResponse>(ApiKey.END_TXN, {
            transactionalId: "raw-1",
            producerId: init.producerId,
            producerEpoch: epoch,
            committed: true,
          }, { version });
        // Nothing was added: there is no transaction to end.
        assertEquals((await endTxn(0, 3)).errorCode, ErrorCode.INVALID_TXN_STATE);
        assertEquals((await endTxn(5, 3)).errorCode, ErrorCode.PRODUCER_FENCED);
        assertEquals((await endTxn(5, 1)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);

        const added = await conn.send<AddPartitionsToTxnResponse>(ApiKey.ADD_PARTITIONS_TO_TXN, {
          v3AndBelowTransactionalId: "raw-1",
          v3AndBelowProducerId: init.producerId,
          v3AndBelowProducerEpoch: 0,
          v3AndBelowTopics: [
            createAddPartitionsToTxnTopic({ name: "raw", partitions: [0] }),
            createAddPartitionsToTxnTopic({ name: "nope", partitions: [0] }),
          ],
        }, { version: 3 });
        assertEquals(
          added.resultsByTopicV3AndBelow.map((
            t,
          ) => [t.name, t.resultsByPartition[0]!.partitionErrorCode]),
          [["raw", ErrorCode.OPERATION_NOT_ATTEMPTED], [
            "nope",
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          ]],
        );
        const other = await conn.send<AddPartitionsToTxnResponse>(ApiKey.ADD_PARTITIONS_TO_TXN, {
          v3AndBelowTransactionalId: "raw-1",
          v3AndBelowProducerId: init.producerId + 1n,
          v3AndBelowProducerEpoch: 0,
          v3AndBelowTopics: [createAddPartitionsToTxnTopic({ name: "raw", partitions: [0] })],
        }, { version: 3 });
        assertEquals(
          other.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode,
          ErrorCode.INVALID_PRODUCER_ID_MAPPING,
        );

        // v4+: a batch of transactions; verifyOnly (KIP-890 part 1) only checks membership.
        const batched = (verifyOnly: boolean, partitions: number[]) =>
          conn.send<AddPartitionsToTxnResponse>(ApiKey.ADD_PARTITIONS_TO_TXN, {
            transactions: [createAddPartitionsToTxnTransaction({
              transactionalId: "raw-1",
              producerId: init.producerId,
              producerEpoch: 0,
              verifyOnly,
              topics: [createAddPartitionsToTxnTopic({ name: "raw", partitions })],
            })],
          }, { version: 5 });
        const codes = (r: AddPartitionsToTxnResponse) =>
          r.resultsByTransaction[0]!.topicResults[0]!.resultsByPartition.map((p) =>
            p.partitionErrorCode
          );
        assertEquals(codes(await batched(true, [0])), [ErrorCode.TRANSACTION_ABORTABLE]);
        assertEquals(codes(await batched(false, [0])), [ErrorCode.NONE]);
        assertEquals(codes(await batched(true, [0])), [ErrorCode.NONE]);
      } finally {
        conn.close();
      }
    });
  },
});

Deno.test({
  name:
    "transactions CLI: list, describe, describe-producers, find-hanging and abort of hanging transactions",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withNode(async (node) => {
      const cli = (...args: string[]) =>
        runMain(["transactions", "--bootstrap-server", node.bootstrap, ...args]);
      const rows = (stdout: string) =>
        stdout.trimEnd().split("\n").map((line) => line.split("\t").map((c) => c.trim()));
      await scenario(node, "commit-one", "hung", "first", "done-1");
      await scenario(node, "open-and-die", "hung", "hanging", "open-1", "60000");

      const list = await cli("list");
      assertEquals(list.code, 0, list.stderr);
      assertEquals(rows(list.stdout).map((r) => [r[0], r[1], r[3]]), [
        ["TransactionalId", "Coordinator", "TransactionState"],
        ["done-1", "1", "CompleteCommit"],
        ["open-1", "1", "Ongoing"],
      ]);

      const described = await cli("describe", "--transactional-id", "open-1");
      assertEquals(described.code, 0, described.stderr);
      const [header, row] = rows(described.stdout);
      assertEquals(header![8], "TopicPartitions");
      assertEquals([row![1], row![3], row![4], row![5], row![8]], [
        "open-1",
        "0",
        "Ongoing",
        "60000",
        "hung-0",
      ]);

      const missing = await cli("describe", "--transactional-id", "nobody");
      assertEquals(missing.code, 1);
      assertEquals(
        missing.stderr.trim(),
        "Failed to describe transaction state of transactional-id `nobody`: The transactionalId " +
          "could not be found. Enable debug logging for additional detail.",
      );

      const producers = await cli("describe-producers", "--topic", "hung", "--partition", "0");
      assertEquals(producers.code, 0, producers.stderr);
      const open = rows(producers.stdout).slice(1).find((r) => r[5] !== "None");
      // Offset 0 is "first", 1 its COMMIT marker: the hanging transaction starts at 2.
      assertEquals(open?.[5], "2");

      const wrong = await cli(
        "abort",
        "--topic",
        "hung",
        "--partition",
        "0",
        "--start-offset",
        "0",
      );
      assertEquals(wrong.code, 1);
      assertEquals(
        wrong.stderr.trim(),
        "Could not find any open transactions starting at offset 0 on partition hung-0",
      );
      // An open transaction its coordinator counts as its own is not hanging.
      const notHanging = await cli(
        "find-hanging",
        "--topic",
        "hung",
        "--max-transaction-timeout",
        "0",
      );
      assertEquals(notHanging.code, 0, notHanging.stderr);
      assertEquals(rows(notHanging.stdout).length, 1, notHanging.stdout);

      const aborted = await cli(
        "abort",
        "--topic",
        "hung",
        "--partition",
        "0",
        "--start-offset",
        "2",
      );
      assertEquals(aborted.code, 0, aborted.stderr);
      await scenario(node, "commit-one", "hung", "after-abort", "done-1");
      const r = await scenario(node, "read", "hung", "read_committed", "2");
      assertEquals(r.values, ["first", "after-abort"]);

      // A transactional batch of a producer no coordinator knows: hanging until aborted by hand.
      const conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
      try {
        const created = await conn.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
          topics: [
            createCreatableTopic({ name: "orphan", numPartitions: 1, replicationFactor: 1 }),
          ],
          timeoutMs: 10_000,
        });
        assertEquals(created.topics[0]!.errorCode, ErrorCode.NONE);
        const orphan = await initProducer(conn);
        const written = await txnFrames("orphan").produce(
          conn,
          txnBatch(["lost"], orphan, 0, true),
        );
        assertEquals(written.errorCode, ErrorCode.NONE);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const found = await cli(
          "find-hanging",
          "--topic",
          "orphan",
          "--max-transaction-timeout",
          "0",
        );
        assertEquals(found.code, 0, found.stderr);
        const [foundHeader, hangingRow] = rows(found.stdout);
        assertEquals(foundHeader, [
          "Topic",
          "Partition",
          "ProducerId",
          "ProducerEpoch",
          "CoordinatorEpoch",
          "StartOffset",
          "LastTimestamp",
          "Duration(min)",
          "",
        ]);
        assertEquals(hangingRow!.slice(0, 6), ["orphan", "0", String(orphan.id), "0", "-1", "0"]);
        const byBroker = await cli(
          "find-hanging",
          "--broker-id",
          "1",
          "--max-transaction-timeout",
          "0",
        );
        assertEquals(rows(byBroker.stdout).slice(1).map((row) => row[0]), ["orphan"]);
        const fixed = await cli(
          "abort",
          "--topic",
          "orphan",
          "--partition",
          "0",
          "--start-offset",
          "0",
        );
        assertEquals(fixed.code, 0, fixed.stderr);
        const after = await cli(
          "find-hanging",
          "--topic",
          "orphan",
          "--max-transaction-timeout",
          "0",
        );
        assertEquals(rows(after.stdout).length, 1, after.stdout);
        const scope = await cli("find-hanging");
        assertEquals(
          [scope.code, scope.stderr.trim()],
          [
            1,
            "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search",
          ],
        );
      } finally {
        conn.close();
      }
    });
  },
});

/** The copy-app scenario as a child process whose progress lines can be awaited. */
function startCopyApp(node: TestNode, total: number) {
  const child = new Deno.Command("/usr/bin/python3", {
    args: [SCRIPT, node.bootstrap, "copy-app", "in", "out", String(total), "copier-1"],
    env: { PYTHONDONTWRITEBYTECODE: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let committedTo = 0;
  const lines = (async () => {
    let buffered = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const line of parts) {
        const progress = JSON.parse(line);
        if (typeof progress.committed_to === "number") committedTo = progress.committed_to;
      }
    }
  })();
  return {
    committedTo: () => committedTo,
    /** The exit code, or null when still running after `timeoutMs` (then it is killed). */
    async exit(timeoutMs: number): Promise<number | null> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      });
      const status = await Promise.race([child.status, timedOut]);
      clearTimeout(timer);
      if (status === null) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
        await child.status;
      }
      await lines;
      return status === null ? null : status.code;
    },
  };
}

Deno.test({
  name:
    "kill -9 mid-stream: a restarted consume-transform-produce app copies every record exactly once",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const total = 300;
    await withNode(async (node) => {
      await scenario(node, "seed", "in", String(total));
      let app = startCopyApp(node, total);
      await eventually(
        "the app copying",
        () => Promise.resolve(app.committedTo() >= 60 ? 1 : null),
      );
      await node.kill();
      await node.restart();
      let code = await app.exit(20_000);
      for (let restarts = 0; code !== 0 && restarts < 5; restarts++) {
        app = startCopyApp(node, total);
        code = await app.exit(60_000);
      }
      assertEquals(code, 0, "the app finished after restarts");
      const r = await scenario(node, "read", "out", "read_committed", String(total));
      assertEquals(r.values, Array.from({ length: total }, (_, i) => `V${i}`));
      // Every transaction's offsets reached the log: a reloaded group coordinator has the last.
      await node.kill();
      await node.restart();
      assertEquals((await scenario(node, "committed", "copier", "in")).offset, total);
    });
  },
});

Deno.test({
  name:
    "3 broker processes: the coordinator's broker is killed with kill -9 mid-stream, another loads the state, exactly once",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const total = 200;
    const cluster = await startProcessCluster({
      controllers: 1,
      brokers: 3,
      props: {
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "500",
      },
    });
    const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
    const clusterNode = { bootstrap: cluster.bootstrapServers } as TestNode;
    try {
      await scenario(clusterNode, "seed", "in", String(total));
      let app = startCopyApp(clusterNode, total);
      await eventually(
        "the app copying",
        () => Promise.resolve(app.committedTo() >= 40 ? 1 : null),
      );
      const coordinator = await admin.cluster.coordinatorFor("copier-1", 1);
      await cluster.node(coordinator).kill();
      let code = await app.exit(30_000);
      for (let restarts = 0; code !== 0 && restarts < 5; restarts++) {
        app = startCopyApp(clusterNode, total);
        code = await app.exit(60_000);
      }
      assertEquals(code, 0, "the app finished after restarts");
      admin.cluster.forgetCoordinator("copier-1", 1);
      const moved = await admin.cluster.coordinatorFor("copier-1", 1);
      ok(moved !== coordinator, `the coordinator moved off broker ${coordinator}`);
      const r = await scenario(clusterNode, "read", "out", "read_committed", String(total));
      assertEquals(r.values, Array.from({ length: total }, (_, i) => `V${i}`));
    } finally {
      admin.close();
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "@platformatic/kafka transactions: commit and abort, read_committed sees the commits",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withNode(async (node) => {
      const bootstrapBrokers = [node.bootstrap];
      const admin = new PlatformaticAdmin({ clientId: "plat-admin", bootstrapBrokers });
      await admin.createTopics({ topics: ["plat-txn"], partitions: 1, replicas: 1 });
      await admin.close();
      const producer = new PlatformaticProducer({
        clientId: "plat-txn",
        bootstrapBrokers,
        serializers: stringSerializers,
        idempotent: true,
        transactionalId: "plat-tx-1",
      });
      try {
        const committed = await producer.beginTransaction();
        await committed.send({ messages: [{ topic: "plat-txn", value: "kept-1" }] });
        await committed.send({ messages: [{ topic: "plat-txn", value: "kept-2" }] });
        await committed.commit();
        const aborted = await producer.beginTransaction();
        await aborted.send({ messages: [{ topic: "plat-txn", value: "dropped" }] });
        await aborted.abort();
        const last = await producer.beginTransaction();
        await last.send({ messages: [{ topic: "plat-txn", value: "kept-3" }] });
        await last.commit();
      } finally {
        await producer.close();
      }
      const read = async (isolationLevel: number, count: number) => {
        const consumer = new PlatformaticConsumer({
          groupId: `plat-reader-${isolationLevel}`,
          clientId: "plat-reader",
          bootstrapBrokers,
          deserializers: stringDeserializers,
        });
        const values: string[] = [];
        try {
          const stream = await consumer.consume({
            topics: ["plat-txn"],
            mode: "earliest",
            isolationLevel,
            maxWaitTime: 500,
          });
          // Bounded: the stream is closed (ending the loop) if the records never come.
          const timer = setTimeout(() => void stream.close(), WAIT_MS_MAX);
          for await (const message of stream) {
            values.push(message.value);
            if (values.length >= count) break;
          }
          clearTimeout(timer);
          await stream.close();
        } finally {
          await consumer.close(true);
        }
        return values;
      };
      // READ_COMMITTED is 1, READ_UNCOMMITTED 0 (Kafka's IsolationLevel ids).
      assertEquals(await read(1, 3), ["kept-1", "kept-2", "kept-3"]);
      assertEquals(await read(0, 4), ["kept-1", "kept-2", "dropped", "kept-3"]);
    });
  },
});
