import { ErrorCode } from "../../net/protocol/generated/errors.ts";

/**
 * The Kafka error codes the group coordinator returns. The numbers come from the one generated
 * table (`net/protocol/generated/errors.ts`, from Kafka's `errors.tsv`): the wire protocol is the
 * vocabulary every layer shares, `core/` included.
 *
 * @example
 * ```ts
 * import { GroupErrorCode } from "./error_codes.ts";
 * const rejoin = GroupErrorCode.REBALANCE_IN_PROGRESS; // 27
 * ```
 */
export const GroupErrorCode = ErrorCode;

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
