import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as path from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  MetadataVersion,
  RecordType,
} from "../core/metadata/records.ts";
import type { MetadataRecord } from "../core/metadata/records.ts";
import type { RequestContext } from "../net/dispatcher.ts";
import { produceHandler } from "../net/handlers/produce.ts";
import { fetchHandler } from "../net/handlers/fetch.ts";
import { listOffsetsHandler } from "../net/handlers/list_offsets.ts";
import { deleteRecordsHandler } from "../net/handlers/delete_records.ts";
import { describeLogDirsHandler } from "../net/handlers/describe_log_dirs.ts";
import { initProducerIdHandler } from "../net/handlers/init_producer_id.ts";
import { offsetForLeaderEpochHandler } from "../net/handlers/offset_for_leader_epoch.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { createFeatureLevelRecord } from "../net/protocol/generated/feature_level_record.ts";
import { createPartitionChangeRecord } from "../net/protocol/generated/partition_change_record.ts";
import { createPartitionRecord } from "../net/protocol/generated/partition_record.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../net/protocol/generated/register_broker_record.ts";
import { createConfigRecord } from "../net/protocol/generated/config_record.ts";
import { createRemoveTopicRecord } from "../net/protocol/generated/remove_topic_record.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import {
  createPartitionProduceData,
  createProduceRequest,
  createTopicProduceData,
  type ProduceRequest,
} from "../net/protocol/generated/produce_request.ts";
import type { ProduceResponse } from "../net/protocol/generated/produce_response.ts";
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchRequest,
} from "../net/protocol/generated/fetch_request.ts";
import type { FetchResponse } from "../net/protocol/generated/fetch_response.ts";
import {
  createListOffsetsPartition,
  createListOffsetsRequest,
  createListOffsetsTopic,
} from "../net/protocol/generated/list_offsets_request.ts";
import type { ListOffsetsResponse } from "../net/protocol/generated/list_offsets_response.ts";
import {
  createDeleteRecordsPartition,
  createDeleteRecordsRequest,
  createDeleteRecordsTopic,
} from "../net/protocol/generated/delete_records_request.ts";
import type { DeleteRecordsResponse } from "../net/protocol/generated/delete_records_response.ts";
import { createDescribeLogDirsRequest } from "../net/protocol/generated/describe_log_dirs_request.ts";
import type { DescribeLogDirsResponse } from "../net/protocol/generated/describe_log_dirs_response.ts";
import { createInitProducerIdRequest } from "../net/protocol/generated/init_producer_id_request.ts";
import type { InitProducerIdResponse } from "../net/protocol/generated/init_producer_id_response.ts";
import {
  createOffsetForLeaderEpochRequest,
  createOffsetForLeaderPartition,
  createOffsetForLeaderTopic,
} from "../net/protocol/generated/offset_for_leader_epoch_request.ts";
import type { OffsetForLeaderEpochResponse } from "../net/protocol/generated/offset_for_leader_epoch_response.ts";
import { encodeBatch } from "../net/protocol/records.ts";
import { batchesIn, readBatchHeader } from "../net/protocol/record_batch.ts";
import { encodeMessageSet } from "../net/protocol/message_set.ts";
import type { BrokerContext } from "./broker_context.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import { encodeMetadataRecord, MetadataState } from "./metadata_state.ts";
import {
  listProducerSnapshots,
  producerSnapshotPath,
} from "../storage/log/producer_snapshot_file.ts";
import { ReplicaManager } from "./replica_manager.ts";
import {
  createAlterPartitionRequest,
  writeAlterPartitionRequest,
} from "../net/protocol/generated/alter_partition_request.ts";
import {
  createAlterPartitionResponse,
  createPartitionData as createAlterPartitionPartitionData,
  createTopicData as createAlterPartitionTopicData,
} from "../net/protocol/generated/alter_partition_response.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { Writer } from "../net/protocol/writer.ts";

const TOPIC_ID = "q1Sh-9_ISia_fV4lGz8fqw";
const OTHER_ID = "Xt7zrv1BRqGIuLjZ2N8kLw";

/** A broker with one log dir, a metadata image fed by hand and a fake controller. */
class Harness {
  readonly dir: string;
  readonly metadata = new MetadataState(silentLogger);
  ctx: BrokerContext;
  rm: ReplicaManager;
  #offset = 0;
  pidAllocations = 0;

  constructor(dir: string, props: Record<string, string> = {}) {
    this.dir = dir;
    const { config } = parseServerConfig(
      new Map([
        ["process.roles", "broker"],
        ["node.id", "1"],
        ["controller.quorum.voters", "0@localhost:9093"],
        ["controller.listener.names", "CONTROLLER"],
        ["listeners", "PLAINTEXT://localhost:9092"],
        ["log.dirs", path.join(dir, "logs")],
        ...Object.entries(props),
      ]),
    );
    const controller = {
      send: () => {
        const start = BigInt(1000 * ++this.pidAllocations);
        return Promise.resolve({ errorCode: 0, producerIdStart: start, producerIdLen: 1000 });
      },
    } as unknown as ControllerChannel;
    this.ctx = {
      config,
      logger: silentLogger,
      nodeId: 1,
      clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
      metadata: this.metadata,
      controller,
      brokerEpoch: () => 7n,
    };
    this.rm = new ReplicaManager(this.ctx);
  }

  apply(records: MetadataRecord[]): void {
    this.metadata.applyEntries(records.map((r) => ({
      offset: this.#offset++,
      epoch: 1,
      payload: encodeMetadataRecord(r),
    })));
  }

  async restart(): Promise<void> {
    await this.rm.close();
    this.rm = new ReplicaManager(this.ctx);
    await this.rm.start();
  }
}

function baseRecords(): MetadataRecord[] {
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
    partitionRecord(TOPIC_ID, 0, 1),
    partitionRecord(TOPIC_ID, 1, 2),
  ];
}

function partitionRecord(topicId: string, partitionId: number, leader: number): MetadataRecord {
  return makeRecord(
    RecordType.PARTITION,
    0,
    createPartitionRecord({
      partitionId,
      topicId,
      replicas: [leader],
      isr: [leader],
      leader,
      leaderEpoch: 0,
      partitionEpoch: 0,
    }),
  );
}

/** Partition 0 of "orders" on `replicas` (all in sync), led by `leader` in `leaderEpoch`. */
function replicatedPartition(replicas: number[], leader: number, leaderEpoch: number) {
  return makeRecord(
    RecordType.PARTITION,
    0,
    createPartitionRecord({
      partitionId: 0,
      topicId: TOPIC_ID,
      replicas,
      isr: replicas,
      leader,
      leaderEpoch,
      partitionEpoch: 0,
    }),
  );
}

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const h = new Harness(dir);
  h.apply(baseRecords());
  await h.rm.start();
  try {
    await fn(h);
  } finally {
    await h.rm.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function ctxOf(apiVersion: number, clientId = "test"): RequestContext {
  return {
    listenerName: "PLAINTEXT",
    clientHost: "127.0.0.1",
    connectionId: 1,
    apiVersion,
    header: { requestApiKey: 0, requestApiVersion: apiVersion, correlationId: 1, clientId },
  } as unknown as RequestContext;
}

function batch(
  values: number,
  options: {
    valueBytes?: number;
    producerId?: number;
    baseSequence?: number;
    timestampMs?: number;
  } = {},
): Uint8Array {
  const records = Array.from({ length: values }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: i,
    key: null,
    value: new Uint8Array(options.valueBytes ?? 10).fill(i),
    headers: [],
  }));
  return encodeBatch({
    baseOffset: 0,
    records,
    baseTimestamp: options.timestampMs ?? 1_000,
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerId === undefined ? -1 : 0,
    baseSequence: options.baseSequence ?? -1,
  });
}

function produceRequest(
  records: Uint8Array,
  init: Partial<ProduceRequest> = {},
  topic = "orders",
  partition = 0,
) {
  return createProduceRequest({
    acks: 1,
    timeoutMs: 1000,
    topicData: [createTopicProduceData({
      name: topic,
      partitionData: [createPartitionProduceData({ index: partition, records })],
    })],
    ...init,
  });
}

async function produce(
  h: Harness,
  records: Uint8Array,
  options: {
    acks?: number;
    version?: number;
    topic?: string;
    partition?: number;
    clientId?: string;
  } = {},
) {
  const handler = produceHandler(h.rm);
  const response = await handler.handle(
    produceRequest(records, { acks: options.acks ?? 1 }, options.topic, options.partition),
    ctxOf(options.version ?? 9, options.clientId),
  ) as ProduceResponse | null;
  return response === null ? null : response.responses[0]!.partitionResponses[0]!;
}

async function fetch(
  h: Harness,
  init: Partial<FetchRequest>,
  offset: number,
  version = 12,
  partitionMaxBytes = 1 << 20,
) {
  const request = createFetchRequest({
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 50 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [createFetchTopic({
      topic: version >= 13 ? "" : "orders",
      topicId: version >= 13 ? TOPIC_ID : "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [
        createFetchPartition({ partition: 0, fetchOffset: BigInt(offset), partitionMaxBytes }),
      ],
    })],
    ...init,
  });
  return await fetchHandler(h.rm).handle(request, ctxOf(version)) as FetchResponse;
}

/** A follower's Fetch v15 of orders-0 (by topic id); its answer for the partition. */
function replicaFetch(
  h: Harness,
  f: { replicaId: number; replicaEpoch: bigint; offset: number; leaderEpoch: number },
) {
  return fetch(
    h,
    {
      replicaState: {
        replicaId: f.replicaId,
        replicaEpoch: f.replicaEpoch,
        _unknownTaggedFields: [],
      },
      topics: [createFetchTopic({
        topic: "",
        topicId: TOPIC_ID,
        partitions: [createFetchPartition({
          partition: 0,
          fetchOffset: BigInt(f.offset),
          currentLeaderEpoch: f.leaderEpoch,
          partitionMaxBytes: 1 << 20,
        })],
      })],
    },
    f.offset,
    15,
  ).then((r) => r.responses[0]!.partitions[0]!);
}

function offsetsIn(records: Uint8Array | null): number[] {
  const out: number[] = [];
  for (const { pos } of batchesIn(records ?? new Uint8Array(0))) {
    out.push(readBatchHeader(records!, pos).baseOffset);
  }
  return out;
}

Deno.test("produce with acks 1, -1 and 0 appends and fetch returns the stored batches", async () => {
  await withHarness(async (h) => {
    assertEquals((await produce(h, batch(3), { acks: 1 }))?.baseOffset, 0n);
    assertEquals((await produce(h, batch(2), { acks: -1 }))?.baseOffset, 3n);
    assertEquals(await produce(h, batch(1), { acks: 0 }), null);
    const f = await fetch(h, {}, 0);
    const p = f.responses[0]!.partitions[0]!;
    assertEquals(p.errorCode, 0);
    assertEquals(p.highWatermark, 6n);
    assertEquals(offsetsIn(p.records), [0, 3, 5]);
  });
});

Deno.test("produce errors: bad acks, unknown topic, not leader, internal topic, legacy v2 input converts", async () => {
  await withHarness(async (h) => {
    assertEquals(
      (await produce(h, batch(1), { acks: 2 }))?.errorCode,
      ErrorCode.INVALID_REQUIRED_ACKS,
    );
    assertEquals(
      (await produce(h, batch(1), { topic: "nope" }))?.errorCode,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    assertEquals(
      (await produce(h, batch(1), { partition: 1 }))?.errorCode,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    assertEquals(
      (await produce(h, batch(1), { topic: "__consumer_offsets" }))?.errorCode,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
    const two = new Uint8Array([...batch(1), ...batch(1)]);
    assertEquals((await produce(h, two))?.errorCode, ErrorCode.INVALID_RECORD);
    const corrupt = batch(1);
    corrupt[corrupt.length - 1]! ^= 0xff;
    assertEquals((await produce(h, corrupt))?.errorCode, ErrorCode.CORRUPT_MESSAGE);
    const legacy = encodeMessageSet({
      magic: 1,
      messages: [{ key: null, value: new Uint8Array([1]), timestamp: 5 }, {
        key: null,
        value: new Uint8Array([2]),
        timestamp: 6,
      }],
    });
    const r = await produce(h, legacy, { version: 2 });
    assertEquals(r?.errorCode, 0);
    assertEquals(r?.baseOffset, 0n);
    assertEquals(h.rm.hostedPartition("orders", 0)?.highWatermark, 2);
  });
});

Deno.test("a long-polling fetch is woken by an append", async () => {
  await withHarness(async (h) => {
    const started = Date.now();
    const pending = fetch(h, { maxWaitMs: 5_000 }, 0);
    await new Promise((r) => setTimeout(r, 50));
    await produce(h, batch(2));
    const f = await pending;
    assert(Date.now() - started < 3_000, "the fetch waited for its timeout");
    assertEquals(offsetsIn(f.responses[0]!.partitions[0]!.records), [0]);
    // With nothing to read it answers after maxWaitMs with an empty (not null) record set.
    const empty = await fetch(h, { maxWaitMs: 50 }, 2);
    assertEquals(empty.responses[0]!.partitions[0]!.records, new Uint8Array(0));
  });
});

Deno.test("a fetch with maxBytes below one batch still returns that whole batch", async () => {
  await withHarness(async (h) => {
    await produce(h, batch(10, { valueBytes: 500 }));
    await produce(h, batch(10, { valueBytes: 500 }));
    const f = await fetch(h, { maxBytes: 100 }, 0, 12, 100);
    assertEquals(offsetsIn(f.responses[0]!.partitions[0]!.records), [0]);
    const out = await fetch(h, {}, 99);
    assertEquals(out.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  });
});

Deno.test("fetch v13 resolves topic ids; an unknown id is UNKNOWN_TOPIC_ID; sessions answer incrementally", async () => {
  await withHarness(async (h) => {
    await produce(h, batch(1));
    const full = await fetch(h, { sessionId: 0, sessionEpoch: 0 }, 0, 13);
    assertEquals(full.responses[0]!.topicId, TOPIC_ID);
    assertEquals(offsetsIn(full.responses[0]!.partitions[0]!.records), [0]);
    assert(full.sessionId > 0);
    // The client moves its offset to 1: nothing new to say about the partition.
    const inc = await fetch(h, { sessionId: full.sessionId, sessionEpoch: 1 }, 1, 13);
    assertEquals(inc.responses, []);
    // An incremental fetch naming no partition keeps offset 1; an append makes it answer.
    await produce(h, batch(1));
    const next = await fetch(h, { sessionId: full.sessionId, sessionEpoch: 2, topics: [] }, 1, 13);
    assertEquals(offsetsIn(next.responses[0]!.partitions[0]!.records), [1]);
    const unknown = await fetch(
      h,
      {
        topics: [createFetchTopic({
          topicId: OTHER_ID,
          partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 100 })],
        })],
      },
      0,
      13,
    );
    assertEquals(unknown.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  });
});

Deno.test("list offsets answers latest, earliest, max timestamp and timestamp lookups", async () => {
  await withHarness(async (h) => {
    await produce(h, batch(3, { timestampMs: 1_000 }));
    await produce(h, batch(3, { timestampMs: 5_000 }));
    await produce(h, batch(1, { timestampMs: 2_000 }));
    const ask = async (timestamp: number, version = 7) => {
      const r = await listOffsetsHandler(h.rm).handle(
        createListOffsetsRequest({
          replicaId: -1,
          topics: [createListOffsetsTopic({
            name: "orders",
            partitions: [
              createListOffsetsPartition({ partitionIndex: 0, timestamp: BigInt(timestamp) }),
            ],
          })],
        }),
        ctxOf(version),
      ) as ListOffsetsResponse;
      return r.topics[0]!.partitions[0]!;
    };
    assertEquals((await ask(-1)).offset, 7n);
    assertEquals((await ask(-2)).offset, 0n);
    const max = await ask(-3);
    assertEquals([max.offset, max.timestamp], [5n, 5_002n]);
    assertEquals((await ask(4_000)).offset, 3n);
    assertEquals((await ask(9_999)).offset, -1n);
    assertEquals((await ask(-1, 0)).oldStyleOffsets, [7n]);
  });
});

Deno.test("delete records moves the log start and refuses offsets beyond the high watermark", async () => {
  await withHarness(async (h) => {
    await produce(h, batch(5));
    const del = async (offset: number) => {
      const r = await deleteRecordsHandler(h.rm).handle(
        createDeleteRecordsRequest({
          topics: [createDeleteRecordsTopic({
            name: "orders",
            partitions: [
              createDeleteRecordsPartition({ partitionIndex: 0, offset: BigInt(offset) }),
            ],
          })],
        }),
        ctxOf(2),
      ) as DeleteRecordsResponse;
      return r.topics[0]!.partitions[0]!;
    };
    assertEquals((await del(3)).lowWatermark, 3n);
    assertEquals((await del(9)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assertEquals((await del(-1)).lowWatermark, 5n);
    const f = await fetch(h, {}, 0);
    assertEquals(f.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  });
});

Deno.test("an idempotent retry returns the original offsets, also after a restart", async () => {
  await withHarness(async (h) => {
    const init = await initProducerIdHandler(h.rm).handle(
      createInitProducerIdRequest({ transactionalId: null }),
      ctxOf(4),
    ) as InitProducerIdResponse;
    assertEquals([init.errorCode, init.producerId, init.producerEpoch], [0, 1000n, 0]);
    const pid = Number(init.producerId);
    await produce(h, batch(1)); // offset 0, no producer id
    const first = batch(2, { producerId: pid, baseSequence: 0 });
    assertEquals((await produce(h, first.slice()))?.baseOffset, 1n);
    assertEquals((await produce(h, first.slice()))?.baseOffset, 1n);
    assertEquals(
      (await produce(h, batch(1, { producerId: pid, baseSequence: 2 })))?.baseOffset,
      3n,
    );
    assertEquals(
      (await produce(h, batch(1, { producerId: pid, baseSequence: 7 })))?.errorCode,
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    // A clean restart loads the producer state snapshot (`.snapshot`, Kafka's format).
    await h.restart();
    assertEquals((await produce(h, first.slice()))?.baseOffset, 1n);
    // Without it the state is rebuilt from the batch headers in the log.
    await h.rm.close();
    const partitionDir = path.join(h.dir, "logs", "orders-0");
    const snapshots = await listProducerSnapshots(partitionDir);
    assertEquals(snapshots.length > 0, true);
    for (const offset of snapshots) await Deno.remove(producerSnapshotPath(partitionDir, offset));
    h.rm = new ReplicaManager(h.ctx);
    await h.rm.start();
    assertEquals((await produce(h, first.slice()))?.baseOffset, 1n);
    assertEquals(
      (await produce(h, batch(1, { producerId: pid, baseSequence: 3 })))?.baseOffset,
      4n,
    );
    const txn = await initProducerIdHandler(h.rm).handle(
      createInitProducerIdRequest({ transactionalId: "t" }),
      ctxOf(4),
    ) as InitProducerIdResponse;
    // This harness runs no transaction coordinator: nothing can serve a transactional id.
    assertEquals(txn.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

Deno.test("offset for leader epoch, describe log dirs and the internal topic API", async () => {
  await withHarness(async (h) => {
    await produce(h, batch(4));
    const e = await offsetForLeaderEpochHandler(h.rm).handle(
      createOffsetForLeaderEpochRequest({
        replicaId: -1,
        topics: [createOffsetForLeaderTopic({
          topic: "orders",
          partitions: [
            createOffsetForLeaderPartition({ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }),
          ],
        })],
      }),
      ctxOf(4),
    ) as OffsetForLeaderEpochResponse;
    assertEquals(e.topics[0]!.partitions[0]!.endOffset, 4n);
    const dirs = await describeLogDirsHandler(h.rm).handle(
      createDescribeLogDirsRequest({ topics: null }),
      ctxOf(4),
    ) as DescribeLogDirsResponse;
    const names = dirs.results[0]!.topics.map((t) => t.name);
    assertEquals(names, ["orders"]);
    assert(dirs.results[0]!.topics[0]!.partitions[0]!.partitionSize > 0n);
    assert(dirs.results[0]!.totalBytes > 0n);
    const appended = await h.rm.appendInternal("orders", 0, batch(2));
    assertEquals(appended, { baseOffset: 4, lastOffset: 5 });
    const read = await h.rm.readInternal("orders", 0, 4, 1 << 20);
    assertEquals([offsetsIn(read.records), read.highWatermark], [[4], 6]);
  });
});

Deno.test("topic deletion and leadership changes follow the image", async () => {
  await withHarness(async (h) => {
    const changes: string[] = [];
    h.rm.onLeaderChange((topic, partition, isLeader) =>
      changes.push(`${topic}-${partition}:${isLeader}`)
    );
    h.apply([makeRecord(
      RecordType.PARTITION_CHANGE,
      0,
      createPartitionChangeRecord({
        partitionId: 0,
        topicId: TOPIC_ID,
        leader: 2,
        replicas: [1, 2],
        isr: [1, 2],
      }),
    )]);
    await h.rm.settled();
    assertEquals((await produce(h, batch(1)))?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    h.apply([
      makeRecord(RecordType.REMOVE_TOPIC, 0, createRemoveTopicRecord({ topicId: TOPIC_ID })),
    ]);
    await h.rm.settled();
    assertEquals(changes, ["orders-0:false"]);
    assertEquals(h.rm.hostedPartition("orders", 0), undefined);
    const left = [...Deno.readDirSync(path.join(h.dir, "logs"))].filter((e) => e.isDirectory);
    assertEquals(left, []);
  });
});

Deno.test("a produce to a partition whose log is still opening waits for it instead of NOT_LEADER", async () => {
  await withHarness(async (h) => {
    const fresh = "Fr3shT0p1cIdAAAAAAAAAA";
    h.apply([
      makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "fresh", topicId: fresh })),
      partitionRecord(fresh, 0, 1),
    ]);
    // The image names this broker leader at once; the log opens asynchronously. Pipelined
    // produces (acks=0 cannot retry) must land, in the order they arrived.
    assertEquals(h.rm.hostedPartition("fresh", 0), undefined);
    const first = produce(h, batch(2), { topic: "fresh" });
    const second = produce(h, batch(3), { topic: "fresh", acks: 0 });
    const third = produce(h, batch(1), { topic: "fresh" });
    assertEquals((await first)?.baseOffset, 0n);
    assertEquals(await second, null);
    assertEquals((await third)?.baseOffset, 5n);
    // A partition led elsewhere still answers NOT_LEADER_OR_FOLLOWER at once.
    assertEquals(
      (await produce(h, batch(1), { partition: 1 }))?.errorCode,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
  });
});

Deno.test("a pass acts on the topics the records touched: new partitions, config changes, a topic recreated under a new id", async () => {
  await withHarness(async (h) => {
    const shipments = "Zl1xkbGfQ6KbOm5ZKwKV3A";
    h.apply([
      makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "shipments", topicId: shipments })),
      // More partitions than open at once, so opens overlap and queue.
      ...Array.from({ length: 40 }, (_, i) => partitionRecord(shipments, i, 1)),
    ]);
    await h.rm.settled();
    assertEquals(h.rm.partitions().filter((p) => p.topic === "shipments").length, 40);
    h.apply([makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: 2,
        resourceName: "shipments",
        name: "retention.ms",
        value: "1234",
      }),
    )]);
    await h.rm.settled();
    assertEquals(h.rm.hostedPartition("shipments", 7)?.log.config.retentionMs, 1234);
    assert(h.rm.hostedPartition("orders", 0)?.log.config.retentionMs !== 1234);
    h.apply([
      makeRecord(RecordType.REMOVE_TOPIC, 0, createRemoveTopicRecord({ topicId: TOPIC_ID })),
      makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "orders", topicId: OTHER_ID })),
      partitionRecord(OTHER_ID, 0, 1),
    ]);
    await h.rm.settled();
    assertEquals(h.rm.hostedPartition("orders", 0)?.topicId, OTHER_ID);
    assertEquals(h.rm.hostedPartition("orders", 1), undefined);
    assertEquals(h.rm.partitions().length, 41);
  });
});

Deno.test("a snapshot that replaces the image drops the partitions it no longer assigns here", async () => {
  await withHarness(async (h) => {
    const records: MetadataRecord[] = baseRecords().filter((r) => r.type !== RecordType.PARTITION);
    records.push(partitionRecord(TOPIC_ID, 1, 2)); // only partition 1, led elsewhere
    await h.metadata.loadSnapshotPayloads(records.map((r) => encodeMetadataRecord(r)), 100);
    await h.rm.settled();
    assertEquals(h.rm.hostedPartition("orders", 0), undefined);
    assertEquals(h.rm.partitions().length, 0);
  });
});

Deno.test("a replicated partition: follower fetches move the high watermark, acks=all waits for them, bad follower fetches are refused, and the high watermark survives a restart", async () => {
  const dir = await Deno.makeTempDir();
  const h = new Harness(dir);
  const records = baseRecords().slice(0, 2);
  records.push(replicatedPartition([1, 2], 1, 3));
  h.apply(records);
  await h.rm.start();
  const followerFetch = (replicaId: number, offset: number, leaderEpoch = 3) =>
    replicaFetch(h, { replicaId, replicaEpoch: 9n, offset, leaderEpoch });
  try {
    // Kafka's model: the leader's own append is not enough with a second ISR member.
    const acked = await produce(h, batch(3), { acks: 1 });
    assertEquals(acked!.errorCode, 0);
    const partition = h.rm.hostedPartition("orders", 0)!;
    assertEquals(partition.highWatermark, 0);
    const pending = produce(h, batch(2), { acks: -1 });
    const first = await followerFetch(2, 0);
    assertEquals(offsetsIn(first.records), [0, 3], "a follower reads up to the log end");
    assertEquals(first.highWatermark, 0n);
    await followerFetch(2, 5); // the follower has everything: the HW reaches the durable end
    assertEquals((await pending)!.errorCode, 0);
    assertEquals(partition.highWatermark, 5);
    // Consumers never read past the high watermark.
    await produce(h, batch(1), { acks: 1 });
    assertEquals(offsetsIn((await fetch(h, {}, 0, 12)).responses[0]!.partitions[0]!.records), [
      0,
      3,
    ]);
    // Bad follower fetches: not a replica, a stale epoch, past the log end.
    assertEquals((await followerFetch(5, 0)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assertEquals((await followerFetch(2, 0, 2)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assertEquals((await followerFetch(2, 99)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assertEquals(partition.log.logEndOffset, 6, "bad fetches change nothing");
    // min.insync.replicas above the ISR size refuses acks=all before appending.
    h.apply([makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: 2,
        resourceName: "orders",
        name: "min.insync.replicas",
        value: "3",
      }),
    )]);
    await h.rm.settled();
    assertEquals(
      (await produce(h, batch(1), { acks: -1 }))!.errorCode,
      ErrorCode.NOT_ENOUGH_REPLICAS,
    );
    assertEquals(partition.log.logEndOffset, 6);
    await h.restart();
    assertEquals(
      h.rm.hostedPartition("orders", 0)!.highWatermark,
      5,
      "restored from the checkpoint",
    );
  } finally {
    await h.rm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a follower that stops fetching leaves the ISR through an AlterPartition v3 request the codec can write", async () => {
  const dir = await Deno.makeTempDir();
  const h = new Harness(dir);
  const { config } = parseServerConfig(
    new Map([
      ["process.roles", "broker"],
      ["node.id", "1"],
      ["controller.quorum.voters", "0@localhost:9093"],
      ["controller.listener.names", "CONTROLLER"],
      ["listeners", "PLAINTEXT://localhost:9092"],
      ["log.dirs", path.join(dir, "logs")],
      ["replica.lag.time.max.ms", "100"],
    ]),
  );
  const sent: { apiKey: number; body: Record<string, unknown>; version?: number }[] = [];
  const controller = {
    send: (apiKey: number, body: Record<string, unknown>, options: { version?: number }) => {
      sent.push({ apiKey, body, version: options.version });
      // Encoded as KafkaConnection.send encodes it: the body over the schema's defaults.
      writeAlterPartitionRequest(
        new Writer(),
        options.version ?? 3,
        Object.assign(createAlterPartitionRequest(), body),
      );
      return Promise.resolve(createAlterPartitionResponse({
        topics: [createAlterPartitionTopicData({
          topicId: TOPIC_ID,
          partitions: [createAlterPartitionPartitionData({
            partitionIndex: 0,
            leaderId: 1,
            leaderEpoch: 3,
            isr: [1],
            partitionEpoch: 1,
          })],
        })],
      }));
    },
  } as unknown as ControllerChannel;
  h.ctx = { ...h.ctx, config, controller };
  h.rm = new ReplicaManager(h.ctx);
  const records = baseRecords().slice(0, 2);
  records.push(replicatedPartition([1, 2], 1, 3));
  h.apply(records);
  await h.rm.start();
  try {
    const partition = h.rm.hostedPartition("orders", 0)!;
    // KIP-497: replica 2 never fetches, so after replica.lag.time.max.ms the leader drops it.
    for (let i = 0; i < 100 && partition.isr.length > 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(sent.length, 1, "one AlterPartition was sent");
    assertEquals(sent[0]!.apiKey, ApiKey.ALTER_PARTITION);
    assertEquals(sent[0]!.version, 3);
    assertEquals(partition.isr, [1], "the leader took the controller's answer");
  } finally {
    await h.rm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fetch of several partitions fills the response limit in partition order, as Kafka's readFromLog", async () => {
  await withHarness(async (h) => {
    const multi = "bXVsdGlwYXJ0aXRpb25zQQ";
    h.apply([
      makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "multi", topicId: multi })),
      ...[0, 1, 2].map((i) => partitionRecord(multi, i, 1)),
    ]);
    await h.rm.settled();
    await produce(h, batch(1, { valueBytes: 40 }), { topic: "multi", partition: 0 });
    for (const partition of [1, 2]) {
      for (let i = 0; i < 3; i++) {
        await produce(h, batch(1, { valueBytes: 1000 }), { topic: "multi", partition });
      }
    }
    const bigBatchBytes = batch(1, { valueBytes: 1000 }).length;
    const request = createFetchRequest({
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 2 * bigBatchBytes + 200, // room for partition 0 and one batch of each other
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [createFetchTopic({
        topic: "multi",
        partitions: [0, 1, 2].map((partition) =>
          createFetchPartition({
            partition,
            fetchOffset: 0n,
            partitionMaxBytes: bigBatchBytes + 500, // one big batch per partition
          })
        ),
      })],
    });
    const f = await fetchHandler(h.rm).handle(request, ctxOf(12)) as FetchResponse;
    const byPartition = new Map(
      f.responses[0]!.partitions.map((p) => [p.partitionIndex, offsetsIn(p.records)]),
    );
    // Partition 0 used little of the limit, so 1 and 2 each still get a whole big batch (read
    // with a smaller share first, partition 1 would have come back empty).
    assertEquals(byPartition.get(0), [0]);
    assertEquals(byPartition.get(1), [0]);
    assertEquals(byPartition.get(2), [0]);
  });
});

Deno.test("a fetch whose first partitions are empty still returns a later partition's oversized first batch", async () => {
  await withHarness(async (h) => {
    const topicId = "b3ZlcnNpemVkUGFydGl0aQ";
    h.apply([
      makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "sparse", topicId })),
      ...[0, 1].map((i) => partitionRecord(topicId, i, 1)),
    ]);
    await h.rm.settled();
    await produce(h, batch(1, { valueBytes: 2000 }), { topic: "sparse", partition: 1 });
    const request = createFetchRequest({
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 50 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [createFetchTopic({
        topic: "sparse",
        partitions: [0, 1].map((partition) =>
          createFetchPartition({ partition, fetchOffset: 0n, partitionMaxBytes: 100 })
        ),
      })],
    });
    const f = await fetchHandler(h.rm).handle(request, ctxOf(12)) as FetchResponse;
    const byPartition = new Map(
      f.responses[0]!.partitions.map((p) => [p.partitionIndex, offsetsIn(p.records)]),
    );
    // Nothing came before it, so partition 1 returns its first batch although it exceeds 100
    // bytes (Kafka's minOneMessage), as a sequential read would.
    assertEquals(byPartition.get(0), []);
    assertEquals(byPartition.get(1), [0]);
  });
});

/** A registered, unfenced broker with a PLAINTEXT endpoint in `rack`. */
function brokerInRack(brokerId: number, rack: string): MetadataRecord {
  return makeRecord(
    RecordType.REGISTER_BROKER,
    3,
    createRegisterBrokerRecord({
      brokerId,
      brokerEpoch: 10n,
      incarnationId: "AAAAAAAAAAAAAAAAAAAAAg",
      endPoints: [createBrokerEndpoint({ name: "PLAINTEXT", host: `b${brokerId}`, port: 9092 })],
      rack,
      fenced: false,
    }),
  );
}

/** A consumer's Fetch (v11+ carries its rack) of orders-0 from `offset`. */
function consumerFetch(
  h: Harness,
  offset: number,
  options: { rackId?: string; version?: number; leaderEpoch?: number } = {},
) {
  const version = options.version ?? 12;
  return fetch(
    h,
    {
      rackId: options.rackId ?? "",
      topics: [createFetchTopic({
        topic: "orders",
        partitions: [createFetchPartition({
          partition: 0,
          fetchOffset: BigInt(offset),
          currentLeaderEpoch: options.leaderEpoch ?? -1,
          partitionMaxBytes: 1 << 20,
        })],
      })],
    },
    offset,
    version,
  ).then((r) => r.responses[0]!.partitions[0]!);
}

Deno.test("KIP-392: a rack-aware leader sends a consumer to the in-sync follower in its rack", async () => {
  const dir = await Deno.makeTempDir();
  const h = new Harness(dir, {
    "broker.rack": "rack-a",
    "replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector",
  });
  const records = baseRecords().slice(0, 2);
  records.push(brokerInRack(1, "rack-a"), brokerInRack(2, "rack-b"), brokerInRack(3, "rack-c"));
  records.push(replicatedPartition([1, 2, 3], 1, 3));
  h.apply(records);
  await h.rm.start();
  const followerFetch = (replicaId: number, offset: number) =>
    replicaFetch(h, { replicaId, replicaEpoch: 10n, offset, leaderEpoch: 3 });
  try {
    await produce(h, batch(3), { acks: 1 });
    await followerFetch(2, 0);
    await followerFetch(2, 3);
    await followerFetch(3, 3);
    assertEquals(h.rm.hostedPartition("orders", 0)!.highWatermark, 3);

    const toRackB = await consumerFetch(h, 0, { rackId: "rack-b" });
    assertEquals(toRackB.preferredReadReplica, 2);
    assertEquals(toRackB.records?.length, 0, "no records with a preferred read replica");
    assertEquals(toRackB.highWatermark, 3n);
    assertEquals((await consumerFetch(h, 0, { rackId: "rack-c" })).preferredReadReplica, 3);
    // The leader's own rack, an unknown rack, no rack, or no client metadata (v10): the leader.
    for (const options of [{ rackId: "rack-a" }, { rackId: "rack-z" }, {}, { version: 10 }]) {
      const r = await consumerFetch(h, 0, options);
      assertEquals(r.preferredReadReplica, -1, JSON.stringify(options));
      assertEquals(offsetsIn(r.records), [0], JSON.stringify(options));
    }
    // A follower that does not have the fetch offset yet is no candidate.
    await produce(h, batch(2), { acks: 1 });
    await followerFetch(3, 5);
    const ahead = await consumerFetch(h, 4, { rackId: "rack-b" });
    assertEquals(ahead.preferredReadReplica, -1, "broker 2 is at offset 3");
    assertEquals((await consumerFetch(h, 4, { rackId: "rack-c" })).preferredReadReplica, 3);
  } finally {
    await h.rm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KIP-392: a follower serves consumers (Fetch v11+) up to its own high watermark", async () => {
  const dir = await Deno.makeTempDir();
  const h = new Harness(dir, { "broker.rack": "rack-a" });
  const records = baseRecords().slice(0, 2);
  records.push(replicatedPartition([2, 1], 2, 4));
  h.apply(records);
  await h.rm.start();
  try {
    const follower = h.rm.hostedPartition("orders", 0) as unknown as {
      appendAsFollower(
        records: Uint8Array,
        leader: { highWatermark: number; logStartOffset: number },
      ): Promise<void>;
    };
    const two = batch(2);
    const one = encodeBatch({
      baseOffset: 2,
      records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [] }],
      baseTimestamp: 1_000,
    });
    const both = new Uint8Array(two.length + one.length);
    both.set(two);
    both.set(one, two.length);
    // The leader's high watermark is 2: the second batch is not committed yet.
    await follower.appendAsFollower(both, { highWatermark: 2, logStartOffset: 0 });

    const read = await consumerFetch(h, 0, { leaderEpoch: 4 });
    assertEquals(read.errorCode, ErrorCode.NONE);
    assertEquals(offsetsIn(read.records), [0], "only what is below the follower's high watermark");
    assertEquals(read.highWatermark, 2n);
    assertEquals(
      (await consumerFetch(h, 2)).records?.length,
      0,
      "at the high watermark: nothing yet",
    );
    // Fetch before v11 has no client metadata: followers refuse it, as Kafka's do.
    assertEquals(
      (await consumerFetch(h, 0, { version: 10 })).errorCode,
      ErrorCode.NOT_LEADER_OR_FOLLOWER,
    );
    assertEquals((await consumerFetch(h, 9)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assertEquals(
      (await consumerFetch(h, 0, { leaderEpoch: 3 })).errorCode,
      ErrorCode.FENCED_LEADER_EPOCH,
    );
  } finally {
    await h.rm.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a dynamic broker config (the cluster default) reaches the logs of existing topics", async () => {
  await withHarness(async (h) => {
    assertEquals((await produce(h, batch(3, { valueBytes: 200 })))!.errorCode, ErrorCode.NONE);
    h.apply([makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: 4, // BROKER; "" is the cluster-wide default
        resourceName: "",
        name: "message.max.bytes",
        value: "300",
      }),
    )]);
    await h.rm.settled();
    assertEquals(
      (await produce(h, batch(3, { valueBytes: 200 })))!.errorCode,
      ErrorCode.MESSAGE_TOO_LARGE,
    );
  });
});

Deno.test("message.downconversion.enable=false answers Fetch v0-v3 UNSUPPORTED_VERSION, as Kafka", async () => {
  await withHarness(async (h) => {
    await produce(h, batch(2));
    const legacy = async () => (await fetch(h, {}, 0, 3)).responses[0]!.partitions[0]!;
    assertEquals((await legacy()).errorCode, ErrorCode.NONE);
    assert((await legacy()).records!.length > 0, "converted to message format v1");
    h.apply([makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: 2, // TOPIC
        resourceName: "orders",
        name: "message.downconversion.enable",
        value: "false",
      }),
    )]);
    await h.rm.settled();
    assertEquals((await legacy()).errorCode, ErrorCode.UNSUPPORTED_VERSION);
    const current = (await fetch(h, {}, 0, 4)).responses[0]!.partitions[0]!;
    assertEquals(current.errorCode, ErrorCode.NONE, "v4+ reads v2 batches as stored");
  });
});

Deno.test("a follower's parked fetch answers at once when the high watermark passed what it was last told", async () => {
  const dir = await Deno.makeTempDir();
  const h = new Harness(dir);
  h.apply([...baseRecords().slice(0, 2), replicatedPartition([1, 2], 1, 3)]);
  await h.rm.start();
  const longPoll = (offset: number) =>
    fetch(
      h,
      {
        maxWaitMs: 10_000,
        replicaState: { replicaId: 2, replicaEpoch: 9n, _unknownTaggedFields: [] },
        topics: [createFetchTopic({
          topic: "",
          topicId: TOPIC_ID,
          partitions: [createFetchPartition({
            partition: 0,
            fetchOffset: BigInt(offset),
            currentLeaderEpoch: 3,
            partitionMaxBytes: 1 << 20,
          })],
        })],
      },
      offset,
      15,
    ).then((r) => r.responses[0]!.partitions[0]!);
  try {
    await produce(h, batch(3), { acks: 1 });
    assertEquals((await longPoll(0)).highWatermark, 0n, "the follower has not fetched yet");
    // This fetch moves the high watermark to 3: the follower must learn it now, not after the
    // long poll (Kafka's DelayedFetch case H), or consumers reading from it (KIP-392) wait.
    const startMs = performance.now();
    const told = await longPoll(3);
    assertEquals(told.highWatermark, 3n);
    assert(performance.now() - startMs < 5_000, "answered without waiting for data");
    // Told once, the next fetch waits for data as before.
    const waiting = longPoll(3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await produce(h, batch(1), { acks: 1 });
    assertEquals(offsetsIn((await waiting).records), [3]);
  } finally {
    await h.rm.close();
    await Deno.remove(dir, { recursive: true });
  }
});
