/**
 * DescribeCluster (v0-v1, KIP-700, KIP-919): the cluster id, the "controller" a client should send
 * admin requests to, and the nodes reachable on the request's listener. A broker describes the
 * unfenced brokers; a controller (EndpointType 2) describes the registered controllers.
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { DescribeClusterRequest } from "../protocol/generated/describe_cluster_request.ts";
import {
  createDescribeClusterResponse,
  type DescribeClusterBroker,
  type DescribeClusterResponse,
} from "../protocol/generated/describe_cluster_response.ts";
import { type MetadataImage, metadataVersion } from "../../core/metadata/image.ts";
import { MetadataVersion } from "../../core/metadata/records.ts";

/** KIP-919 endpoint types. */
export const EndpointType = { UNKNOWN: 0, BROKER: 1, CONTROLLER: 2 } as const;

const ENDPOINT_TYPE_NAMES = ["UNKNOWN", "BROKER", "CONTROLLER"];

/** Kafka's "operations not requested" sentinel (Integer.MIN_VALUE). */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/**
 * CLUSTER operations granted without an authorizer (`AclEntry.supportedOperations(CLUSTER)`):
 * CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11,
 * IDEMPOTENT_WRITE 12, as a bit field.
 */
export const CLUSTER_OPERATIONS_ALL = [5, 7, 8, 9, 10, 11, 12].reduce(
  (bits, op) => bits | (1 << op),
  0,
);

/** What the handler reads: `BrokerContext` satisfies it. */
export interface DescribeClusterContext {
  readonly clusterId: string;
  readonly metadata: { readonly image: MetadataImage };
}

/** Options of {@link registerDescribeCluster}. */
export interface DescribeClusterOptions {
  /** The node id to report as controller (KRaft brokers report a live broker); -1 when none. */
  controllerId: () => number;
  /** Which nodes this listener describes: brokers (default) or controllers. */
  endpointType?: typeof EndpointType.BROKER | typeof EndpointType.CONTROLLER;
}

/** The inputs of {@link describeCluster} besides the request. */
export interface DescribeClusterCall extends DescribeClusterOptions {
  version: number;
  listenerName: string;
  ctx: DescribeClusterContext;
}

function errorResponse(errorCode: number, errorMessage: string): DescribeClusterResponse {
  return createDescribeClusterResponse({ errorCode, errorMessage });
}

function brokerNodes(image: MetadataImage, listenerName: string): DescribeClusterBroker[] {
  const nodes: DescribeClusterBroker[] = [];
  for (const b of image.cluster.brokers.values()) {
    if (b.fenced) continue;
    const e = b.endpoints.find((x) => x.name === listenerName);
    if (e === undefined) continue;
    nodes.push({
      brokerId: b.id,
      host: e.host,
      port: e.port,
      rack: b.rack,
      _unknownTaggedFields: [],
    });
  }
  return nodes.sort((a, b) => a.brokerId - b.brokerId);
}

function controllerNodes(image: MetadataImage, listenerName: string): DescribeClusterBroker[] {
  const nodes: DescribeClusterBroker[] = [];
  for (const c of image.cluster.controllers.values()) {
    const e = c.endpoints.find((x) => x.name === listenerName);
    if (e === undefined) continue;
    nodes.push({
      brokerId: c.id,
      host: e.host,
      port: e.port,
      rack: null,
      _unknownTaggedFields: [],
    });
  }
  return nodes.sort((a, b) => a.brokerId - b.brokerId);
}

/**
 * Answers one DescribeCluster request as Kafka's `AuthHelper.computeDescribeClusterResponse`:
 * an unknown endpoint type is UNSUPPORTED_ENDPOINT_TYPE, the other type MISMATCHED_ENDPOINT_TYPE
 * (both INVALID_REQUEST at v0), and a controller id missing from the node list becomes -1.
 *
 * @example
 * ```ts ignore
 * describeCluster(request, { version: 1, listenerName: "PLAINTEXT", ctx, controllerId: () => 1 });
 * ```
 */
export function describeCluster(
  request: DescribeClusterRequest,
  call: DescribeClusterCall,
): DescribeClusterResponse {
  const expected = call.endpointType ?? EndpointType.BROKER;
  const requested = request.endpointType;
  if (requested !== EndpointType.BROKER && requested !== EndpointType.CONTROLLER) {
    return errorResponse(
      call.version === 0 ? ErrorCode.INVALID_REQUEST : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      `Unsupported endpoint type ${requested}`,
    );
  }
  if (requested !== expected) {
    return errorResponse(
      call.version === 0 ? ErrorCode.INVALID_REQUEST : ErrorCode.MISMATCHED_ENDPOINT_TYPE,
      `The request was sent to an endpoint of type ${ENDPOINT_TYPE_NAMES[expected]}, ` +
        `but we wanted an endpoint of type ${ENDPOINT_TYPE_NAMES[requested]}`,
    );
  }
  const image = call.ctx.metadata.image;
  if (
    expected === EndpointType.CONTROLLER && metadataVersion(image) < MetadataVersion.IBP_3_7_IV0
  ) {
    return errorResponse(
      ErrorCode.UNSUPPORTED_VERSION,
      "Direct-to-controller communication is not supported with the current MetadataVersion.",
    );
  }
  const brokers = expected === EndpointType.BROKER
    ? brokerNodes(image, call.listenerName)
    : controllerNodes(image, call.listenerName);
  const controllerId = call.controllerId();
  return createDescribeClusterResponse({
    endpointType: expected,
    clusterId: call.ctx.clusterId,
    controllerId: brokers.some((b) => b.brokerId === controllerId) ? controllerId : -1,
    brokers,
    clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
      ? CLUSTER_OPERATIONS_ALL
      : AUTHORIZED_OPERATIONS_OMITTED,
  });
}

/**
 * Registers DescribeCluster v0-v1.
 *
 * @example
 * ```ts ignore
 * registerDescribeCluster(dispatcher, brokerContext, { controllerId: () => brokerContext.nodeId });
 * ```
 */
export function registerDescribeCluster(
  dispatcher: Dispatcher,
  ctx: DescribeClusterContext,
  options: DescribeClusterOptions,
): void {
  dispatcher.register<DescribeClusterRequest, DescribeClusterResponse>(ApiKey.DESCRIBE_CLUSTER, {
    minVersion: 0,
    maxVersion: 1,
    handle: (request, context) =>
      describeCluster(request, {
        ...options,
        version: context.apiVersion,
        listenerName: context.listenerName,
        ctx,
      }),
  });
}
