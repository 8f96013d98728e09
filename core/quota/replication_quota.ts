/**
 * Replication quotas (KIP-73, Kafka's `ReplicationQuotaManager`): a broker bounds the bytes it
 * sends to (as leader) or fetches for (as follower) the replicas a topic marks as throttled, so a
 * reassignment that copies a large partition does not take the bandwidth clients need. Replicas in
 * the ISR are never throttled; the others that `leader.replication.throttled.replicas` /
 * `follower.replication.throttled.replicas` name (`partition:broker` pairs, or `*` for every
 * replica) share one windowed byte rate per direction, bounded by `leader.replication.throttled.rate`
 * / `follower.replication.throttled.rate`. Over the bound, a leader answers such a follower without
 * records and a follower leaves such partitions out of its fetches until the rate falls.
 *
 * Pure: time is passed in.
 *
 * @module
 */

import { type QuotaWindows, WindowedRate } from "./client_quotas.ts";

/** The replicas a throttled-replicas config names: every one, or `partition:broker` pairs. */
export type ThrottledReplicas = "all" | ReadonlySet<string>;

const NONE: ThrottledReplicas = new Set<string>();

/**
 * Parses `leader.replication.throttled.replicas` / `follower.replication.throttled.replicas`:
 * empty or absent names none, `*` every replica, else a comma list of `partition:broker` pairs.
 * Entries that are not such pairs name nothing (the controller validated the value).
 *
 * @example
 * ```ts
 * import { isThrottled, parseThrottledReplicas } from "./replication_quota.ts";
 * const replicas = parseThrottledReplicas("0:101, 1:102");
 * isThrottled(replicas, 0, 101); // true
 * isThrottled(replicas, 0, 102); // false
 * isThrottled(parseThrottledReplicas("*"), 7, 3); // true
 * ```
 */
export function parseThrottledReplicas(value: string | null | undefined): ThrottledReplicas {
  const text = value?.trim() ?? "";
  if (text === "") return NONE;
  if (text === "*") return "all";
  const pairs = new Set<string>();
  for (const entry of text.split(",")) {
    const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(entry);
    if (m !== null) pairs.add(`${Number(m[1])}:${Number(m[2])}`);
  }
  return pairs;
}

/** Does the config name replica `brokerId` of `partition`? */
export function isThrottled(
  replicas: ThrottledReplicas,
  partition: number,
  brokerId: number,
): boolean {
  return replicas === "all" || replicas.has(`${partition}:${brokerId}`);
}

/**
 * One direction's byte rate (leader or follower) against its bound.
 *
 * @example
 * ```ts
 * import { ReplicationQuota } from "./replication_quota.ts";
 * const quota = new ReplicationQuota({ windowCount: 11, windowSizeMs: 1000 });
 * quota.record(50_000, 0);
 * quota.isExceeded(1_000, 1_000); // true: 50 kB over 10 s is 5 kB/s
 * quota.isExceeded(10_000, 1_000); // false
 * ```
 */
export class ReplicationQuota {
  readonly #rate: WindowedRate;

  constructor(windows: QuotaWindows) {
    this.#rate = new WindowedRate(windows);
  }

  /** Bytes sent or fetched for throttled replicas. */
  record(bytes: number, nowMs: number): void {
    if (bytes > 0) this.#rate.record(bytes, nowMs);
  }

  /** Is the measured rate above `bytesPerSecond` (Kafka's `Long.MAX_VALUE`, or more: no bound)? */
  isExceeded(bytesPerSecond: number, nowMs: number): boolean {
    if (!(bytesPerSecond < Number.MAX_SAFE_INTEGER)) return false;
    return this.#rate.measure(nowMs).perSecond > bytesPerSecond;
  }
}
