import { strict as assert } from "node:assert";
import {
  bytesEqual,
  ClassicGroup,
  type ClassicMember,
  type Parked,
  protocolsEqual,
} from "./classic_group.ts";
import type { ConsumerGroup } from "./consumer_group.ts";
import { ConsumerGroups, type GroupConversion } from "./consumer_group_coordinator.ts";
import { appendErrorToResponseError, GroupErrorCode } from "./error_codes.ts";
import type { MemberIdGenerator } from "./member_id.ts";
import {
  type ConsumerGroupDescribedGroup,
  type ConsumerGroupHeartbeatInput,
  type ConsumerGroupHeartbeatResult,
  type DeleteGroupsResult,
  type DescribedGroup,
  GROUP_COORDINATOR_DEFAULTS,
  type GroupCoordinatorConfig,
  type GroupEffect,
  type GroupMetadataValue,
  type GroupRecord,
  type GroupResponse,
  type HeartbeatInput,
  type HeartbeatResult,
  type JoinGroupInput,
  type JoinGroupResult,
  type LeaveGroupInput,
  type LeaveGroupMemberResult,
  type ListGroupsInput,
  type ListGroupsResult,
  type OffsetCommitInput,
  type OffsetCommitValue,
  type OffsetDeleteInput,
  type OffsetFetchInput,
  type OffsetFetchResult,
  type SyncGroupInput,
  type SyncGroupResult,
  type TopicMetadataLookup,
  type TxnOffsetCommitInput,
} from "./types.ts";

const EMPTY_BYTES = new Uint8Array(0);
const utf8 = new TextEncoder();

/** How to build a {@link GroupCoordinator}. */
export interface GroupCoordinatorOptions {
  /** Overrides of Kafka's defaults ({@link GROUP_COORDINATOR_DEFAULTS}). */
  config?: Partial<GroupCoordinatorConfig>;
  /** Member ids for joining clients; inject a seeded one so runs replay. */
  generateMemberId: MemberIdGenerator;
  /** The topics KIP-848 consumer groups are assigned from (default: none). */
  topics?: TopicMetadataLookup;
}

const NO_TOPIC_NAMES: ReadonlyMap<string, unknown> = new Map();
const NO_TOPICS: TopicMetadataLookup = {
  byName: () => undefined,
  byId: () => undefined,
  topicNames: () => NO_TOPIC_NAMES,
};

function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    skipAssignment: false,
    memberId,
    members: [],
  };
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

function offsetRecord(
  group: string,
  topic: string,
  partition: number,
  value: OffsetCommitValue | null,
): GroupRecord {
  const valueVersion = value !== null && value.expireTimestamp !== -1 ? 1 : 3;
  return {
    type: "offsetCommit",
    keyVersion: 1,
    valueVersion,
    key: { group, topic, partition },
    value,
  };
}

function groupRecord(group: string, value: GroupMetadataValue | null): GroupRecord {
  return { type: "groupMetadata", keyVersion: 2, valueVersion: 3, key: { group }, value };
}

/**
 * Kafka's classic consumer group coordinator (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, offsets,
 * KIP-345 static membership, KIP-394 member id required) as a pure, deterministic state machine.
 *
 * Requests that may wait carry an opaque `handle` the caller keeps beside the pending request;
 * every such method returns effects to run in order: `append` records to `__consumer_offsets`
 * and report back with {@link appendComplete} (in append order), or `respond` to a handle. A
 * response that depends on records is released only after those records are reported durable.
 * Time only moves through the `nowMs` arguments; timers (session, rebalance, initial delay,
 * pending sync, offset retention) fire from {@link tick}. One instance may hold the groups of one
 * `__consumer_offsets` partition or of a whole broker; it does not care which.
 *
 * @example
 * ```ts
 * import { GroupCoordinator } from "./group_coordinator.ts";
 * import { randomMemberIdGenerator } from "./member_id.ts";
 * import { SeededRandom } from "../random.ts";
 *
 * const coordinator = new GroupCoordinator<number>({
 *   generateMemberId: randomMemberIdGenerator(new SeededRandom(1)),
 * });
 * const effects = coordinator.joinGroup(1, {
 *   apiVersion: 9, groupId: "g", sessionTimeoutMs: 10000, rebalanceTimeoutMs: 30000,
 *   memberId: "", groupInstanceId: null, protocolType: "consumer",
 *   protocols: [{ name: "range", metadata: new Uint8Array() }], clientId: "c", clientHost: "/10.0.0.1",
 * }, 0);
 * // effects[0]: respond to handle 1 with MEMBER_ID_REQUIRED and the new member id (KIP-394).
 * ```
 */
export class GroupCoordinator<H = unknown> {
  readonly config: Readonly<GroupCoordinatorConfig>;
  readonly #generateMemberId: MemberIdGenerator;
  readonly #groups = new Map<string, ClassicGroup<H>>();
  #nowMs = 0;
  #out: GroupEffect<H>[] = [];
  #appendsThisCall: number[] = [];
  #nextAppendId = 0;
  readonly #pendingAppends = new Map<number, ((errorCode: number) => void)[]>();
  #nextOffsetsExpiryMs: number | null = null;
  /** KIP-848 consumer groups; a group id is either classic or consumer, never both. */
  readonly #consumer: ConsumerGroups;
  /**
   * TxnOffsetCommit offsets that are durable but whose transaction has not ended: producer id ->
   * group -> "topic\0partition" -> offset. A COMMIT marker makes them the committed offsets, an
   * ABORT drops them (Kafka's pendingTransactionalOffsetCommits).
   */
  readonly #pendingTxnOffsets = new Map<
    bigint,
    Map<string, Map<string, { topic: string; partition: number; value: OffsetCommitValue }>>
  >();

  constructor(options: GroupCoordinatorOptions) {
    this.config = { ...GROUP_COORDINATOR_DEFAULTS, ...options.config };
    this.#generateMemberId = options.generateMemberId;
    this.#consumer = new ConsumerGroups({
      config: this.config,
      topics: options.topics ?? NO_TOPICS,
      generateMemberId: options.generateMemberId,
    });
  }

  // ---------------------------------------------------------------- plumbing

  #begin(nowMs: number): void {
    assert(Number.isFinite(nowMs), `nowMs must be a finite number, got ${nowMs}.`);
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    this.#out = [];
    this.#appendsThisCall = [];
    this.#nextOffsetsExpiryMs ??= this.#nowMs + this.config.offsetsRetentionCheckIntervalMs;
  }

  #end(): GroupEffect<H>[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #respond(handle: H, response: GroupResponse): void {
    this.#out.push({ type: "respond", handle, ...response });
  }

  #append(
    records: GroupRecord[],
    onComplete?: (errorCode: number) => void,
    transactional?: { producerId: bigint; producerEpoch: number },
  ): void {
    const appendId = this.#nextAppendId++;
    this.#out.push(
      transactional === undefined
        ? { type: "append", appendId, records }
        : { type: "append", appendId, records, transactional },
    );
    this.#pendingAppends.set(appendId, onComplete === undefined ? [] : [onComplete]);
    this.#appendsThisCall.push(appendId);
  }

  /** Responds now, or once the records appended earlier in this call are durable. */
  #respondWhenDurable(handle: H, build: (errorCode: number) => GroupResponse): void {
    const lastAppendId = this.#appendsThisCall.at(-1);
    if (lastAppendId === undefined) {
      this.#respond(handle, build(GroupErrorCode.NONE));
      return;
    }
    this.#pendingAppends.get(lastAppendId)!.push((errorCode) =>
      this.#respond(handle, build(errorCode))
    );
  }

  /**
   * Reports that the records of `append` effect `appendId` are durable (`errorCode` 0) or failed.
   * Appends complete in the order they were issued, as a log's high watermark advances.
   */
  appendComplete(appendId: number, nowMs: number, errorCode = 0): GroupEffect<H>[] {
    this.#begin(nowMs);
    const first = this.#pendingAppends.keys().next();
    if (first.done === true || appendId < first.value) {
      // Already settled by unload(); nothing waits on it any more.
      assert(appendId < this.#nextAppendId, `Append ${appendId} was never issued.`);
      return this.#end();
    }
    assert(appendId === first.value, `Append ${appendId} completed before append ${first.value}.`);
    const callbacks = this.#pendingAppends.get(appendId)!;
    this.#pendingAppends.delete(appendId);
    for (const callback of callbacks) callback(errorCode);
    return this.#end();
  }

  #member(input: JoinGroupInput, memberId: string, parked: Parked<H>): ClassicMember<H> {
    return {
      memberId,
      groupInstanceId: input.groupInstanceId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      rebalanceTimeoutMs: input.rebalanceTimeoutMs < 0
        ? input.sessionTimeoutMs
        : input.rebalanceTimeoutMs,
      sessionTimeoutMs: input.sessionTimeoutMs,
      protocolType: input.protocolType,
      protocols: input.protocols,
      assignment: EMPTY_BYTES,
      awaitingJoin: parked,
      awaitingSync: null,
      isNew: true,
      heartbeatDeadlineMs: this.#nowMs + this.config.newMemberJoinTimeoutMs,
    };
  }

  #rescheduleHeartbeat(member: ClassicMember<H>): void {
    member.heartbeatDeadlineMs = this.#nowMs + member.sessionTimeoutMs;
  }

  #completeJoin(member: ClassicMember<H>, response: JoinGroupResult): void {
    if (member.awaitingJoin === null) return;
    this.#respond(member.awaitingJoin.handle, { api: "JoinGroup", response });
    member.awaitingJoin = null;
  }

  #completeSync(member: ClassicMember<H>, response: SyncGroupResult): boolean {
    if (member.awaitingSync === null) return false;
    this.#respond(member.awaitingSync.handle, { api: "SyncGroup", response });
    member.awaitingSync = null;
    return true;
  }

  /** Removes a member, answering any request it has parked with UNKNOWN_MEMBER_ID. */
  #removeMember(group: ClassicGroup<H>, member: ClassicMember<H>): void {
    this.#completeJoin(member, joinError("", GroupErrorCode.UNKNOWN_MEMBER_ID));
    this.#completeSync(member, syncError(GroupErrorCode.UNKNOWN_MEMBER_ID));
    group.remove(member.memberId);
  }

  #currentJoinResponse(group: ClassicGroup<H>, memberId: string, withMembers: boolean) {
    return {
      errorCode: GroupErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? "",
      skipAssignment: false,
      memberId,
      members: withMembers ? group.joinResponseMembers() : [],
    };
  }

  // ---------------------------------------------------------------- rebalance machinery

  #prepareRebalance(group: ClassicGroup<H>): void {
    assert(group.canRebalance(), `Group ${group.groupId} cannot rebalance from ${group.state}.`);
    if (group.state === "CompletingRebalance") {
      this.#resetAndPropagateAssignmentError(group, GroupErrorCode.REBALANCE_IN_PROGRESS);
    }
    group.pendingSyncMembers.clear();
    group.syncDeadlineMs = null;
    const isInitialRebalance = group.state === "Empty";
    if (isInitialRebalance) {
      const delayMs = this.config.groupInitialRebalanceDelayMs;
      const remainingMs = Math.max(group.rebalanceTimeoutMs() - delayMs, 0);
      group.joinTimer = { deadlineMs: this.#nowMs + delayMs, initial: { delayMs, remainingMs } };
    }
    group.transitionTo("PreparingRebalance", this.#nowMs);
    if (!isInitialRebalance) {
      if (group.hasAllMembersJoined()) {
        this.#completeJoinPhase(group);
      } else {
        group.joinTimer = { deadlineMs: this.#nowMs + group.rebalanceTimeoutMs(), initial: null };
      }
    }
  }

  /** Completes the join phase early only outside the delayed initial rebalance. */
  #maybeCompleteJoinPhase(group: ClassicGroup<H>): void {
    if (
      group.state === "PreparingRebalance" && group.hasAllMembersJoined() &&
      group.previousState !== "Empty"
    ) {
      this.#completeJoinPhase(group);
    }
  }

  #maybePrepareRebalanceOrCompleteJoin(group: ClassicGroup<H>): void {
    if (group.canRebalance()) this.#prepareRebalance(group);
    else this.#maybeCompleteJoinPhase(group);
  }

  #completeJoinPhase(group: ClassicGroup<H>): void {
    group.joinTimer = null;
    for (const member of [...group.members.values()]) {
      // Dynamic members that did not rejoin are dropped; static ones keep their seat (KIP-345).
      if (member.awaitingJoin === null && member.groupInstanceId === null) {
        this.#removeMember(group, member);
      }
    }
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Nobody rejoined: wait another rebalance timeout for session expiry to clear the group.
      group.joinTimer = { deadlineMs: this.#nowMs + group.rebalanceTimeoutMs(), initial: null };
      return;
    }
    this.#initNextGeneration(group);
    if (group.state === "Empty") {
      this.#append([groupRecord(group.groupId, group.toMetadataValue(() => EMPTY_BYTES))]);
      return;
    }
    for (const member of group.members.values()) {
      this.#completeJoin(
        member,
        this.#currentJoinResponse(group, member.memberId, group.isLeader(member.memberId)),
      );
      this.#rescheduleHeartbeat(member);
      member.isNew = false;
      group.pendingSyncMembers.add(member.memberId);
    }
    group.syncDeadlineMs = this.#nowMs + group.rebalanceTimeoutMs();
  }

  #initNextGeneration(group: ClassicGroup<H>): void {
    group.generationId++;
    if (group.members.size > 0) {
      group.protocolName = group.selectProtocol();
      group.subscribedTopics = group.computeSubscribedTopics();
      group.transitionTo("CompletingRebalance", this.#nowMs);
    } else {
      group.protocolName = null;
      group.subscribedTopics = group.computeSubscribedTopics();
      group.transitionTo("Empty", this.#nowMs);
    }
    group.pendingSyncMembers.clear();
  }

  #resetAndPropagateAssignmentError(group: ClassicGroup<H>, errorCode: number): void {
    assert(group.state === "CompletingRebalance", "Only a completing rebalance has assignments.");
    for (const member of group.members.values()) member.assignment = EMPTY_BYTES;
    this.#propagateAssignment(group, errorCode);
  }

  #propagateAssignment(group: ClassicGroup<H>, errorCode: number): void {
    const ok = errorCode === GroupErrorCode.NONE;
    for (const member of group.members.values()) {
      const answered = this.#completeSync(member, {
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: member.assignment,
      });
      // Members parked in SyncGroup could not heartbeat; restart their session clock.
      if (answered) this.#rescheduleHeartbeat(member);
    }
  }

  #removePendingSyncMember(group: ClassicGroup<H>, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    const syncing = group.state === "CompletingRebalance" || group.state === "Stable";
    if (!syncing || group.pendingSyncMembers.size === 0) group.syncDeadlineMs = null;
  }

  // ---------------------------------------------------------------- JoinGroup

  /**
   * Handles JoinGroup. The response usually waits for the rebalance barrier; it arrives as a
   * `respond` effect from this or a later call (join, leave, tick, appendComplete).
   */
  joinGroup(handle: H, input: JoinGroupInput, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    this.#join(handle, input);
    return this.#end();
  }

  #join(handle: H, input: JoinGroupInput): void {
    const reply = (errorCode: number, memberId: string) =>
      this.#respond(handle, { api: "JoinGroup", response: joinError(memberId, errorCode) });
    if (input.groupId === "") return reply(GroupErrorCode.INVALID_GROUP_ID, input.memberId);
    if (
      input.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs ||
      input.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs
    ) {
      return reply(GroupErrorCode.INVALID_SESSION_TIMEOUT, input.memberId);
    }
    const consumerGroup = this.#consumer.groups.get(input.groupId);
    if (consumerGroup !== undefined && consumerGroup.members.size > 0) {
      // A classic member joins a consumer group (KIP-848 online migration).
      const { result, records } = this.#consumer.classicJoin(input, this.#nowMs);
      if (records.length > 0) this.#append(records);
      this.#respondWhenDurable(handle, (appendError) => ({
        api: "JoinGroup",
        response: appendError === GroupErrorCode.NONE
          ? result
          : joinError(input.memberId, appendErrorToResponseError(appendError, "group")),
      }));
      return;
    }
    if (consumerGroup !== undefined) this.#classicFromEmptyConsumerGroup(consumerGroup);
    const isUnknownMember = input.memberId === "";
    let group = this.#groups.get(input.groupId);
    if (group === undefined) {
      // Only a member without an id may create a group.
      if (!isUnknownMember) return reply(GroupErrorCode.UNKNOWN_MEMBER_ID, input.memberId);
      group = new ClassicGroup<H>(input.groupId, this.#nowMs);
      this.#groups.set(input.groupId, group);
    }
    const parked: Parked<H> = { handle, apiVersion: input.apiVersion };
    if (!this.#acceptJoiningMember(group, input.memberId)) {
      const member = group.members.get(input.memberId);
      if (member !== undefined) this.#removeMember(group, member);
      group.pendingMembers.delete(input.memberId);
      reply(GroupErrorCode.GROUP_MAX_SIZE_REACHED, "");
      this.#maybeCompleteJoinPhase(group);
    } else if (isUnknownMember) {
      this.#joinNewMember(group, input, parked);
    } else {
      this.#joinExistingMember(group, input, parked);
    }
    this.#dropIfVacant(group);
  }

  /** A group created by a failed join holds nothing; forget it rather than persist it. */
  #dropIfVacant(group: ClassicGroup<H>): void {
    if (
      group.state === "Empty" && group.generationId === 0 && group.members.size === 0 &&
      group.pendingMembers.size === 0 && group.offsetCount() === 0
    ) {
      this.#groups.delete(group.groupId);
    }
  }

  /** group.max.size (GROUP_MAX_SIZE_REACHED), as Kafka counts it per state. */
  #acceptJoiningMember(group: ClassicGroup<H>, memberId: string): boolean {
    const maxSize = this.config.groupMaxSize;
    switch (group.state) {
      case "Empty":
      case "Dead":
        return true;
      case "PreparingRebalance":
        return (group.members.get(memberId)?.awaitingJoin ?? null) !== null ||
          group.numAwaitingJoin() < maxSize;
      case "CompletingRebalance":
      case "Stable":
        return group.members.has(memberId) || group.members.size < maxSize;
    }
  }

  #joinNewMember(group: ClassicGroup<H>, input: JoinGroupInput, parked: Parked<H>): void {
    const names = input.protocols.map((p) => p.name);
    if (!group.supportsProtocols(input.protocolType, names)) {
      this.#respond(parked.handle, {
        api: "JoinGroup",
        response: joinError("", GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL),
      });
      return;
    }
    const newMemberId = this.#generateMemberId(input.clientId, input.groupInstanceId);
    assert(
      !group.members.has(newMemberId) && !group.pendingMembers.has(newMemberId),
      `Generated member id ${newMemberId} is already in use.`,
    );
    if (input.groupInstanceId !== null) {
      const existingMemberId = group.staticMembers.get(input.groupInstanceId);
      if (existingMemberId !== undefined) {
        this.#replaceStaticMember(group, input, existingMemberId, newMemberId, parked);
      } else {
        this.#addMemberThenRebalance(group, input, newMemberId, parked);
      }
    } else if (input.apiVersion >= 4) {
      // KIP-394: hand out the id and make the client come back with it.
      group.pendingMembers.set(newMemberId, this.#nowMs + input.sessionTimeoutMs);
      this.#respond(parked.handle, {
        api: "JoinGroup",
        response: joinError(newMemberId, GroupErrorCode.MEMBER_ID_REQUIRED),
      });
    } else {
      this.#addMemberThenRebalance(group, input, newMemberId, parked);
    }
  }

  #joinExistingMember(group: ClassicGroup<H>, input: JoinGroupInput, parked: Parked<H>): void {
    const memberId = input.memberId;
    const reply = (errorCode: number) =>
      this.#respond(parked.handle, { api: "JoinGroup", response: joinError(memberId, errorCode) });
    const names = input.protocols.map((p) => p.name);
    if (!group.supportsProtocols(input.protocolType, names)) {
      return reply(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (group.pendingMembers.has(memberId) && input.groupInstanceId === null) {
      return this.#addMemberThenRebalance(group, input, memberId, parked);
    }
    const error = group.validateMember(memberId, input.groupInstanceId);
    if (error !== GroupErrorCode.NONE) return reply(error);
    const member = group.members.get(memberId)!;
    const matches = protocolsEqual(member.protocols, input.protocols);
    switch (group.state) {
      case "PreparingRebalance":
        return this.#updateMemberThenRebalance(group, member, input, parked);
      case "CompletingRebalance":
        if (!matches) return this.#updateMemberThenRebalance(group, member, input, parked);
        // A retry of a join whose response was lost: repeat this generation's answer.
        this.#respond(parked.handle, {
          api: "JoinGroup",
          response: this.#currentJoinResponse(group, memberId, group.isLeader(memberId)),
        });
        return;
      case "Stable":
        // The leader rejoining forces a rebalance (it may have seen a metadata change).
        if (group.isLeader(memberId) || !matches) {
          return this.#updateMemberThenRebalance(group, member, input, parked);
        }
        this.#respond(parked.handle, {
          api: "JoinGroup",
          response: this.#currentJoinResponse(group, memberId, false),
        });
        return;
      case "Empty":
      case "Dead":
        return reply(GroupErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  #addMemberThenRebalance(
    group: ClassicGroup<H>,
    input: JoinGroupInput,
    memberId: string,
    parked: Parked<H>,
  ): void {
    // Members arriving during the delayed initial rebalance extend the delay.
    if (group.state === "PreparingRebalance" && group.previousState === "Empty") {
      group.newMemberAdded = true;
    }
    group.add(this.#member(input, memberId, parked));
    this.#maybePrepareRebalanceOrCompleteJoin(group);
  }

  #updateMember(member: ClassicMember<H>, input: JoinGroupInput, parked: Parked<H>): void {
    if (member.awaitingJoin !== null) {
      // A second JoinGroup replaces the first; answer the stale one so its handle is released.
      this.#completeJoin(
        member,
        joinError(member.memberId, GroupErrorCode.REBALANCE_IN_PROGRESS),
      );
    }
    member.protocols = input.protocols;
    member.rebalanceTimeoutMs = input.rebalanceTimeoutMs < 0
      ? input.sessionTimeoutMs
      : input.rebalanceTimeoutMs;
    member.sessionTimeoutMs = input.sessionTimeoutMs;
    member.awaitingJoin = parked;
  }

  #updateMemberThenRebalance(
    group: ClassicGroup<H>,
    member: ClassicMember<H>,
    input: JoinGroupInput,
    parked: Parked<H>,
  ): void {
    this.#updateMember(member, input, parked);
    this.#maybePrepareRebalanceOrCompleteJoin(group);
  }

  /**
   * KIP-345: a known group.instance.id rejoining without a member id takes a new member id; the
   * old id is fenced. A Stable group whose selected protocol and this member's metadata stay the
   * same keeps its generation and assignment (no rebalance) once the new id is persisted.
   */
  #replaceStaticMember(
    group: ClassicGroup<H>,
    input: JoinGroupInput,
    oldMemberId: string,
    newMemberId: string,
    parked: Parked<H>,
  ): void {
    const instanceId = input.groupInstanceId!;
    const currentLeader = group.leaderId ?? "";
    const { old, replaced } = group.replaceStaticMember(instanceId, oldMemberId, newMemberId);
    // Fence whatever the old instance still has parked.
    if (old.awaitingJoin !== null) {
      this.#respond(old.awaitingJoin.handle, {
        api: "JoinGroup",
        response: joinError(oldMemberId, GroupErrorCode.FENCED_INSTANCE_ID),
      });
    }
    if (old.awaitingSync !== null) {
      this.#respond(old.awaitingSync.handle, {
        api: "SyncGroup",
        response: syncError(GroupErrorCode.FENCED_INSTANCE_ID),
      });
    }
    this.#rescheduleHeartbeat(replaced);
    const oldMetadata = group.metadataFor(old, group.protocolName);
    this.#updateMember(replaced, input, parked);

    switch (group.state) {
      case "Stable": {
        const unchanged = group.selectProtocol() === group.protocolName &&
          bytesEqual(group.metadataFor(replaced, group.protocolName), oldMetadata);
        if (!unchanged) return this.#maybePrepareRebalanceOrCompleteJoin(group);
        this.#persistReplacedStaticMember(group, old, replaced, currentLeader);
        return;
      }
      case "CompletingRebalance":
        // The leader may be assigning to the old id: start over so the new id gets a share.
        return this.#prepareRebalance(group);
      case "PreparingRebalance":
        return this.#maybeCompleteJoinPhase(group);
      case "Empty":
      case "Dead":
        assert.fail(`Group ${group.groupId} in ${group.state} cannot have static members.`);
    }
  }

  #persistReplacedStaticMember(
    group: ClassicGroup<H>,
    old: ClassicMember<H>,
    replaced: ClassicMember<H>,
    currentLeader: string,
  ): void {
    const generationId = group.generationId;
    const value = group.toMetadataValue((m) => m.assignment);
    this.#append([groupRecord(group.groupId, value)], (errorCode) => {
      const parked = replaced.awaitingJoin;
      if (parked === null || group.members.get(replaced.memberId) !== replaced) return;
      if (errorCode !== GroupErrorCode.NONE) {
        this.#completeJoin(
          replaced,
          joinError("", appendErrorToResponseError(errorCode, "group")),
        );
        // Put the old id back so the running instance is not fenced by a join that failed.
        if (group.state === "Stable" && group.generationId === generationId) {
          const { replaced: restored } = group.replaceStaticMember(
            old.groupInstanceId!,
            replaced.memberId,
            old.memberId,
          );
          restored.protocols = old.protocols;
          restored.rebalanceTimeoutMs = old.rebalanceTimeoutMs;
          restored.sessionTimeoutMs = old.sessionTimeoutMs;
          this.#rescheduleHeartbeat(restored);
        }
        return;
      }
      const isLeader = group.isLeader(replaced.memberId);
      const skip = parked.apiVersion >= 9 && isLeader;
      // Before v9 the old leader id is returned so a returning leader does not reassign.
      this.#completeJoin(replaced, {
        ...this.#currentJoinResponse(group, replaced.memberId, skip),
        leader: skip ? group.leaderId ?? "" : currentLeader,
        skipAssignment: skip,
      });
    });
  }

  // ---------------------------------------------------------------- SyncGroup

  /** Handles SyncGroup; followers wait until the leader's assignment is persisted. */
  syncGroup(handle: H, input: SyncGroupInput, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    this.#sync(handle, input);
    return this.#end();
  }

  #sync(handle: H, input: SyncGroupInput): void {
    const reply = (errorCode: number) =>
      this.#respond(handle, { api: "SyncGroup", response: syncError(errorCode) });
    if (input.groupId === "") return reply(GroupErrorCode.INVALID_GROUP_ID);
    if (input.apiVersion >= 5 && (input.protocolType === null || input.protocolName === null)) {
      return reply(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (this.#consumer.groups.has(input.groupId)) {
      this.#respond(handle, {
        api: "SyncGroup",
        response: this.#consumer.classicSync(input, this.#nowMs),
      });
      return;
    }
    const group = this.#groups.get(input.groupId);
    if (group === undefined) return reply(GroupErrorCode.UNKNOWN_MEMBER_ID);
    const error = group.validateMember(input.memberId, input.groupInstanceId);
    if (error !== GroupErrorCode.NONE) return reply(error);
    if (input.generationId !== group.generationId) {
      return reply(GroupErrorCode.ILLEGAL_GENERATION);
    }
    const inconsistent = (requested: string | null, actual: string | null) =>
      requested !== null && actual !== null && requested !== actual;
    if (
      inconsistent(input.protocolType, group.protocolType) ||
      inconsistent(input.protocolName, group.protocolName)
    ) {
      return reply(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = group.members.get(input.memberId)!;
    switch (group.state) {
      case "Empty":
        return reply(GroupErrorCode.UNKNOWN_MEMBER_ID);
      case "PreparingRebalance":
        return reply(GroupErrorCode.REBALANCE_IN_PROGRESS);
      case "CompletingRebalance":
        this.#completeSync(member, syncError(GroupErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = { handle, apiVersion: input.apiVersion };
        this.#removePendingSyncMember(group, member.memberId);
        if (group.isLeader(member.memberId)) this.#storeLeaderAssignment(group, input);
        return;
      case "Stable":
        this.#removePendingSyncMember(group, member.memberId);
        this.#respond(handle, {
          api: "SyncGroup",
          response: {
            errorCode: GroupErrorCode.NONE,
            protocolType: group.protocolType,
            protocolName: group.protocolName,
            assignment: member.assignment,
          },
        });
        return;
      case "Dead":
        assert.fail(`Dead group ${group.groupId} is still registered.`);
    }
  }

  #storeLeaderAssignment(group: ClassicGroup<H>, input: SyncGroupInput): void {
    const assignment = new Map(input.assignments.map((a) => [a.memberId, a.assignment]));
    const assignmentOf = (m: ClassicMember<H>) => assignment.get(m.memberId) ?? EMPTY_BYTES;
    const generationId = group.generationId;
    const value = group.toMetadataValue(assignmentOf);
    this.#append([groupRecord(group.groupId, value)], (errorCode) => {
      // Another member may have joined meanwhile; only the same completing generation proceeds.
      const current = this.#groups.get(group.groupId) === group &&
        group.state === "CompletingRebalance" && group.generationId === generationId;
      if (!current) return;
      if (errorCode !== GroupErrorCode.NONE) {
        this.#resetAndPropagateAssignmentError(
          group,
          appendErrorToResponseError(errorCode, "group"),
        );
        this.#maybePrepareRebalanceOrCompleteJoin(group);
        return;
      }
      for (const member of group.members.values()) member.assignment = assignmentOf(member);
      this.#propagateAssignment(group, GroupErrorCode.NONE);
      group.transitionTo("Stable", this.#nowMs);
    });
  }

  // ---------------------------------------------------------------- Heartbeat

  /** Handles Heartbeat; answers at once (it never waits and never writes). */
  heartbeat(input: HeartbeatInput, nowMs: number): HeartbeatResult {
    this.#begin(nowMs);
    const errorCode = this.#heartbeat(input);
    assert(this.#end().length === 0, "Heartbeat must not produce effects.");
    return { errorCode };
  }

  #heartbeat(input: HeartbeatInput): number {
    if (input.groupId === "") return GroupErrorCode.INVALID_GROUP_ID;
    if (this.#consumer.groups.has(input.groupId)) {
      return this.#consumer.classicHeartbeat(input, this.#nowMs);
    }
    const group = this.#groups.get(input.groupId);
    if (group === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
    const error = group.validateMember(input.memberId, input.groupInstanceId);
    if (error !== GroupErrorCode.NONE) return error;
    if (input.generationId !== group.generationId) return GroupErrorCode.ILLEGAL_GENERATION;
    const member = group.members.get(input.memberId)!;
    switch (group.state) {
      case "Empty":
      case "Dead":
        return GroupErrorCode.UNKNOWN_MEMBER_ID;
      case "PreparingRebalance":
        this.#rescheduleHeartbeat(member);
        return GroupErrorCode.REBALANCE_IN_PROGRESS;
      case "CompletingRebalance":
      case "Stable":
        this.#rescheduleHeartbeat(member);
        return GroupErrorCode.NONE;
    }
  }

  // ---------------------------------------------------------------- KIP-848

  /**
   * Handles ConsumerGroupHeartbeat (KIP-848): joins (epoch 0), heartbeats, reconciles and leaves
   * (epoch -1, or -2 for a static member). The response is released once the ConsumerGroup*
   * records it depends on are durable. An empty classic group becomes a consumer group, keeping
   * its offsets; a classic group with members answers GROUP_ID_NOT_FOUND.
   */
  consumerGroupHeartbeat(
    handle: H,
    input: ConsumerGroupHeartbeatInput,
    nowMs: number,
  ): GroupEffect<H>[] {
    this.#begin(nowMs);
    const respond = (response: ConsumerGroupHeartbeatResult) =>
      this.#respond(handle, { api: "ConsumerGroupHeartbeat", response });
    let classic = this.#groups.get(input.groupId);
    const all: GroupRecord[] = [];
    if (classic !== undefined) {
      const empty = classic.state === "Empty" && classic.members.size === 0 &&
        classic.pendingMembers.size === 0;
      const upgraded = !empty && input.memberEpoch === 0 && this.#upgrade(classic, all);
      if (upgraded) classic = undefined;
      if (!upgraded && (!empty || input.memberEpoch !== 0)) {
        respond({
          errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND,
          errorMessage: `Group ${input.groupId} is not a consumer group.`,
          memberId: null,
          memberEpoch: 0,
          heartbeatIntervalMs: 0,
          assignment: null,
        });
        return this.#end();
      }
    }
    const { result, records } = this.#consumer.heartbeat(input, this.#nowMs);
    const adopted = this.#consumer.groups.get(input.groupId);
    if (classic !== undefined && adopted !== undefined) {
      for (const [topic, partitions] of classic.offsets) {
        for (const [partition, value] of partitions) adopted.setOffset(topic, partition, value);
      }
      this.#groups.delete(input.groupId);
      if (classic.generationId > 0 || classic.protocolType !== null) {
        all.push(groupRecord(input.groupId, null));
      }
    }
    all.push(...records);
    all.push(...this.#takeDowngrades());
    if (all.length > 0) this.#append(all);
    this.#respondWhenDurable(
      handle,
      (appendError) =>
        appendError === GroupErrorCode.NONE
          ? { api: "ConsumerGroupHeartbeat", response: result }
          : {
            api: "ConsumerGroupHeartbeat",
            response: {
              errorCode: appendErrorToResponseError(appendError, "group"),
              errorMessage: null,
              memberId: null,
              memberEpoch: 0,
              heartbeatIntervalMs: 0,
              assignment: null,
            },
          },
    );
    return this.#end();
  }

  /**
   * KIP-848 online upgrade: a KIP-848 member joins a classic group with members. When the policy
   * allows it, the classic group's parked requests are answered REBALANCE_IN_PROGRESS (its members
   * rejoin, now as classic members of a consumer group), its metadata is tombstoned and the
   * consumer group is created from its members' last assignments. False when it may not upgrade.
   */
  #upgrade(classic: ClassicGroup<H>, records: GroupRecord[]): boolean {
    if (!this.#consumer.mayAdoptClassicGroup(classic.protocolType, classic.members.size)) {
      return false;
    }
    const conversion: GroupConversion = {
      groupId: classic.groupId,
      generationId: classic.generationId,
      members: [...classic.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        // The protocol the group chose first: its subscription is the one to read.
        protocols: [...m.protocols].sort((a, b) =>
          Number(b.name === classic.protocolName) - Number(a.name === classic.protocolName)
        ),
        assignment: m.assignment,
      })),
      offsets: classic.offsets,
    };
    const created = this.#consumer.adoptClassicGroup(conversion, this.#nowMs);
    if (created === null) return false;
    for (const member of classic.members.values()) {
      this.#completeJoin(member, joinError(member.memberId, GroupErrorCode.REBALANCE_IN_PROGRESS));
      this.#completeSync(member, syncError(GroupErrorCode.REBALANCE_IN_PROGRESS));
    }
    this.#groups.delete(classic.groupId);
    records.push(groupRecord(classic.groupId, null), ...created);
    return true;
  }

  /**
   * KIP-848 online downgrade: consumer groups whose last KIP-848 member left become classic groups
   * of their classic members again, Stable at the group epoch with their target assignments, then
   * rebalance so that a leader assigns. Returns the GroupMetadata records to write (after the
   * consumer group's tombstones).
   */
  #takeDowngrades(): GroupRecord[] {
    const records: GroupRecord[] = [];
    for (const conversion of this.#consumer.takeDowngrades()) {
      const group = new ClassicGroup<H>(conversion.groupId, this.#nowMs);
      for (const m of conversion.members) {
        group.add({
          memberId: m.memberId,
          groupInstanceId: m.instanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          sessionTimeoutMs: m.sessionTimeoutMs,
          protocolType: "consumer",
          protocols: m.protocols,
          assignment: m.assignment,
          awaitingJoin: null,
          awaitingSync: null,
          isNew: false,
          heartbeatDeadlineMs: this.#nowMs + m.sessionTimeoutMs,
        });
      }
      for (const [topic, partitions] of conversion.offsets) {
        for (const [partition, value] of partitions) group.setOffset(topic, partition, value);
      }
      group.generationId = conversion.generationId;
      group.protocolName = group.selectProtocol();
      group.subscribedTopics = group.computeSubscribedTopics();
      // Kafka builds the downgraded group directly in Stable: its members hold assignments.
      group.previousState = "Empty";
      group.state = "Stable";
      this.#groups.set(group.groupId, group);
      records.push(groupRecord(group.groupId, group.toMetadataValue((m) => m.assignment)));
      this.#prepareRebalance(group);
    }
    return records;
  }

  /**
   * A classic JoinGroup for an empty consumer group: the consumer group is tombstoned and a
   * classic group takes its place, keeping its committed offsets (as Kafka does).
   */
  #classicFromEmptyConsumerGroup(consumerGroup: ConsumerGroup): void {
    const offsets = consumerGroup.offsets;
    const tombstones = this.#consumer.deleteGroup(consumerGroup.groupId);
    const group = new ClassicGroup<H>(consumerGroup.groupId, this.#nowMs);
    for (const [topic, partitions] of offsets) {
      for (const [partition, value] of partitions) group.setOffset(topic, partition, value);
    }
    this.#groups.set(group.groupId, group);
    if (tombstones.length > 0) this.#append(tombstones);
  }

  /** Handles ConsumerGroupDescribe (KIP-848); classic and unknown groups are GROUP_ID_NOT_FOUND. */
  consumerGroupDescribe(groupIds: string[]): ConsumerGroupDescribedGroup[] {
    return this.#consumer.describe(groupIds);
  }

  // ---------------------------------------------------------------- LeaveGroup

  /** Handles LeaveGroup: one member (v0-2) or a batch by member id or group.instance.id (v3+). */
  leaveGroup(handle: H, input: LeaveGroupInput, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    const identities = input.apiVersion < 3
      ? [{ memberId: input.memberId, groupInstanceId: null }]
      : input.members;
    const finish =
      (errorCode: number, members: LeaveGroupMemberResult[]) =>
      (appendErrorCode: number): GroupResponse => {
        const topError = appendErrorCode !== GroupErrorCode.NONE
          ? appendErrorToResponseError(appendErrorCode, "group")
          : errorCode;
        const single = input.apiVersion < 3 ? members[0]?.errorCode ?? 0 : 0;
        return {
          api: "LeaveGroup",
          response: { errorCode: topError !== 0 ? topError : single, members },
        };
      };
    if (input.groupId === "") {
      this.#respondWhenDurable(handle, finish(GroupErrorCode.INVALID_GROUP_ID, []));
      return this.#end();
    }
    if (this.#consumer.groups.has(input.groupId)) {
      const { results, records } = this.#consumer.classicLeave(input.groupId, identities);
      if (records.length > 0) this.#append(records);
      this.#respondWhenDurable(handle, finish(GroupErrorCode.NONE, results));
      return this.#end();
    }
    const group = this.#groups.get(input.groupId);
    const results = identities.map((identity): LeaveGroupMemberResult => ({
      memberId: identity.memberId,
      groupInstanceId: identity.groupInstanceId,
      errorCode: group === undefined
        ? GroupErrorCode.UNKNOWN_MEMBER_ID
        : this.#leaveOne(group, identity.memberId, identity.groupInstanceId),
    }));
    if (group !== undefined && results.some((r) => r.errorCode === GroupErrorCode.NONE)) {
      if (group.state === "Stable" || group.state === "CompletingRebalance") {
        this.#maybePrepareRebalanceOrCompleteJoin(group);
      } else if (group.state === "PreparingRebalance") {
        this.#maybeCompleteJoinPhase(group);
      }
    }
    this.#respondWhenDurable(handle, finish(GroupErrorCode.NONE, results));
    return this.#end();
  }

  #leaveOne(group: ClassicGroup<H>, memberId: string, groupInstanceId: string | null): number {
    if (memberId === "") {
      // Administrative removal by group.instance.id (KIP-345).
      const staticMemberId = groupInstanceId === null
        ? undefined
        : group.staticMembers.get(groupInstanceId);
      if (staticMemberId === undefined) return GroupErrorCode.UNKNOWN_MEMBER_ID;
      this.#removeMember(group, group.members.get(staticMemberId)!);
      return GroupErrorCode.NONE;
    }
    if (group.pendingMembers.has(memberId) && groupInstanceId === null) {
      group.pendingMembers.delete(memberId);
      return GroupErrorCode.NONE;
    }
    const error = group.validateMember(memberId, groupInstanceId);
    if (error !== GroupErrorCode.NONE) return error;
    this.#removeMember(group, group.members.get(memberId)!);
    return GroupErrorCode.NONE;
  }

  // ---------------------------------------------------------------- offsets

  /** Handles OffsetCommit; the response is released once the offset records are durable. */
  offsetCommit(handle: H, input: OffsetCommitInput, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    this.#offsetCommit(handle, input);
    return this.#end();
  }

  #offsetCommit(handle: H, input: OffsetCommitInput): void {
    const respondAll = (errorCode: number | ((topic: string, partition: number) => number)) =>
      this.#respond(handle, {
        api: "OffsetCommit",
        response: {
          topics: input.topics.map((topic) => ({
            name: topic.name,
            partitions: topic.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: typeof errorCode === "number"
                ? errorCode
                : errorCode(topic.name, p.partitionIndex),
            })),
          })),
        },
      });
    const group = this.#groups.get(input.groupId);
    const consumerGroup = this.#consumer.groups.get(input.groupId);
    const error = consumerGroup !== undefined
      ? this.#consumer.validateOffsetCommit(consumerGroup, input)
      : group === undefined
      ? (input.generationIdOrMemberEpoch < 0
        ? GroupErrorCode.NONE // No group management: Kafka only stores the offsets.
        : input.apiVersion >= 9
        ? GroupErrorCode.GROUP_ID_NOT_FOUND
        : GroupErrorCode.ILLEGAL_GENERATION)
      : this.#validateOffsetCommit(group, input);
    if (error !== GroupErrorCode.NONE) return respondAll(error);

    const accepted: { topic: string; partition: number; value: OffsetCommitValue }[] = [];
    const rejected = new Map<string, number>();
    for (const topic of input.topics) {
      for (const p of topic.partitions) {
        const metadata = p.committedMetadata ?? "";
        if (utf8.encode(metadata).byteLength > this.config.offsetMetadataMaxBytes) {
          rejected.set(
            `${topic.name}\u0000${p.partitionIndex}`,
            GroupErrorCode.OFFSET_METADATA_TOO_LARGE,
          );
          continue;
        }
        const commitTimestamp = (p.commitTimestamp ?? -1) === -1 ? this.#nowMs : p.commitTimestamp!;
        accepted.push({
          topic: topic.name,
          partition: p.partitionIndex,
          value: {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
            commitTimestamp,
            // A retention of Long.MAX_VALUE means "keep": saturated, not overflowing int64.
            expireTimestamp: input.retentionTimeMs === -1
              ? -1
              : Math.min(this.#nowMs + input.retentionTimeMs, Number.MAX_SAFE_INTEGER),
          },
        });
      }
    }
    const codeFor = (appendError: number) => (topic: string, partition: number) =>
      rejected.get(`${topic}\u0000${partition}`) ??
        (appendError === GroupErrorCode.NONE
          ? GroupErrorCode.NONE
          : appendErrorToResponseError(appendError, "offsets"));
    if (accepted.length === 0) return respondAll(codeFor(GroupErrorCode.NONE));
    const records = accepted.map((a) => offsetRecord(input.groupId, a.topic, a.partition, a.value));
    this.#append(records, (appendError) => {
      if (appendError === GroupErrorCode.NONE) {
        let target: ClassicGroup<H> | ConsumerGroup | undefined =
          this.#consumer.groups.get(input.groupId) ?? this.#groups.get(input.groupId);
        if (target === undefined) {
          // A simple (non-member) commit, or the group was deleted meanwhile: as replay would.
          target = new ClassicGroup<H>(input.groupId, this.#nowMs);
          this.#groups.set(input.groupId, target);
        }
        for (const a of accepted) target.setOffset(a.topic, a.partition, a.value);
      }
      respondAll(codeFor(appendError));
    });
  }

  /**
   * Handles TxnOffsetCommit (Kafka's doTxnCommitOffsets): the offsets are appended as a
   * transactional batch of the producer and held pending until its transaction's marker reaches
   * this partition ({@link completeTransaction}); the response is released once they are durable.
   */
  txnOffsetCommit(handle: H, input: TxnOffsetCommitInput, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    const respondAll = (errorCode: (topic: string, partition: number) => number) =>
      this.#respond(handle, {
        api: "TxnOffsetCommit",
        response: {
          topics: input.topics.map((topic) => ({
            name: topic.name,
            partitions: topic.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: errorCode(topic.name, p.partitionIndex),
            })),
          })),
        },
      });
    const error = this.#validateTxnOffsetCommit(input);
    if (error !== GroupErrorCode.NONE) {
      respondAll(() => error);
      return this.#end();
    }
    const accepted: { topic: string; partition: number; value: OffsetCommitValue }[] = [];
    const rejected = new Set<string>();
    for (const topic of input.topics) {
      for (const p of topic.partitions) {
        const metadata = p.committedMetadata ?? "";
        if (utf8.encode(metadata).byteLength > this.config.offsetMetadataMaxBytes) {
          rejected.add(`${topic.name}\u0000${p.partitionIndex}`);
          continue;
        }
        accepted.push({
          topic: topic.name,
          partition: p.partitionIndex,
          value: {
            offset: p.committedOffset,
            leaderEpoch: p.committedLeaderEpoch,
            metadata,
            commitTimestamp: this.#nowMs,
            expireTimestamp: -1,
          },
        });
      }
    }
    const codeFor = (appendError: number) => (topic: string, partition: number) =>
      rejected.has(`${topic}\u0000${partition}`)
        ? GroupErrorCode.OFFSET_METADATA_TOO_LARGE
        : appendError === GroupErrorCode.NONE
        ? GroupErrorCode.NONE
        : appendErrorToResponseError(appendError, "offsets");
    if (accepted.length === 0) {
      respondAll(codeFor(GroupErrorCode.NONE));
      return this.#end();
    }
    const records = accepted.map((a) => offsetRecord(input.groupId, a.topic, a.partition, a.value));
    this.#append(records, (appendError) => {
      if (appendError === GroupErrorCode.NONE) {
        this.#addPendingTxnOffsets(input.producerId, input.groupId, accepted);
      }
      respondAll(codeFor(appendError));
    }, { producerId: input.producerId, producerEpoch: input.producerEpoch });
    return this.#end();
  }

  #validateTxnOffsetCommit(input: TxnOffsetCommitInput): number {
    const consumerGroup = this.#consumer.groups.get(input.groupId);
    // Before KIP-447 (v0-v2) the producer knows nothing of the group: nothing to check.
    const simple = input.generationId < 0 && input.memberId === "" &&
      input.groupInstanceId === null;
    if (consumerGroup !== undefined) {
      if (simple) return GroupErrorCode.NONE;
      const error = this.#consumer.validateOffsetCommit(consumerGroup, {
        apiVersion: 9,
        groupId: input.groupId,
        generationIdOrMemberEpoch: input.generationId,
        memberId: input.memberId,
        groupInstanceId: input.groupInstanceId,
        retentionTimeMs: -1,
        topics: [],
      });
      return error === GroupErrorCode.STALE_MEMBER_EPOCH
        ? GroupErrorCode.ILLEGAL_GENERATION
        : error;
    }
    const group = this.#groups.get(input.groupId);
    if (group === undefined || simple) return GroupErrorCode.NONE;
    const error = group.validateMember(input.memberId, input.groupInstanceId);
    if (error !== GroupErrorCode.NONE) return error;
    if (input.generationId !== group.generationId) return GroupErrorCode.ILLEGAL_GENERATION;
    return GroupErrorCode.NONE;
  }

  #addPendingTxnOffsets(
    producerId: bigint,
    groupId: string,
    offsets: { topic: string; partition: number; value: OffsetCommitValue }[],
  ): void {
    let byGroup = this.#pendingTxnOffsets.get(producerId);
    if (byGroup === undefined) this.#pendingTxnOffsets.set(producerId, byGroup = new Map());
    let byPartition = byGroup.get(groupId);
    if (byPartition === undefined) byGroup.set(groupId, byPartition = new Map());
    for (const o of offsets) byPartition.set(`${o.topic}\u0000${o.partition}`, o);
  }

  /**
   * A transaction marker of `producerId` reached this `__consumer_offsets` partition: on commit
   * its pending transactional offsets become the groups' committed offsets, on abort they are
   * dropped (Kafka's onTransactionCompleted).
   */
  completeTransaction(producerId: bigint, committed: boolean, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    const byGroup = this.#pendingTxnOffsets.get(producerId);
    this.#pendingTxnOffsets.delete(producerId);
    if (committed && byGroup !== undefined) {
      for (const [groupId, offsets] of byGroup) {
        let target: ClassicGroup<H> | ConsumerGroup | undefined =
          this.#consumer.groups.get(groupId) ?? this.#groups.get(groupId);
        if (target === undefined) {
          target = new ClassicGroup<H>(groupId, this.#nowMs);
          this.#groups.set(groupId, target);
        }
        for (const o of offsets.values()) target.setOffset(o.topic, o.partition, o.value);
      }
    }
    return this.#end();
  }

  /**
   * Loads the offset records of transactions still open at the end of the log (their marker has
   * not been written yet): they are pending until {@link completeTransaction}.
   */
  loadPendingTxnOffsets(producerId: bigint, records: Iterable<GroupRecord>): void {
    for (const record of records) {
      if (record.type !== "offsetCommit" || record.value === null) continue;
      const { group, topic, partition } = record.key;
      this.#addPendingTxnOffsets(producerId, group, [{ topic, partition, value: record.value }]);
    }
  }

  /** True when a transaction has pending offsets for this group's partition (requireStable). */
  #hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    for (const byGroup of this.#pendingTxnOffsets.values()) {
      if (byGroup.get(groupId)?.has(`${topic}\u0000${partition}`)) return true;
    }
    return false;
  }

  #validateOffsetCommit(group: ClassicGroup<H>, input: OffsetCommitInput): number {
    const generationId = input.generationIdOrMemberEpoch;
    // generation -1 from a non-member (admin client, assign()) is fine while nobody is a member.
    if (generationId < 0 && group.state === "Empty") return GroupErrorCode.NONE;
    if (generationId >= 0 || input.memberId !== "" || input.groupInstanceId !== null) {
      const error = group.validateMember(input.memberId, input.groupInstanceId);
      if (error !== GroupErrorCode.NONE) return error;
      if (generationId !== group.generationId) return GroupErrorCode.ILLEGAL_GENERATION;
    } else if (group.state !== "Empty") {
      return GroupErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (group.state === "CompletingRebalance") return GroupErrorCode.REBALANCE_IN_PROGRESS;
    const member = group.members.get(input.memberId);
    if (member !== undefined) this.#rescheduleHeartbeat(member);
    return GroupErrorCode.NONE;
  }

  /**
   * Handles one group of OffsetFetch: listed partitions (-1 when none is committed) or, with
   * `topics: null`, every committed offset. With `requireStable` (KIP-447), a listed partition
   * with transactional offsets pending is answered UNSTABLE_OFFSET_COMMIT, which clients retry.
   */
  offsetFetch(input: OffsetFetchInput): OffsetFetchResult {
    const group = this.#groups.get(input.groupId) ?? this.#consumer.groups.get(input.groupId);
    const partitionResult = (
      partitionIndex: number,
      value: OffsetCommitValue | undefined,
      topic?: string,
    ) => {
      const unstable = topic !== undefined && input.requireStable &&
        this.#hasPendingTxnOffset(input.groupId, topic, partitionIndex);
      return {
        partitionIndex,
        committedOffset: unstable ? -1 : value?.offset ?? -1,
        committedLeaderEpoch: unstable ? -1 : value?.leaderEpoch ?? -1,
        metadata: unstable ? "" : value?.metadata ?? "",
        errorCode: unstable ? GroupErrorCode.UNSTABLE_OFFSET_COMMIT : GroupErrorCode.NONE,
      };
    };
    if (input.topics !== null) {
      return {
        groupId: input.groupId,
        errorCode: GroupErrorCode.NONE,
        topics: input.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partition) =>
            partitionResult(partition, group?.offsets.get(topic.name)?.get(partition), topic.name)
          ),
        })),
      };
    }
    const topics = [...(group?.offsets.entries() ?? [])]
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([name, partitions]) => ({
        name,
        partitions: [...partitions.entries()]
          .sort(([a], [b]) => a - b)
          .map(([partition, value]) => partitionResult(partition, value)),
      }));
    return { groupId: input.groupId, errorCode: GroupErrorCode.NONE, topics };
  }

  /**
   * Handles OffsetDelete: only for an Empty group, or for topics no member of a consumer-protocol
   * group subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise).
   */
  offsetDelete(handle: H, input: OffsetDeleteInput, nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    const classic = this.#groups.get(input.groupId);
    const group = classic ?? this.#consumer.groups.get(input.groupId);
    const topLevel = group === undefined
      ? GroupErrorCode.GROUP_ID_NOT_FOUND
      : classic !== undefined && classic.state !== "Empty" && !classic.usesConsumerProtocol()
      ? GroupErrorCode.NON_EMPTY_GROUP
      : GroupErrorCode.NONE;
    if (group === undefined || topLevel !== GroupErrorCode.NONE) {
      this.#respond(handle, { api: "OffsetDelete", response: { errorCode: topLevel, topics: [] } });
      return this.#end();
    }
    const records: GroupRecord[] = [];
    const topics = input.topics.map((topic) => {
      const subscribed = group.isSubscribedToTopic(topic.name);
      return {
        name: topic.name,
        partitions: topic.partitions.map(({ partitionIndex }) => {
          if (subscribed) {
            return { partitionIndex, errorCode: GroupErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          }
          if (group.deleteOffset(topic.name, partitionIndex)) {
            records.push(offsetRecord(group.groupId, topic.name, partitionIndex, null));
          }
          return { partitionIndex, errorCode: GroupErrorCode.NONE };
        }),
      };
    });
    if (records.length > 0) this.#append(records);
    this.#respondWhenDurable(handle, (appendError) => ({
      api: "OffsetDelete",
      response: {
        errorCode: appendError === GroupErrorCode.NONE
          ? GroupErrorCode.NONE
          : appendErrorToResponseError(appendError, "offsets"),
        topics,
      },
    }));
    return this.#end();
  }

  // ---------------------------------------------------------------- admin

  /** Handles ListGroups; `statesFilter`/`typesFilter` match case-insensitively (KIP-518). */
  listGroups(input: ListGroupsInput): ListGroupsResult {
    const states = new Set(input.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set((input.typesFilter ?? []).map((t) => t.toLowerCase()));
    const groups = [...this.#groups.values()]
      .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
      .filter(() => types.size === 0 || types.has("classic"))
      .map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType ?? "",
        groupState: g.state,
        groupType: "classic",
      }));
    const consumerGroups = this.#consumer.listed()
      .filter((g) => states.size === 0 || states.has(g.groupState.toLowerCase()))
      .filter(() => types.size === 0 || types.has("consumer"));
    return { errorCode: GroupErrorCode.NONE, groups: [...groups, ...consumerGroups] };
  }

  /** Handles DescribeGroups; member metadata and assignments are shown only when Stable. */
  describeGroups(groupIds: string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const group = this.#groups.get(groupId);
      if (group === undefined) {
        return {
          errorCode: GroupErrorCode.NONE,
          groupId,
          groupState: "Dead",
          protocolType: "",
          protocolData: "",
          members: [],
        };
      }
      const stable = group.state === "Stable";
      return {
        errorCode: GroupErrorCode.NONE,
        groupId,
        groupState: group.state,
        protocolType: group.protocolType ?? "",
        protocolData: stable ? group.protocolName ?? "" : "",
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? group.metadataFor(m, group.protocolName) : EMPTY_BYTES,
          memberAssignment: stable ? m.assignment : EMPTY_BYTES,
        })),
      };
    });
  }

  /** Handles DeleteGroups: Empty groups lose their metadata and offsets (tombstones). */
  deleteGroups(handle: H, groupIds: string[], nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    const records: GroupRecord[] = [];
    const deleted = new Set<string>();
    const results = groupIds.map((groupId) => {
      const consumerGroup = this.#consumer.groups.get(groupId);
      if (consumerGroup !== undefined) {
        if (consumerGroup.members.size > 0) {
          return { groupId, errorCode: GroupErrorCode.NON_EMPTY_GROUP };
        }
        for (const [topic, partitions] of consumerGroup.offsets) {
          for (const partition of partitions.keys()) {
            records.push(offsetRecord(groupId, topic, partition, null));
          }
        }
        records.push(...this.#consumer.deleteGroup(groupId));
        deleted.add(groupId);
        return { groupId, errorCode: GroupErrorCode.NONE };
      }
      const group = this.#groups.get(groupId);
      if (group === undefined) return { groupId, errorCode: GroupErrorCode.GROUP_ID_NOT_FOUND };
      if (group.state !== "Empty") return { groupId, errorCode: GroupErrorCode.NON_EMPTY_GROUP };
      records.push(...this.#removeGroup(group));
      deleted.add(groupId);
      return { groupId, errorCode: GroupErrorCode.NONE };
    });
    if (records.length > 0) this.#append(records);
    this.#respondWhenDurable(handle, (appendError): GroupResponse => {
      const failed = appendErrorToResponseError(appendError, "group");
      const response: DeleteGroupsResult = {
        results: results.map((r) =>
          appendError !== GroupErrorCode.NONE && deleted.has(r.groupId)
            ? { ...r, errorCode: failed }
            : r
        ),
      };
      return { api: "DeleteGroups", response };
    });
    return this.#end();
  }

  /** Marks the group Dead, forgets it, and returns its tombstones (offsets, then metadata). */
  #removeGroup(group: ClassicGroup<H>): GroupRecord[] {
    const records: GroupRecord[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) {
        records.push(offsetRecord(group.groupId, topic, partition, null));
      }
    }
    records.push(groupRecord(group.groupId, null));
    group.transitionTo("Dead", this.#nowMs);
    this.#groups.delete(group.groupId);
    return records;
  }

  // ---------------------------------------------------------------- timers

  /**
   * Fires every timer due at `nowMs`: pending-member and session expiry, the join phase (delayed
   * initial rebalance, rebalance timeout), pending-sync expiry, and offset retention.
   */
  tick(nowMs: number): GroupEffect<H>[] {
    this.#begin(nowMs);
    for (const group of [...this.#groups.values()]) this.#tickGroup(group);
    const expired: GroupRecord[] = this.#consumer.tick(this.#nowMs);
    expired.push(...this.#takeDowngrades());
    if (expired.length > 0) this.#append(expired);
    if (this.#nowMs >= this.#nextOffsetsExpiryMs!) {
      this.#expireOffsets();
      this.#nextOffsetsExpiryMs = this.#nowMs + this.config.offsetsRetentionCheckIntervalMs;
    }
    return this.#end();
  }

  #tickGroup(group: ClassicGroup<H>): void {
    const now = this.#nowMs;
    for (const [memberId, deadlineMs] of [...group.pendingMembers]) {
      if (deadlineMs > now) continue;
      group.pendingMembers.delete(memberId);
      if (group.state === "PreparingRebalance" && group.hasAllMembersJoined()) {
        this.#completeJoinPhase(group);
      }
    }
    for (const member of [...group.members.values()]) {
      if (group.members.get(member.memberId) !== member) continue;
      if (member.heartbeatDeadlineMs > now) continue;
      // Members parked in JoinGroup/SyncGroup cannot heartbeat; only brand new ones expire.
      const parked = member.awaitingJoin !== null || member.awaitingSync !== null;
      if (parked && !member.isNew) continue;
      this.#removeMember(group, member);
      if (group.state === "Stable" || group.state === "CompletingRebalance") {
        this.#maybePrepareRebalanceOrCompleteJoin(group);
      } else if (group.state === "PreparingRebalance" && group.hasAllMembersJoined()) {
        this.#completeJoinPhase(group);
      }
    }
    if (group.joinTimer !== null && group.joinTimer.deadlineMs <= now) this.#onJoinTimer(group);
    if (group.syncDeadlineMs !== null && group.syncDeadlineMs <= now) {
      this.#expirePendingSync(group);
    }
  }

  #onJoinTimer(group: ClassicGroup<H>): void {
    const initial = group.joinTimer!.initial;
    if (initial !== null && group.newMemberAdded && initial.remainingMs !== 0) {
      // A member arrived during the initial delay: wait again, within the rebalance timeout.
      group.newMemberAdded = false;
      const delayMs = Math.min(this.config.groupInitialRebalanceDelayMs, initial.remainingMs);
      const remainingMs = Math.max(initial.remainingMs - initial.delayMs, 0);
      group.joinTimer = { deadlineMs: this.#nowMs + delayMs, initial: { delayMs, remainingMs } };
      return;
    }
    this.#completeJoinPhase(group);
  }

  #expirePendingSync(group: ClassicGroup<H>): void {
    group.syncDeadlineMs = null;
    const syncing = group.state === "CompletingRebalance" || group.state === "Stable";
    if (!syncing || group.pendingSyncMembers.size === 0) return;
    for (const memberId of [...group.pendingSyncMembers]) {
      this.#removeMember(group, group.members.get(memberId)!);
    }
    this.#prepareRebalance(group);
  }

  /** offsets.retention.minutes: expire offsets Kafka's expiration conditions allow, then groups. */
  #expireOffsets(): void {
    const retentionMs = this.config.offsetsRetentionMinutes * 60_000;
    const records: GroupRecord[] = [];
    for (const group of [...this.#groups.values()]) {
      const base = this.#expirationBase(group);
      if (base !== null) {
        for (const [topic, partitions] of [...group.offsets]) {
          if (group.isSubscribedToTopic(topic)) continue;
          for (const [partition, value] of [...partitions]) {
            const expired = value.expireTimestamp !== -1
              ? this.#nowMs >= value.expireTimestamp
              : this.#nowMs - base(value) >= retentionMs;
            if (!expired) continue;
            group.deleteOffset(topic, partition);
            records.push(offsetRecord(group.groupId, topic, partition, null));
          }
        }
      }
      if (
        group.state === "Empty" && group.offsetCount() === 0 && group.pendingMembers.size === 0
      ) {
        records.push(...this.#removeGroup(group));
      }
    }
    if (records.length > 0) this.#append(records);
  }

  #expirationBase(group: ClassicGroup<H>): ((value: OffsetCommitValue) => number) | null {
    if (group.protocolType === null || group.protocolType === "") {
      return (value) => value.commitTimestamp; // A simple (non-member) group.
    }
    if (group.state === "Empty") {
      const since = group.currentStateTimestampMs;
      return (value) => since === -1 ? value.commitTimestamp : since;
    }
    if (
      group.usesConsumerProtocol() && group.subscribedTopics !== null && group.state === "Stable"
    ) {
      return (value) => value.commitTimestamp; // Only unsubscribed topics get here.
    }
    return null;
  }

  /** The earliest time {@link tick} has work to do, or null when nothing is scheduled. */
  nextDeadlineMs(): number | null {
    let earliest = this.#nextOffsetsExpiryMs;
    const consider = (ms: number | null) => {
      if (ms !== null && (earliest === null || ms < earliest)) earliest = ms;
    };
    for (const group of this.#groups.values()) {
      for (const deadlineMs of group.pendingMembers.values()) consider(deadlineMs);
      for (const member of group.members.values()) {
        const parked = member.awaitingJoin !== null || member.awaitingSync !== null;
        if (!parked || member.isNew) consider(member.heartbeatDeadlineMs);
      }
      consider(group.joinTimer?.deadlineMs ?? null);
      consider(group.syncDeadlineMs);
    }
    consider(this.#consumer.nextDeadlineMs());
    return earliest;
  }

  // ---------------------------------------------------------------- load / unload

  /**
   * Rebuilds groups and offsets from `__consumer_offsets` records, in log order (as when this
   * broker becomes leader of the partition). Groups with members load as Stable and their members
   * get a fresh session, so members that are gone expire through {@link tick}.
   */
  load(records: Iterable<GroupRecord>, nowMs: number): void {
    this.#begin(nowMs);
    const touched = new Set<string>();
    const groupOf = (groupId: string) => {
      let group = this.#groups.get(groupId);
      if (group === undefined) {
        group = new ClassicGroup<H>(groupId, this.#nowMs);
        this.#groups.set(groupId, group);
      }
      touched.add(groupId);
      return group;
    };
    for (const record of records) {
      if (record.type === "offsetCommit") {
        const { group, topic, partition } = record.key;
        if (record.value !== null) groupOf(group).setOffset(topic, partition, record.value);
        else this.#groups.get(group)?.deleteOffset(topic, partition);
      } else if (record.type !== "groupMetadata") {
        this.#consumer.load(record);
      } else if (record.value === null) {
        const old = this.#groups.get(record.key.group);
        this.#groups.delete(record.key.group);
        touched.delete(record.key.group);
        if (old !== undefined && old.offsetCount() > 0) {
          // The group became a consumer group (KIP-848) and kept its offsets.
          const kept = groupOf(record.key.group);
          for (const [topic, partitions] of old.offsets) {
            for (const [partition, value] of partitions) kept.setOffset(topic, partition, value);
          }
        }
      } else {
        this.#loadGroupMetadata(groupOf(record.key.group), record.value);
      }
    }
    this.#consumer.finishLoad(this.#nowMs);
    for (const consumerGroup of this.#consumer.groups.values()) {
      // Offsets replay into a placeholder classic group; they belong to the consumer group.
      const placeholder = this.#groups.get(consumerGroup.groupId);
      if (placeholder === undefined) continue;
      for (const [topic, partitions] of placeholder.offsets) {
        for (const [partition, value] of partitions) {
          consumerGroup.setOffset(topic, partition, value);
        }
      }
      this.#groups.delete(consumerGroup.groupId);
      touched.delete(consumerGroup.groupId);
    }
    for (const groupId of touched) {
      const group = this.#groups.get(groupId)!;
      for (const member of group.members.values()) this.#rescheduleHeartbeat(member);
      if (group.members.size > this.config.groupMaxSize) this.#prepareRebalance(group);
    }
    assert(this.#end().length === 0, "Loading must not produce effects.");
  }

  #loadGroupMetadata(group: ClassicGroup<H>, value: GroupMetadataValue): void {
    group.members.clear();
    group.staticMembers.clear();
    group.pendingMembers.clear();
    group.pendingSyncMembers.clear();
    group.leaderId = null;
    group.joinTimer = null;
    group.syncDeadlineMs = null;
    group.protocolType = value.protocolType === "" ? null : value.protocolType;
    for (const m of value.members) {
      group.add({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeout === -1 ? m.sessionTimeout : m.rebalanceTimeout,
        sessionTimeoutMs: m.sessionTimeout,
        protocolType: value.protocolType,
        protocols: [{ name: value.protocol ?? "", metadata: m.subscription }],
        assignment: m.assignment,
        awaitingJoin: null,
        awaitingSync: null,
        isNew: false,
        heartbeatDeadlineMs: this.#nowMs + m.sessionTimeout,
      });
    }
    group.generationId = value.generation;
    group.protocolName = value.protocol;
    group.leaderId = value.leader;
    group.state = value.members.length > 0 ? "Stable" : "Empty";
    group.previousState = group.state;
    group.currentStateTimestampMs = value.currentStateTimestamp;
    group.subscribedTopics = group.computeSubscribedTopics();
  }

  /**
   * Gives up the given groups (or all) when this broker stops coordinating them: parked requests
   * are answered NOT_COORDINATOR. Call it after the in-flight appends have been completed or failed.
   */
  unload(groupIds?: Iterable<string>): GroupEffect<H>[] {
    this.#begin(this.#nowMs);
    const ids = groupIds === undefined
      ? [...this.#groups.keys(), ...this.#consumer.groups.keys()]
      : [...groupIds];
    for (const groupId of ids) {
      this.#consumer.groups.delete(groupId);
      const group = this.#groups.get(groupId);
      if (group === undefined) continue;
      for (const member of group.members.values()) {
        this.#completeJoin(member, joinError(member.memberId, GroupErrorCode.NOT_COORDINATOR));
        this.#completeSync(member, syncError(GroupErrorCode.NOT_COORDINATOR));
      }
      this.#groups.delete(groupId);
    }
    return this.#end();
  }

  // ---------------------------------------------------------------- inspection

  /** Read-only view of a group for tests, metrics and the simulator. */
  group(groupId: string): GroupView | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      groupId,
      state: group.state,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        assignment: m.assignment,
        awaitingJoin: m.awaitingJoin !== null,
        awaitingSync: m.awaitingSync !== null,
      })),
      pendingMemberIds: [...group.pendingMembers.keys()],
      offsetCount: group.offsetCount(),
    };
  }

  /** Ids of the groups this coordinator holds, in creation order. */
  groupIds(): string[] {
    return [...this.#groups.keys(), ...this.#consumer.groups.keys()];
  }
}

/** A snapshot of one group, returned by {@link GroupCoordinator.group}. */
export interface GroupView {
  groupId: string;
  state: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    assignment: Uint8Array;
    awaitingJoin: boolean;
    awaitingSync: boolean;
  }[];
  pendingMemberIds: string[];
  offsetCount: number;
}
