/**
 * Replica placement for new partitions: striped round-robin across racks from a random start,
 * in the spirit of Kafka's `StripedReplicaPlacer` (KIP-660's rack-aware placement for KRaft).
 *
 * Leaders rotate over a rack-interleaved broker list (rack A, rack B, rack C, A, B, C, ...), so
 * leadership is balanced to within one partition. Followers continue around the same list with
 * a shift that changes every full rotation, preferring racks the partition does not use yet.
 *
 * @module
 */

import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { Random } from "../random.ts";

/** A broker that may receive replicas (registered, unfenced, not shutting down). */
export interface UsableBroker {
  readonly id: number;
  readonly rack: string | null;
}

/** What to place. */
export interface PlacementRequest {
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly random: Random;
}

/**
 * Places `numPartitions` partitions of `replicationFactor` replicas each; the first replica of
 * each list is the preferred leader. Throws a KafkaError INVALID_REPLICATION_FACTOR when there
 * are too few usable brokers.
 *
 * @example
 * ```ts
 * import { placeReplicas } from "./placement.ts";
 * import { SeededRandom } from "../random.ts";
 * const brokers = [{ id: 1, rack: null }, { id: 2, rack: null }, { id: 3, rack: null }];
 * placeReplicas(brokers, { numPartitions: 3, replicationFactor: 2, random: new SeededRandom(1) });
 * ```
 */
export function placeReplicas(
  brokers: readonly UsableBroker[],
  request: PlacementRequest,
): number[][] {
  const { numPartitions, replicationFactor, random } = request;
  if (replicationFactor <= 0) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Replication factor must be larger than 0, but was ${replicationFactor}.`,
    );
  }
  if (replicationFactor > brokers.length) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): only ${brokers.length} ` +
        `broker(s) are unfenced.`,
    );
  }
  const ring = interleaveRacks(brokers, random);
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? ""]));
  const rackCount = new Set(rackOf.values()).size;
  const n = ring.length;
  const start = random.intBelow(n);
  const shiftStart = random.intBelow(Math.max(1, n - 1));
  const out: number[][] = [];
  for (let p = 0; p < numPartitions; p++) {
    const leaderPos = (start + p) % n;
    const shift = (shiftStart + Math.floor((start + p) / n)) % Math.max(1, n - 1);
    const leader = ring[leaderPos]!;
    const chosen = [leader];
    const racksUsed = new Set([rackOf.get(leader)]);
    const candidates: number[] = [];
    for (let k = 0; k < n - 1; k++) {
      candidates.push(ring[(leaderPos + 1 + ((shift + k) % (n - 1))) % n]!);
    }
    for (const c of candidates) {
      if (chosen.length === replicationFactor) break;
      if (racksUsed.size === rackCount) racksUsed.clear();
      const rack = rackOf.get(c);
      if (racksUsed.has(rack)) continue;
      chosen.push(c);
      racksUsed.add(rack);
    }
    for (const c of candidates) {
      if (chosen.length === replicationFactor) break;
      if (!chosen.includes(c)) chosen.push(c);
    }
    out.push(chosen);
  }
  return out;
}

/** Brokers grouped by rack (racks and brokers shuffled), then dealt one per rack in turn. */
function interleaveRacks(brokers: readonly UsableBroker[], random: Random): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    const key = b.rack ?? "";
    let list = byRack.get(key);
    if (list === undefined) byRack.set(key, list = []);
    list.push(b.id);
  }
  const racks = [...byRack.keys()].sort();
  shuffle(racks, random);
  const lists = racks.map((r) => shuffle(byRack.get(r)!, random));
  const ring: number[] = [];
  const longest = Math.max(...lists.map((l) => l.length));
  for (let i = 0; i < longest; i++) {
    for (const list of lists) if (i < list.length) ring.push(list[i]!);
  }
  return ring;
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.intBelow(i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}
