/**
 * The consumer groups other brokers coordinate, for the console's overview: every `refreshMs` it
 * lists the groups of the whole cluster (ListGroups on each broker, over the inter-broker listener
 * with its TLS/SASL settings), fetches the committed offsets of those not coordinated here
 * (OffsetFetch at their coordinator) and sums their lag against the partitions' high watermarks,
 * so one page answers "is anything behind?" in a cluster of several brokers.
 *
 * @example
 * ```ts ignore
 * const remote = new RemoteGroups(config, logger, { isLocal, endOffset });
 * remote.summaries(); // [] at first, then the other brokers' groups
 * await remote.close();
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import type { Logger } from "../core/log.ts";
import type { Admin } from "../net/client/admin.ts";
import { interBrokerAdmin } from "./inter_broker_admin.ts";

/** One group another broker coordinates, as the overview lists it. */
export interface RemoteGroupSummary {
  groupId: string;
  state: string;
  protocolType: string;
  /** Sum of the lag of its committed partitions whose end offset is known; null when none is. */
  totalLag: number | null;
}

/** How {@link RemoteGroups} tells local groups apart and finds end offsets. */
export interface RemoteGroupsOptions {
  /** True when this broker coordinates the group (the local view already has it). */
  isLocal(groupId: string): boolean;
  /** A partition's high watermark (led here, or fetched from its leader), if known. */
  endOffset(topic: string, partition: number): number | undefined;
  refreshMs?: number;
}

const REFRESH_MS_DEFAULT = 10_000;
/** Bound on the groups summarized per refresh (a console page, not an exporter). */
const GROUPS_MAX = 500;

/** Cached summaries of the groups other brokers coordinate. */
export class RemoteGroups {
  readonly #config: ServerConfig;
  readonly #logger: Logger;
  readonly #options: RemoteGroupsOptions;
  #summaries: RemoteGroupSummary[] = [];
  #admin: Admin | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing: Promise<void> | undefined;
  #closed = false;

  constructor(config: ServerConfig, logger: Logger, options: RemoteGroupsOptions) {
    this.#config = config;
    this.#logger = logger;
    this.#options = options;
  }

  /** The last summaries (starts refreshing on first use). */
  summaries(): readonly RemoteGroupSummary[] {
    if (!this.#closed && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#kick(), this.#options.refreshMs ?? REFRESH_MS_DEFAULT);
      this.#kick();
    }
    return this.#summaries;
  }

  #kick(): void {
    this.#refreshing ??= this.#refresh().finally(() => this.#refreshing = undefined);
  }

  #adminClient(): Admin | undefined {
    this.#admin ??= interBrokerAdmin(this.#config, "console");
    return this.#admin;
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const admin = this.#adminClient();
    if (admin === undefined) return;
    try {
      const listed = (await admin.listGroups())
        .filter((g) => !this.#options.isLocal(g.groupId))
        .slice(0, GROUPS_MAX);
      const out: RemoteGroupSummary[] = [];
      for (const g of listed) {
        if (this.#closed) return;
        let totalLag: number | null = null;
        try {
          for (const o of await admin.listConsumerGroupOffsets(g.groupId)) {
            if (o.offset < 0) continue;
            const end = this.#options.endOffset(o.topic, o.partition);
            if (end === undefined) continue;
            totalLag = (totalLag ?? 0) + Math.max(0, end - o.offset);
          }
        } catch (error) {
          this.#logger.debug(
            `Cannot fetch offsets of group ${g.groupId}: ${(error as Error).message}`,
          );
        }
        out.push({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, totalLag });
      }
      this.#summaries = out;
    } catch (error) {
      this.#logger.debug(`Cannot list the cluster's groups: ${(error as Error).message}`);
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
