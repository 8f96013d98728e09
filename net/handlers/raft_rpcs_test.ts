import assert from "node:assert/strict";
import { API_TABLE, ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { METADATA_TOPIC_ID } from "../protocol/uuid.ts";
import { silentLogger } from "../../core/log.ts";
import { Dispatcher } from "../dispatcher.ts";
import type { FetchRequest as FetchWire } from "../protocol/generated/fetch_request.ts";
import type { FetchResponse as FetchResponseWire } from "../protocol/generated/fetch_response.ts";
import type { VoteResponse as VoteResponseWire } from "../protocol/generated/vote_response.ts";
import type { FetchSnapshotResponse } from "../protocol/generated/fetch_snapshot_response.ts";
import type { FetchSnapshotRequest } from "../protocol/generated/fetch_snapshot_request.ts";
import type {
  FetchRequest,
  FetchResponse,
  LeaderIdAndEpoch,
  VoteRequest,
} from "../../core/raft/messages.ts";
import {
  describeQuorumResponse,
  fetchSnapshotRequestToWire,
  fetchSnapshotResponseFromWire,
  handleAddRaftVoter,
  handleFetch,
  handleFetchSnapshot,
  handleRemoveRaftVoter,
  handleVote,
  RAFT_API_VERSIONS,
  type RaftExchange,
  type RaftHandlerOptions,
  type RaftRequest,
  raftRequestToWire,
  type RaftResponse,
  raftResponseFromWire,
  registerRaftHandlers,
  type SnapshotChunkQuery,
} from "./raft_rpcs.ts";

const CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg";

/** Encodes a request body at `version` and decodes it again, as the wire would. */
function overTheWireRequest<T>(apiKey: number, version: number, body: unknown): T {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer(256);
  api.writeRequest(w, version, Object.assign(api.createRequest() as object, body) as never);
  return api.readRequest(new Reader(w.finish()), version) as T;
}

function overTheWireResponse<T>(apiKey: number, version: number, body: unknown): T {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer(256);
  api.writeResponse(w, version, body as never);
  return api.readResponse(new Reader(w.finish()), version) as T;
}

/** An exchange whose core answers with `answer(request)`. */
function fakeExchange(
  answer: (request: RaftRequest) => RaftResponse | null,
  leader: LeaderIdAndEpoch = { leaderId: 1, leaderEpoch: 3 },
): RaftExchange & { seen: RaftRequest[] } {
  const seen: RaftRequest[] = [];
  return {
    nodeId: 2,
    seen,
    exchange: (request) => {
      seen.push(request);
      return Promise.resolve(answer(request));
    },
    currentLeader: () => leader,
    endpointOf: (id) => (id === 1 ? { nodeId: 1, host: "127.0.0.1", port: 9093 } : undefined),
  };
}

function handlerOptions(exchange: RaftExchange): RaftHandlerOptions {
  return { exchange, clusterId: CLUSTER_ID, requestTimeoutMs: 1000, listenerName: "CONTROLLER" };
}

const preVote: VoteRequest = {
  type: "VoteRequest",
  from: 1,
  to: 2,
  candidateEpoch: 4,
  candidateId: 1,
  lastOffsetEpoch: 3,
  lastOffset: 17,
  preVote: true,
};

for (const version of [0, 1]) {
  Deno.test(`a pre-vote survives Vote v${version} both ways with its flag (KIP-996)`, async () => {
    const { apiKey, body } = raftRequestToWire(preVote, {
      clusterId: CLUSTER_ID,
      version,
      listenerName: "CONTROLLER",
    });
    assert.equal(apiKey, ApiKey.VOTE);
    const exchange = fakeExchange((request) => ({
      type: "VoteResponse",
      from: 2,
      to: request.from,
      errorCode: "NONE",
      leaderEpoch: 3,
      leaderId: -1,
      voteGranted: true,
      preVote: true,
    }));
    const wire = await handleVote(
      overTheWireRequest(apiKey, version, body),
      version,
      handlerOptions(exchange),
    );
    assert.deepEqual(exchange.seen, [preVote]);
    const back = raftResponseFromWire(preVote, overTheWireResponse(apiKey, version, wire));
    assert.deepEqual(back, {
      type: "VoteResponse",
      from: 2,
      to: 1,
      errorCode: "NONE",
      leaderEpoch: 3,
      leaderId: -1,
      voteGranted: true,
      preVote: true,
    });
  });
}

Deno.test("a vote from another cluster is refused with INCONSISTENT_CLUSTER_ID", async () => {
  const exchange = fakeExchange(() => null);
  const { body } = raftRequestToWire(preVote, {
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    version: 1,
    listenerName: "CONTROLLER",
  });
  const wire = await handleVote(
    overTheWireRequest(ApiKey.VOTE, 1, body),
    1,
    handlerOptions(exchange),
  );
  assert.equal(wire.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
  assert.equal(exchange.seen.length, 0);
  assert.equal(raftResponseFromWire(preVote, wire), null);
});

Deno.test("a vote the core never answers gets REQUEST_TIMED_OUT, which the sender drops", async () => {
  const exchange = fakeExchange(() => null);
  const { body } = raftRequestToWire(preVote, {
    clusterId: CLUSTER_ID,
    version: 1,
    listenerName: "CONTROLLER",
  });
  const wire: VoteResponseWire = await handleVote(
    overTheWireRequest(ApiKey.VOTE, 1, body),
    1,
    handlerOptions(exchange),
  );
  assert.equal(wire.errorCode, ErrorCode.REQUEST_TIMED_OUT);
  assert.equal(raftResponseFromWire(preVote, wire), null);
});

const fetch: FetchRequest = {
  type: "FetchRequest",
  from: 4,
  to: 2,
  correlationId: 9,
  replicaId: 4,
  currentLeaderEpoch: 3,
  fetchOffset: 5,
  lastFetchedEpoch: 2,
  logStartOffset: 0,
  highWatermark: 4,
  maxBytes: 1 << 20,
  maxWaitMs: 500,
};

for (const version of [12, 13, 14, 15, 16, 17]) {
  Deno.test(`a metadata Fetch v${version} carries records, leader and high watermark both ways (KIP-595)`, async () => {
    const { apiKey, body } = raftRequestToWire(fetch, {
      clusterId: CLUSTER_ID,
      version,
      listenerName: "CONTROLLER",
    });
    const request = overTheWireRequest<FetchWire>(apiKey, version, body);
    if (version >= 13) assert.equal(request.topics[0]!.topicId, METADATA_TOPIC_ID);
    const payload = new TextEncoder().encode("record");
    const exchange = fakeExchange((r): FetchResponse => ({
      type: "FetchResponse",
      from: 2,
      to: r.from,
      correlationId: (r as FetchRequest).correlationId,
      errorCode: "NONE",
      highWatermark: 6,
      logStartOffset: 0,
      records: [
        {
          offset: 5,
          epoch: 3,
          payload: new Uint8Array(0),
          control: {
            type: "leaderChange",
            leaderId: 2,
            voters: [1, 2, 3],
            grantingVoters: [2, 3],
          },
        },
        { offset: 6, epoch: 3, payload },
      ],
      divergingEpoch: null,
      currentLeader: { leaderId: 2, leaderEpoch: 3 },
      snapshotId: null,
    }));
    const wire = await handleFetch(request, version, handlerOptions(exchange));
    // The handler asks the core with the same position and the fetcher's high watermark.
    const seen = exchange.seen[0] as FetchRequest;
    assert.equal(seen.replicaId, 4);
    assert.equal(seen.fetchOffset, 5);
    assert.equal(seen.lastFetchedEpoch, 2);
    assert.equal(seen.highWatermark, 4);
    assert.equal(seen.maxWaitMs, 500);
    const back = raftResponseFromWire(
      fetch,
      overTheWireResponse<FetchResponseWire>(apiKey, version, wire),
    ) as FetchResponse;
    assert.equal(back.from, 2);
    assert.equal(back.to, 4);
    assert.equal(back.correlationId, 9);
    assert.equal(back.highWatermark, 6);
    assert.deepEqual(back.currentLeader, { leaderId: 2, leaderEpoch: 3 });
    assert.deepEqual(back.records.map((e) => [e.offset, e.epoch, e.control?.type]), [
      [5, 3, "leaderChange"],
      [6, 3, undefined],
    ]);
    assert.deepEqual(back.records[1]!.payload, payload);
  });
}

Deno.test("a Fetch answer with a diverging epoch and a snapshot id keeps both (KIP-595, KIP-630)", async () => {
  const exchange = fakeExchange((r): FetchResponse => ({
    type: "FetchResponse",
    from: 2,
    to: r.from,
    correlationId: 1,
    errorCode: "NONE",
    highWatermark: 3,
    logStartOffset: 0,
    records: [],
    divergingEpoch: { epoch: 1, endOffset: 3 },
    currentLeader: { leaderId: 2, leaderEpoch: 3 },
    snapshotId: { offset: 2, epoch: 1 },
  }));
  const { body } = raftRequestToWire(fetch, {
    clusterId: CLUSTER_ID,
    version: 17,
    listenerName: "CONTROLLER",
  });
  const wire = await handleFetch(
    overTheWireRequest(ApiKey.FETCH, 17, body),
    17,
    handlerOptions(exchange),
  );
  const partition = wire.responses[0]!.partitions[0]!;
  assert.deepEqual(partition.records, new Uint8Array(0)); // empty, not null
  const back = raftResponseFromWire(fetch, overTheWireResponse(ApiKey.FETCH, 17, wire));
  assert.deepEqual((back as FetchResponse).divergingEpoch, { epoch: 1, endOffset: 3 });
  assert.deepEqual((back as FetchResponse).snapshotId, { offset: 2, epoch: 1 });
});

Deno.test("a Fetch of another topic on the controller listener gets UNKNOWN_TOPIC_OR_PARTITION", async () => {
  const exchange = fakeExchange(() => null);
  const request = overTheWireRequest<FetchWire>(ApiKey.FETCH, 12, {
    topics: [{
      topic: "orders",
      topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: -1,
        fetchOffset: 0n,
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: 1000,
        replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
        _unknownTaggedFields: [],
      }],
      _unknownTaggedFields: [],
    }],
  });
  const wire = await handleFetch(request, 12, handlerOptions(exchange));
  assert.equal(exchange.seen.length, 0);
  assert.equal(wire.responses[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

Deno.test("a Fetch from another cluster is refused with INCONSISTENT_CLUSTER_ID", async () => {
  const exchange = fakeExchange(() => null);
  const { body } = raftRequestToWire(fetch, {
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    version: 17,
    listenerName: "CONTROLLER",
  });
  const wire = await handleFetch(
    overTheWireRequest(ApiKey.FETCH, 17, body),
    17,
    handlerOptions(exchange),
  );
  assert.equal(wire.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
  assert.equal(raftResponseFromWire(fetch, wire), null);
});

const SNAPSHOT_BYTES = Uint8Array.from({ length: 300 }, (_, i) => i % 251);

/** The leader's exchange (node 1, epoch 3) holding snapshot 10-2 of {@link SNAPSHOT_BYTES}. */
function snapshotExchange(nodeId = 1): RaftExchange {
  return {
    ...fakeExchange(() => null, { leaderId: 1, leaderEpoch: 3 }),
    nodeId,
    readSnapshotChunk: (id, position, maxBytes) =>
      Promise.resolve(
        id.offset === 10 && id.epoch === 2
          ? {
            sizeBytes: SNAPSHOT_BYTES.length,
            position,
            bytes: SNAPSHOT_BYTES.subarray(position, position + maxBytes),
          }
          : null,
      ),
  };
}

function snapshotQuery(init: Partial<SnapshotChunkQuery> = {}): SnapshotChunkQuery {
  return {
    replicaId: 4,
    snapshotId: { offset: 10, epoch: 2 },
    currentLeaderEpoch: 3,
    position: 0,
    maxBytes: 128,
    ...init,
  };
}

async function askSnapshot(
  exchange: RaftExchange,
  query: SnapshotChunkQuery,
): Promise<FetchSnapshotResponse> {
  const request = overTheWireRequest<FetchSnapshotRequest>(
    ApiKey.FETCH_SNAPSHOT,
    1,
    fetchSnapshotRequestToWire(query, CLUSTER_ID),
  );
  const response = await handleFetchSnapshot(request, handlerOptions(exchange));
  return overTheWireResponse<FetchSnapshotResponse>(ApiKey.FETCH_SNAPSHOT, 1, response);
}

Deno.test("FetchSnapshot serves the leader's snapshot in position-addressed chunks (KIP-630)", async () => {
  const exchange = snapshotExchange();
  const received: number[] = [];
  for (let round = 0; round < 10 && received.length < SNAPSHOT_BYTES.length; round++) {
    const query = snapshotQuery({ position: received.length });
    const result = fetchSnapshotResponseFromWire(query, await askSnapshot(exchange, query));
    assert.ok(result.ok, result.ok ? "" : result.error);
    assert.equal(result.chunk.sizeBytes, SNAPSHOT_BYTES.length);
    assert.equal(result.chunk.position, received.length);
    assert.ok(result.chunk.bytes.length <= 128);
    received.push(...result.chunk.bytes);
  }
  assert.deepEqual(Uint8Array.from(received), SNAPSHOT_BYTES);
});

Deno.test("FetchSnapshot refuses non-leaders, other epochs, unknown snapshots and positions past the end", async () => {
  const code = async (exchange: RaftExchange, init: Partial<SnapshotChunkQuery>) =>
    (await askSnapshot(exchange, snapshotQuery(init))).topics[0]!.partitions[0]!.errorCode;
  assert.equal(await code(snapshotExchange(2), {}), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.equal(
    await code(snapshotExchange(), { currentLeaderEpoch: 2 }),
    ErrorCode.FENCED_LEADER_EPOCH,
  );
  assert.equal(
    await code(snapshotExchange(), { currentLeaderEpoch: 4 }),
    ErrorCode.UNKNOWN_LEADER_EPOCH,
  );
  assert.equal(
    await code(snapshotExchange(), { snapshotId: { offset: 11, epoch: 2 } }),
    ErrorCode.SNAPSHOT_NOT_FOUND,
  );
  assert.equal(await code(snapshotExchange(), { position: 301 }), ErrorCode.POSITION_OUT_OF_RANGE);
  const foreign = await handleFetchSnapshot(
    { ...fetchSnapshotRequestToWire(snapshotQuery(), "other-cluster-id-xxxxx") },
    handlerOptions(snapshotExchange()),
  );
  assert.equal(foreign.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
});

Deno.test("the controller listener advertises the raft RPCs at Kafka 3.9's versions", () => {
  const dispatcher = new Dispatcher({ logger: silentLogger });
  registerRaftHandlers(dispatcher, handlerOptions(fakeExchange(() => null)));
  const advertised = new Map(dispatcher.advertised().map((a) => [a.apiKey, a]));
  for (const [apiKey, range] of RAFT_API_VERSIONS) {
    assert.equal(advertised.get(apiKey)?.minVersion, range.min);
    assert.equal(advertised.get(apiKey)?.maxVersion, range.max);
  }
});

Deno.test("DescribeQuorum lists voters and observers with their progress, from the leader only", () => {
  const status = {
    nodeId: 1,
    leaderId: 1,
    epoch: 2,
    highWatermark: 7,
    endOffset: 8,
    voters: new Set([1, 2, 3]),
  };
  const progress = new Map([
    [2, { logEndOffset: 7, lastFetchTimestampMs: 100, lastCaughtUpTimestampMs: 100 }],
    [4, { logEndOffset: 6, lastFetchTimestampMs: 90, lastCaughtUpTimestampMs: 80 }],
  ]);
  const inputs = {
    status,
    progress,
    voterEndpoints: [{ nodeId: 1, host: "127.0.0.1", port: 1 }],
    listenerName: "CONTROLLER",
    nowMs: 200,
  };
  const p = describeQuorumResponse(inputs).topics[0]!.partitions[0]!;
  assert.deepEqual(p.currentVoters.map((v) => [v.replicaId, v.logEndOffset]), [
    [1, 8n],
    [2, 7n],
    [3, -1n],
  ]);
  assert.deepEqual(p.observers.map((v) => [v.replicaId, v.logEndOffset]), [[4, 6n]]);
  const follower = describeQuorumResponse({ ...inputs, status: { ...status, nodeId: 2 } });
  assert.equal(
    follower.topics[0]!.partitions[0]!.errorCode,
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
  );
});

Deno.test("AddRaftVoter and RemoveRaftVoter answer after the change commits, with the leader's refusals as Kafka errors", async () => {
  // KIP-853: the leader's error (NOT_LEADER_OR_FOLLOWER, DUPLICATE_VOTER, ...) is the answer's.
  const refusal = (errorName: string, message: string) =>
    Object.assign(new Error(message), { errorName });
  const calls: string[] = [];
  const options = {
    clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
    listenerName: "CONTROLLER",
    exchange: {
      nodeId: 1,
      exchange: () => Promise.resolve(null),
      currentLeader: () => ({ leaderId: 1, leaderEpoch: 3 }),
      endpointOf: () => undefined,
    },
    changer: {
      addVoter: (v: { id: number }) => {
        calls.push(`add ${v.id}`);
        return v.id === 2
          ? Promise.resolve()
          : Promise.reject(refusal("DUPLICATE_VOTER", `Node ${v.id} is a voter`));
      },
      removeVoter: (k: { id: number }) => {
        calls.push(`remove ${k.id}`);
        return Promise.reject(refusal("NOT_LEADER_OR_FOLLOWER", "not the leader"));
      },
      updateVoter: () => Promise.resolve(),
    },
  };
  const add = (voterId: number, listenerName = "CONTROLLER") =>
    handleAddRaftVoter({
      clusterId: options.clusterId,
      timeoutMs: 1_000,
      voterId,
      voterDirectoryId: "b7tCfPnxRpOmQVrWcIAyJw",
      listeners: [{ name: listenerName, host: "127.0.0.1", port: 9095, _unknownTaggedFields: [] }],
      _unknownTaggedFields: [],
    }, options);
  assert.equal((await add(2)).errorCode, ErrorCode.NONE);
  const duplicate = await add(1);
  assert.equal(duplicate.errorCode, ErrorCode.DUPLICATE_VOTER);
  assert.equal(duplicate.errorMessage, "Node 1 is a voter");
  assert.equal((await add(3, "PLAINTEXT")).errorCode, ErrorCode.INVALID_REQUEST);
  const removed = await handleRemoveRaftVoter({
    clusterId: "another-cluster-id-xxxx",
    voterId: 2,
    voterDirectoryId: "b7tCfPnxRpOmQVrWcIAyJw",
    _unknownTaggedFields: [],
  }, options);
  assert.equal(removed.errorCode, ErrorCode.INCONSISTENT_CLUSTER_ID);
  const notLeader = await handleRemoveRaftVoter({
    clusterId: null,
    voterId: 2,
    voterDirectoryId: "b7tCfPnxRpOmQVrWcIAyJw",
    _unknownTaggedFields: [],
  }, options);
  assert.equal(notLeader.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  assert.deepEqual(calls, ["add 2", "add 1", "remove 2"]);
});
