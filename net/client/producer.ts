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
  /** Record bytes that may wait unacknowledged before `send` waits (Kafka's buffer.memory; 32 MiB). */
  bufferMemoryBytes?: number;
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

/** Called once per record: with its metadata once acknowledged, or with the error that failed it. */
export type DeliveryCallback = (error: Error | null, metadata: RecordMetadata | null) => void;

interface Pending {
  record: BatchRecord;
  timestamp: number;
  sizeBytes: number;
  done: DeliveryCallback | undefined;
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

/** A record waiting for its topic's metadata before it can be given a partition. */
interface Unrouted {
  topic: string;
  key: Uint8Array | null;
  pending: Pending;
}

/** Cached partitioning metadata of a topic (refetched after {@link METADATA_MAX_AGE_MS}). */
interface TopicRoute {
  count: number;
  available: number[];
  fetchedAtMs: number;
}

/** Kafka's metadata.max.age.ms: how long partition counts are trusted for partitioning. */
const METADATA_MAX_AGE_MS = 300_000;
/** Kafka's buffer.memory default: what {@link Producer.send} lets wait before it blocks. */
const BUFFER_MEMORY_BYTES_DEFAULT = 32 * 1024 * 1024;

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
  readonly #bufferMemoryBytes: number;
  /** Per partition, the batches not yet sent (oldest first; the last one grows). */
  #batches = new Map<string, Batch[]>();
  #inflight = new Map<string, Promise<void>>();
  #sticky = new Map<string, number>();
  #sequences = new Map<string, number>();
  #routes = new Map<string, TopicRoute>();
  /** Records of topics whose metadata is being fetched, by topic. */
  #unrouted = new Map<string, Unrouted[]>();
  #producerId: Promise<{ id: bigint; epoch: number }> | undefined;
  #bufferedBytes = 0;
  #bufferWaiters: { belowBytes: number; resolve: () => void }[] = [];
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
    this.#bufferMemoryBytes = options.bufferMemoryBytes ?? BUFFER_MEMORY_BYTES_DEFAULT;
  }

  /** Record bytes queued or in flight, not yet acknowledged. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Resolves once fewer than `bytes` record bytes wait unacknowledged. */
  async whenBufferedBelow(bytes: number): Promise<void> {
    if (this.#bufferedBytes < bytes) return;
    await new Promise<void>((resolve) => this.#bufferWaiters.push({ belowBytes: bytes, resolve }));
  }

  /** Queues one record; resolves once its batch is acknowledged (at once with acks 0). */
  async send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.#closed) throw new Error("Cannot send: the producer is closed");
    await this.whenBufferedBelow(this.#bufferMemoryBytes);
    return await new Promise<RecordMetadata>((resolve, reject) =>
      this.produce(record, (error, metadata) => error === null ? resolve(metadata!) : reject(error))
    );
  }

  /**
   * Queues one record without waiting (Kafka's `send(record, callback)`): `onDelivery` is called
   * once, when the record's batch is acknowledged or has failed. Nothing here blocks; callers that
   * produce faster than the cluster takes records bound themselves with {@link whenBufferedBelow}.
   */
  produce(record: ProducerRecord, onDelivery?: DeliveryCallback): void {
    if (this.#closed) throw new Error("Cannot send: the producer is closed");
    const key = toBytes(record.key);
    const value = toBytes(record.value);
    const headers = toHeaders(record.headers);
    let sizeBytes = (key?.length ?? 0) + (value?.length ?? 0) + 16;
    for (const h of headers) sizeBytes += h.key.length + (h.value?.length ?? 0);
    const pending: Pending = {
      record: { offsetDelta: 0, timestampDelta: 0, key, value, headers },
      timestamp: record.timestamp ?? Date.now(),
      sizeBytes,
      done: onDelivery,
    };
    this.#bufferedBytes += sizeBytes;
    if (record.partition !== undefined) {
      this.#append(record.topic, record.partition, pending);
      return;
    }
    const route = this.#routes.get(record.topic);
    if (route !== undefined && Date.now() - route.fetchedAtMs < METADATA_MAX_AGE_MS) {
      this.#append(record.topic, this.#choosePartition(record.topic, key, route), pending);
      return;
    }
    let waiting = this.#unrouted.get(record.topic);
    if (waiting === undefined) {
      this.#unrouted.set(record.topic, waiting = []);
      void this.#route(record.topic);
    }
    waiting.push({ topic: record.topic, key, pending });
  }

  /** Fetches a topic's partitions, then places the records that waited for them. */
  async #route(topic: string): Promise<void> {
    let error: Error | null = null;
    try {
      const meta = await this.cluster.retrying(() => this.cluster.topic(topic, false, true));
      const available = meta.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
      this.#routes.set(topic, {
        count: meta.partitions.length,
        available,
        fetchedAtMs: Date.now(),
      });
    } catch (e) {
      error = e as Error;
    }
    const waiting = this.#unrouted.get(topic) ?? [];
    this.#unrouted.delete(topic);
    const route = this.#routes.get(topic);
    for (const u of waiting) {
      if (error !== null || route === undefined) {
        this.#settle(u.pending, error ?? new Error(`No metadata for topic ${topic}`), null);
      } else {
        this.#append(topic, this.#choosePartition(topic, u.key, route), u.pending);
      }
    }
  }

  #choosePartition(topic: string, key: Uint8Array | null, route: TopicRoute): number {
    if (key !== null) return partitionForKey(key, route.count);
    let sticky = this.#sticky.get(topic);
    if (sticky === undefined || sticky >= route.count) {
      const pool = route.available.length > 0
        ? route.available
        : Array.from({ length: route.count }, (_, i) => i);
      sticky = pool[Math.floor(Math.random() * pool.length)]!;
      this.#sticky.set(topic, sticky);
    }
    return sticky;
  }

  #settle(p: Pending, error: Error | null, metadata: RecordMetadata | null): void {
    this.#bufferedBytes -= p.sizeBytes;
    if (this.#bufferWaiters.length > 0) {
      this.#bufferWaiters = this.#bufferWaiters.filter((w) => {
        if (this.#bufferedBytes >= w.belowBytes) return true;
        w.resolve();
        return false;
      });
    }
    p.done?.(error, metadata);
  }

  /** Adds a record to its partition's newest batch, starting one when that is full. */
  #append(topic: string, partition: number, pending: Pending): void {
    const tp = `${topic}\u0000${partition}`;
    let queue = this.#batches.get(tp);
    if (queue === undefined) this.#batches.set(tp, queue = []);
    let batch = queue.at(-1);
    if (batch === undefined || batch.sizeBytes + pending.sizeBytes > BATCH_BYTES_MAX) {
      if (batch !== undefined) batch.ready = true;
      batch = { topic, partition, pending: [], sizeBytes: 0 };
      queue.push(batch);
    }
    batch.pending.push(pending);
    batch.sizeBytes += pending.sizeBytes;
    if (batch.sizeBytes >= this.#batchSizeBytes) this.#drain(tp);
    else if (batch.timer === undefined) {
      batch.timer = setTimeout(() => this.#drain(tp), this.#lingerMs);
    }
  }

  /**
   * Sends the oldest batch of `tp` now, or, while the partition's previous batch is still in
   * flight, marks it ready so it goes the moment that one is answered. One batch in flight per
   * partition keeps records in order; the batches behind it keep growing (up to the max batch
   * size) meanwhile, which keeps throughput up when each answer waits for an fsync.
   */
  #drain(tp: string): void {
    const queue = this.#batches.get(tp);
    const batch = queue?.[0];
    if (batch === undefined) return;
    clearTimeout(batch.timer);
    batch.timer = undefined;
    if (this.#inflight.has(tp)) {
      batch.ready = true;
      return;
    }
    queue!.shift();
    if (queue!.length === 0) this.#batches.delete(tp);
    if (this.#sticky.get(batch.topic) === batch.partition) this.#sticky.delete(batch.topic);
    const next = this.#sendBatch(batch).catch((error: Error) => {
      for (const p of batch.pending) this.#settle(p, error, null);
    });
    this.#inflight.set(tp, next);
    next.then(() => {
      if (this.#inflight.get(tp) === next) this.#inflight.delete(tp);
      const waiting = this.#batches.get(tp)?.[0];
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
    const records = batch.pending.map((p, i) => {
      p.record.offsetDelta = i;
      p.record.timestampDelta = p.timestamp - baseTimestamp;
      return p.record;
    });
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
      this.#settle(p, null, {
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
    for (let round = 0; round < 100_000; round++) {
      // Records still waiting for their topic's metadata first become batches.
      if (this.#unrouted.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      for (const queue of this.#batches.values()) for (const b of queue) b.ready = true;
      for (const tp of [...this.#batches.keys()]) this.#drain(tp);
      if (this.#inflight.size === 0 && this.#batches.size === 0) return;
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
