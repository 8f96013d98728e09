/**
 * The `__transaction_state` record format: the transaction coordinator's {@link TxnLogRecord}s to
 * and from magic v2 batches, as Kafka's `TransactionLog` writes them. A key is an int16 version (0)
 * followed by TransactionLogKey; a value an int16 version followed by TransactionLogValue (we write
 * version 0, which every Kafka reads; version 1, flexible, is read too), or null for a tombstone.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import type { TxnLogRecord, TxnLogValue } from "../core/txn/types.ts";
import { TxnState, txnStateName } from "../core/txn/types.ts";
import { Reader } from "../net/protocol/reader.ts";
import { Writer } from "../net/protocol/writer.ts";
import { decodeBatch, encodeBatch, type Record } from "../net/protocol/records.ts";
import {
  batchesIn,
  CorruptBatchError,
  isControl,
  magicAt,
  readBatchHeader,
} from "../net/protocol/record_batch.ts";
import {
  createTransactionLogKey,
  readTransactionLogKey,
  writeTransactionLogKey,
} from "../net/protocol/generated/transaction_log_key.ts";
import {
  createPartitionsSchema,
  createTransactionLogValue,
  readTransactionLogValue,
  writeTransactionLogValue,
} from "../net/protocol/generated/transaction_log_value.ts";

/** The value version written (0: readable by every Kafka version). */
const VALUE_VERSION = 0;

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CorruptBatchError(`${what} ${value} does not fit a JavaScript number.`);
  }
  return Number(value);
}

/**
 * Encodes the key of a `__transaction_state` record.
 *
 * @example
 * ```ts
 * import { encodeTxnRecordKey } from "./txn_records.ts";
 * encodeTxnRecordKey("app-1"); // 00 00 00 05 "app-1"
 * ```
 */
export function encodeTxnRecordKey(transactionalId: string): Uint8Array {
  const w = new Writer(8 + transactionalId.length * 3);
  w.int16(0);
  writeTransactionLogKey(w, 0, createTransactionLogKey({ transactionalId }));
  return w.finish();
}

/**
 * Encodes the value of a `__transaction_state` record.
 *
 * @example
 * ```ts
 * import { encodeTxnRecordValue } from "./txn_records.ts";
 * encodeTxnRecordValue({
 *   producerId: 1000n, producerEpoch: 0, transactionTimeoutMs: 60_000, state: "Empty",
 *   partitions: [], lastUpdateTimestampMs: 0, startTimestampMs: -1,
 * });
 * ```
 */
export function encodeTxnRecordValue(value: TxnLogValue): Uint8Array {
  assert(
    value.state !== "PrepareEpochFence" && value.state !== "Dead",
    `${value.state} is never written as a value.`,
  );
  const w = new Writer(64);
  w.int16(VALUE_VERSION);
  writeTransactionLogValue(
    w,
    VALUE_VERSION,
    createTransactionLogValue({
      producerId: value.producerId,
      producerEpoch: value.producerEpoch,
      transactionTimeoutMs: value.transactionTimeoutMs,
      transactionStatus: TxnState[value.state],
      transactionPartitions: value.partitions.map((t) =>
        createPartitionsSchema({ topic: t.topic, partitionIds: t.partitions })
      ),
      transactionLastUpdateTimestampMs: BigInt(value.lastUpdateTimestampMs),
      transactionStartTimestampMs: BigInt(value.startTimestampMs),
    }),
  );
  return w.finish();
}

/**
 * Decodes one `__transaction_state` record; throws CorruptBatchError on malformed bytes.
 *
 * @example
 * ```ts
 * import { decodeTxnRecord, encodeTxnRecordKey } from "./txn_records.ts";
 * decodeTxnRecord(encodeTxnRecordKey("app-1"), null); // the tombstone of "app-1"
 * ```
 */
export function decodeTxnRecord(key: Uint8Array | null, value: Uint8Array | null): TxnLogRecord {
  if (key === null) throw new CorruptBatchError("A __transaction_state record has a null key.");
  const kr = new Reader(key);
  const keyVersion = kr.int16();
  if (keyVersion !== 0) {
    throw new CorruptBatchError(`A __transaction_state key has unknown version ${keyVersion}.`);
  }
  const transactionalId = readTransactionLogKey(kr, 0).transactionalId;
  if (value === null) return { transactionalId, value: null };
  const vr = new Reader(value);
  const v = readTransactionLogValue(vr, vr.int16());
  const state = txnStateName(v.transactionStatus);
  if (state === undefined || state === "Dead" || state === "PrepareEpochFence") {
    throw new CorruptBatchError(
      `The __transaction_state value of ${transactionalId} has status ${v.transactionStatus}.`,
    );
  }
  return {
    transactionalId,
    value: {
      producerId: v.producerId,
      producerEpoch: v.producerEpoch,
      transactionTimeoutMs: v.transactionTimeoutMs,
      state,
      partitions: (v.transactionPartitions ?? []).map((t) => ({
        topic: t.topic,
        partitions: t.partitionIds,
      })),
      lastUpdateTimestampMs: safeNumber(v.transactionLastUpdateTimestampMs, "Last update time"),
      startTimestampMs: safeNumber(v.transactionStartTimestampMs, "Start time"),
    },
  };
}

/**
 * Encodes records as one uncompressed v2 batch with base offset 0 (the log assigns offsets).
 *
 * @example
 * ```ts
 * import { encodeTxnRecordBatch } from "./txn_records.ts";
 * encodeTxnRecordBatch([{ transactionalId: "app-1", value: null }], Date.now());
 * ```
 */
export function encodeTxnRecordBatch(records: readonly TxnLogRecord[], nowMs: number): Uint8Array {
  assert(records.length > 0, "An append must carry at least one record.");
  const batchRecords: Record[] = records.map((record, i) => ({
    offsetDelta: i,
    timestampDelta: 0,
    key: encodeTxnRecordKey(record.transactionalId),
    value: record.value === null ? null : encodeTxnRecordValue(record.value),
    headers: [],
  }));
  return encodeBatch({ baseOffset: 0, baseTimestamp: nowMs, records: batchRecords });
}

/**
 * Decodes the records at offsets `[fromOffset, highWatermark)` of a chunk read from a
 * `__transaction_state` partition, skipping control batches.
 *
 * @example
 * ```ts
 * import { decodeTxnRecordBatches } from "./txn_records.ts";
 * decodeTxnRecordBatches(new Uint8Array(0), 0, 0); // { records: [], nextOffset: 0 }
 * ```
 */
export function decodeTxnRecordBatches(
  bytes: Uint8Array,
  fromOffset: number,
  highWatermark: number,
): { records: TxnLogRecord[]; nextOffset: number } {
  const records: TxnLogRecord[] = [];
  let nextOffset = fromOffset;
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    if (magicAt(bytes, pos) !== 2) {
      throw new CorruptBatchError(
        `__transaction_state holds a magic ${
          magicAt(bytes, pos)
        } batch; only magic 2 is supported.`,
      );
    }
    const header = readBatchHeader(bytes, pos);
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    if (header.baseOffset >= highWatermark) break;
    if (lastOffset < nextOffset) continue;
    if (!isControl(header.attributes)) {
      const batch = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
      for (const record of batch.records) {
        const offset = header.baseOffset + record.offsetDelta;
        if (offset < nextOffset || offset >= highWatermark) continue;
        records.push(decodeTxnRecord(record.key, record.value));
      }
    }
    nextOffset = Math.min(lastOffset + 1, highWatermark);
  }
  return { records, nextOffset };
}
