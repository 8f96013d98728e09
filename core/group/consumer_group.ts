/**
 * A KIP-848 consumer group: members with epochs, the target assignment, who owns which
 * partition, and committed offsets; plus {@link reconcile}, the per-member state machine that
 * moves a member from its current assignment to its target (revocation before assignment).
 *
 * @example
 * ```ts
 * import { ConsumerGroup } from "./consumer_group.ts";
 * const group = new ConsumerGroup("g");
 * group.state(); // "Empty"
 * ```
 *
 * @module
 */

import { strict as assert } from "node:assert";
import type { Assignment } from "./assignors.ts";
import type { OffsetCommitValue, TopicIdPartitions } from "./types.ts";

/** ConsumerGroupMember.MemberState, with the byte each is persisted as. */
export const MemberState = {
  STABLE: 0,
  UNREVOKED_PARTITIONS: 1,
  UNRELEASED_PARTITIONS: 2,
  UNKNOWN: 127,
} as const;

/** Member epoch sent to leave (KIP-848). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** Member epoch a static member sends to leave temporarily (KIP-848). */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** Where a member stands in reconciliation. */
export interface MemberAssignmentState {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  /** Partitions the member may own now. */
  assigned: Assignment;
  /** Partitions the member must give up before it moves on. */
  pendingRevocation: Assignment;
}

/** A protocol a classic member supports (name and its ConsumerProtocolSubscription bytes). */
export interface ClassicProtocol {
  name: string;
  metadata: Uint8Array;
}

/**
 * A member that speaks the classic protocol (JoinGroup/SyncGroup/Heartbeat) inside a consumer
 * group (KIP-848 online migration). The first two fields are persisted in
 * ConsumerGroupMemberMetadataValue.ClassicMemberMetadata; the deadlines are soft state.
 */
export interface ClassicMemberState {
  sessionTimeoutMs: number;
  /** In the member's order of preference; every one carries the same subscription. */
  supportedProtocols: ClassicProtocol[];
  /** Set when the member was told to rejoin (REBALANCE_IN_PROGRESS): fenced if it has not by then. */
  joinDeadlineMs: number | null;
  /** Set when the member joined: fenced if it has not sent SyncGroup by then. */
  syncDeadlineMs: number | null;
}

/** One member of a consumer group. */
export interface ConsumerGroupMember extends MemberAssignmentState {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  rebalanceTimeoutMs: number;
  sessionDeadlineMs: number;
  /** Set while in UNREVOKED_PARTITIONS: the member is fenced if it has not revoked by then. */
  revocationDeadlineMs: number | null;
  /** Non-null for a member that uses the classic protocol. */
  classic: ClassicMemberState | null;
}

/** Topic metadata of the subscribed topics, by topic name. */
export type SubscriptionMetadata = Map<string, { topicId: string; numPartitions: number }>;

// ---------------------------------------------------------------- assignment helpers

const byString = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

/**
 * An assignment as the records and responses carry it: topics and partitions sorted.
 *
 * @example
 * ```ts
 * import { toTopicIdPartitions } from "./consumer_group.ts";
 * toTopicIdPartitions(new Map([["T", new Set([1, 0])]])); // [{ topicId: "T", partitions: [0, 1] }]
 * ```
 */
export function toTopicIdPartitions(assignment: Assignment): TopicIdPartitions[] {
  return [...assignment.keys()].sort(byString)
    .filter((topicId) => assignment.get(topicId)!.size > 0)
    .map((topicId) => ({
      topicId,
      partitions: [...assignment.get(topicId)!].sort((a, b) => a - b),
    }));
}

/** The inverse of {@link toTopicIdPartitions}. */
export function fromTopicIdPartitions(list: readonly TopicIdPartitions[]): Assignment {
  const out: Assignment = new Map();
  for (const { topicId, partitions } of list) {
    if (partitions.length === 0) continue;
    const set = out.get(topicId) ?? new Set<number>();
    for (const p of partitions) set.add(p);
    out.set(topicId, set);
  }
  return out;
}

/** Every (topicId, partition) of an assignment. */
export function* partitionsOf(assignment: Assignment): Generator<[string, number]> {
  for (const [topicId, partitions] of assignment) {
    for (const p of partitions) yield [topicId, p];
  }
}

function has(assignment: Assignment, topicId: string, p: number): boolean {
  return assignment.get(topicId)?.has(p) ?? false;
}

function addTo(assignment: Assignment, topicId: string, p: number): void {
  let set = assignment.get(topicId);
  if (set === undefined) assignment.set(topicId, set = new Set());
  set.add(p);
}

function sizeOf(assignment: Assignment): number {
  let n = 0;
  for (const set of assignment.values()) n += set.size;
  return n;
}

/** True when both hold exactly the same partitions. */
export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  if (sizeOf(a) !== sizeOf(b)) return false;
  for (const [topicId, p] of partitionsOf(a)) if (!has(b, topicId, p)) return false;
  return true;
}

// ---------------------------------------------------------------- reconciliation

/** What {@link reconcile} needs besides the member. */
export interface ReconcileOptions {
  /** The target assignment epoch and this member's target partitions. */
  targetEpoch: number;
  target: Assignment;
  /** True when another member still owns (or must still revoke) the partition. */
  ownedByOther(topicId: string, partition: number): boolean;
  /** The partitions the member reported owning in this heartbeat, or null if not reported. */
  ownedPartitions: Assignment | null;
}

/**
 * KIP-848 reconciliation (Kafka's CurrentAssignmentBuilder): a member in UNREVOKED_PARTITIONS stays
 * there, at its epoch, until a heartbeat reports that it no longer owns the partitions pending
 * revocation. Otherwise, when its epoch is behind the target or partitions are unreleased, the
 * next step is computed: partitions leaving the member are revoked first (epoch unchanged);
 * with nothing to revoke, the member takes the target epoch and the target partitions no other
 * member still owns (UNRELEASED_PARTITIONS while some are held elsewhere, else STABLE).
 *
 * @example
 * ```ts
 * import { MemberState, reconcile } from "./consumer_group.ts";
 * const next = reconcile({
 *   memberEpoch: 0, previousMemberEpoch: 0, state: MemberState.STABLE,
 *   assigned: new Map(), pendingRevocation: new Map(),
 * }, { targetEpoch: 1, target: new Map([["T", new Set([0])]]), ownedByOther: () => false,
 *   ownedPartitions: null });
 * next.memberEpoch; // 1
 * ```
 */
export function reconcile(
  member: MemberAssignmentState,
  options: ReconcileOptions,
): MemberAssignmentState {
  if (member.state === MemberState.UNREVOKED_PARTITIONS) {
    const owned = options.ownedPartitions;
    if (owned === null) return member;
    for (const [topicId, p] of partitionsOf(member.pendingRevocation)) {
      if (has(owned, topicId, p)) return member;
    }
    // The member revoked: the partitions are released and it may move on.
    return computeNext({ ...member, pendingRevocation: new Map() }, options);
  }
  if (member.state === MemberState.STABLE && member.memberEpoch === options.targetEpoch) {
    return member;
  }
  return computeNext(member, options);
}

/**
 * Whether the member may still own a partition of `partitions`: true when it did not report what
 * it owns (Kafka's ownsRevokedPartitions). A member that reports owning none of them (an eager
 * classic member rejoins having revoked everything) skips UNREVOKED_PARTITIONS.
 */
function ownsAnyOf(owned: Assignment | null, partitions: Assignment): boolean {
  if (owned === null) return true;
  for (const [topicId, p] of partitionsOf(partitions)) if (has(owned, topicId, p)) return true;
  return false;
}

function computeNext(member: MemberAssignmentState, options: ReconcileOptions) {
  const retain: Assignment = new Map();
  const revoke: Assignment = new Map();
  for (const [topicId, p] of partitionsOf(member.assigned)) {
    addTo(has(options.target, topicId, p) ? retain : revoke, topicId, p);
  }
  if (revoke.size > 0 && ownsAnyOf(options.ownedPartitions, revoke)) {
    return {
      memberEpoch: member.memberEpoch,
      previousMemberEpoch: member.previousMemberEpoch,
      state: MemberState.UNREVOKED_PARTITIONS,
      assigned: retain,
      pendingRevocation: revoke,
    };
  }
  let unreleased = false;
  const assigned: Assignment = new Map();
  for (const [topicId, p] of partitionsOf(retain)) addTo(assigned, topicId, p);
  for (const [topicId, p] of partitionsOf(options.target)) {
    if (has(member.assigned, topicId, p)) continue;
    if (options.ownedByOther(topicId, p)) unreleased = true;
    else addTo(assigned, topicId, p);
  }
  return {
    memberEpoch: options.targetEpoch,
    previousMemberEpoch: member.memberEpoch === options.targetEpoch
      ? member.previousMemberEpoch
      : member.memberEpoch,
    state: unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
    assigned,
    pendingRevocation: new Map(),
  };
}

// ---------------------------------------------------------------- the group

/**
 * The state of one consumer group. Partition ownership (assigned or pending revocation) is
 * indexed so that no partition ever has two owners: {@link putMember} asserts it.
 */
export class ConsumerGroup {
  readonly groupId: string;
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerGroupMember>();
  /** group.instance.id -> member id. */
  readonly staticMembers = new Map<string, string>();
  readonly targetAssignment = new Map<string, Assignment>();
  /** The subscribed topics' metadata the current group epoch was computed from. */
  subscriptionMetadata: SubscriptionMetadata = new Map();
  readonly offsets = new Map<string, Map<number, OffsetCommitValue>>();
  readonly #owners = new Map<string, string>();

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  /** Kafka's consumer group states: Empty, Assigning, Reconciling, Stable. */
  state(): "Empty" | "Assigning" | "Reconciling" | "Stable" {
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch !== this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== MemberState.STABLE) {
        return "Reconciling";
      }
    }
    return "Stable";
  }

  /** The member owning (or still revoking) a partition. */
  ownerOf(topicId: string, partition: number): string | undefined {
    return this.#owners.get(`${topicId}:${partition}`);
  }

  #release(member: ConsumerGroupMember): void {
    for (const a of [member.assigned, member.pendingRevocation]) {
      for (const [topicId, p] of partitionsOf(a)) {
        const key = `${topicId}:${p}`;
        if (this.#owners.get(key) === member.memberId) this.#owners.delete(key);
      }
    }
  }

  #claim(member: ConsumerGroupMember): void {
    for (const a of [member.assigned, member.pendingRevocation]) {
      for (const [topicId, p] of partitionsOf(a)) {
        const key = `${topicId}:${p}`;
        const owner = this.#owners.get(key);
        assert(
          owner === undefined || owner === member.memberId,
          `Partition ${key} of group ${this.groupId} would be owned by ${owner} and ${member.memberId}.`,
        );
        this.#owners.set(key, member.memberId);
      }
    }
  }

  /** Adds or replaces a member and moves its partition ownership. */
  putMember(member: ConsumerGroupMember): void {
    const old = this.members.get(member.memberId);
    if (old !== undefined) {
      this.#release(old);
      if (old.instanceId !== null) this.staticMembers.delete(old.instanceId);
    }
    this.members.set(member.memberId, member);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
    this.#claim(member);
  }

  /** Removes a member, its target assignment and its partitions. */
  removeMember(memberId: string): void {
    const member = this.members.get(memberId);
    this.targetAssignment.delete(memberId);
    if (member === undefined) return;
    this.#release(member);
    if (member.instanceId !== null && this.staticMembers.get(member.instanceId) === memberId) {
      this.staticMembers.delete(member.instanceId);
    }
    this.members.delete(memberId);
  }

  /** Rebuilds the ownership index from the members (after loading). */
  rebuildOwners(): void {
    this.#owners.clear();
    for (const member of this.members.values()) this.#claim(member);
  }

  /** Every topic name some member subscribes to. */
  subscribedTopicNames(): Set<string> {
    const names = new Set<string>();
    for (const m of this.members.values()) for (const t of m.subscribedTopicNames) names.add(t);
    return names;
  }

  /** The assignor most members ask for, else `defaultAssignor` (Kafka's preferred assignor). */
  preferredAssignor(defaultAssignor: string): string {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) {
      if (m.serverAssignor !== null) {
        counts.set(m.serverAssignor, (counts.get(m.serverAssignor) ?? 0) + 1);
      }
    }
    let best = defaultAssignor;
    let bestCount = 0;
    for (const [name, n] of [...counts].sort(([a], [b]) => byString(a, b))) {
      if (n > bestCount) [best, bestCount] = [name, n];
    }
    return best;
  }

  /** True when a member subscribes to `topic` by name or (resolved) by regex. */
  isSubscribedToTopic(topic: string): boolean {
    if (this.subscriptionMetadata.has(topic)) return true;
    for (const m of this.members.values()) if (m.subscribedTopicNames.includes(topic)) return true;
    return false;
  }

  offsetCount(): number {
    let count = 0;
    for (const partitions of this.offsets.values()) count += partitions.size;
    return count;
  }

  setOffset(topic: string, partition: number, value: OffsetCommitValue): void {
    let partitions = this.offsets.get(topic);
    if (partitions === undefined) this.offsets.set(topic, partitions = new Map());
    partitions.set(partition, value);
  }

  deleteOffset(topic: string, partition: number): boolean {
    const partitions = this.offsets.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    if (partitions.size === 0) this.offsets.delete(topic);
    return true;
  }
}
