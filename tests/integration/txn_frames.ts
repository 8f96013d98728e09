// Raw Kafka frames for the transaction tests: what a transactional producer and the transaction
// coordinator send to a partition leader, built with the generated codecs.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import {
  createFetchPartition,
  createFetchTopic,
} from "../../net/protocol/generated/fetch_request.ts";
import type { FetchResponse, PartitionData } from "../../net/protocol/generated/fetch_response.ts";
import type { InitProducerIdResponse } from "../../net/protocol/generated/init_producer_id_response.ts";
import {
  createListOffsetsPartition,
  createListOffsetsTopic,
} from "../../net/protocol/generated/list_offsets_request.ts";
import type { ListOffsetsResponse } from "../../net/protocol/generated/list_offsets_response.ts";
import {
  createPartitionProduceData,
  createTopicProduceData,
} from "../../net/protocol/generated/produce_request.ts";
import type { ProduceResponse } from "../../net/protocol/generated/produce_response.ts";
import {
  createWritableTxnMarker,
  createWritableTxnMarkerTopic,
} from "../../net/protocol/generated/write_txn_markers_request.ts";
import type { WriteTxnMarkersResponse } from "../../net/protocol/generated/write_txn_markers_response.ts";
import type { DescribeProducersResponse } from "../../net/protocol/generated/describe_producers_response.ts";
import { createTopicRequest } from "../../net/protocol/generated/describe_producers_request.ts";
import { encodeBatch } from "../../net/protocol/records.ts";

const encoder = new TextEncoder();

/** A producer id and the epoch its batches and markers carry. */
export interface Producer {
  id: bigint;
  epoch: number;
}

/** A batch of `values`: transactional or not, with the producer's id, epoch and `sequence`. */
export function txnBatch(
  values: string[],
  p: Producer | null,
  sequence: number,
  transactional: boolean,
): Uint8Array {
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: Date.now(),
    producerId: p === null ? -1 : Number(p.id),
    producerEpoch: p === null ? -1 : p.epoch,
    baseSequence: p === null ? -1 : sequence,
    transactional,
    records: values.map((v, i) => ({
      offsetDelta: i,
      timestampDelta: 0,
      key: null,
      value: encoder.encode(v),
      headers: [],
    })),
  });
}

/**
 * Raw-frame helpers bound to partition 0 of `topic`: Produce (acks=all), WriteTxnMarkers as the
 * transaction coordinator sends it, Fetch from offset 0, ListOffsets latest and DescribeProducers.
 */
export function txnFrames(topic: string) {
  async function produce(conn: KafkaConnection, records: Uint8Array) {
    const r = await conn.send<ProduceResponse>(ApiKey.PRODUCE, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [createTopicProduceData({
        name: topic,
        partitionData: [createPartitionProduceData({ index: 0, records })],
      })],
    }, { version: 9 });
    const p = r.responses[0]!.partitionResponses[0]!;
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  }

  async function writeMarker(
    conn: KafkaConnection,
    p: Producer,
    commit: boolean,
    topics: { name: string; partitions: number[] }[] = [{ name: topic, partitions: [0] }],
  ): Promise<number[]> {
    const r = await conn.send<WriteTxnMarkersResponse>(ApiKey.WRITE_TXN_MARKERS, {
      markers: [createWritableTxnMarker({
        producerId: p.id,
        producerEpoch: p.epoch,
        transactionResult: commit,
        coordinatorEpoch: 0,
        topics: topics.map((t) =>
          createWritableTxnMarkerTopic({ name: t.name, partitionIndexes: t.partitions })
        ),
      })],
    }, { version: 1 });
    return r.markers[0]!.topics.flatMap((t) => t.partitions.map((q) => q.errorCode));
  }

  async function fetch(conn: KafkaConnection, isolationLevel: number): Promise<PartitionData> {
    const r = await conn.send<FetchResponse>(ApiKey.FETCH, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [createFetchTopic({
        topic: topic,
        partitions: [
          createFetchPartition({ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }),
        ],
      })],
    }, { version: 12 });
    return r.responses[0]!.partitions[0]!;
  }

  async function latestOffset(conn: KafkaConnection, isolationLevel: number): Promise<number> {
    const r = await conn.send<ListOffsetsResponse>(ApiKey.LIST_OFFSETS, {
      replicaId: -1,
      isolationLevel,
      topics: [createListOffsetsTopic({
        name: topic,
        partitions: [createListOffsetsPartition({ partitionIndex: 0, timestamp: -1n })],
      })],
    }, { version: 7 });
    return Number(r.topics[0]!.partitions[0]!.offset);
  }

  /** DescribeProducers of partition 0 (and of an unknown one): per producer id, its state. */
  async function describeProducers(conn: KafkaConnection) {
    const r = await conn.send<DescribeProducersResponse>(ApiKey.DESCRIBE_PRODUCERS, {
      topics: [
        createTopicRequest({ name: topic, partitionIndexes: [0] }),
        createTopicRequest({ name: "nope", partitionIndexes: [0] }),
      ],
    }, { version: 0 });
    const p = r.topics[0]!.partitions[0]!;
    return {
      errorCode: p.errorCode,
      unknownErrorCode: r.topics[1]!.partitions[0]!.errorCode,
      producers: new Map(
        p.activeProducers.map((
          x,
        ) => [x.producerId, [x.producerEpoch, Number(x.currentTxnStartOffset)]]),
      ),
    };
  }
  return { produce, writeMarker, fetch, latestOffset, describeProducers };
}

/** InitProducerId without a transactional id: a fresh producer id at epoch 0. */
export async function initProducer(conn: KafkaConnection): Promise<Producer> {
  const r = await conn.send<InitProducerIdResponse>(ApiKey.INIT_PRODUCER_ID, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  }, { version: 4 });
  assertEquals(r.errorCode, 0);
  return { id: r.producerId, epoch: r.producerEpoch };
}
