/**
 * Incremental fetch sessions (KIP-227, Kafka's `FetchSession`, `FetchSessionCache` and
 * `FetchManager.newContext`).
 *
 * A Fetch request carries (sessionId, sessionEpoch):
 * - epoch -1 (FINAL): a sessionless full fetch; a given session id is closed first;
 * - epoch 0 (INITIAL): a full fetch that opens a new session (a given id is closed first); the
 *   response carries the new id, or 0 when the cache is full and nothing may be evicted;
 * - epoch > 0: an incremental fetch of session `sessionId` at exactly the session's epoch. The
 *   request lists only partitions that changed (added or new fetch offset) and the ones to forget;
 *   the others stay. The response lists only partitions with records, errors, or a changed high
 *   watermark / last stable offset / log start offset. Unknown id -> FETCH_SESSION_ID_NOT_FOUND,
 *   wrong epoch -> INVALID_FETCH_SESSION_EPOCH.
 *
 * The cache is bounded (`max.incremental.fetch.session.cache.slots`, 1000). A new session evicts
 * first a session idle for longer than `evictionMs` (120 s), else the least valuable session
 * (unprivileged before privileged, then fewer partitions) when the new one is worth more.
 *
 * @module
 */
import { ErrorCode } from "../protocol/generated/errors.ts";

/** Session epoch of a sessionless fetch, or of a request closing its session. */
export const FINAL_EPOCH = -1;
/** Session epoch of a full fetch opening a session. */
export const INITIAL_EPOCH = 0;
/** Session id meaning "no session". */
export const INVALID_SESSION_ID = 0;

/** One partition as a fetch request names it. */
export interface FetchTarget {
  topic: string;
  /** Zero uuid before Fetch v13. */
  topicId: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
}

/** A partition to forget (incremental fetches). */
export interface ForgottenTarget {
  topic: string;
  topicId: string;
  partition: number;
}

/** What the response said about a partition, for incremental change detection. */
export interface PartitionOutcome {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  recordsBytes: number;
  diverging: boolean;
  /** KIP-392: the replica the consumer should read from instead (absent or -1: none). */
  preferredReadReplica?: number;
}

interface CachedPartition extends FetchTarget {
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
}

/** One session. */
export interface FetchSession {
  readonly id: number;
  /** The epoch the next incremental request must carry. */
  epoch: number;
  readonly privileged: boolean;
  readonly usesTopicIds: boolean;
  /** In fetch order; partitions that answered move to the back (fairness). */
  partitions: Map<string, CachedPartition>;
  lastUsedMs: number;
}

/** The request fields the session logic reads. */
export interface FetchSessionRequest {
  sessionId: number;
  sessionEpoch: number;
  targets: FetchTarget[];
  forgotten: ForgottenTarget[];
  /** Fetch v13+: partitions are named by topic id. */
  usesTopicIds: boolean;
  /** Follower fetches (replicaId >= 0) are privileged. */
  privileged: boolean;
  nowMs: number;
}

/** How to run one fetch. */
export type FetchContext =
  | { kind: "error"; errorCode: number }
  | {
    kind: "sessionless" | "full" | "incremental";
    targets: FetchTarget[];
    session: FetchSession | null;
    request: FetchSessionRequest;
  };

/** Options of {@link FetchSessionCache}. */
export interface FetchSessionCacheOptions {
  /** `max.incremental.fetch.session.cache.slots` (default 1000). */
  maxSessions?: number;
  /** `min.incremental.fetch.session.eviction.ms` (default 120 000). */
  evictionMs?: number;
  /** Session id source (tests inject one); default crypto random positive int32. */
  nextId?: () => number;
}

/**
 * Key of a partition in a session: topic id when the session uses ids, else the topic name.
 *
 * @example
 * ```ts
 * import { targetKey } from "./fetch_session.ts";
 * targetKey({ topic: "a", topicId: "AAAAAAAAAAAAAAAAAAAAAA", partition: 0 }, false); // "a:0"
 * ```
 */
export function targetKey(
  t: { topic: string; topicId: string; partition: number },
  usesTopicIds: boolean,
): string {
  return `${usesTopicIds ? t.topicId : t.topic}:${t.partition}`;
}

function randomSessionId(): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return (buf[0]! & 0x7fff_ffff) || 1;
}

/** Orders sessions by eviction value: unprivileged first, then fewer partitions, then id. */
function lessValuable(a: FetchSession, b: FetchSession): boolean {
  if (a.privileged !== b.privileged) return !a.privileged;
  if (a.partitions.size !== b.partitions.size) return a.partitions.size < b.partitions.size;
  return a.id < b.id;
}

/**
 * The broker's fetch sessions.
 *
 * @example
 * ```ts
 * import { FetchSessionCache } from "./fetch_session.ts";
 * const cache = new FetchSessionCache({ maxSessions: 10 });
 * const ctx = cache.newContext({
 *   sessionId: 0, sessionEpoch: 0, targets: [], forgotten: [], usesTopicIds: false,
 *   privileged: false, nowMs: 0,
 * });
 * const { sessionId } = cache.complete(ctx, new Map(), 0); // a new session id
 * ```
 */
export class FetchSessionCache {
  readonly maxSessions: number;
  readonly evictionMs: number;
  #sessions = new Map<number, FetchSession>();
  #nextId: () => number;
  #evictions = 0;

  constructor(options: FetchSessionCacheOptions = {}) {
    this.maxSessions = options.maxSessions ?? 1000;
    this.evictionMs = options.evictionMs ?? 120_000;
    this.#nextId = options.nextId ?? randomSessionId;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions evicted so far. */
  get evictions(): number {
    return this.#evictions;
  }

  session(id: number): FetchSession | undefined {
    return this.#sessions.get(id);
  }

  /** Decides what a fetch reads (Kafka's `FetchManager.newContext`). */
  newContext(request: FetchSessionRequest): FetchContext {
    const { sessionId, sessionEpoch } = request;
    if (sessionEpoch === FINAL_EPOCH || sessionEpoch === INITIAL_EPOCH) {
      if (sessionId !== INVALID_SESSION_ID) this.#sessions.delete(sessionId);
      const kind = sessionEpoch === FINAL_EPOCH ? "sessionless" : "full";
      return { kind, targets: request.targets, session: null, request };
    }
    if (sessionEpoch < FINAL_EPOCH) {
      return { kind: "error", errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    }
    const session = this.#sessions.get(sessionId);
    if (session === undefined) {
      return { kind: "error", errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    }
    if (session.usesTopicIds !== request.usesTopicIds) {
      return { kind: "error", errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    }
    if (session.epoch !== sessionEpoch) {
      return { kind: "error", errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    }
    for (const f of request.forgotten) {
      session.partitions.delete(targetKey(f, session.usesTopicIds));
    }
    for (const t of request.targets) {
      const key = targetKey(t, session.usesTopicIds);
      const cached = session.partitions.get(key);
      if (cached === undefined) {
        session.partitions.set(key, {
          ...t,
          highWatermark: -1,
          lastStableOffset: -1,
          logStartOffset: -1,
        });
      } else {
        Object.assign(cached, t);
      }
    }
    session.epoch = session.epoch >= 0x7fff_ffff ? 1 : session.epoch + 1;
    session.lastUsedMs = request.nowMs;
    return { kind: "incremental", targets: [...session.partitions.values()], session, request };
  }

  /**
   * Finishes a fetch: opens the session of a full fetch, updates an incremental session, and says
   * which partitions the response lists and with which session id.
   */
  complete(
    context: FetchContext,
    outcomes: ReadonlyMap<string, PartitionOutcome>,
    nowMs: number,
  ): { sessionId: number; include: (key: string) => boolean } {
    if (context.kind === "error" || context.kind === "sessionless") {
      return { sessionId: INVALID_SESSION_ID, include: () => true };
    }
    const usesTopicIds = context.request.usesTopicIds;
    if (context.kind === "full") {
      const partitions = new Map<string, CachedPartition>();
      for (const t of context.targets) {
        const key = targetKey(t, usesTopicIds);
        const o = outcomes.get(key);
        partitions.set(key, {
          ...t,
          highWatermark: o === undefined || o.errorCode !== ErrorCode.NONE ? -1 : o.highWatermark,
          lastStableOffset: o?.lastStableOffset ?? -1,
          logStartOffset: o?.logStartOffset ?? -1,
        });
      }
      const id = this.#create(partitions, context.request, nowMs);
      return { sessionId: id, include: () => true };
    }
    const session = context.session!;
    const respond = new Set<string>();
    for (const [key, cached] of session.partitions) {
      const o = outcomes.get(key);
      if (o === undefined) continue;
      // Kafka answers every partition that names a preferred read replica.
      let must = o.recordsBytes > 0 || o.diverging || (o.preferredReadReplica ?? -1) >= 0;
      if (o.highWatermark !== cached.highWatermark) must = true;
      if (o.lastStableOffset !== cached.lastStableOffset) must = true;
      if (o.logStartOffset !== cached.logStartOffset) must = true;
      cached.highWatermark = o.highWatermark;
      cached.lastStableOffset = o.lastStableOffset;
      cached.logStartOffset = o.logStartOffset;
      if (o.errorCode !== ErrorCode.NONE) {
        must = true;
        cached.highWatermark = -1; // answer again once the error clears
      }
      if (must) respond.add(key);
    }
    for (const key of respond) {
      const cached = session.partitions.get(key)!;
      session.partitions.delete(key);
      session.partitions.set(key, cached);
    }
    session.lastUsedMs = nowMs;
    return { sessionId: session.id, include: (key) => respond.has(key) };
  }

  #create(
    partitions: Map<string, CachedPartition>,
    request: FetchSessionRequest,
    nowMs: number,
  ): number {
    if (this.#sessions.size >= this.maxSessions) {
      const candidate = { privileged: request.privileged, size: partitions.size, id: 0 };
      if (!this.#tryEvict(candidate, nowMs)) return INVALID_SESSION_ID;
    }
    let id = this.#nextId();
    for (let attempt = 0; attempt < 100 && (id === 0 || this.#sessions.has(id)); attempt++) {
      id = this.#nextId();
    }
    if (id === 0 || this.#sessions.has(id)) return INVALID_SESSION_ID;
    this.#sessions.set(id, {
      id,
      epoch: 1,
      privileged: request.privileged,
      usesTopicIds: request.usesTopicIds,
      partitions,
      lastUsedMs: nowMs,
    });
    return id;
  }

  #tryEvict(candidate: { privileged: boolean; size: number; id: number }, nowMs: number): boolean {
    let stalest: FetchSession | null = null;
    let cheapest: FetchSession | null = null;
    for (const s of this.#sessions.values()) {
      if (stalest === null || s.lastUsedMs < stalest.lastUsedMs) stalest = s;
      if (!candidate.privileged && s.privileged) continue;
      if (cheapest === null || lessValuable(s, cheapest)) cheapest = s;
    }
    let victim: FetchSession | null = null;
    if (stalest !== null && nowMs - stalest.lastUsedMs > this.evictionMs) {
      victim = stalest;
    } else if (cheapest !== null) {
      // Evict the least valuable session only when the new one is worth more.
      const newIsMore = candidate.privileged !== cheapest.privileged
        ? candidate.privileged
        : candidate.size > cheapest.partitions.size;
      if (newIsMore) victim = cheapest;
    }
    if (victim === null) return false;
    this.#sessions.delete(victim.id);
    this.#evictions++;
    return true;
  }
}
