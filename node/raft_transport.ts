/**
 * The raft transport over Kafka RPCs on the controller listener: the core's requests leave as
 * Vote, BeginQuorumEpoch, EndQuorumEpoch and Fetch over one `KafkaConnection` per peer (and the
 * driver's snapshot fetches as FetchSnapshot, KIP-630), and their
 * wire responses come back to the core as its response messages; incoming requests (from
 * `net/handlers/raft_rpcs.ts`) are delivered to the core and answered with the response message
 * the core emits for them.
 *
 * The network is lossy as far as the core is concerned: a failed connection or request is dropped
 * (the core retries on its own timers), reconnects back off exponentially up to a bound, and an
 * incoming request the core does not answer in time gets a REQUEST_TIMED_OUT answer. A peer that
 * refuses a connection (or is being backed off after one), or whose connection fails under a
 * request, is reported to the driver as unreachable (`RaftDriver.peerUnreachable`): a dead
 * leader is noticed at once instead of after `controller.quorum.fetch.timeout.ms`. Timeouts and
 * connections this transport closed itself are not reported.
 *
 * @module
 */

import { ConnectionError, KafkaConnection, type SaslCredentials } from "../net/connection.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { RaftMessage } from "../core/raft/messages.ts";
import type { LeaderIdAndEpoch } from "../core/raft/messages.ts";
import { NO_NODE, type NodeId, type OffsetAndEpoch, type Voter } from "../core/raft/types.ts";
import type { Logger } from "../core/log.ts";
import {
  fetchSnapshotRequestToWire,
  fetchSnapshotResponseFromWire,
  nodeEndpointsOf,
  RAFT_API_VERSIONS,
  RAFT_REQUEST_API_KEYS,
  type RaftEndpoint,
  type RaftExchange,
  type RaftRequest,
  raftRequestToWire,
  type RaftResponse,
  raftResponseFromWire,
  type ReplicaProgress,
  type SnapshotChunkData,
} from "../net/handlers/raft_rpcs.ts";
import type {
  RaftDriver,
  RaftTransport,
  SnapshotChunkRequest,
  SnapshotChunkResult,
} from "./raft_driver.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";

/** First pause after a failed connection attempt to a peer, in milliseconds. */
const RECONNECT_BACKOFF_MIN_MS = 50;
/** Longest pause between connection attempts to a peer, in milliseconds. */
const RECONNECT_BACKOFF_MAX_MS = 1_000;
/** Bound on incoming requests waiting for the core's answer. */
const PENDING_INCOMING_MAX = 1_024;
/** Bound on outgoing requests waiting for one peer's connection. */
const WAITING_FOR_CONNECTION_MAX = 64;
/** How long `close()` lets EndQuorumEpoch requests finish (graceful resignation), in ms. */
const CLOSE_DRAIN_MS = 500;

/** Options of {@link KafkaRaftTransport}. */
export interface KafkaRaftTransportOptions {
  nodeId: NodeId;
  /** This replica's directory id (KIP-853), checked against incoming Vote requests. */
  directoryId?: string;
  clusterId: string;
  /** The voters' controller endpoints (`controller.quorum.voters`). */
  voters: readonly RaftEndpoint[];
  /**
   * `controller.quorum.bootstrap.servers`, for observers without static voters: the i-th server
   * is addressed as node id {@link bootstrapNodeId}(i) until responses name the real leader.
   */
  bootstrapServers?: readonly { host: string; port: number }[];
  /** The controller listener's name (advertised in `LeaderEndpoints`). */
  listenerName: string;
  /** `controller.quorum.request.timeout.ms`. */
  requestTimeoutMs: number;
  logger: Logger;
  /** SASL for a `SASL_*` controller listener (`sasl.mechanism.controller.protocol`). */
  sasl?: SaslCredentials;
  /** TLS for an `SSL`/`SASL_SSL` controller listener, trusting these CA certificates. */
  tls?: { caCerts?: string[] };
}

/** The pseudo node id of the i-th bootstrap server (Kafka numbers them -2, -3, ...). */
export function bootstrapNodeId(index: number): NodeId {
  return -2 - index;
}

interface Peer {
  connection: KafkaConnection | null;
  connecting: Promise<KafkaConnection | null> | null;
  retryAtMs: number;
  backoffMs: number;
  waiting: number;
  warnedAt: number;
  /** The last connection attempt failed (refused, reset or timed out). */
  unreachable: boolean;
}

interface Slot {
  request: RaftRequest;
  resolve: (response: RaftResponse | null) => void;
  timer: ReturnType<typeof setTimeout>;
  /** Answered with a timeout already; kept so a late answer does not match a newer request. */
  expired: boolean;
}

function responseType(request: RaftRequest): RaftResponse["type"] {
  switch (request.type) {
    case "VoteRequest":
      return "VoteResponse";
    case "BeginQuorumEpochRequest":
      return "BeginQuorumEpochResponse";
    case "EndQuorumEpochRequest":
      return "EndQuorumEpochResponse";
    case "FetchRequest":
      return "FetchResponse";
  }
}

function isRequest(message: RaftMessage): message is RaftRequest {
  return message.type.endsWith("Request");
}

/**
 * A {@link RaftTransport} over Kafka RPCs, and the {@link RaftExchange} the raft handlers of the
 * controller listener answer through.
 *
 * @example
 * ```ts ignore
 * const transport = new KafkaRaftTransport({ nodeId: 1, clusterId, voters, listenerName: "CONTROLLER", requestTimeoutMs: 2000, logger });
 * const driver = await RaftDriver.start({ ..., transport }); // the driver attaches itself
 * registerRaftHandlers(controllerDispatcher, { exchange: transport, clusterId, requestTimeoutMs: 2000, listenerName: "CONTROLLER" });
 * ```
 */
export class KafkaRaftTransport implements RaftTransport, RaftExchange {
  readonly nodeId: NodeId;
  readonly directoryId: string | undefined;
  readonly #options: KafkaRaftTransportOptions;
  readonly #endpoints = new Map<NodeId, RaftEndpoint>();
  readonly #learned = new Map<NodeId, RaftEndpoint>();
  readonly #peers = new Map<NodeId, Peer>();
  readonly #slots = new Map<string, Slot[]>();
  #slotCount = 0;
  #nextCorrelationId = 1;
  #driver: RaftDriver | null = null;
  #closed = false;
  readonly #resigning = new Set<Promise<void>>();
  readonly #progress = new Map<NodeId, ReplicaProgress & { epoch: number }>();
  /** Connections this transport closed itself: their failing requests say nothing of the peer. */
  readonly #closedHere = new WeakSet<KafkaConnection>();

  constructor(options: KafkaRaftTransportOptions) {
    this.nodeId = options.nodeId;
    this.directoryId = options.directoryId;
    this.#options = options;
    for (const voter of options.voters) this.#endpoints.set(voter.nodeId, voter);
    options.bootstrapServers?.forEach((server, i) => {
      const nodeId = bootstrapNodeId(i);
      this.#endpoints.set(nodeId, { nodeId, host: server.host, port: server.port });
    });
  }

  /** Called by `RaftDriver.start`: incoming messages go to this driver. */
  attach(driver: RaftDriver): void {
    this.#driver = driver;
  }

  // ---- RaftTransport ------------------------------------------------------------------------

  /**
   * KIP-853: the voters in force, from the log; each voter's endpoint on the controller listener
   * (else its first) replaces what was known for it. Endpoints of former voters stay known.
   */
  setVoters(voters: readonly Voter[]): void {
    for (const voter of voters) {
      const endpoint = voter.endpoints.find((e) => e.name === this.#options.listenerName) ??
        voter.endpoints[0];
      if (endpoint === undefined) continue;
      const known = this.#endpoints.get(voter.id);
      if (known?.host === endpoint.host && known.port === endpoint.port) continue;
      this.#endpoints.set(voter.id, { nodeId: voter.id, host: endpoint.host, port: endpoint.port });
      const peer = this.#peers.get(voter.id);
      if (peer?.connection) this.#closeHere(peer.connection); // reconnect to the new address
      if (peer) peer.connection = null;
    }
  }

  /** The controller endpoints known from static voters and the log (not learned ones). */
  voterEndpoints(): RaftEndpoint[] {
    return [...this.#endpoints.values()].filter((e) => e.nodeId >= 0);
  }

  /** Sends a core request to its peer, or answers the pending incoming request a response is for. */
  send(message: RaftMessage): void {
    if (this.#closed) return;
    if (isRequest(message)) {
      const sent = this.#request(message);
      if (message.type === "EndQuorumEpochRequest") {
        this.#resigning.add(sent);
        sent.finally(() => this.#resigning.delete(sent));
      }
      return;
    }
    this.#answer(message as RaftResponse);
  }

  /**
   * Stops sending and receiving: lets EndQuorumEpoch requests finish (bounded), answers every
   * pending incoming request with a timeout and closes the connections.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#resigning.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#resigning]),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_DRAIN_MS))),
      ]);
      clearTimeout(timer);
    }
    for (const slots of this.#slots.values()) {
      for (const slot of slots) {
        clearTimeout(slot.timer);
        if (!slot.expired) slot.resolve(null);
      }
    }
    this.#slots.clear();
    this.#slotCount = 0;
    for (const peer of this.#peers.values()) {
      if (peer.connection) this.#closeHere(peer.connection);
      peer.connection = null;
    }
  }

  #closeHere(connection: KafkaConnection): void {
    this.#closedHere.add(connection);
    connection.close();
  }

  /** Fetches one chunk of the leader's snapshot with FetchSnapshot (KIP-630); never throws. */
  async fetchSnapshotChunk(request: SnapshotChunkRequest): Promise<SnapshotChunkResult> {
    if (this.#closed) return { ok: false, error: "the transport is closed" };
    const connection = await this.#connection(request.to);
    if (connection === null || this.#closed) {
      return { ok: false, error: `no connection to node ${request.to}` };
    }
    const range = RAFT_API_VERSIONS.get(ApiKey.FETCH_SNAPSHOT)!;
    const query = { ...request, replicaId: this.nodeId };
    try {
      const version = connection.versionFor(ApiKey.FETCH_SNAPSHOT, range.max);
      if (version < range.min) {
        return { ok: false, error: `node ${request.to} does not serve FetchSnapshot` };
      }
      const wire = await connection.send<unknown>(
        ApiKey.FETCH_SNAPSHOT,
        fetchSnapshotRequestToWire(query, this.#options.clusterId) as unknown as Record<
          string,
          unknown
        >,
        { version, timeoutMs: this.#options.requestTimeoutMs },
      );
      return fetchSnapshotResponseFromWire(query, wire);
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.REQUEST_TIMED_OUT) {
        this.#closeHere(connection);
      }
      return { ok: false, error: (error as Error).message };
    }
  }

  // ---- RaftExchange -------------------------------------------------------------------------

  /** Serves FetchSnapshot from the attached driver's latest snapshot. */
  async readSnapshotChunk(
    snapshotId: OffsetAndEpoch,
    position: number,
    maxBytes: number,
  ): Promise<SnapshotChunkData | null> {
    const driver = this.#driver;
    if (this.#closed || driver === null) return null;
    return await driver.readSnapshotChunk(snapshotId, position, maxBytes);
  }

  /**
   * Delivers an incoming request to the core and resolves with the core's answer (same peer and
   * type; a Fetch by a correlation id assigned here), or null after `timeoutMs`.
   */
  exchange(request: RaftRequest, timeoutMs: number): Promise<RaftResponse | null> {
    const driver = this.#driver;
    if (this.#closed || driver === null || this.#slotCount >= PENDING_INCOMING_MAX) {
      return Promise.resolve(null);
    }
    const message: RaftRequest = request.type === "FetchRequest"
      ? { ...request, correlationId: this.#nextCorrelationId++ }
      : request;
    const key = this.#slotKey(message.from, message);
    return new Promise((resolve) => {
      const slot: Slot = {
        request: message,
        resolve,
        expired: false,
        timer: setTimeout(() => {
          slot.expired = true;
          resolve(null);
          // A Fetch has its own key: nothing later can match it, so drop it now.
          if (message.type === "FetchRequest") this.#removeSlot(key, slot);
        }, timeoutMs),
      };
      const slots = this.#slots.get(key) ?? [];
      slots.push(slot);
      this.#slots.set(key, slots);
      this.#slotCount++;
      driver.deliver(message);
    });
  }

  currentLeader(): LeaderIdAndEpoch {
    return {
      leaderId: this.#driver?.leaderId ?? NO_NODE,
      leaderEpoch: this.#driver?.epoch ?? -1,
    };
  }

  endpointOf(nodeId: NodeId): RaftEndpoint | undefined {
    return nodeId >= 0 ? this.#endpoints.get(nodeId) ?? this.#learned.get(nodeId) : undefined;
  }

  /**
   * What this node, while it leads, saw of each replica's fetches in its current epoch
   * (DescribeQuorum's `ReplicaState`).
   */
  replicaProgress(): ReadonlyMap<NodeId, ReplicaProgress> {
    const epoch = this.#driver?.epoch ?? -1;
    const out = new Map<NodeId, ReplicaProgress>();
    for (const [id, p] of this.#progress) {
      if (p.epoch === epoch) {
        out.set(id, {
          directoryId: p.directoryId,
          logEndOffset: p.logEndOffset,
          lastFetchTimestampMs: p.lastFetchTimestampMs,
          lastCaughtUpTimestampMs: p.lastCaughtUpTimestampMs,
        });
      }
    }
    return out;
  }

  // ---- incoming -----------------------------------------------------------------------------

  #slotKey(peer: NodeId, request: RaftRequest): string {
    return request.type === "FetchRequest"
      ? `${peer}/FetchResponse/${request.correlationId}`
      : `${peer}/${responseType(request)}`;
  }

  #removeSlot(key: string, slot: Slot): void {
    const slots = this.#slots.get(key);
    const at = slots?.indexOf(slot) ?? -1;
    if (slots === undefined || at < 0) return;
    slots.splice(at, 1);
    this.#slotCount--;
    if (slots.length === 0) this.#slots.delete(key);
  }

  #answer(response: RaftResponse): void {
    const key = response.type === "FetchResponse"
      ? `${response.to}/FetchResponse/${response.correlationId}`
      : `${response.to}/${response.type}`;
    // The core answers each request once, in order: the oldest slot is the one answered.
    const slot = this.#slots.get(key)?.[0];
    if (slot === undefined) return;
    this.#removeSlot(key, slot);
    clearTimeout(slot.timer);
    if (response.type === "FetchResponse" && slot.request.type === "FetchRequest") {
      this.#recordProgress(slot.request, response);
    }
    if (!slot.expired) slot.resolve(response);
  }

  #recordProgress(
    request: RaftRequest & { type: "FetchRequest" },
    response: RaftResponse & { type: "FetchResponse" },
  ): void {
    const { replicaId, fetchOffset } = request;
    const directoryId = request.replicaDirectoryId;
    const accepted = response.errorCode === "NONE" && response.divergingEpoch === null &&
      response.currentLeader.leaderId === this.nodeId;
    if (!accepted) return;
    const nowMs = Date.now();
    const previous = this.#progress.get(replicaId);
    const epoch = response.currentLeader.leaderEpoch;
    const caughtUp = fetchOffset >= response.highWatermark;
    this.#progress.set(replicaId, {
      directoryId,
      epoch,
      logEndOffset: fetchOffset,
      lastFetchTimestampMs: nowMs,
      lastCaughtUpTimestampMs: caughtUp
        ? nowMs
        : previous?.epoch === epoch
        ? previous.lastCaughtUpTimestampMs
        : -1,
    });
  }

  // ---- outgoing -----------------------------------------------------------------------------

  async #request(request: RaftRequest): Promise<void> {
    const connection = await this.#connection(request.to);
    if (this.#closed) return;
    if (connection === null) {
      if (this.#peer(request.to).unreachable) this.#driver?.peerUnreachable(request.to);
      return;
    }
    const apiKey = RAFT_REQUEST_API_KEYS[request.type];
    const range = RAFT_API_VERSIONS.get(apiKey)!;
    const timeoutMs = request.type === "FetchRequest"
      ? request.maxWaitMs + this.#options.requestTimeoutMs
      : this.#options.requestTimeoutMs;
    try {
      const version = connection.versionFor(apiKey, range.max);
      if (version < range.min) {
        throw new KafkaError(
          ErrorCode.UNSUPPORTED_VERSION,
          `node ${request.to} offers only v${version} of api key ${apiKey}`,
        );
      }
      const { body } = raftRequestToWire(request, {
        clusterId: this.#options.clusterId,
        version,
        listenerName: this.#options.listenerName,
        self: this.#endpoints.get(this.nodeId),
      });
      const wire = await connection.send<unknown>(apiKey, body, { version, timeoutMs });
      for (const endpoint of nodeEndpointsOf(wire)) this.#learned.set(endpoint.nodeId, endpoint);
      const response = raftResponseFromWire(request, wire);
      if (response === null) {
        this.#warnRefused(request, wire);
        return;
      }
      if (this.#namesUsAsNewerLeader(response)) {
        this.#options.logger.warn(
          `Node ${request.to} claims this node leads an epoch it never started; dropping its ${response.type}`,
        );
        return;
      }
      if (!this.#closed) this.#driver?.deliver(response);
    } catch (error) {
      // Lossy by design: the core retries. A timed-out peer gets a fresh connection next time.
      if (error instanceof KafkaError && error.code === ErrorCode.REQUEST_TIMED_OUT) {
        this.#closeHere(connection);
      } else if (
        error instanceof ConnectionError && !this.#closedHere.has(connection) && !this.#closed
      ) {
        this.#driver?.peerUnreachable(request.to);
      }
      this.#options.logger.debug(
        `${request.type} to node ${request.to} failed: ${(error as Error).message}`,
      );
    }
  }

  /** A peer's answer naming us leader of an epoch above ours is corrupt: never hand it to the core. */
  #namesUsAsNewerLeader(response: RaftResponse): boolean {
    const leader = response.type === "FetchResponse"
      ? response.currentLeader
      : { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch };
    return leader.leaderId === this.nodeId && leader.leaderEpoch > (this.#driver?.epoch ?? -1);
  }

  #warnRefused(request: RaftRequest, wire: unknown): void {
    const code = (wire as { errorCode?: number }).errorCode ?? ErrorCode.NONE;
    if (code === ErrorCode.REQUEST_TIMED_OUT) return;
    const peer = this.#peer(request.to);
    const nowMs = Date.now();
    if (nowMs - peer.warnedAt < 10_000) return;
    peer.warnedAt = nowMs;
    const why = code === ErrorCode.INCONSISTENT_CLUSTER_ID
      ? `it belongs to another cluster than ${this.#options.clusterId}`
      : `it answered error ${code} or an unexpected shape`;
    this.#options.logger.warn(`Node ${request.to} refused ${request.type}: ${why}`);
  }

  #peer(nodeId: NodeId): Peer {
    let peer = this.#peers.get(nodeId);
    if (peer === undefined) {
      peer = {
        connection: null,
        connecting: null,
        retryAtMs: 0,
        backoffMs: RECONNECT_BACKOFF_MIN_MS,
        waiting: 0,
        warnedAt: -Infinity,
        unreachable: false,
      };
      this.#peers.set(nodeId, peer);
    }
    return peer;
  }

  /** The open connection to `nodeId`, a new one, or null (unknown endpoint, backing off, failed). */
  async #connection(nodeId: NodeId): Promise<KafkaConnection | null> {
    const peer = this.#peer(nodeId);
    if (peer.connection !== null && !peer.connection.closed) return peer.connection;
    peer.connection = null;
    if (peer.connecting === null) {
      if (Date.now() < peer.retryAtMs) return null;
      const endpoint = this.#endpoints.get(nodeId) ?? this.#learned.get(nodeId);
      if (endpoint === undefined) {
        this.#options.logger.debug(`No controller endpoint is known for node ${nodeId}`);
        return null;
      }
      peer.connecting = this.#connect(peer, endpoint).finally(() => (peer.connecting = null));
    }
    if (peer.waiting >= WAITING_FOR_CONNECTION_MAX) return null;
    peer.waiting++;
    try {
      return await peer.connecting;
    } finally {
      peer.waiting--;
    }
  }

  async #connect(peer: Peer, endpoint: RaftEndpoint): Promise<KafkaConnection | null> {
    try {
      const connection = await KafkaConnection.connect(endpoint.host, endpoint.port, {
        clientId: `raft-client-${this.nodeId}`,
        connectTimeoutMs: this.#options.requestTimeoutMs,
        requestTimeoutMs: this.#options.requestTimeoutMs,
        sasl: this.#options.sasl,
        tls: this.#options.tls,
      });
      if (this.#closed) {
        connection.close();
        return null;
      }
      peer.connection = connection;
      peer.backoffMs = RECONNECT_BACKOFF_MIN_MS;
      peer.unreachable = false;
      return connection;
    } catch (error) {
      peer.unreachable = true;
      peer.retryAtMs = Date.now() + peer.backoffMs;
      peer.backoffMs = Math.min(peer.backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
      this.#options.logger.debug(
        `Cannot connect to node ${endpoint.nodeId} at ${endpoint.host}:${endpoint.port}: ${
          (error as Error).message
        }`,
      );
      return null;
    }
  }
}
