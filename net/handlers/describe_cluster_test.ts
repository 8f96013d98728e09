// Expected behaviour follows Kafka 3.9's AuthHelper.computeDescribeClusterResponse (KIP-700,
// KIP-919) and KRaftMetadataCache.getBrokerNodes (fenced brokers are left out).
import assert from "node:assert/strict";
import { Dispatcher } from "../dispatcher.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { createRequestHeader, readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createDescribeClusterRequest,
  type DescribeClusterRequest,
  writeDescribeClusterRequest,
} from "../protocol/generated/describe_cluster_request.ts";
import {
  type DescribeClusterResponse,
  readDescribeClusterResponse,
} from "../protocol/generated/describe_cluster_response.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../protocol/generated/register_broker_record.ts";
import {
  createControllerEndpoint,
  createRegisterControllerRecord,
} from "../protocol/generated/register_controller_record.ts";
import { createFeatureLevelRecord } from "../protocol/generated/feature_level_record.ts";
import { applyRecords, EMPTY_IMAGE } from "../../core/metadata/image.ts";
import { makeRecord, METADATA_VERSION_FEATURE, RecordType } from "../../core/metadata/records.ts";
import { incarnation } from "../../core/metadata/testing.ts";
import { silentLogger } from "../../core/log.ts";
import {
  CLUSTER_OPERATIONS_ALL,
  describeCluster,
  type DescribeClusterContext,
  EndpointType,
  registerDescribeCluster,
} from "./describe_cluster.ts";

const CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg";

function broker(id: number, fenced: boolean, rack: string | null = null) {
  return makeRecord(
    RecordType.REGISTER_BROKER,
    3,
    createRegisterBrokerRecord({
      brokerId: id,
      incarnationId: incarnation(id, 0),
      brokerEpoch: BigInt(id * 10),
      endPoints: [
        createBrokerEndpoint({
          name: "PLAINTEXT",
          host: `b${id}`,
          port: 9092,
          securityProtocol: 0,
        }),
        ...(id === 3 ? [] : [
          createBrokerEndpoint({
            name: "INTERNAL",
            host: `i${id}`,
            port: 19092,
            securityProtocol: 0,
          }),
        ]),
      ],
      rack,
      fenced,
    }),
  );
}

function context(metadataVersion = 21): DescribeClusterContext {
  return {
    clusterId: CLUSTER_ID,
    metadata: {
      image: applyRecords(EMPTY_IMAGE, [
        makeRecord(
          RecordType.FEATURE_LEVEL,
          0,
          createFeatureLevelRecord({
            name: METADATA_VERSION_FEATURE,
            featureLevel: metadataVersion,
          }),
        ),
        broker(1, false, "r1"),
        broker(2, true),
        broker(3, false),
        makeRecord(
          RecordType.REGISTER_CONTROLLER,
          0,
          createRegisterControllerRecord({
            controllerId: 9,
            incarnationId: incarnation(9, 0),
            endPoints: [createControllerEndpoint({
              name: "CONTROLLER",
              host: "c9",
              port: 9093,
              securityProtocol: 0,
            })],
          }),
        ),
      ]),
    },
  };
}

function call(request: Partial<DescribeClusterRequest>, options: {
  version?: number;
  listenerName?: string;
  controllerId?: number;
  endpointType?: 1 | 2;
  metadataVersion?: number;
} = {}): DescribeClusterResponse {
  return describeCluster(createDescribeClusterRequest(request), {
    version: options.version ?? 1,
    listenerName: options.listenerName ?? "PLAINTEXT",
    ctx: context(options.metadataVersion),
    controllerId: () => options.controllerId ?? 1,
    endpointType: options.endpointType,
  });
}

Deno.test("a broker describes the unfenced brokers on the request's listener", () => {
  const response = call({});
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.equal(response.clusterId, CLUSTER_ID);
  assert.equal(response.endpointType, EndpointType.BROKER);
  assert.equal(response.controllerId, 1);
  assert.deepEqual(response.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack]), [
    [1, "b1", 9092, "r1"],
    [3, "b3", 9092, null],
  ]);
  assert.equal(response.clusterAuthorizedOperations, -2147483648);
  // Broker 3 has no INTERNAL listener, so it is not reachable there.
  const internal = call({}, { listenerName: "INTERNAL" });
  assert.deepEqual(internal.brokers.map((b) => [b.brokerId, b.host]), [[1, "i1"]]);
});

Deno.test("a controller id that is not among the described nodes is reported as -1", () => {
  assert.equal(call({}, { controllerId: 2 }).controllerId, -1); // fenced
  assert.equal(call({}, { controllerId: -1 }).controllerId, -1);
});

Deno.test("authorized operations are every cluster operation when asked for (no authorizer)", () => {
  const response = call({ includeClusterAuthorizedOperations: true });
  assert.equal(response.clusterAuthorizedOperations, CLUSTER_OPERATIONS_ALL);
  assert.equal(CLUSTER_OPERATIONS_ALL, 8096);
});

Deno.test("a broker answers the controller endpoint type with MISMATCHED_ENDPOINT_TYPE", () => {
  // KIP-919: v1 makes MISMATCHED_ENDPOINT_TYPE and UNSUPPORTED_ENDPOINT_TYPE valid top-level errors.
  const mismatched = call({ endpointType: 2 });
  assert.equal(mismatched.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  assert.equal(
    mismatched.errorMessage,
    "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
  );
  assert.deepEqual(mismatched.brokers, []);
  const unsupported = call({ endpointType: 3 });
  assert.equal(unsupported.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  assert.equal(unsupported.errorMessage, "Unsupported endpoint type 3");
  assert.equal(call({ endpointType: 0 }, { version: 0 }).errorCode, ErrorCode.INVALID_REQUEST);
});

Deno.test("a controller listener describes the registered controllers from 3.7-IV0", () => {
  const response = call({ endpointType: 2 }, {
    endpointType: 2,
    listenerName: "CONTROLLER",
    controllerId: 9,
  });
  assert.equal(response.errorCode, ErrorCode.NONE);
  assert.equal(response.endpointType, EndpointType.CONTROLLER);
  assert.equal(response.controllerId, 9);
  assert.deepEqual(response.brokers.map((b) => [b.brokerId, b.host, b.port, b.rack]), [
    [9, "c9", 9093, null],
  ]);
  assert.equal(
    call({ endpointType: 1 }, { endpointType: 2 }).errorCode,
    ErrorCode.MISMATCHED_ENDPOINT_TYPE,
  );
  const old = call({ endpointType: 2 }, { endpointType: 2, metadataVersion: 14 });
  assert.equal(old.errorCode, ErrorCode.UNSUPPORTED_VERSION);
});

Deno.test("DescribeCluster v0 and v1 encode through the dispatcher", async () => {
  const dispatcher = new Dispatcher({ logger: silentLogger });
  registerDescribeCluster(dispatcher, context(), { controllerId: () => 3 });
  const range = dispatcher.advertised().find((a) => a.apiKey === ApiKey.DESCRIBE_CLUSTER)!;
  assert.deepEqual([range.minVersion, range.maxVersion], [0, 1]);
  for (const version of [0, 1]) {
    const w = new Writer();
    writeRequestHeader(
      w,
      createRequestHeader({
        requestApiKey: ApiKey.DESCRIBE_CLUSTER,
        requestApiVersion: version,
        correlationId: 5,
        clientId: "test",
      }),
    );
    writeDescribeClusterRequest(w, version, createDescribeClusterRequest());
    const frame = await dispatcher.handleFrame(w.finish(), {
      listenerName: "PLAINTEXT",
      clientHost: "127.0.0.1",
      connectionId: 1,
    });
    const r = new Reader(frame!.subarray(4));
    assert.equal(readResponseHeader(r, ApiKey.DESCRIBE_CLUSTER, version).correlationId, 5);
    const response = readDescribeClusterResponse(r, version);
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.equal(response.controllerId, 3);
    assert.deepEqual(response.brokers.map((b) => b.brokerId), [1, 3]);
  }
});
