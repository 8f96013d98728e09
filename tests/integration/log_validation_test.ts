// Issue 16 against a real node: batches whose header max timestamp is -1 (Sarama before 2025) or
// wrong are stored with the max of their records, so ListOffsets by time, `get-offsets --time`,
// `consumer-groups --reset-offsets --to-datetime`, the time index and `dump-log` answer what Kafka
// answers; and every refusal of Kafka's LogValidator comes back with Kafka's error code (and, in
// Produce v8+, the KIP-467 record errors), with nothing appended.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { hasPythonModule, runMain, startNode, type TestNode } from "./harness.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import {
  createCreatableTopic,
  createCreatableTopicConfig,
} from "../../net/protocol/generated/create_topics_request.ts";
import {
  createListOffsetsPartition,
  createListOffsetsTopic,
} from "../../net/protocol/generated/list_offsets_request.ts";
import {
  createPartitionProduceData,
  createTopicProduceData,
} from "../../net/protocol/generated/produce_request.ts";
import type { ListOffsetsResponse } from "../../net/protocol/generated/list_offsets_response.ts";
import type {
  PartitionProduceResponse,
  ProduceResponse,
} from "../../net/protocol/generated/produce_response.ts";
import { computeBatchCrc, CRC_OFFSET } from "../../net/protocol/record_batch.ts";
import { encodeBatch, type Record as BatchRecord } from "../../net/protocol/records.ts";

/** Records are an hour old: well inside Kafka's default bounds, outside a 1-minute bound. */
const T0_MS = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];
const BATCHES = 10;

function record(i: number, timestampDelta: number, key: string | null = "k"): BatchRecord {
  return {
    offsetDelta: i,
    timestampDelta,
    key: key === null ? null : new TextEncoder().encode(key),
    value: new TextEncoder().encode(`value-${i}`),
    headers: [],
  };
}

/** Batch i: records at T0 + i s + 0/10/20 ms, codec i % 5, header max -1 (i < 5) or far too high. */
function craftedBatch(i: number): Uint8Array {
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: T0_MS + i * 1000,
    maxTimestamp: i < 5 ? -1 : T0_MS + 10_000_000,
    compression: i % 5,
    records: [0, 10, 20].map((d, n) => record(n, d)),
  });
}

async function produce(
  conn: KafkaConnection,
  topic: string,
  records: Uint8Array,
  version = 9,
): Promise<PartitionProduceResponse> {
  const r = await conn.send<ProduceResponse>(ApiKey.PRODUCE, {
    acks: -1,
    timeoutMs: 10_000,
    topicData: [createTopicProduceData({
      name: topic,
      partitionData: [createPartitionProduceData({ index: 0, records })],
    })],
  }, { version });
  return r.responses[0]!.partitionResponses[0]!;
}

async function listOffset(
  conn: KafkaConnection,
  topic: string,
  timestamp: number,
): Promise<{ offset: number; timestamp: number; errorCode: number }> {
  const r = await conn.send<ListOffsetsResponse>(ApiKey.LIST_OFFSETS, {
    replicaId: -1,
    topics: [createListOffsetsTopic({
      name: topic,
      partitions: [createListOffsetsPartition({
        partitionIndex: 0,
        currentLeaderEpoch: -1,
        timestamp: BigInt(timestamp),
      })],
    })],
  }, { version: 8 });
  const p = r.topics[0]!.partitions[0]!;
  return { offset: Number(p.offset), timestamp: Number(p.timestamp), errorCode: p.errorCode };
}

async function createTopics(
  conn: KafkaConnection,
  topics: { name: string; configs?: Record<string, string> }[],
): Promise<void> {
  const created = await conn.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
    topics: topics.map((t) =>
      createCreatableTopic({
        name: t.name,
        numPartitions: 1,
        replicationFactor: 1,
        configs: Object.entries(t.configs ?? {}).map(([name, value]) =>
          createCreatableTopicConfig({ name, value })
        ),
      })
    ),
    timeoutMs: 10_000,
  });
  assertEquals(created.topics.map((t) => [t.name, t.errorCode]), topics.map((t) => [t.name, 0]));
}

/** Retries `body` until it stops throwing (a new topic's leader may still be opening). */
async function eventually<T>(body: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await body();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

Deno.test({
  name: "batches with a -1 or wrong header max timestamp are found by time as Kafka finds them",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await startNode();
    const conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
    try {
      // index.interval.bytes=1: one time index entry per batch, so the index shows every batch.
      await createTopics(conn, [{ name: "sarama", configs: { "index.interval.bytes": "1" } }]);
      for (let i = 0; i < BATCHES; i++) {
        const p = await eventually(async () => {
          const r = await produce(conn, "sarama", craftedBatch(i));
          if (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) throw new Error("not yet");
          return r;
        });
        assertEquals([p.errorCode, Number(p.baseOffset)], [0, 3 * i], `batch ${i}`);
      }

      await t.step("ListOffsets by time finds the first record at or after the time", async () => {
        // Batch i holds offsets 3i..3i+2 at T0 + i s + 0/10/20 ms.
        assertEquals(await listOffset(conn, "sarama", T0_MS + 4_015), {
          offset: 14,
          timestamp: T0_MS + 4_020,
          errorCode: 0,
        });
        assertEquals(await listOffset(conn, "sarama", T0_MS + 7_005), {
          offset: 22,
          timestamp: T0_MS + 7_010,
          errorCode: 0,
        });
        assertEquals(await listOffset(conn, "sarama", T0_MS - 1), {
          offset: 0,
          timestamp: T0_MS,
          errorCode: 0,
        });
        assertEquals(await listOffset(conn, "sarama", T0_MS + 9_021), {
          offset: -1,
          timestamp: -1,
          errorCode: 0,
        });
        // MAX_TIMESTAMP (KIP-734): the corrected header max, not the client's T0 + 10^7.
        assertEquals(await listOffset(conn, "sarama", -3), {
          offset: 29,
          timestamp: T0_MS + 9_020,
          errorCode: 0,
        });
      });

      await t.step("get-offsets --time prints the same offsets", async () => {
        const b = ["--bootstrap-server", node.bootstrap, "--topic", "sarama"];
        const r = await runMain(["get-offsets", ...b, "--time", String(T0_MS + 4_015)]);
        assertEquals([r.code, r.stdout.trim()], [0, "sarama:0:14"]);
        // GetOffsetShell prints an empty offset when no record is that late.
        const none = await runMain(["get-offsets", ...b, "--time", String(T0_MS + 9_021)]);
        assertEquals([none.code, none.stdout.trim()], [0, "sarama:0:"]);
      });

      await t.step(
        "consumer-groups --reset-offsets --to-datetime moves to that record",
        async () => {
          const r = await runMain([
            "consumer-groups",
            "--bootstrap-server",
            node.bootstrap,
            "--group",
            "by-time",
            "--topic",
            "sarama",
            "--reset-offsets",
            "--to-datetime",
            isoOf(T0_MS + 7_005),
            "--execute",
          ]);
          assertEquals(r.code, 0, r.stderr);
          ok(/by-time\s+sarama\s+0\s+22\b/.test(r.stdout), r.stdout);
        },
      );

      await t.step("the time index and dump-log show the records' max timestamps", async () => {
        const dir = join(node.dataDir, "logs", "sarama-0");
        const index = await runMain([
          "dump-log",
          "--files",
          join(dir, "00000000000000000000.timeindex"),
        ]);
        assertEquals(index.code, 0, index.stderr);
        const entries = index.stdout.split("\n").filter((l) => l.startsWith("timestamp:"));
        assertEquals(
          entries,
          // As Kafka's LogSegment.append: the first batch of a segment makes no index entry.
          Array.from({ length: BATCHES - 1 }, (_, n) => n + 1).map((i) =>
            `timestamp: ${T0_MS + i * 1000 + 20} offset: ${3 * i + 2}`
          ),
        );
        const log = await runMain([
          "dump-log",
          "--deep-iteration",
          "--files",
          join(dir, "00000000000000000000.log"),
        ]);
        assertEquals(log.code, 0, log.stderr);
        const batchLines = log.stdout.split("\n").filter((l) => l.startsWith("baseOffset:"));
        assertEquals(batchLines.length, BATCHES);
        batchLines.forEach((line, i) => {
          ok(line.includes(`CreateTime: ${T0_MS + i * 1000 + 20} `), line);
          ok(line.includes(`compresscodec: ${CODEC_NAMES[i % 5]}`), line);
          ok(line.includes("isvalid: true"), line);
        });
      });
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      conn.close();
      await node.stop();
    }
  },
});

/** A batch around hand-written record bytes (for inputs no encoder writes). */
function batchAround(body: Uint8Array, count: number): Uint8Array {
  const shell = encodeBatch({ baseOffset: 0, baseTimestamp: Date.now(), records: [] });
  const out = new Uint8Array(shell.length + body.length);
  out.set(shell);
  out.set(body, shell.length);
  const view = new DataView(out.buffer);
  view.setInt32(8, out.length - 12);
  view.setInt32(23, count - 1);
  view.setInt32(57, count);
  view.setUint32(CRC_OFFSET, computeBatchCrc(out, 0));
  return out;
}

async function assertNothingAppended(conn: KafkaConnection, topic: string): Promise<void> {
  assertEquals((await listOffset(conn, topic, -1)).offset, 0, `${topic} log end`);
}

Deno.test({
  name:
    "each LogValidator refusal answers Kafka's error code and appends nothing; LogAppendTime topics stamp what they accept",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await startNode();
    const conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
    try {
      await createTopics(conn, [
        { name: "bounded", configs: { "message.timestamp.before.max.ms": "60000" } },
        { name: "compacted", configs: { "cleanup.policy": "compact" } },
        { name: "append-time", configs: { "message.timestamp.type": "LogAppendTime" } },
        { name: "plain" },
      ]);
      const now = Date.now();
      await eventually(async () => {
        const r = await produce(
          conn,
          "plain",
          encodeBatch({
            baseOffset: 0,
            baseTimestamp: now,
            records: [record(0, 0)],
          }),
        );
        if (r.errorCode !== 0) throw new Error(`plain: ${r.errorCode}`);
      });
      const plainEnd = 1;

      await t.step(
        "a timestamp older than message.timestamp.before.max.ms: INVALID_TIMESTAMP with record errors",
        async () => {
          const batch = encodeBatch({
            baseOffset: 0,
            baseTimestamp: now - 3_600_000,
            records: [record(0, 0), record(1, 3_600_000)],
          });
          const p = await eventually(async () => {
            const r = await produce(conn, "bounded", batch);
            if (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) throw new Error("not yet");
            return r;
          });
          assertEquals(p.errorCode, ErrorCode.INVALID_TIMESTAMP);
          assertEquals(
            p.errorMessage,
            "One or more records have been rejected due to invalid timestamp",
          );
          assertEquals(p.recordErrors.map((e) => e.batchIndex), [0]);
          ok(
            p.recordErrors[0]!.batchIndexErrorMessage!.startsWith(
              `Timestamp ${now - 3_600_000} of message with offset 0 is out of range.`,
            ),
          );
          // Produce v7 predates KIP-467: same code, no record errors on the wire.
          const old = await produce(conn, "bounded", batch, 7);
          assertEquals([old.errorCode, old.recordErrors.length], [ErrorCode.INVALID_TIMESTAMP, 0]);
          await assertNothingAppended(conn, "bounded");
        },
      );

      await t.step(
        "a record without a key on a compacted topic: INVALID_RECORD with record errors",
        async () => {
          for (const codec of [0, 1, 2, 3, 4]) {
            const p = await eventually(async () => {
              const r = await produce(
                conn,
                "compacted",
                encodeBatch({
                  baseOffset: 0,
                  baseTimestamp: now,
                  compression: codec,
                  records: [record(0, 0), record(1, 0, null)],
                }),
              );
              if (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) throw new Error("not yet");
              return r;
            });
            assertEquals(p.errorCode, ErrorCode.INVALID_RECORD, `codec ${codec}`);
            assertEquals(p.recordErrors.map((e) => [e.batchIndex, e.batchIndexErrorMessage]), [[
              1,
              "Compacted topic cannot accept message without key in topic partition compacted-0",
            ]]);
          }
          await assertNothingAppended(conn, "compacted");
        },
      );

      await t.step(
        "a producer-set LogAppendTime on a LogAppendTime topic: INVALID_TIMESTAMP",
        async () => {
          const p = await eventually(async () => {
            const r = await produce(
              conn,
              "append-time",
              encodeBatch({
                baseOffset: 0,
                baseTimestamp: now,
                timestampType: 1,
                records: [record(0, 0)],
              }),
            );
            if (r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) throw new Error("not yet");
            return r;
          });
          assertEquals([p.errorCode, p.recordErrors.length], [ErrorCode.INVALID_TIMESTAMP, 1]);
          await assertNothingAppended(conn, "append-time");
        },
      );

      await t.step(
        "a LogAppendTime topic stamps an accepted batch with the broker's time, whatever its header",
        async () => {
          const before = Date.now();
          const p = await produce(
            conn,
            "append-time",
            encodeBatch({
              baseOffset: 0,
              baseTimestamp: now - 3_600_000,
              maxTimestamp: -1,
              records: [record(0, 0), record(1, 5)],
            }),
          );
          const after = Date.now();
          assertEquals(p.errorCode, 0);
          const stampedMs = Number(p.logAppendTimeMs);
          ok(stampedMs >= before && stampedMs <= after, `${stampedMs} in [${before}, ${after}]`);
          const dump = await runMain([
            "dump-log",
            "--files",
            join(node.dataDir, "logs", "append-time-0", "00000000000000000000.log"),
          ]);
          ok(dump.stdout.includes(`LogAppendTime: ${stampedMs} `), dump.stdout);
          assertEquals(await listOffset(conn, "append-time", stampedMs), {
            offset: 0,
            timestamp: stampedMs,
            errorCode: 0,
          });
        },
      );

      await t.step(
        "malformed batches: INVALID_RECORD or CORRUPT_MESSAGE, no record errors",
        async () => {
          const countMismatch = encodeBatch({
            baseOffset: 0,
            baseTimestamp: now,
            lastOffsetDelta: 4,
            records: [record(0, 0), record(1, 0)],
          });
          // One record whose only header has a null key (length -1): no client can send this.
          const nullHeaderKey = batchAround(new Uint8Array([16, 0, 0, 0, 1, 1, 2, 1, 1]), 1);
          const badCrc = encodeBatch({
            baseOffset: 0,
            baseTimestamp: now,
            records: [record(0, 0)],
          });
          badCrc[badCrc.length - 1]! ^= 0xff;
          const notAtZero = encodeBatch({
            baseOffset: 5,
            baseTimestamp: now,
            records: [record(0, 0)],
          });
          const cases: [string, Uint8Array, number, string][] = [
            [
              "count mismatch",
              countMismatch,
              ErrorCode.INVALID_RECORD,
              "Inconsistent batch offset range [0, 4] and count of records 2 in topic partition plain-0",
            ],
            [
              "null header key",
              nullHeaderKey,
              ErrorCode.INVALID_RECORD,
              "Invalid negative header key size -1",
            ],
            ["bad crc", badCrc, ErrorCode.CORRUPT_MESSAGE, ""],
            [
              "base offset",
              notAtZero,
              ErrorCode.INVALID_RECORD,
              "The baseOffset of the record batch in the append to plain-0 should be 0, but it is 5",
            ],
          ];
          for (const [name, batch, code, message] of cases) {
            const p = await produce(conn, "plain", batch);
            assertEquals([p.errorCode, p.recordErrors.length], [code, 0], name);
            if (message !== "") assertEquals(p.errorMessage, message, name);
          }
          assertEquals((await listOffset(conn, "plain", -1)).offset, plainEnd);
        },
      );
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      conn.close();
      await node.stop();
    }
  },
});

const noPython = !hasPythonModule("confluent_kafka");
if (noPython) console.warn("log_validation_test: confluent-kafka test skipped (module missing)");

/** librdkafka's delivery reports for a keyless record to a compacted topic and an old timestamp. */
const PYTHON_REFUSALS = `
import json, sys
from confluent_kafka import Producer
bootstrap, now = sys.argv[1], int(sys.argv[2])
reports = {}
def report(name):
    def cb(err, msg):
        reports[name] = None if err is None else err.code()
    return cb
p = Producer({"bootstrap.servers": bootstrap, "retries": 0, "linger.ms": 0})
# One message per request: Kafka refuses a whole batch when one of its records is bad.
for name, topic, kwargs in [
    ("keyless", "compacted", {}),
    ("keyed", "compacted", {"key": b"k"}),
    ("old", "bounded", {"timestamp": now - 3600000}),
    ("fresh", "bounded", {"timestamp": now}),
]:
    p.produce(topic, value=name.encode(), on_delivery=report(name), **kwargs)
    p.flush(30)
print(json.dumps(reports))
`;

Deno.test({
  name: "librdkafka sees INVALID_RECORD and INVALID_TIMESTAMP for what it can send",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const node: TestNode = await startNode();
    const conn = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
    try {
      await createTopics(conn, [
        { name: "bounded", configs: { "message.timestamp.before.max.ms": "60000" } },
        { name: "compacted", configs: { "cleanup.policy": "compact" } },
      ]);
      const child = new Deno.Command("/usr/bin/python3", {
        args: ["-c", PYTHON_REFUSALS, node.bootstrap, String(Date.now())],
        env: { PYTHONDONTWRITEBYTECODE: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const out = await child.output();
      clearTimeout(timer);
      const stdout = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(JSON.parse(stdout), {
        keyless: ErrorCode.INVALID_RECORD,
        keyed: null,
        old: ErrorCode.INVALID_TIMESTAMP,
        fresh: null,
      });
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      conn.close();
      await node.stop();
    }
  },
});
