/**
 * Storage benchmark: append and read throughput of the file log beside raw file I/O baselines
 * measured in the same run, and recovery time after an unclean shutdown.
 *
 * Run: `deno run -A scripts/bench/storage_bench.ts [--append-mib 128] [--recovery-mib 256]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FileLog } from "../../storage/log/file_log.ts";
import { logConfig } from "../../storage/log/log_config.ts";
import { makeBatch } from "../../storage/log/test_batches.ts";
import { writeAllSync } from "../../storage/fs.ts";

/** Options of {@link runStorageBench}. */
export interface StorageBenchOptions {
  /** MiB appended per append case (default 128). */
  appendMiB?: number;
  /** MiB of log recovered after an unclean shutdown (default 256). */
  recoveryMiB?: number;
  /** Appends in flight at once (default 8), so group commit has something to group. */
  inFlight?: number;
  /** Directory for temp files (default the system temp dir). */
  tmpDir?: string;
}

const MIB = 1024 * 1024;
const RECORD_BYTES = 1024;
const NOW_MS = Date.now();

interface Row {
  case: string;
  mibPerSec: number;
  note: string;
}

function mibps(bytes: number, ms: number): number {
  return bytes / MIB / (ms / 1000);
}

async function appendCase(
  root: string,
  batchBytes: number,
  durable: boolean,
  totalBytes: number,
  inFlight: number,
): Promise<{ mibPerSec: number; flushes: number; batches: number; batch: Uint8Array }> {
  const records = Math.max(1, Math.floor(batchBytes / (RECORD_BYTES + 12)));
  const batch = makeBatch({ records, valueBytes: RECORD_BYTES, timestampMs: NOW_MS });
  const batches = Math.ceil(totalBytes / batch.length);
  const dir = `${root}/append-${batchBytes}-${durable}`;
  const log = await FileLog.open({
    dir,
    config: logConfig({
      maxMessageBytes: 4 * MIB,
      segmentBytes: 1024 * MIB,
      flushMessages: durable ? null : Number.MAX_SAFE_INTEGER,
    }),
    warn: () => {},
  });
  const flushesBefore = log.flushCount;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < batches) {
      next++;
      await log.append(batch, { leaderEpoch: 0, nowMs: NOW_MS });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ms = performance.now() - start;
  const flushes = log.flushCount - flushesBefore;
  await log.close();
  await Deno.remove(dir, { recursive: true });
  return { mibPerSec: mibps(batches * batch.length, ms), flushes, batches, batch };
}

/** The same bytes with FsFile writes, fdatasync every `batchesPerSync` batches (0 = never). */
async function rawAppendCase(
  root: string,
  batch: Uint8Array,
  batches: number,
  batchesPerSync: number,
): Promise<number> {
  const path = `${root}/raw.bin`;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const start = performance.now();
  for (let i = 0; i < batches; i++) {
    writeAllSync(file, batch);
    if (batchesPerSync > 0 && ((i + 1) % batchesPerSync === 0 || i === batches - 1)) {
      await file.syncData();
    }
  }
  const ms = performance.now() - start;
  file.close();
  await Deno.remove(path);
  return mibps(batches * batch.length, ms);
}

async function fillLog(dir: string, totalBytes: number): Promise<FileLog> {
  const batch = makeBatch({ records: 60, valueBytes: RECORD_BYTES, timestampMs: NOW_MS });
  const log = await FileLog.open({
    dir,
    config: logConfig({ flushMessages: Number.MAX_SAFE_INTEGER, segmentBytes: 128 * MIB }),
    warn: () => {},
  });
  const batches = Math.ceil(totalBytes / batch.length);
  for (let i = 0; i < batches; i++) await log.append(batch, { leaderEpoch: 0, nowMs: NOW_MS });
  return log;
}

async function readCases(root: string, totalBytes: number): Promise<Row[]> {
  const dir = `${root}/read-0`;
  const log = await fillLog(dir, totalBytes);
  await log.flush();
  let bytes = 0;
  let start = performance.now();
  for (let offset = 0, i = 0; offset < log.logEndOffset && i < 1_000_000; i++) {
    const { records } = await log.read(offset, { maxBytes: MIB });
    bytes += records.length;
    const view = new DataView(records.buffer, records.byteOffset);
    let pos = 0;
    let last = offset;
    while (pos < records.length) {
      last = view.getUint32(pos + 4) + view.getInt32(pos + 23);
      pos += 12 + view.getInt32(pos + 8);
    }
    offset = last + 1;
  }
  const logMiBps = mibps(bytes, performance.now() - start);
  await log.close();
  let rawBytes = 0;
  start = performance.now();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".log")) continue;
    const file = await Deno.open(`${dir}/${entry.name}`);
    for (let i = 0; i < 1_000_000; i++) {
      const buf = new Uint8Array(MIB);
      const n = file.readSync(buf);
      if (n === null || n === 0) break;
      rawBytes += n;
    }
    file.close();
  }
  const rawMiBps = mibps(rawBytes, performance.now() - start);
  await Deno.remove(dir, { recursive: true });
  return [
    { case: "sequential read, 1 MiB fetches (log)", mibPerSec: logMiBps, note: "page cache" },
    { case: "sequential read, 1 MiB chunks (raw baseline)", mibPerSec: rawMiBps, note: "" },
  ];
}

async function recoveryCase(root: string, totalBytes: number): Promise<string> {
  const dir = `${root}/recover-0`;
  const log = await fillLog(dir, totalBytes);
  await log.flush();
  log.closeAbruptly();
  const start = performance.now();
  const again = await FileLog.open({ dir, recoveryPoint: 0, warn: () => {} });
  const ms = performance.now() - start;
  await again.close();
  await Deno.remove(dir, { recursive: true });
  return `Recovery of ${(totalBytes / MIB).toFixed(0)} MiB after an unclean shutdown (full ` +
    `CRC scan, index rebuild): ${ms.toFixed(0)} ms (${mibps(totalBytes, ms).toFixed(0)} MiB/s).`;
}

/**
 * Runs the benchmark and returns a markdown report.
 *
 * @example
 * ```ts
 * import { runStorageBench } from "./storage_bench.ts";
 * console.log(await runStorageBench({ appendMiB: 16, recoveryMiB: 16 }));
 * ```
 */
export async function runStorageBench(options: StorageBenchOptions = {}): Promise<string> {
  const appendBytes = (options.appendMiB ?? 128) * MIB;
  const recoveryBytes = (options.recoveryMiB ?? 256) * MIB;
  const inFlight = options.inFlight ?? 8;
  const root = await Deno.makeTempDir({ dir: options.tmpDir, prefix: "storage_bench_" });
  const rows: Row[] = [];
  try {
    for (const batchBytes of [16 * 1024, MIB]) {
      const label = batchBytes === MIB ? "1 MiB" : "16 KiB";
      const durable = await appendCase(root, batchBytes, true, appendBytes, inFlight);
      const perSync = Math.max(1, Math.round(durable.batches / Math.max(1, durable.flushes)));
      rows.push({
        case: `append ${label} batches, durable (group commit, ${inFlight} in flight)`,
        mibPerSec: durable.mibPerSec,
        note: `${durable.flushes} fsyncs for ${durable.batches} appends`,
      });
      rows.push({
        case: `raw write + fdatasync every ${perSync} batch(es) (baseline)`,
        mibPerSec: await rawAppendCase(root, durable.batch, durable.batches, perSync),
        note: "same bytes, same fsync cadence",
      });
      const off = await appendCase(root, batchBytes, false, appendBytes, inFlight);
      rows.push({
        case: `append ${label} batches, fsync off`,
        mibPerSec: off.mibPerSec,
        note: "flush.messages = MAX",
      });
      rows.push({
        case: "raw write, no fsync (baseline)",
        mibPerSec: await rawAppendCase(root, off.batch, off.batches, 0),
        note: "",
      });
    }
    rows.push(...await readCases(root, appendBytes));
    const recovery = await recoveryCase(root, recoveryBytes);
    const table = [
      "| case | MiB/s | note |",
      "| --- | ---: | --- |",
      ...rows.map((r) => `| ${r.case} | ${r.mibPerSec.toFixed(0)} | ${r.note} |`),
    ];
    return [
      `### Storage (1 KiB records, ${(appendBytes / MIB).toFixed(0)} MiB per case)`,
      "",
      ...table,
      "",
      recovery,
      "",
    ].join("\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "append-mib": { type: "string" },
      "recovery-mib": { type: "string" },
      "in-flight": { type: "string" },
    },
  });
  console.log(
    await runStorageBench({
      appendMiB: values["append-mib"] ? Number(values["append-mib"]) : undefined,
      recoveryMiB: values["recovery-mib"] ? Number(values["recovery-mib"]) : undefined,
      inFlight: values["in-flight"] ? Number(values["in-flight"]) : undefined,
    }),
  );
}
