/**
 * The routing core shared by `Admin`, `Producer` and `Consumer`: bootstrap from
 * `host:port[,host:port]`, a Metadata cache (leader per partition), coordinator lookup with
 * FindCoordinator, one pooled connection per node, and bounded retries with backoff on the errors
 * Kafka clients retry (stale leader, coordinator moving, broken connection).
 *
 * @module
 */

import { ConnectionError, KafkaConnection, type SaslCredentials } from "../connection.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode, errorMessage, errorName } from "../protocol/generated/errors.ts";
import {
  createMetadataRequestTopic,
  type MetadataRequest,
} from "../protocol/generated/metadata_request.ts";
import type { MetadataResponse } from "../protocol/generated/metadata_response.ts";
import type { FindCoordinatorResponse } from "../protocol/generated/find_coordinator_response.ts";

/** Options every client accepts. */
export interface ClientOptions {
  /** `host:port[,host:port]` or a list of `host:port`. */
  bootstrapServers: string | readonly string[];
  /** The client id sent in request headers (default "kraftling"). */
  clientId?: string;
  /** Per-request timeout in milliseconds (default 30000). */
  requestTimeoutMs?: number;
  /** TCP connect timeout in milliseconds (default 10000). */
  connectTimeoutMs?: number;
  /** How many times a retriable failure is retried (default 10). */
  retries?: number;
  /** First backoff between retries in milliseconds, doubled up to 1000 (default 100). */
  retryBackoffMs?: number;
  /**
   * Connect with TLS (`security.protocol=SSL|SASL_SSL`), trusting these PEM CA certificates; `cert`
   * and `key` (PEM) are presented to a listener that asks for a client certificate.
   */
  tls?: { caCerts?: string[]; cert?: string; key?: string };
  /** Authenticate with SASL (`security.protocol=SASL_PLAINTEXT|SASL_SSL`). */
  sasl?: SaslCredentials;
}

/** One partition as Metadata describes it. */
export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

/** One topic as Metadata describes it. */
export interface TopicMetadata {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

/** A broker's address. */
export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/**
 * Which of a client's connections to one broker a request takes. A broker answers one
 * connection's requests in order, so a Fetch parked there for up to fetch.max.wait.ms would hold
 * back every heartbeat, commit and metadata request behind it: fetches take a "fetch" connection
 * of their own, everything else the "main" one (Kafka's consumer likewise talks to its group
 * coordinator over a separate connection).
 */
export type ConnectionLane = "main" | "fetch";

/** Error codes after which a client refreshes metadata and retries. */
const RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.BROKER_NOT_AVAILABLE,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.OFFSET_NOT_AVAILABLE,
]);

/** True when a failure is worth a metadata refresh and another attempt. */
export function isRetriableFailure(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  return error instanceof KafkaError && RETRIABLE.has(error.code);
}

/**
 * Builds a `KafkaError` for `code` whose message names the resource, preferring the server's
 * message when it sent one.
 *
 * @example
 * ```ts
 * import { kafkaError } from "./cluster.ts";
 * kafkaError(3, "topic foo").message; // "UNKNOWN_TOPIC_OR_PARTITION (topic foo): ..."
 * ```
 */
export function kafkaError(code: number, resource: string, serverMessage?: string | null) {
  const message = serverMessage
    ? serverMessage
    : `${errorName(code)} (${resource}): ${errorMessage(code) || "no message"}`;
  return new KafkaError(code, message);
}

/** Throws {@link kafkaError} unless `code` is NONE. */
export function check(code: number, resource: string, serverMessage?: string | null): void {
  if (code !== ErrorCode.NONE) throw kafkaError(code, resource, serverMessage);
}

/**
 * Parses `host:port[,host:port]` into addresses; `[::1]:9092` IPv6 literals are accepted.
 *
 * @example
 * ```ts
 * import { parseBootstrap } from "./cluster.ts";
 * parseBootstrap("a:9092,b:9093"); // [{ host: "a", port: 9092 }, { host: "b", port: 9093 }]
 * ```
 */
export function parseBootstrap(
  servers: string | readonly string[],
): { host: string; port: number }[] {
  const list = typeof servers === "string" ? servers.split(",") : [...servers];
  const out: { host: string; port: number }[] = [];
  for (const raw of list) {
    const entry = raw.trim();
    if (entry === "") continue;
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(entry);
    const port = Number(match?.[3]);
    if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`Invalid bootstrap server '${entry}': expected host:port`);
    }
    out.push({ host: match[1] ?? match[2]!, port });
  }
  if (out.length === 0) throw new RangeError("No bootstrap servers given");
  return out;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Connections, metadata and retries for one client.
 *
 * @example
 * ```ts ignore
 * import { Cluster } from "./cluster.ts";
 * const cluster = new Cluster({ bootstrapServers: "127.0.0.1:9092" });
 * const leader = await cluster.leaderFor("orders", 0);
 * cluster.close();
 * ```
 */
export class Cluster {
  readonly options:
    & Required<Omit<ClientOptions, "bootstrapServers" | "tls" | "sasl">>
    & Pick<ClientOptions, "tls" | "sasl">;
  readonly bootstrap: { host: string; port: number }[];
  #brokers = new Map<number, BrokerAddress>();
  #topics = new Map<string, TopicMetadata>();
  #pool = new Map<string, Promise<KafkaConnection>>();
  #coordinators = new Map<string, number>();
  #closed = false;
  clusterId: string | null = null;
  controllerId = -1;

  constructor(options: ClientOptions) {
    this.bootstrap = parseBootstrap(options.bootstrapServers);
    this.options = {
      clientId: options.clientId ?? "kraftling",
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      retries: options.retries ?? 10,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      tls: options.tls,
      sasl: options.sasl,
    };
  }

  /** Known brokers from the last Metadata response. */
  get brokers(): BrokerAddress[] {
    return [...this.#brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  /** The pooled connection to `host:port` in `lane` (default "main"), opened on first use. */
  connect(
    host: string,
    port: number,
    options: { lane?: ConnectionLane } = {},
  ): Promise<KafkaConnection> {
    if (this.#closed) return Promise.reject(new ConnectionError("The client is closed"));
    const key = `${host}:${port}/${options.lane ?? "main"}`;
    const existing = this.#pool.get(key);
    if (existing !== undefined) {
      return existing.then((c) => (c.closed ? this.#reopen(key, host, port) : c));
    }
    return this.#reopen(key, host, port);
  }

  #reopen(key: string, host: string, port: number): Promise<KafkaConnection> {
    const opening = KafkaConnection.connect(host, port, {
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      tls: this.options.tls,
      sasl: this.options.sasl,
    });
    this.#pool.set(key, opening);
    opening.catch(() => {
      if (this.#pool.get(key) === opening) this.#pool.delete(key);
    });
    return opening;
  }

  /** The connection to broker `nodeId` in `lane` (refreshing metadata once when it is unknown). */
  async connectionTo(
    nodeId: number,
    options: { lane?: ConnectionLane } = {},
  ): Promise<KafkaConnection> {
    let broker = this.#brokers.get(nodeId);
    if (broker === undefined) {
      await this.refreshMetadata([]);
      broker = this.#brokers.get(nodeId);
    }
    if (broker === undefined) {
      throw new KafkaError(
        ErrorCode.BROKER_NOT_AVAILABLE,
        `Broker ${nodeId} is not in the cluster`,
      );
    }
    return this.connect(broker.host, broker.port, options);
  }

  /** A connection to any reachable broker: known brokers first, then the bootstrap list. */
  async anyConnection(): Promise<KafkaConnection> {
    const candidates = [
      ...this.brokers.map((b) => ({ host: b.host, port: b.port })),
      ...this.bootstrap,
    ];
    let last: unknown;
    for (const { host, port } of candidates) {
      try {
        return await this.connect(host, port);
      } catch (error) {
        last = error;
      }
    }
    const list = this.bootstrap.map((b) => `${b.host}:${b.port}`).join(",");
    throw new ConnectionError(
      `Cannot reach any of ${list}: ${(last as Error | undefined)?.message ?? "no servers"}`,
    );
  }

  /**
   * Sends Metadata for `topics` (null: all topics, []: brokers only) and updates the cache.
   */
  async refreshMetadata(
    topics: readonly string[] | null,
    allowAutoTopicCreation = false,
  ): Promise<MetadataResponse> {
    const conn = await this.anyConnection();
    const version = conn.versionFor(ApiKey.METADATA, 12);
    const body: Partial<MetadataRequest> = {
      topics: topics === null ? null : topics.map((name) => createMetadataRequestTopic({ name })),
      allowAutoTopicCreation,
    };
    const response = await conn.send<MetadataResponse>(ApiKey.METADATA, body, { version });
    this.clusterId = response.clusterId;
    this.controllerId = response.controllerId;
    if (response.brokers.length > 0) this.#brokers.clear();
    for (const b of response.brokers) this.#brokers.set(b.nodeId, { ...b });
    for (const t of response.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== ErrorCode.NONE && t.partitions.length === 0) {
        this.#topics.delete(t.name);
        continue;
      }
      this.#topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas,
            errorCode: p.errorCode,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    return response;
  }

  /**
   * Cached metadata of `topic`, fetched when missing; throws UNKNOWN_TOPIC_OR_PARTITION.
   * Producers pass `allowAutoTopicCreation` (as Kafka's producer does), so a broker with
   * `auto.create.topics.enable` creates the topic and answers LEADER_NOT_AVAILABLE until ready.
   */
  async topic(
    name: string,
    refresh = false,
    allowAutoTopicCreation = false,
  ): Promise<TopicMetadata> {
    if (refresh || !this.#topics.has(name)) {
      const response = await this.refreshMetadata([name], allowAutoTopicCreation);
      const t = response.topics.find((x) => x.name === name);
      if (t !== undefined && t.errorCode !== ErrorCode.NONE) {
        throw kafkaError(
          t.errorCode,
          `topic ${name}`,
          t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            ? `Topic '${name}' does not exist`
            : null,
        );
      }
    }
    const topic = this.#topics.get(name);
    if (topic === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist`);
    }
    return topic;
  }

  /** The cached topic id of `name`, or undefined. */
  topicIdOf(name: string): string | undefined {
    return this.#topics.get(name)?.topicId;
  }

  /** The topic name of a topic id from the cache, or undefined. */
  topicNameOf(topicId: string): string | undefined {
    for (const t of this.#topics.values()) if (t.topicId === topicId) return t.name;
    return undefined;
  }

  /** The leader of a partition; throws LEADER_NOT_AVAILABLE (retriable) when it has none. */
  async leaderFor(topic: string, partition: number): Promise<number> {
    const t = await this.topic(topic);
    const p = t.partitions.find((x) => x.partition === partition);
    if (p === undefined) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `Partition ${topic}-${partition} does not exist`,
      );
    }
    if (p.leader < 0) {
      throw new KafkaError(
        ErrorCode.LEADER_NOT_AVAILABLE,
        `Partition ${topic}-${partition} has no leader`,
      );
    }
    return p.leader;
  }

  /** Forgets cached leaders so the next lookup asks Metadata again. */
  invalidate(topic?: string): void {
    if (topic === undefined) this.#topics.clear();
    else this.#topics.delete(topic);
  }

  /** The group (keyType 0) or transaction (1) coordinator's node id, via FindCoordinator. */
  async coordinatorFor(key: string, keyType = 0): Promise<number> {
    const cacheKey = `${keyType}:${key}`;
    const cached = this.#coordinators.get(cacheKey);
    if (cached !== undefined) return cached;
    const conn = await this.anyConnection();
    const version = conn.versionFor(ApiKey.FIND_COORDINATOR, 6);
    const body = version >= 4 ? { keyType, coordinatorKeys: [key] } : { keyType, key };
    const r = await conn.send<FindCoordinatorResponse>(ApiKey.FIND_COORDINATOR, body, { version });
    const entry = version >= 4 ? r.coordinators[0] : r;
    if (entry === undefined) {
      throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `No coordinator for ${key}`);
    }
    check(entry.errorCode, `coordinator of ${key}`, entry.errorMessage);
    if (!this.#brokers.has(entry.nodeId)) {
      this.#brokers.set(entry.nodeId, {
        nodeId: entry.nodeId,
        host: entry.host,
        port: entry.port,
        rack: null,
      });
    }
    this.#coordinators.set(cacheKey, entry.nodeId);
    return entry.nodeId;
  }

  /** Forgets a cached coordinator (after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE). */
  forgetCoordinator(key: string, keyType = 0): void {
    this.#coordinators.delete(`${keyType}:${key}`);
  }

  /**
   * Runs `attempt` until it succeeds, retrying retriable failures (after dropping cached metadata
   * and coordinators) up to `retries` times with doubling backoff capped at one second.
   */
  async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    let backoffMs = this.options.retryBackoffMs;
    for (let tries = 0;; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (this.#closed || tries >= this.options.retries || !isRetriableFailure(error)) {
          throw error;
        }
        this.#topics.clear();
        this.#coordinators.clear();
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 1000);
      }
    }
  }

  /** Closes every pooled connection. */
  close(): void {
    this.#closed = true;
    for (const pending of this.#pool.values()) pending.then((c) => c.close(), () => {});
    this.#pool.clear();
  }
}
