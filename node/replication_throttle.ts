/**
 * This broker's replication quotas (KIP-73) as the Fetch handler (leader side) and the replica
 * fetchers (follower side) apply them: the pure quota and config parsing of
 * `core/quota/replication_quota.ts`, fed from the metadata image, where the topic configs
 * `leader.replication.throttled.replicas` / `follower.replication.throttled.replicas` and the
 * broker configs `leader.replication.throttled.rate` / `follower.replication.throttled.rate`
 * (this broker's dynamic value, else the cluster default, else `server.properties`) live. So
 * `reassign-partitions --throttle` and `configs --alter` take effect without a restart.
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import { brokerConfigLayers, layeredValue } from "../core/config/config_layers.ts";
import { ConfigResourceType, type MetadataImage, resourceConfigs } from "../core/metadata/image.ts";
import {
  isThrottled,
  parseThrottledReplicas,
  ReplicationQuota,
  type ThrottledReplicas,
} from "../core/quota/replication_quota.ts";
import type { LeaderThrottle } from "../net/handlers/replica_access.ts";

/** A replica as the throttle sees it. */
interface ReplicaView {
  readonly topic: string;
  readonly partition: number;
  readonly isr: readonly number[];
}

type Direction = "leader" | "follower";

/** What the throttle reads: the broker's config, its id and the current metadata image. */
export interface ThrottleContext {
  readonly config: ServerConfig;
  readonly nodeId: number;
  readonly metadata: { readonly image: MetadataImage };
}

/**
 * Both directions' quotas of one broker.
 *
 * @example
 * ```ts ignore
 * const throttle = new ReplicationThrottle(ctx);
 * if (!throttle.follower.holds(partition, Date.now())) fetchIt(partition);
 * ```
 */
export class ReplicationThrottle {
  readonly #ctx: ThrottleContext;
  readonly #quotas: Record<Direction, ReplicationQuota>;
  /** Parsed throttled-replicas values by their text (configs change rarely). */
  readonly #parsed = new Map<string, ThrottledReplicas>();
  /** Leader side: the Fetch handler's view. */
  readonly leader: LeaderThrottle;
  /** Follower side: the replica fetchers' view. */
  readonly follower: {
    /** Is `p` to be left out of this broker's fetches now? */
    holds(p: ReplicaView, nowMs: number): boolean;
    /** Counts fetched bytes of `p` when its replica here is throttled. */
    record(p: ReplicaView, bytes: number, nowMs: number): void;
  };

  constructor(ctx: ThrottleContext) {
    this.#ctx = ctx;
    const windows = {
      windowCount: ctx.config.replicationQuotaWindowCount,
      windowSizeMs: ctx.config.replicationQuotaWindowSizeMs,
    };
    this.#quotas = {
      leader: new ReplicationQuota(windows),
      follower: new ReplicationQuota(windows),
    };
    this.leader = {
      appliesTo: (p, replicaId) => this.#applies(p, replicaId, "leader"),
      exceeded: (nowMs) => this.#quotas.leader.isExceeded(this.#rate("leader"), nowMs),
      record: (bytes, nowMs) => this.#quotas.leader.record(bytes, nowMs),
    };
    this.follower = {
      holds: (p, nowMs) =>
        this.#applies(p, ctx.nodeId, "follower") &&
        this.#quotas.follower.isExceeded(this.#rate("follower"), nowMs),
      record: (p, bytes, nowMs) => {
        if (this.#applies(p, ctx.nodeId, "follower")) this.#quotas.follower.record(bytes, nowMs);
      },
    };
  }

  /**
   * Kafka's rule: a replica out of the ISR whose `partition:broker` the topic's throttled-replicas
   * config names (`broker` is this leader for the leader side, this follower for the other).
   */
  #applies(p: ReplicaView, replicaId: number, direction: Direction): boolean {
    if (p.isr.includes(replicaId)) return false;
    const text = resourceConfigs(this.#ctx.metadata.image, ConfigResourceType.TOPIC, p.topic)
      .get(`${direction}.replication.throttled.replicas`);
    if (text === undefined || text === "") return false;
    let replicas = this.#parsed.get(text);
    if (replicas === undefined) {
      if (this.#parsed.size >= PARSED_MAX) this.#parsed.clear();
      this.#parsed.set(text, replicas = parseThrottledReplicas(text));
    }
    return isThrottled(replicas, p.partition, this.#ctx.nodeId);
  }

  /** `<direction>.replication.throttled.rate` in bytes per second (Long.MAX_VALUE: unbounded). */
  #rate(direction: Direction): number {
    const ctx = this.#ctx;
    const layers = brokerConfigLayers(ctx.metadata.image, ctx.nodeId, ctx.config.originals);
    const value = Number(layeredValue(layers, `${direction}.replication.throttled.rate`));
    return Number.isFinite(value) && value >= 0 ? value : Number.MAX_SAFE_INTEGER;
  }
}

/** Bound on the parsed-config cache (distinct throttled-replicas values in the image). */
const PARSED_MAX = 10_000;
