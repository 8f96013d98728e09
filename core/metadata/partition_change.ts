/**
 * One partition's next leader, ISR, Eligible Leader Replicas (KIP-966) and replica set, as a
 * PartitionChangeRecord (Kafka 4.x's `PartitionChangeBuilder`), reassignments (KIP-455) included.
 * Every controller path that moves leadership goes through {@link buildPartitionChange}, so the
 * rule that protects acknowledged data lives in one place: a clean election picks only an ISR
 * member that is an acceptable leader, or, with ELR on and the ISR empty, an ELR member; only an
 * unclean election (opted into per topic) may pick a replica outside both, and then resets the
 * ISR to that replica and marks the leader RECOVERING (KIP-704).
 *
 * ELR (with `eligible.leader.replicas.version` 1): while the ISR is below `min.insync.replicas`
 * the high watermark cannot advance (strict min ISR), so a replica that leaves the ISR then still
 * holds every committed record and stays eligible to lead: it goes into the ELR unless it shut
 * down uncleanly (it may have lost unflushed records). The ISR may then become empty; the last
 * leader is remembered in LastKnownElr (Kafka's `useLastKnownLeaderInBalancedRecovery`) and is
 * elected again, as RECOVERING, when it comes back and nothing better exists, as Kafka did before
 * ELR by keeping it in the ISR. Once the ISR reaches min ISR again both lists are cleared.
 *
 * @module
 */

import {
  createPartitionChangeRecord,
  type PartitionChangeRecord,
} from "../../net/protocol/generated/partition_change_record.ts";
import {
  DIRECTORY_LOST,
  DIRECTORY_MIGRATING,
  DIRECTORY_UNASSIGNED,
  isBrokerActive,
  type MetadataImage,
  NO_LEADER,
  NO_LEADER_CHANGE,
  type PartitionRegistration,
} from "./image.ts";
import {
  makeRecord,
  type MetadataRecord,
  MetadataVersion,
  RecordType,
  recordVersionsFor,
} from "./records.ts";

/** Kafka's `LeaderRecoveryState` (KIP-704). */
export const LeaderRecoveryState = {
  /** The leader holds every committed record. */
  RECOVERED: 0,
  /** The leader was elected uncleanly and has not yet confirmed its log to the controller. */
  RECOVERING: 1,
  /** A PartitionChangeRecord that leaves the state as it is. */
  NO_CHANGE: -1,
} as const;

/**
 * How a leader is chosen (Kafka's `PartitionChangeBuilder.Election`).
 * - `preferred`: the first replica when it is an ISR member and acceptable, else as `online`.
 * - `online`: keep the leader when it is still an acceptable ISR member, else the first acceptable
 *   ISR member in replica order, else no leader.
 * - `unclean`: as `online`, but with no acceptable ISR member the first acceptable replica at all.
 */
export type Election = "preferred" | "online" | "unclean";

/** What {@link buildPartitionChange} needs to know about one partition. */
export interface PartitionChangeInput {
  readonly topicId: string;
  readonly partitionId: number;
  readonly partition: PartitionRegistration;
  /** May this broker lead (registered, unfenced, not shutting down, its directory online)? */
  readonly isAcceptableLeader: (brokerId: number) => boolean;
  /** The cluster's metadata.version feature level. */
  readonly metadataVersion: number;
  /** Default `online`. */
  readonly election?: Election;
  /** The ISR wanted; default the current one. An empty target keeps the current ISR. */
  readonly targetIsr?: readonly number[];
  /** Default the current state. */
  readonly targetLeaderRecoveryState?: number;
  /** The replica set wanted (a reassignment, KIP-455); default the current one. */
  readonly targetReplicas?: readonly number[];
  /** Replicas a reassignment removes; default the current ones. */
  readonly targetRemoving?: readonly number[];
  /** Replicas a reassignment adds; default the current ones. */
  readonly targetAdding?: readonly number[];
  /** KIP-966: track Eligible Leader Replicas (`eligible.leader.replicas.version` >= 1). */
  readonly eligibleLeaderReplicasEnabled?: boolean;
  /** The topic's effective `min.insync.replicas` (only read with ELR on); default 1. */
  readonly minIsr?: number;
  /** Brokers that re-registered after an unclean shutdown: never (again) eligible. */
  readonly uncleanShutdownReplicas?: readonly number[];
}

/**
 * The PartitionChangeRecord that moves a partition to its target ISR and elects a leader, or
 * null when nothing would change.
 *
 * @example
 * ```ts
 * import { buildPartitionChange } from "./partition_change.ts";
 * // Broker 1 leaves the ISR [1, 2]: broker 2 leads.
 * const record = buildPartitionChange({
 *   topicId: "q1Sh-9_ISia_fV4lGz8fqw",
 *   partitionId: 0,
 *   partition: {
 *     replicas: [1, 2], isr: [1, 2], removingReplicas: [], addingReplicas: [], directories: [],
 *     leader: 1, leaderRecoveryState: 0, leaderEpoch: 0, partitionEpoch: 0,
 *     eligibleLeaderReplicas: [], lastKnownElr: [],
 *   },
 *   isAcceptableLeader: (id) => id === 2,
 *   metadataVersion: 21,
 *   targetIsr: [2],
 * });
 * record?.leader; // 2
 * ```
 */
export function buildPartitionChange(input: PartitionChangeInput): PartitionChangeRecord | null {
  const p = input.partition;
  const elrEnabled = input.eligibleLeaderReplicasEnabled ?? false;
  const target = completeReassignmentIfNeeded({
    isr: input.targetIsr ?? p.isr,
    replicas: input.targetReplicas ?? p.replicas,
    removing: input.targetRemoving ?? p.removingReplicas,
    adding: input.targetAdding ?? p.addingReplicas,
  });
  let targetIsr = target.isr;
  let targetElr = elrEnabled ? targetElrOf(input, targetIsr) : [];
  const record = createPartitionChangeRecord({
    topicId: input.topicId,
    partitionId: input.partitionId,
    isr: null,
    leader: NO_LEADER_CHANGE,
  });
  const { leader, unclean } = electLeader(input, { isr: targetIsr, elr: targetElr }, target);
  if (leader !== p.leader) {
    record.leader = leader;
    if (targetElr.includes(leader)) {
      // KIP-966: an ELR member holds every committed record; it becomes the whole ISR.
      targetIsr = [leader];
      targetElr = targetElr.filter((r) => r !== leader);
    } else if (unclean) {
      // The new leader may lack acknowledged records: it alone is in sync with itself.
      record.isr = [leader];
      if (
        p.leaderRecoveryState !== LeaderRecoveryState.RECOVERING &&
        input.metadataVersion >= MetadataVersion.IBP_3_2_IV0
      ) {
        record.leaderRecoveryState = LeaderRecoveryState.RECOVERING;
      }
    }
  }
  // A replica leaving the replica set must see a new leader epoch (KIP-455).
  if (record.leader === NO_LEADER_CHANGE && !p.replicas.every((r) => target.replicas.includes(r))) {
    record.leader = p.leader;
  }
  // An unclean election forgets every eligibility (Kafka's maybeUpdateRecordElr).
  if (record.isr !== null || !elrEnabled) targetElr = [];
  if (!sameList(targetElr, p.eligibleLeaderReplicas)) record.eligibleLeaderReplicas = targetElr;
  // Without ELR the ISR never becomes empty: it keeps its last member, the one that may lead again.
  if (
    record.isr === null && (targetIsr.length > 0 || elrEnabled) && !sameList(targetIsr, p.isr)
  ) {
    record.isr = [...targetIsr];
  }
  // KAFKA-15021: before 3.6-IV0 brokers needed a leader epoch bump whenever the ISR shrank.
  if (
    input.metadataVersion < MetadataVersion.IBP_3_6_IV0 && record.leader === NO_LEADER_CHANGE &&
    record.isr !== null && !p.isr.every((r) => record.isr!.includes(r))
  ) {
    record.leader = p.leader;
  }
  updateLastKnownLeader(input, record, elrEnabled);
  // New replicas get their directory from the image (unassigned until the broker places them).
  if (target.replicas.length > 0 && !sameList(target.replicas, p.replicas)) {
    record.replicas = [...target.replicas];
  }
  if (!sameList(target.removing, p.removingReplicas)) {
    record.removingReplicas = [...target.removing];
  }
  if (!sameList(target.adding, p.addingReplicas)) record.addingReplicas = [...target.adding];
  const targetRecovery = input.targetLeaderRecoveryState ?? p.leaderRecoveryState;
  if (record.leaderRecoveryState === LeaderRecoveryState.NO_CHANGE) {
    if (targetRecovery !== p.leaderRecoveryState) record.leaderRecoveryState = targetRecovery;
  }
  const noOp = record.isr === null && record.leader === NO_LEADER_CHANGE &&
    record.leaderRecoveryState === LeaderRecoveryState.NO_CHANGE && record.replicas === null &&
    record.removingReplicas === null && record.addingReplicas === null &&
    record.eligibleLeaderReplicas === null && record.lastKnownElr === null;
  return noOp ? null : record;
}

/**
 * Kafka's `maybePopulateTargetElr`: at or above min ISR nobody outside the ISR is needed (and the
 * high watermark moves again, so earlier eligibility expires); below it, every replica that was
 * in the ISR or ELR and is not in the target ISR stays eligible, except those that shut down
 * uncleanly. Replica order, for a stable record.
 */
function targetElrOf(input: PartitionChangeInput, targetIsr: readonly number[]): number[] {
  const p = input.partition;
  if (targetIsr.length >= (input.minIsr ?? 1)) return [];
  const unclean = input.uncleanShutdownReplicas ?? [];
  const candidates = [...p.eligibleLeaderReplicas, ...p.isr];
  const out: number[] = [];
  for (const r of candidates) {
    if (targetIsr.includes(r) || unclean.includes(r) || out.includes(r)) continue;
    out.push(r);
  }
  return out;
}

/**
 * Kafka's `maybeUpdateLastKnownLeader`: the first time the ISR becomes empty, the leader it had
 * is remembered; once the partition has (or keeps) a leader the memory is cleared.
 */
function updateLastKnownLeader(
  input: PartitionChangeInput,
  record: PartitionChangeRecord,
  elrEnabled: boolean,
): void {
  const p = input.partition;
  if (!elrEnabled) {
    if (p.lastKnownElr.length > 0) record.lastKnownElr = [];
    return;
  }
  const remembered = p.lastKnownElr.length === 1 && p.lastKnownElr[0] === p.leader;
  if (record.isr !== null && record.isr.length === 0) {
    if (!remembered && p.leader !== NO_LEADER) record.lastKnownElr = [p.leader];
    return;
  }
  const leads = record.leader >= 0 ||
    (p.leader !== NO_LEADER && record.leader !== NO_LEADER);
  if (leads && p.lastKnownElr.length > 0) record.lastKnownElr = [];
}

interface Assignment {
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
  readonly removing: readonly number[];
  readonly adding: readonly number[];
}

/**
 * Kafka's `PartitionReassignmentReplicas.maybeCompleteReassignment` (KIP-455): once every
 * replica that stays is in the ISR (and at least one ISR member stays), the removing replicas
 * leave the replica set and the ISR, and the reassignment ends.
 */
function completeReassignmentIfNeeded(t: Assignment): Assignment {
  if (t.removing.length === 0 && t.adding.length === 0) return t;
  const isr = t.isr.filter((r) => !t.removing.includes(r));
  const replicas = t.replicas.filter((r) => !t.removing.includes(r));
  if (isr.length === 0 || replicas.length === 0) return t;
  if (!replicas.every((r) => isr.includes(r))) return t;
  return { isr, replicas, removing: [], adding: [] };
}

function electLeader(
  input: PartitionChangeInput,
  target: { readonly isr: readonly number[]; readonly elr: readonly number[] },
  assignment: Assignment,
): { leader: number; unclean: boolean } {
  const p = input.partition;
  const replicas = assignment.replicas;
  // KIP-966: with the ISR empty, an ELR member is as good as an ISR member.
  const valid = (r: number) =>
    (target.isr.includes(r) || (target.isr.length === 0 && target.elr.includes(r))) &&
    input.isAcceptableLeader(r);
  const election = input.election ?? "online";
  if (election === "preferred") {
    const preferred = replicas[0];
    if (preferred !== undefined && valid(preferred)) return { leader: preferred, unclean: false };
  }
  if (p.leader !== NO_LEADER && valid(p.leader)) return { leader: p.leader, unclean: false };
  const clean = replicas.find(valid);
  if (clean !== undefined) return { leader: clean, unclean: false };
  const lastKnown = lastKnownLeader(input, target);
  if (lastKnown !== NO_LEADER) return { leader: lastKnown, unclean: true };
  if (election === "unclean") {
    const any = replicas.find((r) => input.isAcceptableLeader(r));
    if (any !== undefined) return { leader: any, unclean: true };
  }
  return { leader: NO_LEADER, unclean: false };
}

/**
 * Kafka's `canElectLastKnownLeader`: with ELR on and both the ISR and the ELR empty, the leader
 * remembered in LastKnownElr may lead again once it is acceptable (the pre-ELR behaviour, where it
 * stayed the last ISR member). Kafka 4.x skips the acceptability check here (a log line that
 * reads inverted); we keep it, so a dead broker is never elected.
 */
function lastKnownLeader(
  input: PartitionChangeInput,
  target: { readonly isr: readonly number[]; readonly elr: readonly number[] },
): number {
  if (!(input.eligibleLeaderReplicasEnabled ?? false)) return NO_LEADER;
  if (target.isr.length > 0 || target.elr.length > 0) return NO_LEADER;
  const known = input.partition.lastKnownElr;
  if (known.length !== 1) return NO_LEADER;
  return input.isAcceptableLeader(known[0]!) ? known[0]! : NO_LEADER;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Kafka's `LeaderAcceptor`: the broker is active (registered, unfenced, not in controlled
 * shutdown) and the directory holding this partition's replica on it is online (KIP-858).
 *
 * @example
 * ```ts
 * import { acceptsLeadership } from "./partition_change.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * // acceptsLeadership(EMPTY_IMAGE, partition, 1); // false: broker 1 is not registered
 * ```
 */
export function acceptsLeadership(
  image: MetadataImage,
  partition: PartitionRegistration,
  brokerId: number,
): boolean {
  return isBrokerActive(image, brokerId) && replicaDirectoryOnline(image, partition, brokerId);
}

/**
 * True when the log directory holding the broker's replica of this partition is online on it
 * (Kafka's `DirectoryId.isOnline`): unassigned and migrating directories count as online, a
 * lost one does not, and a broker registered without directories (before 3.7-IV2) is assumed
 * online (KAFKA-16162).
 *
 * @example
 * ```ts
 * import { replicaDirectoryOnline } from "./partition_change.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * // replicaDirectoryOnline(EMPTY_IMAGE, partition, 1); // false: broker 1 is not registered
 * ```
 */
export function replicaDirectoryOnline(
  image: MetadataImage,
  partition: PartitionRegistration,
  brokerId: number,
): boolean {
  const broker = image.cluster.brokers.get(brokerId);
  if (broker === undefined) return false;
  const i = partition.replicas.indexOf(brokerId);
  const dir = i >= 0 ? partition.directories[i] ?? DIRECTORY_UNASSIGNED : DIRECTORY_UNASSIGNED;
  if (dir === DIRECTORY_UNASSIGNED || dir === DIRECTORY_MIGRATING) return true;
  if (dir === DIRECTORY_LOST) return false;
  return broker.logDirs.length === 0 || broker.logDirs.includes(dir);
}

/**
 * Wraps a PartitionChangeRecord at the record version of `metadataVersion`, or version 2 when it
 * carries Eligible Leader Replicas.
 *
 * @example
 * ```ts
 * import { partitionChangeRecord } from "./partition_change.ts";
 * import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
 * partitionChangeRecord(createPartitionChangeRecord({ leader: 2 }), 21).version; // 1
 * ```
 */
export function partitionChangeRecord(
  change: PartitionChangeRecord,
  metadataVersion: number,
): MetadataRecord {
  // KIP-966's fields exist from version 2; our metadata.version (3.9 at most) never asks for it,
  // so a record that carries them takes it (as partitionRecord does for PartitionRecord).
  const elr = change.eligibleLeaderReplicas !== null || change.lastKnownElr !== null;
  const version = Math.max(recordVersionsFor(metadataVersion).partitionChange, elr ? 2 : 0);
  return makeRecord(RecordType.PARTITION_CHANGE, version, change);
}
