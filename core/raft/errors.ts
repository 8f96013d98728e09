/**
 * Kafka error codes the KRaft RPCs use, by their Kafka names (`errors.tsv`).
 *
 * @module
 */

/** The numeric Kafka code for each error name the raft core produces or understands. */
export const RAFT_ERROR_CODES = Object.freeze({
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  OFFSET_OUT_OF_RANGE: 1,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  INCONSISTENT_VOTER_SET: 94,
  INCONSISTENT_CLUSTER_ID: 104,
  INVALID_VOTER_KEY: 125,
  DUPLICATE_VOTER: 126,
  VOTER_NOT_FOUND: 127,
});

/** A Kafka error name, e.g. `"FENCED_LEADER_EPOCH"`. */
export type RaftErrorName = keyof typeof RAFT_ERROR_CODES;
