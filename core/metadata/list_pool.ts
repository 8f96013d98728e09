/**
 * A bounded pool of frozen, shared lists (replica sets, ISRs, log directories). A 1M-partition
 * image over a handful of brokers holds only a few distinct replica lists, so partitions share
 * them instead of each holding its own arrays: this is most of what keeps an image near 200 bytes
 * per partition instead of 1.4 KB.
 *
 * @module
 */

/** An empty list every partition without adding/removing replicas or ELR shares. */
export const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** Bound on the trie nodes of a pool; a full pool starts over (lists already shared stay valid). */
export const LIST_POOL_NODES_MAX = 1 << 16;

import { type MetadataRecord, RecordType } from "./records.ts";

type Element = number | string;

interface TrieNode {
  list: readonly Element[] | undefined;
  next: Map<Element, TrieNode> | undefined;
}

/**
 * Returns one frozen list per distinct sequence of elements. Frozen lists come back as they are
 * (they are immutable already), so sharing a list twice costs one `Object.isFrozen` check.
 *
 * @example
 * ```ts
 * import { ListPool } from "./list_pool.ts";
 * const pool = new ListPool();
 * const a = pool.share([1, 2, 3]);
 * pool.share([1, 2, 3]) === a; // true
 * Object.isFrozen(a); // true
 * ```
 */
export class ListPool {
  readonly #nodesMax: number;
  #root: TrieNode = { list: EMPTY_LIST, next: undefined };
  #strings = new Map<string, string>();
  #nodes = 0;

  constructor(nodesMax = LIST_POOL_NODES_MAX) {
    this.#nodesMax = nodesMax;
  }

  /** The shared, frozen list equal to `list`. */
  share<T extends Element>(list: readonly T[]): readonly T[] {
    if (list.length === 0) return EMPTY_LIST;
    if (Object.isFrozen(list)) return list;
    if (this.#nodes + list.length > this.#nodesMax) this.clear();
    let node = this.#root;
    for (let i = 0; i < list.length; i++) {
      const key = list[i]!;
      node.next ??= new Map();
      let next = node.next.get(key);
      if (next === undefined) {
        next = { list: undefined, next: undefined };
        node.next.set(key, next);
        this.#nodes++;
      }
      node = next;
    }
    node.list ??= Object.freeze(list.slice());
    return node.list as readonly T[];
  }

  /** The one copy of a string (topic ids decoded once per partition record). */
  shareString(s: string): string {
    const shared = this.#strings.get(s);
    if (shared !== undefined) return shared;
    if (this.#nodes + 1 > this.#nodesMax) this.clear();
    this.#strings.set(s, s);
    this.#nodes++;
    return s;
  }

  /** Forgets every list (lists handed out stay valid, they are just no longer reused). */
  clear(): void {
    this.#root = { list: EMPTY_LIST, next: undefined };
    this.#strings = new Map();
    this.#nodes = 0;
  }
}

/**
 * The pool images share their partition lists through.
 *
 * @example
 * ```ts
 * import { SHARED_LISTS } from "./list_pool.ts";
 * const replicas = SHARED_LISTS.share([1, 2, 3]);
 * ```
 */
export const SHARED_LISTS: ListPool = new ListPool();

/**
 * Points a decoded PartitionRecord's lists at shared ones (and its topic id at one string), in
 * place, so a snapshot's million decoded records hold no lists of their own while they wait to be
 * applied. Other records come back untouched. The record's lists become frozen: decoded records
 * are read, never edited.
 *
 * @example
 * ```ts
 * import { sharePartitionLists } from "./list_pool.ts";
 * import { makeRecord, RecordType } from "./records.ts";
 * import { createPartitionRecord } from "../../net/protocol/generated/partition_record.ts";
 * const record = sharePartitionLists(
 *   makeRecord(RecordType.PARTITION, 0, createPartitionRecord({ replicas: [1, 2] })),
 * );
 * ```
 */
export function sharePartitionLists(record: MetadataRecord): MetadataRecord {
  if (record.type !== RecordType.PARTITION) return record;
  const d = record.data as PartitionRecordLists;
  d.topicId = SHARED_LISTS.shareString(d.topicId);
  d.replicas = SHARED_LISTS.share(d.replicas);
  d.isr = SHARED_LISTS.share(d.isr);
  d.removingReplicas = SHARED_LISTS.share(d.removingReplicas);
  d.addingReplicas = SHARED_LISTS.share(d.addingReplicas);
  d.directories = SHARED_LISTS.share(d.directories);
  if (d.eligibleLeaderReplicas !== null) {
    d.eligibleLeaderReplicas = SHARED_LISTS.share(d.eligibleLeaderReplicas);
  }
  if (d.lastKnownElr !== null) d.lastKnownElr = SHARED_LISTS.share(d.lastKnownElr);
  if (d._unknownTaggedFields.length === 0) d._unknownTaggedFields = EMPTY_LIST;
  return record;
}

/** The fields of a PartitionRecord that {@link sharePartitionLists} replaces. */
interface PartitionRecordLists {
  topicId: string;
  replicas: readonly number[];
  isr: readonly number[];
  removingReplicas: readonly number[];
  addingReplicas: readonly number[];
  directories: readonly string[];
  eligibleLeaderReplicas: readonly number[] | null;
  lastKnownElr: readonly number[] | null;
  _unknownTaggedFields: readonly unknown[];
}
