/**
 * A lean consumer for the consume bench (issue #13): reads a whole topic from the start with
 * Fetch requests and drops the records, reading only batch headers (to know where to fetch next),
 * as a consumer must at the least. It measures what the broker serves, where a real client's own
 * decoding (librdkafka's Python binding makes an object per record) would cap the rate first.
 *
 * usage: deno run -A scripts/bench/fetch_drain.ts BOOTSTRAP TOPIC
 * Prints one JSON line: {"bytes": record bytes read, "seconds", "cpu_seconds"} (seconds from the
 * first Fetch to the last, cpu_seconds of this process over the same span).
 *
 * @module
 */
import { KafkaConnection } from "../../net/connection.ts";
import { FrameBufferPool } from "../../net/frame_reader.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import type { FetchResponse } from "../../net/protocol/generated/fetch_response.ts";
import type { MetadataResponse } from "../../net/protocol/generated/metadata_response.ts";
import { batchesIn, readBatchHeader } from "../../net/protocol/record_batch.ts";
import { ZERO_UUID } from "../../net/protocol/uuid.ts";

/** The Java consumer's defaults: max.partition.fetch.bytes and fetch.max.bytes. */
const PARTITION_MAX_BYTES = 1024 * 1024;
const RESPONSE_MAX_BYTES = 50 * 1024 * 1024;
/** Bound on fetch rounds (each returns data or the loop ends at the high watermarks). */
const ROUNDS_MAX = 1_000_000;

/** User + system CPU seconds of this process (Linux), 0 elsewhere. */
function cpuSeconds(): number {
  try {
    const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function drain(bootstrap: string, topic: string): Promise<void> {
  const [host, port] = bootstrap.split(":");
  const pool = new FrameBufferPool(2 * RESPONSE_MAX_BYTES);
  const conn = await KafkaConnection.connect(host!, Number(port), {
    clientId: "fetch-drain",
    framePool: pool,
  });
  try {
    const metadata = await conn.send<MetadataResponse>(ApiKey.METADATA, {
      topics: [{ name: topic, topicId: ZERO_UUID, _unknownTaggedFields: [] }],
      allowAutoTopicCreation: false,
    }, { version: 12 });
    const described = metadata.topics[0];
    if (described === undefined || described.errorCode !== 0) {
      throw new Error(`no topic ${topic}: error ${described?.errorCode}`);
    }
    const offsets = new Map(described.partitions.map((p) => [p.partitionIndex, 0n]));
    const ends = new Map<number, bigint>();
    let bytes = 0;
    const cpuStart = cpuSeconds();
    const start = performance.now();
    for (let round = 0; round < ROUNDS_MAX; round++) {
      const wanted = [...offsets].filter(([p, at]) => !ends.has(p) || at < ends.get(p)!);
      if (wanted.length === 0) break;
      const response = await conn.send<FetchResponse>(ApiKey.FETCH, {
        replicaId: -1,
        maxWaitMs: 100,
        minBytes: 1,
        maxBytes: RESPONSE_MAX_BYTES,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{
          topic: "",
          topicId: described.topicId,
          partitions: wanted.map(([partition, fetchOffset]) => ({
            partition,
            currentLeaderEpoch: -1,
            fetchOffset,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: PARTITION_MAX_BYTES,
            replicaDirectoryId: ZERO_UUID,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        }],
        forgottenTopicsData: [],
        rackId: "",
      }, { version: 13 });
      let frame: Uint8Array | null = null;
      for (const t of response.responses) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) {
            throw new Error(`partition ${p.partitionIndex}: error ${p.errorCode}`);
          }
          ends.set(p.partitionIndex, p.highWatermark);
          const records = p.records;
          if (records === null || records.length === 0) continue;
          frame = records;
          bytes += records.length;
          let next = offsets.get(p.partitionIndex)!;
          for (const { pos } of batchesIn(records)) {
            const h = readBatchHeader(records, pos);
            next = BigInt(h.baseOffset + h.lastOffsetDelta + 1);
          }
          offsets.set(p.partitionIndex, next);
        }
      }
      if (frame !== null) pool.give(frame); // nothing keeps a view of it
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(JSON.stringify({ bytes, seconds, cpu_seconds: cpuSeconds() - cpuStart }));
  } finally {
    conn.close();
  }
}

if (import.meta.main) {
  const [bootstrap, topic] = Deno.args;
  if (bootstrap === undefined || topic === undefined) {
    console.error("usage: fetch_drain.ts BOOTSTRAP TOPIC");
    Deno.exit(2);
  }
  await drain(bootstrap, topic);
}
