/**
 * `dump-log`: Kafka's `kafka-dump-log.sh` (DumpLogSegments). Prints the batches of segment `.log`
 * files and KRaft `.checkpoint` snapshots in Kafka's format, with `--deep-iteration` each record,
 * with `--print-data-log` keys and values as UTF-8, and with `--cluster-metadata-decoder` each
 * `__cluster_metadata` record as Kafka's JSON (`{"type":"TOPIC_RECORD","version":0,"data":{...}}`).
 * Control records (LeaderChange, snapshot header/footer, KRaftVersion, voters, transaction markers)
 * are decoded. `.index` and `.timeindex` files print their entries, `.txnindex` files their aborted
 * transactions (Kafka's `dumpTxnIndex` lines), producer `.snapshot` files their producers
 * (`dumpProducerIdSnapshot`). A corrupt batch or a torn tail is
 * reported in a line and never stops the dump of the other files.
 *
 * @module
 */

import { basename } from "node:path";
import { Reader } from "../net/protocol/reader.ts";
import {
  type BatchHeader,
  CONTROL_FLAG_MASK,
  LOG_OVERHEAD_BYTES,
  readBatchHeader,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  verifyBatchCrc,
} from "../net/protocol/record_batch.ts";
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  decodeEndTxnMarkerValue,
  type Record as BatchRecord,
} from "../net/protocol/records.ts";
import {
  CONTROL_RECORDS,
  METADATA_RECORDS,
  readMetadataRecord,
} from "../net/protocol/generated/metadata_records.ts";
import { decodeAbortedTxns } from "../storage/log/transaction_index.ts";
import { decodeProducerSnapshot } from "../storage/log/producer_snapshot_file.ts";
import { type CliIo, parseFlags, requireFlag, type Subcommand } from "./command.ts";
import { intFlag } from "./common.ts";

const USAGE = `Usage: deno run -A main.ts dump-log --files <file1,file2,...> [options]

Print the contents of log segments, snapshots and indexes (kafka-dump-log.sh).

Options:
  --files <file1,file2,...>     The .log, .checkpoint, .index, .timeindex, .txnindex or
                                .snapshot files. Required.
  --deep-iteration              Print every record, not only the batches.
  --print-data-log              Print record keys and values (implies --deep-iteration).
  --cluster-metadata-decoder    Decode values as __cluster_metadata records (implies
                                --print-data-log).
  --skip-record-metadata        Leave out each record's offset, timestamp and sizes.
  --max-bytes <n>               Read at most n bytes of each log file.
  -h, --help                    Show this help.`;

const FLAGS = {
  "files": { type: "string" },
  "deep-iteration": { type: "boolean" },
  "print-data-log": { type: "boolean" },
  "cluster-metadata-decoder": { type: "boolean" },
  "skip-record-metadata": { type: "boolean" },
  "max-bytes": { type: "string" },
} as const;

const WHERE = "dump-log";

/** `dump-log`: the registry entry. */
export const dumpLogCommand: Subcommand = {
  name: WHERE,
  summary: "Print log segments, snapshots and indexes (kafka-dump-log.sh).",
  usage: USAGE,
  run: runDumpLog,
};

/** What to print for each file. */
export interface DumpOptions {
  deepIteration?: boolean;
  printDataLog?: boolean;
  clusterMetadataDecoder?: boolean;
  skipRecordMetadata?: boolean;
  /** Read at most this many bytes of a log file (default: all of it). */
  maxBytes?: number;
}

const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];
const INT32_MAX = 0x7fffffff;
const utf8 = new TextDecoder();

/** Kafka's `DefaultRecordBatch.incrementSequence`: wraps past Integer.MAX_VALUE to 0. */
function sequenceAt(base: number, increment: number): number {
  if (base < 0) return -1;
  return base > INT32_MAX - increment ? increment - (INT32_MAX - base) - 1 : base + increment;
}

/** Kafka's `DefaultRecordBatch.decrementSequence`: wraps below 0 back to Integer.MAX_VALUE. */
function decrementSequence(sequence: number, decrement: number): number {
  return sequence < decrement ? INT32_MAX - (decrement - sequence) + 1 : sequence - decrement;
}

function base64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

/**
 * Writes a decoded message as Kafka's generated JsonConverters do: fields in schema order, int64
 * as JSON numbers, bytes as base64, preserved unknown tagged fields left out.
 *
 * @example
 * ```ts
 * import { kafkaJson } from "./dump_log.ts";
 * kafkaJson({ name: "t", offset: 5n, _unknownTaggedFields: [] }); // '{"name":"t","offset":5}'
 * ```
 */
export function kafkaJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return JSON.stringify(base64(value));
  if (Array.isArray(value)) return `[${value.map(kafkaJson).join(",")}]`;
  const fields = Object.entries(value as Record<string, unknown>)
    .filter(([k]) => k !== "_unknownTaggedFields")
    .map(([k, v]) => `${JSON.stringify(k)}:${kafkaJson(v)}`);
  return `{${fields.join(",")}}`;
}

/** `TopicRecord` -> `TOPIC_RECORD` (MetadataRecordType's enum names). */
function enumName(schemaName: string): string {
  return schemaName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * Kafka's ClusterMetadataLogMessageParser: one `__cluster_metadata` record value as JSON, or an
 * "Error at ..." text when it does not decode.
 *
 * @example
 * ```ts ignore
 * metadataRecordText(record.value, 12); // '{"type":"TOPIC_RECORD","version":0,"data":{...}}'
 * ```
 */
export function metadataRecordText(value: Uint8Array | null, offset: number): string {
  try {
    if (value === null) throw new Error("the record has no value");
    const record = readMetadataRecord(new Reader(value));
    const name = METADATA_RECORDS.get(record.type)!.name;
    return `{"type":"${enumName(name)}","version":${record.version},"data":${
      kafkaJson(record.data)
    }}`;
  } catch (error) {
    return `Error at ${offset}, skipping. ${(error as Error).message}`;
  }
}

const CONTROL_LABELS: Record<number, string> = {
  [ControlRecordType.LEADER_CHANGE]: "LeaderChange:",
  [ControlRecordType.SNAPSHOT_HEADER]: "SnapshotHeader",
  [ControlRecordType.SNAPSHOT_FOOTER]: "SnapshotFooter",
  [ControlRecordType.KRAFT_VERSION]: "KRaftVersion",
  [ControlRecordType.KRAFT_VOTERS]: "KRaftVoters",
};

const CONTROL_TYPE_NAMES = [
  "ABORT",
  "COMMIT",
  "LEADER_CHANGE",
  "SNAPSHOT_HEADER",
  "SNAPSHOT_FOOTER",
  "KRAFT_VERSION",
  "KRAFT_VOTERS",
];

/** The text after a control record's metadata: the decoded marker or KRaft control message. */
function controlText(record: BatchRecord): string {
  let typeId = -1;
  try {
    typeId = decodeControlKey(record.key).type;
    if (typeId === ControlRecordType.ABORT || typeId === ControlRecordType.COMMIT) {
      const marker = decodeEndTxnMarkerValue(record.value);
      return ` endTxnMarker: ${
        CONTROL_TYPE_NAMES[typeId]
      } coordinatorEpoch: ${marker.coordinatorEpoch}`;
    }
    const codec = CONTROL_RECORDS.get(typeId);
    const label = CONTROL_LABELS[typeId];
    if (codec === undefined || label === undefined || record.value === null) {
      return ` controlType: ${CONTROL_TYPE_NAMES[typeId] ?? "UNKNOWN"}(${typeId})`;
    }
    return ` ${label} ${kafkaJson(codec.read(new Reader(record.value), 0))}`;
  } catch (error) {
    return ` controlType: ${CONTROL_TYPE_NAMES[typeId] ?? "UNKNOWN"}(${typeId}) undecodable: ${
      (error as Error).message
    }`;
  }
}

function batchLine(h: BatchHeader, position: number, sizeBytes: number, valid: boolean): string {
  const timestampType = (h.attributes & TIMESTAMP_TYPE_MASK) !== 0 ? "LogAppendTime" : "CreateTime";
  const deleteHorizon = (h.attributes & 0x40) !== 0
    ? `OptionalLong[${h.baseTimestamp}]`
    : "OptionalLong.empty";
  return `baseOffset: ${h.baseOffset} lastOffset: ${
    h.baseOffset + h.lastOffsetDelta
  } count: ${h.recordCount}` +
    ` baseSequence: ${h.baseSequence} lastSequence: ${
      sequenceAt(h.baseSequence, h.lastOffsetDelta)
    }` +
    ` producerId: ${h.producerId} producerEpoch: ${h.producerEpoch}` +
    ` partitionLeaderEpoch: ${h.partitionLeaderEpoch}` +
    ` isTransactional: ${(h.attributes & TRANSACTIONAL_FLAG_MASK) !== 0}` +
    ` isControl: ${(h.attributes & CONTROL_FLAG_MASK) !== 0} deleteHorizonMs: ${deleteHorizon}` +
    ` position: ${position} ${timestampType}: ${h.maxTimestamp} size: ${sizeBytes} magic: ${h.magic}` +
    ` compresscodec: ${
      CODEC_NAMES[h.attributes & 0x07] ?? "unknown"
    } crc: ${h.crc} isvalid: ${valid}`;
}

function recordLine(h: BatchHeader, record: BatchRecord, options: DumpOptions): string {
  const offset = h.baseOffset + record.offsetDelta;
  const control = (h.attributes & CONTROL_FLAG_MASK) !== 0;
  let line = "| ";
  let sep = "";
  if (!options.skipRecordMetadata) {
    const logAppend = (h.attributes & TIMESTAMP_TYPE_MASK) !== 0;
    const timestamp = logAppend ? h.maxTimestamp : h.baseTimestamp + record.timestampDelta;
    line += `offset: ${offset} ${logAppend ? "LogAppendTime" : "CreateTime"}: ${timestamp}` +
      ` keySize: ${record.key?.length ?? -1} valueSize: ${record.value?.length ?? -1}` +
      ` sequence: ${sequenceAt(h.baseSequence, record.offsetDelta)}` +
      ` headerKeys: [${record.headers.map((x) => x.key).join(",")}]`;
    sep = " ";
    if (control) line += controlText(record);
  }
  if (options.printDataLog && !control) {
    if (options.clusterMetadataDecoder) {
      line += ` payload: ${metadataRecordText(record.value, offset)}`;
    } else {
      if (record.key !== null) {
        line += `${sep}key: ${utf8.decode(record.key)}`;
        sep = " ";
      }
      if (record.value !== null) line += ` payload: ${utf8.decode(record.value)}`;
    }
  }
  return line;
}

/** The first line after "Dumping": the segment's base offset or the snapshot id. */
function fileHeading(name: string): string | null {
  if (name.endsWith(".log")) return `Log starting offset: ${Number(name.split(".")[0])}`;
  if (name === "bootstrap.checkpoint") return "KRaft bootstrap snapshot";
  const snapshot = /^(\d{20})-(\d{10})\.checkpoint$/.exec(name);
  if (snapshot !== null) {
    return `Snapshot end offset: ${Number(snapshot[1])}, epoch: ${Number(snapshot[2])}`;
  }
  return null;
}

/**
 * The lines Kafka's DumpLogSegments prints for one `.log` or `.checkpoint` file's bytes, plus
 * warnings (non-consecutive offsets) for stderr.
 *
 * @example
 * ```ts ignore
 * const { out } = dumpLogBytes("00000000000000000000.log", await Deno.readFile(path), {});
 * ```
 */
export function dumpLogBytes(
  name: string,
  bytes: Uint8Array,
  options: DumpOptions = {},
): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const heading = fileHeading(name);
  if (heading !== null) out.push(heading);
  const deep = options.deepIteration || options.printDataLog || options.clusterMetadataDecoder;
  const printData = options.printDataLog || options.clusterMetadataDecoder;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  let lastOffset = -1;
  while (bytes.length - position >= LOG_OVERHEAD_BYTES + 5) {
    const sizeBytes = LOG_OVERHEAD_BYTES + view.getInt32(position + 8);
    if (sizeBytes < LOG_OVERHEAD_BYTES + 14 || position + sizeBytes > bytes.length) break;
    const slice = bytes.subarray(position, position + sizeBytes);
    let header: BatchHeader;
    try {
      header = readBatchHeader(slice, 0);
    } catch (error) {
      out.push(`Cannot read the batch at position ${position}: ${(error as Error).message}`);
      break;
    }
    const valid = verifyBatchCrc(slice, 0);
    out.push(batchLine(header, position, sizeBytes, valid));
    if (deep) {
      try {
        const { records } = decodeBatch(slice, { skipCrcCheck: true });
        for (const record of records) {
          const offset = header.baseOffset + record.offsetDelta;
          if (lastOffset !== -1 && offset !== lastOffset + 1) {
            err.push(`Non-consecutive offsets in ${name}: ${lastOffset} is followed by ${offset}`);
          }
          lastOffset = offset;
          out.push(
            recordLine(header, record, {
              ...options,
              printDataLog: printData,
            }),
          );
        }
      } catch (error) {
        out.push(
          `| Cannot decode the records of the batch at position ${position}: ${
            (error as Error).message
          }`,
        );
      }
    }
    position += sizeBytes;
  }
  const trailing = bytes.length - position;
  if (trailing > 0 && options.maxBytes === undefined) {
    out.push(`Found ${trailing} invalid bytes at the end of ${name}`);
  }
  return { out, err };
}

/** The entries of an offset index (`.index`) or time index (`.timeindex`). */
export function dumpIndexBytes(name: string, bytes: Uint8Array): string[] {
  const baseOffset = Number(name.split(".")[0]);
  const time = name.endsWith(".timeindex");
  const entryBytes = time ? 12 : 8;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.length / entryBytes);
  if (count === 0) return [`${name} is empty.`];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * entryBytes;
    if (time) {
      const timestamp = view.getBigInt64(at);
      const offset = baseOffset + view.getInt32(at + 8);
      if (i > 0 && offset === baseOffset) break;
      out.push(`timestamp: ${timestamp} offset: ${offset}`);
    } else {
      const offset = baseOffset + view.getInt32(at);
      if (i > 0 && offset === baseOffset) break;
      out.push(`offset: ${offset} position: ${view.getInt32(at + 4)}`);
    }
  }
  return out;
}

/**
 * The entries of an aborted-transaction index (`.txnindex`), one line each as Kafka prints them;
 * a torn tail or an entry of an unknown version is reported in a line.
 *
 * @example
 * ```ts ignore
 * dumpTxnIndexBytes("00000000000000000000.txnindex", await Deno.readFile(path));
 * // ["version: 0 producerId: 7 firstOffset: 0 lastOffset: 4 lastStableOffset: 5"]
 * ```
 */
export function dumpTxnIndexBytes(name: string, bytes: Uint8Array): string[] {
  try {
    const { entries, trailingBytes } = decodeAbortedTxns(bytes);
    const out = entries.map((e) =>
      `version: 0 producerId: ${e.producerId} firstOffset: ${e.firstOffset} ` +
      `lastOffset: ${e.lastOffset} lastStableOffset: ${e.lastStableOffset}`
    );
    if (trailingBytes > 0) out.push(`Found ${trailingBytes} invalid bytes at the end of ${name}`);
    return out;
  } catch (error) {
    return [`Cannot read ${name}: ${(error as Error).message}`];
  }
}

/**
 * The producers of a producer state `.snapshot`, one line per entry as Kafka's
 * `dumpProducerIdSnapshot` prints them; a corrupt file is one line for stderr.
 *
 * @example
 * ```ts ignore
 * dumpProducerSnapshotBytes(await Deno.readFile("00000000000000000042.snapshot")).out;
 * // ["producerId: 7 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1000 firstSequence: 0 ..."]
 * ```
 */
export function dumpProducerSnapshotBytes(bytes: Uint8Array): { out: string[]; err: string[] } {
  try {
    const out = decodeProducerSnapshot(bytes).map((e) => {
      const txn = e.currentTxnFirstOffset >= 0
        ? `OptionalLong[${e.currentTxnFirstOffset}]`
        : "OptionalLong.empty";
      let line = `producerId: ${e.producerId} producerEpoch: ${e.producerEpoch} ` +
        `coordinatorEpoch: ${e.coordinatorEpoch} currentTxnFirstOffset: ${txn} ` +
        `lastTimestamp: ${e.timestampMs} `;
      if (e.lastOffset >= 0) {
        line += `firstSequence: ${decrementSequence(e.lastSequence, e.offsetDelta)} ` +
          `lastSequence: ${e.lastSequence} lastOffset: ${e.lastOffset} ` +
          `offsetDelta: ${e.offsetDelta} timestamp: ${e.timestampMs}`;
      }
      return line;
    });
    return { out, err: [] };
  } catch (error) {
    return { out: [], err: [(error as Error).message] };
  }
}

async function readBounded(path: string, maxBytes: number | undefined): Promise<Uint8Array> {
  if (maxBytes === undefined) return await Deno.readFile(path);
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(maxBytes);
    let filled = 0;
    while (filled < maxBytes) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return buf.subarray(0, filled);
  } finally {
    file.close();
  }
}

async function runDumpLog(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(WHERE, args, FLAGS);
  const files = requireFlag(WHERE, "--files", values.files).split(",").map((f) => f.trim())
    .filter((f) => f !== "");
  const maxBytes = intFlag(WHERE, "--max-bytes", values["max-bytes"]);
  const options: DumpOptions = {
    deepIteration: values["deep-iteration"],
    printDataLog: values["print-data-log"],
    clusterMetadataDecoder: values["cluster-metadata-decoder"],
    skipRecordMetadata: values["skip-record-metadata"],
    maxBytes,
  };
  let failed = false;
  for (const path of files) {
    io.out(`Dumping ${path}`);
    const name = basename(path);
    const suffix = name.slice(name.lastIndexOf("."));
    try {
      if (suffix === ".log" || suffix === ".checkpoint") {
        const { out, err } = dumpLogBytes(name, await readBounded(path, maxBytes), options);
        out.forEach((line) => io.out(line));
        err.forEach((line) => io.err(line));
      } else if (suffix === ".index" || suffix === ".timeindex") {
        dumpIndexBytes(name, await Deno.readFile(path)).forEach((line) => io.out(line));
      } else if (suffix === ".snapshot") {
        const { out, err } = dumpProducerSnapshotBytes(await Deno.readFile(path));
        out.forEach((line) => io.out(line));
        err.forEach((line) => io.err(line));
      } else if (suffix === ".txnindex") {
        dumpTxnIndexBytes(name, await Deno.readFile(path)).forEach((line) => io.out(line));
      } else {
        io.err(`Ignoring unknown file ${path}`);
      }
    } catch (error) {
      if (
        !(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied)
      ) {
        throw error;
      }
      io.err(`Cannot read ${path}: ${(error as Error).message.split("\n")[0]}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
