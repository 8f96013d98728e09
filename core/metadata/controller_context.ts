/**
 * What every controller handler receives and returns, and the leader/ISR election rules shared by
 * the handlers (built on `partition_change.ts`, Kafka's `PartitionChangeBuilder`, with Eligible
 * Leader Replicas when `eligible.leader.replicas.version` is 1).
 *
 * Handlers are pure: `(image, request, context) -> { records, response }`. The Raft layer appends
 * `records` (atomically, in one batch) and sends `response` once they commit.
 *
 * @module
 */

import type { Random } from "../random.ts";
import {
  ConfigResourceType,
  type MetadataImage,
  metadataVersion,
  resourceConfigs,
} from "./image.ts";
import {
  acceptsLeadership,
  buildPartitionChange,
  type Election,
  partitionChangeRecord,
} from "./partition_change.ts";
import type { UsableBroker } from "./placement.ts";
import { ELR_VERSION_FEATURE, type MetadataRecord } from "./records.ts";

/** Static controller settings (from server.properties). */
export interface ControllerConfig {
  /** The cluster id every registering broker must present. */
  readonly clusterId: string;
  /** `num.partitions`, used when CreateTopics asks for -1. */
  readonly defaultNumPartitions: number;
  /** `default.replication.factor`, used when CreateTopics asks for -1. */
  readonly defaultReplicationFactor: number;
  /** `broker.session.timeout.ms`: a broker without a heartbeat for this long is fenced. */
  readonly brokerSessionTimeoutMs: number;
  /** Feature ranges this controller supports (for UpdateFeatures), e.g. metadata.version 1..21. */
  readonly supportedFeatures: ReadonlyMap<string, { min: number; max: number }>;
  /**
   * Validates one config of a resource; returns an error message, or null when acceptable.
   * `value` null means the config is being deleted. Absent: every config is accepted.
   */
  readonly validateConfig?: (
    resourceType: number,
    name: string,
    value: string | null,
  ) => string | null;
  /** True when the config is a list (IncrementalAlterConfigs APPEND/SUBTRACT allowed). */
  readonly isListConfig?: (resourceType: number, name: string) => boolean;
  /**
   * Topic config defaults, reported by CreateTopics v5+ next to a new topic's overrides; also the
   * static fallback of `unclean.leader.election.enable` and `min.insync.replicas`.
   */
  readonly topicConfigDefaults?: ReadonlyMap<string, string | null>;
  /** This controller's node id: its dynamic broker configs come before the cluster default. */
  readonly nodeId?: number;
  /** `auto.leader.rebalance.enable` (default true). */
  readonly autoLeaderRebalanceEnable?: boolean;
  /** `leader.imbalance.check.interval.seconds`, in milliseconds (default 300 s). */
  readonly leaderImbalanceCheckIntervalMs?: number;
  /** `leader.imbalance.per.broker.percentage` (default 10) for the auto leader rebalance. */
  readonly leaderImbalancePerBrokerPercentage?: number;
  /** `unclean.leader.election.interval.ms` (default 5 minutes). */
  readonly uncleanLeaderElectionIntervalMs?: number;
}

/** Controller soft state about one broker (not in the log). */
export interface BrokerSession {
  /** When it last heartbeated or registered. */
  readonly lastContactMs: number;
  /** The `__cluster_metadata` offset its last heartbeat reported it had applied. */
  readonly metadataOffset?: number;
  /** Set on entering controlled shutdown: the offset of the records that moved its leaderships. */
  readonly controlledShutdownOffset?: number;
}

/** Soft state of broker sessions by broker id. */
export type BrokerSessions = ReadonlyMap<number, BrokerSession>;

/** Per-call inputs of a handler. */
export interface ControllerContext {
  readonly nowMs: number;
  readonly random: Random;
  /** The offset the first returned record will get in `__cluster_metadata`. */
  readonly nextOffset: number;
  readonly config: ControllerConfig;
  /** Heartbeat soft state (only the broker lifecycle handlers read it). */
  readonly sessions: BrokerSessions;
}

/** What a handler produced: records to append, then the response to send after they commit. */
export interface ControllerResult<R> {
  readonly records: MetadataRecord[];
  readonly response: R;
}

/** A broker lifecycle handler's result, with the new session soft state. */
export interface BrokerResult<R> extends ControllerResult<R> {
  readonly sessions: BrokerSessions;
}

/**
 * Brokers that can take new replicas: registered, unfenced, not in controlled shutdown.
 *
 * @example
 * ```ts
 * import { usableBrokers } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * usableBrokers(EMPTY_IMAGE); // []
 * ```
 */
export function usableBrokers(image: MetadataImage): UsableBroker[] {
  const out: UsableBroker[] = [];
  for (const b of image.cluster.brokers.values()) {
    if (!b.fenced && !b.inControlledShutdown) out.push({ id: b.id, rack: b.rack });
  }
  return out;
}

/** What happens to the partitions of one broker. */
export type BrokerChange =
  /** Fenced, unregistered or shutting down: leave every ISR it is in (unless it is the last). */
  | { readonly kind: "remove"; readonly brokerId: number }
  /**
   * Re-registered without proof of a clean shutdown, with ELR on (KIP-966): it leaves every ISR
   * and ELR it is in, since it may have lost records it had acknowledged as a follower.
   */
  | { readonly kind: "uncleanShutdown"; readonly brokerId: number }
  /** Just unfenced (pass the image with its unfencing applied): may lead leaderless partitions. */
  | { readonly kind: "elect"; readonly brokerId: number };

/**
 * PartitionChangeRecords for one broker change, judged against `image` (Kafka's
 * `generateLeaderAndIsrUpdates`). Removal drops the broker from every ISR except, without ELR,
 * where it is the only member (the ISR never becomes empty) and moves leadership to the first
 * acceptable replica of the new ISR; with ELR on, an ISR below min ISR leaves the broker eligible
 * (KIP-966) and an empty ISR elects from the ELR; with no candidate the partition goes offline
 * (leader -1), or, when the topic has `unclean.leader.election.enable`, an acceptable replica
 * outside the ISR and ELR leads uncleanly. An unclean shutdown takes the broker out of the ELR too.
 * Election looks at leaderless partitions only, with the broker now acceptable: it leads those
 * whose ISR holds it (or, uncleanly, where the topic allows it). Preferred leaders come back
 * through the auto leader rebalance or ElectLeaders, as in Kafka.
 *
 * @example
 * ```ts
 * import { partitionChangesFor } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * partitionChangesFor(EMPTY_IMAGE, { kind: "remove", brokerId: 1 }); // []
 * ```
 */
export function partitionChangesFor(
  image: MetadataImage,
  change: BrokerChange,
  config?: ControllerConfig,
): MetadataRecord[] {
  const mv = metadataVersion(image);
  const id = change.brokerId;
  const leaves = change.kind !== "elect";
  const out: MetadataRecord[] = [];
  for (const topic of image.topics.byId.values()) {
    let election: Election | undefined;
    let elr: ElrInput | undefined;
    for (const [partitionId, p] of topic.partitions) {
      const involved = change.kind === "elect"
        ? p.leader === -1
        : p.isr.includes(id) || p.leader === id ||
          (change.kind === "uncleanShutdown" && p.eligibleLeaderReplicas.includes(id));
      if (!involved) continue;
      election ??= uncleanLeaderElectionEnabled(image, topic.name, config) ? "unclean" : "online";
      elr ??= elrInput(image, topic.name, config);
      // Election runs on the image with the broker already unfenced: a broker that is still in
      // controlled shutdown is no acceptable leader even then.
      const isAcceptableLeader = leaves
        ? (r: number) => r !== id && acceptsLeadership(image, p, r)
        : (r: number) => acceptsLeadership(image, p, r);
      const record = buildPartitionChange({
        topicId: topic.id,
        partitionId,
        partition: p,
        isAcceptableLeader,
        metadataVersion: mv,
        election,
        targetIsr: leaves ? p.isr.filter((r) => r !== id) : p.isr,
        ...elr,
        ...(change.kind === "uncleanShutdown" ? { uncleanShutdownReplicas: [id] } : {}),
      });
      if (record !== null) out.push(partitionChangeRecord(record, mv));
    }
  }
  return out;
}

/** The ELR inputs of {@link buildPartitionChange} for one topic. */
export interface ElrInput {
  readonly eligibleLeaderReplicasEnabled: boolean;
  readonly minIsr: number;
}

/**
 * Whether the controller tracks Eligible Leader Replicas: `eligible.leader.replicas.version` is
 * at least 1 (KIP-966; Kafka 4.0 also needs metadata.version 4.0-IV1, which we lack, so the
 * feature alone decides).
 *
 * @example
 * ```ts
 * import { eligibleLeaderReplicasEnabled } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * eligibleLeaderReplicasEnabled(EMPTY_IMAGE); // false
 * ```
 */
export function eligibleLeaderReplicasEnabled(image: MetadataImage): boolean {
  return (image.features.get(ELR_VERSION_FEATURE) ?? 0) >= 1;
}

/** The config key of the minimum ISR size (topic, broker and cluster default). */
export const MIN_INSYNC_REPLICAS = "min.insync.replicas";

/**
 * A topic's effective `min.insync.replicas` as the controller resolves it (Kafka's
 * `getTopicEffectiveMinIsr`): the topic's config, else this controller's dynamic broker config,
 * else the cluster-wide dynamic default, else `server.properties`, else 1.
 *
 * @example
 * ```ts
 * import { topicMinIsr } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * topicMinIsr(EMPTY_IMAGE, "orders"); // 1
 * ```
 */
export function topicMinIsr(
  image: MetadataImage,
  topicName: string,
  config?: TopicConfigSources,
): number {
  const value = resolvedTopicConfig(image, topicName, MIN_INSYNC_REPLICAS, config);
  const n = value === null ? NaN : Number(value.trim());
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * The ELR inputs for a partition change of `topicName`.
 *
 * @example
 * ```ts
 * import { elrInput } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * elrInput(EMPTY_IMAGE, "orders"); // { eligibleLeaderReplicasEnabled: false, minIsr: 1 }
 * ```
 */
export function elrInput(
  image: MetadataImage,
  topicName: string,
  config?: TopicConfigSources,
): ElrInput {
  return {
    eligibleLeaderReplicasEnabled: eligibleLeaderReplicasEnabled(image),
    minIsr: topicMinIsr(image, topicName, config),
  };
}

/** The parts of the controller config a topic config falls back to. */
export type TopicConfigSources = Partial<Pick<ControllerConfig, "nodeId" | "topicConfigDefaults">>;

function resolvedTopicConfig(
  image: MetadataImage,
  topicName: string,
  key: string,
  config?: TopicConfigSources,
): string | null {
  return resourceConfigs(image, ConfigResourceType.TOPIC, topicName).get(key) ??
    (config?.nodeId === undefined
      ? undefined
      : resourceConfigs(image, ConfigResourceType.BROKER, String(config.nodeId)).get(key)) ??
    resourceConfigs(image, ConfigResourceType.BROKER, "").get(key) ??
    config?.topicConfigDefaults?.get(key) ?? null;
}

/** The config key of unclean leader election (topic, broker and cluster default). */
export const UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable";

/**
 * Whether `unclean.leader.election.enable` holds for a topic, resolved as Kafka's controller
 * does: the topic's config, else this controller's dynamic broker config, else the cluster-wide
 * dynamic default, else `server.properties`, else false.
 *
 * @example
 * ```ts
 * import { uncleanLeaderElectionEnabled } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * uncleanLeaderElectionEnabled(EMPTY_IMAGE, "orders"); // false
 * ```
 */
export function uncleanLeaderElectionEnabled(
  image: MetadataImage,
  topicName: string,
  config?: ControllerConfig,
): boolean {
  const value = resolvedTopicConfig(image, topicName, UNCLEAN_LEADER_ELECTION_ENABLE, config);
  return value !== null && value.trim().toLowerCase() === "true";
}

/**
 * True when the broker leads at least one partition.
 *
 * @example
 * ```ts
 * import { leadsAnyPartition } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * leadsAnyPartition(EMPTY_IMAGE, 1); // false
 * ```
 */
export function leadsAnyPartition(image: MetadataImage, brokerId: number): boolean {
  for (const topic of image.topics.byId.values()) {
    for (const p of topic.partitions.values()) if (p.leader === brokerId) return true;
  }
  return false;
}
