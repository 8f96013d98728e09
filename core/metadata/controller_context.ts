/**
 * What every controller handler receives and returns, and the leader/ISR election rules shared by
 * the handlers (Kafka's `PartitionChangeBuilder`, without unclean election or ELR).
 *
 * Handlers are pure: `(image, request, context) -> { records, response }`. The Raft layer appends
 * `records` (atomically, in one batch) and sends `response` once they commit.
 *
 * @module
 */

import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import type { Random } from "../random.ts";
import {
  isBrokerActive,
  type MetadataImage,
  metadataVersion,
  NO_LEADER,
  NO_LEADER_CHANGE,
} from "./image.ts";
import type { UsableBroker } from "./placement.ts";
import {
  makeRecord,
  type MetadataRecord,
  MetadataVersion,
  RecordType,
  recordVersionsFor,
} from "./records.ts";

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
  /** Topic config defaults, reported by CreateTopics v5+ next to a new topic's overrides. */
  readonly topicConfigDefaults?: ReadonlyMap<string, string | null>;
}

/** Controller soft state about one broker: when it last heartbeated (not in the log). */
export interface BrokerSession {
  readonly lastContactMs: number;
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
  /** Just unfenced: lead leaderless partitions whose ISR has it, and those it prefers. */
  | { readonly kind: "elect"; readonly brokerId: number };

/**
 * PartitionChangeRecords for one broker change, judged against `image`. Removal drops the broker
 * from every ISR except where it is the only member (the ISR never becomes empty; the partition
 * is then leaderless), and moves leadership to the first replica that is in the new ISR and
 * active, or to -1. Election makes the broker leader of leaderless partitions whose ISR holds
 * it, and of partitions where it is the preferred (first) replica and in the ISR.
 *
 * @example
 * ```ts
 * import { partitionChangesFor } from "./controller_context.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * partitionChangesFor(EMPTY_IMAGE, { kind: "remove", brokerId: 1 }); // []
 * ```
 */
export function partitionChangesFor(image: MetadataImage, change: BrokerChange): MetadataRecord[] {
  const mv = metadataVersion(image);
  const version = recordVersionsFor(mv).partitionChange;
  const bumpOnShrink = mv < MetadataVersion.IBP_3_6_IV0;
  const id = change.brokerId;
  const out: MetadataRecord[] = [];
  for (const topic of image.topics.byId.values()) {
    for (const [partitionId, p] of topic.partitions) {
      if (!p.isr.includes(id) && p.leader !== id) continue;
      let isr: number[] | null = null;
      let leader = NO_LEADER_CHANGE;
      if (change.kind === "remove") {
        const remaining = p.isr.filter((r) => r !== id);
        const newIsr = remaining.length === 0 ? p.isr : remaining;
        if (newIsr.length !== p.isr.length) isr = remaining;
        const acceptable = (r: number) =>
          r !== id && newIsr.includes(r) && isBrokerActive(image, r);
        if (p.leader === NO_LEADER || !acceptable(p.leader)) {
          const next = p.replicas.find(acceptable) ?? NO_LEADER;
          if (next !== p.leader) leader = next;
        }
        if (leader === NO_LEADER_CHANGE && isr !== null && bumpOnShrink) leader = p.leader;
      } else {
        if (!p.isr.includes(id) || !p.replicas.includes(id) || p.leader === id) continue;
        if (p.leader === NO_LEADER || p.replicas[0] === id) leader = id;
      }
      if (isr === null && leader === NO_LEADER_CHANGE) continue;
      out.push(makeRecord(
        RecordType.PARTITION_CHANGE,
        version,
        createPartitionChangeRecord({ topicId: topic.id, partitionId, isr, leader }),
      ));
    }
  }
  return out;
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
