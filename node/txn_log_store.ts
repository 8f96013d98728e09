/**
 * Adapts the replica manager's internal-topic API to the transaction manager's `TxnLogStore`:
 * `__transaction_state` appends (durable, as leader), reads, leadership changes and leader epochs.
 *
 * @module
 */

import type { ReplicaManager } from "./replica_manager.ts";
import { TRANSACTION_STATE_TOPIC, type TxnLogStore } from "./txn_manager.ts";

/**
 * The `__transaction_state` partitions of one broker, as the transaction manager sees them.
 *
 * @example
 * ```ts ignore
 * const txns = new TxnManager(ctx, txnStateLogStore(replicas), deps);
 * ```
 */
export function txnStateLogStore(replicas: ReplicaManager): TxnLogStore {
  const led = () =>
    replicas.partitions().filter((p) => p.topic === TRANSACTION_STATE_TOPIC && p.isLeader);
  return {
    async append(partition, batch) {
      await replicas.appendInternal(TRANSACTION_STATE_TOPIC, partition, batch);
    },
    read(partition, fromOffset, maxBytes) {
      return replicas.readInternal(TRANSACTION_STATE_TOPIC, partition, fromOffset, maxBytes);
    },
    onLeaderChange(listener) {
      replicas.onLeaderChange((topic, partition, isLeader) => {
        if (topic === TRANSACTION_STATE_TOPIC) listener(partition, isLeader);
      });
    },
    ledPartitions() {
      return led().map((p) => p.partition);
    },
    leaderEpoch(partition) {
      return led().find((p) => p.partition === partition)?.leaderEpoch ?? -1;
    },
  };
}
