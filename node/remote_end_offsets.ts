/**
 * End offsets of partitions other brokers lead, for consumer lag: a group coordinator knows its
 * groups' committed offsets but only the high watermarks of the partitions it leads. This asks the
 * leaders (ListOffsets, latest, over the inter-broker listener with its TLS/SASL settings) for the
 * partitions someone looked at recently, every `refreshMs`, and answers from that cache, so
 * `/metrics` and the console show every partition's lag as kafka-exporter does.
 *
 * @example
 * ```ts ignore
 * const remote = new RemoteEndOffsets(config, logger);
 * remote.endOffset("orders", 3); // undefined at first, then the leader's high watermark
 * await remote.close();
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import type { Logger } from "../core/log.ts";
import type { Admin } from "../net/client/admin.ts";
import { interBrokerAdmin } from "./inter_broker_admin.ts";

/** How often wanted end offsets are fetched again, in milliseconds. */
const REFRESH_MS_DEFAULT = 10_000;
/** A partition nobody asked about for this long is no longer fetched, in milliseconds. */
const WANTED_MS = 120_000;
/** Bound on the partitions tracked (a cluster-sized map, cleared when full). */
const TRACKED_MAX = 100_000;

/** Cached end offsets of partitions led elsewhere. */
export class RemoteEndOffsets {
  readonly #config: ServerConfig;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  /** "topic\0partition" -> end offset and when it was last asked for. */
  readonly #entries = new Map<string, { endOffset?: number; askedAtMs: number }>();
  #admin: Admin | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing: Promise<void> | undefined;
  #closed = false;

  constructor(config: ServerConfig, logger: Logger, options: { refreshMs?: number } = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#refreshMs = options.refreshMs ?? REFRESH_MS_DEFAULT;
  }

  /**
   * The last known end offset (high watermark) of a partition led by another broker, or
   * undefined until it has been fetched; asking keeps it fetched.
   */
  endOffset(topic: string, partition: number): number | undefined {
    if (this.#closed) return undefined;
    const key = `${topic}\u0000${partition}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= TRACKED_MAX) this.#entries.clear();
      this.#entries.set(key, entry = { askedAtMs: Date.now() });
      this.#start();
    } else {
      entry.askedAtMs = Date.now();
    }
    return entry.endOffset;
  }

  #start(): void {
    if (this.#timer !== undefined) {
      return;
    }
    this.#timer = setInterval(() => {
      this.#refreshing ??= this.#refresh().finally(() => this.#refreshing = undefined);
    }, this.#refreshMs);
    // The first answer should not wait a whole period.
    this.#refreshing ??= this.#refresh().finally(() => this.#refreshing = undefined);
  }

  #adminClient(): Admin | undefined {
    this.#admin ??= interBrokerAdmin(this.#config, "end-offsets");
    return this.#admin;
  }

  async #refresh(): Promise<void> {
    const now = Date.now();
    const wanted: { topic: string; partition: number; key: string }[] = [];
    for (const [key, entry] of this.#entries) {
      if (now - entry.askedAtMs > WANTED_MS) {
        this.#entries.delete(key);
        continue;
      }
      const [topic, partition] = key.split("\u0000");
      wanted.push({ topic: topic!, partition: Number(partition), key });
    }
    if (wanted.length === 0 || this.#closed) return;
    const admin = this.#adminClient();
    if (admin === undefined) return;
    try {
      const listed = await admin.listOffsets(
        wanted.map((w) => ({ topic: w.topic, partition: w.partition, spec: "latest" as const })),
      );
      for (const l of listed) {
        const entry = this.#entries.get(`${l.topic}\u0000${l.partition}`);
        if (entry !== undefined && l.error === undefined) entry.endOffset = l.offset;
      }
    } catch (error) {
      // Lag stays at its last value; the next period tries again.
      this.#logger.debug(`Cannot fetch end offsets for consumer lag: ${(error as Error).message}`);
    }
  }

  /** Stops refreshing and closes the client. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#refreshing;
    this.#admin?.close();
  }
}
