/**
 * Kafka error codes the KRaft RPCs use, by their Kafka names. The numbers come from the one
 * generated table (`net/protocol/generated/errors.ts`, Kafka's `errors.tsv`); this module only
 * names the subset the raft core produces or understands.
 *
 * @module
 */
import { ErrorCode } from "../../net/protocol/generated/errors.ts";

const RAFT_ERROR_NAMES = [
  "NONE",
  "UNKNOWN_SERVER_ERROR",
  "OFFSET_OUT_OF_RANGE",
  "NOT_LEADER_OR_FOLLOWER",
  "REQUEST_TIMED_OUT",
  "UNSUPPORTED_VERSION",
  "INVALID_REQUEST",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "INCONSISTENT_VOTER_SET",
  "INCONSISTENT_CLUSTER_ID",
  "INVALID_VOTER_KEY",
  "DUPLICATE_VOTER",
  "VOTER_NOT_FOUND",
] as const;

/** A Kafka error name, e.g. `"FENCED_LEADER_EPOCH"`. */
export type RaftErrorName = typeof RAFT_ERROR_NAMES[number];

/** The numeric Kafka code for each error name the raft core produces or understands. */
export const RAFT_ERROR_CODES: Readonly<Record<RaftErrorName, number>> = Object.freeze(
  Object.fromEntries(RAFT_ERROR_NAMES.map((name) => [name, ErrorCode[name]])) as Record<
    RaftErrorName,
    number
  >,
);
