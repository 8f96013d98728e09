/**
 * Client quotas as Kafka's ClientQuotaManager applies them, pure: quotas stored per entity
 * (`user`, `client-id`, both, or their defaults, in ClientQuotaRecords), the most specific one
 * that matches a request's principal and client id (Kafka's precedence), and a windowed rate per
 * matched entity whose excess over the quota becomes a throttle time. Time is passed in.
 *
 * @example
 * ```ts
 * import { ClientQuotaEnforcer } from "./client_quotas.ts";
 * const quotas = new Map([[JSON.stringify([[["user", "alice"]], "producer_byte_rate"]), {
 *   entity: [{ entityType: "user", entityName: "alice" }], key: "producer_byte_rate", value: 1024,
 * }]]);
 * const enforcer = new ClientQuotaEnforcer({ windowCount: 11, windowSizeMs: 1000 });
 * enforcer.record(quotas, "alice", "app", "producer_byte_rate", 100_000, 0); // a throttle in ms
 * ```
 *
 * @module
 */

/** One stored quota value (a ClientQuotaRecord without `remove`). */
export interface StoredQuota {
  entity: readonly { entityType: string; entityName: string | null }[];
  key: string;
  value: number;
}

/** The quota keys Kafka defines for users and client ids, and the one for IPs. */
export const CLIENT_QUOTA_KEYS = [
  "producer_byte_rate",
  "consumer_byte_rate",
  "request_percentage",
  "controller_mutation_rate",
] as const;
export const IP_QUOTA_KEYS = ["connection_creation_rate"] as const;

/** The quota keys kraftling enforces (the others are refused when set). */
export const ENFORCED_QUOTA_KEYS: ReadonlySet<string> = new Set([
  "producer_byte_rate",
  "consumer_byte_rate",
  "request_percentage",
  "controller_mutation_rate",
  "connection_creation_rate",
]);

/** The user name of a principal (`User:alice` -> `alice`), or "" for others. */
export function userOf(principal: string): string {
  return principal.startsWith("User:") ? principal.slice("User:".length) : "";
}

/** The entity a stored quota names: user and client-id (null = `<default>`, absent = not named). */
interface EntityMatch {
  user?: string | null;
  clientId?: string | null;
}

function entityOf(q: StoredQuota): EntityMatch | null {
  const out: EntityMatch = {};
  for (const e of q.entity) {
    if (e.entityType === "user") out.user = e.entityName;
    else if (e.entityType === "client-id") out.clientId = e.entityName;
    else return null; // ip quotas are not per request
  }
  return out;
}

/**
 * The quota that applies to `user`/`clientId` for `key`, most specific first (Kafka's order):
 * user+client-id, user+default client-id, user, default user+client-id, default user+default
 * client-id, default user, client-id, default client-id. Returns the matched entity's label and
 * value, or null when none is set.
 *
 * @example
 * ```ts
 * import { resolveQuota } from "./client_quotas.ts";
 * resolveQuota([{ entity: [{ entityType: "user", entityName: null }], key: "k", value: 5 }],
 *   "bob", "app", "k"); // { entity: "user=<default>", value: 5, byUser: true, byClientId: false }
 * ```
 */
export function resolveQuota(
  quotas: Iterable<StoredQuota>,
  user: string,
  clientId: string,
  key: string,
): { entity: string; value: number; byUser: boolean; byClientId: boolean } | null {
  const candidates: {
    rank: number;
    entity: string;
    value: number;
    byUser: boolean;
    byClientId: boolean;
  }[] = [];
  const matches = (named: string | null | undefined, actual: string) =>
    named === null ? "default" : named === actual ? "exact" : "no";
  for (const q of quotas) {
    if (q.key !== key) continue;
    const e = entityOf(q);
    if (e === null) continue;
    const u = e.user === undefined ? "absent" : matches(e.user, user);
    const c = e.clientId === undefined ? "absent" : matches(e.clientId, clientId);
    if (u === "no" || c === "no") continue;
    const order = [
      ["exact", "exact"],
      ["exact", "default"],
      ["exact", "absent"],
      ["default", "exact"],
      ["default", "default"],
      ["default", "absent"],
      ["absent", "exact"],
      ["absent", "default"],
    ];
    const rank = order.findIndex(([ru, rc]) => ru === u && rc === c);
    if (rank < 0) continue;
    const label = [
      e.user === undefined ? null : `user=${e.user ?? "<default>"}`,
      e.clientId === undefined ? null : `client-id=${e.clientId ?? "<default>"}`,
    ].filter((x) => x !== null).join(",");
    candidates.push({
      rank,
      entity: label,
      value: q.value,
      byUser: e.user !== undefined,
      byClientId: e.clientId !== undefined,
    });
  }
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => a.rank - b.rank);
  const { rank: _rank, ...best } = candidates[0]!;
  return best;
}

/** How rates are sampled (Kafka's quota.window.num and quota.window.size.seconds). */
export interface QuotaWindows {
  windowCount: number;
  windowSizeMs: number;
}

/**
 * A rate over the last `windowCount` windows of `windowSizeMs` (Kafka's Rate with SampledStat).
 *
 * @example
 * ```ts
 * import { WindowedRate } from "./client_quotas.ts";
 * const rate = new WindowedRate({ windowCount: 11, windowSizeMs: 1000 });
 * rate.record(10_000, 0);
 * rate.measure(1_000).perSecond; // 1000: 10 kB over the 10 s the full windows span
 * ```
 */
export class WindowedRate {
  readonly #windows: QuotaWindows;
  #samples: { startMs: number; value: number }[] = [];

  constructor(windows: QuotaWindows) {
    this.#windows = windows;
  }

  record(value: number, nowMs: number): void {
    const last = this.#samples.at(-1);
    if (last === undefined || nowMs - last.startMs >= this.#windows.windowSizeMs) {
      this.#samples.push({ startMs: nowMs, value });
      if (this.#samples.length > this.#windows.windowCount) this.#samples.shift();
    } else {
      last.value += value;
    }
  }

  /** The rate per second and the span it was measured over. */
  measure(nowMs: number): { perSecond: number; spanMs: number } {
    const oldest = nowMs - this.#windows.windowCount * this.#windows.windowSizeMs;
    this.#samples = this.#samples.filter((s) => s.startMs > oldest);
    const total = this.#samples.reduce((n, s) => n + s.value, 0);
    const first = this.#samples[0]?.startMs ?? nowMs;
    // As Kafka: the span covers at least the full windows before the current one.
    const spanMs = Math.max(
      nowMs - first,
      (this.#windows.windowCount - 1) * this.#windows.windowSizeMs,
    );
    return { perSecond: total / (spanMs / 1000), spanMs };
  }
}

/** The longest a single request is throttled for (Kafka bounds it by the quota window). */
function maxThrottleMs(windows: QuotaWindows): number {
  return windows.windowCount * windows.windowSizeMs;
}

/** Rates per matched quota entity and the throttle times they earn. */
export class ClientQuotaEnforcer {
  readonly #windows: QuotaWindows;
  readonly #rates = new Map<string, WindowedRate>();

  constructor(windows: QuotaWindows) {
    this.#windows = windows;
  }

  /**
   * Records `amount` (bytes, or for request_percentage milliseconds of event-loop time) against
   * the quota of `key` that applies to the user and client id, and returns the throttle time in
   * ms (0 when under the quota or when no quota applies). As Kafka's QuotaUtils.throttleTime:
   * (rate - quota) / quota x the measured span.
   */
  record(
    quotas: ReadonlyMap<string, StoredQuota> | Iterable<StoredQuota>,
    user: string,
    clientId: string,
    key: string,
    amount: number,
    nowMs: number,
  ): number {
    const values = quotas instanceof Map ? quotas.values() : quotas as Iterable<StoredQuota>;
    const quota = resolveQuota(values, user, clientId, key);
    if (quota === null) return 0;
    // request_percentage: percent of one thread's time, i.e. quota/100 ms per ms.
    const bound = key === "request_percentage" ? quota.value * 10 : quota.value;
    if (!(bound > 0)) return maxThrottleMs(this.#windows);
    // One rate per quota entity with its defaults filled in, as Kafka's sensors: a default user
    // quota gives every user a rate of their own.
    const sensorKey = `${key}|${quota.byUser ? user : "\u0000"}|${
      quota.byClientId ? clientId : "\u0000"
    }`;
    let rate = this.#rates.get(sensorKey);
    if (rate === undefined) this.#rates.set(sensorKey, rate = new WindowedRate(this.#windows));
    rate.record(amount, nowMs);
    const { perSecond, spanMs } = rate.measure(nowMs);
    if (perSecond <= bound) return 0;
    return Math.min(
      Math.round(((perSecond - bound) / bound) * spanMs),
      maxThrottleMs(this.#windows),
    );
  }
}

/**
 * `controller_mutation_rate` (KIP-599): partitions created or deleted per second, as a token
 * bucket per quota entity whose burst is the rate times the quota windows. A request arriving while
 * the bucket is negative is refused with THROTTLING_QUOTA_EXCEEDED and a throttle time until it
 * refills; an accepted one may drive it below zero.
 */
export class MutationQuotaEnforcer {
  readonly #windows: QuotaWindows;
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(windows: QuotaWindows) {
    this.#windows = windows;
  }

  /**
   * For `partitions` mutations by the user and client id at `nowMs`: 0 when accepted (and
   * recorded), else the throttle time in ms before any is accepted again. Without a quota: 0.
   */
  tryMutate(
    quotas: ReadonlyMap<string, StoredQuota> | Iterable<StoredQuota>,
    user: string,
    clientId: string,
    partitions: number,
    nowMs: number,
  ): number {
    const values = quotas instanceof Map ? quotas.values() : quotas as Iterable<StoredQuota>;
    const quota = resolveQuota(values, user, clientId, "controller_mutation_rate");
    if (quota === null) return 0;
    const rate = quota.value; // mutations per second
    const burst = rate * this.#windows.windowCount * (this.#windows.windowSizeMs / 1000);
    const key = `${quota.byUser ? user : "\u0000"}|${quota.byClientId ? clientId : "\u0000"}`;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, atMs: nowMs };
    bucket.tokens = Math.min(burst, bucket.tokens + (rate * (nowMs - bucket.atMs)) / 1000);
    bucket.atMs = nowMs;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 0) return Math.ceil((-bucket.tokens / rate) * 1000);
    bucket.tokens -= partitions;
    return 0;
  }
}

/**
 * The `connection_creation_rate` that applies to an address: its own, else the IP default.
 *
 * @example
 * ```ts
 * import { ipConnectionRate } from "./client_quotas.ts";
 * ipConnectionRate([{ entity: [{ entityType: "ip", entityName: null }],
 *   key: "connection_creation_rate", value: 5 }], "10.0.0.1"); // 5
 * ```
 */
export function ipConnectionRate(quotas: Iterable<StoredQuota>, ip: string): number | null {
  let fallback: number | null = null;
  for (const q of quotas) {
    if (q.key !== "connection_creation_rate" || q.entity.length !== 1) continue;
    const e = q.entity[0]!;
    if (e.entityType !== "ip") continue;
    if (e.entityName === ip) return q.value;
    if (e.entityName === null) fallback = q.value;
  }
  return fallback;
}
