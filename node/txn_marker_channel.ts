/**
 * Sends the transaction coordinator's markers (Kafka's TransactionMarkerChannelManager): for one
 * prepared transaction, a WriteTxnMarkers request (v1, else the highest the leader serves) to the
 * leader of each of its partitions over the inter-broker listener, repeated for the partitions
 * not yet acknowledged until all are. Then the job's `done` is called, and the coordinator writes
 * CompleteCommit/CompleteAbort.
 *
 * Per partition, as Kafka's TransactionMarkerRequestCompletionHandler:
 * - NONE: acknowledged;
 * - the topic no longer exists in the metadata image: dropped (nothing left to mark);
 * - INVALID_PRODUCER_EPOCH: the partition already holds a newer epoch of this producer, so this
 *   marker is obsolete: dropped with a warning;
 * - TRANSACTION_COORDINATOR_FENCED: a newer coordinator owns the transaction: the job stops
 *   without `done`;
 * - anything else (no leader, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, a refused connection,
 *   a timeout): retried after `retryBackoffMs`.
 *
 * @module
 */

import type { MarkerRequest } from "../core/txn/types.ts";
import { KafkaConnection } from "../net/connection.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { WriteTxnMarkersResponse } from "../net/protocol/generated/write_txn_markers_response.ts";
import type { BrokerContext } from "./broker_context.ts";
import { interBrokerConnectSasl, interBrokerConnectTls } from "./listener_tls.ts";

/** One transaction's markers to deliver. */
export interface MarkerJob {
  markers: MarkerRequest;
  /** The leader epoch of the `__transaction_state` partition (Kafka's coordinator epoch). */
  coordinatorEpoch: number;
  /** Called once every partition acknowledged (or was dropped). */
  done(): void;
}

/** Options for {@link TxnMarkerChannel}. */
export interface TxnMarkerChannelOptions {
  /** Delay before partitions that failed are tried again (default 100 ms). */
  retryBackoffMs?: number;
  /** Timeout of one WriteTxnMarkers request (default 30 s, Kafka's request.timeout.ms). */
  requestTimeoutMs?: number;
  /** Bound on the attempts of one job before it is given up with an error (default 1e9). */
  attemptsMax?: number;
}

/** A handle on running jobs: `cancel` stops them (the coordinator lost the partition). */
export interface MarkerJobHandle {
  cancel(): void;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * Delivers WriteTxnMarkers to partition leaders.
 *
 * @example
 * ```ts ignore
 * const channel = new TxnMarkerChannel(ctx);
 * const job = channel.send({ markers, coordinatorEpoch: 3, done: () => complete() });
 * // on losing the coordinator partition: job.cancel(); on shutdown: channel.close();
 * ```
 */
export class TxnMarkerChannel {
  readonly #ctx: BrokerContext;
  readonly #retryBackoffMs: number;
  readonly #requestTimeoutMs: number;
  readonly #attemptsMax: number;
  readonly #connections = new Map<number, Promise<KafkaConnection>>();
  readonly #timers = new Set<Timer>();
  #closed = false;

  constructor(ctx: BrokerContext, options: TxnMarkerChannelOptions = {}) {
    this.#ctx = ctx;
    this.#retryBackoffMs = options.retryBackoffMs ?? 100;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#attemptsMax = options.attemptsMax ?? 1e9;
  }

  /** Starts delivering `job`'s markers. */
  send(job: MarkerJob): MarkerJobHandle {
    const remaining = new Map<string, { topic: string; partition: number }>();
    for (const t of job.markers.partitions) {
      for (const partition of t.partitions) {
        remaining.set(`${t.topic}\u0000${partition}`, { topic: t.topic, partition });
      }
    }
    const state = { cancelled: false };
    void this.#run(job, remaining, state);
    return { cancel: () => state.cancelled = true };
  }

  /** Closes the connections and stops every job. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const connection of this.#connections.values()) {
      connection.then((c) => c.close(), () => {});
    }
    this.#connections.clear();
  }

  async #run(
    job: MarkerJob,
    remaining: Map<string, { topic: string; partition: number }>,
    state: { cancelled: boolean },
  ): Promise<void> {
    const m = job.markers;
    for (let attempt = 1; attempt <= this.#attemptsMax; attempt++) {
      if (state.cancelled || this.#closed) return;
      const byLeader = this.#groupByLeader(remaining);
      const outcomes = await Promise.all(
        [...byLeader].map(([leader, partitions]) => this.#sendTo(leader, job, partitions)),
      );
      if (state.cancelled || this.#closed) return;
      for (const outcome of outcomes) {
        if (outcome === "fenced") {
          this.#ctx.logger.warn(
            `A newer coordinator owns the transaction of ${m.transactionalId}: stopping its markers`,
          );
          return;
        }
        for (const key of outcome) remaining.delete(key);
      }
      if (remaining.size === 0) {
        job.done();
        return;
      }
      await this.#sleep(this.#retryBackoffMs);
    }
    this.#ctx.logger.error(
      `Gave up sending the markers of ${m.transactionalId} after ${this.#attemptsMax} attempts`,
    );
  }

  /** Leader id -> partition keys; partitions of deleted topics are dropped, leaderless ones wait. */
  #groupByLeader(
    remaining: Map<string, { topic: string; partition: number }>,
  ): Map<number, Map<string, { topic: string; partition: number }>> {
    const image = this.#ctx.metadata.image;
    const byLeader = new Map<number, Map<string, { topic: string; partition: number }>>();
    for (const [key, tp] of remaining) {
      const topic = image.topics.byName.get(tp.topic);
      const registration = topic?.partitions.get(tp.partition);
      if (topic === undefined || registration === undefined) {
        remaining.delete(key);
        continue;
      }
      if (registration.leader < 0) continue;
      let group = byLeader.get(registration.leader);
      if (group === undefined) byLeader.set(registration.leader, group = new Map());
      group.set(key, tp);
    }
    return byLeader;
  }

  /** The keys the leader acknowledged (or made obsolete), or "fenced". */
  async #sendTo(
    leader: number,
    job: MarkerJob,
    partitions: Map<string, { topic: string; partition: number }>,
  ): Promise<string[] | "fenced"> {
    const topics = new Map<string, number[]>();
    for (const tp of partitions.values()) {
      const list = topics.get(tp.topic) ?? [];
      list.push(tp.partition);
      topics.set(tp.topic, list);
    }
    const m = job.markers;
    let response: WriteTxnMarkersResponse;
    try {
      const connection = await this.#connection(leader);
      response = await connection.send<WriteTxnMarkersResponse>(ApiKey.WRITE_TXN_MARKERS, {
        markers: [{
          producerId: m.producerId,
          producerEpoch: m.producerEpoch,
          transactionResult: m.committed,
          topics: [...topics].map(([name, partitionIndexes]) => ({
            name,
            partitionIndexes,
            _unknownTaggedFields: [],
          })),
          coordinatorEpoch: job.coordinatorEpoch,
          _unknownTaggedFields: [],
        }],
      }, {
        version: connection.versionFor(ApiKey.WRITE_TXN_MARKERS, 1),
        timeoutMs: this.#requestTimeoutMs,
      });
    } catch (error) {
      this.#dropConnection(leader);
      this.#ctx.logger.debug(
        `WriteTxnMarkers to broker ${leader} for ${m.transactionalId} failed: ${
          (error as Error).message
        }`,
      );
      return [];
    }
    const acknowledged: string[] = [];
    for (const result of response.markers) {
      for (const t of result.topics) {
        for (const p of t.partitions) {
          const key = `${t.name}\u0000${p.partitionIndex}`;
          if (!partitions.has(key)) continue;
          if (p.errorCode === ErrorCode.NONE) acknowledged.push(key);
          else if (p.errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) return "fenced";
          else if (p.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH) {
            this.#ctx.logger.warn(
              `${t.name}-${p.partitionIndex} holds a newer epoch of producer ${m.producerId} ` +
                `than ${m.producerEpoch}: dropping the marker of ${m.transactionalId}`,
            );
            acknowledged.push(key);
          }
        }
      }
    }
    return acknowledged;
  }

  #connection(brokerId: number): Promise<KafkaConnection> {
    const existing = this.#connections.get(brokerId);
    if (existing !== undefined) {
      return existing.then((c) => {
        if (!c.closed) return c;
        this.#connections.delete(brokerId);
        return this.#connection(brokerId);
      });
    }
    const broker = this.#ctx.metadata.image.cluster.brokers.get(brokerId);
    const listener = this.#ctx.config.interBrokerListenerName;
    const endpoint = broker?.endpoints.find((e) => e.name === listener) ?? broker?.endpoints[0];
    if (endpoint === undefined) {
      return Promise.reject(new Error(`broker ${brokerId} has no known address`));
    }
    const connecting = KafkaConnection.connect(endpoint.host, endpoint.port, {
      clientId: `broker-${this.#ctx.nodeId}-txn-marker-sender`,
      connectTimeoutMs: 2_000,
      requestTimeoutMs: this.#requestTimeoutMs,
      tls: interBrokerConnectTls(this.#ctx.config),
      sasl: interBrokerConnectSasl(this.#ctx.config),
    });
    this.#connections.set(brokerId, connecting);
    connecting.catch(() => this.#connections.delete(brokerId));
    return connecting;
  }

  #dropConnection(brokerId: number): void {
    const existing = this.#connections.get(brokerId);
    this.#connections.delete(brokerId);
    existing?.then((c) => c.close(), () => {});
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }
}
