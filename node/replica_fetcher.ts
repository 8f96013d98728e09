/**
 * Follower replication (Kafka's `ReplicaFetcherManager` / `ReplicaFetcherThread`): one fetch loop
 * per leader broker, fetching every partition this broker follows from that leader with Kafka's
 * own Fetch (v15+: `ReplicaState` carries the follower's id and broker epoch; v12+: the last
 * fetched epoch, so the leader answers with a diverging epoch when the logs differ). Each answer is
 * applied through the pure decisions of `core/replication/follower.ts`: append verbatim, truncate,
 * or start over at the leader's log start.
 *
 * Fetches use an incremental fetch session (KIP-227) per leader: the first request is full and
 * opens the session, later ones list only the partitions whose fetch position changed and the ones
 * to forget (removed, or backing off after an error); a session the leader no longer knows starts
 * over with a full fetch.
 *
 * A follower's fetch offset is its log end, and the next fetch is sent only after the previous
 * answer's appends are durable, so what the leader counts toward its high watermark is on this
 * broker's disk. Connection failures and partition errors back off for `replica.fetch.backoff.ms`
 * (bounded); a partition whose leader changes moves to the fetcher of its new leader.
 *
 * @module
 */
import { KafkaConnection, type SaslCredentials } from "../net/connection.ts";
import { FrameBufferPool } from "../net/frame_reader.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { FetchResponse, PartitionData } from "../net/protocol/generated/fetch_response.ts";
import { ZERO_UUID } from "../net/protocol/uuid.ts";
import { followerAction, type FollowerLogView } from "../core/replication/follower.ts";
import type { Logger } from "../core/log.ts";
import type { Partition } from "./partition.ts";

/** The Fetch version this fetcher speaks at most (Kafka 3.9's inter-broker Fetch). */
const FETCH_VERSION_MAX = 17;
/** Fetch rounds between checks that the loop should go on (every round is bounded in time). */
const ROUNDS_MAX = Number.MAX_SAFE_INTEGER;
/** Session epochs wrap from this back to 1 (Kafka's `FetchMetadata.nextEpoch`). */
const SESSION_EPOCH_MAX = 0x7fff_ffff;

/** What the leader's session holds for one partition, as last sent. */
interface SessionPartition {
  fetchOffset: number;
  leaderEpoch: number;
  lastFetchedEpoch: number;
}

/** Where a broker listens for other brokers. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** Settings of the fetchers (Kafka's `replica.fetch.*`). */
export interface ReplicaFetcherConfig {
  /** `replica.fetch.wait.max.ms`. */
  waitMaxMs: number;
  /** `replica.fetch.min.bytes`. */
  minBytes: number;
  /** `replica.fetch.response.max.bytes`. */
  responseMaxBytes: number;
  /** `replica.fetch.max.bytes`. */
  partitionMaxBytes: number;
  /** `replica.fetch.backoff.ms`. */
  backoffMs: number;
  /** `replica.socket.timeout.ms`-like bound on one request beyond its wait. */
  requestTimeoutMs: number;
}

/** Options of {@link ReplicaFetcherManager}. */
export interface ReplicaFetcherManagerOptions {
  nodeId: number;
  clusterId: string;
  brokerEpoch: () => bigint;
  /** The inter-broker address of a broker, or null when unknown (not registered). */
  addressOf: (brokerId: number) => BrokerAddress | null;
  logger: Logger;
  config: ReplicaFetcherConfig;
  /** TLS for an `SSL` inter-broker listener (`KafkaConnection`'s option); absent for PLAINTEXT. */
  tls?: { caCerts?: string[] };
  /** SASL for a `SASL_*` inter-broker listener (`KafkaConnection`'s option). */
  sasl?: SaslCredentials;
  /**
   * The follower side of the replication quota (KIP-73): partitions it holds are left out of
   * fetches for now; fetched bytes of throttled replicas are counted. Absent: no quota.
   */
  throttle?: {
    holds(p: Partition, nowMs: number): boolean;
    record(p: Partition, bytes: number, nowMs: number): void;
  };
}

function keyOf(p: Partition): string {
  return `${p.topic}-${p.partition}`;
}

/** The local log as the follower decisions see it. */
function logView(p: Partition): FollowerLogView {
  return {
    logStartOffset: p.log.logStartOffset,
    logEndOffset: p.log.logEndOffset,
    endOffsetForEpoch: (epoch) => p.log.endOffsetForLeaderEpoch(epoch),
    latestEpoch: () => p.log.latestEpoch() ?? -1,
  };
}

/**
 * The follower side of every partition this broker replicates.
 *
 * @example
 * ```ts ignore
 * const fetchers = new ReplicaFetcherManager({ nodeId: 2, clusterId, brokerEpoch, addressOf, logger, config });
 * fetchers.follow(partition); // after the image made this broker a follower of it
 * await fetchers.close();
 * ```
 */
export class ReplicaFetcherManager {
  readonly #options: ReplicaFetcherManagerOptions;
  readonly #fetchers = new Map<number, ReplicaFetcher>();
  /** Which leader's fetcher holds each partition. */
  readonly #leaderOf = new Map<string, number>();
  #closed = false;

  constructor(options: ReplicaFetcherManagerOptions) {
    this.#options = options;
  }

  /** Fetches `p` from its current leader (moving it from another fetcher), or stops when none. */
  follow(p: Partition): void {
    if (this.#closed) return;
    const key = keyOf(p);
    const current = this.#leaderOf.get(key);
    const leaderId = p.role === "follower" ? p.leaderId : -1;
    if (current !== undefined && current !== leaderId) {
      this.#fetchers.get(current)?.remove(key);
      this.#leaderOf.delete(key);
    }
    if (leaderId < 0) return;
    let fetcher = this.#fetchers.get(leaderId);
    if (fetcher === undefined || fetcher.stopped) {
      fetcher = new ReplicaFetcher(leaderId, this.#options, () => {
        if (this.#fetchers.get(leaderId) === fetcher) this.#fetchers.delete(leaderId);
      });
      this.#fetchers.set(leaderId, fetcher);
    }
    fetcher.add(key, p);
    this.#leaderOf.set(key, leaderId);
  }

  /** Stops fetching `p` (it was removed, or this broker leads it now). */
  unfollow(p: Partition): void {
    const key = keyOf(p);
    const current = this.#leaderOf.get(key);
    if (current === undefined) return;
    this.#fetchers.get(current)?.remove(key);
    this.#leaderOf.delete(key);
  }

  /** Follower lag of `p` as last seen: the leader's high watermark minus its log end, or -1. */
  lagOf(p: Partition): number {
    const fetcher = this.#fetchers.get(this.#leaderOf.get(keyOf(p)) ?? -1);
    return fetcher?.lagOf(keyOf(p)) ?? -1;
  }

  /** Stops every fetch loop and waits for them to end. */
  async close(): Promise<void> {
    this.#closed = true;
    const fetchers = [...this.#fetchers.values()];
    this.#fetchers.clear();
    await Promise.all(fetchers.map((f) => f.stop()));
  }
}

/** One fetch loop against one leader. */
class ReplicaFetcher {
  readonly leaderId: number;
  readonly #options: ReplicaFetcherManagerOptions;
  readonly #onStop: () => void;
  readonly #partitions = new Map<string, Partition>();
  /** Partitions backing off after an error, until this time. */
  readonly #delayedUntilMs = new Map<string, number>();
  /** Removed partitions the leader's session still holds, until a fetch forgot them. */
  readonly #forgettable = new Map<string, Partition>();
  /** The leader's high watermark as last answered, per partition. */
  readonly #leaderHighWatermark = new Map<string, number>();
  #connection: KafkaConnection | null = null;
  /**
   * Buffers for fetch responses: each is given back once its batches are appended (written to
   * the segment file, nothing keeps a view), so the next response lands in memory already
   * touched instead of a fresh 1-10 MiB buffer per round (a third of a follower's CPU went to
   * reading responses into fresh memory and collecting it).
   */
  readonly #framePool: FrameBufferPool;
  /** The fetch session with the leader: id 0 means the next fetch is full and opens one. */
  #sessionId = 0;
  #sessionEpoch = 0;
  readonly #sessionPartitions = new Map<string, SessionPartition>();
  #running: Promise<void> | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(leaderId: number, options: ReplicaFetcherManagerOptions, onStop: () => void) {
    this.leaderId = leaderId;
    this.#options = options;
    this.#onStop = onStop;
    this.#framePool = new FrameBufferPool(2 * options.config.responseMaxBytes);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  add(key: string, p: Partition): void {
    this.#partitions.set(key, p);
    this.#delayedUntilMs.delete(key);
    this.#wake?.();
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
      this.#connection?.close();
      this.#connection = null;
      if (!this.#stopped && this.#partitions.size > 0) {
        this.#running = this.#run();
      } else {
        this.#stopped = true;
        this.#onStop();
      }
    });
  }

  remove(key: string): void {
    const p = this.#partitions.get(key);
    if (p !== undefined && this.#sessionPartitions.has(key)) this.#forgettable.set(key, p);
    this.#partitions.delete(key);
    this.#leaderHighWatermark.delete(key);
    this.#delayedUntilMs.delete(key);
  }

  lagOf(key: string): number {
    const p = this.#partitions.get(key);
    const hw = this.#leaderHighWatermark.get(key);
    if (p === undefined || hw === undefined) return -1;
    return Math.max(0, hw - p.logEndOffset);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#connection?.close();
    this.#wake?.();
    await this.#running?.catch(() => {});
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const config = this.#options.config;
    for (let round = 0; round < ROUNDS_MAX && !this.#stopped; round++) {
      if (this.#partitions.size === 0) return;
      const due = this.#duePartitions();
      if (due.length === 0) {
        await this.#sleep(config.backoffMs);
        continue;
      }
      try {
        const connection = await this.#connect();
        await this.#fetchOnce(connection, due);
      } catch (error) {
        if (this.#stopped) return;
        this.#options.logger.debug(
          `Replica fetch from broker ${this.leaderId} failed: ${(error as Error).message}`,
        );
        this.#connection?.close();
        this.#connection = null;
        this.#resetSession();
        await this.#sleep(config.backoffMs);
      }
    }
  }

  #resetSession(): void {
    this.#sessionId = 0;
    this.#sessionEpoch = 0;
    this.#sessionPartitions.clear();
  }

  #duePartitions(): Partition[] {
    const nowMs = Date.now();
    const due: Partition[] = [];
    for (const [key, p] of this.#partitions) {
      if (p.closed || p.role !== "follower" || p.leaderId !== this.leaderId) {
        this.remove(key);
        continue;
      }
      if ((this.#delayedUntilMs.get(key) ?? 0) > nowMs) continue;
      if (this.#options.throttle?.holds(p, nowMs)) continue;
      due.push(p);
    }
    return due;
  }

  async #connect(): Promise<KafkaConnection> {
    if (this.#connection !== null && !this.#connection.closed) return this.#connection;
    const address = this.#options.addressOf(this.leaderId);
    if (address === null) throw new Error(`broker ${this.leaderId} has no known address`);
    this.#connection = await KafkaConnection.connect(address.host, address.port, {
      clientId: `broker-${this.#options.nodeId}-fetcher-${this.leaderId}`,
      connectTimeoutMs: 2_000,
      requestTimeoutMs: this.#options.config.requestTimeoutMs,
      tls: this.#options.tls,
      sasl: this.#options.sasl,
      framePool: this.#framePool,
    });
    return this.#connection;
  }

  async #fetchOnce(connection: KafkaConnection, due: Partition[]): Promise<void> {
    const config = this.#options.config;
    const version = connection.versionFor(ApiKey.FETCH, FETCH_VERSION_MAX);
    const usesTopicIds = version >= 13;
    const incremental = version >= 7 && this.#sessionId !== 0;
    const sent = new Map<string, { p: Partition; fetchOffset: number; epoch: number }>();
    const byTopic = new Map<string, { topic: string; topicId: string; partitions: unknown[] }>();
    const positions = new Map<string, SessionPartition>();
    for (const p of due) {
      const fetchOffset = p.log.logEndOffset;
      const key = keyOf(p);
      sent.set(key, { p, fetchOffset, epoch: p.leaderEpoch });
      const position = {
        fetchOffset,
        leaderEpoch: p.leaderEpoch,
        lastFetchedEpoch: p.log.latestEpoch() ?? -1,
      };
      positions.set(key, position);
      const inSession = this.#sessionPartitions.get(key);
      if (
        incremental && inSession !== undefined && inSession.fetchOffset === fetchOffset &&
        inSession.leaderEpoch === position.leaderEpoch &&
        inSession.lastFetchedEpoch === position.lastFetchedEpoch
      ) {
        continue; // the leader's session already fetches it from here
      }
      let entry = byTopic.get(p.topic);
      if (entry === undefined) {
        entry = { topic: p.topic, topicId: p.topicId, partitions: [] };
        byTopic.set(p.topic, entry);
      }
      entry.partitions.push({
        partition: p.partition,
        currentLeaderEpoch: p.leaderEpoch,
        fetchOffset: BigInt(fetchOffset),
        lastFetchedEpoch: position.lastFetchedEpoch,
        logStartOffset: BigInt(p.log.logStartOffset),
        partitionMaxBytes: config.partitionMaxBytes,
        replicaDirectoryId: ZERO_UUID,
        _unknownTaggedFields: [],
      });
    }
    // Partitions the session holds but this fetch must not read: removed or backing off.
    const forgotten = new Map<string, { topic: string; topicId: string; partitions: number[] }>();
    if (incremental) {
      for (const key of this.#sessionPartitions.keys()) {
        if (positions.has(key)) continue;
        const p = this.#partitions.get(key) ?? this.#forgettable.get(key);
        if (p === undefined) continue;
        const entry = forgotten.get(p.topic) ??
          { topic: p.topic, topicId: p.topicId, partitions: [] };
        forgotten.set(p.topic, entry);
        entry.partitions.push(p.partition);
      }
    }
    const replicaId = this.#options.nodeId;
    const sessionEpoch = version >= 7 ? (incremental ? this.#sessionEpoch : 0) : -1;
    const response = await connection.send<FetchResponse>(ApiKey.FETCH, {
      clusterId: null,
      replicaId: version < 15 ? replicaId : -1,
      replicaState: {
        replicaId: version >= 15 ? replicaId : -1,
        replicaEpoch: version >= 15 ? this.#options.brokerEpoch() : -1n,
        _unknownTaggedFields: [],
      },
      maxWaitMs: config.waitMaxMs,
      minBytes: config.minBytes,
      maxBytes: config.responseMaxBytes,
      isolationLevel: 0,
      sessionId: incremental ? this.#sessionId : 0,
      sessionEpoch,
      topics: [...byTopic.values()].map((t) => ({
        topic: usesTopicIds ? "" : t.topic,
        topicId: usesTopicIds ? t.topicId : ZERO_UUID,
        partitions: t.partitions,
        _unknownTaggedFields: [],
      })),
      forgottenTopicsData: [...forgotten.values()].map((t) => ({
        topic: usesTopicIds ? "" : t.topic,
        topicId: usesTopicIds ? t.topicId : ZERO_UUID,
        partitions: t.partitions,
        _unknownTaggedFields: [],
      })),
      rackId: "",
    }, { version, timeoutMs: config.waitMaxMs + config.requestTimeoutMs });
    if (
      response.errorCode === ErrorCode.FETCH_SESSION_ID_NOT_FOUND ||
      response.errorCode === ErrorCode.INVALID_FETCH_SESSION_EPOCH
    ) {
      this.#resetSession(); // the leader forgot us (restart, eviction): start over, full
      return;
    }
    if (response.errorCode !== ErrorCode.NONE) {
      this.#resetSession();
      throw new Error(`the leader answered Fetch with error ${response.errorCode}`);
    }
    this.#forgettable.clear();
    if (version >= 7) {
      if (!incremental) {
        this.#sessionPartitions.clear();
        this.#sessionId = response.sessionId; // 0: the leader keeps no session for us
        this.#sessionEpoch = 1;
      } else {
        this.#sessionEpoch = this.#sessionEpoch >= SESSION_EPOCH_MAX ? 1 : this.#sessionEpoch + 1;
        for (const key of [...this.#sessionPartitions.keys()]) {
          if (!positions.has(key)) this.#sessionPartitions.delete(key);
        }
      }
      if (this.#sessionId !== 0) {
        for (const [key, position] of positions) this.#sessionPartitions.set(key, position);
      }
    }
    const byId = new Map(due.map((p) => [p.topicId, p.topic]));
    const work: Promise<void>[] = [];
    let frameView: Uint8Array | null = null; // any view of the response frame
    for (const t of response.responses) {
      const topic = usesTopicIds ? byId.get(t.topicId) : t.topic;
      if (topic === undefined) continue;
      for (const data of t.partitions) {
        const s = sent.get(`${topic}-${data.partitionIndex}`);
        if (s === undefined) continue;
        if (data.records !== null && data.records.length > 0) frameView = data.records;
        work.push(this.#apply(s, data));
      }
    }
    await Promise.all(work);
    // Every answer is applied (appended and written, or dropped): no view of the frame is left.
    if (frameView !== null) this.#framePool.give(frameView);
  }

  /** Applies one partition's answer, unless the partition moved on meanwhile. */
  async #apply(
    s: { p: Partition; fetchOffset: number; epoch: number },
    data: PartitionData,
  ): Promise<void> {
    const { p } = s;
    const key = keyOf(p);
    if (
      p.closed || p.role !== "follower" || p.leaderId !== this.leaderId ||
      p.leaderEpoch !== s.epoch || p.log.logEndOffset !== s.fetchOffset
    ) {
      return;
    }
    const records = data.records ?? new Uint8Array(0);
    const diverging = data.divergingEpoch.epoch >= 0 || data.divergingEpoch.endOffset >= 0n
      ? { epoch: data.divergingEpoch.epoch, endOffset: Number(data.divergingEpoch.endOffset) }
      : null;
    const action = followerAction(logView(p), {
      errorCode: data.errorCode,
      highWatermark: Number(data.highWatermark),
      logStartOffset: Number(data.logStartOffset),
      divergingEpoch: diverging,
      recordsBytes: records.length,
    }, s.fetchOffset);
    try {
      switch (action.kind) {
        case "append":
          this.#options.throttle?.record(p, records.length, Date.now());
          this.#leaderHighWatermark.set(key, action.highWatermark);
          await p.appendAsFollower(records, {
            highWatermark: action.highWatermark,
            logStartOffset: action.leaderLogStartOffset,
          });
          return;
        case "idle":
          this.#leaderHighWatermark.set(key, action.highWatermark);
          await p.followLeader({
            highWatermark: action.highWatermark,
            logStartOffset: action.leaderLogStartOffset,
          });
          return;
        case "truncate":
          await p.truncateAsFollower(action.offset);
          return;
        case "restartAt":
          await p.restartAsFollower(action.offset);
          return;
        case "error":
          this.#backOff(key, p, `error ${action.errorCode}`);
          return;
      }
    } catch (error) {
      this.#backOff(key, p, (error as Error).message);
    }
  }

  #backOff(key: string, p: Partition, why: string): void {
    this.#options.logger.debug(
      `Replica fetch of ${key} from broker ${this.leaderId} (epoch ${p.leaderEpoch}) backs off: ${why}`,
    );
    this.#delayedUntilMs.set(key, Date.now() + this.#options.config.backoffMs);
  }
}
