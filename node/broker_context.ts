/**
 * What every part of the broker role shares: configuration, the metadata image, the line to the
 * active controller, and the broker's registration state.
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import type { Logger } from "../core/log.ts";
import type { MetadataState } from "./metadata_state.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import type { BrokerView } from "../net/handlers/broker_view.ts";

/**
 * Shared broker state, passed to the replica manager, the group coordinator and the handlers.
 *
 * @example
 * ```ts ignore
 * function leaderOf(ctx: BrokerContext, topic: string, partition: number): number {
 *   return ctx.metadata.image.topics.byName.get(topic)?.partitions.get(partition)?.leader ?? -1;
 * }
 * ```
 */
export interface BrokerContext extends BrokerView {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly nodeId: number;
  readonly clusterId: string;
  /** The applied metadata image (`metadata.image`) and change notifications. */
  readonly metadata: MetadataState;
  /** Requests to the active controller (CreateTopics, AllocateProducerIds, ...). */
  readonly controller: ControllerChannel;
  /** The broker epoch from the last successful registration (-1n before). */
  brokerEpoch(): bigint;
}
