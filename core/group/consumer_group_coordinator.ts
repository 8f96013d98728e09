/**
 * The KIP-848 side of the group coordinator: ConsumerGroupHeartbeat and ConsumerGroupDescribe over
 * {@link ConsumerGroup}s, session and revocation timeouts, and the ConsumerGroup* records. It is
 * pure: every call takes `nowMs` and returns the records to append; {@link GroupCoordinator}
 * appends them and releases the response once they are durable.
 *
 * @example
 * ```ts
 * import { ConsumerGroups } from "./consumer_group_coordinator.ts";
 * import { GROUP_COORDINATOR_DEFAULTS } from "./types.ts";
 * import { randomMemberIdGenerator } from "./member_id.ts";
 * import { SeededRandom } from "../random.ts";
 * const groups = new ConsumerGroups({
 *   config: GROUP_COORDINATOR_DEFAULTS,
 *   topics: {
 *     byName: () => ({ topicId: "T", numPartitions: 3 }),
 *     byId: () => undefined,
 *     topicNames: () => new Map([["t", null]]),
 *   },
 *   generateMemberId: randomMemberIdGenerator(new SeededRandom(1)),
 * });
 * const { result } = groups.heartbeat({
 *   groupId: "g", memberId: "", memberEpoch: 0, instanceId: null, rackId: null,
 *   rebalanceTimeoutMs: 30000, subscribedTopicNames: ["t"], serverAssignor: null,
 *   topicPartitions: [], clientId: "c", clientHost: "/127.0.0.1",
 * }, 0);
 * result.memberEpoch; // 1
 * ```
 *
 * @module
 */

import { type Assignment, type AssignorMember, ASSIGNORS } from "./assignors.ts";
import {
  assignmentsEqual,
  type ClassicProtocol,
  ConsumerGroup,
  type ConsumerGroupMember,
  fromTopicIdPartitions,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  type MemberAssignmentState,
  MemberState,
  partitionsOf,
  reconcile,
  type SubscriptionMetadata,
  toTopicIdPartitions,
} from "./consumer_group.ts";
import {
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
} from "./consumer_protocol.ts";
import { GroupErrorCode } from "./error_codes.ts";
import type { MemberIdGenerator } from "./member_id.ts";
import { compileTopicRegex, type TopicRegex } from "./topic_regex.ts";
import type {
  ConsumerGroupDescribedGroup,
  ConsumerGroupHeartbeatInput,
  ConsumerGroupHeartbeatResult,
  ConsumerGroupRecord,
  DescribedTopicPartitions,
  GroupCoordinatorConfig,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupMemberIdentity,
  LeaveGroupMemberResult,
  ListedGroup,
  OffsetCommitInput,
  OffsetCommitValue,
  SyncGroupInput,
  SyncGroupResult,
  TopicMetadataLookup,
} from "./types.ts";

/** How to build {@link ConsumerGroups}. */
export interface ConsumerGroupsOptions {
  config: Readonly<GroupCoordinatorConfig>;
  topics: TopicMetadataLookup;
  generateMemberId: MemberIdGenerator;
}

/** A heartbeat's answer and the records that must be durable before it is sent. */
export interface HeartbeatOutcome {
  result: ConsumerGroupHeartbeatResult;
  records: ConsumerGroupRecord[];
}

class HeartbeatError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function fail(code: number, message: string): never {
  throw new HeartbeatError(code, message);
}

function errorResult(code: number, message: string | null): ConsumerGroupHeartbeatResult {
  return {
    errorCode: code,
    errorMessage: message,
    memberId: null,
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    assignment: null,
  };
}

/** One member of a classic group as it moves between group types (KIP-848 online migration). */
export interface ClassicMemberSnapshot {
  memberId: string;
  instanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocols: ClassicProtocol[];
  /** The member's ConsumerProtocolAssignment (empty when it has none yet). */
  assignment: Uint8Array;
}

/**
 * A classic group with members converted to a consumer group when a KIP-848 member joins it
 * ({@link ConsumerGroups.adoptClassicGroup}), or a consumer group converted back when its last
 * KIP-848 member leaves and only classic members remain ({@link ConsumerGroups.takeDowngrades}).
 */
export interface GroupConversion {
  groupId: string;
  /** The classic generation id; the consumer group epoch. */
  generationId: number;
  members: ClassicMemberSnapshot[];
  offsets: Map<string, Map<number, OffsetCommitValue>>;
}

/** The embedded protocol type every member of a consumer group speaks. */
const CONSUMER_PROTOCOL_TYPE = "consumer";

/** KIP-1082: the longest client-generated member id accepted (a UUID in its 36-char text form). */
export const CLIENT_MEMBER_ID_CHARS_MAX = 36;
/** Bound on the compiled regexes and resolutions kept per coordinator (cleared when full). */
const REGEX_CACHE_ENTRIES_MAX = 1024;

/** A regex resolved against one set of topic names (the image's, by identity). */
interface Resolution {
  names: ReadonlyMap<string, unknown>;
  topics: readonly string[];
}

function metadataEqual(a: SubscriptionMetadata, b: SubscriptionMetadata): boolean {
  if (a.size !== b.size) return false;
  for (const [name, m] of a) {
    const o = b.get(name);
    if (o === undefined || o.topicId !== m.topicId || o.numPartitions !== m.numPartitions) {
      return false;
    }
  }
  return true;
}

/** Every deadline at which a member is fenced: session, revocation, classic rejoin and sync. */
function memberDeadlines(m: ConsumerGroupMember): number[] {
  const out = [m.sessionDeadlineMs];
  if (m.revocationDeadlineMs !== null) out.push(m.revocationDeadlineMs);
  if (m.classic?.joinDeadlineMs != null) out.push(m.classic.joinDeadlineMs);
  if (m.classic?.syncDeadlineMs != null) out.push(m.classic.syncDeadlineMs);
  return out;
}

function sameProtocols(a: readonly ClassicProtocol[], b: readonly ClassicProtocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.metadata;
    const y = b[i]!.metadata;
    if (a[i]!.name !== b[i]!.name || x.byteLength !== y.byteLength) return false;
    for (let j = 0; j < x.byteLength; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

function sameState(a: MemberAssignmentState, b: MemberAssignmentState): boolean {
  return a.memberEpoch === b.memberEpoch && a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state && assignmentsEqual(a.assigned, b.assigned) &&
    assignmentsEqual(a.pendingRevocation, b.pendingRevocation);
}

/** The consumer groups of one coordinator. */
export class ConsumerGroups {
  readonly groups = new Map<string, ConsumerGroup>();
  readonly #config: Readonly<GroupCoordinatorConfig>;
  readonly #topics: TopicMetadataLookup;
  readonly #generateMemberId: MemberIdGenerator;
  readonly #compiled = new Map<string, TopicRegex>();
  readonly #resolved = new Map<string, Resolution>();
  /** Groups converted back to classic groups, for the classic coordinator to take over. */
  #downgrades: GroupConversion[] = [];

  constructor(options: ConsumerGroupsOptions) {
    this.#config = options.config;
    this.#topics = options.topics;
    this.#generateMemberId = options.generateMemberId;
  }

  // ---------------------------------------------------------------- records

  #memberMetadataRecord(group: ConsumerGroup, m: ConsumerGroupMember): ConsumerGroupRecord {
    return {
      type: "consumerGroupMemberMetadata",
      key: { group: group.groupId, memberId: m.memberId },
      value: {
        instanceId: m.instanceId,
        rackId: m.rackId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        serverAssignor: m.serverAssignor,
        classicMemberMetadata: m.classic === null ? null : {
          sessionTimeoutMs: m.classic.sessionTimeoutMs,
          supportedProtocols: m.classic.supportedProtocols,
        },
      },
    };
  }

  #currentAssignmentRecord(group: ConsumerGroup, m: ConsumerGroupMember): ConsumerGroupRecord {
    return {
      type: "consumerGroupCurrentMemberAssignment",
      key: { group: group.groupId, memberId: m.memberId },
      value: {
        memberEpoch: m.memberEpoch,
        previousMemberEpoch: m.previousMemberEpoch,
        state: m.state,
        assignedPartitions: toTopicIdPartitions(m.assigned),
        partitionsPendingRevocation: toTopicIdPartitions(m.pendingRevocation),
      },
    };
  }

  #targetRecord(group: ConsumerGroup, memberId: string, a: Assignment | null): ConsumerGroupRecord {
    return {
      type: "consumerGroupTargetAssignmentMember",
      key: { group: group.groupId, memberId },
      value: a === null ? null : { topicPartitions: toTopicIdPartitions(a) },
    };
  }

  #memberTombstones(group: ConsumerGroup, memberId: string): ConsumerGroupRecord[] {
    const key = { group: group.groupId, memberId };
    return [
      { type: "consumerGroupCurrentMemberAssignment", key, value: null },
      { type: "consumerGroupTargetAssignmentMember", key, value: null },
      { type: "consumerGroupMemberMetadata", key, value: null },
    ];
  }

  /** Tombstones of every record of the group (DeleteGroups), group metadata last. */
  deleteGroup(groupId: string): ConsumerGroupRecord[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    const records: ConsumerGroupRecord[] = [];
    for (const memberId of group.members.keys()) {
      records.push(...this.#memberTombstones(group, memberId));
    }
    const key = { group: groupId };
    records.push(
      { type: "consumerGroupTargetAssignmentMetadata", key, value: null },
      { type: "consumerGroupPartitionMetadata", key, value: null },
      { type: "consumerGroupMetadata", key, value: null },
    );
    this.groups.delete(groupId);
    return records;
  }

  // ---------------------------------------------------------------- epochs and targets

  // ---------------------------------------------------------------- regex subscriptions

  /** The compiled regex, or the reason it is invalid (compiled once, cached). */
  #compile(source: string): TopicRegex | string {
    const cached = this.#compiled.get(source);
    if (cached !== undefined) return cached;
    const compiled = compileTopicRegex(source);
    if (!compiled.ok) return compiled.error;
    if (this.#compiled.size >= REGEX_CACHE_ENTRIES_MAX) this.#compiled.clear();
    this.#compiled.set(source, compiled.regex);
    return compiled.regex;
  }

  /**
   * The topics a regex matches in the current image (Kafka resolves against every topic name,
   * whole-name matches). Cached until the image's topic set changes, so topics created or
   * deleted are picked up by the next heartbeat of the group.
   */
  #resolve(source: string): readonly string[] {
    const names = this.#topics.topicNames();
    const cached = this.#resolved.get(source);
    if (cached !== undefined && cached.names === names) return cached.topics;
    const regex = this.#compile(source);
    // Regexes are validated when a member sends them; one loaded from the log that no longer
    // compiles (it cannot, with the same parser) matches nothing rather than failing the load.
    const topics = typeof regex === "string"
      ? []
      : [...names.keys()].filter((name) => regex.matches(name)).sort();
    if (this.#resolved.size >= REGEX_CACHE_ENTRIES_MAX) this.#resolved.clear();
    this.#resolved.set(source, { names, topics });
    return topics;
  }

  /** The topic names a member subscribes to: its names plus what its regex resolves to. */
  #memberTopicNames(m: ConsumerGroupMember): readonly string[] {
    if (m.subscribedTopicRegex === null || m.subscribedTopicRegex === "") {
      return m.subscribedTopicNames;
    }
    const resolved = this.#resolve(m.subscribedTopicRegex);
    if (m.subscribedTopicNames.length === 0) return resolved;
    return [...new Set([...m.subscribedTopicNames, ...resolved])];
  }

  #computeSubscriptionMetadata(group: ConsumerGroup): SubscriptionMetadata {
    const out: SubscriptionMetadata = new Map();
    const subscribed = new Set<string>();
    for (const m of group.members.values()) {
      for (const name of this.#memberTopicNames(m)) subscribed.add(name);
    }
    for (const name of [...subscribed].sort()) {
      const topic = this.#topics.byName(name);
      if (topic !== undefined) out.set(name, { ...topic });
    }
    return out;
  }

  /** Bumps the group epoch and computes the new target assignment (KIP-848 group epoch). */
  #bumpGroupEpoch(group: ConsumerGroup, records: ConsumerGroupRecord[]): void {
    group.groupEpoch++;
    records.push({
      type: "consumerGroupMetadata",
      key: { group: group.groupId },
      value: { epoch: group.groupEpoch },
    });
    const metadata = group.subscriptionMetadata;
    // Static members that left temporarily (epoch -2) keep their share until they expire.
    const members: AssignorMember[] = [...group.members.values()]
      .map((m) => ({
        memberId: m.memberId,
        subscribedTopicIds: new Set(
          this.#memberTopicNames(m).flatMap((name) => {
            const topic = metadata.get(name);
            return topic === undefined ? [] : [topic.topicId];
          }),
        ),
      }));
    const topics = new Map([...metadata.values()].map((t) => [t.topicId, t.numPartitions]));
    const assignorName = group.preferredAssignor(this.#config.consumerGroupAssignors[0]!);
    const assignor = ASSIGNORS.get(assignorName) ?? ASSIGNORS.get("uniform")!;
    const target = assignor({ members, topics, previous: group.targetAssignment });
    for (const [memberId, assignment] of target) {
      const old = group.targetAssignment.get(memberId);
      if (old === undefined || !assignmentsEqual(old, assignment)) {
        records.push(this.#targetRecord(group, memberId, assignment));
      }
      group.targetAssignment.set(memberId, assignment);
    }
    group.assignmentEpoch = group.groupEpoch;
    records.push({
      type: "consumerGroupTargetAssignmentMetadata",
      key: { group: group.groupId },
      value: { assignmentEpoch: group.assignmentEpoch },
    });
  }

  /** Refreshes the subscription metadata from the image; true when it changed. */
  #refreshMetadata(group: ConsumerGroup, records: ConsumerGroupRecord[]): boolean {
    const fresh = this.#computeSubscriptionMetadata(group);
    if (metadataEqual(fresh, group.subscriptionMetadata)) return false;
    group.subscriptionMetadata = fresh;
    records.push({
      type: "consumerGroupPartitionMetadata",
      key: { group: group.groupId },
      value: {
        topics: [...fresh].map(([topicName, t]) => ({
          topicId: t.topicId,
          topicName,
          numPartitions: t.numPartitions,
        })),
      },
    });
    return true;
  }

  #removeMember(group: ConsumerGroup, memberId: string, records: ConsumerGroupRecord[]): void {
    records.push(...this.#memberTombstones(group, memberId));
    group.removeMember(memberId);
    this.#refreshMetadata(group, records);
    this.#bumpGroupEpoch(group, records);
  }

  /**
   * Removes a member that left or was fenced. When it was the last member speaking the KIP-848
   * protocol and classic members remain, the group goes back to being a classic group (Kafka's
   * online downgrade, if group.consumer.migration.policy allows it): its records are tombstoned and
   * the conversion is queued for the classic coordinator ({@link takeDowngrades}).
   */
  #fenceMember(group: ConsumerGroup, memberId: string, records: ConsumerGroupRecord[]): void {
    const leaving = group.members.get(memberId);
    const remaining = [...group.members.values()].filter((m) => m.memberId !== memberId);
    const policy = this.#config.consumerGroupMigrationPolicy;
    const downgrade = leaving !== undefined && leaving.classic === null &&
      remaining.length > 0 && remaining.every((m) => m.classic !== null) &&
      (policy === "bidirectional" || policy === "downgrade") &&
      remaining.length <= this.#config.groupMaxSize;
    if (!downgrade) {
      this.#removeMember(group, memberId, records);
      return;
    }
    const offsets = group.offsets;
    const members = remaining.map((m): ClassicMemberSnapshot => {
      const target = group.targetAssignment.get(m.memberId) ?? new Map();
      return {
        memberId: m.memberId,
        instanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.classic!.sessionTimeoutMs,
        protocols: m.classic!.supportedProtocols,
        assignment: this.#encodeAssignment(group, target, m),
      };
    });
    records.push(...this.deleteGroup(group.groupId));
    this.#downgrades.push({
      groupId: group.groupId,
      generationId: group.groupEpoch,
      members,
      offsets,
    });
  }

  /** Consumer groups converted back to classic groups since the last call (oldest first). */
  takeDowngrades(): GroupConversion[] {
    const taken = this.#downgrades;
    this.#downgrades = [];
    return taken;
  }

  /** A member's partitions as a ConsumerProtocolAssignment of its subscription's version. */
  #encodeAssignment(group: ConsumerGroup, a: Assignment, m: ConsumerGroupMember): Uint8Array {
    const byName = new Map<string, number[]>();
    for (const { topicId, partitions } of toTopicIdPartitions(a)) {
      const name = this.#topicName(group, topicId);
      if (name !== "") byName.set(name, partitions);
    }
    const metadata = m.classic?.supportedProtocols[0]?.metadata;
    const version = metadata === undefined ? 0 : decodeConsumerSubscription(metadata)?.version ?? 0;
    return encodeConsumerAssignment(byName, version);
  }

  #topicName(group: ConsumerGroup, topicId: string): string {
    const image = this.#topics.byId(topicId)?.name;
    if (image !== undefined) return image;
    for (const [name, t] of group.subscriptionMetadata) if (t.topicId === topicId) return name;
    return "";
  }

  /** Partitions by topic name to an assignment by topic id; unknown topics are left out. */
  #byTopicId(partitions: Iterable<{ topic: string; partitions: number[] }>): Assignment {
    const out: Assignment = new Map();
    for (const { topic, partitions: ps } of partitions) {
      const t = this.#topics.byName(topic);
      if (t === undefined) continue;
      const set = out.get(t.topicId) ?? new Set<number>();
      for (const p of ps) if (p >= 0 && p < t.numPartitions) set.add(p);
      if (set.size > 0) out.set(t.topicId, set);
    }
    return out;
  }

  // ---------------------------------------------------------------- online upgrade

  /**
   * Whether a classic group with members may become a consumer group now that a KIP-848 member
   * joins it (Kafka's validateOnlineUpgrade): the policy allows it, the group embeds the consumer
   * protocol and it is not larger than group.consumer.max.size.
   */
  mayAdoptClassicGroup(protocolType: string | null, memberCount: number): boolean {
    const policy = this.#config.consumerGroupMigrationPolicy;
    return (policy === "bidirectional" || policy === "upgrade") &&
      protocolType === CONSUMER_PROTOCOL_TYPE && memberCount <= this.#config.consumerGroupMaxSize;
  }

  /**
   * Converts a classic group into a consumer group (KIP-848 online upgrade): every classic member
   * keeps its last assignment as its current and target assignment at the generation's epoch, in
   * the Stable state, and goes on speaking the classic protocol. Returns the records that create
   * the group, or null (nothing changed) when a member's subscription or assignment cannot be
   * read or two members claim one partition.
   */
  adoptClassicGroup(classic: GroupConversion, nowMs: number): ConsumerGroupRecord[] | null {
    const group = new ConsumerGroup(classic.groupId);
    group.groupEpoch = classic.generationId;
    group.assignmentEpoch = classic.generationId;
    const claimed = new Set<string>();
    for (const c of classic.members) {
      const subscription = c.protocols.length === 0
        ? null
        : decodeConsumerSubscription(c.protocols[0]!.metadata);
      const decoded = decodeConsumerAssignment(c.assignment);
      if (subscription === null || decoded === null) return null;
      const assigned = this.#byTopicId(
        [...decoded].map(([topic, partitions]) => ({ topic, partitions })),
      );
      for (const [topicId, p] of partitionsOf(assigned)) {
        const key = `${topicId}:${p}`;
        if (claimed.has(key)) return null;
        claimed.add(key);
      }
      group.putMember({
        memberId: c.memberId,
        instanceId: c.instanceId,
        rackId: subscription.rackId,
        clientId: c.clientId,
        clientHost: c.clientHost,
        subscribedTopicNames: [...subscription.topics].sort(),
        subscribedTopicRegex: null,
        serverAssignor: null,
        rebalanceTimeoutMs: c.rebalanceTimeoutMs,
        memberEpoch: classic.generationId,
        previousMemberEpoch: classic.generationId,
        state: MemberState.STABLE,
        assigned,
        pendingRevocation: new Map(),
        sessionDeadlineMs: nowMs + c.sessionTimeoutMs,
        revocationDeadlineMs: null,
        classic: {
          sessionTimeoutMs: c.sessionTimeoutMs,
          supportedProtocols: c.protocols,
          joinDeadlineMs: null,
          syncDeadlineMs: null,
        },
      });
      group.targetAssignment.set(c.memberId, assigned);
    }
    for (const [topic, partitions] of classic.offsets) {
      for (const [partition, value] of partitions) group.setOffset(topic, partition, value);
    }
    const records: ConsumerGroupRecord[] = [];
    for (const m of group.members.values()) records.push(this.#memberMetadataRecord(group, m));
    group.subscriptionMetadata = this.#computeSubscriptionMetadata(group);
    records.push({
      type: "consumerGroupPartitionMetadata",
      key: { group: group.groupId },
      value: {
        topics: [...group.subscriptionMetadata].map(([topicName, t]) => ({
          topicId: t.topicId,
          topicName,
          numPartitions: t.numPartitions,
        })),
      },
    });
    records.push({
      type: "consumerGroupMetadata",
      key: { group: group.groupId },
      value: { epoch: group.groupEpoch },
    });
    for (const m of group.members.values()) {
      records.push(this.#targetRecord(group, m.memberId, m.assigned));
    }
    records.push({
      type: "consumerGroupTargetAssignmentMetadata",
      key: { group: group.groupId },
      value: { assignmentEpoch: group.assignmentEpoch },
    });
    for (const m of group.members.values()) records.push(this.#currentAssignmentRecord(group, m));
    this.groups.set(group.groupId, group);
    return records;
  }

  // ---------------------------------------------------------------- classic members

  /** Finds a member by id, or by group.instance.id (KIP-345), as the classic APIs name it. */
  #classicMember(
    group: ConsumerGroup,
    memberId: string,
    instanceId: string | null,
  ): ConsumerGroupMember {
    let member: ConsumerGroupMember | undefined;
    if (instanceId === null) {
      member = group.members.get(memberId);
    } else {
      const id = group.staticMembers.get(instanceId);
      member = id === undefined ? undefined : group.members.get(id);
      if (member !== undefined && member.memberId !== memberId) {
        fail(
          GroupErrorCode.FENCED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${instanceId} is fenced by ${member.memberId}.`,
        );
      }
    }
    if (member === undefined) {
      fail(
        GroupErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${memberId} is not a member of group ${group.groupId}.`,
      );
    }
    if (member.classic === null) {
      fail(
        GroupErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${member.memberId} of group ${group.groupId} uses the consumer group protocol.`,
      );
    }
    return member;
  }

  /** True when every classic member (but `exceptMemberId`) supports one of `names`. */
  #supportsClassicProtocols(
    group: ConsumerGroup,
    names: string[],
    exceptMemberId: string,
  ): boolean {
    if (names.length === 0) return false;
    let candidates = new Set(names);
    for (const m of group.members.values()) {
      if (m.classic === null || m.memberId === exceptMemberId) continue;
      const theirs = new Set(m.classic.supportedProtocols.map((p) => p.name));
      candidates = new Set([...candidates].filter((n) => theirs.has(n)));
      if (candidates.size === 0) return false;
    }
    return true;
  }

  /**
   * JoinGroup from a classic member of a consumer group (Kafka's classicGroupJoinToConsumerGroup):
   * the member's subscription and owned partitions come from its embedded ConsumerProtocol
   * metadata; the server-side assignor computes the target; the member reconciles like a KIP-848
   * member, and the response (generation = member epoch, no leader) is released once the records
   * are durable. The member then collects its partitions with SyncGroup.
   */
  classicJoin(input: JoinGroupInput, nowMs: number): {
    result: JoinGroupResult;
    records: ConsumerGroupRecord[];
  } {
    const records: ConsumerGroupRecord[] = [];
    const error = (code: number, memberId = input.memberId): {
      result: JoinGroupResult;
      records: ConsumerGroupRecord[];
    } => ({
      result: {
        errorCode: code,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: "",
        skipAssignment: false,
        memberId,
        members: [],
      },
      records: [],
    });
    const group = this.groups.get(input.groupId);
    if (group === undefined) return error(GroupErrorCode.UNKNOWN_MEMBER_ID);
    const names = input.protocols.map((p) => p.name);
    if (
      input.protocolType !== CONSUMER_PROTOCOL_TYPE ||
      !this.#supportsClassicProtocols(group, names, input.memberId)
    ) {
      return error(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const subscription = decodeConsumerSubscription(input.protocols[0]!.metadata);
    if (subscription === null) return error(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    let memberId = input.memberId;
    const isUnknown = memberId === "";
    if (isUnknown) memberId = this.#generateMemberId(input.clientId, input.groupInstanceId);
    if (isUnknown && input.groupInstanceId === null && input.apiVersion >= 4) {
      // KIP-394: hand out the id; the member comes back with it.
      return error(GroupErrorCode.MEMBER_ID_REQUIRED, memberId);
    }
    let existing = group.members.get(memberId);
    let replacedStaticId: string | null = null;
    if (input.groupInstanceId !== null) {
      const staticId = group.staticMembers.get(input.groupInstanceId);
      if (staticId !== undefined && staticId !== memberId) {
        if (!isUnknown) return error(GroupErrorCode.FENCED_INSTANCE_ID);
        // A static member restarting under a new member id takes the old one's place.
        replacedStaticId = staticId;
      }
    }
    if (existing !== undefined && existing.classic === null) {
      return error(GroupErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (
      existing === undefined && replacedStaticId === null &&
      group.members.size >= this.#config.consumerGroupMaxSize
    ) {
      return error(GroupErrorCode.GROUP_MAX_SIZE_REACHED, "");
    }
    const rebalanceTimeoutMs = input.rebalanceTimeoutMs === -1
      ? input.sessionTimeoutMs
      : input.rebalanceTimeoutMs;
    if (replacedStaticId !== null) {
      const old = group.members.get(replacedStaticId)!;
      const target = group.targetAssignment.get(replacedStaticId) ?? new Map();
      records.push(...this.#memberTombstones(group, replacedStaticId));
      group.removeMember(replacedStaticId);
      existing = { ...old, memberId, classic: old.classic ?? null };
      group.targetAssignment.set(memberId, target);
      records.push(this.#targetRecord(group, memberId, target));
    }
    const found: ConsumerGroupMember = existing ?? this.#newMember({
      clientId: input.clientId,
      clientHost: input.clientHost,
      instanceId: input.groupInstanceId,
      rackId: null,
      rebalanceTimeoutMs,
    }, memberId);
    const updated: ConsumerGroupMember = {
      ...found,
      instanceId: input.groupInstanceId,
      rackId: subscription.rackId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      rebalanceTimeoutMs,
      subscribedTopicNames: [...subscription.topics].sort(),
      subscribedTopicRegex: null,
      serverAssignor: null,
      sessionDeadlineMs: nowMs + input.sessionTimeoutMs,
      classic: {
        sessionTimeoutMs: input.sessionTimeoutMs,
        supportedProtocols: input.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
        joinDeadlineMs: null,
        syncDeadlineMs: nowMs + rebalanceTimeoutMs,
      },
    };
    const isNew = existing === undefined;
    const subscriptionChanged = isNew ||
      updated.subscribedTopicNames.join("\u0000") !== found.subscribedTopicNames.join("\u0000") ||
      found.subscribedTopicRegex !== null || found.serverAssignor !== null;
    const metadataChanged = subscriptionChanged || updated.rackId !== found.rackId ||
      updated.instanceId !== found.instanceId || updated.clientId !== found.clientId ||
      updated.clientHost !== found.clientHost ||
      updated.rebalanceTimeoutMs !== found.rebalanceTimeoutMs ||
      found.classic === null || replacedStaticId !== null ||
      found.classic.sessionTimeoutMs !== input.sessionTimeoutMs ||
      !sameProtocols(found.classic.supportedProtocols, input.protocols);
    group.putMember(updated);
    if (metadataChanged) records.push(this.#memberMetadataRecord(group, updated));
    if (isNew) group.targetAssignment.set(memberId, new Map());
    const topicsChanged = this.#refreshMetadata(group, records);
    if (subscriptionChanged || topicsChanged) this.#bumpGroupEpoch(group, records);
    // What the member still owns: its owned partitions (v1+ subscriptions, cooperative); a
    // member on an older subscription version gave up everything before rejoining (eager).
    const owned = this.#byTopicId(subscription.ownedPartitions);
    const after = this.#reconcile(group, updated, owned, nowMs, records);
    if (after === updated && (isNew || replacedStaticId !== null)) {
      records.push(this.#currentAssignmentRecord(group, after));
    }
    return {
      result: {
        errorCode: GroupErrorCode.NONE,
        generationId: after.memberEpoch,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: input.protocols[0]!.name,
        leader: "",
        skipAssignment: false,
        memberId,
        members: [],
      },
      records,
    };
  }

  /**
   * SyncGroup from a classic member of a consumer group: answers the partitions the member may own
   * now, or REBALANCE_IN_PROGRESS when the group moved on and the member must rejoin first.
   */
  classicSync(input: SyncGroupInput, nowMs: number): SyncGroupResult {
    const group = this.groups.get(input.groupId);
    const error = (code: number): SyncGroupResult => ({
      errorCode: code,
      protocolType: null,
      protocolName: null,
      assignment: new Uint8Array(0),
    });
    if (group === undefined) return error(GroupErrorCode.UNKNOWN_MEMBER_ID);
    try {
      const member = this.#classicMember(group, input.memberId, input.groupInstanceId);
      if (input.generationId !== member.memberEpoch) {
        return error(GroupErrorCode.ILLEGAL_GENERATION);
      }
      const protocolName = member.classic!.supportedProtocols[0]?.name ?? null;
      if (
        (input.protocolType !== null && input.protocolType !== CONSUMER_PROTOCOL_TYPE) ||
        (input.protocolName !== null && input.protocolName !== protocolName)
      ) {
        return error(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      }
      if (this.#mustRejoinBeforeSync(group, member)) {
        this.#askToRejoin(group, member, nowMs);
        return error(GroupErrorCode.REBALANCE_IN_PROGRESS);
      }
      group.putMember({
        ...member,
        sessionDeadlineMs: nowMs + member.classic!.sessionTimeoutMs,
        classic: { ...member.classic!, syncDeadlineMs: null },
      });
      return {
        errorCode: GroupErrorCode.NONE,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName,
        assignment: this.#encodeAssignment(group, member.assigned, member),
      };
    } catch (e) {
      if (!(e instanceof HeartbeatError)) throw e;
      return error(e.code);
    }
  }

  /** A new group epoch the member has not joined yet (unless it is busy revoking). */
  #mustRejoinBeforeSync(group: ConsumerGroup, member: ConsumerGroupMember): boolean {
    return group.groupEpoch > member.memberEpoch &&
      member.state !== MemberState.UNREVOKED_PARTITIONS;
  }

  #askToRejoin(group: ConsumerGroup, member: ConsumerGroupMember, nowMs: number): void {
    const current = group.members.get(member.memberId)!;
    if (current.classic!.joinDeadlineMs !== null) return;
    group.putMember({
      ...current,
      classic: { ...current.classic!, joinDeadlineMs: nowMs + current.rebalanceTimeoutMs },
    });
  }

  /**
   * Heartbeat from a classic member of a consumer group: REBALANCE_IN_PROGRESS tells it to rejoin
   * when the group epoch moved past it, when it must revoke partitions, or when partitions it
   * waits for have been released (Kafka's classicGroupHeartbeatToConsumerGroup).
   */
  classicHeartbeat(input: HeartbeatInput, nowMs: number): number {
    const group = this.groups.get(input.groupId);
    if (group === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    try {
      const member = this.#classicMember(group, input.memberId, input.groupInstanceId);
      if (input.generationId !== member.memberEpoch) return GroupErrorCode.ILLEGAL_GENERATION;
      group.putMember({
        ...member,
        sessionDeadlineMs: nowMs + member.classic!.sessionTimeoutMs,
      });
      const released = member.state === MemberState.UNRELEASED_PARTITIONS &&
        !this.#waitingOnUnreleased(group, member);
      if (
        member.memberEpoch < group.groupEpoch ||
        member.state === MemberState.UNREVOKED_PARTITIONS || released
      ) {
        this.#askToRejoin(group, member, nowMs);
        return GroupErrorCode.REBALANCE_IN_PROGRESS;
      }
      return GroupErrorCode.NONE;
    } catch (e) {
      if (!(e instanceof HeartbeatError)) throw e;
      return e.code;
    }
  }

  /** True while another member still holds a partition of this member's target. */
  #waitingOnUnreleased(group: ConsumerGroup, member: ConsumerGroupMember): boolean {
    const target = group.targetAssignment.get(member.memberId) ?? new Map();
    for (const [topicId, p] of partitionsOf(target)) {
      if (member.assigned.get(topicId)?.has(p) ?? false) continue;
      const owner = group.ownerOf(topicId, p);
      if (owner !== undefined && owner !== member.memberId) return true;
    }
    return false;
  }

  /**
   * LeaveGroup of classic members of a consumer group: each is removed (its partitions go to the
   * others at the next epoch). Members that are unknown or speak the KIP-848 protocol get
   * UNKNOWN_MEMBER_ID.
   */
  classicLeave(groupId: string, identities: LeaveGroupMemberIdentity[]): {
    results: LeaveGroupMemberResult[];
    records: ConsumerGroupRecord[];
  } {
    const group = this.groups.get(groupId)!;
    const records: ConsumerGroupRecord[] = [];
    const results = identities.map((identity): LeaveGroupMemberResult => {
      try {
        let memberId = identity.memberId;
        if (identity.groupInstanceId !== null && memberId === "") {
          // Administrative removal by group.instance.id (KIP-345).
          memberId = group.staticMembers.get(identity.groupInstanceId) ?? "";
        }
        const member = this.#classicMember(group, memberId, identity.groupInstanceId);
        records.push(...this.#memberTombstones(group, member.memberId));
        group.removeMember(member.memberId);
        return {
          memberId: member.memberId,
          groupInstanceId: identity.groupInstanceId,
          errorCode: GroupErrorCode.NONE,
        };
      } catch (e) {
        if (!(e instanceof HeartbeatError)) throw e;
        return {
          memberId: identity.memberId,
          groupInstanceId: identity.groupInstanceId,
          errorCode: e.code,
        };
      }
    });
    if (records.length > 0) {
      this.#refreshMetadata(group, records);
      this.#bumpGroupEpoch(group, records);
    }
    return { results, records };
  }

  /** Moves a member one reconciliation step; records the current assignment if it changed. */
  #reconcile(
    group: ConsumerGroup,
    member: ConsumerGroupMember,
    owned: Assignment | null,
    nowMs: number,
    records: ConsumerGroupRecord[],
  ): ConsumerGroupMember {
    const next = reconcile(member, {
      targetEpoch: group.assignmentEpoch,
      target: group.targetAssignment.get(member.memberId) ?? new Map(),
      ownedByOther: (topicId, p) => {
        const owner = group.ownerOf(topicId, p);
        return owner !== undefined && owner !== member.memberId;
      },
      ownedPartitions: owned,
    });
    if (sameState(next, member)) return member;
    const entering = next.state === MemberState.UNREVOKED_PARTITIONS &&
      member.state !== MemberState.UNREVOKED_PARTITIONS;
    const updated: ConsumerGroupMember = {
      ...member,
      ...next,
      revocationDeadlineMs: next.state !== MemberState.UNREVOKED_PARTITIONS
        ? null
        : entering
        ? nowMs + member.rebalanceTimeoutMs
        : member.revocationDeadlineMs,
    };
    group.putMember(updated);
    records.push(this.#currentAssignmentRecord(group, updated));
    return updated;
  }

  // ---------------------------------------------------------------- heartbeat

  /** Handles ConsumerGroupHeartbeat v0 and v1 (KIP-1082 member ids, regex subscriptions). */
  heartbeat(input: ConsumerGroupHeartbeatInput, nowMs: number): HeartbeatOutcome {
    const records: ConsumerGroupRecord[] = [];
    try {
      this.#validate(input);
      const result = input.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH ||
          input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH
        ? this.#leave(input, records)
        : this.#heartbeat(input, nowMs, records);
      return { result, records };
    } catch (error) {
      if (!(error instanceof HeartbeatError)) throw error;
      // Nothing was changed before the error was found, so nothing is written.
      return { result: errorResult(error.code, error.message), records: [] };
    }
  }

  #validate(input: ConsumerGroupHeartbeatInput): void {
    const invalid = (message: string) => fail(GroupErrorCode.INVALID_REQUEST, message);
    const version = input.apiVersion ?? 0;
    // KIP-1082: from v1 the client generates its member id and sends it on every heartbeat.
    if (version >= 1 && input.memberId === "") invalid("MemberId can't be empty.");
    if (
      version >= 1 && input.memberEpoch === 0 && input.memberId.length > CLIENT_MEMBER_ID_CHARS_MAX
    ) {
      invalid(`MemberId can't be longer than ${CLIENT_MEMBER_ID_CHARS_MAX} characters (a UUID).`);
    }
    if (input.groupId === "") invalid("GroupId can't be empty.");
    if (input.instanceId === "") invalid("InstanceId can't be empty.");
    if (input.rackId === "") invalid("RackId can't be empty.");
    if (input.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      invalid(`MemberEpoch is invalid: ${input.memberEpoch}.`);
    }
    if (input.memberEpoch !== 0 && input.memberId === "") {
      invalid("MemberId can't be empty.");
    }
    if (input.memberEpoch === 0) {
      if (input.rebalanceTimeoutMs === -1) {
        invalid("RebalanceTimeoutMs must be provided in first request.");
      }
      if (input.topicPartitions === null || input.topicPartitions.length > 0) {
        invalid("TopicPartitions must be empty when (re-)joining.");
      }
      // Kafka 4.0 accepts an empty list or an empty regex: a member subscribed to nothing.
      if (input.subscribedTopicNames === null && (input.subscribedTopicRegex ?? null) === null) {
        invalid(
          "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
        );
      }
    }
    if (input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH && input.instanceId === null) {
      invalid("InstanceId can't be null.");
    }
    const regex = input.subscribedTopicRegex ?? null;
    if (regex !== null && regex !== "") {
      const compiled = this.#compile(regex);
      if (typeof compiled === "string") {
        fail(
          GroupErrorCode.INVALID_REGULAR_EXPRESSION,
          `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${compiled}.`,
        );
      }
    }
    if (
      input.serverAssignor !== null &&
      !this.#config.consumerGroupAssignors.includes(input.serverAssignor)
    ) {
      fail(
        GroupErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${input.serverAssignor} is not supported. Supported assignors: ${
          this.#config.consumerGroupAssignors.join(", ")
        }.`,
      );
    }
  }

  #leave(input: ConsumerGroupHeartbeatInput, records: ConsumerGroupRecord[]) {
    const group = this.groups.get(input.groupId);
    if (group === undefined) {
      fail(GroupErrorCode.GROUP_ID_NOT_FOUND, `Group ${input.groupId} not found.`);
    }
    let member = group.members.get(input.memberId);
    if (input.instanceId !== null) {
      const staticId = group.staticMembers.get(input.instanceId);
      if (staticId === undefined) {
        fail(GroupErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${input.instanceId} is unknown.`);
      }
      if (staticId !== input.memberId) {
        fail(
          GroupErrorCode.FENCED_INSTANCE_ID,
          `Instance id ${input.instanceId} is owned by another member.`,
        );
      }
      member = group.members.get(staticId);
    }
    if (member === undefined) {
      fail(
        GroupErrorCode.UNKNOWN_MEMBER_ID,
        `Member ${input.memberId} is not a member of group ${input.groupId}.`,
      );
    }
    if (input.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // A static member leaving temporarily keeps its assignment until its session expires.
      const updated = { ...member, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH };
      group.putMember(updated);
      records.push(this.#currentAssignmentRecord(group, updated));
    } else {
      this.#fenceMember(group, member.memberId, records);
    }
    return {
      errorCode: GroupErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: input.memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
  }

  #newMember(
    input: Pick<
      ConsumerGroupHeartbeatInput,
      "instanceId" | "rackId" | "clientId" | "clientHost" | "rebalanceTimeoutMs"
    >,
    memberId: string,
  ): ConsumerGroupMember {
    return {
      memberId,
      instanceId: input.instanceId,
      rackId: input.rackId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      subscribedTopicNames: [],
      subscribedTopicRegex: null,
      serverAssignor: null,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      state: MemberState.STABLE,
      assigned: new Map(),
      pendingRevocation: new Map(),
      sessionDeadlineMs: 0,
      revocationDeadlineMs: null,
      classic: null,
    };
  }

  /** Finds (or, joining, creates) the member; validates its epoch (KIP-848 fencing). */
  #member(
    group: ConsumerGroup,
    input: ConsumerGroupHeartbeatInput,
    owned: Assignment | null,
    records: ConsumerGroupRecord[],
  ): { member: ConsumerGroupMember; isNew: boolean } {
    const joining = input.memberEpoch === 0;
    if (joining && input.instanceId !== null) {
      const staticId = group.staticMembers.get(input.instanceId);
      if (staticId !== undefined && staticId !== input.memberId) {
        const old = group.members.get(staticId)!;
        if (old.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
          fail(
            GroupErrorCode.UNRELEASED_INSTANCE_ID,
            `Static member ${staticId} with instance id ${input.instanceId} is not released yet.`,
          );
        }
        // KIP-848 static membership: the new member takes over the old one's assignment.
        const memberId = input.memberId !== "" ? input.memberId : this.#generateMemberId(
          input.clientId,
          input.instanceId,
        );
        const target = group.targetAssignment.get(staticId) ?? new Map();
        records.push(...this.#memberTombstones(group, staticId));
        group.removeMember(staticId);
        const member: ConsumerGroupMember = {
          ...this.#newMember(input, memberId),
          subscribedTopicNames: old.subscribedTopicNames,
          serverAssignor: old.serverAssignor,
          assigned: old.assigned,
          pendingRevocation: old.pendingRevocation,
          state: old.state,
        };
        group.targetAssignment.set(memberId, target);
        records.push(this.#targetRecord(group, memberId, target));
        return { member, isNew: false };
      }
    }
    const existing = input.memberId === "" ? undefined : group.members.get(input.memberId);
    if (existing === undefined) {
      if (!joining) {
        fail(
          GroupErrorCode.UNKNOWN_MEMBER_ID,
          `Member ${input.memberId} is not a member of group ${group.groupId}.`,
        );
      }
      if (group.members.size >= this.#config.consumerGroupMaxSize) {
        fail(GroupErrorCode.GROUP_MAX_SIZE_REACHED, `The group ${group.groupId} is full.`);
      }
      const memberId = input.memberId !== ""
        ? input.memberId
        : this.#generateMemberId(input.clientId, input.instanceId);
      return { member: this.#newMember(input, memberId), isNew: true };
    }
    if (joining) {
      // A member rejoins with epoch 0 under its id: it has dropped its partitions. With
      // client-generated ids (KIP-1082) this may also be another consumer reusing the id of a live
      // member; the new incarnation's epoch then moves past the old one's, which is fenced
      // (FENCED_MEMBER_EPOCH) at its next heartbeat instead of sharing the partitions.
      if (existing.memberEpoch > 0) records.push(...this.#bumpForRejoin(group));
      return {
        member: {
          ...existing,
          memberEpoch: 0,
          previousMemberEpoch: 0,
          state: MemberState.STABLE,
          assigned: new Map(),
          pendingRevocation: new Map(),
          revocationDeadlineMs: null,
        },
        isNew: false,
      };
    }
    this.#validateEpoch(existing, input.memberEpoch, owned);
    return { member: existing, isNew: false };
  }

  /** A group epoch bump with the target unchanged but re-recorded (KIP-848 group epoch). */
  #bumpForRejoin(group: ConsumerGroup): ConsumerGroupRecord[] {
    const records: ConsumerGroupRecord[] = [];
    this.#bumpGroupEpoch(group, records);
    return records;
  }

  #validateEpoch(member: ConsumerGroupMember, received: number, owned: Assignment | null): void {
    const fenced = () =>
      fail(
        GroupErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a epoch ${received} which does not match ${member.memberEpoch}.`,
      );
    if (received > member.memberEpoch) fenced();
    if (received < member.memberEpoch) {
      // The last epoch bump may not have reached the member: accept the previous epoch as long
      // as the member owns nothing beyond its current assignment.
      if (received !== member.previousMemberEpoch) fenced();
      if (owned !== null) {
        for (const [topicId, ps] of owned) {
          for (const p of ps) if (!(member.assigned.get(topicId)?.has(p) ?? false)) fenced();
        }
      }
    }
  }

  #heartbeat(
    input: ConsumerGroupHeartbeatInput,
    nowMs: number,
    records: ConsumerGroupRecord[],
  ): ConsumerGroupHeartbeatResult {
    let group = this.groups.get(input.groupId);
    const owned = input.topicPartitions === null
      ? null
      : fromTopicIdPartitions(input.topicPartitions);
    if (group === undefined) {
      if (input.memberEpoch !== 0) {
        fail(GroupErrorCode.GROUP_ID_NOT_FOUND, `Group ${input.groupId} not found.`);
      }
      group = new ConsumerGroup(input.groupId);
    }
    const { member: found, isNew } = this.#member(group, input, owned, records);
    // Apply what changed; null fields mean "unchanged".
    const updated: ConsumerGroupMember = {
      ...found,
      instanceId: input.instanceId ?? found.instanceId,
      rackId: input.rackId ?? found.rackId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs === -1
        ? found.rebalanceTimeoutMs
        : input.rebalanceTimeoutMs,
      subscribedTopicNames: input.subscribedTopicNames ?? found.subscribedTopicNames,
      subscribedTopicRegex: input.subscribedTopicRegex === undefined ||
          input.subscribedTopicRegex === null
        ? found.subscribedTopicRegex
        : input.subscribedTopicRegex === ""
        ? null
        : input.subscribedTopicRegex,
      serverAssignor: input.serverAssignor ?? found.serverAssignor,
      sessionDeadlineMs: nowMs + this.#config.consumerGroupSessionTimeoutMs,
    };
    const subscriptionChanged = isNew ||
      updated.subscribedTopicNames.join("\u0000") !== found.subscribedTopicNames.join("\u0000") ||
      updated.subscribedTopicRegex !== found.subscribedTopicRegex ||
      updated.serverAssignor !== found.serverAssignor;
    const metadataChanged = subscriptionChanged || updated.rackId !== found.rackId ||
      updated.instanceId !== found.instanceId || updated.clientId !== found.clientId ||
      updated.clientHost !== found.clientHost ||
      updated.rebalanceTimeoutMs !== found.rebalanceTimeoutMs ||
      group.members.get(updated.memberId) === undefined;
    if (!this.groups.has(group.groupId)) this.groups.set(group.groupId, group);
    group.putMember(updated);
    if (metadataChanged) records.push(this.#memberMetadataRecord(group, updated));
    if (isNew) group.targetAssignment.set(updated.memberId, new Map());
    const topicsChanged = this.#refreshMetadata(group, records);
    if (subscriptionChanged || topicsChanged) this.#bumpGroupEpoch(group, records);
    const before = updated;
    const after = this.#reconcile(group, before, owned, nowMs, records);
    if (input.memberEpoch === 0 && after === before) {
      // A (re)join always persists the member's assignment state.
      records.push(this.#currentAssignmentRecord(group, after));
    }
    const sendAssignment = input.memberEpoch === 0 ||
      !assignmentsEqual(after.assigned, found.assigned) ||
      (owned !== null && !assignmentsEqual(owned, after.assigned));
    return {
      errorCode: GroupErrorCode.NONE,
      errorMessage: null,
      memberId: after.memberId,
      memberEpoch: after.memberEpoch,
      heartbeatIntervalMs: this.#config.consumerGroupHeartbeatIntervalMs,
      assignment: sendAssignment ? { topicPartitions: toTopicIdPartitions(after.assigned) } : null,
    };
  }

  // ---------------------------------------------------------------- timers

  /** Session expiry and revocation timeouts remove members (KIP-848). */
  tick(nowMs: number): ConsumerGroupRecord[] {
    const records: ConsumerGroupRecord[] = [];
    for (const group of [...this.groups.values()]) {
      for (const member of [...group.members.values()]) {
        if (this.groups.get(group.groupId) !== group) break; // converted to a classic group
        if (memberDeadlines(member).some((ms) => ms <= nowMs)) {
          this.#fenceMember(group, member.memberId, records);
        }
      }
    }
    return records;
  }

  /** The earliest session or revocation deadline, or null. */
  nextDeadlineMs(): number | null {
    let earliest: number | null = null;
    for (const group of this.groups.values()) {
      for (const m of group.members.values()) {
        for (const ms of memberDeadlines(m)) {
          if (earliest === null || ms < earliest) earliest = ms;
        }
      }
    }
    return earliest;
  }

  // ---------------------------------------------------------------- offsets and admin

  /**
   * Validates an OffsetCommit against a consumer group: a non-member may commit only while the
   * group is empty; a member commits with OffsetCommit v9+ at its current member epoch.
   */
  validateOffsetCommit(group: ConsumerGroup, input: OffsetCommitInput): number {
    const epoch = input.generationIdOrMemberEpoch;
    if (epoch < 0 && input.memberId === "" && group.members.size === 0) return GroupErrorCode.NONE;
    const member = group.members.get(input.memberId);
    if (member === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    if (member.classic !== null) {
      // A classic member commits with its generation id, which is its member epoch.
      return epoch === member.memberEpoch ? GroupErrorCode.NONE : GroupErrorCode.ILLEGAL_GENERATION;
    }
    if (input.apiVersion < 9) return GroupErrorCode.UNSUPPORTED_VERSION;
    if (epoch !== member.memberEpoch) return GroupErrorCode.STALE_MEMBER_EPOCH;
    return GroupErrorCode.NONE;
  }

  /** ListGroups entries of the consumer groups (type "consumer"). */
  listed(): ListedGroup[] {
    return [...this.groups.values()].map((g) => ({
      groupId: g.groupId,
      protocolType: "consumer",
      groupState: g.state(),
      groupType: "consumer",
    }));
  }

  #described(group: ConsumerGroup, a: Assignment): { topicPartitions: DescribedTopicPartitions[] } {
    const nameOf = (topicId: string) => {
      const image = this.#topics.byId(topicId)?.name;
      if (image !== undefined) return image;
      for (const [name, t] of group.subscriptionMetadata) if (t.topicId === topicId) return name;
      return "";
    };
    return {
      topicPartitions: toTopicIdPartitions(a).map((t) => ({ ...t, topicName: nameOf(t.topicId) })),
    };
  }

  /** ConsumerGroupDescribe: GROUP_ID_NOT_FOUND for groups that are not consumer groups. */
  describe(groupIds: string[]): ConsumerGroupDescribedGroup[] {
    return groupIds.map((groupId) => {
      const group = this.groups.get(groupId);
      if (group === undefined) {
        return {
          errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND,
          errorMessage: `Group ${groupId} not found.`,
          groupId,
          groupState: "",
          groupEpoch: 0,
          assignmentEpoch: 0,
          assignorName: "",
          members: [],
        };
      }
      return {
        errorCode: GroupErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: group.state(),
        groupEpoch: group.groupEpoch,
        assignmentEpoch: group.assignmentEpoch,
        assignorName: group.preferredAssignor(this.#config.consumerGroupAssignors[0]!),
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: this.#described(group, m.assigned),
          targetAssignment: this.#described(
            group,
            group.targetAssignment.get(m.memberId) ?? new Map(),
          ),
        })),
      };
    });
  }

  // ---------------------------------------------------------------- load

  #loadedMember(group: ConsumerGroup, memberId: string): ConsumerGroupMember {
    const existing = group.members.get(memberId);
    if (existing !== undefined) return existing;
    return {
      memberId,
      instanceId: null,
      rackId: null,
      clientId: "",
      clientHost: "",
      subscribedTopicNames: [],
      subscribedTopicRegex: null,
      serverAssignor: null,
      rebalanceTimeoutMs: -1,
      memberEpoch: 0,
      previousMemberEpoch: 0,
      state: MemberState.STABLE,
      assigned: new Map(),
      pendingRevocation: new Map(),
      sessionDeadlineMs: 0,
      revocationDeadlineMs: null,
      classic: null,
    };
  }

  /** Replays one ConsumerGroup* record (in log order). Ownership is rebuilt by {@link finishLoad}. */
  load(record: ConsumerGroupRecord): void {
    const groupId = record.key.group;
    if (record.type === "consumerGroupMetadata" && record.value === null) {
      this.groups.delete(groupId);
      return;
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      if (record.value === null) return;
      group = new ConsumerGroup(groupId);
      this.groups.set(groupId, group);
    }
    const set = (m: ConsumerGroupMember) => {
      group.members.set(m.memberId, m);
      if (m.instanceId !== null) group.staticMembers.set(m.instanceId, m.memberId);
    };
    switch (record.type) {
      case "consumerGroupMetadata":
        group.groupEpoch = record.value!.epoch;
        return;
      case "consumerGroupPartitionMetadata":
        group.subscriptionMetadata = new Map(
          (record.value?.topics ?? []).map((t) => [t.topicName, {
            topicId: t.topicId,
            numPartitions: t.numPartitions,
          }]),
        );
        return;
      case "consumerGroupTargetAssignmentMetadata":
        group.assignmentEpoch = record.value?.assignmentEpoch ?? 0;
        return;
      case "consumerGroupTargetAssignmentMember":
        if (record.value === null) group.targetAssignment.delete(record.key.memberId);
        else {
          group.targetAssignment.set(
            record.key.memberId,
            fromTopicIdPartitions(record.value.topicPartitions),
          );
        }
        return;
      case "consumerGroupMemberMetadata": {
        const v = record.value;
        if (v === null) {
          const m = group.members.get(record.key.memberId);
          if (m?.instanceId != null) group.staticMembers.delete(m.instanceId);
          group.members.delete(record.key.memberId);
          return;
        }
        const { classicMemberMetadata, ...fields } = v;
        set({
          ...this.#loadedMember(group, record.key.memberId),
          ...fields,
          classic: classicMemberMetadata === null ? null : {
            ...classicMemberMetadata,
            joinDeadlineMs: null,
            syncDeadlineMs: null,
          },
        });
        return;
      }
      case "consumerGroupCurrentMemberAssignment": {
        const v = record.value;
        if (v === null) return;
        set({
          ...this.#loadedMember(group, record.key.memberId),
          memberEpoch: v.memberEpoch,
          previousMemberEpoch: v.previousMemberEpoch,
          state: v.state,
          assigned: fromTopicIdPartitions(v.assignedPartitions),
          pendingRevocation: fromTopicIdPartitions(v.partitionsPendingRevocation),
        });
        return;
      }
    }
  }

  /** After replay: rebuild ownership and give every member a fresh session. */
  finishLoad(nowMs: number): void {
    for (const group of this.groups.values()) {
      for (const m of group.members.values()) {
        m.sessionDeadlineMs = nowMs +
          (m.classic?.sessionTimeoutMs ?? this.#config.consumerGroupSessionTimeoutMs);
        m.revocationDeadlineMs = m.state === MemberState.UNREVOKED_PARTITIONS
          ? nowMs + Math.max(m.rebalanceTimeoutMs, 0)
          : null;
      }
      group.rebuildOwners();
    }
  }
}
