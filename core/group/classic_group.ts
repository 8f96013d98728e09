import { strict as assert } from "node:assert";
import { readSubscriptionTopics } from "./consumer_protocol.ts";
import { GroupErrorCode } from "./error_codes.ts";
import type {
  GroupMetadataValue,
  JoinGroupProtocol,
  JoinGroupResponseMember,
  OffsetCommitValue,
} from "./types.ts";

/** Kafka's classic group states (their `toString()` spelling is what ListGroups reports). */
export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ["PreparingRebalance"],
  PreparingRebalance: ["Stable", "CompletingRebalance", "Empty"],
  CompletingRebalance: ["PreparingRebalance"],
  Stable: ["CompletingRebalance"],
  Dead: ["Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead"],
};

/** A request the coordinator answers later; `apiVersion` shapes the answer (skipAssignment). */
export interface Parked<H> {
  handle: H;
  apiVersion: number;
}

/** One member of a classic group. */
export interface ClassicMember<H> {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: JoinGroupProtocol[];
  assignment: Uint8Array;
  awaitingJoin: Parked<H> | null;
  awaitingSync: Parked<H> | null;
  /** Added in the current rebalance and not yet through a join: expires on the new-member timeout. */
  isNew: boolean;
  heartbeatDeadlineMs: number;
}

/** The join-phase timer: the delayed initial rebalance carries its remaining budget. */
export interface JoinTimer {
  deadlineMs: number;
  initial: { delayMs: number; remainingMs: number } | null;
}

const EMPTY_BYTES = new Uint8Array(0);

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when `protocols` lists the same names and metadata, in the same order. */
export function protocolsEqual(a: JoinGroupProtocol[], b: JoinGroupProtocol[]): boolean {
  return a.length === b.length &&
    a.every((p, i) => p.name === b[i]!.name && bytesEqual(p.metadata, b[i]!.metadata));
}

/**
 * The membership, rebalance bookkeeping and committed offsets of one classic group. It holds
 * data and answers questions; the coordinator drives transitions and emits effects.
 *
 * @example
 * ```ts
 * import { ClassicGroup } from "./classic_group.ts";
 * const group = new ClassicGroup("payments", 0);
 * group.state; // "Empty"
 * ```
 */
export class ClassicGroup<H> {
  readonly groupId: string;
  state: GroupState = "Empty";
  previousState: GroupState = "Empty";
  currentStateTimestampMs: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Insertion-ordered, so iteration (and leader fallback) is deterministic. */
  readonly members = new Map<string, ClassicMember<H>>();
  /** groupInstanceId -> memberId (KIP-345). */
  readonly staticMembers = new Map<string, string>();
  /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED -> expiry deadline. */
  readonly pendingMembers = new Map<string, number>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  newMemberAdded = false;
  joinTimer: JoinTimer | null = null;
  syncDeadlineMs: number | null = null;
  /** Topics the consumer-protocol members subscribe to; null when unknown. */
  subscribedTopics: Set<string> | null = null;
  /** topic -> partition -> committed offset. */
  readonly offsets = new Map<string, Map<number, OffsetCommitValue>>();

  constructor(groupId: string, nowMs: number) {
    this.groupId = groupId;
    this.currentStateTimestampMs = nowMs;
  }

  transitionTo(state: GroupState, nowMs: number): void {
    assert(
      VALID_PREVIOUS_STATES[state].includes(this.state),
      `Cannot move group ${this.groupId} from ${this.state} to ${state}: not a valid transition.`,
    );
    this.previousState = this.state;
    this.state = state;
    this.currentStateTimestampMs = nowMs;
  }

  canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  usesConsumerProtocol(): boolean {
    return this.protocolType === "consumer";
  }

  add(member: ClassicMember<H>): void {
    assert(!this.members.has(member.memberId), `Member ${member.memberId} is already in a group.`);
    if (member.groupInstanceId !== null) {
      assert(!this.staticMembers.has(member.groupInstanceId), "Static member added twice.");
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, "Member protocol type must match.");
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.pendingMembers.delete(member.memberId);
  }

  /** Removes a member (no-op when absent); the leader falls back to the oldest remaining member. */
  remove(memberId: string): ClassicMember<H> | undefined {
    const member = this.members.get(memberId);
    if (member !== undefined) {
      this.members.delete(memberId);
      if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.isLeader(memberId)) {
      this.leaderId = this.members.keys().next().value ?? null;
    }
    this.pendingMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    return member;
  }

  /** KIP-345: the member behind `groupInstanceId` takes `newMemberId`, keeping everything else. */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string) {
    const old = this.members.get(oldMemberId);
    assert(old !== undefined, `Cannot replace unknown member ${oldMemberId}.`);
    const replaced: ClassicMember<H> = {
      ...old,
      memberId: newMemberId,
      awaitingJoin: null,
      awaitingSync: null,
    };
    const wasLeader = this.isLeader(oldMemberId);
    const wasPendingSync = this.pendingSyncMembers.delete(oldMemberId);
    // Rebuild the map so the replacement keeps the old member's position.
    const entries = [...this.members.entries()].map(([id, m]): [string, ClassicMember<H>] =>
      id === oldMemberId ? [newMemberId, replaced] : [id, m]
    );
    this.members.clear();
    for (const [id, m] of entries) this.members.set(id, m);
    if (wasLeader) this.leaderId = newMemberId;
    if (wasPendingSync) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return { old, replaced };
  }

  /** Kafka's validateMember: UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, or NONE. */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const existing = this.staticMembers.get(groupInstanceId);
      if (existing === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
      if (existing !== memberId) return GroupErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? GroupErrorCode.NONE : GroupErrorCode.UNKNOWN_MEMBER_ID;
  }

  numAwaitingJoin(): number {
    let count = 0;
    for (const member of this.members.values()) if (member.awaitingJoin !== null) count++;
    return count;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin() && this.pendingMembers.size === 0;
  }

  /** The group's rebalance timeout: the largest of its members'. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const member of this.members.values()) max = Math.max(max, member.rebalanceTimeoutMs);
    return max;
  }

  /** Protocol names every member supports. */
  candidateProtocols(): Set<string> {
    let candidates: string[] | null = null;
    for (const member of this.members.values()) {
      const names = new Set(member.protocols.map((p) => p.name));
      candidates = candidates === null ? [...names] : candidates.filter((name) => names.has(name));
    }
    return new Set(candidates ?? []);
  }

  /**
   * Can a member with these protocols join? An empty group takes any non-empty type and list;
   * otherwise the type must match and one protocol must be supported by every current member.
   */
  supportsProtocols(protocolType: string, names: string[]): boolean {
    if (this.state === "Empty") return protocolType !== "" && names.length > 0;
    if (this.protocolType !== protocolType) return false;
    const candidates = this.candidateProtocols();
    return names.some((name) => candidates.has(name));
  }

  /**
   * Kafka's selectProtocol: each member votes for its most preferred protocol among those all
   * members support; the most votes win (ties go to the protocol voted first, for determinism).
   */
  selectProtocol(): string {
    assert(this.members.size > 0, `Cannot select a protocol for empty group ${this.groupId}.`);
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const vote = member.protocols.find((p) => candidates.has(p.name));
      assert(vote !== undefined, `Member ${member.memberId} supports no common protocol.`);
      votes.set(vote.name, (votes.get(vote.name) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, count] of votes) {
      if (count > bestVotes) [best, bestVotes] = [name, count];
    }
    return best!;
  }

  /** Elects a joined member as leader when the current one did not rejoin; false if none joined. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.awaitingJoin !== null) return true;
    for (const member of this.members.values()) {
      if (member.awaitingJoin !== null) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  metadataFor(member: ClassicMember<H>, protocolName: string | null): Uint8Array {
    return member.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }

  /** The member list the leader receives in its JoinGroup response. */
  joinResponseMembers(): JoinGroupResponseMember[] {
    return [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: this.metadataFor(member, this.protocolName),
    }));
  }

  /** Union of the consumer-protocol subscriptions, or null when not knowable. */
  computeSubscribedTopics(): Set<string> | null {
    if (!this.usesConsumerProtocol()) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const subscribed = readSubscriptionTopics(this.metadataFor(member, this.protocolName));
      if (subscribed === null) return null;
      for (const topic of subscribed) topics.add(topic);
    }
    return topics;
  }

  /** Unknown subscriptions count as subscribed for consumer groups (Kafka's isSubscribedToTopic). */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? this.usesConsumerProtocol();
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
    if (partitions === undefined) return false;
    const deleted = partitions.delete(partition);
    if (partitions.size === 0) this.offsets.delete(topic);
    return deleted;
  }

  /** The GroupMetadataValue Kafka persists, with the given assignment per member id. */
  toMetadataValue(assignment: (member: ClassicMember<H>) => Uint8Array): GroupMetadataValue {
    return {
      protocolType: this.protocolType ?? "",
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: this.currentStateTimestampMs,
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeout: member.rebalanceTimeoutMs,
        sessionTimeout: member.sessionTimeoutMs,
        subscription: this.metadataFor(member, this.protocolName),
        assignment: assignment(member),
      })),
    };
  }
}
