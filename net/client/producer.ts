/**
 * `Producer`: batches records per partition (flushed by size or after `lingerMs`), routes each
 * batch to its partition leader, retries stale-leader errors, and optionally makes every batch
 * idempotent with InitProducerId and per-partition sequence numbers.
 *
 * Keyed records go where Kafka's default partitioner puts them (murmur2); records without a key
 * stick to one partition per batch (Kafka's sticky partitioner, KIP-480).
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import { Codec } from "../protocol/compression.ts";
import { encodeBatch, type Record as BatchRecord, type RecordHeader } from "../protocol/records.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createPartitionProduceData,
  createTopicProduceData,
} from "../protocol/generated/produce_request.ts";
import type { ProduceResponse } from "../protocol/generated/produce_response.ts";
import type { InitProducerIdResponse } from "../protocol/generated/init_producer_id_response.ts";
import { check, type ClientOptions, Cluster, kafkaError } from "./cluster.ts";
import { partitionForKey } from "./partitioner.ts";

/** Compression by Kafka's `compression.type` names. */
export type CompressionType = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** Options for {@link Producer}. */
export interface ProducerOptions extends ClientOptions {
  /** 0: no answer, 1: leader wrote it, -1 (all): every in-sync replica has it. Default -1. */
  acks?: 0 | 1 | -1;
  /** How long a batch waits for more records, in milliseconds (Kafka's linger.ms; default 5). */
  lingerMs?: number;
  /** A batch is sent once its records reach this size (Kafka's batch.size; default 16384). */
  batchSizeBytes?: number;
  /** Compression of every batch (Kafka's compression.type; default none). */
  compression?: CompressionType;
  /** Idempotent batches via InitProducerId and sequence numbers (requires acks -1). */
  idempotent?: boolean;
}

/** Header values may be strings (UTF-8) or bytes. */
export type HeaderInput = { [key: string]: string | Uint8Array | null } | RecordHeader[];

/** One record to send. Strings are encoded as UTF-8. */
export interface ProducerRecord {
  topic: string;
  /** Default: the key's partition (murmur2), or a sticky partition for null keys. */
  partition?: number;
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: HeaderInput;
  /** CreateTime in ms (default: now). */
  timestamp?: number;
}

/** Where a record landed. Offset is -1 with acks 0. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

const CODECS: Record<CompressionType, number> = {
  none: Codec.NONE,
  gzip: Codec.GZIP,
  snappy: Codec.SNAPPY,
  lz4: Codec.LZ4,
  zstd: Codec.ZSTD,
};

interface Pending {
  record: BatchRecord;
  timestamp: number;
  resolve: (m: RecordMetadata) => void;
  reject: (e: Error) => void;
}

interface Batch {
  topic: string;
  partition: number;
  pending: Pending[];
  sizeBytes: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Lingered out or full while the previous batch was in flight: send when it is answered. */
  ready?: boolean;
}

const encoder = new TextEncoder();

/** The most a batch grows while its partition's previous batch is in flight (below Kafka's 1 MiB message.max.bytes). */
const BATCH_BYTES_MAX = 900 * 1024;

function toBytes(v: Uint8Array | string | null | undefined): Uint8Array | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? encoder.encode(v) : v;
}

/**
 * Normalizes headers to Kafka's ordered list.
 *
 * @example
 * ```ts
 * import { toHeaders } from "./producer.ts";
 * toHeaders({ trace: "abc" }); // [{ key: "trace", value: Uint8Array [97, 98, 99] }]
 * ```
 */
export function toHeaders(headers: HeaderInput | undefined): RecordHeader[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers).map(([key, value]) => ({ key, value: toBytes(value) }));
}

/**
 * A Kafka producer.
 *
 * @example
 * ```ts ignore
 * import { Producer } from "./producer.ts";
 * const producer = new Producer({ bootstrapServers: "127.0.0.1:9092", acks: -1 });
 * const meta = await producer.send({ topic: "orders", key: "user-1", value: "hello" });
 * await producer.close();
 * ```
 */
export class Producer {
  readonly cluster: Cluster;
  readonly #acks: 0 | 1 | -1;
  readonly #lingerMs: number;
  readonly #batchSizeBytes: number;
  readonly #codec: number;
  readonly #idempotent: boolean;
  #batches = new Map<string, Batch>();
  #inflight = new Map<string, Promise<void>>();
  #sticky = new Map<string, number>();
  #sequences = new Map<string, number>();
  #producerId: Promise<{ id: bigint; epoch: number }> | undefined;
  #closed = false;

  constructor(options: ProducerOptions) {
    this.cluster = new Cluster(options);
    this.#acks = options.acks ?? -1;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#batchSizeBytes = options.batchSizeBytes ?? 16_384;
    this.#codec = CODECS[options.compression ?? "none"];
    if (this.#codec === undefined) {
      throw new RangeError(`Unknown compression type ${options.compression}`);
    }
    this.#idempotent = options.idempotent ?? false;
    if (this.#idempotent && this.#acks !== -1) {
      throw new RangeError("An idempotent producer needs acks=-1 (all)");
    }
  }

  /** Queues one record; resolves once its batch is acknowledged (at once with acks 0). */
  async send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.#closed) throw new Error("Cannot send: the producer is closed");
    const key = toBytes(record.key);
    const partition = record.partition ?? await this.#partitionFor(record.topic, key);
    const timestamp = record.timestamp ?? Date.now();
    const value = toBytes(record.value);
    const headers = toHeaders(record.headers);
    const tp = `${record.topic}\u0000${partition}`;
    // Backpressure: a full batch waiting behind an in-flight one is sent when that is answered.
    for (let round = 0; round < 1000; round++) {
      const waiting = this.#batches.get(tp);
      const inflight = this.#inflight.get(tp);
      if (waiting === undefined || waiting.sizeBytes < BATCH_BYTES_MAX || inflight === undefined) {
        break;
      }
      await inflight;
    }
    let batch = this.#batches.get(tp);
    if (batch === undefined) {
      batch = { topic: record.topic, partition, pending: [], sizeBytes: 0 };
      this.#batches.set(tp, batch);
    }
    const entry = { offsetDelta: 0, timestampDelta: 0, key, value, headers };
    const result = new Promise<RecordMetadata>((resolve, reject) => {
      batch.pending.push({ record: entry, timestamp, resolve, reject });
    });
    batch.sizeBytes += (key?.length ?? 0) + (value?.length ?? 0) + 16 +
      headers.reduce((n, h) => n + h.key.length + (h.value?.length ?? 0), 0);
    if (batch.sizeBytes >= this.#batchSizeBytes && !this.#inflight.has(tp)) this.#drain(tp);
    else if (batch.sizeBytes >= BATCH_BYTES_MAX) this.#drain(tp); // marks it ready
    else if (batch.timer === undefined && !batch.ready) {
      batch.timer = setTimeout(() => this.#drain(tp), this.#lingerMs);
    }
    return await result;
  }

  async #partitionFor(topic: string, key: Uint8Array | null): Promise<number> {
    const meta = await this.cluster.retrying(() => this.cluster.topic(topic, false, true));
    const count = meta.partitions.length;
    if (key !== null) return partitionForKey(key, count);
    let sticky = this.#sticky.get(topic);
    if (sticky === undefined || sticky >= count) {
      const available = meta.partitions.filter((p) => p.leader >= 0);
      const pool = available.length > 0 ? available : meta.partitions;
      sticky = pool[Math.floor(Math.random() * pool.length)]!.partition;
      this.#sticky.set(topic, sticky);
    }
    return sticky;
  }

  /**
   * Sends the batch of `tp` now, or, while the partition's previous batch is still in flight,
   * lets it keep growing (up to the max batch size) and sends it the moment that one is answered.
   * One batch in flight per partition keeps records in order; growing the next batch meanwhile
   * keeps throughput up when each answer waits for an fsync.
   */
  #drain(tp: string): void {
    const batch = this.#batches.get(tp);
    if (batch === undefined) return;
    clearTimeout(batch.timer);
    batch.timer = undefined;
    if (this.#inflight.has(tp)) {
      batch.ready = true;
      return;
    }
    this.#batches.delete(tp);
    if (this.#sticky.get(batch.topic) === batch.partition) this.#sticky.delete(batch.topic);
    const next = this.#sendBatch(batch).catch((error: Error) => {
      for (const p of batch.pending) p.reject(error);
    });
    this.#inflight.set(tp, next);
    next.then(() => {
      if (this.#inflight.get(tp) === next) this.#inflight.delete(tp);
      const waiting = this.#batches.get(tp);
      if (waiting?.ready || (waiting && waiting.sizeBytes >= this.#batchSizeBytes)) this.#drain(tp);
    });
  }

  async #initProducerId(): Promise<{ id: bigint; epoch: number }> {
    this.#producerId ??= this.cluster.retrying(async () => {
      const conn = await this.cluster.anyConnection();
      const r = await conn.send<InitProducerIdResponse>(ApiKey.INIT_PRODUCER_ID, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      });
      check(r.errorCode, "InitProducerId");
      return { id: r.producerId, epoch: r.producerEpoch };
    });
    return await this.#producerId;
  }

  async #sendBatch(batch: Batch): Promise<void> {
    const tp = `${batch.topic}\u0000${batch.partition}`;
    const baseTimestamp = batch.pending[0]!.timestamp;
    const records = batch.pending.map((p, i) => ({
      ...p.record,
      offsetDelta: i,
      timestampDelta: p.timestamp - baseTimestamp,
    }));
    let producer: { producerId?: number; producerEpoch?: number; baseSequence?: number } = {};
    if (this.#idempotent) {
      const { id, epoch } = await this.#initProducerId();
      const sequence = this.#sequences.get(tp) ?? 0;
      this.#sequences.set(tp, (sequence + records.length) % 0x80000000);
      producer = { producerId: Number(id), producerEpoch: epoch, baseSequence: sequence };
    }
    const bytes = encodeBatch({
      baseOffset: 0,
      baseTimestamp,
      records,
      compression: this.#codec,
      ...producer,
    });
    const baseOffset = await this.cluster.retrying(() => this.#produce(batch, bytes));
    batch.pending.forEach((p, i) =>
      p.resolve({
        topic: batch.topic,
        partition: batch.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: p.timestamp,
      })
    );
  }

  async #produce(batch: Batch, records: Uint8Array): Promise<number> {
    const leader = await this.cluster.leaderFor(batch.topic, batch.partition);
    const conn = await this.cluster.connectionTo(leader);
    const version = conn.versionFor(ApiKey.PRODUCE, 11);
    if (version < 3) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `Broker ${leader} cannot take v2 batches`,
      );
    }
    const body = {
      transactionalId: null,
      acks: this.#acks,
      timeoutMs: this.cluster.options.requestTimeoutMs,
      topicData: [
        createTopicProduceData({
          name: batch.topic,
          partitionData: [createPartitionProduceData({ index: batch.partition, records })],
        }),
      ],
    };
    if (this.#acks === 0) {
      await conn.send(ApiKey.PRODUCE, body, { version, expectResponse: false });
      return -1;
    }
    const r = await conn.send<ProduceResponse>(ApiKey.PRODUCE, body, { version });
    const p = r.responses[0]?.partitionResponses[0];
    if (p === undefined) {
      throw kafkaError(
        ErrorCode.UNKNOWN_SERVER_ERROR,
        `partition ${batch.topic}-${batch.partition}`,
      );
    }
    if (p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) return -1;
    const resource = `partition ${batch.topic}-${batch.partition}`;
    const detail = p.errorMessage ?? p.recordErrors[0]?.batchIndexErrorMessage ?? null;
    check(p.errorCode, resource, detail ? `${detail} (${resource})` : null);
    return Number(p.baseOffset);
  }

  /** Sends every queued batch and waits for all answers. */
  async flush(): Promise<void> {
    for (const tp of [...this.#batches.keys()]) this.#drain(tp);
    for (let round = 0; round < 1000 && this.#inflight.size > 0; round++) {
      await Promise.all([...this.#inflight.values()]);
    }
  }

  /** Flushes, then closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.cluster.close();
    }
  }
}
