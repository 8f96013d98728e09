/**
 * Plain data shared by the KRaft core: log entries, offsets with epochs, the persisted quorum
 * state and the configuration with Kafka's `controller.quorum.*` defaults.
 *
 * @module
 */

/** A replica id (`node.id`). */
export type NodeId = number;

/** Kafka's "no replica" sentinel for leader and voted ids. */
export const NO_NODE: NodeId = -1;

/** An offset paired with the epoch of the entry before it (Kafka's `OffsetAndEpoch`). */
export interface OffsetAndEpoch {
  offset: number;
  epoch: number;
}

/** Kafka's zero UUID: a replica without a directory id (static quorums, old peers). */
export const ZERO_DIRECTORY_ID = "AAAAAAAAAAAAAAAAAAAAAA";

/** One listener of a voter (KIP-853 `VotersRecord.Endpoints`). */
export interface VoterEndpoint {
  name: string;
  host: string;
  port: number;
}

/**
 * A voter as KIP-853 keeps it in `VotersRecord`: its replica key (id and the directory id of its
 * `metadata.log.dir`) and the controller endpoints it listens on. Static voters have the zero
 * directory id and no endpoints here.
 */
export interface Voter {
  id: NodeId;
  directoryId: string;
  endpoints: readonly VoterEndpoint[];
}

/** A voter from a bare id (static `controller.quorum.voters`). */
export function voterOf(id: NodeId): Voter {
  return { id, directoryId: ZERO_DIRECTORY_ID, endpoints: [] };
}

/**
 * Control records the core itself writes (KIP-595 `LeaderChangeMessage`, KIP-853 `VotersRecord`
 * and `KRaftVersionRecord`). The lead maps them onto the generated control-record codecs.
 */
export type ControlRecord =
  | { type: "leaderChange"; leaderId: NodeId; voters: NodeId[]; grantingVoters: NodeId[] }
  | { type: "voters"; voters: Voter[] }
  | { type: "kraftVersion"; kraftVersion: number };

/**
 * One entry of `__cluster_metadata-0`. Data entries carry opaque payload bytes (serialized
 * metadata records); control entries carry a `control` record and an empty payload.
 */
export interface LogEntry {
  offset: number;
  epoch: number;
  payload: Uint8Array;
  control?: ControlRecord;
}

/** The fields of the `quorum-state` file (KIP-595); fsynced before they are acted on. */
export interface QuorumStateData {
  leaderEpoch: number;
  leaderId: NodeId;
  votedId: NodeId;
}

/** Timing knobs, named after Kafka's `controller.quorum.*` settings. */
export interface RaftConfig {
  /** `controller.quorum.election.timeout.ms`: base of the randomized election timeout. */
  electionTimeoutMs: number;
  /** `controller.quorum.fetch.timeout.ms`: a follower without a leader response this long campaigns; a leader without majority fetches this long resigns. */
  fetchTimeoutMs: number;
  /** `controller.quorum.election.backoff.max.ms`: upper bound of the backoff after a lost election. */
  electionBackoffMaxMs: number;
  /** `controller.quorum.request.timeout.ms`: an unanswered request is retried after this. */
  requestTimeoutMs: number;
  /** `controller.quorum.append.linger.ms`: how long the leader batches proposals before appending. */
  appendLingerMs: number;
  /** `controller.quorum.retry.backoff.ms`: pause before retrying a failed Fetch. */
  retryBackoffMs: number;
  /** How long the leader parks a Fetch that has nothing new to return (Kafka uses 500 ms). */
  fetchMaxWaitMs: number;
  /** Bound on the bytes of records returned in one Fetch response. */
  fetchMaxBytes: number;
  /** Bound on the entries handed to the application in one `Ready`. */
  commitEntriesMax: number;
}

/** Kafka's defaults for the `controller.quorum.*` settings. */
export const DEFAULT_RAFT_CONFIG: Readonly<RaftConfig> = Object.freeze({
  electionTimeoutMs: 1000,
  fetchTimeoutMs: 2000,
  electionBackoffMaxMs: 1000,
  requestTimeoutMs: 2000,
  appendLingerMs: 25,
  retryBackoffMs: 20,
  fetchMaxWaitMs: 500,
  fetchMaxBytes: 1024 * 1024,
  commitEntriesMax: 1024,
});

/** Compares two log positions lexicographically by (epoch, offset); Raft §5.4.1 "up to date". */
export function compareOffsetAndEpoch(a: OffsetAndEpoch, b: OffsetAndEpoch): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

/** Approximate size of an entry for byte limits: payload plus a fixed per-record overhead. */
export function entrySizeBytes(entry: LogEntry): number {
  return entry.payload.byteLength + 24;
}
