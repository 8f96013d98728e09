/**
 * The broker's partitions (Kafka's `ReplicaManager` + the log side of `BrokerMetadataPublisher`):
 * follows the metadata image and hosts a {@link Partition} for every partition whose replicas
 * include this broker, in one of the `log.dirs`; serves the partition APIs through the handlers in
 * `net/handlers/`; offers internal topics (`__consumer_offsets`) to the group coordinator.
 *
 * Scope: replication between brokers is not implemented. With replication factor > 1 only the
 * leader serves; followers open their log and do nothing with it (no replica fetcher), so their
 * copy stays empty. The high watermark is the leader's durable log end (see `partition.ts`).
 *
 * Image changes are applied one at a time in order (opening logs is asynchronous); a change that
 * arrives while one is being applied is coalesced into one more pass over the latest image.
 * `start()` expects the image to be caught up with the metadata log (the broker starts its roles
 * after the initial metadata catch-up, as Kafka does): logs found on disk that the image does not
 * assign to this broker, or whose topic id differs, are deleted as strays. An image without a
 * `metadata.version` (nothing applied yet) never deletes anything.
 *
 * @module
 */
import { METADATA_VERSION_FEATURE } from "../core/metadata/records.ts";
import type { MetadataImage, PartitionRegistration } from "../core/metadata/image.ts";
import type { Dispatcher } from "../net/dispatcher.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import type { AllocateProducerIdsResponse } from "../net/protocol/generated/allocate_producer_ids_response.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { partitionKey } from "../storage/log/checkpoint_file.ts";
import { LogManager } from "../storage/log/log_manager.ts";
import type { LogConfig } from "../storage/log/log_config.ts";
import type { BrokerContext } from "./broker_context.ts";
import { FetchSessionCache } from "./fetch_session.ts";
import { Partition } from "./partition.ts";
import type { LogDirInfo, PartitionLookup, ReplicaAccess } from "./replica_access.ts";
import { sameLogConfig, topicLogConfig } from "./topic_log_config.ts";
import { produceHandler } from "../net/handlers/produce.ts";
import { fetchHandler } from "../net/handlers/fetch.ts";
import { listOffsetsHandler } from "../net/handlers/list_offsets.ts";
import { offsetForLeaderEpochHandler } from "../net/handlers/offset_for_leader_epoch.ts";
import { deleteRecordsHandler } from "../net/handlers/delete_records.ts";
import { describeLogDirsHandler } from "../net/handlers/describe_log_dirs.ts";
import { initProducerIdHandler } from "../net/handlers/init_producer_id.ts";

/** Called when this broker becomes or stops being the leader of a partition. */
export type LeaderChangeListener = (topic: string, partition: number, isLeader: boolean) => void;

/** Bound on the passes one image application makes while changes keep arriving. */
const APPLY_PASSES_MAX = 1000;
/** Tries to get a producer id block before giving up on one InitProducerId. */
const PRODUCER_ID_BLOCK_TRIES = 3;
/** How long one AllocateProducerIds call may take. */
const PRODUCER_ID_BLOCK_TIMEOUT_MS = 5_000;

/** Options of {@link ReplicaManager}. */
export interface ReplicaManagerOptions {
  /** How often producer state files are written and idle producers expired (default 60 s). */
  producerStateIntervalMs?: number;
}

function numberValue(ctx: BrokerContext, key: string, fallback: number): number {
  const v = ctx.config.values.get(key);
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/**
 * The partitions this broker hosts.
 *
 * @example
 * ```ts ignore
 * const replicas = new ReplicaManager(ctx);
 * await replicas.start();
 * replicas.registerHandlers(dispatcher);
 * replicas.onLeaderChange((topic, partition, isLeader) => ...);
 * const { baseOffset } = await replicas.appendInternal("__consumer_offsets", 3, batch);
 * await replicas.close();
 * ```
 */
export class ReplicaManager implements ReplicaAccess {
  readonly ctx: BrokerContext;
  readonly fetchSessions: FetchSessionCache;
  readonly #options: ReplicaManagerOptions;
  #managers: LogManager[] = [];
  #partitions = new Map<string, Partition>();
  #leaderListeners: LeaderChangeListener[] = [];
  #applying: Promise<void> | null = null;
  #applyAgain = false;
  #timers: ReturnType<typeof setInterval>[] = [];
  #started = false;
  #closed = false;
  #pidNext = 0n;
  #pidEnd = 0n;
  #pidFetch: Promise<void> | null = null;
  /** Requests waiting for a partition the image says this broker leads to open, by partition. */
  #leaderWaiters = new Map<string, (() => void)[]>();

  constructor(ctx: BrokerContext, options: ReplicaManagerOptions = {}) {
    this.ctx = ctx;
    this.#options = options;
    this.fetchSessions = new FetchSessionCache({
      maxSessions: numberValue(ctx, "max.incremental.fetch.session.cache.slots", 1000),
      evictionMs: numberValue(ctx, "min.incremental.fetch.session.eviction.ms", 120_000),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Opens every log dir, applies the current image, subscribes to changes, starts tasks. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const warn = (line: string) => this.ctx.logger.warn(line);
    for (const logDir of this.ctx.config.logDirs) {
      this.#managers.push(
        await LogManager.open({
          logDir,
          configFor: (topic) => this.#logConfigFor(this.ctx.metadata.image, topic),
          warn,
        }),
      );
    }
    // Returned, so MetadataState.settled() covers opening the partitions an image assigns here.
    this.ctx.metadata.subscribe(() => this.#scheduleApply());
    await this.#scheduleApply();
    const checkpointIntervalMs = numberValue(
      this.ctx,
      "log.flush.offset.checkpoint.interval.ms",
      60_000,
    );
    for (const manager of this.#managers) {
      manager.startBackgroundTasks({
        checkpointIntervalMs,
        retentionCheckIntervalMs: this.ctx.config.logRetentionCheckIntervalMs,
        flushCheckIntervalMs: 1_000,
      });
    }
    let running = false;
    this.#timers.push(setInterval(() => {
      if (running || this.#closed) return;
      running = true;
      this.#maintainProducerState().catch((error) =>
        this.ctx.logger.warn(`Producer state maintenance failed: ${error}`)
      ).finally(() => {
        running = false;
      });
    }, this.#options.producerStateIntervalMs ?? 60_000));
  }

  /** Stops tasks, ends long polls, writes producer state, flushes and closes every log. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#applying?.catch(() => {});
    this.#wakeLeaderWaiters();
    const partitions = [...this.#partitions.values()];
    for (const p of partitions) p.close();
    await Promise.all(
      partitions.map((p) =>
        p.writeProducerState().catch((error) =>
          this.ctx.logger.warn(`Cannot write producer state of ${p.topic}-${p.partition}: ${error}`)
        )
      ),
    );
    await Promise.all(this.#managers.map((m) => m.close()));
    this.#partitions.clear();
  }

  /** Registers Produce, Fetch, ListOffsets, OffsetForLeaderEpoch, DeleteRecords, DescribeLogDirs, InitProducerId. */
  registerHandlers(dispatcher: Dispatcher): void {
    dispatcher.register(ApiKey.PRODUCE, produceHandler(this));
    dispatcher.register(ApiKey.FETCH, fetchHandler(this));
    dispatcher.register(ApiKey.LIST_OFFSETS, listOffsetsHandler(this));
    dispatcher.register(ApiKey.OFFSET_FOR_LEADER_EPOCH, offsetForLeaderEpochHandler(this));
    dispatcher.register(ApiKey.DELETE_RECORDS, deleteRecordsHandler(this));
    dispatcher.register(ApiKey.DESCRIBE_LOG_DIRS, describeLogDirsHandler(this));
    dispatcher.register(ApiKey.INIT_PRODUCER_ID, initProducerIdHandler(this));
  }

  /** Calls `listener` whenever this broker gains or loses leadership of a partition. */
  onLeaderChange(listener: LeaderChangeListener): void {
    this.#leaderListeners.push(listener);
  }

  /** Resolves once every image change seen so far is applied (tests, startup ordering). */
  async settled(): Promise<void> {
    for (let i = 0; i < APPLY_PASSES_MAX && this.#applying !== null; i++) await this.#applying;
  }

  // ---------------------------------------------------------------- lookups

  leaderPartition(topic: string, partition: number): PartitionLookup {
    const hosted = this.#partitions.get(partitionKey(topic, partition));
    if (hosted !== undefined && hosted.isLeader) return { partition: hosted, errorCode: 0 };
    const known = this.ctx.metadata.image.topics.byName.get(topic)?.partitions.has(partition);
    return {
      partition: null,
      errorCode: known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    };
  }

  leaderOpening(topic: string, partition: number, timeoutMs: number): Promise<void> | null {
    const key = partitionKey(topic, partition);
    if (this.#closed || this.#applying === null || this.#partitions.get(key)?.isLeader) return null;
    const reg = this.ctx.metadata.image.topics.byName.get(topic)?.partitions.get(partition);
    if (reg === undefined || reg.leader !== this.ctx.nodeId) return null;
    return new Promise<void>((resolve) => {
      const waiters = this.#leaderWaiters.get(key) ?? [];
      this.#leaderWaiters.set(key, waiters);
      const timer = setTimeout(() => {
        const i = waiters.indexOf(wake);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.push(wake);
    });
  }

  hostedPartition(topic: string, partition: number): Partition | undefined {
    return this.#partitions.get(partitionKey(topic, partition));
  }

  /** Every hosted partition. */
  partitions(): Partition[] {
    return [...this.#partitions.values()];
  }

  logDirs(): LogDirInfo[] {
    return this.#managers.map((m) => ({
      dir: m.logDir,
      partitions: [...this.#partitions.values()].filter((p) => p.logDir === m.logDir),
    }));
  }

  // ---------------------------------------------------------------- internal topics

  /**
   * Appends batches to a partition this broker leads (internal topics: the group coordinator's
   * `__consumer_offsets`) and resolves once they are durable. Throws KafkaError
   * NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION, or the log's error.
   */
  async appendInternal(
    topic: string,
    partition: number,
    batchBytes: Uint8Array,
  ): Promise<{ baseOffset: number; lastOffset: number }> {
    const found = this.leaderPartition(topic, partition);
    if (found.partition === null) {
      throw new KafkaError(
        found.errorCode,
        `Cannot append to ${topic}-${partition}: not its leader.`,
      );
    }
    const p = found.partition;
    const info = await p.appendFromClient(batchBytes, "internal");
    if (p.log.recoveryPoint <= info.lastOffset) await p.log.flush();
    return { baseOffset: info.baseOffset, lastOffset: info.lastOffset };
  }

  /**
   * Reads whole stored batches of a hosted partition from `fromOffset` (raised to the log start
   * offset) up to the high watermark; at least one batch when any is readable.
   */
  async readInternal(
    topic: string,
    partition: number,
    fromOffset: number,
    maxBytes: number,
  ): Promise<{ records: Uint8Array; highWatermark: number; logEndOffset: number }> {
    const p = this.hostedPartition(topic, partition);
    if (p === undefined || p.closed) {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Cannot read ${topic}-${partition}: not hosted here.`,
      );
    }
    const read = await p.read(Math.max(fromOffset, p.logStartOffset), {
      maxBytes,
      minOneMessage: true,
      isolationLevel: 0,
    });
    return {
      records: read.records,
      highWatermark: read.highWatermark,
      logEndOffset: read.logEndOffset,
    };
  }

  // ---------------------------------------------------------------- producer ids

  async allocateProducerId(): Promise<bigint> {
    for (let attempt = 0; attempt < PRODUCER_ID_BLOCK_TRIES; attempt++) {
      if (this.#pidNext < this.#pidEnd) return this.#pidNext++;
      this.#pidFetch ??= this.#fetchProducerIdBlock().finally(() => {
        this.#pidFetch = null;
      });
      await this.#pidFetch;
    }
    throw new KafkaError(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      "No producer id block is available.",
    );
  }

  async #fetchProducerIdBlock(): Promise<void> {
    const response = await this.ctx.controller.send<AllocateProducerIdsResponse>(
      ApiKey.ALLOCATE_PRODUCER_IDS,
      { brokerId: this.ctx.nodeId, brokerEpoch: this.ctx.brokerEpoch() },
      { timeoutMs: PRODUCER_ID_BLOCK_TIMEOUT_MS },
    );
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(
        response.errorCode,
        `AllocateProducerIds failed with ${response.errorCode}.`,
      );
    }
    this.#pidNext = response.producerIdStart;
    this.#pidEnd = response.producerIdStart + BigInt(response.producerIdLen);
  }

  // ---------------------------------------------------------------- following the image

  #logConfigFor(image: MetadataImage, topic: string): LogConfig {
    return topicLogConfig(this.ctx.config, image, topic, (line) => this.ctx.logger.warn(line));
  }

  /** Applies the latest image after any pass in flight; coalesces bursts of changes. */
  #scheduleApply(): Promise<void> {
    if (this.#closed || !this.#started) return Promise.resolve();
    if (this.#applying !== null) {
      this.#applyAgain = true;
      return this.#applying;
    }
    this.#applying = (async () => {
      for (let pass = 0; pass < APPLY_PASSES_MAX && !this.#closed; pass++) {
        this.#applyAgain = false;
        try {
          await this.#applyImage(this.ctx.metadata.image);
        } catch (error) {
          this.ctx.logger.error(
            `Applying the metadata image to partitions failed: ${(error as Error).stack ?? error}`,
          );
        }
        if (!this.#applyAgain) break;
      }
    })().finally(() => {
      this.#applying = null;
      this.#wakeLeaderWaiters(); // whatever did not open will not open in this application
    });
    return this.#applying;
  }

  async #applyImage(image: MetadataImage): Promise<void> {
    const nodeId = this.ctx.nodeId;
    const desired = new Map<
      string,
      { topic: string; topicId: string; index: number; reg: PartitionRegistration }
    >();
    for (const topic of image.topics.byName.values()) {
      for (const [index, reg] of topic.partitions) {
        if (reg.replicas.includes(nodeId)) {
          desired.set(partitionKey(topic.name, index), {
            topic: topic.name,
            topicId: topic.id,
            index,
            reg,
          });
        }
      }
    }
    for (const [key, d] of desired) {
      if (this.#closed) return;
      try {
        let p = this.#partitions.get(key);
        if (p !== undefined && p.topicId !== d.topicId) {
          await this.#removePartition(p);
          p = undefined;
        }
        p ??= await this.#openPartition(image, d.topic, d.index, d.topicId);
        const config = this.#logConfigFor(image, d.topic);
        if (!sameLogConfig(p.log.config, config)) Object.assign(p.log.config, config);
        if (p.setRegistration(d.reg)) this.#fireLeaderChange(p);
      } catch (error) {
        this.ctx.logger.error(`Cannot open partition ${key}: ${(error as Error).stack ?? error}`);
      }
    }
    if (!image.features.has(METADATA_VERSION_FEATURE)) return;
    for (const [key, p] of this.#partitions) {
      if (!desired.has(key)) await this.#removePartition(p);
    }
    for (const manager of this.#managers) {
      for (const { tp, log } of manager.all()) {
        const key = partitionKey(tp.topic, tp.partition);
        if (this.#partitions.has(key)) continue;
        const d = desired.get(key);
        if (d !== undefined && (log.topicId === null || log.topicId === d.topicId)) continue;
        this.ctx.logger.info(`Deleting stray log ${key} in ${manager.logDir}`);
        await manager.deleteLog(tp);
      }
    }
  }

  async #openPartition(
    image: MetadataImage,
    topic: string,
    index: number,
    topicId: string,
  ): Promise<Partition> {
    const tp = { topic, partition: index };
    let manager = this.#managers.find((m) => m.get(tp) !== undefined);
    let log = manager?.get(tp);
    if (
      manager !== undefined && log !== undefined && log.topicId !== null && log.topicId !== topicId
    ) {
      this.ctx.logger.info(
        `Deleting log ${topic}-${index} of an earlier topic with id ${log.topicId}`,
      );
      await manager.deleteLog(tp);
      log = undefined;
    }
    if (log === undefined) {
      manager = this.#managers.reduce((a, b) => (b.all().length < a.all().length ? b : a));
      log = await manager.createLog(tp, { topicId, config: this.#logConfigFor(image, topic) });
    }
    const p = new Partition({
      topic,
      partition: index,
      topicId,
      log,
      logDir: manager!.logDir,
      nodeId: this.ctx.nodeId,
      logger: this.ctx.logger,
    });
    await p.loadProducerState();
    this.#partitions.set(partitionKey(topic, index), p);
    return p;
  }

  async #removePartition(p: Partition): Promise<void> {
    const wasLeader = p.isLeader;
    const key = partitionKey(p.topic, p.partition);
    this.#partitions.delete(key);
    p.close();
    if (wasLeader) this.#emit(p.topic, p.partition, false);
    const manager = this.#managers.find((m) => m.logDir === p.logDir);
    this.ctx.logger.info(`Deleting log ${key} from ${p.logDir}`);
    await manager?.deleteLog({ topic: p.topic, partition: p.partition });
  }

  #fireLeaderChange(p: Partition): void {
    this.#emit(p.topic, p.partition, p.isLeader);
  }

  /** Resumes requests waiting for `key` (every partition when omitted), in arrival order. */
  #wakeLeaderWaiters(key?: string): void {
    const keys = key === undefined ? [...this.#leaderWaiters.keys()] : [key];
    for (const k of keys) {
      const waiters = this.#leaderWaiters.get(k);
      this.#leaderWaiters.delete(k);
      for (const wake of waiters ?? []) wake();
    }
  }

  #emit(topic: string, partition: number, isLeader: boolean): void {
    // Synchronously, so the woken requests append before any request read later.
    if (isLeader) this.#wakeLeaderWaiters(partitionKey(topic, partition));
    for (const listener of this.#leaderListeners) {
      try {
        listener(topic, partition, isLeader);
      } catch (error) {
        this.ctx.logger.error(`Leader change listener failed: ${(error as Error).stack ?? error}`);
      }
    }
  }

  // ---------------------------------------------------------------- maintenance

  async #maintainProducerState(): Promise<void> {
    const expirationMs = this.ctx.config.producerIdExpirationMs;
    const nowMs = Date.now();
    for (const p of [...this.#partitions.values()]) {
      if (p.closed) continue;
      p.producers.evictBelow(p.logStartOffset);
      p.producers.removeExpired(nowMs, expirationMs);
      await p.writeProducerState();
    }
  }
}
