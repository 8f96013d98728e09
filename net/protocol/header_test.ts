// Known-bytes checks against the wire format (https://kafka.apache.org/protocol, KIP-482, KIP-511).
import assert from "node:assert/strict";
import { KafkaError } from "./errors.ts";
import {
  createRequestHeader,
  readRequestHeader,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
} from "./header.ts";
import {
  createApiVersionsRequest,
  readApiVersionsRequest,
  writeApiVersionsRequest,
} from "./generated/api_versions_request.ts";
import {
  createApiVersion,
  createApiVersionsResponse,
  readApiVersionsResponse,
  writeApiVersionsResponse,
} from "./generated/api_versions_response.ts";
import { readMetadataRequest, writeMetadataRequest } from "./generated/metadata_request.ts";
import { ErrorCode, errorMessage, errorName, isRetriable } from "./generated/errors.ts";
import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";

const ascii = (s: string) => [...new TextEncoder().encode(s)];

// An ApiVersions v3 request as librdkafka 2.x sends it (without the 4-byte size prefix).
const librdkafkaApiVersionsV3 = new Uint8Array([
  0,
  18,
  0,
  3, // api key 18, version 3
  0,
  0,
  0,
  1, // correlation id
  0,
  7,
  ...ascii("rdkafka"), // client id: int16 length even in header v2
  0, // header tagged fields
  11,
  ...ascii("librdkafka"), // compact string: length + 1
  6,
  ...ascii("2.3.0"),
  0, // body tagged fields
]);

// A Metadata v0 request for topics "a" and "bc" (header v1).
const metadataV0 = new Uint8Array([
  0,
  3,
  0,
  0, // api key 3, version 0
  0,
  0,
  0,
  42, // correlation id
  0,
  2,
  ...ascii("me"),
  0,
  0,
  0,
  2, // two topics
  0,
  1,
  ...ascii("a"),
  0,
  2,
  ...ascii("bc"),
]);

Deno.test("an ApiVersions v3 request from librdkafka decodes and re-encodes byte for byte", () => {
  const r = new Reader(librdkafkaApiVersionsV3);
  const { header, headerVersion, supported } = readRequestHeader(r);
  assert.equal(headerVersion, 2);
  assert.equal(supported, true);
  assert.deepEqual(header, {
    requestApiKey: 18,
    requestApiVersion: 3,
    correlationId: 1,
    clientId: "rdkafka",
    _unknownTaggedFields: [],
  });
  const body = readApiVersionsRequest(r, 3);
  assert.equal(r.remaining, 0);
  assert.deepEqual(
    body,
    createApiVersionsRequest({
      clientSoftwareName: "librdkafka",
      clientSoftwareVersion: "2.3.0",
    }),
  );
  const w = new Writer();
  writeRequestHeader(w, header);
  writeApiVersionsRequest(w, 3, body);
  assert.deepEqual(w.finish(), librdkafkaApiVersionsV3);
});

Deno.test("a Metadata v0 request decodes and re-encodes byte for byte", () => {
  const r = new Reader(metadataV0);
  const { header, headerVersion } = readRequestHeader(r);
  assert.equal(headerVersion, 1);
  assert.equal(header.clientId, "me");
  const body = readMetadataRequest(r, 0);
  assert.deepEqual(body.topics?.map((t) => t.name), ["a", "bc"]);
  const w = new Writer();
  writeRequestHeader(w, header);
  writeMetadataRequest(w, 0, body);
  assert.deepEqual(w.finish(), metadataV0);
});

Deno.test("an ApiVersions v3 response writes its tagged fields in tag order", () => {
  const m = createApiVersionsResponse({
    apiKeys: [createApiVersion({ apiKey: 18, minVersion: 0, maxVersion: 4 })],
    finalizedFeaturesEpoch: 5n,
    zkMigrationReady: true,
  });
  const w = new Writer();
  writeApiVersionsResponse(w, 3, m);
  const expected = [
    0,
    0, // error code
    2,
    0,
    18,
    0,
    0,
    0,
    4,
    0, // compact array of one ApiVersion, with its empty tag section
    0,
    0,
    0,
    0, // throttle time
    2, // two tagged fields
    1,
    8,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    5, // tag 1: FinalizedFeaturesEpoch
    3,
    1,
    1, // tag 3: ZkMigrationReady
  ];
  assert.deepEqual([...w.finish()], expected);
  assert.deepEqual(readApiVersionsResponse(new Reader(new Uint8Array(expected)), 3), m);
});

Deno.test("an ApiVersions request newer than we know is tolerated for a v0 UNSUPPORTED_VERSION answer", () => {
  // KIP-511: the header is read as v2, the body is not read.
  const bytes = new Uint8Array([0, 18, 0, 99, 0, 0, 0, 9, 0, 1, ...ascii("x"), 0, 1, 2, 3]);
  const { header, supported } = readRequestHeader(new Reader(bytes));
  assert.equal(supported, false);
  assert.equal(header.correlationId, 9);
  const w = new Writer();
  writeResponseHeader(w, { apiKey: 18, apiVersion: 99, correlationId: 9 });
  writeApiVersionsResponse(
    w,
    0,
    createApiVersionsResponse({ errorCode: ErrorCode.UNSUPPORTED_VERSION }),
  );
  assert.deepEqual([...w.finish()], [0, 0, 0, 9, 0, 35, 0, 0, 0, 0]);
});

Deno.test("an unknown api key or an unsupported version of another API is a KafkaError", () => {
  assert.throws(
    () => readRequestHeader(new Reader(new Uint8Array([0x7f, 0, 0, 0, 0, 0, 0, 1, 0, 0]))),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REQUEST,
  );
  assert.throws(
    () => readRequestHeader(new Reader(new Uint8Array([0, 3, 0, 99, 0, 0, 0, 1, 0, 0, 0]))),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.UNSUPPORTED_VERSION,
  );
});

Deno.test("header versions follow Kafka's rules", () => {
  assert.equal(requestHeaderVersion(7, 0), 0); // ControlledShutdown v0
  assert.equal(requestHeaderVersion(7, 1), 1);
  assert.equal(requestHeaderVersion(7, 3), 2);
  assert.equal(requestHeaderVersion(0, 8), 1); // Produce v8
  assert.equal(requestHeaderVersion(0, 9), 2);
  assert.equal(responseHeaderVersion(18, 3), 0); // ApiVersions responses: always v0
  assert.equal(responseHeaderVersion(3, 8), 0);
  assert.equal(responseHeaderVersion(3, 9), 1);
});

Deno.test("a response header round-trips at v0 and v1", () => {
  for (const [apiVersion, bytes] of [[8, [0, 0, 0, 5]], [9, [0, 0, 0, 5, 0]]] as const) {
    const w = new Writer();
    writeResponseHeader(w, { apiKey: 3, apiVersion, correlationId: 5 });
    assert.deepEqual([...w.finish()], bytes);
    assert.equal(
      readResponseHeader(new Reader(new Uint8Array(bytes)), 3, apiVersion).correlationId,
      5,
    );
  }
});

Deno.test("a null client id is written as int16 -1 even in header v2", () => {
  const w = new Writer();
  writeRequestHeader(
    w,
    createRequestHeader({ requestApiKey: 18, requestApiVersion: 4, clientId: null }),
  );
  assert.deepEqual([...w.finish()], [0, 18, 0, 4, 0, 0, 0, 0, 0xff, 0xff, 0]);
});

Deno.test("error codes carry names, retriability and default messages", () => {
  assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  assert.equal(errorName(6), "NOT_LEADER_OR_FOLLOWER");
  assert.equal(isRetriable(6), true);
  assert.equal(isRetriable(ErrorCode.TOPIC_ALREADY_EXISTS), false);
  assert.equal(errorMessage(35), "The version of API is not supported.");
  assert.equal(errorName(9999), "UNKNOWN_ERROR_CODE_9999");
});
