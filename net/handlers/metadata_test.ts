// Expected behaviour follows Kafka 3.9's KRaftMetadataCache.getTopicMetadata: partitions in index
// order, replicas of unregistered or fenced brokers or in offline directories listed as offline.
import assert from "node:assert/strict";
import { Dispatcher } from "../dispatcher.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { createRequestHeader, readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createMetadataRequest,
  writeMetadataRequest,
} from "../protocol/generated/metadata_request.ts";
import {
  type MetadataResponse,
  readMetadataResponse,
} from "../protocol/generated/metadata_response.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../protocol/generated/register_broker_record.ts";
import { createFeatureLevelRecord } from "../protocol/generated/feature_level_record.ts";
import { createPartitionRecord } from "../protocol/generated/partition_record.ts";
import { createTopicRecord } from "../protocol/generated/topic_record.ts";
import {
  applyRecords,
  DIRECTORY_LOST,
  DIRECTORY_UNASSIGNED,
  EMPTY_IMAGE,
} from "../../core/metadata/image.ts";
import { makeRecord, METADATA_VERSION_FEATURE, RecordType } from "../../core/metadata/records.ts";
import { incarnation } from "../../core/metadata/testing.ts";
import { silentLogger } from "../../core/log.ts";
import type { BrokerContext } from "../../node/broker_context.ts";
import { registerMetadata } from "./metadata.ts";

const TOPIC_ID = "q1Sh-9_ISia_fV4lGz8fqw";

function broker(id: number, fenced: boolean) {
  return makeRecord(
    RecordType.REGISTER_BROKER,
    0,
    createRegisterBrokerRecord({
      brokerId: id,
      incarnationId: incarnation(id, 0),
      brokerEpoch: BigInt(id),
      endPoints: [
        createBrokerEndpoint({
          name: "PLAINTEXT",
          host: `b${id}`,
          port: 9092,
          securityProtocol: 0,
        }),
      ],
      fenced,
    }),
  );
}

function partition(partitionId: number, replicas: number[], directories?: string[]) {
  return makeRecord(
    RecordType.PARTITION,
    directories === undefined ? 0 : 1,
    createPartitionRecord({
      partitionId,
      topicId: TOPIC_ID,
      replicas,
      isr: replicas,
      leader: replicas[0]!,
      leaderEpoch: 3,
      directories: directories ?? [],
    }),
  );
}

/** The Metadata response of a two-broker image with topic "orders", for `topics` (null: all). */
async function metadata(
  version = 12,
  topics: { name: string | null; topicId: string }[] | null = null,
): Promise<MetadataResponse> {
  const image = applyRecords(EMPTY_IMAGE, [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({ name: METADATA_VERSION_FEATURE, featureLevel: 7 }),
    ),
    broker(1, false),
    broker(2, true),
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "orders", topicId: TOPIC_ID })),
    // Out of index order, as a reassignment or a snapshot from elsewhere could leave them.
    partition(2, [1, 2]),
    partition(0, [1, 3]),
    partition(1, [1, 2]),
    // Broker 1's replica sits in a directory it lost (KIP-858).
    partition(3, [1, 2], [DIRECTORY_LOST, DIRECTORY_UNASSIGNED]),
  ]);
  const ctx = {
    config: { autoCreateTopicsEnable: false },
    logger: silentLogger,
    nodeId: 1,
    clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
    metadata: { image },
    brokerEpoch: () => 1n,
  } as unknown as BrokerContext;
  const dispatcher = new Dispatcher({ logger: silentLogger });
  registerMetadata(dispatcher, ctx);
  const w = new Writer();
  writeRequestHeader(
    w,
    createRequestHeader({
      requestApiKey: ApiKey.METADATA,
      requestApiVersion: version,
      correlationId: 7,
      clientId: "test",
    }),
  );
  writeMetadataRequest(
    w,
    version,
    createMetadataRequest({
      topics: topics === null ? null : topics.map((t) => ({ ...t, _unknownTaggedFields: [] })),
    }),
  );
  const frame = await dispatcher.handleFrame(w.finish(), {
    listenerName: "PLAINTEXT",
    clientHost: "127.0.0.1",
    connectionId: 1,
  });
  const r = new Reader(frame!.subarray(4));
  assert.equal(readResponseHeader(r, ApiKey.METADATA, version).correlationId, 7);
  return readMetadataResponse(r, version);
}

Deno.test("a full Metadata response lists partitions in index order with their offline replicas", async () => {
  const response = await metadata();
  assert.deepEqual(response.brokers.map((b) => b.nodeId), [1]);
  const [topic] = response.topics;
  assert.equal(topic?.name, "orders");
  assert.deepEqual(
    topic!.partitions.map((p) => [p.partitionIndex, p.replicaNodes, p.offlineReplicas]),
    [
      [0, [1, 3], [3]], // broker 3 is not registered
      [1, [1, 2], [2]], // broker 2 is fenced
      [2, [1, 2], [2]],
      [3, [1, 2], [1, 2]],
    ],
  );
  assert.ok(topic!.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leaderEpoch === 3));
});

Deno.test("topics asked by id before v12, or by an empty name, get errors every version can carry", async () => {
  const ZERO = "AAAAAAAAAAAAAAAAAAAAAA";
  const codes = async (version: number, topics: { name: string | null; topicId: string }[]) =>
    (await metadata(version, topics)).topics.map((t) => [t.name, t.errorCode]);
  // Names only before v10: an empty one is an invalid name (it used to be looked up as an id,
  // and the answer's null name could not be encoded).
  for (const version of [1, 9]) {
    assert.deepEqual(await codes(version, [{ name: "", topicId: ZERO }]), [
      ["", ErrorCode.INVALID_TOPIC_EXCEPTION],
    ]);
  }
  // v10/v11 carry topic ids, but lookups by id start at v12 (as KafkaApis).
  assert.deepEqual(await codes(11, [{ name: null, topicId: TOPIC_ID }]), [
    ["", ErrorCode.INVALID_REQUEST],
  ]);
  assert.deepEqual(await codes(10, [{ name: "orders", topicId: TOPIC_ID }]), [
    ["orders", ErrorCode.INVALID_REQUEST],
  ]);
  assert.deepEqual(await codes(12, [{ name: null, topicId: TOPIC_ID }]), [
    ["orders", ErrorCode.NONE],
  ]);
  assert.deepEqual(await codes(12, [{ name: null, topicId: ZERO }]), [
    [null, ErrorCode.UNKNOWN_TOPIC_ID],
  ]);
  assert.deepEqual(await codes(12, [{ name: "orders", topicId: ZERO }]), [
    ["orders", ErrorCode.NONE],
  ]);
});
