/**
 * Produce throughput, in process: drives the Produce handler with 1 KiB-record batches (16 KiB
 * and 1 MiB requests, 1 and 8 partitions, acks=1, 5 requests in flight as a client pipelines
 * them) and reports MB/s and records/s beside a raw baseline measured in the same run: the same
 * bytes written with `Deno.FsFile.write` + `syncData` per request and partition file, one request
 * at a time. Compressed rows (1 MiB of 1 KiB JSON-like records per request, each codec) count
 * wire bytes in MB/s; records/s compare across codecs. A second table measures the client-batch
 * validation alone (Kafka's LogValidator, issue 16: records read, decompressed) beside the
 * header-only checks (CRC, counts) that were all a produce got before.
 *
 * Run: `deno run -A scripts/bench/produce_bench.ts [validation]`.
 *
 * @module
 */
import * as path from "node:path";
import { parseServerConfig } from "../../core/config/server_config.ts";
import { silentLogger } from "../../core/log.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  MetadataVersion,
  RecordType,
} from "../../core/metadata/records.ts";
import type { RequestContext } from "../../net/dispatcher.ts";
import { produceHandler } from "../../net/handlers/produce.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import { createPartitionRecord } from "../../net/protocol/generated/partition_record.ts";
import {
  createPartitionProduceData,
  createProduceRequest,
  createTopicProduceData,
  type ProduceRequest,
} from "../../net/protocol/generated/produce_request.ts";
import type { ProduceResponse } from "../../net/protocol/generated/produce_response.ts";
import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
import { encodeBatch } from "../../net/protocol/records.ts";
import { validateBatches } from "../../storage/log/batch_validation.ts";
import { logConfig } from "../../storage/log/log_config.ts";
import { clientBatchRules, validateClientBatches } from "../../storage/log/log_validator.ts";
import type { BrokerContext } from "../../node/broker_context.ts";
import type { ControllerChannel } from "../../node/controller_channel.ts";
import { encodeMetadataRecord, MetadataState } from "../../node/metadata_state.ts";
import { ReplicaManager } from "../../node/replica_manager.ts";

const RECORD_BYTES = 1024;
const IN_FLIGHT = 5;
const SCENARIO_MS = 2_000;
const SCENARIO_BYTES_MAX = 512 * 1024 * 1024;
const TOPIC_ID = "q1Sh-9_ISia_fV4lGz8fqw";

interface Scenario {
  requestBytes: number;
  partitions: number;
  /** Compression codec id of the produced batches (0 none). */
  codec: number;
}

const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"];
/** Validation-only measurements repeat for about this long. */
const VALIDATE_MS = 500;

interface Measured {
  bytes: number;
  records: number;
  elapsedMs: number;
}

/** A 1 KiB JSON-like value with some entropy (compresses like real events), deterministic. */
function jsonValue(i: number): Uint8Array {
  let x = (i * 2654435761) >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  const words = Array.from({ length: 200 }, () => WORDS[next() % WORDS.length]!);
  const text = JSON.stringify({
    id: i,
    user: `user-${next() % 100_000}`,
    nonce: next().toString(16),
    note: words.join(" "),
  });
  return new TextEncoder().encode(text.padEnd(RECORD_BYTES, " ").slice(0, RECORD_BYTES));
}

function batchOf(bytes: number, codec = 0): { batch: Uint8Array; records: number } {
  const count = Math.max(1, Math.floor(bytes / (RECORD_BYTES + 16)));
  const records = Array.from({ length: count }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: 0,
    key: null,
    value: jsonValue(i),
    headers: [],
  }));
  return {
    batch: encodeBatch({ baseOffset: 0, records, baseTimestamp: Date.now(), compression: codec }),
    records: count,
  };
}

async function startBroker(dir: string, partitions: number): Promise<ReplicaManager> {
  const { config } = parseServerConfig(
    new Map([
      ["process.roles", "broker"],
      ["node.id", "1"],
      ["controller.quorum.voters", "0@localhost:9093"],
      ["controller.listener.names", "CONTROLLER"],
      ["listeners", "PLAINTEXT://localhost:9092"],
      ["log.dirs", dir],
    ]),
  );
  const metadata = new MetadataState(silentLogger);
  const records = [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({
        name: METADATA_VERSION_FEATURE,
        featureLevel: MetadataVersion.IBP_3_9_IV0,
      }),
    ),
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "bench", topicId: TOPIC_ID })),
    ...Array.from({ length: partitions }, (_, partitionId) =>
      makeRecord(
        RecordType.PARTITION,
        0,
        createPartitionRecord({
          partitionId,
          topicId: TOPIC_ID,
          replicas: [1],
          isr: [1],
          leader: 1,
          leaderEpoch: 0,
          partitionEpoch: 0,
        }),
      )),
  ];
  metadata.applyEntries(
    records.map((r, offset) => ({ offset, epoch: 1, payload: encodeMetadataRecord(r) })),
  );
  const ctx: BrokerContext = {
    config,
    logger: silentLogger,
    nodeId: 1,
    clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
    metadata,
    controller: {} as ControllerChannel,
    brokerEpoch: () => 1n,
  };
  const rm = new ReplicaManager(ctx);
  await rm.start();
  return rm;
}

async function runProduct(s: Scenario, dir: string): Promise<Measured> {
  const rm = await startBroker(dir, s.partitions);
  try {
    const handler = produceHandler(rm);
    const { batch, records } = batchOf(s.requestBytes / s.partitions, s.codec);
    // Each request carries its own bytes, as frames read off a socket do: the broker patches
    // offsets into them, and a client batch must arrive with base offset 0.
    const request = (): ProduceRequest =>
      createProduceRequest({
        acks: 1,
        timeoutMs: 30_000,
        topicData: [createTopicProduceData({
          name: "bench",
          partitionData: Array.from(
            { length: s.partitions },
            (_, index) => createPartitionProduceData({ index, records: batch.slice() }),
          ),
        })],
      });
    const context = {
      listenerName: "PLAINTEXT",
      clientHost: "127.0.0.1",
      connectionId: 1,
      apiVersion: 9,
      header: { requestApiKey: 0, requestApiVersion: 9, correlationId: 1, clientId: "bench" },
    } as unknown as RequestContext;
    let requests = 0;
    const started = performance.now();
    const deadline = started + SCENARIO_MS;
    const perRequestBytes = batch.length * s.partitions;
    const worker = async () => {
      while (performance.now() < deadline && requests * perRequestBytes < SCENARIO_BYTES_MAX) {
        requests++;
        const r = await handler.handle(request(), context) as ProduceResponse;
        const code = r.responses[0]!.partitionResponses.find((p) => p.errorCode !== 0)?.errorCode;
        if (code !== undefined) throw new Error(`Produce failed with error ${code}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const elapsedMs = performance.now() - started;
    return {
      bytes: requests * perRequestBytes,
      records: requests * records * s.partitions,
      elapsedMs,
    };
  } finally {
    await rm.close();
  }
}

async function runBaseline(s: Scenario, dir: string): Promise<Measured> {
  const { batch, records } = batchOf(s.requestBytes / s.partitions, s.codec);
  const files = await Promise.all(
    Array.from(
      { length: s.partitions },
      (_, i) =>
        Deno.open(path.join(dir, `raw-${i}.log`), { create: true, write: true, truncate: true }),
    ),
  );
  try {
    let requests = 0;
    const started = performance.now();
    const deadline = started + SCENARIO_MS;
    while (
      performance.now() < deadline && requests * batch.length * s.partitions < SCENARIO_BYTES_MAX
    ) {
      requests++;
      await Promise.all(files.map(async (f) => {
        for (let written = 0; written < batch.length;) {
          written += await f.write(batch.subarray(written));
        }
        await f.syncData();
      }));
    }
    const elapsedMs = performance.now() - started;
    return {
      bytes: requests * batch.length * s.partitions,
      records: requests * records * s.partitions,
      elapsedMs,
    };
  } finally {
    for (const f of files) f.close();
  }
}

function rate(m: Measured): string {
  const mbs = m.bytes / 1e6 / (m.elapsedMs / 1000);
  const rps = m.records / (m.elapsedMs / 1000);
  return `${mbs.toFixed(1).padStart(7)} MB/s ${Math.round(rps).toString().padStart(9)} rec/s`;
}

/**
 * Runs every scenario and returns the report as text.
 *
 * @example
 * ```ts ignore
 * import { runProduceBench } from "./produce_bench.ts";
 * console.log(await runProduceBench());
 * ```
 */
export async function runProduceBench(): Promise<string> {
  const scenarios: Scenario[] = [
    { requestBytes: 16 * 1024, partitions: 1, codec: 0 },
    { requestBytes: 16 * 1024, partitions: 8, codec: 0 },
    { requestBytes: 1024 * 1024, partitions: 1, codec: 0 },
    { requestBytes: 1024 * 1024, partitions: 8, codec: 0 },
    ...[1, 2, 3, 4].map((codec) => ({ requestBytes: 1024 * 1024, partitions: 1, codec })),
  ];
  const lines = [
    `produce bench: 1 KiB records, acks=1, ${IN_FLIGHT} requests in flight, ${SCENARIO_MS} ms per run`,
    "request   partitions codec  | kraftling produce             | raw write+syncData per request",
  ];
  for (const s of scenarios) {
    const dir = await Deno.makeTempDir({ prefix: "kraftling-produce-bench-" });
    try {
      const product = await runProduct(s, path.join(dir, "logs"));
      const baseline = await runBaseline(s, dir);
      const size = s.requestBytes >= 1024 * 1024
        ? `${s.requestBytes / 1024 / 1024} MiB`
        : `${s.requestBytes / 1024} KiB`;
      lines.push(
        `${size.padEnd(9)} ${String(s.partitions).padStart(10)} ${
          CODEC_NAMES[s.codec]!.padEnd(6)
        } | ${rate(product)} | ${rate(baseline)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  lines.push("", ...validationRates());
  return lines.join("\n");
}

/** Runs `fn` for about VALIDATE_MS; returns runs per second. */
function runsPerSecond(fn: () => void): number {
  fn(); // warm up
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < VALIDATE_MS) {
    fn();
    runs++;
  }
  return runs / ((performance.now() - started) / 1000);
}

/** One 1 MiB batch per codec through the header checks and through the LogValidator. */
function validationRates(): string[] {
  const lines = [
    "validation of one 1 MiB batch of 1 KiB records, MB/s of record bytes (records/s)",
    "codec  | header checks (CRC, counts) | LogValidator (records read)",
  ];
  const config = logConfig();
  for (let codec = 0; codec < CODEC_NAMES.length; codec++) {
    const { batch, records } = batchOf(1024 * 1024, codec);
    const recordBytes = records * RECORD_BYTES;
    const headerOnly = runsPerSecond(() =>
      validateBatches(batch, {
        maxMessageBytes: batch.length,
        leader: true,
        allowPartialTail: false,
      })
    );
    const rules = clientBatchRules({ ...config, maxMessageBytes: batch.length }, {
      topicPartition: "bench-0",
      nowMs: Date.now(),
    });
    const full = runsPerSecond(() => validateClientBatches(batch, rules));
    const cell = (perSecond: number) =>
      `${(perSecond * recordBytes / 1e6).toFixed(0).padStart(6)} MB/s (${
        Math.round(perSecond * records).toString().padStart(8)
      } rec/s)`;
    lines.push(`${CODEC_NAMES[codec]!.padEnd(6)} | ${cell(headerOnly)}   | ${cell(full)}`);
  }
  return lines;
}

if (import.meta.main) {
  // `validation` prints only the validation table (seconds, no disk).
  console.log(
    Deno.args[0] === "validation" ? validationRates().join("\n") : await runProduceBench(),
  );
}
