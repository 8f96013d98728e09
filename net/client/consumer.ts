/**
 * `Consumer`: reads partitions either by assignment (`assign`) or as a member of a consumer group
 * (`subscribe`): with `groupProtocol: "classic"` (default) JoinGroup/SyncGroup/Heartbeat with
 * protocol type "consumer" and the range assignor; with `groupProtocol: "consumer"` the KIP-848
 * ConsumerGroupHeartbeat protocol (server-side assignment, revocation before assignment, applied
 * between fetches inside `poll`). It long-polls Fetch at each partition's leader, decodes v2 batches, drops
 * control records (and aborted transactions under read_committed), and commits offsets.
 *
 * @module
 */

import type { KafkaConnection } from "../connection.ts";
import { KafkaError } from "../protocol/errors.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import {
  ControlRecordType,
  decodeControlKey,
  openBatch,
  type RecordHeader,
} from "../protocol/records.ts";
import {
  batchesIn,
  CONTROL_FLAG_MASK,
  magicAt,
  readBatchHeader,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
} from "../protocol/record_batch.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createFetchPartition,
  createFetchTopic,
  type FetchPartition,
} from "../protocol/generated/fetch_request.ts";
import type {
  FetchableTopicResponse,
  FetchResponse,
  PartitionData,
} from "../protocol/generated/fetch_response.ts";
import { createJoinGroupRequestProtocol } from "../protocol/generated/join_group_request.ts";
import type { JoinGroupResponse } from "../protocol/generated/join_group_response.ts";
import { createSyncGroupRequestAssignment } from "../protocol/generated/sync_group_request.ts";
import type { SyncGroupResponse } from "../protocol/generated/sync_group_response.ts";
import type { HeartbeatResponse } from "../protocol/generated/heartbeat_response.ts";
import { createTopicPartitions as createHeartbeatTopicPartitions } from "../protocol/generated/consumer_group_heartbeat_request.ts";
import type { ConsumerGroupHeartbeatResponse } from "../protocol/generated/consumer_group_heartbeat_response.ts";
import { createMemberIdentity } from "../protocol/generated/leave_group_request.ts";
import {
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
} from "../protocol/generated/offset_commit_request.ts";
import type { OffsetCommitResponse } from "../protocol/generated/offset_commit_response.ts";
import {
  createConsumerProtocolSubscription,
  readConsumerProtocolSubscription,
  writeConsumerProtocolSubscription,
} from "../protocol/generated/consumer_protocol_subscription.ts";
import {
  createConsumerProtocolAssignment,
  createTopicPartition,
  writeConsumerProtocolAssignment,
} from "../protocol/generated/consumer_protocol_assignment.ts";
import { Admin, decodeAssignment, type TopicPartition } from "./admin.ts";
import { check, type ClientOptions, isRetriableFailure, kafkaError } from "./cluster.ts";

/** Options for {@link Consumer}. */
export interface ConsumerOptions extends ClientOptions {
  /** The consumer group (needed for subscribe and commit). */
  groupId?: string;
  /** Where to start without a committed offset (Kafka's auto.offset.reset; default latest). */
  autoOffsetReset?: "earliest" | "latest" | "none";
  /** read_uncommitted (default) or read_committed. */
  isolationLevel?: "read_uncommitted" | "read_committed";
  /** Commit positions on poll every autoCommitIntervalMs and on close (default true with a group). */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Longest time a Fetch waits at the broker for data (Kafka's fetch.max.wait.ms; default 500). */
  fetchMaxWaitMs?: number;
  fetchMaxBytes?: number;
  maxPartitionFetchBytes?: number;
  /** Kafka's group.protocol: "classic" (default) or "consumer" (KIP-848). */
  groupProtocol?: "classic" | "consumer";
  /** Kafka's group.remote.assignor for the "consumer" protocol (default: the broker's). */
  groupRemoteAssignor?: string;
}

/** One consumed record. */
export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: "CreateTime" | "LogAppendTime";
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  leaderEpoch: number;
}

/** Kafka's ConsumerRebalanceListener: told inside `poll` when the group hands partitions over. */
export interface RebalanceListener {
  /**
   * Partitions this member now reads, once their positions are known and before they are
   * fetched: the whole assignment under the classic protocol, the newly added ones under KIP-848.
   */
  onPartitionsAssigned?(partitions: TopicPartition[]): void;
}

/** Where assign() starts a partition: an offset, a named point, or (undefined) the group's commit. */
export type StartOffset = number | "earliest" | "latest";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`'s value, or undefined when it has not settled within `waitMs`. */
async function settledWithin<T>(promise: Promise<T>, waitMs: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The offset after the last whole v2 batch of `records`, as decoding them advances a position
 * that starts at `from`; undefined when a batch header is corrupt.
 */
function offsetAfterBatches(records: Uint8Array, from: number): number | undefined {
  let next = from;
  try {
    for (const { pos } of batchesIn(records)) {
      if (magicAt(records, pos) !== 2) continue;
      const header = readBatchHeader(records, pos);
      next = Math.max(next, header.baseOffset + header.lastOffsetDelta + 1);
    }
  } catch {
    return undefined;
  }
  return next;
}

/**
 * Kafka's RangeAssignor: per topic, members sorted by id take consecutive ranges, the first
 * `partitions % members` one partition more.
 *
 * @example
 * ```ts
 * import { rangeAssign } from "./consumer.ts";
 * rangeAssign(new Map([["a", ["t"]], ["b", ["t"]]]), new Map([["t", 3]]));
 * // Map { "a" => [{ topic: "t", partition: 0 }, { topic: "t", partition: 1 }], "b" => [{ topic: "t", partition: 2 }] }
 * ```
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>();
  for (const member of subscriptions.keys()) out.set(member, []);
  const topics = new Set([...subscriptions.values()].flat());
  for (const topic of [...topics].sort()) {
    const count = partitionCounts.get(topic) ?? 0;
    const members = [...subscriptions].filter(([, ts]) => ts.includes(topic)).map(([m]) => m)
      .sort();
    if (members.length === 0) continue;
    const per = Math.floor(count / members.length);
    const extra = count % members.length;
    members.forEach((member, i) => {
      const start = i * per + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) out.get(member)!.push({ topic, partition: p });
    });
  }
  return out;
}

/**
 * Encodes a version-prefixed ConsumerProtocolSubscription (JoinGroup metadata).
 *
 * @example
 * ```ts
 * import { encodeSubscription } from "./consumer.ts";
 * encodeSubscription(["orders"]).length; // 2 + 4 + 2 + 6 + 4
 * ```
 */
export function encodeSubscription(topics: readonly string[]): Uint8Array {
  const w = new Writer(64);
  w.int16(0);
  writeConsumerProtocolSubscription(
    w,
    0,
    createConsumerProtocolSubscription({ topics: [...topics], userData: null }),
  );
  return w.finish();
}

function decodeSubscription(bytes: Uint8Array): string[] {
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    return readConsumerProtocolSubscription(r, Math.min(version, 3)).topics;
  } catch {
    return [];
  }
}

/**
 * Encodes a version-0 ConsumerProtocolAssignment (SyncGroup assignment).
 *
 * @example
 * ```ts
 * import { encodeAssignment } from "./consumer.ts";
 * encodeAssignment([{ topic: "orders", partition: 0 }]);
 * ```
 */
export function encodeAssignment(partitions: readonly TopicPartition[]): Uint8Array {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const w = new Writer(64);
  w.int16(0);
  writeConsumerProtocolAssignment(
    w,
    0,
    createConsumerProtocolAssignment({
      assignedPartitions: [...byTopic].map(([topic, ps]) =>
        createTopicPartition({ topic, partitions: ps })
      ),
      userData: null,
    }),
  );
  return w.finish();
}

/** One Fetch answer with the offsets it asked for (an answer for any other position is stale). */
interface FetchedResponse {
  nodeId: number;
  version: number;
  response: FetchResponse;
  /** The fetch offset of every partition asked, by partition key. */
  offsets: ReadonlyMap<string, number>;
}

/** A Fetch sent ahead: its answers, or the error the next poll throws. */
type FetchAhead = Promise<{ responses: FetchedResponse[] } | { error: unknown }>;

interface PartitionState {
  topic: string;
  partition: number;
  /** The next offset to fetch; undefined until resolved. */
  position?: number;
  start?: StartOffset;
}

/**
 * A Kafka consumer.
 *
 * @example
 * ```ts ignore
 * import { Consumer } from "./consumer.ts";
 * const consumer = new Consumer({ bootstrapServers: "127.0.0.1:9092", groupId: "g1", autoOffsetReset: "earliest" });
 * consumer.subscribe(["orders"]);
 * for (const r of await consumer.poll({ timeoutMs: 1000 })) console.log(r.offset);
 * await consumer.close();
 * ```
 */
export class Consumer {
  readonly admin: Admin;
  readonly #options: ConsumerOptions;
  readonly #groupId: string | undefined;
  #partitions = new Map<string, PartitionState>();
  #subscription: string[] | undefined;
  #memberId = "";
  #generationId = -1;
  #needsJoin = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastCommitMs = 0;
  #closed = false;
  // KIP-848 ("consumer" group protocol) state.
  /** The assignment last received (partitions by topic id), not yet applied. */
  #pendingAssignment: Map<string, number[]> | null = null;
  /** Heartbeats are sent one at a time, in order. */
  #heartbeatChain: Promise<void> = Promise.resolve();
  #heartbeatIntervalMs = 5000;
  #rebalanceListener: RebalanceListener = {};
  /** The Fetch sent while the previous answer was decoded; see #maybeFetchAhead. */
  #fetchAhead: FetchAhead | undefined;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#groupId = options.groupId;
    this.admin = new Admin(options);
  }

  get #cluster() {
    return this.admin.cluster;
  }

  /** The member id given by the group coordinator ("" before joining). */
  get memberId(): string {
    return this.#memberId;
  }

  /** Reads exactly these partitions (no group membership). */
  assign(partitions: readonly (TopicPartition & { offset?: StartOffset })[]): void {
    this.#subscription = undefined;
    this.#partitions.clear();
    this.#fetchAhead = undefined; // its answer, if it comes, is for partitions no longer read
    for (const p of partitions) {
      this.#partitions.set(`${p.topic}\u0000${p.partition}`, {
        topic: p.topic,
        partition: p.partition,
        start: p.offset,
        position: typeof p.offset === "number" ? p.offset : undefined,
      });
    }
  }

  /** Joins the group (on the next poll) with these topics. */
  subscribe(topics: readonly string[], listener: RebalanceListener = {}): void {
    if (this.#groupId === undefined) throw new RangeError("subscribe needs a groupId");
    this.#rebalanceListener = listener;
    this.#subscription = [...topics];
    this.#partitions.clear();
    this.#fetchAhead = undefined;
    this.#needsJoin = true;
  }

  /** The partitions currently read. */
  assignment(): TopicPartition[] {
    return [...this.#partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** The next offset to read of an assigned partition (undefined until known). */
  position(topic: string, partition: number): number | undefined {
    return this.#partitions.get(`${topic}\u0000${partition}`)?.position;
  }

  /** Moves an assigned partition to `offset`. */
  seek(topic: string, partition: number, offset: number): void {
    const state = this.#partitions.get(`${topic}\u0000${partition}`);
    if (state === undefined) throw new RangeError(`${topic}-${partition} is not assigned`);
    state.position = offset;
  }

  /** Fetches the next records, waiting at most `timeoutMs` (default 1000) for some to arrive. */
  async poll(options: { timeoutMs?: number } = {}): Promise<ConsumerRecord[]> {
    if (this.#closed) throw new Error("Cannot poll: the consumer is closed");
    const deadline = Date.now() + (options.timeoutMs ?? 1000);
    for (let round = 0; round < 10_000; round++) {
      if (this.#usesConsumerProtocol()) {
        if (this.#needsJoin) await this.#joinConsumerGroup();
        if (this.#pendingAssignment !== null) await this.#reconcileAssignment();
      } else if (this.#needsJoin) await this.#join();
      await this.#resolvePositions();
      await this.#maybeAutoCommit();
      const remaining = deadline - Date.now();
      const waitMs = Math.max(0, Math.min(this.#options.fetchMaxWaitMs ?? 500, remaining));
      const records = this.#partitions.size === 0
        ? (await sleep(Math.min(waitMs, 100)), [])
        : await this.#fetchOnce(waitMs);
      if (records.length > 0 || Date.now() >= deadline || this.#closed) return records;
    }
    return [];
  }

  /** Commits `offsets` (default: every assigned partition's position) for the group. */
  async commit(offsets?: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    const groupId = this.#groupId;
    if (groupId === undefined) throw new RangeError("commit needs a groupId");
    const list = offsets ??
      [...this.#partitions.values()]
        .filter((p) => p.position !== undefined)
        .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.position! }));
    if (list.length === 0) return;
    this.#lastCommitMs = Date.now();
    if (this.#subscription === undefined) {
      await this.admin.alterConsumerGroupOffsets(groupId, list);
      return;
    }
    await this.#cluster.retrying(async () => {
      const nodeId = await this.#cluster.coordinatorFor(groupId);
      const conn = await this.#cluster.connectionTo(nodeId);
      const byTopic = new Map<string, typeof list[number][]>();
      for (const o of list) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
      const r = await conn.send<OffsetCommitResponse>(ApiKey.OFFSET_COMMIT, {
        groupId,
        generationIdOrMemberEpoch: this.#generationId,
        memberId: this.#memberId,
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [...byTopic].map(([name, ps]) =>
          createOffsetCommitRequestTopic({
            name,
            partitions: ps.map((p) =>
              createOffsetCommitRequestPartition({
                partitionIndex: p.partition,
                committedOffset: BigInt(p.offset),
                committedLeaderEpoch: -1,
                commitTimestamp: -1n,
                committedMetadata: "",
              })
            ),
          })
        ),
      }, { version: conn.versionFor(ApiKey.OFFSET_COMMIT, 9) });
      for (const t of r.topics) {
        for (const p of t.partitions) {
          this.#noteGroupError(p.errorCode);
          check(
            p.errorCode,
            `group ${groupId} partition ${t.name}-${p.partitionIndex}`,
          );
        }
      }
    });
  }

  async #maybeAutoCommit(): Promise<void> {
    if (this.#groupId === undefined || !(this.#options.autoCommit ?? true)) return;
    if (Date.now() - this.#lastCommitMs < (this.#options.autoCommitIntervalMs ?? 5000)) return;
    try {
      await this.commit();
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
    }
  }

  #noteGroupError(code: number): void {
    if (this.#usesConsumerProtocol()) {
      if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.FENCED_MEMBER_EPOCH) {
        this.#fenced(code);
      }
      return;
    }
    if (code === ErrorCode.REBALANCE_IN_PROGRESS) this.#needsJoin = true;
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION) {
      this.#memberId = code === ErrorCode.UNKNOWN_MEMBER_ID ? "" : this.#memberId;
      this.#needsJoin = true;
    }
  }

  async #join(): Promise<void> {
    const groupId = this.#groupId!;
    const topics = this.#subscription ?? [];
    const rebalanceTimeoutMs = this.#options.rebalanceTimeoutMs ?? 60_000;
    const sessionTimeoutMs = this.#options.sessionTimeoutMs ?? 45_000;
    if (this.#generationId >= 0 && (this.#options.autoCommit ?? true)) {
      await this.commit().catch(() => {});
    }
    this.#stopHeartbeat();
    const assigned = await this.#cluster.retrying(async () => {
      const nodeId = await this.#cluster.coordinatorFor(groupId);
      const conn = await this.#cluster.connectionTo(nodeId);
      // Bounded: a join can be interrupted by other members joining (REBALANCE_IN_PROGRESS on
      // SyncGroup) or by a reset member id; each retry rejoins the current rebalance.
      for (let attempt = 0; attempt < 50; attempt++) {
        const join = await conn.send<JoinGroupResponse>(ApiKey.JOIN_GROUP, {
          groupId,
          sessionTimeoutMs,
          rebalanceTimeoutMs,
          memberId: this.#memberId,
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [
            createJoinGroupRequestProtocol({ name: "range", metadata: encodeSubscription(topics) }),
          ],
          reason: null,
        }, {
          version: conn.versionFor(ApiKey.JOIN_GROUP, 9),
          timeoutMs: rebalanceTimeoutMs + 5000,
        });
        if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
          this.#memberId = join.memberId; // KIP-394: join again with the given id
          continue;
        }
        if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          this.#memberId = "";
          continue;
        }
        if (join.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
        check(join.errorCode, `group ${groupId}`);
        this.#memberId = join.memberId;
        this.#generationId = join.generationId;
        const assignments = join.leader === join.memberId ? await this.#assign(join) : [];
        const sync = await conn.send<SyncGroupResponse>(ApiKey.SYNC_GROUP, {
          groupId,
          generationId: this.#generationId,
          memberId: this.#memberId,
          groupInstanceId: null,
          protocolType: "consumer",
          protocolName: join.protocolName ?? "range",
          assignments,
        }, {
          version: conn.versionFor(ApiKey.SYNC_GROUP, 5),
          timeoutMs: rebalanceTimeoutMs + 5000,
        });
        if (
          sync.errorCode === ErrorCode.REBALANCE_IN_PROGRESS ||
          sync.errorCode === ErrorCode.ILLEGAL_GENERATION
        ) continue;
        if (sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          this.#memberId = "";
          continue;
        }
        check(sync.errorCode, `group ${groupId}`);
        return decodeAssignment(sync.assignment);
      }
      throw new KafkaError(
        ErrorCode.REBALANCE_IN_PROGRESS,
        `group ${groupId}: the group kept rebalancing; giving up after 50 joins`,
      );
    });
    this.#needsJoin = false;
    const previous = this.#partitions;
    this.#partitions = new Map();
    for (const tp of assigned) {
      const key = `${tp.topic}\u0000${tp.partition}`;
      this.#partitions.set(key, previous.get(key) ?? { ...tp });
    }
    const committed = await this.admin.listConsumerGroupOffsets(groupId, assigned);
    for (const c of committed) {
      const state = this.#partitions.get(`${c.topic}\u0000${c.partition}`);
      if (state !== undefined) state.position = c.offset;
    }
    this.#startHeartbeat();
    this.#rebalanceListener.onPartitionsAssigned?.(assigned);
  }

  async #assign(join: JoinGroupResponse) {
    const subscriptions = new Map(
      join.members.map((m) => [m.memberId, decodeSubscription(m.metadata)]),
    );
    const counts = new Map<string, number>();
    for (const topic of new Set([...subscriptions.values()].flat())) {
      try {
        counts.set(topic, (await this.#cluster.topic(topic, true)).partitions.length);
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
      }
    }
    return [...rangeAssign(subscriptions, counts)].map(([memberId, partitions]) =>
      createSyncGroupRequestAssignment({ memberId, assignment: encodeAssignment(partitions) })
    );
  }

  #startHeartbeat(): void {
    const groupId = this.#groupId!;
    const intervalMs = this.#options.heartbeatIntervalMs ?? 3000;
    let busy = false;
    this.#heartbeat = setInterval(async () => {
      if (busy || this.#closed) return;
      busy = true;
      try {
        const nodeId = await this.#cluster.coordinatorFor(groupId);
        const conn = await this.#cluster.connectionTo(nodeId);
        const r = await conn.send<HeartbeatResponse>(ApiKey.HEARTBEAT, {
          groupId,
          generationId: this.#generationId,
          memberId: this.#memberId,
          groupInstanceId: null,
        });
        this.#noteGroupError(r.errorCode);
        if (r.errorCode === ErrorCode.NOT_COORDINATOR) this.#cluster.forgetCoordinator(groupId);
      } catch {
        this.#cluster.forgetCoordinator(groupId);
      } finally {
        busy = false;
      }
    }, intervalMs);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  async #resolvePositions(): Promise<void> {
    const unresolved = [...this.#partitions.values()].filter((p) => p.position === undefined);
    if (unresolved.length === 0) return;
    const groupId = this.#groupId;
    if (groupId !== undefined && this.#subscription === undefined) {
      const need = unresolved.filter((p) => p.start === undefined);
      if (need.length > 0) {
        for (const c of await this.admin.listConsumerGroupOffsets(groupId, need)) {
          const state = this.#partitions.get(`${c.topic}\u0000${c.partition}`);
          if (state !== undefined) state.position = c.offset;
        }
      }
    }
    const rest = unresolved.filter((p) => p.position === undefined);
    if (rest.length === 0) return;
    const reset = this.#options.autoOffsetReset ?? "latest";
    const specs = rest.map((p) => {
      const start = typeof p.start === "string" ? p.start : reset;
      if (start === "none") {
        throw new KafkaError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `No committed offset for ${p.topic}-${p.partition} and auto.offset.reset is none`,
        );
      }
      return { topic: p.topic, partition: p.partition, spec: start };
    });
    const listed = await this.admin.listOffsets(specs, { isolationLevel: this.#isolationLevel() });
    for (const l of listed) {
      if (l.error !== undefined) throw l.error;
      this.#partitions.get(`${l.topic}\u0000${l.partition}`)!.position = l.offset;
    }
  }

  #isolationLevel(): 0 | 1 {
    return this.#options.isolationLevel === "read_committed" ? 1 : 0;
  }

  /**
   * One round of fetching: takes the Fetch sent ahead by the previous round (waiting at most
   * `maxWaitMs` for it) or sends one now, sends the next one ahead, then decodes this one.
   */
  async #fetchOnce(maxWaitMs: number): Promise<ConsumerRecord[]> {
    let fetched: FetchedResponse[];
    const ahead = this.#fetchAhead;
    if (ahead !== undefined) {
      const outcome = await settledWithin(ahead, maxWaitMs);
      if (outcome === undefined) return []; // still in flight: a later poll takes it
      this.#fetchAhead = undefined;
      if ("error" in outcome) throw outcome.error;
      fetched = outcome.responses;
    } else {
      fetched = await this.#fetchAll(this.#positions(), maxWaitMs);
    }
    await this.#maybeFetchAhead(fetched);
    const out: ConsumerRecord[] = [];
    for (const f of fetched) await this.#collect(f, out);
    return out;
  }

  /** Every resolved position, by partition key. */
  #positions(): Map<string, number> {
    const positions = new Map<string, number>();
    for (const [key, p] of this.#partitions) {
      if (p.position !== undefined) positions.set(key, p.position);
    }
    return positions;
  }

  /**
   * While data flows, sends the next Fetch before this response is decoded, so the broker reads
   * the next chunk while this process decodes (Kafka's consumer pipelines its fetches the same
   * way). It asks for where each partition will be once this response is decoded; #collect drops
   * a partition's answer when the position moved elsewhere meanwhile (a seek, a rebalance, a batch
   * that failed to decode). After an empty or failed response nothing is sent ahead, so an idle
   * consumer keeps no long poll parked at the broker in front of its commits and heartbeats.
   */
  async #maybeFetchAhead(fetched: readonly FetchedResponse[]): Promise<void> {
    if (this.#closed || this.#needsJoin || this.#pendingAssignment !== null) return;
    const next = this.#positions();
    let flowing = false;
    for (const f of fetched) {
      for (const t of f.response.responses) {
        const topic = this.#topicOf(f, t);
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) return;
          const key = `${topic}\u0000${p.partitionIndex}`;
          const from = f.offsets.get(key);
          if (p.records === null || from === undefined || next.get(key) !== from) continue;
          const after = offsetAfterBatches(p.records, from);
          if (after === undefined) return; // a corrupt header: decoding reports it
          flowing ||= after > from;
          next.set(key, after);
        }
      }
    }
    if (!flowing) return;
    const sending = this.#sendFetches(next, this.#options.fetchMaxWaitMs ?? 500);
    this.#fetchAhead = sending.then((answers) => Promise.all(answers)).then(
      (answers) => ({ responses: answers.filter((a) => a !== null) }),
      (error: unknown) => ({ error }),
    );
    await sending.catch(() => {}); // its failure surfaces from #fetchAhead on the next poll
  }

  /** One Fetch per leader at `offsets`; retriable failures are dropped (metadata refreshed). */
  async #fetchAll(
    offsets: ReadonlyMap<string, number>,
    maxWaitMs: number,
  ): Promise<FetchedResponse[]> {
    const answers = await Promise.all(await this.#sendFetches(offsets, maxWaitMs));
    return answers.filter((a) => a !== null);
  }

  /**
   * Sends one Fetch per leader of the partitions in `offsets` and resolves once every request is
   * handed to its connection, to the promises of their answers (null after a retriable failure).
   */
  async #sendFetches(
    offsets: ReadonlyMap<string, number>,
    maxWaitMs: number,
  ): Promise<Promise<FetchedResponse | null>[]> {
    const byLeader = new Map<number, string[]>();
    for (const key of offsets.keys()) {
      const p = this.#partitions.get(key);
      if (p === undefined) continue;
      try {
        const leader = await this.#cluster.leaderFor(p.topic, p.partition);
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), key]);
      } catch (error) {
        if (!isRetriableFailure(error)) throw error;
        this.#cluster.invalidate(p.topic);
      }
    }
    if (byLeader.size === 0) {
      await sleep(Math.min(maxWaitMs, 100));
      return [];
    }
    const retriableAsNull = (error: unknown): null => {
      if (!isRetriableFailure(error)) throw error;
      this.#cluster.invalidate();
      return null;
    };
    const answers: Promise<FetchedResponse | null>[] = [];
    for (const [nodeId, keys] of byLeader) {
      try {
        const conn = await this.#cluster.connectionTo(nodeId, { lane: "fetch" });
        answers.push(
          this.#fetchFrom(conn, { nodeId, keys, offsets, maxWaitMs }).catch(retriableAsNull),
        );
      } catch (error) {
        retriableAsNull(error);
      }
    }
    return answers;
  }

  /** Sends one Fetch (before its first await) and returns its answer. */
  async #fetchFrom(
    conn: KafkaConnection,
    request: {
      nodeId: number;
      keys: readonly string[];
      offsets: ReadonlyMap<string, number>;
      maxWaitMs: number;
    },
  ): Promise<FetchedResponse> {
    const { nodeId, offsets, maxWaitMs } = request;
    const version = conn.versionFor(ApiKey.FETCH, 16);
    const byTopic = new Map<string, FetchPartition[]>();
    for (const key of request.keys) {
      const state = this.#partitions.get(key)!;
      byTopic.set(state.topic, [
        ...(byTopic.get(state.topic) ?? []),
        createFetchPartition({
          partition: state.partition,
          currentLeaderEpoch: -1,
          fetchOffset: BigInt(offsets.get(key)!),
          lastFetchedEpoch: -1,
          logStartOffset: -1n,
          partitionMaxBytes: this.#options.maxPartitionFetchBytes ?? 1_048_576,
        }),
      ]);
    }
    const response = await conn.send<FetchResponse>(ApiKey.FETCH, {
      replicaId: -1,
      maxWaitMs,
      minBytes: 1,
      maxBytes: this.#options.fetchMaxBytes ?? 52_428_800,
      isolationLevel: this.#isolationLevel(),
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, partitions]) =>
        createFetchTopic({
          topic,
          topicId: this.#cluster.topicIdOf(topic) ?? "AAAAAAAAAAAAAAAAAAAAAA",
          partitions,
        })
      ),
      forgottenTopicsData: [],
      rackId: "",
    }, { version, timeoutMs: maxWaitMs + this.#cluster.options.requestTimeoutMs });
    check(response.errorCode, `fetch from broker ${nodeId}`);
    return { nodeId, version, response, offsets };
  }

  #topicOf(f: FetchedResponse, t: FetchableTopicResponse): string {
    return f.version >= 13 ? this.#cluster.topicNameOf(t.topicId) ?? t.topic : t.topic;
  }

  /** Decodes the records of one answer into `out`, advancing positions. */
  async #collect(f: FetchedResponse, out: ConsumerRecord[]): Promise<void> {
    for (const t of f.response.responses) {
      const topic = this.#topicOf(f, t);
      for (const p of t.partitions) {
        const key = `${topic}\u0000${p.partitionIndex}`;
        const state = this.#partitions.get(key);
        // Data fetched for a position the partition no longer has is stale.
        if (state?.position === undefined || state.position !== f.offsets.get(key)) continue;
        await this.#handlePartition(state, p, out);
      }
    }
  }

  async #handlePartition(
    state: PartitionState,
    p: PartitionData,
    out: ConsumerRecord[],
  ): Promise<void> {
    if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      state.position = undefined;
      state.start = undefined;
      if (this.#options.autoOffsetReset === "none") {
        throw kafkaError(p.errorCode, `partition ${state.topic}-${state.partition}`);
      }
      return;
    }
    if (p.errorCode !== ErrorCode.NONE) {
      const error = kafkaError(p.errorCode, `partition ${state.topic}-${state.partition}`);
      if (isRetriableFailure(error) || p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        this.#cluster.invalidate(state.topic);
        await sleep(50);
        return;
      }
      throw error;
    }
    if (p.records === null || p.records.length === 0) return;
    const aborted = [...(p.abortedTransactions ?? [])]
      .map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) }))
      .sort((a, b) => a.firstOffset - b.firstOffset);
    const abortedProducers = new Set<number>();
    for (const { pos, sizeBytes } of batchesIn(p.records)) {
      if (magicAt(p.records, pos) !== 2) continue;
      // The cursor builds no intermediate Record per record; every record is still read (and a
      // corrupt one fails the poll) whether or not it is returned.
      const { header, records } = openBatch(p.records.subarray(pos, pos + sizeBytes));
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      while (aborted.length > 0 && aborted[0]!.firstOffset <= lastOffset) {
        abortedProducers.add(aborted.shift()!.producerId);
      }
      const control = (header.attributes & CONTROL_FLAG_MASK) !== 0;
      const transactional = (header.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
      if (control) {
        const type = records.next() ? decodeControlKey(records.key).type : -1;
        while (records.next());
        if (type === ControlRecordType.ABORT) abortedProducers.delete(header.producerId);
      } else if (transactional && abortedProducers.has(header.producerId)) {
        while (records.next());
      } else {
        const logAppend = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
        const position = state.position!;
        while (records.next()) {
          const offset = header.baseOffset + records.offsetDelta;
          if (offset < position) continue;
          out.push({
            topic: state.topic,
            partition: state.partition,
            offset,
            timestamp: logAppend
              ? header.maxTimestamp
              : header.baseTimestamp + records.timestampDelta,
            timestampType: logAppend ? "LogAppendTime" : "CreateTime",
            key: records.key,
            value: records.value,
            headers: records.headers,
            leaderEpoch: header.partitionLeaderEpoch,
          });
        }
      }
      state.position = Math.max(state.position!, lastOffset + 1);
    }
  }

  /** Commits (with auto-commit), leaves the group, and closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#groupId !== undefined && (this.#options.autoCommit ?? true)) {
        await this.commit().catch(() => {});
      }
      this.#stopHeartbeat();
      if (this.#subscription !== undefined && this.#memberId !== "") {
        if (this.#usesConsumerProtocol()) {
          await this.#sendConsumerHeartbeat(-1).catch(() => {});
        } else await this.#leave();
      }
    } finally {
      this.#closed = true;
      this.#fetchAhead = undefined; // closing the connections fails it, and no one awaits it
      this.#stopHeartbeat();
      this.admin.close();
    }
  }

  // ---------------------------------------------------------------- KIP-848

  #usesConsumerProtocol(): boolean {
    return this.#options.groupProtocol === "consumer" && this.#subscription !== undefined;
  }

  /** The partitions this member owns, by topic id, as ConsumerGroupHeartbeat reports them. */
  #ownedTopicPartitions(): { topicId: string; partitions: number[] }[] {
    const byTopic = new Map<string, number[]>();
    for (const p of this.#partitions.values()) {
      const topicId = this.#cluster.topicIdOf(p.topic);
      if (topicId === undefined) continue;
      byTopic.set(topicId, [...(byTopic.get(topicId) ?? []), p.partition]);
    }
    return [...byTopic].map(([topicId, partitions]) =>
      createHeartbeatTopicPartitions({ topicId, partitions })
    );
  }

  /** Fenced or unknown: the partitions are lost (not committed) and the member rejoins at 0. */
  #fenced(code: number): void {
    this.#partitions.clear();
    this.#pendingAssignment = null;
    this.#generationId = 0;
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.#memberId = "";
    this.#needsJoin = true;
  }

  /** Sends one ConsumerGroupHeartbeat at `memberEpoch` (0 joins, -1 leaves), after the last. */
  #sendConsumerHeartbeat(memberEpoch: number): Promise<void> {
    const sent = this.#heartbeatChain.then(() => this.#consumerHeartbeatOnce(memberEpoch));
    this.#heartbeatChain = sent.catch(() => {});
    return sent;
  }

  async #consumerHeartbeatOnce(memberEpoch: number): Promise<void> {
    const groupId = this.#groupId!;
    const nodeId = await this.#cluster.coordinatorFor(groupId);
    const conn = await this.#cluster.connectionTo(nodeId);
    const r = await conn.send<ConsumerGroupHeartbeatResponse>(ApiKey.CONSUMER_GROUP_HEARTBEAT, {
      groupId,
      memberId: this.#memberId,
      memberEpoch,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: this.#options.rebalanceTimeoutMs ?? 60_000,
      subscribedTopicNames: memberEpoch < 0 ? null : this.#subscription ?? [],
      serverAssignor: memberEpoch < 0 ? null : this.#options.groupRemoteAssignor ?? null,
      topicPartitions: memberEpoch < 0
        ? null
        : memberEpoch === 0
        ? []
        : this.#ownedTopicPartitions(),
    }, { version: 0, timeoutMs: 10_000 });
    if (memberEpoch < 0) return;
    switch (r.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.FENCED_MEMBER_EPOCH:
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.#fenced(r.errorCode);
        return;
      case ErrorCode.NOT_COORDINATOR:
      case ErrorCode.COORDINATOR_NOT_AVAILABLE:
      case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
        this.#cluster.forgetCoordinator(groupId);
        check(r.errorCode, `group ${groupId}`);
        return;
      default:
        check(r.errorCode, `group ${groupId}${r.errorMessage ? `: ${r.errorMessage}` : ""}`);
    }
    if (memberEpoch !== 0 && this.#needsJoin) return; // fenced meanwhile: ignore stale answers
    this.#memberId = r.memberId ?? this.#memberId;
    this.#generationId = r.memberEpoch;
    if (r.heartbeatIntervalMs > 0) this.#heartbeatIntervalMs = r.heartbeatIntervalMs;
    if (r.assignment !== null) {
      this.#pendingAssignment = new Map(
        r.assignment.topicPartitions.map((t) => [t.topicId, t.partitions]),
      );
    }
  }

  async #joinConsumerGroup(): Promise<void> {
    this.#stopHeartbeat();
    this.#partitions.clear();
    this.#generationId = 0;
    this.#needsJoin = false;
    try {
      await this.#cluster.retrying(() => this.#sendConsumerHeartbeat(0));
    } catch (error) {
      this.#needsJoin = true;
      throw error;
    }
    this.#scheduleConsumerHeartbeat();
  }

  #scheduleConsumerHeartbeat(): void {
    clearTimeout(this.#heartbeat);
    this.#heartbeat = setTimeout(async () => {
      this.#heartbeat = undefined;
      if (this.#closed || this.#needsJoin) return;
      try {
        await this.#sendConsumerHeartbeat(this.#generationId);
      } catch {
        this.#cluster.forgetCoordinator(this.#groupId!);
      }
      if (!this.#closed && !this.#needsJoin && this.#heartbeat === undefined) {
        this.#scheduleConsumerHeartbeat();
      }
    }, this.#heartbeatIntervalMs);
  }

  /**
   * Applies the last received assignment between fetches: revoked partitions are committed and
   * dropped first, new ones start from the group's committed offsets, then a heartbeat reports
   * the partitions now owned (which lets the coordinator move this member on, KIP-848).
   */
  async #reconcileAssignment(): Promise<void> {
    const target = this.#pendingAssignment!;
    this.#pendingAssignment = null;
    const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
    const wanted = new Map<string, TopicPartition>();
    for (const [topicId, partitions] of target) {
      let name = this.#cluster.topicNameOf(topicId);
      if (name === undefined) {
        for (const topic of this.#subscription ?? []) {
          await this.#cluster.topic(topic, true).catch(() => undefined);
        }
        name = this.#cluster.topicNameOf(topicId);
      }
      if (name === undefined) continue;
      for (const partition of partitions) {
        wanted.set(key(name, partition), { topic: name, partition });
      }
    }
    const revoked = [...this.#partitions.values()].filter((p) =>
      !wanted.has(key(p.topic, p.partition))
    );
    if (revoked.length > 0 && (this.#options.autoCommit ?? true)) {
      const positions = revoked.filter((p) => p.position !== undefined)
        .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.position! }));
      await this.commit(positions).catch(() => {});
    }
    if (this.#needsJoin) return; // fenced while committing
    for (const p of revoked) this.#partitions.delete(key(p.topic, p.partition));
    const added = [...wanted.values()].filter((tp) =>
      !this.#partitions.has(key(tp.topic, tp.partition))
    );
    for (const tp of added) this.#partitions.set(key(tp.topic, tp.partition), { ...tp });
    if (added.length > 0) {
      const committed = await this.admin.listConsumerGroupOffsets(this.#groupId!, added);
      for (const c of committed) {
        const state = this.#partitions.get(key(c.topic, c.partition));
        if (state !== undefined) state.position = c.offset;
      }
      this.#rebalanceListener.onPartitionsAssigned?.(added);
    }
    await this.#sendConsumerHeartbeat(this.#generationId).catch(() => {
      this.#cluster.forgetCoordinator(this.#groupId!);
    });
  }

  async #leave(): Promise<void> {
    const groupId = this.#groupId!;
    try {
      const nodeId = await this.#cluster.coordinatorFor(groupId);
      const conn = await this.#cluster.connectionTo(nodeId);
      const version = conn.versionFor(ApiKey.LEAVE_GROUP, 5);
      await conn.send(
        ApiKey.LEAVE_GROUP,
        version >= 3
          ? {
            groupId,
            members: [createMemberIdentity({ memberId: this.#memberId, reason: "closing" })],
          }
          : { groupId, memberId: this.#memberId },
        { version, timeoutMs: 5000 },
      );
    } catch {
      // Leaving is a courtesy: the session timeout removes the member anyway.
    }
  }
}
