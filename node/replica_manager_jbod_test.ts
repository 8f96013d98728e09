// JBOD (KIP-858, KIP-112): placement over several log dirs, AssignReplicasToDirs, and what a
// failed log dir does to the replicas in it.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as path from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  MetadataVersion,
  RecordType,
} from "../core/metadata/records.ts";
import { DIRECTORY_UNASSIGNED } from "../core/metadata/image.ts";
import type { RequestContext } from "../net/dispatcher.ts";
import { produceHandler } from "../net/handlers/produce.ts";
import { fetchHandler } from "../net/handlers/fetch.ts";
import { describeLogDirsHandler } from "../net/handlers/describe_log_dirs.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { createFeatureLevelRecord } from "../net/protocol/generated/feature_level_record.ts";
import { createPartitionRecord } from "../net/protocol/generated/partition_record.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import type { AssignReplicasToDirsRequest } from "../net/protocol/generated/assign_replicas_to_dirs_request.ts";
import {
  createPartitionProduceData,
  createProduceRequest,
  createTopicProduceData,
} from "../net/protocol/generated/produce_request.ts";
import type { ProduceResponse } from "../net/protocol/generated/produce_response.ts";
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
} from "../net/protocol/generated/fetch_request.ts";
import type { FetchResponse } from "../net/protocol/generated/fetch_response.ts";
import { createDescribeLogDirsRequest } from "../net/protocol/generated/describe_log_dirs_request.ts";
import type { DescribeLogDirsResponse } from "../net/protocol/generated/describe_log_dirs_response.ts";
import { encodeBatch } from "../net/protocol/records.ts";
import type { BrokerContext } from "./broker_context.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import { encodeMetadataRecord, MetadataState } from "./metadata_state.ts";
import { ReplicaManager } from "./replica_manager.ts";

const TOPIC_ID = "q1Sh-9_ISia_fV4lGz8fqw";
const DIR_A_ID = "ZGlyLWEtMDAwMDAwMDAwMA";
const DIR_B_ID = "ZGlyLWItMDAwMDAwMDAwMA";

/** Broker 1 with log dirs a and b, an image fed by hand, a controller that records requests. */
class Harness {
  readonly metadata = new MetadataState(silentLogger);
  readonly dirA: string;
  readonly dirB: string;
  readonly rm: ReplicaManager;
  readonly assignRequests: AssignReplicasToDirsRequest[] = [];
  readonly failures: { logDir: string; directoryId: string | null }[] = [];
  readonly fatal: string[] = [];
  #offset = 0;

  constructor(root: string, options: { failedAtStart?: ("a" | "b")[] } = {}) {
    this.dirA = path.join(root, "a");
    this.dirB = path.join(root, "b");
    const { config } = parseServerConfig(
      new Map([
        ["process.roles", "broker"],
        ["node.id", "1"],
        ["controller.quorum.voters", "0@localhost:9093"],
        ["controller.listener.names", "CONTROLLER"],
        ["listeners", "PLAINTEXT://localhost:9092"],
        ["log.dirs", `${this.dirA},${this.dirB}`],
        ["metadata.log.dir", path.join(root, "meta")],
        ["replica.high.watermark.checkpoint.interval.ms", "50"],
      ]),
    );
    const controller = {
      send: (apiKey: number, body: unknown) => {
        if (apiKey !== ApiKey.ASSIGN_REPLICAS_TO_DIRS) throw new Error(`unexpected ${apiKey}`);
        const request = body as AssignReplicasToDirsRequest;
        this.assignRequests.push(request);
        return Promise.resolve({
          throttleTimeMs: 0,
          errorCode: 0,
          directories: request.directories.map((d) => ({
            id: d.id,
            topics: d.topics.map((t) => ({
              topicId: t.topicId,
              partitions: t.partitions.map((p) => ({
                partitionIndex: p.partitionIndex,
                errorCode: 0,
              })),
            })),
          })),
        });
      },
    } as unknown as ControllerChannel;
    const ctx: BrokerContext = {
      config,
      logger: silentLogger,
      nodeId: 1,
      clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
      metadata: this.metadata,
      controller,
      brokerEpoch: () => 7n,
    };
    this.rm = new ReplicaManager(ctx, {
      directoryIds: new Map([[this.dirA, DIR_A_ID], [this.dirB, DIR_B_ID]]),
      failedLogDirs: (options.failedAtStart ?? []).map((d) => path.join(root, d)),
      onLogDirFailure: (failure) => this.failures.push(failure),
      onFatal: (reason) => this.fatal.push(reason),
    });
  }

  apply(records: MetadataRecord[]): void {
    this.metadata.applyEntries(records.map((r) => ({
      offset: this.#offset++,
      epoch: 1,
      payload: encodeMetadataRecord(r),
    })));
  }

  /** Where each partition's log lives: "a" or "b". */
  placement(partitions: number): string[] {
    return Array.from(
      { length: partitions },
      (_, i) => path.basename(this.rm.hostedPartition("orders", i)!.logDir),
    );
  }
}

/** Topic `orders` led by broker 1 with `directories[i]` as partition i's directory. */
function topicRecords(directories: string[]): MetadataRecord[] {
  return [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({
        name: METADATA_VERSION_FEATURE,
        featureLevel: MetadataVersion.IBP_3_9_IV0,
      }),
    ),
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "orders", topicId: TOPIC_ID })),
    ...directories.map((dir, partitionId) =>
      makeRecord(
        RecordType.PARTITION,
        1,
        createPartitionRecord({
          partitionId,
          topicId: TOPIC_ID,
          replicas: [1],
          isr: [1],
          leader: 1,
          leaderEpoch: 0,
          partitionEpoch: 0,
          directories: [dir],
        }),
      )
    ),
  ];
}

async function withHarness(
  directories: string[],
  fn: (h: Harness) => Promise<void>,
  options: { failedAtStart?: ("a" | "b")[] } = {},
): Promise<void> {
  const root = await Deno.makeTempDir();
  const h = new Harness(root, options);
  h.apply(topicRecords(directories));
  await h.rm.start();
  try {
    await fn(h);
  } finally {
    await h.rm.close();
    await Deno.remove(root, { recursive: true });
  }
}

function ctxOf(apiVersion: number): RequestContext {
  return {
    listenerName: "PLAINTEXT",
    clientHost: "127.0.0.1",
    connectionId: 1,
    apiVersion,
    header: { requestApiKey: 0, requestApiVersion: apiVersion, correlationId: 1, clientId: "t" },
  } as unknown as RequestContext;
}

function batch(): Uint8Array {
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: 1_000,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: null,
      value: new Uint8Array(8),
      headers: [],
    }],
  });
}

async function produce(h: Harness, partition: number): Promise<number> {
  const response = await produceHandler(h.rm).handle(
    createProduceRequest({
      acks: 1,
      timeoutMs: 1000,
      topicData: [createTopicProduceData({
        name: "orders",
        partitionData: [createPartitionProduceData({ index: partition, records: batch() })],
      })],
    }),
    ctxOf(9),
  ) as ProduceResponse;
  return response.responses[0]!.partitionResponses[0]!.errorCode;
}

async function fetchError(h: Harness, partition: number): Promise<number> {
  const response = await fetchHandler(h.rm).handle(
    createFetchRequest({
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      sessionEpoch: -1,
      topics: [createFetchTopic({
        topic: "orders",
        partitions: [
          createFetchPartition({ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }),
        ],
      })],
    }),
    ctxOf(12),
  ) as FetchResponse;
  return response.responses[0]!.partitions[0]!.errorCode;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("new replicas spread over the log dirs and the controller is told each one's directory", async () => {
  const unassigned = Array.from({ length: 6 }, () => DIRECTORY_UNASSIGNED);
  await withHarness(unassigned, async (h) => {
    const placed = h.placement(6);
    assertEquals(placed.filter((d) => d === "a").length, 3, `placed ${placed}`);
    assertEquals(placed.filter((d) => d === "b").length, 3, `placed ${placed}`);
    assert(await h.rm.assignmentsSettled(5_000), "assignments were sent and answered");
    const told = new Map<number, string>();
    for (const r of h.assignRequests) {
      assertEquals([r.brokerId, r.brokerEpoch], [1, 7n]);
      for (const d of r.directories) {
        for (const t of d.topics) for (const p of t.partitions) told.set(p.partitionIndex, d.id);
      }
    }
    assertEquals(
      [...told].sort(([a], [b]) => a - b).map(([, id]) => id),
      placed.map((d) => (d === "a" ? DIR_A_ID : DIR_B_ID)),
    );
  });
});

Deno.test("a replica goes to the online directory the image names, and nothing is sent for it", async () => {
  await withHarness([DIR_B_ID, DIR_B_ID, DIR_B_ID], async (h) => {
    assertEquals(h.placement(3), ["b", "b", "b"]);
    assert(await h.rm.assignmentsSettled(2_000));
    assertEquals(h.assignRequests, []);
  });
});

Deno.test("a failed log dir takes only its replicas offline and is reported; the other dir keeps serving", async () => {
  await withHarness([DIR_A_ID, DIR_B_ID], async (h) => {
    assertEquals(await produce(h, 0), ErrorCode.NONE);
    assertEquals(await produce(h, 1), ErrorCode.NONE);
    // The disk under dir a goes away: the next write there (the high watermark checkpoint) fails.
    // (Moved away atomically: the broker may be writing into it at this very moment.)
    await Deno.rename(h.dirA, `${h.dirA}.gone`);
    await Deno.writeTextFile(h.dirA, "not a directory any more");
    await until(() => h.failures.length > 0, "dir a is reported offline");
    assertEquals(h.failures, [{ logDir: h.dirA, directoryId: DIR_A_ID }]);
    assertEquals(h.fatal, []);
    assertEquals(h.rm.offlineLogDirs(), [h.dirA]);
    assertEquals(h.rm.offlineReplicas(), ["orders-0"]);
    assertEquals(await produce(h, 0), ErrorCode.KAFKA_STORAGE_ERROR);
    assertEquals(await fetchError(h, 0), ErrorCode.KAFKA_STORAGE_ERROR);
    assertEquals(await produce(h, 1), ErrorCode.NONE);
    assertEquals(await fetchError(h, 1), ErrorCode.NONE);
    const dirs = await describeLogDirsHandler(h.rm).handle(
      createDescribeLogDirsRequest({ topics: null }),
      ctxOf(4),
    ) as DescribeLogDirsResponse;
    assertEquals(
      dirs.results.map((r) => [r.logDir, r.errorCode, r.topics.length]),
      [[h.dirA, ErrorCode.KAFKA_STORAGE_ERROR, 0], [h.dirB, ErrorCode.NONE, 1]],
    );
    // A later image change does not bring the replica back on the healthy disk.
    h.apply([makeRecord(
      RecordType.PARTITION,
      1,
      createPartitionRecord({
        partitionId: 0,
        topicId: TOPIC_ID,
        replicas: [1],
        isr: [1],
        leader: 1,
        leaderEpoch: 1,
        partitionEpoch: 1,
        directories: [DIR_A_ID],
      }),
    )]);
    await h.rm.settled();
    assertEquals(h.rm.hostedPartition("orders", 0), undefined);
    assertEquals(await produce(h, 0), ErrorCode.KAFKA_STORAGE_ERROR);
  });
});

Deno.test("when the last log dir fails too, the broker is told to stop", async () => {
  await withHarness([DIR_A_ID, DIR_B_ID], async (h) => {
    await Deno.rename(h.dirA, `${h.dirA}.gone`);
    await until(() => h.failures.length === 1, "dir a is reported offline");
    await Deno.rename(h.dirB, `${h.dirB}.gone`);
    await until(() => h.fatal.length === 1, "the broker is told to stop");
    assertEquals(h.failures.length, 1, "the last dir is not reported: the broker stops instead");
    assert(h.fatal[0]!.includes("Every log directory"), h.fatal[0]);
  });
});

Deno.test("a log dir unreadable at start-up is offline from the start: replicas the metadata placed are never recreated empty", async () => {
  // Partition 0 lives in dir a (unreadable now); partition 1 is placed in dir b but its log is
  // missing there; partition 2 is new (no directory yet). Kafka creates only the new one while a
  // directory is offline: the others may be on the failed disk.
  await withHarness([DIR_A_ID, DIR_B_ID, DIRECTORY_UNASSIGNED], async (h) => {
    assertEquals(h.rm.offlineLogDirs(), [h.dirA]);
    assertEquals(h.rm.hostedPartition("orders", 0), undefined);
    assertEquals(h.rm.hostedPartition("orders", 1), undefined);
    assertEquals(h.rm.offlineReplicas().sort(), ["orders-0", "orders-1"]);
    assertEquals(await produce(h, 0), ErrorCode.KAFKA_STORAGE_ERROR);
    assertEquals(await produce(h, 1), ErrorCode.KAFKA_STORAGE_ERROR);
    assertEquals(path.basename(h.rm.hostedPartition("orders", 2)!.logDir), "b");
    assertEquals(await produce(h, 2), ErrorCode.NONE);
    const dirs = await describeLogDirsHandler(h.rm).handle(
      createDescribeLogDirsRequest({ topics: null }),
      ctxOf(4),
    ) as DescribeLogDirsResponse;
    assertEquals(
      dirs.results.map((r) => [r.logDir, r.errorCode]),
      [[h.dirA, ErrorCode.KAFKA_STORAGE_ERROR], [h.dirB, ErrorCode.NONE]],
    );
    assertEquals(h.fatal, []);
  }, { failedAtStart: ["a"] });
});
