/**
 * The leader's view of a replicated partition (Kafka's `Partition` leader side, KIP-497 ISR
 * changes through the controller), as a pure state machine: time arrives as `nowMs`, nothing here
 * does I/O. The node feeds it follower fetches and its own durable log end; it answers with the
 * high watermark, the ISR change to propose through AlterPartition, and whether an `acks=all`
 * append is complete.
 *
 * Rules (Kafka 3.9):
 * - The high watermark is the smallest log end offset among the members of the *maximal* ISR (the
 *   committed ISR plus a proposed expansion; a proposed shrink still counts the removed member
 *   until the controller commits it), the leader's own counted as its durable log end. It never
 *   decreases while this broker leads the epoch, and it does not move at all while the committed
 *   ISR is smaller than `min.insync.replicas` (KIP-966's strict min ISR, Kafka 3.7+): what a
 *   replica that left such an ISR holds is then still every committed record, which is what makes
 *   it an eligible leader (ELR).
 * - A follower is caught up when it fetched at or past the leader's log end; `lastCaughtUpTimeMs`
 *   moves to the time of that fetch, or to the time of the previous fetch when this one reached
 *   the log end that fetch saw (Kafka's `ReplicaState.lastCaughtUpTimeMs`).
 * - Shrink: an ISR member (not the leader) whose last caught-up time is older than
 *   `replica.lag.time.max.ms` leaves the ISR.
 * - Expand: a replica outside the ISR whose log end reached the high watermark and the start of
 *   the leader's epoch, and that was caught up within `replica.lag.time.max.ms`, joins it.
 * - One AlterPartition in flight at a time (`pendingIsr`); it clears when the controller answers
 *   or the image shows a newer partition epoch.
 * - `acks=all` of an append ending at offset `o` completes once the high watermark passes `o`:
 *   NONE when the committed ISR has at least `min.insync.replicas` members then, else
 *   NOT_ENOUGH_REPLICAS_AFTER_APPEND.
 *
 * @module
 */

import { ErrorCode } from "../../net/protocol/generated/errors.ts";

const { NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND } = ErrorCode;

/** What the leader knows of one follower. */
export interface FollowerState {
  readonly replicaId: number;
  /** The follower's log end offset as its last fetch showed it; -1 before its first fetch. */
  logEndOffset: number;
  /** When the follower was last known to be caught up to the leader's log end. */
  lastCaughtUpTimeMs: number;
  /** When its previous fetch arrived, and the leader's log end then. */
  lastFetchTimeMs: number;
  lastFetchLeaderLogEndOffset: number;
  /** The broker epoch its fetches carry (KIP-903), -1 when unknown. */
  brokerEpoch: bigint;
  /**
   * The high watermark its last Fetch answer carried (Kafka's `lastSentHighWatermark`): a parked
   * fetch answers once the leader's is past it, so followers serving consumers (KIP-392) learn it.
   */
  lastSentHighWatermark: number;
}

/** An ISR change this leader asked the controller for and has no answer to yet. */
export interface PendingIsrChange {
  readonly isr: readonly number[];
  /** The partition epoch the request was based on. */
  readonly partitionEpoch: number;
}

/** Construction inputs: the image's registration plus the local log. */
export interface LeaderStateInit {
  readonly localId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /** The high watermark the partition had when it became leader (its follower HW). */
  readonly highWatermark: number;
  /** The log end offset when this epoch started: followers must reach it to join the ISR. */
  readonly leaderEpochStartOffset: number;
  readonly nowMs: number;
  /** The topic's `min.insync.replicas`: below it the high watermark stays. Default 1. */
  readonly minInsyncReplicas?: number;
}

/** Outcome of {@link LeaderState.ackOutcome}. */
export type AckOutcome = { done: false } | { done: true; errorCode: number };

/**
 * Leader-side replication state of one partition.
 *
 * @example
 * ```ts
 * import { LeaderState } from "./leader_state.ts";
 * const s = new LeaderState({
 *   localId: 1, replicas: [1, 2], isr: [1, 2], leaderEpoch: 0, partitionEpoch: 0,
 *   highWatermark: 0, leaderEpochStartOffset: 0, nowMs: 0,
 * });
 * s.updateLocalEnd(10);
 * s.updateFollower(2, { fetchOffset: 10, nowMs: 5, leaderEndOffset: 10, brokerEpoch: -1n });
 * s.highWatermark; // 10
 * ```
 */
export class LeaderState {
  readonly localId: number;
  readonly leaderEpoch: number;
  readonly leaderEpochStartOffset: number;
  replicas: readonly number[];
  /** The ISR the controller committed. */
  isr: readonly number[];
  partitionEpoch: number;
  pendingIsr: PendingIsrChange | null = null;
  readonly followers = new Map<number, FollowerState>();
  #highWatermark: number;
  #localEnd: number;
  #minInsyncReplicas: number;

  constructor(init: LeaderStateInit) {
    this.#minInsyncReplicas = init.minInsyncReplicas ?? 1;
    this.localId = init.localId;
    this.leaderEpoch = init.leaderEpoch;
    this.leaderEpochStartOffset = init.leaderEpochStartOffset;
    this.replicas = init.replicas;
    this.isr = init.isr;
    this.partitionEpoch = init.partitionEpoch;
    this.#highWatermark = init.highWatermark;
    this.#localEnd = init.highWatermark;
    for (const id of init.replicas) {
      if (id === init.localId) continue;
      // ISR members get a full lag window from the election on (Kafka resets them to now).
      this.followers.set(id, newFollower(id, init.isr.includes(id) ? init.nowMs : 0));
    }
  }

  get highWatermark(): number {
    return this.#highWatermark;
  }

  get minInsyncReplicas(): number {
    return this.#minInsyncReplicas;
  }

  /** The topic's `min.insync.replicas` changed; returns true when the high watermark moved. */
  setMinInsyncReplicas(minInsyncReplicas: number): boolean {
    this.#minInsyncReplicas = minInsyncReplicas;
    return this.#maybeAdvance();
  }

  /** The committed ISR plus a pending expansion (a pending shrink removes no one yet). */
  get maximalIsr(): readonly number[] {
    const pending = this.pendingIsr;
    if (pending === null) return this.isr;
    return [...new Set([...this.isr, ...pending.isr])];
  }

  /** Applies the image's registration of the same leader epoch (replicas, ISR, partition epoch). */
  updateRegistration(
    reg: { replicas: readonly number[]; isr: readonly number[]; partitionEpoch: number },
    nowMs: number,
  ): void {
    if (reg.partitionEpoch < this.partitionEpoch) return;
    this.replicas = reg.replicas;
    this.isr = reg.isr;
    this.partitionEpoch = reg.partitionEpoch;
    if (this.pendingIsr !== null && this.pendingIsr.partitionEpoch < reg.partitionEpoch) {
      this.pendingIsr = null;
    }
    for (const id of reg.replicas) {
      if (id !== this.localId && !this.followers.has(id)) {
        this.followers.set(id, newFollower(id, 0));
      }
    }
    for (const id of [...this.followers.keys()]) {
      if (!reg.replicas.includes(id)) this.followers.delete(id);
    }
    void nowMs;
  }

  /** The leader's own durable log end moved; returns true when the high watermark moved. */
  updateLocalEnd(durableEndOffset: number): boolean {
    this.#localEnd = durableEndOffset;
    return this.#maybeAdvance();
  }

  /**
   * A follower fetched from `fetchOffset` (everything below it is on its log). Returns true when
   * the high watermark moved. Unknown replicas are ignored (the fetch handler refuses them).
   */
  updateFollower(
    replicaId: number,
    fetch: { fetchOffset: number; nowMs: number; leaderEndOffset: number; brokerEpoch: bigint },
  ): boolean {
    const f = this.followers.get(replicaId);
    if (f === undefined) return false;
    if (fetch.fetchOffset >= fetch.leaderEndOffset) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, fetch.nowMs);
    } else if (fetch.fetchOffset >= f.lastFetchLeaderLogEndOffset) {
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    }
    f.logEndOffset = fetch.fetchOffset;
    f.lastFetchTimeMs = fetch.nowMs;
    f.lastFetchLeaderLogEndOffset = fetch.leaderEndOffset;
    f.brokerEpoch = fetch.brokerEpoch;
    return this.#maybeAdvance();
  }

  #maybeAdvance(): boolean {
    // Strict min ISR (KAFKA-15583): records committed now could be missing on an eligible leader.
    if (this.isr.length < this.#minInsyncReplicas) return false;
    let candidate = this.#localEnd;
    for (const id of this.maximalIsr) {
      if (id === this.localId) continue;
      const f = this.followers.get(id);
      // A member that never fetched in this epoch holds the high watermark where it is.
      const end = f === undefined ? -1 : f.logEndOffset;
      candidate = Math.min(candidate, end);
    }
    if (candidate <= this.#highWatermark) return false;
    this.#highWatermark = candidate;
    return true;
  }

  /**
   * The ISR to propose, or null: expansion of caught-up replicas first, else a shrink of lagging
   * members; nothing while a change is pending. Only replicas `isEligible` accepts may join
   * (Kafka's `isReplicaIsrEligible`: registered, unfenced, not shutting down), since the
   * controller refuses others with INELIGIBLE_REPLICA.
   */
  isrChange(
    nowMs: number,
    replicaLagTimeMaxMs: number,
    isEligible: (replicaId: number) => boolean = () => true,
  ): number[] | null {
    if (this.pendingIsr !== null) return null;
    // Kafka expands only while handling the follower's fetch; here a follower must also have been
    // caught up within the lag window, so one that stopped fetching while the high watermark
    // stood still (strict min ISR) is not taken back the moment it was dropped.
    const joining = [...this.followers.values()].filter((f) =>
      !this.isr.includes(f.replicaId) && f.logEndOffset >= this.#highWatermark &&
      f.logEndOffset >= this.leaderEpochStartOffset &&
      nowMs - f.lastCaughtUpTimeMs <= replicaLagTimeMaxMs && isEligible(f.replicaId)
    ).map((f) => f.replicaId);
    if (joining.length > 0) return [...this.isr, ...joining];
    const lagging = this.isr.filter((id) => {
      if (id === this.localId) return false;
      const f = this.followers.get(id);
      return f === undefined || nowMs - f.lastCaughtUpTimeMs > replicaLagTimeMaxMs;
    });
    if (lagging.length === 0) return null;
    return this.isr.filter((id) => !lagging.includes(id));
  }

  /** Records that `isr` was sent to the controller. */
  proposeIsr(isr: readonly number[]): void {
    this.pendingIsr = { isr: [...isr], partitionEpoch: this.partitionEpoch };
  }

  /** The controller answered: success carries the committed ISR and partition epoch. */
  completeIsrChange(result: { isr: readonly number[]; partitionEpoch: number } | null): boolean {
    this.pendingIsr = null;
    if (result === null || result.partitionEpoch < this.partitionEpoch) return false;
    this.isr = result.isr;
    this.partitionEpoch = result.partitionEpoch;
    return this.#maybeAdvance();
  }

  /** NONE, or NOT_ENOUGH_REPLICAS when an acks=all append must be refused before appending. */
  checkMinIsr(minInsyncReplicas: number): number {
    return this.isr.length < minInsyncReplicas ? NOT_ENOUGH_REPLICAS : 0;
  }

  /** Whether an acks=all append whose records end before `endOffset` is complete. */
  ackOutcome(endOffset: number, minInsyncReplicas: number): AckOutcome {
    if (this.#highWatermark < endOffset) return { done: false };
    const errorCode = this.isr.length >= minInsyncReplicas ? 0 : NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    return { done: true, errorCode };
  }

  /** Follower log end offsets minus the leader's, for DescribeLogDirs-like lag reports. */
  followerLag(replicaId: number): number {
    const f = this.followers.get(replicaId);
    if (f === undefined || f.logEndOffset < 0) return -1;
    return Math.max(0, this.#localEnd - f.logEndOffset);
  }
}

function newFollower(replicaId: number, lastCaughtUpTimeMs: number): FollowerState {
  return {
    replicaId,
    logEndOffset: -1,
    lastCaughtUpTimeMs,
    lastFetchTimeMs: 0,
    lastFetchLeaderLogEndOffset: -1,
    brokerEpoch: -1n,
    lastSentHighWatermark: -1,
  };
}
