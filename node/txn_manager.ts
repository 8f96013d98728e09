/**
 * The broker's transaction coordination: one core {@link TransactionCoordinator} per
 * `__transaction_state` partition this broker leads, fed by the request handlers, persisted
 * through a {@link TxnLogStore}, its markers delivered by a {@link TxnMarkerChannel}.
 *
 * - Leadership of a partition creates its coordinator in the loading state: the partition is read
 *   from offset 0 to its high watermark and replayed with `load`, which resends the markers of
 *   every prepared transaction (a failover between PrepareCommit and CompleteCommit finishes the
 *   commit). Meanwhile requests for its ids get COORDINATOR_LOAD_IN_PROGRESS.
 * - Losing leadership drops the coordinator: parked requests are answered NOT_COORDINATOR and its
 *   marker jobs stop.
 * - `append` effects become one v2 batch each (appended in issue order), `sendMarkers` a marker
 *   job tagged with the partition's leader epoch (the coordinator epoch), whose completion is
 *   reported with `markersWritten`.
 * - One timer drives `tick` (transaction timeouts, id expiration) at the earliest deadline.
 * - FindCoordinator for a transactional id creates `__transaction_state` through the controller
 *   on first use, with `transaction.state.log.num.partitions` partitions and
 *   `transaction.state.log.replication.factor` replicas, not before that many brokers are live
 *   (COORDINATOR_NOT_AVAILABLE meanwhile, as Kafka).
 *
 * Transactional id -> partition is Kafka's `Utils.abs(transactionalId.hashCode()) % partitions`.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { TransactionCoordinator } from "../core/txn/transaction_coordinator.ts";
import { TxnState } from "../core/txn/types.ts";
import type {
  MarkerRequest,
  TxnCoordinatorConfig,
  TxnEffect,
  TxnLogRecord,
  TxnResponse,
  TxnView,
} from "../core/txn/types.ts";
import type { Dispatcher } from "../net/dispatcher.ts";
import type { CoordinatorLocation, GroupService } from "../net/handlers/group_service.ts";
import { registerFindCoordinator } from "../net/handlers/find_coordinator.ts";
import { initProducerIdHandler } from "../net/handlers/init_producer_id.ts";
import type { ReplicaAccess } from "../net/handlers/replica_access.ts";
import type {
  TransactionService,
  TxnPartitionErrors,
  TxnPartitions,
} from "../net/handlers/transaction_service.ts";
import {
  registerTransactionHandlers,
  txnOffsetCommitHandler,
  type TxnOffsetCommitService,
} from "../net/handlers/transactions.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { BrokerContext } from "./broker_context.ts";
import { type CoordinatorLoadOptions, CoordinatorRuntime } from "./coordinator_runtime.ts";
import { TxnMarkerChannel } from "./txn_marker_channel.ts";
import { decodeTxnRecordBatches, encodeTxnRecordBatch } from "./txn_records.ts";

/** The internal topic holding transaction state. */
export const TRANSACTION_STATE_TOPIC = "__transaction_state";

/** What the transaction manager needs from the `__transaction_state` partition logs. */
export interface TxnLogStore {
  /** Appends one batch as leader; resolves once committed, rejects (KafkaError) otherwise. */
  append(partition: number, batch: Uint8Array): Promise<void>;
  /** Reads whole batches from `fromOffset`, and the high watermark. */
  read(
    partition: number,
    fromOffset: number,
    maxBytes: number,
  ): Promise<{ records: Uint8Array; highWatermark: number }>;
  /** Registers a listener for leadership of `__transaction_state` partitions. */
  onLeaderChange(listener: (partition: number, isLeader: boolean) => void): void;
  /** The partitions this broker leads right now. */
  ledPartitions(): Iterable<number>;
  /** The leader epoch of a partition this broker leads (the coordinator epoch), or -1. */
  leaderEpoch(partition: number): number;
}

/** What the manager needs from the rest of the broker. */
export interface TxnManagerDeps {
  /** A fresh producer id (the controller's AllocateProducerIds block); throws KafkaError. */
  allocateProducerId(): Promise<bigint>;
  /** The `__consumer_offsets` partition of a group (AddOffsetsToTxn). */
  offsetsPartitionFor(groupId: string): number;
}

/** Options for {@link TxnManager}; production uses the defaults. */
export interface TxnManagerOptions extends CoordinatorLoadOptions {
  nowMs?: () => number;
  /** Delivers markers (default: a {@link TxnMarkerChannel} on the inter-broker listener). */
  markers?: Pick<TxnMarkerChannel, "send" | "close">;
}

const OFFSETS_TOPIC = "__consumer_offsets";

/** A parked request: the coordinator answers it with a `respond` effect. */
interface Pending {
  settle(response: TxnResponse): void;
}

interface Slot {
  readonly partition: number;
  state: "loading" | "active" | "dropped";
  readonly coordinator: TransactionCoordinator<Pending>;
  appendChain: Promise<void>;
  readonly pending: Set<Pending>;
  readonly markerJobs: Set<{ cancel(): void }>;
}

type Route = { slot: Slot; errorCode: 0 } | { slot: null; errorCode: number };

type Timer = ReturnType<typeof setTimeout>;

function numberValue(ctx: BrokerContext, key: string, fallback: number): number {
  const v = ctx.config.values.get(key);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}

const failed = (errorCode: number): TxnResponse => ({
  errorCode,
  producerId: -1n,
  producerEpoch: -1,
});

/**
 * Runs the transaction coordinators of the `__transaction_state` partitions this broker leads.
 *
 * @example
 * ```ts ignore
 * const txns = new TxnManager(ctx, txnStateLogStore(replicas), {
 *   allocateProducerId: () => replicas.allocateProducerId(),
 *   offsetsPartitionFor: (groupId) => groups.partitionFor(groupId),
 * });
 * txns.registerHandlers(dispatcher, { groups, replicas });
 * txns.start();
 * ```
 */
export class TxnManager implements TransactionService {
  readonly #ctx: BrokerContext;
  readonly #store: TxnLogStore;
  readonly #deps: TxnManagerDeps;
  readonly #nowMs: () => number;
  readonly #config: Partial<TxnCoordinatorConfig>;
  readonly #markers: Pick<TxnMarkerChannel, "send" | "close">;
  /** Slots, loading, the deadline timer and routing, shared with the group coordinator. */
  readonly #runtime: CoordinatorRuntime<TxnEffect<Pending>, TransactionCoordinator<Pending>, Slot>;

  constructor(
    ctx: BrokerContext,
    store: TxnLogStore,
    deps: TxnManagerDeps,
    options: TxnManagerOptions = {},
  ) {
    this.#ctx = ctx;
    this.#store = store;
    this.#deps = deps;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#runtime = new CoordinatorRuntime({
      loadReadBytes: options.loadReadBytes,
      loadRetryBackoffMs: options.loadRetryBackoffMs,
      loadAttemptsMax: options.loadAttemptsMax,
      topic: TRANSACTION_STATE_TOPIC,
      broker: ctx,
      nowMs: this.#nowMs,
      partitionCount: () => this.#partitionCount(),
      runEffects: (slot, effects) => this.#runEffects(slot, effects),
    });
    this.#markers = options.markers ?? new TxnMarkerChannel(ctx);
    this.#config = {
      transactionMaxTimeoutMs: numberValue(ctx, "transaction.max.timeout.ms", 900_000),
      transactionalIdExpirationMs: numberValue(ctx, "transactional.id.expiration.ms", 604_800_000),
    };
  }

  /**
   * Registers AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit (served by the
   * group coordinator), and replaces FindCoordinator and
   * InitProducerId with versions that send transactional ids here.
   */
  registerHandlers(
    dispatcher: Dispatcher,
    others: { groups: GroupService & TxnOffsetCommitService; replicas: ReplicaAccess },
  ): void {
    registerTransactionHandlers(dispatcher, this);
    dispatcher.register(ApiKey.TXN_OFFSET_COMMIT, txnOffsetCommitHandler(others.groups));
    registerFindCoordinator(dispatcher, others.groups, this);
    dispatcher.register(ApiKey.INIT_PRODUCER_ID, initProducerIdHandler(others.replicas, this));
  }

  /** Starts following leadership of `__transaction_state` partitions. */
  start(): void {
    const first = this.#runtime.start();
    assert(first, "TxnManager.start() was called twice.");
    this.#store.onLeaderChange((partition, isLeader) => {
      if (isLeader) this.#becomeLeader(partition);
      else this.#resign(partition);
    });
    for (const partition of this.#store.ledPartitions()) this.#becomeLeader(partition);
  }

  /** Drops every coordinator and stops timers and marker deliveries. */
  close(): void {
    if (!this.#runtime.close()) return;
    for (const partition of [...this.#runtime.slots.keys()]) this.#resign(partition);
    this.#markers.close();
  }

  /** The partitions whose coordinator is loaded or loading (tests). */
  partitionStates(): Map<number, "loading" | "active"> {
    return this.#runtime.partitionStates();
  }

  // ---------------------------------------------------------------- leadership and loading

  #becomeLeader(partition: number): void {
    if (this.#runtime.closed || this.#runtime.slots.has(partition)) return;
    const slot: Slot = {
      partition,
      state: "loading",
      coordinator: new TransactionCoordinator<Pending>({ config: this.#config }),
      appendChain: Promise.resolve(),
      pending: new Set(),
      markerJobs: new Set(),
    };
    this.#runtime.slots.set(partition, slot);
    this.#ctx.logger.debug(`Loading transactions of ${TRANSACTION_STATE_TOPIC}-${partition}`);
    void this.#runtime.load(slot, {
      read: (s) =>
        this.#runtime.readPartition(
          s,
          (partition, offset, maxBytes) => this.#store.read(partition, offset, maxBytes),
          (chunk, offset) => decodeTxnRecordBatches(chunk.records, offset, chunk.highWatermark),
        ),
      onLoaded: (s, records) => this.#loaded(s, records),
      giveUp: (partition) => this.#resign(partition),
    });
  }

  #loaded(slot: Slot, records: TxnLogRecord[]): void {
    slot.state = "active";
    const effects = slot.coordinator.load(records, this.#nowMs());
    // One line per partition that holds state; 50 empty partitions would drown the log.
    const log = records.length === 0 ? this.#ctx.logger.debug : this.#ctx.logger.info;
    log.call(
      this.#ctx.logger,
      `Loaded ${slot.coordinator.transactionalIds().length} transactional ids of ` +
        `${TRANSACTION_STATE_TOPIC}-${slot.partition} from ${records.length} records`,
    );
    this.#runEffects(slot, effects);
  }

  #resign(partition: number): void {
    const slot = this.#runtime.slots.get(partition);
    if (slot === undefined) return;
    this.#runtime.slots.delete(partition);
    const wasActive = slot.state === "active";
    slot.state = "dropped";
    for (const job of slot.markerJobs) job.cancel();
    slot.markerJobs.clear();
    if (wasActive) {
      for (const effect of slot.coordinator.unload()) {
        if (effect.type === "respond") effect.handle.settle(effect.response);
      }
      this.#ctx.logger.debug(
        `Unloaded the transactions of ${TRANSACTION_STATE_TOPIC}-${partition}`,
      );
    }
    for (const pending of [...slot.pending]) pending.settle(failed(ErrorCode.NOT_COORDINATOR));
    this.#runtime.scheduleTick();
  }

  // ---------------------------------------------------------------- effects and time

  #runEffects(slot: Slot, effects: TxnEffect<Pending>[]): void {
    for (const effect of effects) {
      if (effect.type === "respond") effect.handle.settle(effect.response);
      else if (effect.type === "append") this.#append(slot, effect.appendId, effect.record);
      else this.#sendMarkers(slot, effect.markers);
    }
    this.#runtime.scheduleTick();
  }

  #sendMarkers(slot: Slot, markers: MarkerRequest): void {
    if (slot.state !== "active") return;
    const written = () => {
      slot.markerJobs.delete(job);
      if (slot.state !== "active") return;
      this.#runEffects(
        slot,
        slot.coordinator.markersWritten(
          markers.transactionalId,
          markers.producerId,
          markers.producerEpoch,
          this.#nowMs(),
        ),
      );
    };
    if (markers.partitions.length === 0) {
      queueMicrotask(() => written());
      return;
    }
    const job = this.#markers.send({
      markers,
      coordinatorEpoch: this.#store.leaderEpoch(slot.partition),
      done: written,
    });
    slot.markerJobs.add(job);
  }

  #append(slot: Slot, appendId: number, record: TxnLogRecord): void {
    if (slot.state !== "active") return;
    let appended: Promise<number>;
    try {
      const batch = encodeTxnRecordBatch([record], this.#nowMs());
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
        if (slot.state !== "active") return;
        this.#runEffects(slot, slot.coordinator.appendComplete(appendId, this.#nowMs(), errorCode));
      })
      .catch((error) => {
        this.#ctx.logger.error(
          `The transaction coordinator of ${TRANSACTION_STATE_TOPIC}-${slot.partition} broke an ` +
            `invariant: ${(error as Error).stack ?? error}`,
        );
        queueMicrotask(() => {
          throw error;
        });
      });
  }

  #appendErrorCode(partition: number, error: unknown): number {
    if (error instanceof KafkaError) return error.code;
    this.#ctx.logger.error(
      `Appending to ${TRANSACTION_STATE_TOPIC}-${partition} failed: ${
        (error as Error).stack ?? error
      }`,
    );
    return ErrorCode.UNKNOWN_SERVER_ERROR;
  }

  /** Fires every coordinator deadline that is due (the timer calls this; tests may too). */
  tick(): void {
    this.#runtime.tick();
  }

  // ---------------------------------------------------------------- routing

  #partitionCount(): number {
    const topic = this.#ctx.metadata.image.topics.byName.get(TRANSACTION_STATE_TOPIC);
    const count = topic?.partitions.size ?? 0;
    return count > 0 ? count : this.#ctx.config.transactionStateLogNumPartitions;
  }

  /** The `__transaction_state` partition of `transactionalId`. */
  partitionFor(transactionalId: string): number {
    return this.#runtime.partitionFor(transactionalId);
  }

  #route(transactionalId: string): Route {
    return this.#runtime.route(transactionalId);
  }

  #park(slot: Slot, start: (handle: Pending) => TxnEffect<Pending>[]): Promise<TxnResponse> {
    return new Promise<TxnResponse>((resolve) => {
      let settled = false;
      const pending: Pending = {
        settle: (response) => {
          if (settled) return;
          settled = true;
          slot.pending.delete(pending);
          resolve(response);
        },
      };
      slot.pending.add(pending);
      this.#runEffects(slot, start(pending));
    });
  }

  // ---------------------------------------------------------------- TransactionService

  findTransactionCoordinator(transactionalId: string, listenerName: string): CoordinatorLocation {
    const fail = (errorCode: number, errorMessage: string | null = null): CoordinatorLocation => ({
      errorCode,
      errorMessage,
      nodeId: -1,
      host: "",
      port: -1,
    });
    // Kafka's handleFindCoordinatorRequest: an empty transactional id is INVALID_REQUEST.
    if (transactionalId === "") return fail(ErrorCode.INVALID_REQUEST);
    return this.#runtime.locate(transactionalId, listenerName, () => this.#ensureTopic());
  }

  /** Asks the controller to create `__transaction_state` (Kafka's configs for it). */
  #ensureTopic(): void {
    const c = this.#ctx.config;
    this.#runtime.topicCreation.ensure({
      numPartitions: c.transactionStateLogNumPartitions,
      replicationFactor: c.transactionStateLogReplicationFactor,
      replicationFactorKey: "transaction.state.log.replication.factor",
      configs: {
        "cleanup.policy": "compact",
        "compression.type": "uncompressed",
        "unclean.leader.election.enable": "false",
        "min.insync.replicas": String(c.transactionStateLogMinIsr),
        "segment.bytes": String(
          numberValue(this.#ctx, "transaction.state.log.segment.bytes", 104_857_600),
        ),
      },
    });
  }

  /** Resolves when a creation of `__transaction_state` started by FindCoordinator has settled. */
  topicCreation(): Promise<void> {
    return this.#runtime.topicCreation.settled();
  }

  async initProducerId(input: {
    transactionalId: string;
    transactionTimeoutMs: number;
    producerId: bigint;
    producerEpoch: number;
  }): Promise<TxnResponse> {
    if (input.transactionalId === "") return failed(ErrorCode.INVALID_REQUEST);
    let route = this.#route(input.transactionalId);
    if (route.slot === null) return failed(route.errorCode);
    let newProducerId: bigint | null = null;
    if (route.slot.coordinator.needsProducerId(input.transactionalId)) {
      try {
        newProducerId = await this.#deps.allocateProducerId();
      } catch (error) {
        const detail = error instanceof KafkaError ? `error ${error.code}` : String(error);
        this.#ctx.logger.warn(`Cannot allocate a producer id: ${detail}`);
        return failed(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
      // Leadership may have moved while the id was fetched.
      route = this.#route(input.transactionalId);
      if (route.slot === null) return failed(route.errorCode);
    }
    const coordinator = route.slot.coordinator;
    return this.#park(
      route.slot,
      (handle) => coordinator.initProducerId(handle, { ...input, newProducerId }, this.#nowMs()),
    );
  }

  async addPartitions(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    topics: TxnPartitions[];
  }): Promise<TxnPartitionErrors[]> {
    const all = (code: (topic: string, partition: number) => number) =>
      input.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((partition) => ({
          partition,
          errorCode: code(t.topic, partition),
        })),
      }));
    // KafkaApis: unknown partitions fail the whole request without reaching the coordinator.
    const image = this.#ctx.metadata.image;
    const unknown = (topic: string, partition: number) =>
      image.topics.byName.get(topic)?.partitions.get(partition) === undefined;
    if (input.topics.some((t) => t.partitions.some((p) => unknown(t.topic, p)))) {
      return all((t, p) =>
        unknown(t, p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED
      );
    }
    const errorCode = await this.#addPartitions(input.transactionalId, input, input.topics);
    return all(() => errorCode);
  }

  verifyPartitions(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    topics: TxnPartitions[];
  }): TxnPartitionErrors[] {
    const route = input.transactionalId === ""
      ? { slot: null, errorCode: ErrorCode.INVALID_REQUEST }
      : this.#route(input.transactionalId);
    const errors = route.slot === null
      ? input.topics.flatMap((t) =>
        t.partitions.map((partition) => ({ topic: t.topic, partition, errorCode: route.errorCode }))
      )
      : route.slot.coordinator.verifyPartitions({ ...input, partitions: input.topics });
    const byTopic = new Map<string, TxnPartitionErrors>();
    for (const e of errors) {
      let t = byTopic.get(e.topic);
      if (t === undefined) byTopic.set(e.topic, t = { topic: e.topic, partitions: [] });
      t.partitions.push({ partition: e.partition, errorCode: e.errorCode });
    }
    return [...byTopic.values()];
  }

  addOffsets(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    groupId: string;
  }): Promise<number> {
    const partition = this.#deps.offsetsPartitionFor(input.groupId);
    return this.#addPartitions(input.transactionalId, input, [
      { topic: OFFSETS_TOPIC, partitions: [partition] },
    ]);
  }

  async #addPartitions(
    transactionalId: string,
    producer: { producerId: bigint; producerEpoch: number },
    partitions: TxnPartitions[],
  ): Promise<number> {
    if (transactionalId === "") return ErrorCode.INVALID_REQUEST;
    const route = this.#route(transactionalId);
    if (route.slot === null) return route.errorCode;
    const coordinator = route.slot.coordinator;
    const response = await this.#park(route.slot, (handle) =>
      coordinator.addPartitions(handle, {
        transactionalId,
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        partitions,
      }, this.#nowMs()));
    return response.errorCode;
  }

  async endTxn(input: {
    transactionalId: string;
    producerId: bigint;
    producerEpoch: number;
    committed: boolean;
  }): Promise<number> {
    if (input.transactionalId === "") return ErrorCode.INVALID_REQUEST;
    const route = this.#route(input.transactionalId);
    if (route.slot === null) return route.errorCode;
    const coordinator = route.slot.coordinator;
    const response = await this.#park(
      route.slot,
      (handle) => coordinator.endTxn(handle, input, this.#nowMs()),
    );
    return response.errorCode;
  }

  // ---------------------------------------------------------------- admin views

  describeTransaction(transactionalId: string): { errorCode: number; view: TxnView | null } {
    const route = this.#route(transactionalId);
    if (route.slot === null) return { errorCode: route.errorCode, view: null };
    const view = route.slot.coordinator.describe(transactionalId);
    return view === null || view.state === "Dead"
      ? { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, view: null }
      : { errorCode: ErrorCode.NONE, view };
  }

  listTransactions(filters: {
    states: string[];
    producerIds: bigint[];
    durationFilterMs: number;
  }): { errorCode: number; unknownStates: string[]; views: TxnView[] } {
    const unknownStates = filters.states.filter((s) => !(s in TxnState));
    const states = new Set(filters.states);
    const producerIds = new Set(filters.producerIds);
    const nowMs = this.#nowMs();
    const views: TxnView[] = [];
    let errorCode: number = ErrorCode.NONE;
    if (this.#runtime.closed) errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    for (const slot of this.#runtime.slots.values()) {
      if (slot.state === "loading") errorCode = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (slot.state !== "active") continue;
      for (const id of slot.coordinator.transactionalIds()) {
        const view = slot.coordinator.describe(id);
        if (view === null) continue;
        if (states.size > 0 && !states.has(view.state)) continue;
        if (producerIds.size > 0 && !producerIds.has(view.producerId)) continue;
        if (
          filters.durationFilterMs >= 0 &&
          (view.startTimestampMs < 0 || nowMs - view.startTimestampMs < filters.durationFilterMs)
        ) continue;
        views.push(view);
      }
    }
    if (errorCode !== ErrorCode.NONE) return { errorCode, unknownStates, views: [] };
    views.sort((a, b) => a.transactionalId < b.transactionalId ? -1 : 1);
    return { errorCode, unknownStates, views };
  }
}
