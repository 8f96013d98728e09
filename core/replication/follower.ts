/**
 * The follower's decisions on a replica fetch answer (Kafka's `AbstractFetcherThread`
 * `processFetchRequest` / `truncateOnFetchResponse`, KIP-320 and Fetch v12+ diverging epochs), as
 * pure functions over a view of the local log. The replica fetcher in `node/` applies them.
 *
 * - A diverging epoch `(e, end)` from the leader: the follower truncates to
 *   `min(end, its own end offset for the largest epoch <= e)`, then fetches again with the epoch
 *   it then ends in. The loop converges because every round truncates to an offset both logs
 *   agree on or further back (KIP-101/KIP-279).
 * - OFFSET_OUT_OF_RANGE below the leader's log start: the follower starts over empty at the
 *   leader's log start. Beyond the leader's log end (only after an unclean election): the
 *   follower truncates to the leader's high watermark and fetches again, diverging from there.
 * - Records: appended verbatim; the follower's high watermark becomes
 *   `min(leader high watermark, its log end)` and never exceeds what it holds.
 *
 * @module
 */

/** What the decisions need to know of the local log. */
export interface FollowerLogView {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** The largest epoch <= `epoch` in the log and where it ends; epoch -1 when none. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
  /** The epoch of the last batch, or -1 for an empty log. */
  latestEpoch(): number;
}

/** One partition's part of a Fetch response, as the follower sees it. */
export interface FetchedPartition {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Present when the leader found the follower's log diverging (Fetch v12+). */
  readonly divergingEpoch: { epoch: number; endOffset: number } | null;
  /** Stored batches, possibly empty. */
  readonly recordsBytes: number;
}

/** What the follower does next with one partition. */
export type FollowerAction =
  | { kind: "append"; highWatermark: number; leaderLogStartOffset: number }
  | { kind: "truncate"; offset: number }
  | { kind: "restartAt"; offset: number }
  | { kind: "idle"; highWatermark: number; leaderLogStartOffset: number }
  | { kind: "error"; errorCode: number };

const OFFSET_OUT_OF_RANGE = 1;

/**
 * Decides what to do with one fetched partition.
 *
 * @example
 * ```ts
 * import { followerAction } from "./follower.ts";
 * const log = {
 *   logStartOffset: 0, logEndOffset: 10, latestEpoch: () => 2,
 *   endOffsetForEpoch: (e: number) => e >= 2 ? { epoch: 2, endOffset: 10 } : { epoch: e, endOffset: 5 },
 * };
 * followerAction(log, {
 *   errorCode: 0, highWatermark: 8, logStartOffset: 0, recordsBytes: 0,
 *   divergingEpoch: { epoch: 2, endOffset: 7 },
 * }, 10); // { kind: "truncate", offset: 7 }
 * ```
 */
export function followerAction(
  log: FollowerLogView,
  fetched: FetchedPartition,
  fetchOffset: number,
): FollowerAction {
  if (fetched.errorCode === OFFSET_OUT_OF_RANGE) {
    if (fetched.logStartOffset >= 0 && fetchOffset < fetched.logStartOffset) {
      return { kind: "restartAt", offset: fetched.logStartOffset };
    }
    if (fetched.highWatermark >= 0 && fetched.highWatermark < log.logEndOffset) {
      return { kind: "truncate", offset: Math.max(log.logStartOffset, fetched.highWatermark) };
    }
    return { kind: "error", errorCode: fetched.errorCode };
  }
  if (fetched.errorCode !== 0) return { kind: "error", errorCode: fetched.errorCode };
  if (fetched.divergingEpoch !== null) {
    return { kind: "truncate", offset: truncationOffset(log, fetched.divergingEpoch) };
  }
  const next = {
    highWatermark: fetched.highWatermark,
    leaderLogStartOffset: fetched.logStartOffset,
  };
  return fetched.recordsBytes > 0 ? { kind: "append", ...next } : { kind: "idle", ...next };
}

/**
 * Where a follower truncates to for a leader's diverging epoch (never below its log start).
 *
 * @example
 * ```ts
 * import { truncationOffset } from "./follower.ts";
 * const log = {
 *   logStartOffset: 0, logEndOffset: 10, latestEpoch: () => 3,
 *   endOffsetForEpoch: (_e: number) => ({ epoch: 1, endOffset: 4 }),
 * };
 * truncationOffset(log, { epoch: 2, endOffset: 6 }); // 4
 * ```
 */
export function truncationOffset(
  log: FollowerLogView,
  diverging: { epoch: number; endOffset: number },
): number {
  const local = log.endOffsetForEpoch(diverging.epoch);
  const target = local.epoch < 0
    ? Math.min(diverging.endOffset, log.logEndOffset, log.logStartOffset)
    : Math.min(diverging.endOffset, local.endOffset, log.logEndOffset);
  return Math.max(log.logStartOffset, target);
}

/**
 * The follower's high watermark after an answer: the leader's, capped at what it holds.
 *
 * @example
 * ```ts
 * import { followerHighWatermark } from "./follower.ts";
 * followerHighWatermark(100, 40, 10); // 40
 * ```
 */
export function followerHighWatermark(
  leaderHighWatermark: number,
  logEndOffset: number,
  current: number,
): number {
  if (leaderHighWatermark < 0) return current;
  return Math.min(leaderHighWatermark, logEndOffset);
}
