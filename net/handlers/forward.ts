/**
 * Admin requests that change metadata (CreateTopics, DeleteTopics, CreatePartitions,
 * AlterConfigs, IncrementalAlterConfigs, UpdateFeatures, ElectLeaders, AlterPartitionReassignments,
 * ListPartitionReassignments, UnregisterBroker, and KIP-853's AddRaftVoter and RemoveRaftVoter) arrive at a broker
 * and are forwarded to the active controller at the client's own version, as KRaft brokers do.
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { BrokerView } from "./broker_view.ts";

/**
 * Builds the response a forwarded request gets when the controller cannot be reached. Request
 * arrays are "topics" (or "resources" for config changes); response arrays are named per API.
 */
type ErrorResponse = (
  request: Record<string, unknown>,
  errorCode: number,
  message: string,
) => unknown;

const perResource =
  (key: string, toEntry: (item: Record<string, unknown>) => Record<string, unknown>) =>
  (
    request: Record<string, unknown>,
    errorCode: number,
    message: string,
  ) => ({
    throttleTimeMs: 0,
    [key]:
      ((request[key === "responses" ? "resources" : "topics"] as Record<string, unknown>[]) ?? [])
        .map((item) => ({
          ...toEntry(item),
          errorCode,
          errorMessage: message,
          _unknownTaggedFields: [],
        })),
    _unknownTaggedFields: [],
  });

/** The answer of AddRaftVoter / RemoveRaftVoter when the controller cannot be reached. */
const voterChangeError: ErrorResponse = (_request, errorCode, message) => ({
  throttleTimeMs: 0,
  errorCode,
  errorMessage: message,
  _unknownTaggedFields: [],
});

/** AlterUserScramCredentials answers once per user named in its deletions and upsertions. */
const scramUsersError: ErrorResponse = (request, errorCode, message) => ({
  throttleTimeMs: 0,
  results: [
    ...new Set(
      [
        ...((request.deletions as { name: string }[]) ?? []),
        ...((request.upsertions as { name: string }[]) ?? []),
      ].map((u) => u.name),
    ),
  ].map((user) => ({ user, errorCode, errorMessage: message, _unknownTaggedFields: [] })),
  _unknownTaggedFields: [],
});

/**
 * How long a voter change may wait at the controller, in milliseconds: AddRaftVoter carries its
 * own `timeoutMs`; RemoveRaftVoter has none (the controller bounds it by 2 minutes).
 */
const VOTER_CHANGE_WAIT_MS_DEFAULT = 120_000;
/** Added to a forwarded request's own timeout so the controller's answer arrives first. */
const FORWARD_MARGIN_MS = 5_000;

const FORWARDED: [
  number,
  number,
  ErrorResponse,
  ((request: Record<string, unknown>) => number)?,
][] = [
  [
    ApiKey.CREATE_TOPICS,
    7,
    perResource("topics", (t) => ({
      name: t.name,
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      topicConfigErrorCode: 0,
      numPartitions: -1,
      replicationFactor: -1,
      configs: null,
    })),
  ],
  [
    ApiKey.DELETE_TOPICS,
    6,
    (request, errorCode, message) => ({
      throttleTimeMs: 0,
      responses: [
        ...((request.topicNames as string[]) ?? []).map((name) => ({
          name,
          topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        })),
        ...((request.topics as { name: string | null; topicId: string }[]) ?? []),
      ].map((t) => ({ ...t, errorCode, errorMessage: message, _unknownTaggedFields: [] })),
      _unknownTaggedFields: [],
    }),
  ],
  [ApiKey.CREATE_PARTITIONS, 3, perResource("results", (t) => ({ name: t.name }))],
  [
    ApiKey.INCREMENTAL_ALTER_CONFIGS,
    1,
    perResource(
      "responses",
      (r) => ({ resourceType: r.resourceType, resourceName: r.resourceName }),
    ),
  ],
  [
    ApiKey.ALTER_CONFIGS,
    2,
    perResource(
      "responses",
      (r) => ({ resourceType: r.resourceType, resourceName: r.resourceName }),
    ),
  ],
  [
    ApiKey.UPDATE_FEATURES,
    1,
    (_request, errorCode, message) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage: message,
      results: [],
      _unknownTaggedFields: [],
    }),
  ],
  [
    ApiKey.ELECT_LEADERS,
    2,
    (request, errorCode, message) => ({
      throttleTimeMs: 0,
      errorCode,
      replicaElectionResults:
        ((request.topicPartitions as { topic: string; partitions: number[] }[] | null) ?? [])
          .map((t) => ({
            topic: t.topic,
            partitionResult: t.partitions.map((partitionId) => ({
              partitionId,
              errorCode,
              errorMessage: message,
              _unknownTaggedFields: [],
            })),
            _unknownTaggedFields: [],
          })),
      _unknownTaggedFields: [],
    }),
    // The election itself is one controller write; its timeoutMs bounds the wait.
    (request) => Number(request.timeoutMs ?? 30_000) + FORWARD_MARGIN_MS,
  ],
  [
    ApiKey.ALTER_PARTITION_REASSIGNMENTS,
    0,
    (request, errorCode, message) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage: message,
      responses:
        ((request.topics as { name: string; partitions: { partitionIndex: number }[] }[]) ??
          []).map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode,
              errorMessage: message,
              _unknownTaggedFields: [],
            })),
            _unknownTaggedFields: [],
          })),
      _unknownTaggedFields: [],
    }),
  ],
  [
    ApiKey.LIST_PARTITION_REASSIGNMENTS,
    0,
    (_request, errorCode, message) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage: message,
      topics: [],
      _unknownTaggedFields: [],
    }),
  ],
  [ApiKey.ALTER_USER_SCRAM_CREDENTIALS, 0, scramUsersError],
  // kafka-cluster.sh unregister --bootstrap-server: same answer shape as the voter changes.
  [ApiKey.UNREGISTER_BROKER, 0, voterChangeError],
  [
    ApiKey.ADD_RAFT_VOTER,
    0,
    voterChangeError,
    (request) => Number(request.timeoutMs ?? VOTER_CHANGE_WAIT_MS_DEFAULT) + FORWARD_MARGIN_MS,
  ],
  [
    ApiKey.REMOVE_RAFT_VOTER,
    0,
    voterChangeError,
    () => VOTER_CHANGE_WAIT_MS_DEFAULT + FORWARD_MARGIN_MS,
  ],
];

/** APIs after which this broker opens or closes partitions. */
const CHANGES_PARTITIONS = new Set<number>([
  ApiKey.CREATE_TOPICS,
  ApiKey.DELETE_TOPICS,
  ApiKey.CREATE_PARTITIONS,
]);

/** Longest a forwarded response waits for this broker to act on the metadata it changed. */
export const SETTLE_WAIT_MS_MAX = 5_000;

/**
 * Waits (at most {@link SETTLE_WAIT_MS_MAX}) until this broker has acted on the metadata applied
 * so far. The controller answers once the change is applied to the image; without this wait a
 * client that lists offsets right after CreatePartitions gets NOT_LEADER_OR_FOLLOWER from a
 * partition whose log is still being opened (KafkaJS admin calls do not retry that).
 *
 * @example
 * ```ts ignore
 * await ctx.controller.send(ApiKey.CREATE_PARTITIONS, request);
 * await settled(ctx);
 * ```
 */
export async function settled(ctx: BrokerView): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    ctx.metadata.settled(),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_WAIT_MS_MAX))),
  ]);
  clearTimeout(timer);
}

/**
 * Registers the forwarding handlers on a broker listener.
 *
 * @example
 * ```ts ignore
 * registerForwardedApis(dispatcher, ctx);
 * ```
 */
export function registerForwardedApis(dispatcher: Dispatcher, ctx: BrokerView): void {
  for (const [apiKey, maxVersion, onError, waitMs] of FORWARDED) {
    dispatcher.register<Record<string, unknown>, unknown>(apiKey, {
      minVersion: 0,
      maxVersion,
      handle: async (request, context) => {
        try {
          const response = await ctx.controller.send(apiKey, request, {
            version: context.apiVersion,
            timeoutMs: waitMs?.(request),
          });
          if (CHANGES_PARTITIONS.has(apiKey)) await settled(ctx);
          return response;
        } catch (error) {
          const code = error instanceof KafkaError ? error.code : ErrorCode.REQUEST_TIMED_OUT;
          const message = (error as Error).message;
          ctx.logger.warn(`Forwarding api key ${apiKey} to the controller failed: ${message}`);
          return onError(request, code, message);
        }
      },
    });
  }
}
