// Protocol edge cases against a real node over raw TCP: version and api-key negotiation (KIP-511),
// hostile and broken frames, pipelining, half-sent requests, request-level error codes, and every
// advertised api answered at its lowest and highest advertised version.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startNode, type TestNode } from "./harness.ts";
import { FrameSplitter } from "../../net/protocol/frame.ts";
import { Reader } from "../../net/protocol/reader.ts";
import { Writer } from "../../net/protocol/writer.ts";
import { readResponseHeader, writeRequestHeader } from "../../net/protocol/header.ts";
import { API_TABLE, ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import {
  type ApiVersionsResponse,
  readApiVersionsResponse,
} from "../../net/protocol/generated/api_versions_response.ts";
import type { MetadataResponse } from "../../net/protocol/generated/metadata_response.ts";
import type { ProduceResponse } from "../../net/protocol/generated/produce_response.ts";
import type { FetchResponse } from "../../net/protocol/generated/fetch_response.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { decodeBatch, encodeBatch } from "../../net/protocol/records.ts";
import { decodeMessageSet, encodeMessageSet } from "../../net/protocol/message_set.ts";
import { batchesIn } from "../../net/protocol/record_batch.ts";
import { createCreatableTopic } from "../../net/protocol/generated/create_topics_request.ts";
import {
  createPartitionProduceData,
  createTopicProduceData,
} from "../../net/protocol/generated/produce_request.ts";
import {
  createFetchPartition,
  createFetchTopic,
} from "../../net/protocol/generated/fetch_request.ts";
import { createMetadataRequestTopic } from "../../net/protocol/generated/metadata_request.ts";

/** How long any single read in this file waits, in milliseconds. */
const READ_TIMEOUT_MS = 10_000;
const REQUEST_BYTES_MAX = 1024 * 1024;

/** A bare TCP client that writes whatever bytes it is given and splits response frames. */
class RawClient {
  #conn: Deno.TcpConn;
  #splitter = new FrameSplitter({ frameBytesMax: 64 * 1024 * 1024 });
  #frames: Uint8Array[] = [];
  #buf = new Uint8Array(64 * 1024);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** The next response frame, or null when the server closed the connection. */
  async readFrame(timeoutMs = READ_TIMEOUT_MS): Promise<Uint8Array | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new Error(`No response within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#conn.read(this.#buf).catch(() => null),
        new Promise<"timeout">((
          resolve,
        ) => (timer = setTimeout(() => resolve("timeout"), remainingMs))),
      ]);
      clearTimeout(timer);
      if (n === "timeout") throw new Error(`No response within ${timeoutMs} ms`);
      if (n === null) return null;
      this.#frames.push(...this.#splitter.push(this.#buf.subarray(0, n)));
    }
    return this.#frames.shift()!;
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

/** A complete request frame (size prefix included) for `apiKey` at `version`. */
function requestFrame(
  apiKey: number,
  version: number,
  correlationId: number,
  body: Record<string, unknown> = {},
): Uint8Array {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer(256);
  const at = w.reserveSizePrefix();
  writeRequestHeader(w, {
    requestApiKey: apiKey,
    requestApiVersion: version,
    correlationId,
    clientId: "edge",
    _unknownTaggedFields: [],
  });
  api.writeRequest(w, version, Object.assign(api.createRequest() as object, body) as never);
  w.patchSizePrefix(at);
  return w.finish();
}

/** A frame whose header names (apiKey, version) and whose body is `body` as given. */
function rawHeaderFrame(apiKey: number, version: number, correlationId: number, body: number[]) {
  const w = new Writer(64);
  const at = w.reserveSizePrefix();
  w.int16(apiKey).int16(version).int32(correlationId).string("edge");
  for (const b of body) w.int8(b > 127 ? b - 256 : b);
  w.patchSizePrefix(at);
  return w.finish();
}

/** The node still answers a fresh client's ApiVersions. */
async function assertServing(node: TestNode): Promise<void> {
  const client = await RawClient.connect(node.brokerPort);
  try {
    await client.write(requestFrame(ApiKey.API_VERSIONS, 3, 42));
    const frame = await client.readFrame();
    assert(frame !== null, "the node closed a healthy connection");
    const r = new Reader(frame);
    assertEquals(readResponseHeader(r, ApiKey.API_VERSIONS, 3).correlationId, 42);
    assertEquals(readApiVersionsResponse(r, 3).errorCode, ErrorCode.NONE);
  } finally {
    client.close();
  }
}

function produceData(name: string, index: number, records: Uint8Array) {
  return createTopicProduceData({
    name,
    partitionData: [createPartitionProduceData({ index, records })],
  });
}

/**
 * Sends a default request (`createRequest()`) of every api the listener on `port` advertises, at
 * its lowest and highest advertised version, each on a fresh connection. An error code in the
 * response is fine (a default request may be semantically invalid); a closed connection or a
 * timeout is a failure.
 */
async function minimalRequestFailures(port: number): Promise<string[]> {
  const probe = await KafkaConnection.connect("127.0.0.1", port);
  const advertised = [...probe.versions.entries()];
  probe.close();
  assert(advertised.length > 5);
  const failures: string[] = [];
  for (const [apiKey, range] of advertised) {
    const api = API_TABLE.get(apiKey)!;
    for (const version of new Set([range.min, range.max])) {
      // acks=0 would get no response; ask for one.
      const body: Record<string, unknown> = apiKey === ApiKey.PRODUCE ? { acks: 1 } : {};
      const conn = await KafkaConnection.connect("127.0.0.1", port, {
        skipApiVersions: true,
        requestTimeoutMs: 10_000,
      });
      try {
        await conn.send(apiKey, body, { version });
      } catch (error) {
        failures.push(`${api.name} v${version}: ${(error as Error).message}`);
      } finally {
        conn.close();
      }
    }
  }
  return failures;
}

const ascii = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

Deno.test({
  name: "the node survives protocol edge cases and answers every advertised api version",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await startNode({
      props: { "socket.request.max.bytes": String(REQUEST_BYTES_MAX) },
    });
    const admin = await KafkaConnection.connect("127.0.0.1", node.brokerPort);
    try {
      const created = await admin.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
        topics: ["edge", "edge-big"].map((name) =>
          createCreatableTopic({ name, numPartitions: 1, replicationFactor: 1 })
        ),
        timeoutMs: 10_000,
      });
      assertEquals(created.topics.map((x) => x.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);

      await t.step(
        "ApiVersions v99 gets UNSUPPORTED_VERSION with a v0 body of our versions",
        async () => {
          // KIP-511
          const client = await RawClient.connect(node.brokerPort);
          try {
            await client.write(rawHeaderFrame(ApiKey.API_VERSIONS, 99, 7, [0]));
            const frame = await client.readFrame();
            assert(frame !== null);
            const r = new Reader(frame);
            assertEquals(readResponseHeader(r, ApiKey.API_VERSIONS, 0).correlationId, 7);
            const body: ApiVersionsResponse = readApiVersionsResponse(r, 0);
            assertEquals(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
            assertEquals(
              body.apiKeys.find((k) => k.apiKey === ApiKey.API_VERSIONS)?.maxVersion,
              4,
            );
            assert(body.apiKeys.some((k) => k.apiKey === ApiKey.PRODUCE));
          } finally {
            client.close();
          }
        },
      );

      await t.step("an unknown api key closes only that connection", async () => {
        const client = await RawClient.connect(node.brokerPort);
        try {
          await client.write(rawHeaderFrame(999, 0, 1, [0, 0, 0, 0]));
          assertEquals(await client.readFrame(), null);
        } finally {
          client.close();
        }
        await assertServing(node);
      });

      await t.step(
        "a frame larger than socket.request.max.bytes closes only that connection",
        async () => {
          for (const size of [REQUEST_BYTES_MAX + 1, 0x7fffffff, -5]) {
            const client = await RawClient.connect(node.brokerPort);
            try {
              const prefix = new Uint8Array(8);
              new DataView(prefix.buffer).setInt32(0, size);
              await client.write(prefix);
              assertEquals(await client.readFrame(), null);
            } finally {
              client.close();
            }
          }
          await assertServing(node);
        },
      );

      await t.step(
        "garbage after a valid header closes the connection with one log line",
        async () => {
          const before = count(node.logs(), "cannot decode Metadata v12");
          const client = await RawClient.connect(node.brokerPort);
          try {
            const garbage = Array.from({ length: 40 }, (_, i) => (i * 37 + 200) & 0xff);
            // Metadata v12 is flexible: header v2 adds a tag buffer after the client id.
            await client.write(rawHeaderFrame(ApiKey.METADATA, 12, 3, [0, ...garbage]));
            assertEquals(await client.readFrame(), null);
          } finally {
            client.close();
          }
          await assertServing(node);
          assertEquals(count(node.logs(), "cannot decode Metadata v12") - before, 1);
        },
      );

      await t.step("pipelined requests are answered in order", async () => {
        const client = await RawClient.connect(node.brokerPort);
        const n = 1200; // more than queued.max.requests (500): reading pauses and resumes
        try {
          const frames = Array.from(
            { length: n },
            (_, i) =>
              i % 3 === 0
                ? requestFrame(ApiKey.API_VERSIONS, 3, i + 1)
                : requestFrame(ApiKey.METADATA, i % 3 === 1 ? 12 : 1, i + 1, { topics: null }),
          );
          const all = new Uint8Array(frames.reduce((s, f) => s + f.length, 0));
          let at = 0;
          for (const f of frames) {
            all.set(f, at);
            at += f.length;
          }
          await client.write(all);
          const ids: number[] = [];
          for (let i = 0; i < n; i++) {
            const frame = await client.readFrame();
            assert(frame !== null, `closed after ${i} responses`);
            ids.push(new DataView(frame.buffer, frame.byteOffset).getInt32(0));
          }
          assertEquals(ids, Array.from({ length: n }, (_, i) => i + 1));
        } finally {
          client.close();
        }
      });

      await t.step(
        "a client that disconnects in the middle of a big Produce does no harm",
        async () => {
          for (let round = 0; round < 4; round++) { // a quarter, half, three quarters, all of it
            const client = await RawClient.connect(node.brokerPort);
            const records = encodeBatch({
              baseOffset: 0,
              records: [{
                offsetDelta: 0,
                timestampDelta: 0,
                key: null,
                value: new Uint8Array(REQUEST_BYTES_MAX / 2),
                headers: [],
              }],
            });
            const frame = requestFrame(ApiKey.PRODUCE, 9, 1, {
              acks: -1,
              timeoutMs: 5000,
              topicData: [produceData("edge-big", 0, records)],
            });
            await client.write(frame.subarray(0, Math.floor(frame.length * (round + 1) / 4)));
            client.close();
          }
          await assertServing(node);
        },
      );

      await t.step(
        "Metadata for an invalid topic name answers INVALID_TOPIC_EXCEPTION",
        async () => {
          for (const version of [1, 4, 12]) {
            const res = await admin.send<MetadataResponse>(ApiKey.METADATA, {
              topics: [createMetadataRequestTopic({ name: "bad name!" })],
              allowAutoTopicCreation: true,
            }, { version });
            assertEquals(res.topics.map((x) => [x.name, x.errorCode]), [
              ["bad name!", ErrorCode.INVALID_TOPIC_EXCEPTION],
            ]);
          }
        },
      );

      await t.step(
        "Produce to a partition that does not exist answers UNKNOWN_TOPIC_OR_PARTITION",
        async () => {
          const records = encodeBatch({
            baseOffset: 0,
            records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [] }],
          });
          const res = await admin.send<ProduceResponse>(ApiKey.PRODUCE, {
            acks: -1,
            timeoutMs: 5000,
            topicData: [produceData("edge", 7, records), produceData("no-such-topic", 0, records)],
          }, { version: 9 });
          assertEquals(
            res.responses.map((r) => [r.name, r.partitionResponses.map((p) => p.errorCode)]),
            [
              ["edge", [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
              ["no-such-topic", [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
            ],
          );
        },
      );

      await t.step(
        "Fetch of an empty partition returns an empty, not null, record set",
        async () => {
          for (const version of [0, 3, 4, 12]) {
            const res = await admin.send<FetchResponse>(ApiKey.FETCH, {
              replicaId: -1,
              maxWaitMs: 0,
              minBytes: 1,
              maxBytes: 1024 * 1024,
              topics: [createFetchTopic({
                topic: "edge",
                partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 65536 })],
              })],
            }, { version });
            const p = res.responses[0]!;
            const data = p.partitions[0]!;
            assertEquals(data.errorCode, ErrorCode.NONE);
            assert(data.records !== null, `Fetch v${version} answered null records`);
            assertEquals(data.records.length, 0);
          }
        },
      );

      await t.step(
        "records produced at every Produce version are fetched at every Fetch version",
        async () => {
          const created = await admin.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
            topics: [
              createCreatableTopic({
                name: "edge-versions",
                numPartitions: 1,
                replicationFactor: 1,
              }),
            ],
            timeoutMs: 10_000,
          });
          const topicId = created.topics[0]!.topicId;
          const produceMax = admin.versions.get(ApiKey.PRODUCE)!.max;
          for (let version = 0; version <= produceMax; version++) {
            const message = { key: ascii(`k${version}`), value: ascii(`v${version}`) };
            // Produce v0-v2 carry legacy message sets (magic 0, magic 1 from v2), v3+ batches.
            const records = version <= 2
              ? encodeMessageSet({
                magic: version === 2 ? 1 : 0,
                compression: version % 2,
                messages: [{ ...message, timestamp: 1000 + version }],
              })
              : encodeBatch({
                baseOffset: 0,
                baseTimestamp: 1000 + version,
                compression: version % 4,
                records: [{ offsetDelta: 0, timestampDelta: 0, ...message, headers: [] }],
              });
            const res = await admin.send<ProduceResponse>(ApiKey.PRODUCE, {
              acks: -1,
              timeoutMs: 5000,
              topicData: [produceData("edge-versions", 0, records)],
            }, { version });
            const p = res.responses[0]!.partitionResponses[0]!;
            assertEquals([version, p.errorCode, p.baseOffset], [version, 0, BigInt(version)]);
          }
          const expected = Array.from({ length: produceMax + 1 }, (_, i) => `v${i}`).slice(2);
          for (let version = 0; version <= admin.versions.get(ApiKey.FETCH)!.max; version++) {
            const res = await admin.send<FetchResponse>(ApiKey.FETCH, {
              replicaId: -1,
              maxWaitMs: 0,
              minBytes: 1,
              maxBytes: 1024 * 1024,
              topics: [createFetchTopic({
                topic: "edge-versions",
                topicId,
                partitions: [createFetchPartition({
                  partition: 0,
                  fetchOffset: 2n,
                  partitionMaxBytes: 1024 * 1024,
                })],
              })],
            }, { version });
            const data = res.responses[0]!.partitions[0]!;
            const values = version < 4
              ? decodeMessageSet(data.records!).map((m) => {
                // Fetch v0-v3 get down-converted message sets: magic 0 below v2, else magic 1.
                assertEquals(m.magic, version < 2 ? 0 : 1);
                return text(m.value!);
              })
              : [...batchesIn(data.records!)].flatMap(({ pos, sizeBytes }) =>
                decodeBatch(data.records!.subarray(pos, pos + sizeBytes)).records.map((r) =>
                  text(r.value!)
                )
              );
            assertEquals([version, values], [version, expected]);
          }
        },
      );

      for (
        const [listener, port] of [["broker", node.brokerPort], ["controller", node.controllerPort]]
      ) {
        await t.step(
          `every api the ${listener} listener advertises answers a minimal request at its min and max version`,
          async () => {
            assertEquals(await minimalRequestFailures(port as number), []);
          },
        );
      }
      await assertServing(node);
    } catch (error) {
      console.error(
        node.logs().split("\n").filter((l) => /WARN|ERROR/.test(l)).slice(-40).join("\n"),
      );
      throw error;
    } finally {
      admin.close();
      await node.stop();
    }
  },
});
