/**
 * KIP-848 server-side partition assignors: `uniform` (Kafka's default, balanced and sticky) and
 * `range` (per topic, members sorted by id take consecutive ranges, co-partitioning topics of the
 * same size). An assignment maps topic ids to partition sets; assignors are pure and deterministic
 * (members, topics and partitions are visited in sorted order).
 *
 * @example
 * ```ts
 * import { uniformAssignor } from "./assignors.ts";
 * const target = uniformAssignor({
 *   members: [
 *     { memberId: "a", subscribedTopicIds: new Set(["T"]) },
 *     { memberId: "b", subscribedTopicIds: new Set(["T"]) },
 *   ],
 *   topics: new Map([["T", 4]]),
 *   previous: new Map(),
 * });
 * target.get("a"); // Map { "T" => Set { 0, 2 } }
 * ```
 *
 * @module
 */

/** Partitions by topic id. */
export type Assignment = Map<string, Set<number>>;

/** One member as an assignor sees it. */
export interface AssignorMember {
  memberId: string;
  subscribedTopicIds: ReadonlySet<string>;
}

/** What an assignor computes from. */
export interface AssignorInput {
  /** The members of the group (any order). */
  members: readonly AssignorMember[];
  /** Partition counts of the subscribed topics, by topic id. */
  topics: ReadonlyMap<string, number>;
  /** The current target assignment, by member id (for stickiness). */
  previous: ReadonlyMap<string, Assignment>;
}

/** A server-side assignor: the new target assignment of every member. */
export type Assignor = (input: AssignorInput) => Map<string, Assignment>;

const byString = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

function add(assignment: Assignment, topicId: string, partition: number): void {
  let partitions = assignment.get(topicId);
  if (partitions === undefined) assignment.set(topicId, partitions = new Set());
  partitions.add(partition);
}

function remove(assignment: Assignment, topicId: string, partition: number): void {
  const partitions = assignment.get(topicId);
  partitions?.delete(partition);
  if (partitions?.size === 0) assignment.delete(topicId);
}

/**
 * `uniform`: every subscribed partition goes to one subscribed member, member loads differ by at
 * most one wherever subscriptions allow a move, and partitions stay with their previous owner
 * when that keeps the balance (KIP-848 "UniformAssignor": balanced, then sticky).
 *
 * @example
 * ```ts
 * import { uniformAssignor } from "./assignors.ts";
 * uniformAssignor({ members: [], topics: new Map(), previous: new Map() }); // Map {}
 * ```
 */
export const uniformAssignor: Assignor = (input) => {
  const members = [...input.members].sort((a, b) => byString(a.memberId, b.memberId));
  const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
  const count = new Map<string, number>(members.map((m) => [m.memberId, 0]));
  const owner = new Map<string, string>();
  const key = (topicId: string, p: number) => `${topicId}:${p}`;
  const give = (memberId: string, topicId: string, p: number) => {
    add(out.get(memberId)!, topicId, p);
    owner.set(key(topicId, p), memberId);
    count.set(memberId, count.get(memberId)! + 1);
  };
  // 1. Sticky: keep what each member had, while it still exists and is subscribed.
  for (const member of members) {
    const previous = input.previous.get(member.memberId);
    if (previous === undefined) continue;
    for (const topicId of [...previous.keys()].sort(byString)) {
      const numPartitions = input.topics.get(topicId);
      if (numPartitions === undefined || !member.subscribedTopicIds.has(topicId)) continue;
      for (const p of [...previous.get(topicId)!].sort((a, b) => a - b)) {
        if (p < numPartitions && !owner.has(key(topicId, p))) give(member.memberId, topicId, p);
      }
    }
  }
  // 2. Every unassigned partition goes to the least loaded subscribed member.
  const subscribers = new Map<string, AssignorMember[]>();
  for (const topicId of [...input.topics.keys()].sort(byString)) {
    subscribers.set(topicId, members.filter((m) => m.subscribedTopicIds.has(topicId)));
  }
  const leastLoaded = (candidates: AssignorMember[]) =>
    candidates.reduce((best, m) => count.get(m.memberId)! < count.get(best.memberId)! ? m : best);
  for (const [topicId, candidates] of subscribers) {
    if (candidates.length === 0) continue;
    const numPartitions = input.topics.get(topicId)!;
    for (let p = 0; p < numPartitions; p++) {
      if (!owner.has(key(topicId, p))) give(leastLoaded(candidates).memberId, topicId, p);
    }
  }
  // 3. Balance: move partitions from a member to a subscribed member with two fewer. Each move
  // lowers the sum of squared loads, so this ends; the bound only guards the invariant.
  const totalPartitions = owner.size;
  for (let moves = 0; moves <= totalPartitions * totalPartitions; moves++) {
    if (!moveOne(out, count, subscribers, members)) return out;
  }
  throw new Error("The uniform assignor did not converge.");
};

function moveOne(
  out: Map<string, Assignment>,
  count: Map<string, number>,
  subscribers: Map<string, AssignorMember[]>,
  members: AssignorMember[],
): boolean {
  const heaviestFirst = [...members].sort((a, b) =>
    count.get(b.memberId)! - count.get(a.memberId)! || byString(a.memberId, b.memberId)
  );
  for (const from of heaviestFirst) {
    const load = count.get(from.memberId)!;
    const assignment = out.get(from.memberId)!;
    // Give away the highest partitions first: the lowest ones tend to be the sticky ones.
    for (const topicId of [...assignment.keys()].sort(byString).reverse()) {
      const candidates = (subscribers.get(topicId) ?? []).filter((m) =>
        count.get(m.memberId)! <= load - 2
      );
      if (candidates.length === 0) continue;
      const to = candidates.reduce((best, m) =>
        count.get(m.memberId)! < count.get(best.memberId)! ? m : best
      );
      const p = Math.max(...assignment.get(topicId)!);
      remove(assignment, topicId, p);
      add(out.get(to.memberId)!, topicId, p);
      count.set(from.memberId, load - 1);
      count.set(to.memberId, count.get(to.memberId)! + 1);
      return true;
    }
  }
  return false;
}

/**
 * `range`: per topic, the subscribed members sorted by member id take consecutive ranges, the
 * first `partitions % members` one partition more, so topics with equal partition counts are
 * co-partitioned (KIP-848 "RangeAssignor").
 *
 * @example
 * ```ts
 * import { rangeAssignor } from "./assignors.ts";
 * rangeAssignor({
 *   members: [{ memberId: "a", subscribedTopicIds: new Set(["T"]) }],
 *   topics: new Map([["T", 2]]),
 *   previous: new Map(),
 * }); // Map { "a" => Map { "T" => Set { 0, 1 } } }
 * ```
 */
export const rangeAssignor: Assignor = (input) => {
  const members = [...input.members].sort((a, b) => byString(a.memberId, b.memberId));
  const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
  for (const topicId of [...input.topics.keys()].sort(byString)) {
    const numPartitions = input.topics.get(topicId)!;
    const subscribed = members.filter((m) => m.subscribedTopicIds.has(topicId));
    if (subscribed.length === 0) continue;
    const per = Math.floor(numPartitions / subscribed.length);
    const extra = numPartitions % subscribed.length;
    subscribed.forEach((member, i) => {
      const start = i * per + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) add(out.get(member.memberId)!, topicId, p);
    });
  }
  return out;
};

/** The server-side assignors by name (`group.consumer.assignors`; the first is the default). */
export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  ["uniform", uniformAssignor],
  ["range", rangeAssignor],
]);
