/**
 * Metadata benchmark: image load time and resident memory for 10k, 100k and 1M partitions
 * (snapshot replay, the path a restarting node takes), a real combined node started from a 1M
 * partition snapshot (process spawn to first Metadata response), a full Metadata response at
 * 100k partitions, and topics / partitions created per second through CreateTopics.
 *
 * Every image is 1000 topics (fewer below 1000 partitions) with replication factor 3 over three
 * registered brokers with one log directory each, written at metadata.version 3.9-IV0 as a real
 * `.checkpoint` file by `storage/raft/snapshot_file.ts`. Each size is written and loaded in a fresh
 * subprocess so resident memory numbers are not polluted by the previous size.
 *
 * Run: `deno run -A scripts/bench/metadata_bench.ts [--sizes 10000,100000,1000000] [--no-node]`
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  applyRecords,
  EMPTY_IMAGE,
  imageToRecords,
  type MetadataImage,
} from "../../core/metadata/image.ts";
import { makeRecord, METADATA_VERSION_FEATURE, RecordType } from "../../core/metadata/records.ts";
import type { MetadataRecord } from "../../core/metadata/records.ts";
import { SeededRandom } from "../../core/random.ts";
import { silentLogger } from "../../core/log.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../../net/protocol/generated/register_broker_record.ts";
import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
import { createPartitionRecord } from "../../net/protocol/generated/partition_record.ts";
import { createMetadataRequest } from "../../net/protocol/generated/metadata_request.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { createRequestHeader, writeRequestHeader } from "../../net/protocol/header.ts";
import { Writer } from "../../net/protocol/writer.ts";
import { API_TABLE } from "../../net/protocol/generated/api_table.ts";
import { uuidFromBytes } from "../../net/protocol/uuid.ts";
import { Dispatcher } from "../../net/dispatcher.ts";
import { registerMetadata } from "../../net/handlers/metadata.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { Admin } from "../../net/client/admin.ts";
import type { BrokerContext } from "../../node/broker_context.ts";
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  MetadataState,
} from "../../node/metadata_state.ts";
import {
  encodeSnapshot,
  readSnapshotFile,
  writeSnapshotFile,
} from "../../storage/raft/snapshot_file.ts";
import { CLUSTER_METADATA_DIR } from "../../storage/bootstrap.ts";
import { freePort, REPO_ROOT, runMain, startNode } from "../../tests/integration/harness.ts";

const SELF = fileURLToPath(import.meta.url);
const TOPICS_MAX = 1000;
const REPLICATION_FACTOR = 3;
/** metadata.version 3.9-IV0: PartitionRecord v1 with directories, RegisterBrokerRecord v3. */
const METADATA_VERSION_LEVEL = 21;
/** The epoch of every bench snapshot. */
const SNAPSHOT_EPOCH = 1;
const MIB = 1024 * 1024;
/** Bound on how long a node may take to answer its first Metadata request. */
const NODE_START_MS_MAX = 300_000;

/** Options of {@link runMetadataBench}. */
export interface MetadataBenchOptions {
  /** Partition counts to load (default 10k, 100k, 1M). */
  sizes?: number[];
  /** Start real nodes from snapshots and run CreateTopics (default true). */
  node?: boolean;
  /** Partition counts of the snapshots real nodes start from (default 100k, 1M). */
  nodeSizes?: number[];
  /** Topics of 100 partitions created per CreateTopics case (default 50; 0 skips them). */
  createTopics?: number;
}

/** The snapshot end offset of an image of `records` records. */
function snapshotOffset(records: number): number {
  return records + 1;
}

/**
 * The records of a bench image: metadata.version, `brokerIds` registered (unfenced, one log dir
 * each), and `partitions` partitions over at most 1000 topics, RF 3, leader the first replica.
 */
export function benchImageRecords(partitions: number, brokerIds: number[]): MetadataRecord[] {
  const random = new SeededRandom(partitions);
  const uuid = () => {
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = random.intBelow(256);
    return uuidFromBytes(bytes);
  };
  const records: MetadataRecord[] = [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({
        name: METADATA_VERSION_FEATURE,
        featureLevel: METADATA_VERSION_LEVEL,
      }),
    ),
  ];
  const dirs = new Map<number, string>();
  for (const [i, id] of brokerIds.entries()) {
    const dir = uuid();
    dirs.set(id, dir);
    records.push(makeRecord(
      RecordType.REGISTER_BROKER,
      3,
      createRegisterBrokerRecord({
        brokerId: id,
        incarnationId: uuid(),
        brokerEpoch: BigInt(10 + i),
        endPoints: [createBrokerEndpoint({
          name: "PLAINTEXT",
          host: "127.0.0.1",
          port: 19092 + i,
          securityProtocol: 0,
        })],
        fenced: false,
        logDirs: [dir],
      }),
    ));
  }
  const topics = Math.min(TOPICS_MAX, partitions);
  let made = 0;
  for (let t = 0; t < topics; t++) {
    const topicId = uuid();
    records.push(makeRecord(
      RecordType.TOPIC,
      0,
      createTopicRecord({ name: `topic-${String(t).padStart(4, "0")}`, topicId }),
    ));
    const count = Math.floor(partitions / topics) + (t < partitions % topics ? 1 : 0);
    for (let p = 0; p < count; p++, made++) {
      const replicas: number[] = [];
      for (let r = 0; r < Math.min(REPLICATION_FACTOR, brokerIds.length); r++) {
        replicas.push(brokerIds[(made + r) % brokerIds.length]!);
      }
      records.push(makeRecord(
        RecordType.PARTITION,
        1,
        createPartitionRecord({
          partitionId: p,
          topicId,
          replicas,
          isr: [...replicas],
          leader: replicas[0]!,
          leaderEpoch: 0,
          partitionEpoch: 0,
          directories: replicas.map((r) => dirs.get(r)!),
        }),
      ));
    }
  }
  return records;
}

interface WriteResult {
  records: number;
  sizeBytes: number;
  /** imageToRecords + encode + file write: what a controller pays to snapshot this image. */
  writeMs: number;
}

/** Child: builds the image and writes it as a snapshot into `dir`. */
async function writeChild(
  dir: string,
  partitions: number,
  options: { brokerIds: number[] },
) {
  const image = applyRecords(EMPTY_IMAGE, benchImageRecords(partitions, options.brokerIds));
  const start = performance.now();
  const payloads = imageToRecords(image).map(encodeMetadataRecord);
  const id = { offset: snapshotOffset(payloads.length), epoch: SNAPSHOT_EPOCH };
  const contents = {
    payloads,
    lastContainedLogTimestampMs: Date.now(),
  };
  const sizeBytes = await writeSnapshotFile(dir, id, encodeSnapshot(id, contents, Date.now()));
  const result: WriteResult = {
    records: payloads.length,
    sizeBytes,
    writeMs: performance.now() - start,
  };
  console.log(JSON.stringify(result));
}

interface LoadResult {
  readMs: number;
  decodeMs: number;
  applyMs: number;
  totalMs: number;
  partitions: number;
  /** heapUsed after a full GC, minus before, with the image alive. */
  heapBytes: number;
  /** RSS after load and a full GC, minus before. */
  rssBytes: number;
  /** Peak RSS of the process (VmHWM), minus the RSS before loading. */
  peakRssBytes: number;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function peakRssBytes(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? Deno.memoryUsage().rss : Number(kb) * 1024;
  } catch {
    return Deno.memoryUsage().rss;
  }
}

/** The start-up path of node.ts: read the snapshot file, decode its records, load the image. */
async function loadLikeNode(
  dir: string,
  offset: number,
  times: { readMs: number; decodeMs: number; applyMs: number },
): Promise<MetadataState> {
  const id = { offset, epoch: SNAPSHOT_EPOCH };
  const state = new MetadataState(silentLogger);
  let at = performance.now();
  const contents = await readSnapshotFile(dir, id);
  times.readMs = performance.now() - at;
  at = performance.now();
  const records = contents.payloads.map(decodeMetadataRecord);
  times.decodeMs = performance.now() - at;
  at = performance.now();
  state.loadSnapshot(records, id.offset - 1);
  times.applyMs = performance.now() - at;
  return state;
}

function partitionCount(image: MetadataImage): number {
  let n = 0;
  for (const t of image.topics.byId.values()) n += t.partitions.size;
  return n;
}

/** Child: loads the snapshot in `dir` and reports times and memory. */
async function loadChild(dir: string, offset: number) {
  gc();
  const before = Deno.memoryUsage();
  const times = { readMs: 0, decodeMs: 0, applyMs: 0 };
  const start = performance.now();
  const state = await loadLikeNode(dir, offset, times);
  const totalMs = performance.now() - start;
  const peak = peakRssBytes();
  gc();
  const after = Deno.memoryUsage();
  const result: LoadResult = {
    ...times,
    totalMs,
    partitions: partitionCount(state.image),
    heapBytes: after.heapUsed - before.heapUsed,
    rssBytes: after.rss - before.rss,
    peakRssBytes: peak - before.rss,
  };
  console.log(JSON.stringify(result));
}

/** Child: loads the snapshot in `dir`, then times full Metadata requests through the handler. */
async function handlerChild(dir: string, offset: number) {
  const state = await loadLikeNode(dir, offset, { readMs: 0, decodeMs: 0, applyMs: 0 });
  const dispatcher = new Dispatcher({ logger: silentLogger });
  const ctx = {
    config: { autoCreateTopicsEnable: false },
    logger: silentLogger,
    nodeId: 1,
    clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
    metadata: state,
    brokerEpoch: () => 1n,
  } as unknown as BrokerContext;
  registerMetadata(dispatcher, ctx);
  const version = 12;
  const w = new Writer(64);
  writeRequestHeader(
    w,
    createRequestHeader({
      requestApiKey: ApiKey.METADATA,
      requestApiVersion: version,
      correlationId: 1,
      clientId: "bench",
    }),
  );
  API_TABLE.get(ApiKey.METADATA)!.writeRequest(
    w,
    version,
    createMetadataRequest({ topics: null }) as never,
  );
  const frame = w.finish();
  const info = { listenerName: "PLAINTEXT", clientHost: "127.0.0.1", connectionId: 1 };
  const runs: number[] = [];
  let sizeBytes = 0;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const response = await dispatcher.handleFrame(frame, info);
    runs.push(performance.now() - start);
    sizeBytes = response?.length ?? 0;
  }
  runs.sort((a, b) => a - b);
  console.log(JSON.stringify({ medianMs: runs[2], sizeBytes }));
}

async function child<T>(args: string[]): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc,--max-old-space-size=16384", SELF, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) {
    throw new Error(
      `bench child ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!) as T;
}

async function writeSnapshotIn(
  dir: string,
  partitions: number,
  options: { brokers: string },
) {
  return await child<WriteResult>([
    "--child",
    "write",
    "--dir",
    dir,
    "--partitions",
    String(partitions),
    "--brokers",
    options.brokers,
  ]);
}

/** A formatted combined node (id 1) whose metadata log holds `partitions` on brokers 2-4. */
async function nodeFromSnapshot(partitions: number) {
  const dataDir = await Deno.makeTempDir({ prefix: "kraftling-mdbench-" });
  const brokerPort = freePort();
  const controllerPort = freePort();
  const props: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    "listeners": `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${brokerPort}`,
    "controller.listener.names": "CONTROLLER",
    "log.dirs": join(dataDir, "logs"),
    // Brokers 2-4 of the snapshot never heartbeat: keep them unfenced while we measure.
    "broker.session.timeout.ms": "600000",
  };
  const propertiesPath = join(dataDir, "server.properties");
  await Deno.writeTextFile(
    propertiesPath,
    Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
  );
  const id = await runMain(["storage", "random-uuid"]);
  const format = await runMain(["storage", "format", "-t", id.stdout.trim(), "-c", propertiesPath]);
  if (format.code !== 0) throw new Error(`storage format failed: ${format.stderr}`);
  const metadataDir = join(dataDir, "logs", CLUSTER_METADATA_DIR);
  await Deno.mkdir(metadataDir, { recursive: true });
  const written = await writeSnapshotIn(metadataDir, partitions, { brokers: "2,3,4" });
  // As if this node had led the snapshot's epoch before a restart (Kafka's quorum-state JSON).
  await Deno.writeTextFile(
    join(metadataDir, "quorum-state"),
    JSON.stringify({
      leaderId: 1,
      leaderEpoch: SNAPSHOT_EPOCH,
      votedId: -1,
      votedDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
      data_version: 1,
    }),
  );
  return { dataDir, brokerPort, propertiesPath, written };
}

async function metadataOnce(port: number, topics: null | []): Promise<number> {
  const conn = await KafkaConnection.connect("127.0.0.1", port, { connectTimeoutMs: 200 });
  try {
    const start = performance.now();
    await conn.send(ApiKey.METADATA, { topics });
    return performance.now() - start;
  } finally {
    conn.close();
  }
}

interface NodeStartResult {
  firstMetadataMs: number;
  fullMetadataMs: number;
}

/** Spawns `server-start` on a node whose metadata holds the snapshot; times the first answer. */
async function nodeStart(partitions: number): Promise<NodeStartResult> {
  const node = await nodeFromSnapshot(partitions);
  const start = performance.now();
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "main.ts"), "server-start", node.propertiesPath],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let firstMetadataMs = -1;
    // Bounded by NODE_START_MS_MAX of 20 ms polls.
    while (firstMetadataMs < 0 && performance.now() - start < NODE_START_MS_MAX) {
      try {
        await metadataOnce(node.brokerPort, []);
        firstMetadataMs = performance.now() - start;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const fullMetadataMs = firstMetadataMs < 0 ? -1 : await metadataOnce(node.brokerPort, null);
    return { firstMetadataMs, fullMetadataMs };
  } finally {
    try {
      process.kill("SIGKILL");
    } catch { /* already exited */ }
    await process.status;
    await Deno.remove(node.dataDir, { recursive: true }).catch(() => {});
  }
}

/** CreateTopics of `topics` topics with `partitions` partitions each, `inFlight` at a time. */
async function createTopicsRate(
  bootstrap: string,
  options: { topics: number; partitions: number; inFlight: number; prefix: string },
): Promise<{ topicsPerSec: number; partitionsPerSec: number }> {
  const admin = new Admin({ bootstrapServers: bootstrap });
  try {
    let next = 0;
    const start = performance.now();
    const worker = async () => {
      while (next < options.topics) {
        const name = `${options.prefix}-${next++}`;
        await admin.createTopics([{
          name,
          numPartitions: options.partitions,
          replicationFactor: 1,
        }]);
      }
    };
    await Promise.all(Array.from({ length: options.inFlight }, worker));
    const seconds = (performance.now() - start) / 1000;
    return {
      topicsPerSec: options.topics / seconds,
      partitionsPerSec: (options.topics * options.partitions) / seconds,
    };
  } finally {
    admin.close();
  }
}

function fmtMs(ms: number): string {
  return ms < 0 ? "n/a" : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

function fmtMiB(bytes: number): string {
  return (bytes / MIB).toFixed(0);
}

function label(partitions: number): string {
  return partitions >= 1_000_000
    ? `${partitions / 1_000_000}M`
    : partitions >= 1000
    ? `${partitions / 1000}k`
    : String(partitions);
}

/**
 * Runs the metadata benchmark and returns markdown tables.
 *
 * @example
 * ```ts ignore
 * console.log(await runMetadataBench({ sizes: [10_000], node: false }));
 * ```
 */
export async function runMetadataBench(options: MetadataBenchOptions = {}): Promise<string> {
  const sizes = options.sizes ?? [10_000, 100_000, 1_000_000];
  const rows: string[] = [
    "| partitions | snapshot MiB | write ms | read ms | decode ms | apply ms | load ms | heap MiB | heap B/partition | RSS MiB | peak RSS MiB |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const root = await Deno.makeTempDir({ prefix: "kraftling-mdbench-" });
  const handlerRows: string[] = [];
  try {
    for (const partitions of sizes) {
      const dir = join(root, `p${partitions}`);
      await Deno.mkdir(dir);
      const w = await writeSnapshotIn(dir, partitions, { brokers: "1,2,3" });
      const offset = String(snapshotOffset(w.records));
      const l = await child<LoadResult>(["--child", "load", "--dir", dir, "--offset", offset]);
      if (l.partitions !== partitions) {
        throw new Error(`loaded ${l.partitions} partitions, wrote ${partitions}`);
      }
      rows.push(
        `| ${label(partitions)} | ${(w.sizeBytes / MIB).toFixed(1)} | ${fmtMs(w.writeMs)} | ${
          fmtMs(l.readMs)
        } | ${fmtMs(l.decodeMs)} | ${fmtMs(l.applyMs)} | **${fmtMs(l.totalMs)}** | ${
          fmtMiB(l.heapBytes)
        } | ${(l.heapBytes / partitions).toFixed(0)} | ${fmtMiB(l.rssBytes)} | ${
          fmtMiB(l.peakRssBytes)
        } |`,
      );
      if (partitions === 100_000) {
        const h = await child<{ medianMs: number; sizeBytes: number }>([
          "--child",
          "handler",
          "--dir",
          dir,
          "--offset",
          offset,
        ]);
        handlerRows.push(
          `| full Metadata v12, ${
            label(partitions)
          } partitions, in process (handler + encode, median of 5) | ${fmtMs(h.medianMs)} ms | ${
            (h.sizeBytes / MIB).toFixed(1)
          } MiB |`,
        );
      }
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  const out = [
    "Snapshot replay (read file, decode records, apply to an empty image), each size in a fresh process:",
    "",
    ...rows,
  ];
  const other = ["| case | result | note |", "| --- | ---: | --- |", ...handlerRows];
  if (options.node ?? true) {
    for (const partitions of options.nodeSizes ?? [100_000, 1_000_000]) {
      const n = await nodeStart(partitions);
      other.push(
        `| node start from a ${
          label(partitions)
        }-partition snapshot: spawn to first Metadata response | ${
          fmtMs(n.firstMetadataMs)
        } ms | partitions on brokers 2-4, the node hosts none |`,
      );
      other.push(
        `| full Metadata over the wire, ${label(partitions)} partitions | ${
          fmtMs(n.fullMetadataMs)
        } ms | |`,
      );
    }
    const createTopics = options.createTopics ?? 50;
    const node = createTopics > 0 ? await startNode() : null;
    try {
      for (const inFlight of node === null ? [] : [1, 10]) {
        const r = await createTopicsRate(node!.bootstrap, {
          topics: createTopics,
          partitions: 100,
          inFlight,
          prefix: `ct${inFlight}`,
        });
        other.push(
          `| CreateTopics, 100 partitions each, RF 1, ${inFlight} in flight | ${
            r.partitionsPerSec.toFixed(0)
          } partitions/s | ${r.topicsPerSec.toFixed(1)} topics/s |`,
        );
      }
    } finally {
      await node?.stop();
    }
  }
  out.push("", ...other);
  return out.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "string" },
      dir: { type: "string" },
      partitions: { type: "string" },
      brokers: { type: "string" },
      offset: { type: "string" },
      sizes: { type: "string" },
      "no-node": { type: "boolean" },
      "node-sizes": { type: "string" },
      "create-topics": { type: "string" },
    },
  });
  if (values.child === "write") {
    await writeChild(values.dir!, Number(values.partitions), {
      brokerIds: values.brokers!.split(",").map(Number),
    });
  } else if (values.child === "load") {
    await loadChild(values.dir!, Number(values.offset));
  } else if (values.child === "handler") {
    await handlerChild(values.dir!, Number(values.offset));
  } else {
    console.log(
      await runMetadataBench({
        sizes: values.sizes?.split(",").filter((s) => s !== "").map(Number),
        node: !values["no-node"],
        nodeSizes: values["node-sizes"]?.split(",").filter((s) => s !== "").map(Number),
        createTopics: values["create-topics"] === undefined
          ? undefined
          : Number(values["create-topics"]),
      }),
    );
  }
}
