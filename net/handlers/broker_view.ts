/**
 * What request handlers need from the broker they run in: its configuration, the applied metadata
 * image, and a line to the active controller. The handlers own this interface; `node/`'s
 * `BrokerContext` implements it, so the handlers import nothing from `node/`.
 *
 * @module
 */

import type { ServerConfig } from "../../core/config/server_config.ts";
import type { Logger } from "../../core/log.ts";
import type { MetadataImage } from "../../core/metadata/image.ts";

/** The applied metadata, as handlers read it. */
export interface MetadataView {
  /** The image every committed record up to now was applied to. */
  readonly image: MetadataImage;
  /** Resolves once every change applied so far has been acted on by the broker's roles. */
  settled(): Promise<void>;
}

/** Requests to the active controller (forwarding). */
export interface ControllerLink {
  /** Sends one request and resolves with its response (throws KafkaError on failure). */
  send<T>(
    apiKey: number,
    body: Record<string, unknown>,
    options?: { timeoutMs?: number; version?: number },
  ): Promise<T>;
}

/**
 * The broker as request handlers see it.
 *
 * @example
 * ```ts ignore
 * function leaderOf(broker: BrokerView, topic: string, partition: number): number {
 *   return broker.metadata.image.topics.byName.get(topic)?.partitions.get(partition)?.leader ?? -1;
 * }
 * ```
 */
export interface BrokerView {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly nodeId: number;
  readonly clusterId: string;
  readonly metadata: MetadataView;
  readonly controller: ControllerLink;
  /** The broker epoch from the last successful registration (-1n before). */
  brokerEpoch(): bigint;
}
