/**
 * The KRaft RPCs of `__cluster_metadata-0` on the wire (KIP-595, KIP-853, KIP-630): Vote,
 * BeginQuorumEpoch, EndQuorumEpoch, Fetch and FetchSnapshot on the controller listener, and the
 * mapping between their Kafka 3.9 wire shapes and the raft core's messages (`core/raft`).
 *
 * Incoming requests are checked (cluster id, topic and partition), turned into core messages,
 * handed to a {@link RaftExchange} (the transport, which delivers them to the raft driver and
 * waits for the core's answer) and the answer is encoded back. The same module maps the core's
 * outgoing requests to wire requests and their wire responses back to core messages, so both
 * directions of one RPC live side by side.
 *
 * Two fields the core uses have no place in Kafka 3.9's schemas; they travel as kraftling-private
 * tagged fields, which Kafka ignores: the KIP-996 pre-vote flag (Kafka 4.0 adds it as Vote v2) and
 * the fetcher's high watermark (KIP-1166). Without them a peer sees a real vote, and a leader
 * parks a fetch it could have answered at once: safe, only slower.
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { UnknownTaggedField } from "../protocol/reader.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { METADATA_TOPIC_ID, ZERO_UUID } from "../protocol/uuid.ts";
import * as voteReq from "../protocol/generated/vote_request.ts";
import * as voteRes from "../protocol/generated/vote_response.ts";
import * as beginReq from "../protocol/generated/begin_quorum_epoch_request.ts";
import * as beginRes from "../protocol/generated/begin_quorum_epoch_response.ts";
import * as endReq from "../protocol/generated/end_quorum_epoch_request.ts";
import * as endRes from "../protocol/generated/end_quorum_epoch_response.ts";
import * as fetchReq from "../protocol/generated/fetch_request.ts";
import * as fetchRes from "../protocol/generated/fetch_response.ts";
import * as snapReq from "../protocol/generated/fetch_snapshot_request.ts";
import * as snapRes from "../protocol/generated/fetch_snapshot_response.ts";
import * as quorumRes from "../protocol/generated/describe_quorum_response.ts";
import type * as addVoterReq from "../protocol/generated/add_raft_voter_request.ts";
import * as addVoterRes from "../protocol/generated/add_raft_voter_response.ts";
import type * as removeVoterReq from "../protocol/generated/remove_raft_voter_request.ts";
import * as removeVoterRes from "../protocol/generated/remove_raft_voter_response.ts";
import type * as updateVoterReq from "../protocol/generated/update_raft_voter_request.ts";
import * as updateVoterRes from "../protocol/generated/update_raft_voter_response.ts";
import { RAFT_ERROR_CODES, type RaftErrorName } from "../../core/raft/errors.ts";
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  FetchRequest,
  FetchResponse,
  LeaderIdAndEpoch,
  VoteRequest,
  VoteResponse,
} from "../../core/raft/messages.ts";
import { NO_NODE, type NodeId, type OffsetAndEpoch, type Voter } from "../../core/raft/types.ts";
import { decodeEntries, encodeEntries } from "../../storage/raft/entries.ts";

/** The metadata topic's name (its id is `METADATA_TOPIC_ID`). */
export const METADATA_TOPIC_NAME = "__cluster_metadata";

/** The only partition of the metadata topic. */
export const METADATA_PARTITION_INDEX = 0;

/** kraftling-private tagged field of Vote's PartitionData: one byte, 1 for a KIP-996 pre-vote. */
export const PRE_VOTE_TAG = 10_001;

/** kraftling-private tagged field of Fetch's FetchPartition: the fetcher's high watermark (int64). */
export const FETCHER_HIGH_WATERMARK_TAG = 10_002;

/**
 * The versions served and used for each raft RPC: Kafka 3.9's ranges, except Fetch, which starts
 * at v12 (the first version with `LastFetchedEpoch`, without which KRaft cannot fetch).
 */
export const RAFT_API_VERSIONS: ReadonlyMap<number, { min: number; max: number }> = new Map([
  [ApiKey.VOTE, { min: 0, max: 1 }],
  [ApiKey.BEGIN_QUORUM_EPOCH, { min: 0, max: 1 }],
  [ApiKey.END_QUORUM_EPOCH, { min: 0, max: 1 }],
  [ApiKey.FETCH, { min: 12, max: 17 }],
  [ApiKey.FETCH_SNAPSHOT, { min: 0, max: 1 }],
]);

/** A raft request the core sends or receives. */
export type RaftRequest =
  | VoteRequest
  | BeginQuorumEpochRequest
  | EndQuorumEpochRequest
  | FetchRequest;

/** A raft response the core sends or receives. */
export type RaftResponse =
  | VoteResponse
  | BeginQuorumEpochResponse
  | EndQuorumEpochResponse
  | FetchResponse;

/** The api key of each raft request type. */
export const RAFT_REQUEST_API_KEYS: Readonly<Record<RaftRequest["type"], number>> = Object.freeze({
  VoteRequest: ApiKey.VOTE,
  BeginQuorumEpochRequest: ApiKey.BEGIN_QUORUM_EPOCH,
  EndQuorumEpochRequest: ApiKey.END_QUORUM_EPOCH,
  FetchRequest: ApiKey.FETCH,
});

/** Where a quorum member listens on the controller listener. */
export interface RaftEndpoint {
  nodeId: NodeId;
  host: string;
  port: number;
}

/**
 * The transport's side of incoming requests: hands a core request to the raft driver and
 * resolves with the core's answer, or null when none came within `timeoutMs`.
 */
export interface RaftExchange {
  readonly nodeId: NodeId;
  /** This replica's directory id (KIP-853 replica key), when it has one. */
  readonly directoryId?: string;
  exchange(request: RaftRequest, timeoutMs: number): Promise<RaftResponse | null>;
  /** The leader this node knows, for answers that do not reach the core. */
  currentLeader(): LeaderIdAndEpoch;
  /** The controller endpoint of a quorum member, when known (for `NodeEndpoints`). */
  endpointOf(nodeId: NodeId): RaftEndpoint | undefined;
  /**
   * A chunk of this replica's snapshot `snapshotId` from byte `position` (KIP-630 FetchSnapshot),
   * or null when it does not have that snapshot. Absent: no snapshot is ever served.
   */
  readSnapshotChunk?(
    snapshotId: OffsetAndEpoch,
    position: number,
    maxBytes: number,
  ): Promise<SnapshotChunkData | null>;
}

/** A chunk of a snapshot file as FetchSnapshot carries it. */
export interface SnapshotChunkData {
  /** The whole snapshot's size. */
  sizeBytes: number;
  position: number;
  bytes: Uint8Array;
}

/** Bound on the bytes of one FetchSnapshot answer. */
export const SNAPSHOT_CHUNK_BYTES_MAX = 1024 * 1024;

/** Options of {@link registerRaftHandlers}. */
export interface RaftHandlerOptions {
  exchange: RaftExchange;
  clusterId: string;
  /** `controller.quorum.request.timeout.ms`: bound on waiting for the core's answer. */
  requestTimeoutMs: number;
  /** The controller listener's name, advertised in `LeaderEndpoints`/`NodeEndpoints`. */
  listenerName: string;
}

/** Longest long-poll honoured when bounding a parked Fetch, in milliseconds. */
const FETCH_WAIT_MAX_MS = 10_000;

// ---- small helpers ------------------------------------------------------------------------

/** The Kafka error code of a raft error name. */
export function raftErrorCode(name: RaftErrorName): number {
  return RAFT_ERROR_CODES[name];
}

const RAFT_ERROR_NAMES = new Map<number, RaftErrorName>(
  Object.entries(RAFT_ERROR_CODES).map(([name, code]) => [code, name as RaftErrorName]),
);

/** The raft error name of a Kafka error code (codes the core does not know: UNKNOWN_SERVER_ERROR). */
export function raftErrorName(code: number): RaftErrorName {
  return RAFT_ERROR_NAMES.get(code) ?? "UNKNOWN_SERVER_ERROR";
}

function clusterIdMatches(ours: string, theirs: string | null): boolean {
  // Kafka accepts a null cluster id (older peers) and rejects any other mismatch.
  return theirs === null || theirs === ours;
}

function toOffset(value: bigint): number | null {
  return value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}

function taggedValue(fields: readonly UnknownTaggedField[], tag: number): Uint8Array | null {
  return fields.find((f) => f.tag === tag)?.data ?? null;
}

function preVoteField(): UnknownTaggedField[] {
  return [{ tag: PRE_VOTE_TAG, data: Uint8Array.of(1) }];
}

function highWatermarkField(highWatermark: number): UnknownTaggedField[] {
  return [{
    tag: FETCHER_HIGH_WATERMARK_TAG,
    data: new Writer(8).int64(BigInt(highWatermark)).finish(),
  }];
}

function readHighWatermarkField(fields: readonly UnknownTaggedField[]): number {
  const data = taggedValue(fields, FETCHER_HIGH_WATERMARK_TAG);
  if (data === null || data.length !== 8) return Number.MAX_SAFE_INTEGER;
  return toOffset(new Reader(data).int64()) ?? Number.MAX_SAFE_INTEGER;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The single metadata partition of a request's topics, or null when the shape is otherwise. */
function singlePartition<P extends { partitionIndex: number }>(
  topics: readonly { topicName: string; partitions: readonly P[] }[],
): P | null {
  if (topics.length !== 1 || topics[0]!.topicName !== METADATA_TOPIC_NAME) return null;
  const partitions = topics[0]!.partitions;
  if (partitions.length !== 1 || partitions[0]!.partitionIndex !== METADATA_PARTITION_INDEX) {
    return null;
  }
  return partitions[0]!;
}

function leaderEndpointsOf(
  exchange: RaftExchange,
  leaderId: NodeId,
): { nodeId: number; host: string; port: number; _unknownTaggedFields: [] }[] {
  const endpoint = leaderId === NO_NODE ? undefined : exchange.endpointOf(leaderId);
  return endpoint
    ? [{
      nodeId: endpoint.nodeId,
      host: endpoint.host,
      port: endpoint.port,
      _unknownTaggedFields: [],
    }]
    : [];
}

// ---- outgoing: core request -> wire request, wire response -> core response ---------------

/** What {@link raftRequestToWire} needs besides the request. */
export interface WireRequestOptions {
  clusterId: string;
  version: number;
  listenerName: string;
  /** This node's own controller endpoint (for `LeaderEndpoints`), when it has one. */
  self?: RaftEndpoint;
}

/**
 * Encodes a core request as the body of its Kafka request at `version`.
 *
 * @example
 * ```ts
 * import { raftRequestToWire } from "./raft_rpcs.ts";
 * const { apiKey, body } = raftRequestToWire(
 *   { type: "BeginQuorumEpochRequest", from: 1, to: 2, leaderEpoch: 3, leaderId: 1 },
 *   { clusterId: "MkU3OEVBNTcwNTJENDM2Qg", version: 1, listenerName: "CONTROLLER" },
 * );
 * apiKey; // 53
 * ```
 */
export function raftRequestToWire(
  request: RaftRequest,
  options: WireRequestOptions,
): { apiKey: number; body: Record<string, unknown> } {
  const { clusterId, version } = options;
  const leaderEndpoints = version >= 1 && options.self
    ? [{
      name: options.listenerName,
      host: options.self.host,
      port: options.self.port,
      _unknownTaggedFields: [],
    }]
    : [];
  switch (request.type) {
    case "VoteRequest":
      return {
        apiKey: ApiKey.VOTE,
        body: voteReq.createVoteRequest({
          clusterId,
          voterId: version >= 1 ? request.to : -1,
          topics: [voteReq.createTopicData({
            topicName: METADATA_TOPIC_NAME,
            partitions: [voteReq.createPartitionData({
              partitionIndex: METADATA_PARTITION_INDEX,
              candidateEpoch: request.candidateEpoch,
              candidateId: request.candidateId,
              candidateDirectoryId: request.candidateDirectoryId ?? ZERO_UUID,
              voterDirectoryId: request.voterDirectoryId ?? ZERO_UUID,
              lastOffsetEpoch: request.lastOffsetEpoch,
              lastOffset: BigInt(request.lastOffset),
              _unknownTaggedFields: request.preVote ? preVoteField() : [],
            })],
          })],
        }) as unknown as Record<string, unknown>,
      };
    case "BeginQuorumEpochRequest":
      return {
        apiKey: ApiKey.BEGIN_QUORUM_EPOCH,
        body: beginReq.createBeginQuorumEpochRequest({
          clusterId,
          voterId: version >= 1 ? request.to : -1,
          topics: [beginReq.createTopicData({
            topicName: METADATA_TOPIC_NAME,
            partitions: [beginReq.createPartitionData({
              partitionIndex: METADATA_PARTITION_INDEX,
              leaderId: request.leaderId,
              leaderEpoch: request.leaderEpoch,
            })],
          })],
          leaderEndpoints,
        }) as unknown as Record<string, unknown>,
      };
    case "EndQuorumEpochRequest":
      return {
        apiKey: ApiKey.END_QUORUM_EPOCH,
        body: endReq.createEndQuorumEpochRequest({
          clusterId,
          topics: [endReq.createTopicData({
            topicName: METADATA_TOPIC_NAME,
            partitions: [endReq.createPartitionData({
              partitionIndex: METADATA_PARTITION_INDEX,
              leaderId: request.leaderId,
              leaderEpoch: request.leaderEpoch,
              preferredSuccessors: version === 0 ? [...request.preferredSuccessors] : [],
              preferredCandidates: version >= 1
                ? request.preferredSuccessors.map((candidateId) =>
                  endReq.createReplicaInfo({ candidateId, candidateDirectoryId: ZERO_UUID })
                )
                : [],
            })],
          })],
          leaderEndpoints,
        }) as unknown as Record<string, unknown>,
      };
    case "FetchRequest":
      return { apiKey: ApiKey.FETCH, body: fetchRequestToWire(request, clusterId, version) };
  }
}

function fetchRequestToWire(
  request: FetchRequest,
  clusterId: string,
  version: number,
): Record<string, unknown> {
  return fetchReq.createFetchRequest({
    clusterId,
    replicaId: version <= 14 ? request.replicaId : -1,
    replicaState: fetchReq.createReplicaState({
      replicaId: version >= 15 ? request.replicaId : -1,
      replicaEpoch: -1n,
    }),
    maxWaitMs: request.maxWaitMs,
    minBytes: 1,
    maxBytes: request.maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [fetchReq.createFetchTopic({
      topic: version <= 12 ? METADATA_TOPIC_NAME : "",
      topicId: version >= 13 ? METADATA_TOPIC_ID : ZERO_UUID,
      partitions: [fetchReq.createFetchPartition({
        partition: METADATA_PARTITION_INDEX,
        currentLeaderEpoch: request.currentLeaderEpoch,
        fetchOffset: BigInt(request.fetchOffset),
        lastFetchedEpoch: request.lastFetchedEpoch,
        logStartOffset: BigInt(request.logStartOffset),
        partitionMaxBytes: request.maxBytes,
        replicaDirectoryId: request.replicaDirectoryId ?? ZERO_UUID,
        _unknownTaggedFields: highWatermarkField(request.highWatermark),
      })],
    })],
  }) as unknown as Record<string, unknown>;
}

/**
 * Decodes the wire response to `request` into the core's response (from the peer, to us), or
 * null when the peer refused the request as a whole (top-level error such as
 * INCONSISTENT_CLUSTER_ID) or answered in a shape the core cannot use.
 */
export function raftResponseFromWire(request: RaftRequest, body: unknown): RaftResponse | null {
  const top = body as { errorCode?: number };
  if (top.errorCode !== undefined && top.errorCode !== ErrorCode.NONE) return null;
  const envelope = { from: request.to, to: request.from };
  switch (request.type) {
    case "VoteRequest": {
      const p = singlePartition((body as voteRes.VoteResponse).topics);
      if (p === null) return null;
      return {
        type: "VoteResponse",
        ...envelope,
        errorCode: raftErrorName(p.errorCode),
        leaderEpoch: p.leaderEpoch,
        leaderId: p.leaderId,
        voteGranted: p.voteGranted,
        preVote: request.preVote,
      };
    }
    case "BeginQuorumEpochRequest":
    case "EndQuorumEpochRequest": {
      const response = body as beginRes.BeginQuorumEpochResponse | endRes.EndQuorumEpochResponse;
      const p = singlePartition(response.topics);
      if (p === null) return null;
      return {
        type: request.type === "BeginQuorumEpochRequest"
          ? "BeginQuorumEpochResponse"
          : "EndQuorumEpochResponse",
        ...envelope,
        errorCode: raftErrorName(p.errorCode),
        leaderEpoch: p.leaderEpoch,
        leaderId: p.leaderId,
      };
    }
    case "FetchRequest":
      return fetchResponseFromWire(request, body as fetchRes.FetchResponse);
  }
}

function fetchResponseFromWire(
  request: FetchRequest,
  response: fetchRes.FetchResponse,
): FetchResponse | null {
  const topic = response.responses.find((t) =>
    t.topicId === METADATA_TOPIC_ID || t.topic === METADATA_TOPIC_NAME
  );
  const p = topic?.partitions.find((x) => x.partitionIndex === METADATA_PARTITION_INDEX);
  if (p === undefined) return null;
  const highWatermark = toOffset(p.highWatermark);
  if (highWatermark === null) return null;
  const diverging = p.divergingEpoch.epoch >= 0 ? toOffset(p.divergingEpoch.endOffset) : null;
  const snapshotEnd = p.snapshotId.epoch >= 0 ? toOffset(p.snapshotId.endOffset) : null;
  return {
    type: "FetchResponse",
    from: request.to,
    to: request.from,
    correlationId: request.correlationId,
    errorCode: raftErrorName(p.errorCode),
    highWatermark,
    logStartOffset: toOffset(p.logStartOffset) ?? 0,
    records: p.records !== null && p.records.length > 0 ? decodeEntries(p.records) : [],
    divergingEpoch: diverging === null
      ? null
      : { epoch: p.divergingEpoch.epoch, endOffset: diverging },
    currentLeader: {
      leaderId: p.currentLeader.leaderId,
      leaderEpoch: p.currentLeader.leaderEpoch,
    },
    snapshotId: snapshotEnd === null ? null : { offset: snapshotEnd, epoch: p.snapshotId.epoch },
  };
}

/** The endpoints a response names (`NodeEndpoints`, v1+ / Fetch v16+), for observers to learn. */
export function nodeEndpointsOf(body: unknown): RaftEndpoint[] {
  const endpoints = (body as { nodeEndpoints?: { nodeId: number; host: string; port: number }[] })
    .nodeEndpoints ?? [];
  return endpoints.map((e) => ({ nodeId: e.nodeId, host: e.host, port: e.port }));
}

// ---- incoming: wire request -> core request, core response -> wire response ---------------

/**
 * Registers Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch (the metadata partition only) and
 * FetchSnapshot on a controller listener's dispatcher, at {@link RAFT_API_VERSIONS}.
 *
 * @example
 * ```ts ignore
 * const transport = new KafkaRaftTransport({ ... });
 * registerRaftHandlers(dispatcher, { exchange: transport, clusterId, requestTimeoutMs: 2000, listenerName: "CONTROLLER" });
 * ```
 */
export function registerRaftHandlers(dispatcher: Dispatcher, options: RaftHandlerOptions): void {
  const range = (apiKey: number) => {
    const r = RAFT_API_VERSIONS.get(apiKey)!;
    return { minVersion: r.min, maxVersion: r.max };
  };
  dispatcher.register<voteReq.VoteRequest, voteRes.VoteResponse>(ApiKey.VOTE, {
    ...range(ApiKey.VOTE),
    handle: (request, ctx) => handleVote(request, ctx.apiVersion, options),
  });
  dispatcher.register<beginReq.BeginQuorumEpochRequest, beginRes.BeginQuorumEpochResponse>(
    ApiKey.BEGIN_QUORUM_EPOCH,
    {
      ...range(ApiKey.BEGIN_QUORUM_EPOCH),
      handle: (request, ctx) => handleBeginQuorumEpoch(request, ctx.apiVersion, options),
    },
  );
  dispatcher.register<endReq.EndQuorumEpochRequest, endRes.EndQuorumEpochResponse>(
    ApiKey.END_QUORUM_EPOCH,
    {
      ...range(ApiKey.END_QUORUM_EPOCH),
      handle: (request) => handleEndQuorumEpoch(request, options),
    },
  );
  dispatcher.register<fetchReq.FetchRequest, fetchRes.FetchResponse>(ApiKey.FETCH, {
    ...range(ApiKey.FETCH),
    handle: (request, ctx) => handleFetch(request, ctx.apiVersion, options),
  });
  dispatcher.register<snapReq.FetchSnapshotRequest, snapRes.FetchSnapshotResponse>(
    ApiKey.FETCH_SNAPSHOT,
    {
      ...range(ApiKey.FETCH_SNAPSHOT),
      handle: (request) => handleFetchSnapshot(request, options),
    },
  );
}

/** Answers a Vote (KIP-595; KIP-996 pre-votes through {@link PRE_VOTE_TAG}). */
export async function handleVote(
  request: voteReq.VoteRequest,
  version: number,
  options: RaftHandlerOptions,
): Promise<voteRes.VoteResponse> {
  const { exchange } = options;
  const refuse = (errorCode: number) => voteRes.createVoteResponse({ errorCode });
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return refuse(ErrorCode.INCONSISTENT_CLUSTER_ID);
  }
  const p = singlePartition(request.topics);
  const lastOffset = p === null ? null : toOffset(p.lastOffset);
  if (p === null || lastOffset === null || p.candidateId < 0) {
    return refuse(ErrorCode.INVALID_REQUEST);
  }
  const answer = (
    errorCode: number,
    leader: LeaderIdAndEpoch,
    voteGranted: boolean,
  ): voteRes.VoteResponse =>
    voteRes.createVoteResponse({
      topics: [voteRes.createTopicData({
        topicName: METADATA_TOPIC_NAME,
        partitions: [voteRes.createPartitionData({
          partitionIndex: METADATA_PARTITION_INDEX,
          errorCode,
          leaderId: leader.leaderId,
          leaderEpoch: leader.leaderEpoch,
          voteGranted,
        })],
      })],
      nodeEndpoints: version >= 1 ? leaderEndpointsOf(exchange, leader.leaderId) : [],
    });
  const ownDirectoryId = exchange.directoryId ?? ZERO_UUID;
  const wrongDirectory = version >= 1 && p.voterDirectoryId !== ZERO_UUID &&
    ownDirectoryId !== ZERO_UUID && p.voterDirectoryId !== ownDirectoryId;
  if (
    version >= 1 &&
    ((request.voterId >= 0 && request.voterId !== exchange.nodeId) || wrongDirectory)
  ) {
    // KIP-853: the vote was meant for another replica key (id and directory id).
    return answer(ErrorCode.INVALID_VOTER_KEY, exchange.currentLeader(), false);
  }
  const preVote = taggedValue(p._unknownTaggedFields, PRE_VOTE_TAG)?.[0] === 1;
  const response = await exchange.exchange({
    type: "VoteRequest",
    from: p.candidateId,
    to: exchange.nodeId,
    candidateEpoch: p.candidateEpoch,
    candidateId: p.candidateId,
    ...(p.candidateDirectoryId !== ZERO_UUID
      ? { candidateDirectoryId: p.candidateDirectoryId }
      : {}),
    ...(p.voterDirectoryId !== ZERO_UUID ? { voterDirectoryId: p.voterDirectoryId } : {}),
    lastOffsetEpoch: p.lastOffsetEpoch,
    lastOffset,
    preVote,
  }, options.requestTimeoutMs);
  if (response === null || response.type !== "VoteResponse") {
    return refuse(ErrorCode.REQUEST_TIMED_OUT);
  }
  return answer(
    raftErrorCode(response.errorCode),
    { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch },
    response.voteGranted,
  );
}

/** The answer shared by BeginQuorumEpoch and EndQuorumEpoch. */
function quorumEpochAnswer(
  errorCode: number,
  leader: LeaderIdAndEpoch,
  endpoints: ReturnType<typeof leaderEndpointsOf>,
): beginRes.BeginQuorumEpochResponse {
  return beginRes.createBeginQuorumEpochResponse({
    topics: [beginRes.createTopicData({
      topicName: METADATA_TOPIC_NAME,
      partitions: [beginRes.createPartitionData({
        partitionIndex: METADATA_PARTITION_INDEX,
        errorCode,
        leaderId: leader.leaderId,
        leaderEpoch: leader.leaderEpoch,
      })],
    })],
    nodeEndpoints: endpoints,
  });
}

/** Answers a BeginQuorumEpoch: a new leader announces itself (KIP-595). */
export async function handleBeginQuorumEpoch(
  request: beginReq.BeginQuorumEpochRequest,
  version: number,
  options: RaftHandlerOptions,
): Promise<beginRes.BeginQuorumEpochResponse> {
  const { exchange } = options;
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return beginRes.createBeginQuorumEpochResponse({
      errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID,
    });
  }
  const p = singlePartition(request.topics);
  // A leader never announces itself to itself: such a request is bad input, not a new epoch.
  if (p === null || p.leaderId < 0 || p.leaderId === exchange.nodeId) {
    return beginRes.createBeginQuorumEpochResponse({ errorCode: ErrorCode.INVALID_REQUEST });
  }
  if (version >= 1 && request.voterId >= 0 && request.voterId !== exchange.nodeId) {
    const leader = exchange.currentLeader();
    return quorumEpochAnswer(
      ErrorCode.INVALID_VOTER_KEY,
      leader,
      leaderEndpointsOf(exchange, leader.leaderId),
    );
  }
  const response = await exchange.exchange({
    type: "BeginQuorumEpochRequest",
    from: p.leaderId,
    to: exchange.nodeId,
    leaderEpoch: p.leaderEpoch,
    leaderId: p.leaderId,
  }, options.requestTimeoutMs);
  if (response === null || response.type !== "BeginQuorumEpochResponse") {
    return beginRes.createBeginQuorumEpochResponse({ errorCode: ErrorCode.REQUEST_TIMED_OUT });
  }
  const leader = { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch };
  return quorumEpochAnswer(
    raftErrorCode(response.errorCode),
    leader,
    version >= 1 ? leaderEndpointsOf(exchange, leader.leaderId) : [],
  );
}

/** Answers an EndQuorumEpoch: the leader resigns and names its preferred successors (KIP-595). */
export async function handleEndQuorumEpoch(
  request: endReq.EndQuorumEpochRequest,
  options: RaftHandlerOptions,
): Promise<endRes.EndQuorumEpochResponse> {
  const { exchange } = options;
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return endRes.createEndQuorumEpochResponse({ errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
  }
  const p = singlePartition(request.topics);
  if (p === null || p.leaderId < 0 || p.leaderId === exchange.nodeId) {
    return endRes.createEndQuorumEpochResponse({ errorCode: ErrorCode.INVALID_REQUEST });
  }
  const successors = p.preferredCandidates.length > 0
    ? p.preferredCandidates.map((c) => c.candidateId)
    : p.preferredSuccessors;
  const response = await exchange.exchange({
    type: "EndQuorumEpochRequest",
    from: p.leaderId,
    to: exchange.nodeId,
    leaderEpoch: p.leaderEpoch,
    leaderId: p.leaderId,
    preferredSuccessors: [...successors],
  }, options.requestTimeoutMs);
  if (response === null || response.type !== "EndQuorumEpochResponse") {
    return endRes.createEndQuorumEpochResponse({ errorCode: ErrorCode.REQUEST_TIMED_OUT });
  }
  const leader = { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch };
  // Same wire shape as BeginQuorumEpochResponse.
  return quorumEpochAnswer(
    raftErrorCode(response.errorCode),
    leader,
    leaderEndpointsOf(exchange, leader.leaderId),
  ) as unknown as endRes.EndQuorumEpochResponse;
}

function isMetadataTopic(topic: fetchReq.FetchTopic, version: number): boolean {
  return version >= 13 ? topic.topicId === METADATA_TOPIC_ID : topic.topic === METADATA_TOPIC_NAME;
}

/**
 * Answers a Fetch of `__cluster_metadata-0` by a voter or observer (KIP-595); every other
 * partition gets UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for an unknown topic id).
 */
export async function handleFetch(
  request: fetchReq.FetchRequest,
  version: number,
  options: RaftHandlerOptions,
): Promise<fetchRes.FetchResponse> {
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return fetchRes.createFetchResponse({ errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
  }
  const responses: fetchRes.FetchableTopicResponse[] = [];
  let metadata: { topic: fetchReq.FetchTopic; partition: fetchReq.FetchPartition } | null = null;
  for (const topic of request.topics) {
    const ours = isMetadataTopic(topic, version);
    const partitions: fetchRes.PartitionData[] = [];
    for (const partition of topic.partitions) {
      if (ours && partition.partition === METADATA_PARTITION_INDEX && metadata === null) {
        metadata = { topic, partition };
        continue;
      }
      partitions.push(fetchRes.createPartitionData({
        partitionIndex: partition.partition,
        errorCode: ours || version < 13
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : ErrorCode.UNKNOWN_TOPIC_ID,
        highWatermark: -1n,
        records: new Uint8Array(0),
      }));
    }
    if (partitions.length > 0) {
      responses.push(fetchRes.createFetchableTopicResponse({
        topic: version <= 12 ? topic.topic : "",
        topicId: version >= 13 ? topic.topicId : ZERO_UUID,
        partitions,
      }));
    }
  }
  let nodeEndpoints: fetchRes.NodeEndpoint[] = [];
  if (metadata !== null) {
    const answered = await fetchMetadataPartition(request, metadata.partition, version, options);
    responses.unshift(fetchRes.createFetchableTopicResponse({
      topic: version <= 12 ? METADATA_TOPIC_NAME : "",
      topicId: version >= 13 ? METADATA_TOPIC_ID : ZERO_UUID,
      partitions: [answered.partition],
    }));
    if (version >= 16) {
      nodeEndpoints = leaderEndpointsOf(options.exchange, answered.leaderId).map((e) =>
        fetchRes.createNodeEndpoint({ nodeId: e.nodeId, host: e.host, port: e.port })
      );
    }
  }
  return fetchRes.createFetchResponse({ responses, nodeEndpoints });
}

async function fetchMetadataPartition(
  request: fetchReq.FetchRequest,
  partition: fetchReq.FetchPartition,
  version: number,
  options: RaftHandlerOptions,
): Promise<{ partition: fetchRes.PartitionData; leaderId: NodeId }> {
  const { exchange } = options;
  const replicaId = version >= 15 ? request.replicaState.replicaId : request.replicaId;
  const fetchOffset = toOffset(partition.fetchOffset);
  const failed = (errorCode: number) => {
    const leader = exchange.currentLeader();
    return {
      partition: fetchRes.createPartitionData({
        partitionIndex: METADATA_PARTITION_INDEX,
        errorCode,
        highWatermark: -1n,
        currentLeader: fetchRes.createLeaderIdAndEpoch(leader),
        records: new Uint8Array(0),
      }),
      leaderId: leader.leaderId,
    };
  };
  if (fetchOffset === null || partition.lastFetchedEpoch < 0) {
    return failed(ErrorCode.INVALID_REQUEST);
  }
  const maxWaitMs = Math.max(0, Math.min(request.maxWaitMs, FETCH_WAIT_MAX_MS));
  const partitionMaxBytes = partition.partitionMaxBytes > 0
    ? partition.partitionMaxBytes
    : Infinity;
  const response = await exchange.exchange({
    type: "FetchRequest",
    from: replicaId,
    to: exchange.nodeId,
    correlationId: 0, // the exchange assigns its own
    replicaId,
    replicaDirectoryId: partition.replicaDirectoryId,
    currentLeaderEpoch: partition.currentLeaderEpoch,
    fetchOffset,
    lastFetchedEpoch: partition.lastFetchedEpoch,
    logStartOffset: toOffset(partition.logStartOffset) ?? 0,
    highWatermark: readHighWatermarkField(partition._unknownTaggedFields),
    maxBytes: Math.max(1, Math.min(request.maxBytes, partitionMaxBytes)),
    maxWaitMs,
  }, maxWaitMs + options.requestTimeoutMs);
  if (response === null || response.type !== "FetchResponse") {
    return failed(ErrorCode.REQUEST_TIMED_OUT);
  }
  return { partition: fetchResponseToWire(response), leaderId: response.currentLeader.leaderId };
}

/** Encodes the core's Fetch answer as the metadata partition's wire data. */
export function fetchResponseToWire(response: FetchResponse): fetchRes.PartitionData {
  return fetchRes.createPartitionData({
    partitionIndex: METADATA_PARTITION_INDEX,
    errorCode: raftErrorCode(response.errorCode),
    highWatermark: BigInt(response.highWatermark),
    logStartOffset: BigInt(response.logStartOffset),
    divergingEpoch: response.divergingEpoch
      ? fetchRes.createEpochEndOffset({
        epoch: response.divergingEpoch.epoch,
        endOffset: BigInt(response.divergingEpoch.endOffset),
      })
      : fetchRes.createEpochEndOffset(),
    currentLeader: fetchRes.createLeaderIdAndEpoch(response.currentLeader),
    snapshotId: response.snapshotId
      ? fetchRes.createSnapshotId({
        endOffset: BigInt(response.snapshotId.offset),
        epoch: response.snapshotId.epoch,
      })
      : fetchRes.createSnapshotId(),
    records: response.records.length > 0
      ? concat(encodeEntries(response.records, Date.now()))
      : new Uint8Array(0),
  });
}

/**
 * Answers FetchSnapshot (KIP-630) as the leader: a chunk of the requested snapshot file from
 * `Position`, at most {@link SNAPSHOT_CHUNK_BYTES_MAX} and the request's `MaxBytes`. A non-leader
 * answers NOT_LEADER_OR_FOLLOWER, a stale or future epoch FENCED_LEADER_EPOCH or
 * UNKNOWN_LEADER_EPOCH, a snapshot it does not hold SNAPSHOT_NOT_FOUND and a position past the
 * end POSITION_OUT_OF_RANGE.
 */
export async function handleFetchSnapshot(
  request: snapReq.FetchSnapshotRequest,
  options: RaftHandlerOptions,
): Promise<snapRes.FetchSnapshotResponse> {
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return snapRes.createFetchSnapshotResponse({ errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID });
  }
  const { exchange } = options;
  const leader = exchange.currentLeader();
  const maxBytes = Math.max(0, Math.min(request.maxBytes, SNAPSHOT_CHUNK_BYTES_MAX));
  const answer = async (
    p: snapReq.PartitionSnapshot,
    isMetadata: boolean,
  ): Promise<snapRes.PartitionSnapshot> => {
    const base = {
      index: p.partition,
      snapshotId: snapRes.createSnapshotId({
        endOffset: p.snapshotId.endOffset,
        epoch: p.snapshotId.epoch,
      }),
      currentLeader: snapRes.createLeaderIdAndEpoch(leader),
      unalignedRecords: new Uint8Array(0),
    };
    const refuse = (errorCode: number) => snapRes.createPartitionSnapshot({ ...base, errorCode });
    if (!isMetadata) return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (leader.leaderId !== exchange.nodeId) return refuse(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (p.currentLeaderEpoch < leader.leaderEpoch) return refuse(ErrorCode.FENCED_LEADER_EPOCH);
    if (p.currentLeaderEpoch > leader.leaderEpoch) return refuse(ErrorCode.UNKNOWN_LEADER_EPOCH);
    const endOffset = toOffset(p.snapshotId.endOffset);
    const position = toOffset(p.position);
    if (endOffset === null || position === null || p.snapshotId.epoch < 0) {
      return refuse(ErrorCode.INVALID_REQUEST);
    }
    const id = { offset: endOffset, epoch: p.snapshotId.epoch };
    const chunk = await exchange.readSnapshotChunk?.(id, position, maxBytes) ?? null;
    if (chunk === null) return refuse(ErrorCode.SNAPSHOT_NOT_FOUND);
    if (position > chunk.sizeBytes) return refuse(ErrorCode.POSITION_OUT_OF_RANGE);
    return snapRes.createPartitionSnapshot({
      ...base,
      errorCode: ErrorCode.NONE,
      size: BigInt(chunk.sizeBytes),
      position: BigInt(chunk.position),
      unalignedRecords: chunk.bytes,
    });
  };
  const topics: snapRes.TopicSnapshot[] = [];
  for (const topic of request.topics) {
    const partitions: snapRes.PartitionSnapshot[] = [];
    for (const p of topic.partitions) {
      const isMetadata = topic.name === METADATA_TOPIC_NAME &&
        p.partition === METADATA_PARTITION_INDEX;
      partitions.push(await answer(p, isMetadata));
    }
    topics.push(snapRes.createTopicSnapshot({ name: topic.name, partitions }));
  }
  return snapRes.createFetchSnapshotResponse({ topics });
}

/** One chunk request of a follower fetching the leader's snapshot. */
export interface SnapshotChunkQuery {
  replicaId: NodeId;
  snapshotId: OffsetAndEpoch;
  currentLeaderEpoch: number;
  position: number;
  maxBytes: number;
}

/**
 * Encodes a FetchSnapshot request for the metadata partition.
 *
 * @example
 * ```ts
 * import { fetchSnapshotRequestToWire } from "./raft_rpcs.ts";
 * const body = fetchSnapshotRequestToWire(
 *   { replicaId: 4, snapshotId: { offset: 10, epoch: 2 }, currentLeaderEpoch: 3, position: 0, maxBytes: 1024 },
 *   "MkU3OEVBNTcwNTJENDM2Qg",
 * );
 * body.topics[0]!.partitions[0]!.position; // 0n
 * ```
 */
export function fetchSnapshotRequestToWire(
  query: SnapshotChunkQuery,
  clusterId: string,
): snapReq.FetchSnapshotRequest {
  return snapReq.createFetchSnapshotRequest({
    clusterId,
    replicaId: query.replicaId,
    maxBytes: query.maxBytes,
    topics: [snapReq.createTopicSnapshot({
      name: METADATA_TOPIC_NAME,
      partitions: [snapReq.createPartitionSnapshot({
        partition: METADATA_PARTITION_INDEX,
        currentLeaderEpoch: query.currentLeaderEpoch,
        snapshotId: snapReq.createSnapshotId({
          endOffset: BigInt(query.snapshotId.offset),
          epoch: query.snapshotId.epoch,
        }),
        position: BigInt(query.position),
      })],
    })],
  });
}

/** Decodes a FetchSnapshot response into a chunk, or the reason there is none. */
export function fetchSnapshotResponseFromWire(
  query: SnapshotChunkQuery,
  body: unknown,
): { ok: true; chunk: SnapshotChunkData } | { ok: false; error: string } {
  const response = body as snapRes.FetchSnapshotResponse;
  if (response.errorCode !== ErrorCode.NONE) {
    return { ok: false, error: `FetchSnapshot failed with error ${response.errorCode}` };
  }
  const topic = response.topics?.find((t) => t.name === METADATA_TOPIC_NAME);
  const p = topic?.partitions.find((x) => x.index === METADATA_PARTITION_INDEX);
  if (p === undefined) return { ok: false, error: "FetchSnapshot answered another partition" };
  if (p.errorCode !== ErrorCode.NONE) {
    return { ok: false, error: `FetchSnapshot failed with error ${p.errorCode}` };
  }
  const sizeBytes = toOffset(p.size);
  const position = toOffset(p.position);
  const sameId = p.snapshotId.endOffset === BigInt(query.snapshotId.offset) &&
    p.snapshotId.epoch === query.snapshotId.epoch;
  if (sizeBytes === null || position === null || !sameId) {
    return { ok: false, error: "FetchSnapshot answered another snapshot or a bad position" };
  }
  return { ok: true, chunk: { sizeBytes, position, bytes: p.unalignedRecords } };
}

// ---- DescribeQuorum -----------------------------------------------------------------------

/** What the leader knows of one replica's fetching (KIP-836 `ReplicaState`). */
export interface ReplicaProgress {
  /** The directory id it fetched with (KIP-853), when known. */
  directoryId?: string;
  logEndOffset: number;
  lastFetchTimestampMs: number;
  lastCaughtUpTimestampMs: number;
}

/** The raft replica's state DescribeQuorum reports; `RaftDriver` satisfies it. */
export interface QuorumStatus {
  readonly nodeId: NodeId;
  readonly leaderId: NodeId;
  readonly epoch: number;
  readonly highWatermark: number;
  readonly endOffset: number;
  readonly voters: ReadonlySet<NodeId>;
  /** KIP-853: the voters' directory ids (absent or zero for static voters). */
  readonly voterDetails?: readonly { id: NodeId; directoryId: string }[];
  readonly directoryId?: string;
}

/** Inputs of {@link describeQuorumResponse}. */
export interface DescribeQuorumInputs {
  status: QuorumStatus;
  /** Progress of the replicas that fetched from this leader (voters and observers). */
  progress: ReadonlyMap<NodeId, ReplicaProgress>;
  voterEndpoints: readonly RaftEndpoint[];
  listenerName: string;
  nowMs: number;
}

/**
 * DescribeQuorum as the leader answers it (KIP-595, KIP-836): voters and observers with their log
 * end offsets and fetch times; a non-leader answers NOT_LEADER_OR_FOLLOWER like Kafka.
 *
 * @example
 * ```ts
 * import { describeQuorumResponse } from "./raft_rpcs.ts";
 * const response = describeQuorumResponse({
 *   status: { nodeId: 1, leaderId: 1, epoch: 2, highWatermark: 5, endOffset: 5, voters: new Set([1]) },
 *   progress: new Map(),
 *   voterEndpoints: [{ nodeId: 1, host: "127.0.0.1", port: 9093 }],
 *   listenerName: "CONTROLLER",
 *   nowMs: 0,
 * });
 * response.topics[0]!.partitions[0]!.leaderId; // 1
 * ```
 */
export function describeQuorumResponse(
  inputs: DescribeQuorumInputs,
): quorumRes.DescribeQuorumResponse {
  const { status, progress, nowMs } = inputs;
  const isLeader = status.leaderId === status.nodeId;
  const replica = (replicaId: NodeId): quorumRes.ReplicaState => {
    const own = replicaId === status.nodeId;
    const p = progress.get(replicaId);
    const directoryId = status.voterDetails?.find((v) => v.id === replicaId)?.directoryId ??
      (own ? status.directoryId : p?.directoryId) ?? ZERO_UUID;
    return quorumRes.createReplicaState({
      replicaId,
      replicaDirectoryId: directoryId,
      logEndOffset: BigInt(own ? status.endOffset : p?.logEndOffset ?? -1),
      lastFetchTimestamp: BigInt(own ? nowMs : p?.lastFetchTimestampMs ?? -1),
      lastCaughtUpTimestamp: BigInt(own ? nowMs : p?.lastCaughtUpTimestampMs ?? -1),
    });
  };
  const voters = [...status.voters].sort((a, b) => a - b);
  const observers = [...progress.keys()].filter((id) => !status.voters.has(id)).sort((a, b) =>
    a - b
  );
  return quorumRes.createDescribeQuorumResponse({
    topics: [quorumRes.createTopicData({
      topicName: METADATA_TOPIC_NAME,
      partitions: [quorumRes.createPartitionData({
        partitionIndex: METADATA_PARTITION_INDEX,
        errorCode: isLeader ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER,
        leaderId: status.leaderId,
        leaderEpoch: status.epoch,
        highWatermark: BigInt(status.highWatermark),
        currentVoters: isLeader ? voters.map(replica) : [],
        observers: isLeader ? observers.map(replica) : [],
      })],
    })],
    nodes: inputs.voterEndpoints.map((v) =>
      quorumRes.createNode({
        nodeId: v.nodeId,
        listeners: [
          quorumRes.createListener({ name: inputs.listenerName, host: v.host, port: v.port }),
        ],
      })
    ),
  });
}

// ---- AddRaftVoter / RemoveRaftVoter / UpdateRaftVoter (KIP-853) ---------------------------

/** Longest wait honoured for a voter change to commit, in milliseconds. */
const VOTER_CHANGE_TIMEOUT_MAX_MS = 120_000;

/** A refused voter change: the Kafka error name to answer and why. */
export interface VoterChangeRefusal {
  errorName: RaftErrorName;
  message: string;
}

/**
 * The raft replica's side of KIP-853 voter changes; `RaftDriver` satisfies it. Each resolves
 * once the VotersRecord commits and rejects with an error carrying `errorName` (Kafka's error)
 * when the leader refuses it or loses leadership first.
 */
export interface VoterChanger {
  addVoter(voter: Voter): Promise<void>;
  removeVoter(key: { id: NodeId; directoryId: string }): Promise<void>;
  updateVoter(voter: Voter): Promise<void>;
}

/** Options of {@link registerVoterChangeHandlers}. */
export interface VoterChangeHandlerOptions {
  changer: VoterChanger;
  exchange: RaftExchange;
  clusterId: string;
  /** The controller listener's name: a new voter must listen on it. */
  listenerName: string;
  logger?: { info(line: string): void };
}

/**
 * Registers AddRaftVoter (80), RemoveRaftVoter (81) and UpdateRaftVoter (82) on a controller
 * listener (KIP-853). The leader answers after the change commits; other controllers answer
 * NOT_LEADER_OR_FOLLOWER; kraft.version 0 answers UNSUPPORTED_VERSION.
 *
 * @example
 * ```ts ignore
 * registerVoterChangeHandlers(dispatcher, { changer: raftDriver, exchange: transport, clusterId, listenerName: "CONTROLLER" });
 * ```
 */
export function registerVoterChangeHandlers(
  dispatcher: Dispatcher,
  options: VoterChangeHandlerOptions,
): void {
  dispatcher.register<addVoterReq.AddRaftVoterRequest, addVoterRes.AddRaftVoterResponse>(
    ApiKey.ADD_RAFT_VOTER,
    { minVersion: 0, maxVersion: 0, handle: (request) => handleAddRaftVoter(request, options) },
  );
  dispatcher.register<
    removeVoterReq.RemoveRaftVoterRequest,
    removeVoterRes.RemoveRaftVoterResponse
  >(
    ApiKey.REMOVE_RAFT_VOTER,
    { minVersion: 0, maxVersion: 0, handle: (request) => handleRemoveRaftVoter(request, options) },
  );
  dispatcher.register<
    updateVoterReq.UpdateRaftVoterRequest,
    updateVoterRes.UpdateRaftVoterResponse
  >(
    ApiKey.UPDATE_RAFT_VOTER,
    { minVersion: 0, maxVersion: 0, handle: (request) => handleUpdateRaftVoter(request, options) },
  );
}

/** Runs a voter change bounded by `timeoutMs`; resolves with the Kafka error code and message. */
async function voterChangeOutcome(
  change: () => Promise<void>,
  timeoutMs: number,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const boundMs = Math.max(1, Math.min(timeoutMs, VOTER_CHANGE_TIMEOUT_MAX_MS));
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), boundMs);
  });
  try {
    const outcome = await Promise.race([change().then(() => "done" as const), timedOut]);
    if (outcome === "timeout") {
      return {
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        errorMessage: `The voter change did not commit within ${boundMs} ms`,
      };
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  } catch (error) {
    const name = (error as Partial<VoterChangeRefusal>).errorName;
    return {
      errorCode: name ? raftErrorCode(name) : ErrorCode.UNKNOWN_SERVER_ERROR,
      errorMessage: (error as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

function voterFromListeners(
  voterId: number,
  voterDirectoryId: string,
  listeners: readonly { name: string; host: string; port: number }[],
): Voter {
  return {
    id: voterId,
    directoryId: voterDirectoryId,
    endpoints: listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
  };
}

/** Why a new voter's key or listeners are unusable, or null (INVALID_REQUEST otherwise). */
function badVoter(
  voterId: number,
  listeners: readonly { name: string }[],
  listenerName: string,
): string | null {
  if (voterId < 0) return `Invalid voter id ${voterId}`;
  if (!listeners.some((l) => l.name === listenerName)) {
    return `The voter's listeners do not include the controller listener ${listenerName}`;
  }
  return null;
}

/** Answers AddRaftVoter (api key 80) as the leader, after the VotersRecord commits. */
export async function handleAddRaftVoter(
  request: addVoterReq.AddRaftVoterRequest,
  options: VoterChangeHandlerOptions,
): Promise<addVoterRes.AddRaftVoterResponse> {
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return addVoterRes.createAddRaftVoterResponse({
      errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID,
    });
  }
  const bad = badVoter(request.voterId, request.listeners, options.listenerName);
  if (bad !== null) {
    return addVoterRes.createAddRaftVoterResponse({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: bad,
    });
  }
  const voter = voterFromListeners(request.voterId, request.voterDirectoryId, request.listeners);
  const outcome = await voterChangeOutcome(
    () => options.changer.addVoter(voter),
    request.timeoutMs,
  );
  if (outcome.errorCode === ErrorCode.NONE) {
    options.logger?.info(`Added voter ${voter.id} (directory ${voter.directoryId})`);
  }
  return addVoterRes.createAddRaftVoterResponse(outcome);
}

/** Answers RemoveRaftVoter (api key 81) as the leader, after the VotersRecord commits. */
export async function handleRemoveRaftVoter(
  request: removeVoterReq.RemoveRaftVoterRequest,
  options: VoterChangeHandlerOptions,
): Promise<removeVoterRes.RemoveRaftVoterResponse> {
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return removeVoterRes.createRemoveRaftVoterResponse({
      errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID,
    });
  }
  if (request.voterId < 0) {
    return removeVoterRes.createRemoveRaftVoterResponse({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `Invalid voter id ${request.voterId}`,
    });
  }
  const key = { id: request.voterId, directoryId: request.voterDirectoryId };
  const outcome = await voterChangeOutcome(
    () => options.changer.removeVoter(key),
    VOTER_CHANGE_TIMEOUT_MAX_MS,
  );
  if (outcome.errorCode === ErrorCode.NONE) {
    options.logger?.info(`Removed voter ${key.id} (directory ${key.directoryId})`);
  }
  return removeVoterRes.createRemoveRaftVoterResponse(outcome);
}

/** Answers UpdateRaftVoter (api key 82): a voter's new endpoints, after they commit. */
export async function handleUpdateRaftVoter(
  request: updateVoterReq.UpdateRaftVoterRequest,
  options: VoterChangeHandlerOptions,
): Promise<updateVoterRes.UpdateRaftVoterResponse> {
  const leader = options.exchange.currentLeader();
  const endpoint = leader.leaderId === NO_NODE
    ? undefined
    : options.exchange.endpointOf(leader.leaderId);
  const currentLeader = updateVoterRes.createCurrentLeader({
    leaderId: leader.leaderId,
    leaderEpoch: leader.leaderEpoch,
    host: endpoint?.host ?? "",
    port: endpoint?.port ?? -1,
  });
  const answer = (errorCode: number) =>
    updateVoterRes.createUpdateRaftVoterResponse({ errorCode, currentLeader });
  if (!clusterIdMatches(options.clusterId, request.clusterId)) {
    return answer(ErrorCode.INCONSISTENT_CLUSTER_ID);
  }
  if (request.currentLeaderEpoch < leader.leaderEpoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
  if (request.currentLeaderEpoch > leader.leaderEpoch) {
    return answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
  }
  if (badVoter(request.voterId, request.listeners, options.listenerName) !== null) {
    return answer(ErrorCode.INVALID_REQUEST);
  }
  const voter = voterFromListeners(request.voterId, request.voterDirectoryId, request.listeners);
  const outcome = await voterChangeOutcome(
    () => options.changer.updateVoter(voter),
    VOTER_CHANGE_TIMEOUT_MAX_MS,
  );
  return answer(outcome.errorCode);
}
