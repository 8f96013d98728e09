/**
 * The broker's line to the active controller: Kafka RPCs (BrokerRegistration, BrokerHeartbeat,
 * CreateTopics, AllocateProducerIds, ...) over the controller listener, to whichever voter
 * currently leads. Retries on NOT_CONTROLLER and connection failures with bounded backoff.
 *
 * @module
 */

import { KafkaConnection } from "../net/connection.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { Logger } from "../core/log.ts";

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

  constructor(options: ControllerChannelOptions) {
    this.#options = options;
  }

  async #connect(attempt: number): Promise<KafkaConnection> {
    const leaderId = this.#options.leaderId();
    const endpoints = this.#options.endpoints();
    // First try the leader we know of; after a failure our view may be stale (the leader just
    // died and our own fetch has not timed out yet), so walk the voters: a non-leader answers
    // NOT_CONTROLLER at once and the new leader answers for real.
    const hinted = endpoints.find((e) => e.nodeId === leaderId);
    const target = attempt === 0 || endpoints.length === 0
      ? hinted ?? endpoints[0]
      : endpoints[(attempt - 1) % endpoints.length];
    if (target === undefined) {
      throw new KafkaError(ErrorCode.NOT_CONTROLLER, "No controller endpoints are configured");
    }
    if (this.#connection && !this.#connection.closed && this.#connectedTo === target.nodeId) {
      return this.#connection;
    }
    this.#connection?.close();
    this.#connection = null;
    const conn = await KafkaConnection.connect(target.host, target.port, {
      clientId: this.#options.clientId,
      connectTimeoutMs: 2_000,
      requestTimeoutMs: this.#options.timeoutMs ?? 30_000,
    });
    this.#connection = conn;
    this.#connectedTo = target.nodeId;
    return conn;
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
    let backoffMs = 20;
    // Bounded by the deadline.
    for (let attempt = 0; !this.#closed && Date.now() < deadline; attempt++) {
      try {
        const conn = await this.#connect(attempt);
        const remainingMs = Math.max(1, deadline - Date.now());
        const version = options.version === undefined
          ? undefined
          : Math.min(options.version, conn.versionFor(apiKey));
        const response = await conn.send<T>(apiKey, body, { timeoutMs: remainingMs, version });
        if (!isNotController(response)) return response;
        lastError = new KafkaError(
          ErrorCode.NOT_CONTROLLER,
          "This node is not the active controller",
        );
        this.#connection?.close();
        this.#connection = null;
      } catch (error) {
        lastError = error as Error;
        this.#connection?.close();
        this.#connection = null;
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 500);
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
