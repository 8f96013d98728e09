/**
 * The broker's group coordination: one core {@link GroupCoordinator} per `__consumer_offsets`
 * partition this broker leads, fed by the request handlers and persisted through a
 * {@link GroupLogStore}.
 *
 * - Leadership of a partition (reported by the store) creates its coordinator in the loading
 *   state: the partition is read from offset 0 to its high watermark and the records replayed with
 *   `load`. Meanwhile requests for its groups get COORDINATOR_LOAD_IN_PROGRESS (Heartbeat gets
 *   NONE, as Kafka's classic coordinator answers "blindly" while loading).
 * - Losing leadership drops the coordinator: parked requests are answered NOT_COORDINATOR.
 * - `append` effects become one v2 batch each, appended in issue order; `appendComplete` is called
 *   in the same order when the store settles them. `respond` effects resolve parked requests.
 * - One timer drives `tick` at the earliest `nextDeadlineMs()` of all coordinators.
 * - FindCoordinator creates `__consumer_offsets` through the controller on first use.
 *
 * Group -> partition is Kafka's `Utils.abs(groupId.hashCode()) % partitionCount`, with Java's
 * UTF-16 `String.hashCode` and the partition count of the existing topic (else
 * `offsets.topic.num.partitions`).
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { GroupCoordinator } from "../core/group/group_coordinator.ts";
import { randomMemberIdGenerator } from "../core/group/member_id.ts";
import type {
  ConsumerGroupDescribedGroup,
  ConsumerGroupHeartbeatInput,
  ConsumerGroupHeartbeatResult,
  DeleteGroupsResult,
  DescribedGroup,
  GroupCoordinatorConfig,
  GroupEffect,
  GroupRecord,
  GroupResponse,
  HeartbeatInput,
  HeartbeatResult,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupInput,
  LeaveGroupResult,
  ListedGroup,
  ListGroupsInput,
  ListGroupsResult,
  OffsetCommitInput,
  OffsetCommitResult,
  OffsetDeleteInput,
  OffsetDeleteResult,
  OffsetFetchInput,
  OffsetFetchResult,
  SyncGroupInput,
  SyncGroupResult,
  TopicMetadataLookup,
  TxnOffsetCommitInput,
} from "../core/group/types.ts";
import { type Random, SeededRandom } from "../core/random.ts";
import type { Dispatcher } from "../net/dispatcher.ts";
import { registerFindCoordinator } from "../net/handlers/find_coordinator.ts";
import {
  CoordinatorKeyType,
  type CoordinatorLocation,
  type GroupService,
} from "../net/handlers/group_service.ts";
import { registerGroupHandlers } from "../net/handlers/groups.ts";
import {
  type ConsumerGroupService,
  registerConsumerGroupHandlers,
} from "../net/handlers/consumer_group.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { BrokerContext } from "./broker_context.ts";
import { decodeGroupRecordBatches, encodeGroupRecordBatch } from "./group_records.ts";
import { GroupLoadLog } from "./group_load_log.ts";

/** The internal topic holding offsets and group metadata. */
export const OFFSETS_TOPIC = "__consumer_offsets";

/**
 * What the group manager needs from the `__consumer_offsets` partition logs. The broker adapts
 * its replica manager to this; tests use {@link MemoryGroupLogStore} from
 * `group_memory_log_store.ts`.
 */
export interface GroupLogStore {
  /**
   * Appends one batch (base offset 0; the log assigns offsets) as leader and resolves once it is
   * committed (replicated to the ISR, high watermark past it). Rejects, preferably with a
   * `KafkaError` carrying NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, ..., when it cannot be.
   * Appends to one partition settle in the order they were issued.
   */
  append(partition: number, batch: Uint8Array): Promise<void>;
  /**
   * Reads whole batches starting with the one holding `fromOffset` (or the first one after it,
   * e.g. after compaction or below the log start offset), up to about `maxBytes` but always at
   * least one whole batch when there is one, and the partition's current high watermark.
   */
  read(
    partition: number,
    fromOffset: number,
    maxBytes: number,
  ): Promise<{ records: Uint8Array; highWatermark: number }>;
  /**
   * Registers a listener for leadership of `__consumer_offsets` partitions. Partitions already
   * led when the listener is registered must be reported too (or listed by `ledPartitions`).
   */
  onLeaderChange(listener: (partition: number, isLeader: boolean) => void): void;
  /** Optional: the partitions this broker leads right now, loaded by `start()`. */
  ledPartitions?(): Iterable<number>;
}

/** Options for {@link GroupManager}; production uses the defaults. */
export interface GroupManagerOptions extends CoordinatorLoadOptions {
  /** The clock (default `Date.now`). */
  nowMs?: () => number;
  /** Source of member ids (default seeded from the OS). */
  random?: Random;
}

const EMPTY_BYTES = new Uint8Array(0);

import { type CoordinatorLoadOptions, CoordinatorRuntime } from "./coordinator_runtime.ts";
export { javaStringHashCode, partitionForGroup } from "./coordinator_runtime.ts";

/** A parked request: the coordinator answers it with a `respond` effect, or we fail it. */
interface Pending {
  settle(response: GroupResponse): void;
  fail(errorCode: number): void;
}

/** The result type each parkable api answers with. */
interface ResponseByApi {
  TxnOffsetCommit: OffsetCommitResult;
  JoinGroup: JoinGroupResult;
  SyncGroup: SyncGroupResult;
  LeaveGroup: LeaveGroupResult;
  OffsetCommit: OffsetCommitResult;
  OffsetDelete: OffsetDeleteResult;
  DeleteGroups: DeleteGroupsResult;
  ConsumerGroupHeartbeat: ConsumerGroupHeartbeatResult;
}

type ResponseOf<A extends GroupResponse["api"]> = ResponseByApi[A];

/** One `__consumer_offsets` partition this broker leads. */
interface Slot {
  readonly partition: number;
  state: "loading" | "active" | "dropped";
  readonly coordinator: GroupCoordinator<Pending>;
  /** Settles appends in issue order. */
  appendChain: Promise<void>;
  readonly pending: Set<Pending>;
}

type Route = { slot: Slot; errorCode: 0 } | { slot: null; errorCode: number };

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

function commitError(input: OffsetCommitInput, errorCode: number): OffsetCommitResult {
  return {
    topics: input.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    })),
  };
}

function describeError(groupId: string, errorCode: number): DescribedGroup {
  return { errorCode, groupId, groupState: "", protocolType: "", protocolData: "", members: [] };
}

function osSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/**
 * Runs the group coordinators of the `__consumer_offsets` partitions this broker leads and serves
 * the group APIs and FindCoordinator.
 *
 * @example
 * ```ts ignore
 * const groups = new GroupManager(ctx, replicaManagerAsGroupLogStore);
 * groups.registerHandlers(dispatcher);
 * groups.start();
 * // ... on shutdown:
 * groups.close();
 * ```
 */
export class GroupManager implements GroupService, ConsumerGroupService {
  readonly #ctx: BrokerContext;
  readonly #store: GroupLogStore;
  readonly #nowMs: () => number;
  readonly #config: Partial<GroupCoordinatorConfig>;
  readonly #generateMemberId: ReturnType<typeof randomMemberIdGenerator>;
  /** Slots, loading, the deadline timer and routing, shared with the transaction coordinator. */
  readonly #runtime: CoordinatorRuntime<GroupEffect<Pending>, GroupCoordinator<Pending>, Slot>;
  /** One INFO line per burst of partition loads or unloads, not one per partition. */
  readonly #loadLog: GroupLoadLog;

  constructor(ctx: BrokerContext, store: GroupLogStore, options: GroupManagerOptions = {}) {
    this.#ctx = ctx;
    this.#loadLog = new GroupLoadLog(ctx.logger, OFFSETS_TOPIC);
    this.#store = store;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#generateMemberId = randomMemberIdGenerator(options.random ?? new SeededRandom(osSeed()));
    this.#runtime = new CoordinatorRuntime({
      loadReadBytes: options.loadReadBytes,
      loadRetryBackoffMs: options.loadRetryBackoffMs,
      loadAttemptsMax: options.loadAttemptsMax,
      topic: OFFSETS_TOPIC,
      broker: ctx,
      nowMs: this.#nowMs,
      partitionCount: () => this.#partitionCount(),
      runEffects: (slot, effects) => this.#runEffects(slot, effects),
    });
    const c = ctx.config;
    this.#config = {
      groupMinSessionTimeoutMs: c.groupMinSessionTimeoutMs,
      groupMaxSessionTimeoutMs: c.groupMaxSessionTimeoutMs,
      groupInitialRebalanceDelayMs: c.groupInitialRebalanceDelayMs,
      groupMaxSize: c.groupMaxSize,
      offsetsRetentionMinutes: c.offsetsRetentionMs / 60_000,
      offsetsRetentionCheckIntervalMs: c.offsetsRetentionCheckIntervalMs,
      offsetMetadataMaxBytes: c.offsetMetadataMaxBytes,
      consumerGroupSessionTimeoutMs: c.consumerGroupSessionTimeoutMs,
      consumerGroupHeartbeatIntervalMs: c.consumerGroupHeartbeatIntervalMs,
      consumerGroupMaxSize: c.consumerGroupMaxSize,
      consumerGroupMigrationPolicy: c.consumerGroupMigrationPolicy,
    };
  }

  /** The KIP-848 assignors read topics from the current metadata image. */
  readonly #topics: TopicMetadataLookup = {
    byName: (name) => {
      const topic = this.#ctx.metadata.image.topics.byName.get(name);
      return topic === undefined
        ? undefined
        : { topicId: topic.id, numPartitions: topic.partitions.size };
    },
    byId: (topicId) => {
      const topic = this.#ctx.metadata.image.topics.byId.get(topicId);
      return topic === undefined
        ? undefined
        : { name: topic.name, numPartitions: topic.partitions.size };
    },
    // The image replaces this map whenever a topic is created or deleted.
    topicNames: () => this.#ctx.metadata.image.topics.byName,
  };

  /** Starts following leadership of `__consumer_offsets` partitions. */
  start(): void {
    const first = this.#runtime.start();
    assert(first, "GroupManager.start() was called twice.");
    this.#store.onLeaderChange((partition, isLeader) => {
      if (isLeader) this.#becomeLeader(partition);
      else this.#resign(partition);
    });
    for (const partition of this.#store.ledPartitions?.() ?? []) this.#becomeLeader(partition);
  }

  /** Drops every coordinator (parked requests get NOT_COORDINATOR) and stops the timers. */
  close(): void {
    if (!this.#runtime.close()) return;
    for (const partition of [...this.#runtime.slots.keys()]) this.#resign(partition);
    this.#loadLog.flush();
  }

  /** Registers FindCoordinator and the group APIs (versions in `GROUP_API_VERSIONS`). */
  registerHandlers(dispatcher: Dispatcher): void {
    registerFindCoordinator(dispatcher, this);
    registerGroupHandlers(dispatcher, this);
    registerConsumerGroupHandlers(dispatcher, this);
  }

  /** The partitions whose coordinator is loaded (`active`) or loading, for tests and metrics. */
  partitionStates(): Map<number, "loading" | "active"> {
    return this.#runtime.partitionStates();
  }

  // ---------------------------------------------------------------- leadership

  #becomeLeader(partition: number): void {
    if (this.#runtime.closed || this.#runtime.slots.has(partition)) return;
    const slot: Slot = {
      partition,
      state: "loading",
      coordinator: new GroupCoordinator<Pending>({
        generateMemberId: this.#generateMemberId,
        config: this.#config,
        topics: this.#topics,
      }),
      appendChain: Promise.resolve(),
      pending: new Set(),
    };
    this.#runtime.slots.set(partition, slot);
    this.#ctx.logger.debug(`Loading groups of ${OFFSETS_TOPIC}-${partition}`);
    const startedMs = this.#nowMs();
    void this.#runtime.load(slot, {
      read: async (s) => {
        // Offsets of transactions not yet ended when the read reached them; fresh per attempt.
        const openTransactions = new Map<bigint, GroupRecord[]>();
        const records = await this.#runtime.readPartition(
          s,
          (partition, offset, maxBytes) => this.#store.read(partition, offset, maxBytes),
          (chunk, offset) =>
            decodeGroupRecordBatches(chunk.records, offset, chunk.highWatermark, openTransactions),
        );
        return { records, openTransactions };
      },
      onLoaded: (s, loaded) => this.#loaded(s, loaded.records, loaded.openTransactions, startedMs),
      giveUp: (partition) => this.#resign(partition),
    });
  }

  #loaded(
    slot: Slot,
    records: GroupRecord[],
    openTransactions: Map<bigint, GroupRecord[]>,
    startedMs: number,
  ): void {
    slot.coordinator.load(records, this.#nowMs());
    for (const [producerId, pending] of openTransactions) {
      slot.coordinator.loadPendingTxnOffsets(producerId, pending);
    }
    slot.state = "active";
    this.#loadLog.loaded({
      partition: slot.partition,
      groups: slot.coordinator.groupIds().length,
      records: records.length,
      elapsedMs: this.#nowMs() - startedMs,
    });
    this.#runtime.scheduleTick();
  }

  #resign(partition: number): void {
    const slot = this.#runtime.slots.get(partition);
    if (slot === undefined) return;
    this.#runtime.slots.delete(partition);
    const wasActive = slot.state === "active";
    slot.state = "dropped";
    if (wasActive) {
      this.#runEffects(slot, slot.coordinator.unload());
      this.#loadLog.unloaded(partition);
    }
    for (const pending of [...slot.pending]) pending.fail(ErrorCode.NOT_COORDINATOR);
    this.#runtime.scheduleTick();
  }

  // ---------------------------------------------------------------- effects and time

  #runEffects(slot: Slot, effects: GroupEffect<Pending>[]): void {
    for (const effect of effects) {
      if (effect.type === "respond") {
        effect.handle.settle({ api: effect.api, response: effect.response } as GroupResponse);
      } else {
        this.#append(slot, effect.appendId, effect.records, effect.transactional);
      }
    }
    this.#runtime.scheduleTick();
  }

  #append(
    slot: Slot,
    appendId: number,
    records: GroupRecord[],
    transactional?: { producerId: bigint; producerEpoch: number },
  ): void {
    // A dropped coordinator is never asked again; whatever waited on it was answered.
    if (slot.state !== "active") return;
    let appended: Promise<number>;
    try {
      const batch = encodeGroupRecordBatch(records, this.#nowMs(), transactional);
      appended = this.#store.append(slot.partition, batch).then(
        () => ErrorCode.NONE,
        (error) => this.#appendErrorCode(slot.partition, error),
      );
    } catch (error) {
      appended = Promise.resolve(this.#appendErrorCode(slot.partition, error));
    }
    slot.appendChain = slot.appendChain
      .then(() => appended)
      .then((errorCode) => {
        this.#runEffects(slot, slot.coordinator.appendComplete(appendId, this.#nowMs(), errorCode));
      })
      .catch((error) => {
        this.#ctx.logger.error(
          `The coordinator of ${OFFSETS_TOPIC}-${slot.partition} broke an invariant: ${
            (error as Error).stack ?? error
          }`,
        );
        // Crash loudly: a broken invariant must not be papered over.
        queueMicrotask(() => {
          throw error;
        });
      });
  }

  #appendErrorCode(partition: number, error: unknown): number {
    if (error instanceof KafkaError) return error.code;
    this.#ctx.logger.error(
      `Appending to ${OFFSETS_TOPIC}-${partition} failed: ${(error as Error).stack ?? error}`,
    );
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /** Fires every coordinator timer that is due (the timer calls this; tests may too). */
  tick(): void {
    this.#runtime.tick();
  }

  // ---------------------------------------------------------------- routing

  #partitionCount(): number {
    const topic = this.#ctx.metadata.image.topics.byName.get(OFFSETS_TOPIC);
    const count = topic?.partitions.size ?? 0;
    return count > 0 ? count : this.#ctx.config.offsetsTopicNumPartitions;
  }

  /** The `__consumer_offsets` partition of `groupId`. */
  partitionFor(groupId: string): number {
    return this.#runtime.partitionFor(groupId);
  }

  #route(groupId: string): Route {
    return this.#runtime.route(groupId);
  }

  /** Parks a request on `slot` until the coordinator answers it or the slot is dropped. */
  #park<A extends GroupResponse["api"]>(
    slot: Slot,
    api: A,
    start: (handle: Pending) => GroupEffect<Pending>[],
    failWith: (errorCode: number) => ResponseOf<A>,
  ): Promise<ResponseOf<A>> {
    return new Promise<ResponseOf<A>>((resolve) => {
      let settled = false;
      const pending: Pending = {
        settle: (response) => {
          if (settled) return;
          assert(response.api === api, `A ${api} request was answered with ${response.api}.`);
          settled = true;
          slot.pending.delete(pending);
          resolve(response.response as ResponseOf<A>);
        },
        fail: (errorCode) => {
          if (settled) return;
          settled = true;
          slot.pending.delete(pending);
          resolve(failWith(errorCode));
        },
      };
      slot.pending.add(pending);
      this.#runEffects(slot, start(pending));
    });
  }

  // ---------------------------------------------------------------- GroupService

  findCoordinator(keyType: number, key: string, listenerName: string): CoordinatorLocation {
    const fail = (errorCode: number, errorMessage: string | null = null): CoordinatorLocation => ({
      errorCode,
      errorMessage,
      nodeId: -1,
      host: "",
      port: -1,
    });
    if (keyType === CoordinatorKeyType.TRANSACTION) {
      // Only reached when no transaction coordinator is wired (the broker's FindCoordinator sends
      // transactional ids to node/txn_manager.ts): naming this broker lets InitProducerId answer.
      const self = this.#ctx.metadata.image.cluster.brokers.get(this.#ctx.nodeId);
      const endpoint = self?.endpoints.find((e) => e.name === listenerName) ?? self?.endpoints[0];
      if (endpoint === undefined) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        nodeId: this.#ctx.nodeId,
        host: endpoint.host,
        port: endpoint.port,
      };
    }
    if (keyType !== CoordinatorKeyType.GROUP) {
      return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}.`);
    }
    return this.#runtime.locate(key, listenerName, () => this.#ensureOffsetsTopic());
  }

  /** Asks the controller to create `__consumer_offsets` (Kafka's configs for it). */
  #ensureOffsetsTopic(): void {
    const c = this.#ctx.config;
    this.#runtime.topicCreation.ensure({
      numPartitions: c.offsetsTopicNumPartitions,
      replicationFactor: c.offsetsTopicReplicationFactor,
      replicationFactorKey: "offsets.topic.replication.factor",
      configs: {
        "cleanup.policy": "compact",
        "compression.type": "producer",
        "segment.bytes": String(c.offsetsTopicSegmentBytes),
      },
    });
  }

  /** Resolves when a creation of `__consumer_offsets` started by FindCoordinator has settled. */
  offsetsTopicCreation(): Promise<void> {
    return this.#runtime.topicCreation.settled();
  }

  topicExists(name: string): boolean {
    return this.#ctx.metadata.image.topics.byName.has(name);
  }

  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    const route = this.#route(input.groupId);
    if (route.slot === null) return Promise.resolve(joinError(input.memberId, route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "JoinGroup",
      (handle) => coordinator.joinGroup(handle, input, this.#nowMs()),
      (errorCode) => joinError(input.memberId, errorCode),
    );
  }

  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    const route = this.#route(input.groupId);
    if (route.slot === null) return Promise.resolve(syncError(route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "SyncGroup",
      (handle) => coordinator.syncGroup(handle, input, this.#nowMs()),
      syncError,
    );
  }

  heartbeat(input: HeartbeatInput): HeartbeatResult {
    const route = this.#route(input.groupId);
    if (route.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      // Kafka's classic coordinator: "the group is still loading, so respond just blindly".
      return { errorCode: ErrorCode.NONE };
    }
    if (route.slot === null) return { errorCode: route.errorCode };
    return route.slot.coordinator.heartbeat(input, this.#nowMs());
  }

  leaveGroup(input: LeaveGroupInput): Promise<LeaveGroupResult> {
    const route = this.#route(input.groupId);
    const failWith = (errorCode: number): LeaveGroupResult => ({ errorCode, members: [] });
    if (route.slot === null) return Promise.resolve(failWith(route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "LeaveGroup",
      (handle) => coordinator.leaveGroup(handle, input, this.#nowMs()),
      failWith,
    );
  }

  offsetCommit(input: OffsetCommitInput): Promise<OffsetCommitResult> {
    const route = this.#route(input.groupId);
    if (route.slot === null) return Promise.resolve(commitError(input, route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "OffsetCommit",
      (handle) => coordinator.offsetCommit(handle, input, this.#nowMs()),
      (errorCode) => commitError(input, errorCode),
    );
  }

  /** TxnOffsetCommit: offsets held pending until the producer's transaction marker. */
  txnOffsetCommit(input: TxnOffsetCommitInput): Promise<OffsetCommitResult> {
    const failWith = (errorCode: number) =>
      commitError(
        { ...input, apiVersion: 0, generationIdOrMemberEpoch: -1, retentionTimeMs: -1 },
        errorCode,
      );
    const route = this.#route(input.groupId);
    if (route.slot === null) return Promise.resolve(failWith(route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "TxnOffsetCommit",
      (handle) => coordinator.txnOffsetCommit(handle, input, this.#nowMs()),
      failWith,
    );
  }

  /**
   * A transaction marker of `producerId` was written to `__consumer_offsets-partition`: its
   * pending transactional offsets become committed (or are dropped). A partition still loading
   * reads the marker from the log instead.
   */
  completeTransaction(partition: number, producerId: bigint, committed: boolean): void {
    const slot = this.#runtime.slots.get(partition);
    if (slot === undefined || slot.state !== "active") return;
    this.#runEffects(
      slot,
      slot.coordinator.completeTransaction(producerId, committed, this.#nowMs()),
    );
  }

  offsetFetch(input: OffsetFetchInput): OffsetFetchResult {
    const route = this.#route(input.groupId);
    if (route.slot === null) {
      return { groupId: input.groupId, errorCode: route.errorCode, topics: [] };
    }
    return route.slot.coordinator.offsetFetch(input);
  }

  offsetDelete(input: OffsetDeleteInput): Promise<OffsetDeleteResult> {
    const route = this.#route(input.groupId);
    const failWith = (errorCode: number): OffsetDeleteResult => ({ errorCode, topics: [] });
    if (route.slot === null) return Promise.resolve(failWith(route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "OffsetDelete",
      (handle) => coordinator.offsetDelete(handle, input, this.#nowMs()),
      failWith,
    );
  }

  consumerGroupHeartbeat(
    input: ConsumerGroupHeartbeatInput,
  ): Promise<ConsumerGroupHeartbeatResult> {
    const failWith = (errorCode: number): ConsumerGroupHeartbeatResult => ({
      errorCode,
      errorMessage: null,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    const route = this.#route(input.groupId);
    if (route.slot === null) return Promise.resolve(failWith(route.errorCode));
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      "ConsumerGroupHeartbeat",
      (handle) => coordinator.consumerGroupHeartbeat(handle, input, this.#nowMs()),
      failWith,
    );
  }

  consumerGroupDescribe(groupIds: string[]): ConsumerGroupDescribedGroup[] {
    return groupIds.map((groupId) => {
      const route = this.#route(groupId);
      if (route.slot === null) {
        return {
          errorCode: route.errorCode,
          errorMessage: null,
          groupId,
          groupState: "",
          groupEpoch: 0,
          assignmentEpoch: 0,
          assignorName: "",
          members: [],
        };
      }
      return route.slot.coordinator.consumerGroupDescribe([groupId])[0]!;
    });
  }

  listGroups(input: ListGroupsInput): ListGroupsResult {
    if (this.#runtime.closed || !this.#runtime.started) {
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    }
    let errorCode: number = ErrorCode.NONE;
    const groups: ListedGroup[] = [];
    for (const slot of this.#runtime.slots.values()) {
      if (slot.state === "loading") errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (slot.state === "active") groups.push(...slot.coordinator.listGroups(input).groups);
    }
    return { errorCode, groups };
  }

  describeGroups(groupIds: string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const route = this.#route(groupId);
      if (route.slot === null) return describeError(groupId, route.errorCode);
      return route.slot.coordinator.describeGroups([groupId])[0]!;
    });
  }

  async deleteGroups(groupIds: string[]): Promise<DeleteGroupsResult> {
    const errors = new Map<string, number>();
    const bySlot = new Map<Slot, string[]>();
    for (const groupId of groupIds) {
      const route = this.#route(groupId);
      if (route.slot === null) {
        errors.set(groupId, route.errorCode);
        continue;
      }
      const ids = bySlot.get(route.slot) ?? [];
      ids.push(groupId);
      bySlot.set(route.slot, ids);
    }
    const answers = await Promise.all(
      [...bySlot].map(([slot, ids]) =>
        this.#park(
          slot,
          "DeleteGroups",
          (handle) => slot.coordinator.deleteGroups(handle, ids, this.#nowMs()),
          (errorCode) => ({ results: ids.map((groupId) => ({ groupId, errorCode })) }),
        )
      ),
    );
    for (const answer of answers) {
      for (const r of answer.results) errors.set(r.groupId, r.errorCode);
    }
    return {
      results: groupIds.map((groupId) => ({
        groupId,
        errorCode: errors.get(groupId) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
      })),
    };
  }
}
