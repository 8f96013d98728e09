/**
 * The broker's line to the active controller: Kafka RPCs (BrokerRegistration, BrokerHeartbeat,
 * CreateTopics, AllocateProducerIds, ...) over the controller listener, to whichever voter
 * currently leads. Retries on NOT_CONTROLLER and connection failures with bounded backoff,
 * alternating between the leader this node's raft replica knows and the other voters, and
 * cutting a backoff short when the known leader changes.
 *
 * @module
 */

import { KafkaConnection, type SaslCredentials } from "../net/connection.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { Logger } from "../core/log.ts";

/** First pause before retrying a refused or failed request, in milliseconds. */
const RETRY_BACKOFF_MIN_MS = 10;
/** Longest pause between retries, in milliseconds. */
const RETRY_BACKOFF_MAX_MS = 200;
/** How often a backoff checks whether a new leader became known, in milliseconds. */
const LEADER_POLL_MS = 5;

/** Where a controller listens. */
export interface ControllerEndpoint {
  nodeId: number;
  host: string;
  port: number;
}

/** Options for {@link ControllerChannel}. */
export interface ControllerChannelOptions {
  /** The voters' controller endpoints (controller.quorum.voters). */
  endpoints: () => readonly ControllerEndpoint[];
  /** The current raft leader id as this node knows it (-1 when unknown). */
  leaderId: () => number;
  clientId: string;
  logger: Logger;
  /** Overall time budget of one call, retries included (request.timeout.ms). */
  timeoutMs?: number;
  /** SASL for a `SASL_*` controller listener (`sasl.mechanism.controller.protocol`). */
  sasl?: SaslCredentials;
  /** TLS for an `SSL`/`SASL_SSL` controller listener, trusting these CA certificates. */
  tls?: { caCerts?: string[] };
}

/**
 * Responses that say "ask someone else": a top-level NOT_CONTROLLER, or (CreateTopics,
 * DeleteTopics, CreatePartitions, config changes) every per-resource entry NOT_CONTROLLER.
 */
function isNotController(response: unknown): boolean {
  const r = response as Record<string, unknown>;
  if (r.errorCode === ErrorCode.NOT_CONTROLLER) return true;
  for (const key of ["topics", "responses", "results"]) {
    const entries = r[key];
    if (Array.isArray(entries) && entries.length > 0) {
      return entries.every((e) =>
        (e as { errorCode?: number }).errorCode === ErrorCode.NOT_CONTROLLER
      );
    }
  }
  return false;
}

/**
 * Sends requests to the active controller.
 *
 * @example
 * ```ts ignore
 * const channel = new ControllerChannel({ endpoints, leaderId, clientId: "broker-1", logger });
 * const response = await channel.send(ApiKey.BROKER_HEARTBEAT, { brokerId: 1, ... });
 * ```
 */
export class ControllerChannel {
  readonly #options: ControllerChannelOptions;
  #connection: KafkaConnection | null = null;
  #connectedTo = -1;
  #closed = false;
  /** The controller that last refused or failed a request: tried again only after another. */
  #lastFailedId = -1;
  /** The controller the current or last connection attempt went to. */
  #targetId = -1;
  #walkIndex = 0;

  constructor(options: ControllerChannelOptions) {
    this.#options = options;
  }

  /**
   * Where the next attempt goes: the leader this node knows, unless it is the controller that
   * just refused or failed; then the next voter in turn (a dead leader's socket fails at once
   * and a live non-leader answers NOT_CONTROLLER at once, so walking finds the new leader).
   */
  #target(): ControllerEndpoint | undefined {
    const endpoints = this.#options.endpoints();
    const hinted = endpoints.find((e) => e.nodeId === this.#options.leaderId());
    if (hinted && hinted.nodeId !== this.#lastFailedId) return hinted;
    const others = endpoints.filter((e) => e.nodeId !== this.#lastFailedId);
    const pool = others.length > 0 ? others : endpoints;
    return pool[this.#walkIndex++ % Math.max(1, pool.length)];
  }

  async #connect(): Promise<KafkaConnection> {
    const target = this.#target();
    if (target === undefined) {
      throw new KafkaError(ErrorCode.NOT_CONTROLLER, "No controller endpoints are configured");
    }
    this.#targetId = target.nodeId;
    if (this.#connection && !this.#connection.closed && this.#connectedTo === target.nodeId) {
      return this.#connection;
    }
    this.#connection?.close();
    this.#connection = null;
    const conn = await KafkaConnection.connect(target.host, target.port, {
      clientId: this.#options.clientId,
      connectTimeoutMs: 2_000,
      requestTimeoutMs: this.#options.timeoutMs ?? 30_000,
      sasl: this.#options.sasl,
      tls: this.#options.tls,
    });
    this.#connection = conn;
    this.#connectedTo = target.nodeId;
    return conn;
  }

  /** Sleeps `backoffMs`, or less once another leader than the one that failed becomes known. */
  async #backoff(backoffMs: number, deadline: number): Promise<void> {
    const until = Math.min(Date.now() + backoffMs, deadline);
    const knownId = this.#options.leaderId();
    // Bounded: at most backoffMs / LEADER_POLL_MS rounds.
    while (!this.#closed && Date.now() < until) {
      const leaderId = this.#options.leaderId();
      if (leaderId >= 0 && leaderId !== knownId && leaderId !== this.#lastFailedId) return;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(LEADER_POLL_MS, until - Date.now()))
      );
    }
  }

  #failed(): void {
    this.#lastFailedId = this.#targetId;
    this.#connection?.close();
    this.#connection = null;
  }

  /**
   * Sends one request to the active controller and resolves with its response. A response whose
   * top-level error is NOT_CONTROLLER, or a failed connection, is retried until the time budget
   * runs out; then the last error is thrown (REQUEST_TIMED_OUT when the controller never answered).
   */
  async send<T>(
    apiKey: number,
    body: Record<string, unknown>,
    options: { timeoutMs?: number; version?: number } = {},
  ): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#options.timeoutMs ?? 30_000);
    let lastError: Error = new KafkaError(
      ErrorCode.REQUEST_TIMED_OUT,
      "The controller did not answer",
    );
    let backoffMs = RETRY_BACKOFF_MIN_MS;
    // Bounded by the deadline.
    while (!this.#closed && Date.now() < deadline) {
      try {
        const conn = await this.#connect();
        const remainingMs = Math.max(1, deadline - Date.now());
        const version = options.version === undefined
          ? undefined
          : Math.min(options.version, conn.versionFor(apiKey));
        const response = await conn.send<T>(apiKey, body, { timeoutMs: remainingMs, version });
        if (!isNotController(response)) {
          this.#lastFailedId = -1;
          return response;
        }
        lastError = new KafkaError(
          ErrorCode.NOT_CONTROLLER,
          "This node is not the active controller",
        );
        this.#failed();
      } catch (error) {
        lastError = error as Error;
        this.#failed();
      }
      await this.#backoff(backoffMs, deadline);
      backoffMs = Math.min(backoffMs * 2, RETRY_BACKOFF_MAX_MS);
    }
    if (lastError instanceof KafkaError) throw lastError;
    throw new KafkaError(
      ErrorCode.REQUEST_TIMED_OUT,
      `The active controller could not be reached: ${lastError.message}`,
    );
  }

  close(): void {
    this.#closed = true;
    this.#connection?.close();
    this.#connection = null;
  }
}
