/**
 * Produce throughput, in process: drives the Produce handler with 1 KiB-record batches (16 KiB
 * and 1 MiB requests, 1 and 8 partitions, acks=1, 5 requests in flight as a client pipelines
 * them) and reports MB/s and records/s beside a raw baseline measured in the same run: the same
 * bytes written with `Deno.FsFile.write` + `syncData` per request and partition file, one request
 * at a time.
 *
 * Run: `deno run -A scripts/bench/produce_bench.ts`.
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
}

interface Measured {
  bytes: number;
  records: number;
  elapsedMs: number;
}

function batchOf(bytes: number): { batch: Uint8Array; records: number } {
  const count = Math.max(1, Math.floor(bytes / (RECORD_BYTES + 16)));
  const value = new Uint8Array(RECORD_BYTES).fill(7);
  const records = Array.from({ length: count }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: 0,
    key: null,
    value,
    headers: [],
  }));
  return {
    batch: encodeBatch({ baseOffset: 0, records, baseTimestamp: Date.now() }),
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
    const { batch, records } = batchOf(s.requestBytes / s.partitions);
    const request: ProduceRequest = createProduceRequest({
      acks: 1,
      timeoutMs: 30_000,
      topicData: [createTopicProduceData({
        name: "bench",
        partitionData: Array.from(
          { length: s.partitions },
          (_, index) => createPartitionProduceData({ index, records: batch }),
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
        const r = await handler.handle(request, context) as ProduceResponse;
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
  const { batch, records } = batchOf(s.requestBytes / s.partitions);
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
    { requestBytes: 16 * 1024, partitions: 1 },
    { requestBytes: 16 * 1024, partitions: 8 },
    { requestBytes: 1024 * 1024, partitions: 1 },
    { requestBytes: 1024 * 1024, partitions: 8 },
  ];
  const lines = [
    `produce bench: 1 KiB records, acks=1, ${IN_FLIGHT} requests in flight, ${SCENARIO_MS} ms per run`,
    "request   partitions | kraftling produce             | raw write+syncData per request",
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
        `${size.padEnd(9)} ${String(s.partitions).padStart(10)} | ${rate(product)} | ${
          rate(baseline)
        }`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  return lines.join("\n");
}

if (import.meta.main) console.log(await runProduceBench());
