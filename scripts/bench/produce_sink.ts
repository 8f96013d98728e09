/**
 * A Kafka listener that stores nothing: it answers Metadata and acknowledges every Produce, so
 * what librdkafka reaches against it is the client's own ceiling on this machine, the baseline
 * the broker benchmarks divide by.
 *
 * @module
 */

import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { Dispatcher } from "../../net/dispatcher.ts";
import { KafkaServer } from "../../net/server.ts";
import { silentLogger } from "../../core/log.ts";
import type { MetadataRequest } from "../../net/protocol/generated/metadata_request.ts";
import {
  createMetadataResponse,
  createMetadataResponseBroker,
  createMetadataResponsePartition,
  createMetadataResponseTopic,
  type MetadataResponse,
} from "../../net/protocol/generated/metadata_response.ts";
import type { ProduceRequest } from "../../net/protocol/generated/produce_request.ts";
import {
  createPartitionProduceResponse,
  createProduceResponse,
  createTopicProduceResponse,
  type ProduceResponse,
} from "../../net/protocol/generated/produce_response.ts";
import { loadGen } from "./load_gen_client.ts";

const MIB = 1024 * 1024;

/**
 * A listener that answers Metadata (every asked topic: `partitions` partitions led by itself)
 * and acknowledges every Produce without storing anything: what the load generator reaches
 * against it is the client's own ceiling on this machine.
 *
 * @example
 * ```ts ignore
 * const sink = startProduceSink(8);
 * try { ... `127.0.0.1:${sink.port}` ... } finally { await sink.stop(); }
 * ```
 */
export function startProduceSink(partitions: number): KafkaServer {
  const dispatcher = new Dispatcher({ logger: silentLogger });
  let offset = 0n;
  const server = new KafkaServer({
    listenerName: "PLAINTEXT",
    hostname: "127.0.0.1",
    port: 0,
    handler: dispatcher.handleFrameChunks,
    releasesFrame: dispatcher.releasesFrame,
    logger: silentLogger,
    frameBytesMax: 100 * MIB,
  });
  dispatcher.register<MetadataRequest, MetadataResponse>(ApiKey.METADATA, {
    minVersion: 0,
    maxVersion: 12,
    handle: (request) =>
      createMetadataResponse({
        brokers: [
          createMetadataResponseBroker({ nodeId: 1, host: "127.0.0.1", port: server.port }),
        ],
        clusterId: "produce-sink",
        controllerId: 1,
        topics: (request.topics ?? []).map((t) =>
          createMetadataResponseTopic({
            name: t.name,
            topicId: "AAAAAAAAAAAAAAAAAAAAAA",
            partitions: Array.from({ length: partitions }, (_, partitionIndex) =>
              createMetadataResponsePartition({
                partitionIndex,
                leaderId: 1,
                leaderEpoch: 0,
                replicaNodes: [1],
                isrNodes: [1],
              })),
          })
        ),
      }),
  });
  dispatcher.register<ProduceRequest, ProduceResponse>(ApiKey.PRODUCE, {
    minVersion: 3,
    maxVersion: 11,
    handle: (request) =>
      request.acks === 0 ? null : createProduceResponse({
        responses: request.topicData.map((t) =>
          createTopicProduceResponse({
            name: t.name,
            partitionResponses: t.partitionData.map((p) =>
              createPartitionProduceResponse({
                index: p.index,
                baseOffset: offset++,
                logAppendTimeMs: -1n,
                logStartOffset: 0n,
              })
            ),
          })
        ),
      }),
  });
  server.start();
  return server;
}

/** Options of {@link sinkProduceRate}. */
export interface SinkProduceOptions {
  /** Records per run. */
  records: number;
  recordBytes: number;
  /** Partitions the sink reports for every topic. */
  partitions: number;
  /** Runs; the fastest counts (default 2). */
  runs?: number;
}

/**
 * Records/s of the load generator (throughput mode, acks=1) against a fresh
 * {@link startProduceSink}: the best of `runs` runs.
 *
 * @example
 * ```ts ignore
 * const ceiling = await sinkProduceRate({ records: 100_000, recordBytes: 1024, partitions: 8 });
 * ```
 */
export async function sinkProduceRate(options: SinkProduceOptions): Promise<number> {
  const sink = startProduceSink(options.partitions);
  try {
    let best = 0;
    for (let run = 0; run < (options.runs ?? 2); run++) {
      const r = await loadGen([
        "produce",
        `127.0.0.1:${sink.port}`,
        `sink-${run}`,
        String(options.records),
        String(options.recordBytes),
        "1",
      ]);
      best = Math.max(best, options.records / r.seconds!);
    }
    return best;
  } finally {
    await sink.stop();
  }
}
