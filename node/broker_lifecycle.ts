/**
 * The broker's life with the controller (KIP-631): register with BrokerRegistration, then send
 * BrokerHeartbeat with the applied metadata offset until the controller unfences it, then keep
 * heartbeating. Controlled shutdown asks to shut down and waits for the go-ahead (bounded).
 * A failed log directory (KIP-858) is reported at once and then in every heartbeat's
 * `OfflineLogDirs`; when no heartbeat carrying it is answered within `log.dir.failure.timeout.ms`,
 * the broker must stop (Kafka's `BrokerLifecycleManager.propagateDirectoryFailure`).
 *
 * @module
 */

import { readCleanShutdownBrokerEpoch } from "../storage/log/log_manager.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode, errorName } from "../net/protocol/generated/errors.ts";
import type { BrokerRegistrationResponse } from "../net/protocol/generated/broker_registration_response.ts";
import type { BrokerHeartbeatResponse } from "../net/protocol/generated/broker_heartbeat_response.ts";
import { randomUuid } from "../net/protocol/uuid.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import type { MetadataState } from "./metadata_state.ts";
import type { ServerConfig } from "../core/config/server_config.ts";
import { SECURITY_PROTOCOLS } from "../core/config/broker_configs.ts";
import type { Logger } from "../core/log.ts";

/** Feature ranges this broker supports (reported at registration and in ApiVersions). */
export const SUPPORTED_FEATURES: readonly {
  name: string;
  minVersion: number;
  maxVersion: number;
}[] = [
  { name: "metadata.version", minVersion: 1, maxVersion: 21 },
  { name: "kraft.version", minVersion: 0, maxVersion: 1 },
  { name: "group.version", minVersion: 0, maxVersion: 1 },
  { name: "transaction.version", minVersion: 0, maxVersion: 0 },
  { name: "eligible.leader.replicas.version", minVersion: 0, maxVersion: 1 },
];

/** Heartbeat period while waiting to be unfenced, in milliseconds. */
const CATCH_UP_HEARTBEAT_MS = 50;

/** Options for {@link BrokerLifecycle}. */
export interface BrokerLifecycleOptions {
  config: ServerConfig;
  clusterId: string;
  directoryIds: readonly string[];
  controller: ControllerChannel;
  metadata: MetadataState;
  logger: Logger;
  /**
   * Called when a failed log directory could not be reported within `log.dir.failure.timeout.ms`
   * (the node halts, as Kafka does). Default: log the reason.
   */
  onFatal?: (reason: string) => void;
}

/** Kafka's default `log.dir.failure.timeout.ms`. */
const LOG_DIR_FAILURE_TIMEOUT_MS_DEFAULT = 30_000;

/**
 * Registration and heartbeats of one broker.
 *
 * @example
 * ```ts ignore
 * const lifecycle = new BrokerLifecycle({ config, clusterId, directoryIds, controller, metadata, logger });
 * await lifecycle.start(); // resolves once unfenced
 * ```
 */
export class BrokerLifecycle {
  readonly #options: BrokerLifecycleOptions;
  readonly incarnationId = randomUuid();
  #epoch = -1n;
  #registeredOnce = false;
  #fenced = true;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Directory ids of failed log dirs, sent in every heartbeat. */
  readonly #offlineDirs = new Set<string>();
  /** Failed dirs no answered heartbeat has carried yet, with their give-up timers. */
  readonly #unacknowledged = new Map<string, ReturnType<typeof setTimeout>>();
  #heartbeating = false;
  #heartbeatAgain = false;
  #unfenced: { promise: Promise<void>; resolve: () => void };

  constructor(options: BrokerLifecycleOptions) {
    this.#options = options;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#unfenced = { promise, resolve };
  }

  get brokerEpoch(): bigint {
    return this.#epoch;
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  /** Directory ids of the log dirs reported offline. */
  get offlineDirs(): string[] {
    return [...this.#offlineDirs];
  }

  /**
   * Reports a failed log directory: a heartbeat leaves now (or right after the one in flight)
   * with it in `OfflineLogDirs`, and so does every later one.
   */
  reportOfflineDir(directoryId: string): void {
    if (this.#offlineDirs.has(directoryId)) return;
    this.#offlineDirs.add(directoryId);
    const { config, logger } = this.#options;
    const timeoutMs = numberConfig(
      config,
      "log.dir.failure.timeout.ms",
      LOG_DIR_FAILURE_TIMEOUT_MS_DEFAULT,
    );
    this.#unacknowledged.set(
      directoryId,
      setTimeout(() => {
        if (this.#stopped || !this.#unacknowledged.has(directoryId)) return;
        const reason =
          `The controller was not told within log.dir.failure.timeout.ms (${timeoutMs} ms) that log directory ${directoryId} failed.`;
        if (this.#options.onFatal !== undefined) this.#options.onFatal(reason);
        else logger.error(reason);
      }, timeoutMs),
    );
    if (this.#stopped || this.#epoch < 0n) return;
    if (this.#heartbeating) {
      this.#heartbeatAgain = true;
    } else {
      clearTimeout(this.#timer);
      this.#schedule(0);
    }
  }

  /** Registers and heartbeats until unfenced; rejects if registration is refused for good. */
  async start(): Promise<void> {
    await this.#register();
    this.#schedule(0);
    await this.#unfenced.promise;
  }

  async #register(): Promise<void> {
    const { config, logger } = this.#options;
    // KIP-966: only the first registration of this process can claim the last one ended cleanly
    // (read before the replica manager opens the logs, which consumes the markers).
    const previousBrokerEpoch = this.#registeredOnce
      ? -1n
      : await cleanShutdownBrokerEpoch(config.logDirs);
    this.#registeredOnce = true;
    // Bounded: each attempt waits for the channel's own timeout; give up after a few minutes.
    for (let attempt = 0; attempt < 20 && !this.#stopped; attempt++) {
      let response: BrokerRegistrationResponse;
      try {
        response = await this.#options.controller.send<BrokerRegistrationResponse>(
          ApiKey.BROKER_REGISTRATION,
          {
            brokerId: config.nodeId,
            clusterId: this.#options.clusterId,
            incarnationId: this.incarnationId,
            listeners: config.advertisedListeners.map((l) => ({
              name: l.listenerName,
              host: l.host,
              port: l.port,
              // Kafka's SecurityProtocol ids are the list's order (PLAINTEXT 0, SSL 1, ...).
              securityProtocol: SECURITY_PROTOCOLS.indexOf(l.securityProtocol),
              _unknownTaggedFields: [],
            })),
            features: SUPPORTED_FEATURES.map((f) => ({
              name: f.name,
              minSupportedVersion: f.minVersion,
              maxSupportedVersion: f.maxVersion,
              _unknownTaggedFields: [],
            })),
            rack: config.brokerRack,
            isMigratingZkBroker: false,
            logDirs: [...this.#options.directoryIds],
            previousBrokerEpoch,
          },
        );
      } catch (error) {
        logger.warn(`Broker registration failed, retrying: ${(error as Error).message}`);
        continue;
      }
      if (response.errorCode === ErrorCode.NONE) {
        this.#epoch = response.brokerEpoch;
        logger.info(`Registered with the controller: broker epoch ${this.#epoch}`);
        return;
      }
      const name = errorName(response.errorCode);
      if (
        response.errorCode === ErrorCode.INCONSISTENT_CLUSTER_ID ||
        response.errorCode === ErrorCode.UNSUPPORTED_VERSION
      ) {
        throw new Error(`The controller refused broker registration: ${name}`);
      }
      logger.warn(`Broker registration answered ${name}, retrying`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (!this.#stopped) throw new Error("Could not register with the controller");
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#heartbeat(), delayMs);
  }

  async #heartbeat(): Promise<void> {
    this.#heartbeating = true;
    this.#heartbeatAgain = false;
    const { config, logger, metadata } = this.#options;
    let next = this.#fenced ? CATCH_UP_HEARTBEAT_MS : config.brokerHeartbeatIntervalMs;
    const offlineLogDirs = [...this.#offlineDirs];
    try {
      const response = await this.#options.controller.send<BrokerHeartbeatResponse>(
        ApiKey.BROKER_HEARTBEAT,
        {
          brokerId: config.nodeId,
          brokerEpoch: this.#epoch,
          currentMetadataOffset: BigInt(Math.max(0, metadata.appliedOffset)),
          wantFence: false,
          wantShutDown: false,
          offlineLogDirs,
        },
        { timeoutMs: Math.max(1000, config.brokerHeartbeatIntervalMs) },
      );
      if (response.errorCode === ErrorCode.STALE_BROKER_EPOCH) {
        logger.warn("The controller no longer knows our broker epoch: registering again");
        this.#fenced = true;
        await this.#register();
        next = 0;
      } else if (response.errorCode !== ErrorCode.NONE) {
        logger.warn(`Broker heartbeat answered ${errorName(response.errorCode)}`);
      } else {
        for (const dir of offlineLogDirs) {
          clearTimeout(this.#unacknowledged.get(dir));
          this.#unacknowledged.delete(dir);
        }
        if (this.#fenced && !response.isFenced) {
          logger.info("The controller unfenced this broker: serving clients");
          this.#unfenced.resolve();
        } else if (!this.#fenced && response.isFenced) {
          logger.warn("The controller fenced this broker");
        }
        this.#fenced = response.isFenced;
        next = this.#fenced ? CATCH_UP_HEARTBEAT_MS : config.brokerHeartbeatIntervalMs;
      }
    } catch (error) {
      if (!this.#stopped) logger.warn(`Broker heartbeat failed: ${(error as Error).message}`);
      next = Math.min(next, 500);
    }
    this.#heartbeating = false;
    this.#schedule(this.#heartbeatAgain ? 0 : next);
  }

  /**
   * Controlled shutdown: tells the controller we are leaving so it moves leadership away, and
   * waits (at most `timeoutMs`) for the go-ahead. Stops heartbeating.
   */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const timer of this.#unacknowledged.values()) clearTimeout(timer);
    this.#unacknowledged.clear();
    if (this.#epoch < 0n) return;
    const deadline = Date.now() + timeoutMs;
    // Bounded by the deadline.
    while (Date.now() < deadline) {
      try {
        const response = await this.#options.controller.send<BrokerHeartbeatResponse>(
          ApiKey.BROKER_HEARTBEAT,
          {
            brokerId: this.#options.config.nodeId,
            brokerEpoch: this.#epoch,
            currentMetadataOffset: BigInt(Math.max(0, this.#options.metadata.appliedOffset)),
            wantFence: false,
            wantShutDown: true,
            offlineLogDirs: [...this.#offlineDirs],
          },
          { timeoutMs: Math.max(100, deadline - Date.now()) },
        );
        if (response.errorCode !== ErrorCode.NONE || response.shouldShutDown) return;
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function numberConfig(config: ServerConfig, key: string, fallback: number): number {
  const v = config.values.get(key);
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * The broker epoch every log dir's clean shutdown marker agrees on, or -1n when one lacks it or
 * they differ (Kafka's `LogManager.readBrokerEpochFromCleanShutdownFiles`).
 */
async function cleanShutdownBrokerEpoch(logDirs: readonly string[]): Promise<bigint> {
  const epochs = await Promise.all(logDirs.map((d) => readCleanShutdownBrokerEpoch(d)));
  const first = epochs[0] ?? -1n;
  return epochs.every((e) => e === first) ? first : -1n;
}
