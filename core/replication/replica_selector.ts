/**
 * Which replica a consumer should read from (KIP-392, Kafka's `RackAwareReplicaSelector` as the
 * leader's `ReplicaManager.findPreferredReadReplica` uses it): a consumer that names its rack is
 * sent to a replica in that rack, the leader itself when it is there, else the most caught-up
 * follower there. Only followers that can serve the fetch offset now are candidates: in the ISR,
 * with the offset in their log, on a live broker reachable on the consumer's listener.
 *
 * Pure: the caller gathers what the leader knows of its followers and the racks of the brokers.
 *
 * @module
 */

/** One follower as the leader knows it. */
export interface ReadReplicaCandidate {
  readonly replicaId: number;
  /** The follower's log end, as its last fetch showed it (-1 before its first fetch). */
  readonly logEndOffset: number;
  /** When it was last caught up to the leader's log end, in milliseconds. */
  readonly lastCaughtUpTimeMs: number;
  readonly inIsr: boolean;
  /** Its broker is registered, unfenced and has an endpoint on the consumer's listener. */
  readonly alive: boolean;
  /** Its broker's `broker.rack`, or null. */
  readonly rack: string | null;
}

/** What the leader asks. */
export interface ReadReplicaQuestion {
  /** The consumer's `client.rack` (Fetch v11+ `rack_id`); empty when it named none. */
  readonly clientRack: string;
  readonly fetchOffset: number;
  readonly leaderRack: string | null;
  readonly followers: readonly ReadReplicaCandidate[];
  readonly nowMs: number;
}

/**
 * The follower the consumer should read from, or -1 for the leader itself.
 *
 * @example
 * ```ts
 * import { preferredReadReplica } from "./replica_selector.ts";
 * const follower = { logEndOffset: 10, lastCaughtUpTimeMs: 0, inIsr: true, alive: true };
 * preferredReadReplica({
 *   clientRack: "eu-1b",
 *   fetchOffset: 5,
 *   leaderRack: "eu-1a",
 *   followers: [{ ...follower, replicaId: 2, rack: "eu-1b" }, { ...follower, replicaId: 3, rack: "eu-1c" }],
 *   nowMs: 0,
 * }); // 2
 * ```
 */
export function preferredReadReplica(question: ReadReplicaQuestion): number {
  const { clientRack } = question;
  if (clientRack === "" || question.leaderRack === clientRack) return -1;
  let best: ReadReplicaCandidate | null = null;
  for (const f of question.followers) {
    if (f.rack !== clientRack || !f.inIsr || !f.alive) continue;
    if (f.logEndOffset < question.fetchOffset) continue; // it cannot serve the offset yet
    if (best === null || moreCaughtUp(f, best, question.nowMs)) best = f;
  }
  return best?.replicaId ?? -1;
}

/** Kafka's `ReplicaView.comparator`: higher log end, then caught up more recently, then id. */
function moreCaughtUp(a: ReadReplicaCandidate, b: ReadReplicaCandidate, nowMs: number): boolean {
  if (a.logEndOffset !== b.logEndOffset) return a.logEndOffset > b.logEndOffset;
  const sinceA = nowMs - a.lastCaughtUpTimeMs;
  const sinceB = nowMs - b.lastCaughtUpTimeMs;
  if (sinceA !== sinceB) return sinceA < sinceB;
  return a.replicaId > b.replicaId;
}
