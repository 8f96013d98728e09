/**
 * Plain TypeScript mirrors of the KRaft RPCs for `__cluster_metadata-0` (KIP-595, KIP-996,
 * KIP-853, KIP-630). Field names follow the Kafka JSON schemas in lowerCamelCase; the lead maps
 * them onto the generated wire codecs. Every message names its sender and receiver.
 *
 * @module
 */

import type { RaftErrorName } from "./errors.ts";
import type { LogEntry, NodeId, OffsetAndEpoch } from "./types.ts";

/** Who sent a message and who should receive it. */
export interface Envelope {
  from: NodeId;
  to: NodeId;
}

/** Vote (api key 52); `preVote` is KIP-996's flag: a non-binding poll that bumps no epoch. */
export interface VoteRequest extends Envelope {
  type: "VoteRequest";
  /** The epoch the candidate runs in; for a pre-vote, the epoch it would run in (current + 1). */
  candidateEpoch: number;
  candidateId: NodeId;
  candidateDirectoryId?: string;
  voterDirectoryId?: string;
  /** Epoch of the candidate's last log entry. */
  lastOffsetEpoch: number;
  /** The candidate's log end offset. */
  lastOffset: number;
  preVote: boolean;
}

/** The answer to a Vote; `leaderEpoch`/`leaderId` are the responder's view. */
export interface VoteResponse extends Envelope {
  type: "VoteResponse";
  errorCode: RaftErrorName;
  leaderEpoch: number;
  leaderId: NodeId;
  voteGranted: boolean;
  preVote: boolean;
}

/** BeginQuorumEpoch (api key 53): the new leader announces itself to the voters. */
export interface BeginQuorumEpochRequest extends Envelope {
  type: "BeginQuorumEpochRequest";
  leaderEpoch: number;
  leaderId: NodeId;
  voterDirectoryId?: string;
}

/** The answer to a BeginQuorumEpoch. */
export interface BeginQuorumEpochResponse extends Envelope {
  type: "BeginQuorumEpochResponse";
  errorCode: RaftErrorName;
  leaderEpoch: number;
  leaderId: NodeId;
}

/** EndQuorumEpoch (api key 54): a resigning leader names its preferred successors, best first. */
export interface EndQuorumEpochRequest extends Envelope {
  type: "EndQuorumEpochRequest";
  leaderEpoch: number;
  leaderId: NodeId;
  preferredSuccessors: NodeId[];
}

/** The answer to an EndQuorumEpoch. */
export interface EndQuorumEpochResponse extends Envelope {
  type: "EndQuorumEpochResponse";
  errorCode: RaftErrorName;
  leaderEpoch: number;
  leaderId: NodeId;
}

/**
 * Fetch (api key 1) for the metadata partition. A voter's `fetchOffset` doubles as its
 * acknowledgement: it is always the replica's durable (flushed) log end offset.
 */
export interface FetchRequest extends Envelope {
  type: "FetchRequest";
  /** Matches the response to the one fetch in flight; the wire correlation id. */
  correlationId: number;
  replicaId: NodeId;
  replicaDirectoryId?: string;
  /** The epoch the fetcher believes current (`CurrentLeaderEpoch`). */
  currentLeaderEpoch: number;
  fetchOffset: number;
  /** Epoch of the entry at `fetchOffset - 1` (0 for an empty log). */
  lastFetchedEpoch: number;
  logStartOffset: number;
  /** The fetcher's high watermark (KIP-1166): a leader with a newer one answers at once. */
  highWatermark: number;
  maxBytes: number;
  maxWaitMs: number;
}

/** The leader known to the responder (`CurrentLeader`). */
export interface LeaderIdAndEpoch {
  leaderId: NodeId;
  leaderEpoch: number;
}

/** The point where the fetcher's log diverges: truncate to `endOffset` of `epoch` (KIP-595). */
export interface DivergingEpoch {
  epoch: number;
  endOffset: number;
}

/** The answer to a Fetch: records (opaque entries), or where to truncate, or a snapshot to load. */
export interface FetchResponse extends Envelope {
  type: "FetchResponse";
  correlationId: number;
  errorCode: RaftErrorName;
  highWatermark: number;
  logStartOffset: number;
  records: LogEntry[];
  divergingEpoch: DivergingEpoch | null;
  currentLeader: LeaderIdAndEpoch;
  /** Set when the fetch offset is before the log start (KIP-630): fetch this snapshot instead. */
  snapshotId: OffsetAndEpoch | null;
}

/** Every message the raft core sends or receives. */
export type RaftMessage =
  | VoteRequest
  | VoteResponse
  | BeginQuorumEpochRequest
  | BeginQuorumEpochResponse
  | EndQuorumEpochRequest
  | EndQuorumEpochResponse
  | FetchRequest
  | FetchResponse;

/** The `type` tags of {@link RaftMessage}. */
export type RaftMessageType = RaftMessage["type"];
