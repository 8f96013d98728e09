/**
 * Adapts the replica manager's internal-topic API to the group coordinator's `GroupLogStore`:
 * `__consumer_offsets` appends (durable, as leader), reads, and leadership changes.
 *
 * @module
 */

import type { GroupLogStore } from "./group_manager.ts";
import { OFFSETS_TOPIC } from "./group_manager.ts";
import type { ReplicaManager } from "./replica_manager.ts";

/**
 * The `__consumer_offsets` partitions of one broker, as the group manager sees them.
 *
 * @example
 * ```ts ignore
 * const groups = new GroupManager(ctx, offsetsLogStore(replicas));
 * ```
 */
export function offsetsLogStore(replicas: ReplicaManager): GroupLogStore {
  return {
    async append(partition, batch) {
      await replicas.appendInternal(OFFSETS_TOPIC, partition, batch);
    },
    read(partition, fromOffset, maxBytes) {
      return replicas.readInternal(OFFSETS_TOPIC, partition, fromOffset, maxBytes);
    },
    onLeaderChange(listener) {
      replicas.onLeaderChange((topic, partition, isLeader) => {
        if (topic === OFFSETS_TOPIC) listener(partition, isLeader);
      });
    },
    ledPartitions() {
      return replicas.partitions()
        .filter((p) => p.topic === OFFSETS_TOPIC && p.isLeader)
        .map((p) => p.partition);
    },
  };
}
