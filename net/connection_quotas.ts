/**
 * Connection limits shared by every listener of a node, as Kafka's ConnectionQuotas enforces them:
 * `max.connections.per.ip` (and its `max.connections.per.ip.overrides`) refuses a new connection
 * from an address that already has that many; `max.connections` caps the node's connections, and
 * a listener at the cap stops accepting until one closes. The inter-broker listener is exempt from
 * `max.connections` (Kafka lets brokers in even at the cap).
 *
 * @example
 * ```ts
 * import { ConnectionQuotas } from "./connection_quotas.ts";
 * const quotas = new ConnectionQuotas({ maxConnections: 100, maxConnectionsPerIp: 1 });
 * quotas.admit("10.0.0.1", "PLAINTEXT"); // true
 * quotas.admit("10.0.0.1", "PLAINTEXT"); // false: a second connection from the same address
 * ```
 *
 * @module
 */

/** How a node limits its connections. */
export interface ConnectionLimits {
  /** `max.connections`. */
  maxConnections: number;
  /** `max.connections.per.ip`. */
  maxConnectionsPerIp: number;
  /** `max.connections.per.ip.overrides`: per host name or address. */
  perIpOverrides?: ReadonlyMap<string, number>;
  /** The listener exempt from `max.connections` (the inter-broker one). */
  interBrokerListener?: string;
  /**
   * `connection_creation_rate` of an address (IP client quota, KIP-612), in connections per second,
   * or null when none applies; read on every new connection.
   */
  ipConnectionRate?: (ip: string) => number | null;
  /** How the rate is sampled: quota.window.num windows of quota.window.size.seconds. */
  rateWindows?: { windowCount: number; windowSizeMs: number };
  /** Listeners IP quotas do not apply to (inter-broker and controller ones, as in Kafka). */
  ipQuotaExemptListeners?: readonly string[];
  /**
   * `max.connection.creation.rate` (KIP-612) in connections per second: the listener's own
   * (`listener.name.<listener>.max.connection.creation.rate`) and the node's (every listener but
   * the inter-broker one counts toward it); null where none is set. Read on every new connection.
   */
  connectionCreationRate?: (listenerName: string) => {
    listener: number | null;
    node: number | null;
  };
}

/** The connection counts of one node. */
export class ConnectionQuotas {
  readonly #limits: ConnectionLimits;
  readonly #perIp = new Map<string, number>();
  #total = 0;
  #waiters: (() => void)[] = [];
  /** Connection start times per address, within the rate windows (connection_creation_rate). */
  readonly #starts = new Map<string, number[]>();
  /** Accept times per listener and for the node ("" key), for max.connection.creation.rate. */
  readonly #accepts = new Map<string, number[]>();

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Connections open now. */
  get total(): number {
    return this.#total;
  }

  /** True when the node is at `max.connections` for this listener (accepting should wait). */
  atCapacity(listenerName: string): boolean {
    return listenerName !== this.#limits.interBrokerListener &&
      this.#total >= this.#limits.maxConnections;
  }

  /** Resolves once a connection closes (or at once when below the cap). */
  async whenBelowCapacity(listenerName: string): Promise<void> {
    if (!this.atCapacity(listenerName)) return;
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Counts a new connection from `ip`; false (nothing counted) when its address is at its limit. */
  admit(ip: string, _listenerName: string): boolean {
    const limit = this.#limits.perIpOverrides?.get(ip) ?? this.#limits.maxConnectionsPerIp;
    const count = this.#perIp.get(ip) ?? 0;
    if (count >= limit) return false;
    this.#perIp.set(ip, count + 1);
    this.#total++;
    return true;
  }

  /**
   * Records a new connection from `ip` against its `connection_creation_rate` and returns how long
   * (ms) the connection should be held before it is closed unserved, 0 when it may be served
   * (KIP-612: a throttled connection is closed after the throttle time, so the client backs off).
   */
  connectionThrottleMs(ip: string, listenerName: string, nowMs: number): number {
    if (this.#limits.ipQuotaExemptListeners?.includes(listenerName)) return 0;
    const rate = this.#limits.ipConnectionRate?.(ip) ?? null;
    if (rate === null) {
      this.#starts.delete(ip);
      return 0;
    }
    return this.#recordAndThrottle(this.#starts, ip, rate, nowMs);
  }

  /**
   * Records a connection accepted on `listenerName` against `max.connection.creation.rate` (the
   * listener's and the node's) and returns how long (ms) the listener should wait before serving
   * it and accepting more (KIP-612: Kafka's acceptor blocks; clients wait in the backlog).
   */
  acceptThrottleMs(listenerName: string, nowMs: number): number {
    const rates = this.#limits.connectionCreationRate?.(listenerName);
    if (rates === undefined) return 0;
    let throttleMs = 0;
    if (rates.listener !== null) {
      const ms = this.#recordAndThrottle(this.#accepts, `L:${listenerName}`, rates.listener, nowMs);
      throttleMs = Math.max(throttleMs, ms);
    }
    if (rates.node !== null && listenerName !== this.#limits.interBrokerListener) {
      throttleMs = Math.max(
        throttleMs,
        this.#recordAndThrottle(this.#accepts, "", rates.node, nowMs),
      );
    }
    return throttleMs;
  }

  /** Adds `nowMs` to a windowed rate; the throttle time (ms) its excess over `rate` earns. */
  #recordAndThrottle(
    times: Map<string, number[]>,
    key: string,
    rate: number,
    nowMs: number,
  ): number {
    const windows = this.#limits.rateWindows ?? { windowCount: 11, windowSizeMs: 1000 };
    const spanMs = windows.windowCount * windows.windowSizeMs;
    const starts = (times.get(key) ?? []).filter((t) => nowMs - t < spanMs);
    starts.push(nowMs);
    times.set(key, starts);
    // As Kafka's Rate: measured over at least the full windows before the current one.
    const measuredMs = Math.max(
      nowMs - starts[0]!,
      (windows.windowCount - 1) * windows.windowSizeMs,
    );
    const perSecond = starts.length / (measuredMs / 1000);
    if (!(rate > 0)) return spanMs;
    if (perSecond <= rate) return 0;
    return Math.min(Math.round(((perSecond - rate) / rate) * measuredMs), spanMs);
  }

  /** Uncounts a closed connection admitted from `ip`. */
  release(ip: string): void {
    const count = this.#perIp.get(ip) ?? 0;
    if (count <= 1) this.#perIp.delete(ip);
    else this.#perIp.set(ip, count - 1);
    this.#total = Math.max(0, this.#total - 1);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Wakes every waiting accept loop (a listener stopping). */
  wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
