/**
 * The KIP-848 group APIs on the wire: ConsumerGroupHeartbeat v0-v1 (api 68) and ConsumerGroupDescribe
 * v0 (api 69). Each maps the generated request to the core coordinator's input, asks the
 * {@link ConsumerGroupService} (routed to the group's `__consumer_offsets` partition like the
 * classic APIs, so FindCoordinator is unchanged) and maps the result back.
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { ConsumerGroupHeartbeatRequest } from "../protocol/generated/consumer_group_heartbeat_request.ts";
import {
  type ConsumerGroupHeartbeatResponse,
  createAssignment as createHeartbeatAssignment,
  createConsumerGroupHeartbeatResponse,
  createTopicPartitions as createHeartbeatTopicPartitions,
} from "../protocol/generated/consumer_group_heartbeat_response.ts";
import type { ConsumerGroupDescribeRequest } from "../protocol/generated/consumer_group_describe_request.ts";
import {
  type ConsumerGroupDescribeResponse,
  createAssignment,
  createConsumerGroupDescribeResponse,
  createDescribedGroup,
  createMember,
  createTopicPartitions,
} from "../protocol/generated/consumer_group_describe_response.ts";
import type {
  ConsumerGroupDescribedGroup,
  ConsumerGroupHeartbeatInput,
  ConsumerGroupHeartbeatResult,
  DescribedTopicPartitions,
} from "../../core/group/types.ts";

/** What the KIP-848 handlers need from the broker's group coordination. */
export interface ConsumerGroupService {
  consumerGroupHeartbeat(input: ConsumerGroupHeartbeatInput): Promise<ConsumerGroupHeartbeatResult>;
  consumerGroupDescribe(groupIds: string[]): ConsumerGroupDescribedGroup[];
}

/** The versions served (advertised in ApiVersions). */
export const CONSUMER_GROUP_API_VERSIONS: ReadonlyMap<number, { min: number; max: number }> =
  new Map([
    // v1 (Kafka 4.0): client-generated member ids (KIP-1082) and SubscribedTopicRegex.
    [ApiKey.CONSUMER_GROUP_HEARTBEAT, { min: 0, max: 1 }],
    [ApiKey.CONSUMER_GROUP_DESCRIBE, { min: 0, max: 0 }],
  ]);

/** READ 3, DELETE 6, DESCRIBE 8 as bits of AclOperation codes (no authorizer). */
const GROUP_AUTHORIZED_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

interface Context {
  apiVersion: number;
  header: { clientId: string | null };
  clientHost: string;
}

/** ConsumerGroupHeartbeat v0-v1 (KIP-848; v1: KIP-1082 member ids and regex subscriptions). */
export async function consumerGroupHeartbeat(
  service: ConsumerGroupService,
  request: ConsumerGroupHeartbeatRequest,
  context: Context,
): Promise<ConsumerGroupHeartbeatResponse> {
  const result = await service.consumerGroupHeartbeat({
    groupId: request.groupId,
    memberId: request.memberId,
    memberEpoch: request.memberEpoch,
    instanceId: request.instanceId,
    rackId: request.rackId,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs,
    subscribedTopicNames: request.subscribedTopicNames,
    subscribedTopicRegex: context.apiVersion >= 1 ? request.subscribedTopicRegex : undefined,
    serverAssignor: request.serverAssignor,
    topicPartitions: request.topicPartitions === null ? null : request.topicPartitions.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions,
    })),
    clientId: context.header.clientId ?? "",
    clientHost: context.clientHost,
    apiVersion: context.apiVersion,
  });
  return createConsumerGroupHeartbeatResponse({
    errorCode: result.errorCode,
    errorMessage: result.errorMessage,
    memberId: result.memberId,
    memberEpoch: result.memberEpoch,
    heartbeatIntervalMs: result.heartbeatIntervalMs,
    assignment: result.assignment === null ? null : createHeartbeatAssignment({
      topicPartitions: result.assignment.topicPartitions.map((t) =>
        createHeartbeatTopicPartitions({ topicId: t.topicId, partitions: t.partitions })
      ),
    }),
  });
}

function describedAssignment(topicPartitions: DescribedTopicPartitions[]) {
  return createAssignment({
    topicPartitions: topicPartitions.map((t) => createTopicPartitions({ ...t })),
  });
}

/** ConsumerGroupDescribe v0 (KIP-848); classic groups answer GROUP_ID_NOT_FOUND. */
export function consumerGroupDescribe(
  service: ConsumerGroupService,
  request: ConsumerGroupDescribeRequest,
): ConsumerGroupDescribeResponse {
  return createConsumerGroupDescribeResponse({
    groups: service.consumerGroupDescribe(request.groupIds).map((g) =>
      createDescribedGroup({
        ...g,
        members: g.members.map((m) =>
          createMember({
            ...m,
            assignment: describedAssignment(m.assignment.topicPartitions),
            targetAssignment: describedAssignment(m.targetAssignment.topicPartitions),
          })
        ),
        authorizedOperations: request.includeAuthorizedOperations && g.errorCode === ErrorCode.NONE
          ? GROUP_AUTHORIZED_OPERATIONS
          : AUTHORIZED_OPERATIONS_OMITTED,
      })
    ),
  });
}

/**
 * Registers ConsumerGroupHeartbeat and ConsumerGroupDescribe on `dispatcher`.
 *
 * @example
 * ```ts ignore
 * registerConsumerGroupHandlers(dispatcher, groupManager);
 * ```
 */
export function registerConsumerGroupHandlers(
  dispatcher: Dispatcher,
  service: ConsumerGroupService,
): void {
  const versions = (apiKey: number) => CONSUMER_GROUP_API_VERSIONS.get(apiKey)!;
  dispatcher.register<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>(
    ApiKey.CONSUMER_GROUP_HEARTBEAT,
    {
      minVersion: versions(ApiKey.CONSUMER_GROUP_HEARTBEAT).min,
      maxVersion: versions(ApiKey.CONSUMER_GROUP_HEARTBEAT).max,
      handle: (r, c) => consumerGroupHeartbeat(service, r, c),
    },
  );
  dispatcher.register<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>(
    ApiKey.CONSUMER_GROUP_DESCRIBE,
    {
      minVersion: versions(ApiKey.CONSUMER_GROUP_DESCRIBE).min,
      maxVersion: versions(ApiKey.CONSUMER_GROUP_DESCRIBE).max,
      handle: (r) => consumerGroupDescribe(service, r),
    },
  );
}
