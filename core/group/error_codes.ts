/**
 * The Kafka error codes the group coordinator returns, with the numbers from `errors.tsv`.
 * `core/` does not import the generated codecs, so the few codes used here are pinned locally;
 * `error_codes_test.ts` checks them against the shared spec.
 *
 * @example
 * ```ts
 * import { GroupErrorCode } from "./error_codes.ts";
 * const rejoin = GroupErrorCode.REBALANCE_IN_PROGRESS; // 27
 * ```
 */
export const GroupErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  NOT_ENOUGH_REPLICAS: 19,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_LEADER_OR_FOLLOWER: 6,
  KAFKA_STORAGE_ERROR: 56,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  UNSUPPORTED_VERSION: 35,
  UNSTABLE_OFFSET_COMMIT: 88,
  INVALID_REQUEST: 42,
  FENCED_MEMBER_EPOCH: 110,
  UNRELEASED_INSTANCE_ID: 111,
  UNSUPPORTED_ASSIGNOR: 112,
  STALE_MEMBER_EPOCH: 113,
  INVALID_REGULAR_EXPRESSION: 128,
} as const;

/** One of the error code numbers in {@link GroupErrorCode}, or any other Kafka code. */
export type GroupErrorCodeValue = number;

/**
 * Maps an error from appending to `__consumer_offsets` to the error a group request answers with,
 * as Kafka's coordinator does (storage and leadership failures read as coordinator failures).
 *
 * @example
 * ```ts
 * import { appendErrorToResponseError, GroupErrorCode } from "./error_codes.ts";
 * appendErrorToResponseError(GroupErrorCode.NOT_LEADER_OR_FOLLOWER, "group"); // NOT_COORDINATOR
 * ```
 */
export function appendErrorToResponseError(
  appendErrorCode: number,
  kind: "offsets" | "group",
): number {
  switch (appendErrorCode) {
    case GroupErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case GroupErrorCode.NOT_ENOUGH_REPLICAS:
    case GroupErrorCode.REQUEST_TIMED_OUT:
      return GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
    case GroupErrorCode.NOT_LEADER_OR_FOLLOWER:
    case GroupErrorCode.KAFKA_STORAGE_ERROR:
      return GroupErrorCode.NOT_COORDINATOR;
    case GroupErrorCode.MESSAGE_TOO_LARGE:
    case GroupErrorCode.RECORD_LIST_TOO_LARGE:
      return kind === "offsets"
        ? GroupErrorCode.INVALID_COMMIT_OFFSET_SIZE
        : GroupErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return appendErrorCode;
  }
}
