/**
 * What the group and the transaction coordinators share (Kafka's `CoordinatorRuntime`): one
 * coordinator per partition of their internal topic this broker leads, loaded from that partition
 * before it serves (a failed read is retried with a backoff, then the partition is given up until
 * leadership changes), one timer that fires the earliest deadline of any loaded coordinator, and
 * routing of a key (group id, transactional id) to its partition's coordinator with Kafka's error
 * codes (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
 *
 * The managers keep what differs: how a slot is built, what its coordinator does with loaded
 * records, what unloading answers, and the effects of their coordinators.
 *
 * @module
 */
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import assert from "node:assert/strict";
import type { Logger } from "../core/log.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import type { CoordinatorLocation } from "../net/handlers/group_service.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import {
  createCreatableTopic,
  createCreatableTopicConfig,
} from "../net/protocol/generated/create_topics_request.ts";
import type { CreateTopicsResponse } from "../net/protocol/generated/create_topics_response.ts";

/**
 * Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, in int32.
 *
 * @example
 * ```ts
 * import { javaStringHashCode } from "./coordinator_runtime.ts";
 * javaStringHashCode("hello"); // 99162322
 * ```
 */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * The `__consumer_offsets` partition of a group: `Utils.abs(groupId.hashCode()) % partitions`,
 * where Kafka's `Utils.abs` maps Integer.MIN_VALUE to 0.
 *
 * @example
 * ```ts
 * import { partitionForGroup } from "./coordinator_runtime.ts";
 * partitionForGroup("my-group", 50);
 * ```
 */
export function partitionForGroup(groupId: string, partitionCount: number): number {
  assert(partitionCount > 0, `partitionCount must be positive, got ${partitionCount}.`);
  const h = javaStringHashCode(groupId);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitionCount;
}

/** A coordinator as the runtime drives it: deadlines and what is due at them. */
export interface TickingCoordinator<Effect> {
  nextDeadlineMs(): number | null;
  tick(nowMs: number): Effect[];
}

/** One partition's coordinator and where it is in its life. */
export interface CoordinatorSlot<Coordinator> {
  readonly partition: number;
  state: "loading" | "active" | "dropped";
  readonly coordinator: Coordinator;
}

/** A key's coordinator, or the error that tells the client why there is none here. */
export type SlotRoute<Slot> = { slot: Slot; errorCode: 0 } | { slot: null; errorCode: number };

/** What the runtime needs of its broker (a `BrokerContext` has it all). */
export interface CoordinatorBroker {
  readonly logger: Logger;
  readonly nodeId: number;
  /** The metadata image now (FindCoordinator answers from it). */
  readonly metadata: { readonly image: MetadataImage };
  /** The active controller (CreateTopics of the internal topic). */
  readonly controller: InternalTopicDeps["controller"];
}

/** How a partition is loaded (the managers' options; the defaults below otherwise). */
export interface CoordinatorLoadOptions {
  /** Bytes per read while loading a partition (default 1 MiB). */
  loadReadBytes?: number;
  /** Delay between load attempts (default 500 ms), at most `loadAttemptsMax` (default 5). */
  loadRetryBackoffMs?: number;
  loadAttemptsMax?: number;
}

/** Options of {@link CoordinatorRuntime}. */
export interface CoordinatorRuntimeOptions<Effect, Slot> extends CoordinatorLoadOptions {
  /** The internal topic (`__consumer_offsets`, `__transaction_state`). */
  topic: string;
  broker: CoordinatorBroker;
  nowMs: () => number;
  /** Partitions of the topic (the image's count, or the configured one before it exists). */
  partitionCount: () => number;
  /** Applies what a coordinator's tick returned. */
  runEffects: (slot: Slot, effects: Effect[]) => void;
}

/** The longest the tick timer waits before it looks again, in milliseconds. */
const TICK_DELAY_MAX_MS = 60_000;
/** Bound on reads while loading one partition (each reads at least one batch or ends). */
const LOAD_READS_MAX = 1_048_576;

/** A chunk of the internal topic as the managers' log stores read it. */
export interface PartitionChunk {
  records: Uint8Array;
  highWatermark: number;
}

/** What decoding a chunk gave: the records and where the next read starts. */
export interface DecodedChunk<Record> {
  records: Record[];
  nextOffset: number;
}

/**
 * The slots of one coordinator kind.
 *
 * @example
 * ```ts ignore
 * const runtime = new CoordinatorRuntime<Effect, Coordinator, Slot>({ topic: "__consumer_offsets", ... });
 * runtime.slots.set(3, slot);
 * runtime.load(slot, { read: (s) => readAll(s), onLoaded: (s, records) => ..., giveUp: (p) => resign(p) });
 * const route = runtime.route("billing"); // { slot, errorCode: 0 } when partition 3 holds it
 * ```
 */
export class CoordinatorRuntime<
  Effect,
  Coordinator extends TickingCoordinator<Effect>,
  Slot extends CoordinatorSlot<Coordinator>,
> {
  readonly slots = new Map<number, Slot>();
  /** Creates the internal topic when FindCoordinator finds it missing. */
  readonly topicCreation: InternalTopicCreation;
  readonly #options: CoordinatorRuntimeOptions<Effect, Slot>;
  readonly #loadReadBytes: number;
  readonly #loadRetryBackoffMs: number;
  readonly #loadAttemptsMax: number;
  readonly #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #tickTimer: ReturnType<typeof setTimeout> | undefined;
  #tickAtMs = Infinity;
  #started = false;
  #closed = false;

  constructor(options: CoordinatorRuntimeOptions<Effect, Slot>) {
    this.#options = options;
    this.#loadReadBytes = options.loadReadBytes ?? 1_048_576;
    this.#loadRetryBackoffMs = options.loadRetryBackoffMs ?? 500;
    this.#loadAttemptsMax = options.loadAttemptsMax ?? 5;
    const { broker } = options;
    this.topicCreation = new InternalTopicCreation(options.topic, {
      logger: broker.logger,
      image: () => broker.metadata.image,
      controller: broker.controller,
    });
  }

  get started(): boolean {
    return this.#started;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the runtime serving; returns false when it was started before. */
  start(): boolean {
    if (this.#started) return false;
    this.#started = true;
    return true;
  }

  /** Stops the timers; the manager resigns its slots first. Returns false when closed before. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    if (this.#tickTimer !== undefined) clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    return true;
  }

  /** The partitions whose coordinator is loaded or loading (tests). */
  partitionStates(): Map<number, "loading" | "active"> {
    const states = new Map<number, "loading" | "active">();
    for (const [p, slot] of this.slots) if (slot.state !== "dropped") states.set(p, slot.state);
    return states;
  }

  /**
   * Loads `slot`: `read` its partition; on failure try again after the backoff, and after the last
   * attempt `giveUp` (the partition waits for the next leadership change); on success, unless the
   * slot was dropped meanwhile, `onLoaded`.
   */
  async load<Loaded>(
    slot: Slot,
    steps: {
      read(slot: Slot): Promise<Loaded>;
      onLoaded(slot: Slot, loaded: Loaded): void;
      giveUp(partition: number): void;
    },
    attempt = 1,
  ): Promise<void> {
    const { topic, broker: { logger } } = this.#options;
    const loadAttemptsMax = this.#loadAttemptsMax;
    const loadRetryBackoffMs = this.#loadRetryBackoffMs;
    let loaded: Loaded;
    try {
      loaded = await steps.read(slot);
    } catch (error) {
      if (slot.state !== "loading") return;
      const message =
        `Cannot load ${topic}-${slot.partition} (attempt ${attempt} of ${loadAttemptsMax}): ${
          (error as Error).message
        }`;
      if (attempt >= loadAttemptsMax) {
        logger.error(`${message}; giving the partition up until leadership changes`);
        steps.giveUp(slot.partition);
        return;
      }
      logger.warn(message);
      const timer = setTimeout(() => {
        this.#retryTimers.delete(timer);
        if (slot.state === "loading") void this.load(slot, steps, attempt + 1);
      }, loadRetryBackoffMs);
      this.#retryTimers.add(timer);
      return;
    }
    if (slot.state !== "loading") return;
    steps.onLoaded(slot, loaded);
  }

  /**
   * Reads `slot`'s partition from offset 0 to its high watermark in chunks, decoding each; stops
   * early (with what it has) once the slot is no longer loading.
   */
  async readPartition<Record>(
    slot: Slot,
    read: (partition: number, offset: number, maxBytes: number) => Promise<PartitionChunk>,
    decode: (chunk: PartitionChunk, offset: number) => DecodedChunk<Record>,
  ): Promise<Record[]> {
    const records: Record[] = [];
    let offset = 0;
    for (let reads = 0; reads < LOAD_READS_MAX; reads++) {
      const chunk = await read(slot.partition, offset, this.#loadReadBytes);
      if (slot.state !== "loading") return records;
      if (offset >= chunk.highWatermark) return records;
      const decoded = decode(chunk, offset);
      records.push(...decoded.records);
      if (decoded.nextOffset <= offset) {
        throw new Error(
          `the read at offset ${offset} returned no batch below the high watermark ${chunk.highWatermark}`,
        );
      }
      offset = decoded.nextOffset;
    }
    throw new Error(`the partition did not end within ${LOAD_READS_MAX} reads`);
  }

  /** Fires every coordinator deadline that is due (the timer calls this; tests may too). */
  tick(): void {
    if (this.#closed) return;
    const nowMs = this.#options.nowMs();
    for (const slot of [...this.slots.values()]) {
      if (slot.state !== "active") continue;
      const deadlineMs = slot.coordinator.nextDeadlineMs();
      if (deadlineMs !== null && deadlineMs <= nowMs) {
        this.#options.runEffects(slot, slot.coordinator.tick(nowMs));
      }
    }
    this.scheduleTick(true);
  }

  /** Sets the timer to the earliest deadline (only if earlier than the one set, unless forced). */
  scheduleTick(force = false): void {
    if (this.#closed) return;
    let earliest = Infinity;
    for (const slot of this.slots.values()) {
      if (slot.state !== "active") continue;
      earliest = Math.min(earliest, slot.coordinator.nextDeadlineMs() ?? Infinity);
    }
    if (!force && this.#tickTimer !== undefined && this.#tickAtMs <= earliest) return;
    if (this.#tickTimer !== undefined) clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    this.#tickAtMs = earliest;
    if (earliest === Infinity) return;
    const delayMs = Math.min(Math.max(earliest - this.#options.nowMs(), 0), TICK_DELAY_MAX_MS);
    this.#tickTimer = setTimeout(() => {
      this.#tickTimer = undefined;
      this.tick();
    }, delayMs);
  }

  /** The partition of the internal topic that holds `key`. */
  partitionFor(key: string): number {
    return partitionForGroup(key, this.#options.partitionCount());
  }

  /**
   * FindCoordinator's answer for `key` (Kafka's, once the key is valid): the broker leading its
   * partition, at its endpoint on `listenerName`. COORDINATOR_NOT_AVAILABLE while the topic does
   * not exist (`createTopic` is asked to make it), while the leader is unknown or fenced, and while
   * this broker leads the partition but has not loaded it (the client retries rather than meeting
   * COORDINATOR_LOAD_IN_PROGRESS on every request).
   */
  locate(key: string, listenerName: string, createTopic: () => void): CoordinatorLocation {
    const fail = (errorCode: number): CoordinatorLocation => ({
      errorCode,
      errorMessage: null,
      nodeId: -1,
      host: "",
      port: -1,
    });
    if (this.#closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const self = this.#options.broker;
    const image = self.metadata.image;
    const topic = image.topics.byName.get(this.#options.topic);
    if (topic === undefined) {
      createTopic();
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const partition = this.partitionFor(key);
    const leader = topic.partitions.get(partition)?.leader ?? -1;
    const broker = leader < 0 ? undefined : image.cluster.brokers.get(leader);
    if (broker === undefined || broker.fenced) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (leader === self.nodeId && this.slots.get(partition)?.state !== "active") {
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const endpoint = broker.endpoints.find((e) => e.name === listenerName) ?? broker.endpoints[0];
    if (endpoint === undefined) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      nodeId: leader,
      host: endpoint.host,
      port: endpoint.port,
    };
  }

  /** `key`'s coordinator here, or why there is none. */
  route(key: string): SlotRoute<Slot> {
    if (this.#closed || !this.#started) {
      return { slot: null, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const slot = this.slots.get(this.partitionFor(key));
    if (slot === undefined) return { slot: null, errorCode: ErrorCode.NOT_COORDINATOR };
    if (slot.state === "loading") {
      return { slot: null, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return { slot, errorCode: ErrorCode.NONE };
  }
}

/** The `timeoutMs` of the CreateTopics request for an internal topic. */
const CREATE_TOPIC_TIMEOUT_MS = 30_000;

/** What {@link InternalTopicCreation} needs of the broker. */
export interface InternalTopicDeps {
  logger: Logger;
  image: () => MetadataImage;
  /** The active controller (CreateTopics). */
  controller: { send<T>(apiKey: number, body: Record<string, unknown>): Promise<T> };
}

/** An internal topic as its coordinator creates it. */
export interface InternalTopicSpec {
  numPartitions: number;
  replicationFactor: number;
  /** The setting that asks for `replicationFactor` (named when too few brokers are live). */
  replicationFactorKey: string;
  configs: Record<string, string>;
}

/**
 * Creates a coordinator's internal topic through the active controller once; concurrent callers
 * share the request. As in Kafka, the topic gets its configured replication factor and is not
 * created before that many brokers are live (FindCoordinator answers COORDINATOR_NOT_AVAILABLE
 * meanwhile): quietly creating it with fewer would leave its state unreplicated for good.
 *
 * @example
 * ```ts ignore
 * const topic = new InternalTopicCreation("__consumer_offsets", { logger, image, controller });
 * topic.ensure({ numPartitions: 50, replicationFactor: 3, replicationFactorKey: "offsets.topic.replication.factor", configs: { "cleanup.policy": "compact" } });
 * await topic.settled();
 * ```
 */
export class InternalTopicCreation {
  readonly name: string;
  readonly #deps: InternalTopicDeps;
  #creating: Promise<void> | null = null;
  #lastWait = "";

  constructor(name: string, deps: InternalTopicDeps) {
    this.name = name;
    this.#deps = deps;
  }

  /** Starts the creation unless one is in flight or too few brokers are live (then says why). */
  ensure(spec: InternalTopicSpec): void {
    if (this.#creating !== null) return;
    const { logger, image, controller } = this.#deps;
    const liveBrokers = [...image().cluster.brokers.values()]
      .filter((b) => !b.fenced && !b.inControlledShutdown).length;
    const replicationFactor = Math.max(1, spec.replicationFactor);
    if (liveBrokers < replicationFactor) {
      const line = `Not creating ${this.name} yet: ${spec.replicationFactorKey} is ` +
        `${replicationFactor} but ${liveBrokers} broker(s) are live (set it to at most the ` +
        `number of brokers)`;
      if (line !== this.#lastWait) logger.warn(line);
      this.#lastWait = line;
      return;
    }
    this.#lastWait = "";
    const body = {
      topics: [createCreatableTopic({
        name: this.name,
        numPartitions: spec.numPartitions,
        replicationFactor,
        configs: Object.entries(spec.configs).map(([name, value]) =>
          createCreatableTopicConfig({ name, value })
        ),
      })],
      timeoutMs: CREATE_TOPIC_TIMEOUT_MS,
      validateOnly: false,
    };
    logger.info(
      `Creating ${this.name} with ${spec.numPartitions} partitions and replication factor ` +
        `${replicationFactor}`,
    );
    this.#creating = controller
      .send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, body)
      .then((response) => {
        const result = response.topics.find((t) => t.name === this.name);
        const code = result?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
          logger.warn(
            `The controller did not create ${this.name}: error ${code} ${
              result?.errorMessage ?? ""
            }`,
          );
        }
      })
      .catch((error) => {
        logger.warn(`Cannot create ${this.name}: ${(error as Error).message}`);
      })
      .finally(() => {
        this.#creating = null;
      });
  }

  /** Resolves when a creation in flight has settled (at once when none is). */
  settled(): Promise<void> {
    return this.#creating ?? Promise.resolve();
  }
}
