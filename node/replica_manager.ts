/**
 * The broker's partitions (Kafka's `ReplicaManager` + the log side of `BrokerMetadataPublisher`):
 * follows the metadata image and hosts a {@link Partition} for every partition whose replicas
 * include this broker, in one of the `log.dirs`; serves the partition APIs through the handlers in
 * `net/handlers/`; offers internal topics (`__consumer_offsets`) to the group coordinator.
 *
 * Replication (Kafka's model, KIP-497): a partition this broker follows is fetched from its
 * leader by the {@link ReplicaFetcherManager}; a partition it leads tracks its followers' fetches
 * (see `partition.ts`) and this manager sends the ISR changes the leader decides on (expansion
 * when a follower caught up, shrink when one lagged `replica.lag.time.max.ms`) to the active
 * controller with AlterPartition, one request in flight per partition. Internal appends
 * (`__consumer_offsets`) wait for the in-sync replicas like `acks=all`.
 *
 * Image changes are applied one at a time in order (opening logs is asynchronous); a change that
 * arrives while one is being applied is coalesced into one more pass over the latest image. A pass
 * looks only at the topics the applied records touched (created, changed, deleted, or with changed
 * configs); the whole image is walked only at start, after a snapshot replaced the image, when
 * `metadata.version` appears, or after a metadata transaction. Partition logs open and close
 * {@link PARTITION_OPENS_MAX} at a time.
 * JBOD (KIP-858, KIP-112): a new replica goes to the online log dir the image assigns it, else to
 * the one with the fewest partitions, and the controller is told its directory with
 * AssignReplicasToDirs (`directory_assignments.ts`). A disk error in a log dir (an append, read,
 * fsync, truncation, checkpoint or background task failing with EIO, ENOSPC, EROFS, ENOENT, ...;
 * see `storage/log/log_dir_failure.ts`) takes that directory offline: its replicas stop serving
 * (KAFKA_STORAGE_ERROR, fetchers stopped, waiting acks=all appends failed) and stay offline until
 * a restart, and the directory is reported to the controller in the broker heartbeat, which moves
 * their leadership to other in-sync replicas. When every log dir, or the metadata log dir, failed,
 * the broker stops (Kafka halts).
 *
 * `start()` expects the image to be caught up with the metadata log (the broker starts its roles
 * after the initial metadata catch-up, as Kafka does): logs found on disk that the image does not
 * assign to this broker, or whose topic id differs, are deleted as strays. An image without a
 * `metadata.version` (nothing applied yet) never deletes anything.
 *
 * @module
 */
import { METADATA_VERSION_FEATURE } from "../core/metadata/records.ts";
import {
  ConfigResourceType,
  type MetadataImage,
  type PartitionRegistration,
  type TopicImage,
} from "../core/metadata/image.ts";
import { RecordType } from "../core/metadata/records.ts";
import type { MetadataRecord } from "../net/protocol/generated/metadata_records.ts";
import type { Dispatcher } from "../net/dispatcher.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import type { AllocateProducerIdsResponse } from "../net/protocol/generated/allocate_producer_ids_response.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { LogDirFailureChannel } from "../storage/log/log_dir_failure.ts";
import { DirectoryAssignments } from "./directory_assignments.ts";
import {
  DIRECTORY_MIGRATING,
  DIRECTORY_UNASSIGNED,
  metadataVersion,
} from "../core/metadata/image.ts";
import { MetadataVersion } from "../core/metadata/records.ts";
import {
  partitionKey,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from "../storage/log/checkpoint_file.ts";
import * as path from "node:path";
import { LogManager } from "../storage/log/log_manager.ts";
import type { LogConfig } from "../storage/log/log_config.ts";
import type { BrokerContext } from "./broker_context.ts";
import { FetchSessionCache } from "../net/handlers/fetch_session.ts";
import { ReplicaFetcherManager } from "./replica_fetcher.ts";
import type { AlterPartitionResponse } from "../net/protocol/generated/alter_partition_response.ts";
import {
  createBrokerState,
  createPartitionData,
  createTopicData,
} from "../net/protocol/generated/alter_partition_request.ts";
import { resourceConfigs } from "../core/metadata/image.ts";
import type { ImageChange } from "./metadata_state.ts";
import { Partition } from "./partition.ts";
import type {
  LeaderThrottle,
  LogDirInfo,
  PartitionLookup,
  ReplicaAccess,
  TxnMarkerWritten,
} from "../net/handlers/replica_access.ts";
import { sameLogConfig, topicLogConfig } from "./topic_log_config.ts";
import { ReplicationThrottle } from "./replication_throttle.ts";
import { brokerConfigLayers, layeredValue } from "../core/config/config_layers.ts";
import { produceHandler } from "../net/handlers/produce.ts";
import { fetchHandler } from "../net/handlers/fetch.ts";
import { listOffsetsHandler } from "../net/handlers/list_offsets.ts";
import { writeTxnMarkersHandler } from "../net/handlers/write_txn_markers.ts";
import { describeProducersHandler } from "../net/handlers/describe_producers.ts";
import { offsetForLeaderEpochHandler } from "../net/handlers/offset_for_leader_epoch.ts";
import { deleteRecordsHandler } from "../net/handlers/delete_records.ts";
import { describeLogDirsHandler } from "../net/handlers/describe_log_dirs.ts";
import { initProducerIdHandler } from "../net/handlers/init_producer_id.ts";
import { BrokerTopicStats } from "../core/metrics/broker_topic_stats.ts";
import { interBrokerConnectSasl, interBrokerConnectTls } from "./listener_tls.ts";

/** Called when this broker becomes or stops being the leader of a partition. */
export type LeaderChangeListener = (topic: string, partition: number, isLeader: boolean) => void;

/**
 * Told when a transaction marker was written to a `__consumer_offsets` partition this broker leads
 * and replicated (before WriteTxnMarkers answers). The group coordinator completes the producer's
 * pending transactional offsets on commit and drops them on abort (Kafka's
 * `GroupCoordinator.onTransactionCompleted`); a thrown KafkaError is the partition's answer.
 */
export type TxnMarkerListener = (marker: TxnMarkerWritten) => Promise<void> | void;

/** Bound on the passes one image application makes while changes keep arriving. */
const APPLY_PASSES_MAX = 1000;
/** Partition logs opened (or deleted) concurrently by one pass: each waits on a few fsyncs. */
export const PARTITION_OPENS_MAX = 16;
/** Tries to get a producer id block before giving up on one InitProducerId. */
const PRODUCER_ID_BLOCK_TRIES = 3;
/** How long one AllocateProducerIds call may take. */
const PRODUCER_ID_BLOCK_TIMEOUT_MS = 5_000;
/** How long one AlterPartition call may take (retries included). */
const ALTER_PARTITION_TIMEOUT_MS = 10_000;
/** Kafka's per-log-dir file of high watermarks. */
export const HIGH_WATERMARK_CHECKPOINT_FILE = "replication-offset-checkpoint";
/** How long an internal (`__consumer_offsets`) append waits for the in-sync replicas. */
const INTERNAL_REPLICATION_TIMEOUT_MS = 30_000;

/** The part of the image a pass must look at: everything, or some topics. */
interface PendingChanges {
  full: boolean;
  topicIds: Set<string>;
  /** Topics by name: config changes, and deleted topics (whose ids are gone from the image). */
  topicNames: Set<string>;
}

function noChanges(): PendingChanges {
  return { full: false, topicIds: new Set(), topicNames: new Set() };
}

/** A partition the image assigns to this broker. */
interface DesiredPartition {
  topic: string;
  topicId: string;
  index: number;
  reg: PartitionRegistration;
}

/** True for records whose effect on topics the delta's topic ids do not show. */
function needsFullPass(record: MetadataRecord): boolean {
  return record.type === RecordType.BEGIN_TRANSACTION ||
    record.type === RecordType.END_TRANSACTION || record.type === RecordType.ABORT_TRANSACTION;
}

/** Runs `work` on every item, at most `concurrency` at a time; never throws (`work` must not). */
async function eachBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    // Bounded: each round takes one of the items.
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Options of {@link ReplicaManager}. */
export interface ReplicaManagerOptions {
  /** How often producer state files are written and idle producers expired (default 60 s). */
  producerStateIntervalMs?: number;
  /**
   * The directory id (meta.properties `directory.id`) of each `log.dirs` entry, by path. Without
   * it the controller is never told where replicas live.
   */
  directoryIds?: ReadonlyMap<string, string>;
  /** `log.dirs` entries that could not be read at start-up: offline from the start (KIP-112). */
  failedLogDirs?: readonly string[];
  /** Told once per failed log dir that is not the last one: the broker reports it (KIP-858). */
  onLogDirFailure?: (failure: { logDir: string; directoryId: string | null }) => void;
  /**
   * Called when every log dir, or the one holding the metadata log, failed: the broker must stop,
   * as Kafka halts. Default: log the reason.
   */
  onFatal?: (reason: string) => void;
  /** Memory for Fetch reads, refilled by the listeners after each answer is written. */
  readBuffers?: { take(sizeBytes: number): Uint8Array };
}

/** A replica whose log dir failed: not served until the broker restarts. */
interface OfflineReplica {
  topic: string;
  partition: number;
  topicId: string;
  logDir: string;
}

function numberValue(ctx: BrokerContext, key: string, fallback: number): number {
  const v = ctx.config.values.get(key);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return fallback;
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
  readonly topicStats = new BrokerTopicStats();
  /** Replication quotas (KIP-73), both directions. */
  readonly replicationThrottle: ReplicationThrottle;
  readonly leaderThrottle: LeaderThrottle;
  readonly readBuffers: { take(sizeBytes: number): Uint8Array } | undefined;
  readonly #options: ReplicaManagerOptions;
  #managers: LogManager[] = [];
  #partitions = new Map<string, Partition>();
  #leaderListeners: LeaderChangeListener[] = [];
  #txnMarkerListeners: TxnMarkerListener[] = [];
  #applying: Promise<void> | null = null;
  #applyAgain = false;
  /** What the image changes not yet handled by a pass touched (the first pass is full). */
  #pending: PendingChanges = { ...noChanges(), full: true };
  /** Topics whose partitions failed to open: retried with the next change. */
  #failedTopicIds = new Set<string>();
  /** Hosted partition keys by topic name. */
  #keysByTopic = new Map<string, Set<string>>();
  /** Logs being created per log dir, so concurrent opens spread over the dirs. */
  #creating = new Map<LogManager, number>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #started = false;
  #closed = false;
  #pidNext = 0n;
  #pidEnd = 0n;
  #pidFetch: Promise<void> | null = null;
  /** Requests waiting for a partition the image says this broker leads to open, by partition. */
  #leaderWaiters = new Map<string, (() => void)[]>();
  readonly #fetchers: ReplicaFetcherManager;
  /** Led partitions with an ISR change to send; flushed in one AlterPartition. */
  #isrQueue = new Set<Partition>();
  #isrFlush: ReturnType<typeof setTimeout> | undefined;
  /** High watermarks the previous run checkpointed, by partition key. */
  #checkpointedHighWatermarks = new Map<string, number>();
  #hwCheckpointing: Promise<void> = Promise.resolve();
  /** Which log dirs failed (KIP-112). */
  readonly #dirFailures: LogDirFailureChannel;
  /** Replicas in failed log dirs, by partition key. */
  #offline = new Map<string, OfflineReplica>();
  /** AssignReplicasToDirs to the controller; null without directory ids. */
  readonly #assignments: DirectoryAssignments | null;

  constructor(ctx: BrokerContext, options: ReplicaManagerOptions = {}) {
    this.ctx = ctx;
    this.#options = options;
    this.readBuffers = options.readBuffers;
    this.#dirFailures = new LogDirFailureChannel((logDir, error) =>
      this.#handleLogDirFailure(logDir, error)
    );
    this.#assignments = options.directoryIds === undefined ? null : new DirectoryAssignments({
      nodeId: ctx.nodeId,
      brokerEpoch: () => ctx.brokerEpoch(),
      controller: ctx.controller,
      logger: ctx.logger,
      stillNeeded: (a) => this.#assignmentNeeded(a),
    });
    this.fetchSessions = new FetchSessionCache({
      maxSessions: numberValue(ctx, "max.incremental.fetch.session.cache.slots", 1000),
      evictionMs: numberValue(ctx, "min.incremental.fetch.session.eviction.ms", 120_000),
    });
    const listener = ctx.config.interBrokerListenerName;
    this.replicationThrottle = new ReplicationThrottle(ctx);
    this.leaderThrottle = this.replicationThrottle.leader;
    this.#fetchers = new ReplicaFetcherManager({
      throttle: this.replicationThrottle.follower,
      nodeId: ctx.nodeId,
      clusterId: ctx.clusterId,
      brokerEpoch: () => ctx.brokerEpoch(),
      addressOf: (brokerId) => {
        const b = ctx.metadata.image.cluster.brokers.get(brokerId);
        const e = b?.endpoints.find((e) => e.name === listener) ?? b?.endpoints[0];
        return e === undefined ? null : { host: e.host, port: e.port };
      },
      logger: ctx.logger,
      tls: interBrokerConnectTls(ctx.config),
      sasl: interBrokerConnectSasl(ctx.config),
      config: {
        waitMaxMs: numberValue(ctx, "replica.fetch.wait.max.ms", 500),
        minBytes: numberValue(ctx, "replica.fetch.min.bytes", 1),
        responseMaxBytes: numberValue(ctx, "replica.fetch.response.max.bytes", 10 * 1024 * 1024),
        partitionMaxBytes: numberValue(ctx, "replica.fetch.max.bytes", 1024 * 1024),
        backoffMs: numberValue(ctx, "replica.fetch.backoff.ms", 1_000),
        requestTimeoutMs: numberValue(ctx, "replica.socket.timeout.ms", 30_000),
      },
    });
  }

  /** `replica.lag.time.max.ms`. */
  get #replicaLagTimeMaxMs(): number {
    return numberValue(this.ctx, "replica.lag.time.max.ms", 30_000);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Opens every log dir, applies the current image, subscribes to changes, starts tasks. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const warn = (line: string) => this.ctx.logger.warn(line);
    const failedAtStart = this.#options.failedLogDirs ?? [];
    for (const logDir of this.ctx.config.logDirs) {
      if (failedAtStart.includes(logDir)) continue;
      const checkpointed = await readOffsetCheckpoint(
        path.join(logDir, HIGH_WATERMARK_CHECKPOINT_FILE),
      ).catch((error) => {
        warn(`Ignoring ${HIGH_WATERMARK_CHECKPOINT_FILE} of ${logDir}: ${error.message}`);
        return new Map<string, number>();
      });
      for (const [key, hw] of checkpointed) this.#checkpointedHighWatermarks.set(key, hw);
      this.#managers.push(
        await LogManager.open({
          logDir,
          configFor: (topic) => this.#logConfigFor(this.ctx.metadata.image, topic),
          warn,
          onTaskFailure: (error) => this.#dirFailures.maybeFail(logDir, error),
        }),
      );
    }
    // Once the others are open: a failed dir is no reason to stop while another one serves.
    for (const logDir of failedAtStart) {
      this.#dirFailures.markOffline(logDir, new Error("it could not be read at start-up"));
    }
    // Returned, so MetadataState.settled() covers opening the partitions an image assigns here.
    this.ctx.metadata.subscribe((image, records, previous, change) =>
      this.#noteChange({ image, records, previous, change })
    );
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
        cleanerBackoffMs: Math.max(10, numberValue(this.ctx, "log.cleaner.backoff.ms", 15_000)),
        cleanerEnabled: this.ctx.config.values.get("log.cleaner.enable") !== false,
        // Dynamic (cluster-wide): read from the image at every cleaner run.
        cleanerIoBytesPerSecond: () => this.#cleanerIoBytesPerSecond(),
        cleanerOffsetMapBytes: Math.max(
          1024 * 1024,
          numberValue(this.ctx, "log.cleaner.dedupe.buffer.size", 128 * 1024 * 1024) /
            Math.max(1, numberValue(this.ctx, "log.cleaner.threads", 1)),
        ),
      });
    }
    this.#timers.push(setInterval(() => {
      void this.#checkpointHighWatermarks();
    }, numberValue(this.ctx, "replica.high.watermark.checkpoint.interval.ms", 5_000)));
    // Kafka checks for lagging followers every half of replica.lag.time.max.ms.
    this.#timers.push(setInterval(() => {
      for (const p of this.#partitions.values()) this.#maybeChangeIsr(p);
    }, Math.max(10, Math.floor(this.#replicaLagTimeMaxMs / 2))));
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
    clearTimeout(this.#isrFlush);
    this.#assignments?.close();
    await this.#fetchers.close();
    await this.#applying?.catch(() => {});
    this.#wakeLeaderWaiters();
    const partitions = [...this.#partitions.values()];
    for (const p of partitions) p.close();
    await this.#checkpointHighWatermarks();
    await Promise.all(
      partitions.map((p) =>
        p.writeProducerState().catch((error) =>
          this.ctx.logger.warn(`Cannot write producer state of ${p.topic}-${p.partition}: ${error}`)
        )
      ),
    );
    // The marker carries the broker epoch, the next registration's proof of a clean shutdown.
    const brokerEpoch = this.ctx.brokerEpoch();
    await Promise.all(this.#onlineManagers().map((m) => m.close({ brokerEpoch })));
    this.#partitions.clear();
    this.#keysByTopic.clear();
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
    dispatcher.register(ApiKey.WRITE_TXN_MARKERS, writeTxnMarkersHandler(this));
    dispatcher.register(ApiKey.DESCRIBE_PRODUCERS, describeProducersHandler(this));
  }

  /** Calls `listener` whenever this broker gains or loses leadership of a partition. */
  onLeaderChange(listener: LeaderChangeListener): void {
    this.#leaderListeners.push(listener);
  }

  /**
   * Calls `listener` after each transaction marker written to a `__consumer_offsets` partition
   * (see {@link TxnMarkerListener}); the transaction coordinator wires the group coordinator here:
   *
   * ```ts ignore
   * replicas.onTxnMarker(({ partition, producerId, commit }) =>
   *   groups.completeTransaction(partition, producerId, commit));
   * ```
   */
  onTxnMarker(listener: TxnMarkerListener): void {
    this.#txnMarkerListeners.push(listener);
  }

  async notifyTxnMarker(marker: TxnMarkerWritten): Promise<void> {
    for (const listener of this.#txnMarkerListeners) await listener(marker);
  }

  /** Resolves once every image change seen so far is applied (tests, startup ordering). */
  async settled(): Promise<void> {
    for (let i = 0; i < APPLY_PASSES_MAX && this.#applying !== null; i++) await this.#applying;
  }

  // ---------------------------------------------------------------- lookups

  leaderPartition(topic: string, partition: number): PartitionLookup {
    const key = partitionKey(topic, partition);
    const hosted = this.#partitions.get(key);
    if (hosted !== undefined && hosted.isLeader) return { partition: hosted, errorCode: 0 };
    if (this.#offline.has(key)) {
      return { partition: null, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    }
    const known = this.ctx.metadata.image.topics.byName.get(topic)?.partitions.has(partition);
    return {
      partition: null,
      errorCode: known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    };
  }

  leaderOpening(topic: string, partition: number, timeoutMs: number): Promise<void> | null {
    const key = partitionKey(topic, partition);
    if (this.#closed || this.#applying === null || this.#partitions.get(key)?.isLeader) return null;
    if (this.#offline.has(key)) return null;
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
    return this.ctx.config.logDirs.map((dir) => ({
      dir,
      partitions: [...this.#partitions.values()].filter((p) => p.logDir === dir),
      offline: this.#dirFailures.isOffline(dir),
    }));
  }

  /** The log dirs that failed, in the order they failed. */
  offlineLogDirs(): string[] {
    return this.#dirFailures.offlineDirs();
  }

  /** Replicas not served because their log dir failed, as `topic-partition` keys. */
  offlineReplicas(): string[] {
    return [...this.#offline.keys()];
  }

  /** Resolves once the controller accepted every queued directory assignment (tests). */
  assignmentsSettled(timeoutMs = 10_000): Promise<boolean> {
    return this.#assignments?.idle(timeoutMs) ?? Promise.resolve(true);
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
    const minIsr = p.checkMinIsr();
    if (minIsr !== ErrorCode.NONE) {
      throw new KafkaError(
        minIsr,
        `Cannot append to ${topic}-${partition}: too few in-sync replicas.`,
      );
    }
    const info = await p.appendFromClient(batchBytes, "internal");
    if (p.log.recoveryPoint <= info.lastOffset) await p.log.flush();
    // Kafka's coordinators write with acks=all: a committed offset survives its leader.
    const replicated = await p.waitForReplication(
      info.lastOffset + 1,
      INTERNAL_REPLICATION_TIMEOUT_MS,
    );
    if (replicated !== ErrorCode.NONE) {
      throw new KafkaError(
        replicated,
        `The in-sync replicas of ${topic}-${partition} did not confirm the append.`,
      );
    }
    return { baseOffset: info.baseOffset, lastOffset: info.lastOffset };
  }

  /**
   * Reads whole stored batches of a hosted partition from `fromOffset` (raised to the log start
   * offset) up to its log end (a coordinator loading the partition it now leads loads all of it:
   * as leader, its log is the partition's truth); at least one batch when any is readable.
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
      upToLogEnd: true,
    });
    return {
      records: read.records,
      highWatermark: read.logEndOffset,
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

  /** Records what an image change touched; schedules a pass when it touched any topic. */
  #noteChange(
    c: {
      image: MetadataImage;
      records: readonly MetadataRecord[];
      previous: MetadataImage;
      change: ImageChange;
    },
  ): Promise<void> | undefined {
    const pending = this.#pending;
    const hadVersion = c.previous.features.has(METADATA_VERSION_FEATURE);
    if (c.change.snapshot || hadVersion !== c.image.features.has(METADATA_VERSION_FEATURE)) {
      pending.full = true;
    }
    for (const id of c.change.changedTopicIds) pending.topicIds.add(id);
    for (const topic of c.change.deletedTopics.values()) pending.topicNames.add(topic.name);
    for (const record of c.records) {
      if (needsFullPass(record) || this.#changesBrokerConfig(record)) pending.full = true;
      else if (
        record.type === RecordType.CONFIG &&
        record.data.resourceType === ConfigResourceType.TOPIC
      ) {
        pending.topicNames.add(record.data.resourceName);
      }
    }
    // Like the full passes before them: a failed open is retried when the image changes again.
    for (const id of this.#failedTopicIds) pending.topicIds.add(id);
    this.#failedTopicIds.clear();
    if (!pending.full && pending.topicIds.size === 0 && pending.topicNames.size === 0) {
      return undefined;
    }
    return this.#scheduleApply();
  }

  /** `log.cleaner.io.max.bytes.per.second`: this broker's, the cluster default, the static one. */
  #cleanerIoBytesPerSecond(): number {
    const { metadata, nodeId, config } = this.ctx;
    const layers = brokerConfigLayers(metadata.image, nodeId, config.originals);
    const value = Number(layeredValue(layers, "log.cleaner.io.max.bytes.per.second"));
    return Number.isFinite(value) && value > 0 ? value : Number.MAX_VALUE;
  }

  /** A dynamic config of this broker or the cluster default: every topic may inherit it. */
  #changesBrokerConfig(record: MetadataRecord): boolean {
    if (record.type !== RecordType.CONFIG) return false;
    if (record.data.resourceType !== ConfigResourceType.BROKER) return false;
    const name = record.data.resourceName;
    return name === "" || name === String(this.ctx.nodeId);
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
        const changes = this.#pending;
        this.#pending = noChanges();
        try {
          await this.#applyImage(this.ctx.metadata.image, changes);
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

  /** The partitions of `topic` this broker hosts a replica of, into `desired`. */
  #collectDesired(topic: TopicImage, desired: Map<string, DesiredPartition>): void {
    const nodeId = this.ctx.nodeId;
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

  async #applyImage(image: MetadataImage, changes: PendingChanges): Promise<void> {
    const desired = new Map<string, DesiredPartition>();
    /** Topic names whose hosted partitions this pass decides about. */
    const names = new Set<string>();
    if (changes.full) {
      for (const topic of image.topics.byName.values()) this.#collectDesired(topic, desired);
      for (const name of this.#keysByTopic.keys()) names.add(name);
    } else {
      for (const id of changes.topicIds) {
        const topic = image.topics.byId.get(id);
        if (topic !== undefined) names.add(topic.name);
      }
      for (const name of changes.topicNames) names.add(name);
      for (const name of names) {
        const topic = image.topics.byName.get(name);
        if (topic !== undefined) this.#collectDesired(topic, desired);
      }
    }
    const configs = new Map<string, LogConfig>();
    const configOf = (topic: string) => {
      let config = configs.get(topic);
      if (config === undefined) configs.set(topic, config = this.#logConfigFor(image, topic));
      return config;
    };
    await eachBounded([...desired], PARTITION_OPENS_MAX, async ([key, d]) => {
      if (this.#closed) return;
      const offline = this.#offline.get(key);
      if (offline !== undefined) {
        // Its data is on the failed disk: it stays offline until a restart (Kafka's Offline).
        if (offline.topicId === d.topicId) return;
        this.#offline.delete(key); // a new topic of the same name starts afresh
      }
      try {
        let p = this.#partitions.get(key);
        if (p !== undefined && p.topicId !== d.topicId) {
          await this.#removePartition(p);
          p = undefined;
        }
        const config = configOf(d.topic);
        if (p === undefined) {
          p = await this.#openPartition(d, config);
        } else if (!sameLogConfig(p.log.config, config)) {
          Object.assign(p.log.config, config);
        }
        p.minInsyncReplicas = this.#minInsyncReplicas(image, d.topic);
        const change = p.setRegistration(d.reg);
        if (change.roleChanged) this.#fetchers.follow(p);
        if (change.leadershipChanged) this.#fireLeaderChange(p);
        this.#maybeChangeIsr(p);
        this.#maybeAssignDirectory(image, p, d.reg);
      } catch (error) {
        this.#failedTopicIds.add(d.topicId);
        this.ctx.logger.error(`Cannot open partition ${key}: ${(error as Error).stack ?? error}`);
      }
    });
    if (this.#closed || !image.features.has(METADATA_VERSION_FEATURE)) return;
    const undesired: Partition[] = [];
    for (const name of names) {
      for (const key of this.#keysByTopic.get(name) ?? []) {
        const p = this.#partitions.get(key);
        if (p !== undefined && !desired.has(key)) undesired.push(p);
      }
    }
    await eachBounded(undesired, PARTITION_OPENS_MAX, (p) => this.#removePartition(p));
    for (const [key, r] of this.#offline) {
      // Deleted or moved away: nothing to delete on the failed disk, only to forget.
      if ((changes.full || names.has(r.topic)) && !desired.has(key)) this.#offline.delete(key);
    }
    if (changes.full) await this.#deleteStrayLogs(desired);
  }

  /** Deletes logs on disk that the image does not assign here or that belong to an older topic. */
  async #deleteStrayLogs(desired: ReadonlyMap<string, DesiredPartition>): Promise<void> {
    for (const manager of this.#onlineManagers()) {
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

  async #openPartition(d: DesiredPartition, config: LogConfig): Promise<Partition> {
    const { topic, index, topicId } = d;
    const tp = { topic, partition: index };
    const key = partitionKey(topic, index);
    let manager = this.#onlineManagers().find((m) => m.get(tp) !== undefined);
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
      this.#refuseIfMaybeOffline(d);
      const chosen = this.#placementDir(d.reg);
      manager = chosen;
      this.#creating.set(chosen, (this.#creating.get(chosen) ?? 0) + 1);
      try {
        // A copy each: `Object.assign` updates one log's config in place on a config change.
        log = await chosen.createLog(tp, { topicId, config: { ...config } });
      } catch (error) {
        this.#failedWhileOpening(d, chosen.logDir, error);
        throw error;
      } finally {
        this.#creating.set(chosen, this.#creating.get(chosen)! - 1);
      }
    } else if (!sameLogConfig(log.config, config)) {
      Object.assign(log.config, config);
    }
    const p = new Partition({
      topic,
      partition: index,
      topicId,
      log,
      logDir: manager!.logDir,
      nodeId: this.ctx.nodeId,
      logger: this.ctx.logger,
      onFollowerFetch: (p) => this.#maybeChangeIsr(p),
      onLogFailure: (p, error) => {
        // Only a partition still served here speaks for its directory.
        if (this.#partitions.get(key) === p) this.#dirFailures.maybeFail(p.logDir, error);
      },
    });
    let loadError: unknown = null;
    try {
      await p.loadProducerState();
    } catch (error) {
      loadError = error;
    }
    // Its directory may have failed meanwhile: then it is offline like the others there.
    if (this.#failedWhileOpening(d, p.logDir, loadError)) {
      p.close(ErrorCode.KAFKA_STORAGE_ERROR);
      log.closeAbruptly();
      throw loadError ??
        new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `Log directory ${p.logDir} failed.`);
    }
    if (loadError !== null) throw loadError;
    const checkpointedHw = this.#checkpointedHighWatermarks.get(key);
    if (checkpointedHw !== undefined) {
      p.restoreHighWatermark(checkpointedHw);
      this.#checkpointedHighWatermarks.delete(key);
    }
    this.#partitions.set(key, p);
    const keys = this.#keysByTopic.get(topic) ?? new Set<string>();
    this.#keysByTopic.set(topic, keys);
    keys.add(key);
    return p;
  }

  async #removePartition(p: Partition): Promise<void> {
    const wasLeader = p.isLeader;
    this.#fetchers.unfollow(p);
    const key = partitionKey(p.topic, p.partition);
    this.#partitions.delete(key);
    const keys = this.#keysByTopic.get(p.topic);
    keys?.delete(key);
    if (keys?.size === 0) this.#keysByTopic.delete(p.topic);
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

  /** Writes each log dir's `replication-offset-checkpoint` (serialized; the latest state wins). */
  #checkpointHighWatermarks(): Promise<void> {
    this.#hwCheckpointing = this.#hwCheckpointing.catch(() => {}).then(async () => {
      for (const manager of this.#onlineManagers()) {
        const entries = [...this.#partitions.values()]
          .filter((p) => p.logDir === manager.logDir)
          .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.highWatermark }));
        await writeOffsetCheckpoint(
          path.join(manager.logDir, HIGH_WATERMARK_CHECKPOINT_FILE),
          entries,
        ).catch((error) => {
          this.ctx.logger.warn(
            `Cannot write ${HIGH_WATERMARK_CHECKPOINT_FILE} in ${manager.logDir}: ${error}`,
          );
          // Kafka: a failed high watermark checkpoint takes its directory offline.
          this.#dirFailures.maybeFail(manager.logDir, error);
        });
      }
    });
    return this.#hwCheckpointing;
  }

  // ---------------------------------------------------------------- log directories (KIP-858)

  #onlineManagers(): LogManager[] {
    return this.#managers.filter((m) => !this.#dirFailures.isOffline(m.logDir));
  }

  #directoryIdOf(logDir: string): string | null {
    return this.#options.directoryIds?.get(logDir) ?? null;
  }

  /**
   * Where a new replica's log goes (Kafka's `LogManager.nextLogDirs`): the online dir the image
   * assigns it, else the online dir with the fewest partitions (logs being created counted).
   */
  #placementDir(reg: PartitionRegistration): LogManager {
    const online = this.#onlineManagers();
    if (online.length === 0) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "Every log directory has failed.");
    }
    const assigned = reg.directories[reg.replicas.indexOf(this.ctx.nodeId)];
    const named = online.find((m) => this.#directoryIdOf(m.logDir) === assigned);
    if (named !== undefined) return named;
    const load = (m: LogManager) => m.all().length + (this.#creating.get(m) ?? 0);
    return online.reduce((a, b) => (load(b) < load(a) ? b : a));
  }

  /** Queues an AssignReplicasToDirs when the image does not name the replica's directory. */
  #maybeAssignDirectory(image: MetadataImage, p: Partition, reg: PartitionRegistration): void {
    const directoryId = this.#directoryIdOf(p.logDir);
    if (this.#assignments === null || directoryId === null) return;
    if (metadataVersion(image) < MetadataVersion.IBP_3_7_IV2) return;
    const i = reg.replicas.indexOf(this.ctx.nodeId);
    const current = i < 0 ? directoryId : reg.directories[i] ?? DIRECTORY_UNASSIGNED;
    if (current === directoryId) return;
    // With one log dir, a failure stops the broker: where its replicas live needs no telling.
    const unnamed = current === DIRECTORY_UNASSIGNED || current === DIRECTORY_MIGRATING;
    if (unnamed && this.ctx.config.logDirs.length === 1) return;
    this.#assignments.assign({ topicId: p.topicId, partition: p.partition, directoryId });
  }

  /**
   * A replica being opened in `logDir` met `error` (null: none): when that is (or the directory
   * already had) a disk failure, the replica is offline like the others there, and the controller must learn
   * its directory. True when so.
   */
  #failedWhileOpening(d: DesiredPartition, logDir: string, error: unknown): boolean {
    this.#dirFailures.maybeFail(logDir, error);
    if (!this.#dirFailures.isOffline(logDir)) return false;
    const key = partitionKey(d.topic, d.index);
    this.#offline.set(key, { topic: d.topic, partition: d.index, topicId: d.topicId, logDir });
    const directoryId = this.#directoryIdOf(logDir);
    if (directoryId !== null && this.ctx.config.logDirs.length > 1) {
      this.#assignments?.assign({ topicId: d.topicId, partition: d.index, directoryId });
    }
    return true;
  }

  /**
   * Kafka's rule for a missing log while a log dir is offline (`LogManager.getOrCreateLog`): only a
   * new replica (no directory assigned yet) is created; one the metadata placed in a directory may
   * be on the failed disk, and an empty stand-in must never lead or count as in sync.
   */
  #refuseIfMaybeOffline(d: DesiredPartition): void {
    const offline = this.#dirFailures.offlineDirs();
    if (offline.length === 0) return;
    const assigned = d.reg.directories[d.reg.replicas.indexOf(this.ctx.nodeId)] ??
      DIRECTORY_UNASSIGNED;
    if (assigned === DIRECTORY_UNASSIGNED || assigned === DIRECTORY_MIGRATING) return;
    const logDir = this.ctx.config.logDirs.find((dir) => this.#directoryIdOf(dir) === assigned) ??
      offline[0]!;
    const key = partitionKey(d.topic, d.index);
    this.#offline.set(key, { topic: d.topic, partition: d.index, topicId: d.topicId, logDir });
    throw new KafkaError(
      ErrorCode.KAFKA_STORAGE_ERROR,
      `Cannot create the log of ${key}: its directory ${assigned} may be one of the offline ${
        offline.join(", ")
      }.`,
    );
  }

  #assignmentNeeded(a: { topicId: string; partition: number; directoryId: string }): boolean {
    const image = this.ctx.metadata.image;
    const reg = image.topics.byId.get(a.topicId)?.partitions.get(a.partition);
    const i = reg?.replicas.indexOf(this.ctx.nodeId) ?? -1;
    return reg !== undefined && i >= 0 && reg.directories[i] !== a.directoryId;
  }

  /**
   * A log dir failed (Kafka's `ReplicaManager.handleLogDirFailure`): its replicas stop serving
   * and are remembered as offline, its logs are dropped without writing, and the directory is
   * reported (or the broker stops, when nothing is left to serve from).
   */
  #handleLogDirFailure(logDir: string, error: Error): void {
    const logger = this.ctx.logger;
    let stopped = 0;
    for (const p of [...this.#partitions.values()]) {
      if (p.logDir !== logDir) continue;
      const key = partitionKey(p.topic, p.partition);
      const wasLeader = p.isLeader;
      this.#fetchers.unfollow(p);
      this.#isrQueue.delete(p);
      this.#partitions.delete(key);
      const keys = this.#keysByTopic.get(p.topic);
      keys?.delete(key);
      if (keys?.size === 0) this.#keysByTopic.delete(p.topic);
      this.#offline.set(key, {
        topic: p.topic,
        partition: p.partition,
        topicId: p.topicId,
        logDir,
      });
      p.close(ErrorCode.KAFKA_STORAGE_ERROR);
      stopped++;
      if (wasLeader) this.#emit(p.topic, p.partition, false);
    }
    this.#managers.find((m) => m.logDir === logDir)?.abandon();
    logger.error(
      `Log directory ${logDir} failed (${error.message}): its ${stopped} replicas stopped serving`,
    );
    const fatal = this.#onlineManagers().length === 0
      ? `Every log directory (${this.ctx.config.logDirs.join(", ")}) has failed`
      : logDir === this.ctx.config.metadataLogDir
      ? `The metadata log directory ${logDir} has failed`
      : null;
    if (fatal !== null) {
      if (this.#options.onFatal !== undefined) this.#options.onFatal(`${fatal}: shutting down.`);
      else logger.error(`${fatal}.`);
      return;
    }
    this.#options.onLogDirFailure?.({ logDir, directoryId: this.#directoryIdOf(logDir) });
  }

  // ---------------------------------------------------------------- ISR changes (KIP-497)

  #minInsyncReplicas(image: MetadataImage, topic: string): number {
    const override = resourceConfigs(image, ConfigResourceType.TOPIC, topic).get(
      "min.insync.replicas",
    );
    const value = Number(override ?? this.ctx.config.minInsyncReplicas);
    return Number.isSafeInteger(value) && value >= 1 ? value : 1;
  }

  /** Queues an AlterPartition for `p` when its leader state wants an ISR change. */
  #maybeChangeIsr(p: Partition): void {
    if (this.#closed || !p.isLeader || this.#isrQueue.has(p)) return;
    const brokers = this.ctx.metadata.image.cluster.brokers;
    const isr = p.isrChange(Date.now(), this.#replicaLagTimeMaxMs, (id) => {
      const b = brokers.get(id);
      // Kafka's isReplicaIsrEligible: registered, unfenced, not shutting down, and fetching with
      // the broker epoch the image knows (a restarted follower waits for its new registration).
      const fetchEpoch = p.leaderState?.followers.get(id)?.brokerEpoch ?? -1n;
      return b !== undefined && !b.fenced && !b.inControlledShutdown &&
        (fetchEpoch < 0n || fetchEpoch === BigInt(b.epoch));
    });
    if (isr === null) return;
    p.proposeIsr(isr);
    this.#isrQueue.add(p);
    this.#isrFlush ??= setTimeout(() => {
      this.#isrFlush = undefined;
      void this.#sendIsrChanges();
    }, 0);
  }

  /** Sends every queued ISR change in one AlterPartition (v3: ISR members with broker epochs). */
  async #sendIsrChanges(): Promise<void> {
    const queued = [...this.#isrQueue];
    this.#isrQueue.clear();
    const byTopic = new Map<string, { p: Partition; isr: number[] }[]>();
    for (const p of queued) {
      const pending = p.leaderState?.pendingIsr;
      if (!p.isLeader || pending == null) continue;
      const list = byTopic.get(p.topicId) ?? [];
      byTopic.set(p.topicId, list);
      list.push({ p, isr: [...pending.isr] });
    }
    if (byTopic.size === 0) return;
    const epochOf = (p: Partition, id: number) =>
      id === this.ctx.nodeId
        ? this.ctx.brokerEpoch()
        : p.leaderState?.followers.get(id)?.brokerEpoch ?? -1n;
    // The generated constructors fill every field the schema has (the writer reads fields of
    // other versions too, e.g. v0-v2's newIsr, to check they hold their defaults).
    const request = {
      brokerId: this.ctx.nodeId,
      brokerEpoch: this.ctx.brokerEpoch(),
      topics: [...byTopic].map(([topicId, items]) =>
        createTopicData({
          topicId,
          partitions: items.map(({ p, isr }) =>
            createPartitionData({
              partitionIndex: p.partition,
              leaderEpoch: p.leaderEpoch,
              newIsrWithEpochs: isr.map((brokerId) =>
                createBrokerState({ brokerId, brokerEpoch: epochOf(p, brokerId) })
              ),
              leaderRecoveryState: 0,
              partitionEpoch: p.leaderState?.pendingIsr?.partitionEpoch ?? p.partitionEpoch,
            })
          ),
        })
      ),
    };
    const all = [...byTopic.values()].flat();
    let response: AlterPartitionResponse;
    try {
      response = await this.ctx.controller.send<AlterPartitionResponse>(
        ApiKey.ALTER_PARTITION,
        request,
        { timeoutMs: ALTER_PARTITION_TIMEOUT_MS, version: 3 },
      );
    } catch (error) {
      this.ctx.logger.warn(`AlterPartition failed: ${(error as Error).message}`);
      for (const { p } of all) p.completeIsrChange(null);
      return;
    }
    const answered = new Set<Partition>();
    for (const t of response.topics) {
      for (const pd of t.partitions) {
        const item = byTopic.get(t.topicId)?.find((i) => i.p.partition === pd.partitionIndex);
        if (item === undefined) continue;
        answered.add(item.p);
        if (response.errorCode !== ErrorCode.NONE || pd.errorCode !== ErrorCode.NONE) {
          const code = response.errorCode || pd.errorCode;
          this.ctx.logger.info(
            `AlterPartition of ${item.p.topic}-${item.p.partition} to ISR [${item.isr}] refused with error ${code}`,
          );
          item.p.completeIsrChange(null);
          continue;
        }
        this.ctx.logger.info(
          `ISR of ${item.p.topic}-${item.p.partition} is now [${pd.isr}] (partition epoch ${pd.partitionEpoch})`,
        );
        item.p.completeIsrChange({
          isr: pd.isr,
          partitionEpoch: pd.partitionEpoch,
          leaderEpoch: pd.leaderEpoch,
        });
      }
    }
    for (const { p } of all) if (!answered.has(p)) p.completeIsrChange(null);
  }

  /** A follower's lag behind its leader's high watermark as last fetched, -1 when unknown. */
  followerLag(p: Partition): number {
    return p.role === "follower" ? this.#fetchers.lagOf(p) : 0;
  }

  // ---------------------------------------------------------------- maintenance

  async #maintainProducerState(): Promise<void> {
    const expirationMs = this.ctx.config.producerIdExpirationMs;
    const nowMs = Date.now();
    for (const p of [...this.#partitions.values()]) {
      if (p.closed) continue;
      p.producers.evictBelow(p.logStartOffset);
      // Retention deleted the segments (and their .txnindex files) below the log start.
      p.transactionIndex.dropBelow(p.logStartOffset);
      p.producers.removeExpired(nowMs, expirationMs);
      await p.writeProducerState();
    }
  }
}
