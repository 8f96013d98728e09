/**
 * Safety invariants the simulator checks after every event (Raft §5.2–§5.4, KIP-595).
 * A violation throws an `Error` naming what broke; the simulator adds the seed and trace.
 *
 * @module
 */

import type { RaftNode } from "../../core/raft/node.ts";
import type { LogEntry } from "../../core/raft/types.ts";
import { majorityOf } from "../../core/raft/voter_set.ts";
import { epochOfKey, type SimDisk, type SimSnapshot } from "./sim_disk.ts";

const decoder = new TextDecoder();

/** A short stable identity of an entry's content: its epoch and payload or control type. */
export function entryKey(entry: LogEntry): string {
  const body = entry.control
    ? `${entry.control.type}:${controlDetail(entry.control)}`
    : decoder.decode(entry.payload);
  return `${entry.epoch}/${body}`;
}

function controlDetail(control: NonNullable<LogEntry["control"]>): string {
  switch (control.type) {
    case "leaderChange":
      return String(control.leaderId);
    case "voters":
      return control.voters.map((v) => v.id).join(",");
    case "kraftVersion":
      return String(control.kraftVersion);
  }
}

/** What the checker can see of one node. */
export interface CheckedNode {
  id: number;
  raft: RaftNode | null;
  disk: SimDisk;
  bootstrapVoter: boolean;
}

/**
 * Tracks history across events and nodes and fails on the first broken invariant.
 *
 * @example
 * ```ts
 * import { InvariantChecker } from "./invariants.ts";
 * const checker = new InvariantChecker();
 * checker.onApplied(1, [{ offset: 0, epoch: 1, payload: new Uint8Array() }]);
 * checker.committedCount; // 1
 * ```
 */
export class InvariantChecker {
  readonly #leaderOfEpoch = new Map<number, number>();
  readonly #epochOf = new Map<number, number>();
  readonly #highWatermarkOf = new Map<number, number>();
  readonly #appliedKeys = new Map<number, Set<string>>();
  /** The one committed history: entry key by offset. */
  readonly #committed: string[] = [];

  get committedCount(): number {
    return this.#committed.length;
  }

  /** True when node `id` has applied an entry with this payload text. */
  hasApplied(id: number, payloadText: string): boolean {
    return this.#appliedKeys.get(id)?.has(payloadText) ?? false;
  }

  /** A crashed node restarts: its in-memory high watermark starts over. */
  onRestart(id: number): void {
    this.#highWatermarkOf.delete(id);
  }

  /** Committed entries never change and every node applies the same sequence (Raft §5.4). */
  onApplied(id: number, entries: readonly LogEntry[]): void {
    const applied = this.#appliedKeys.get(id) ?? new Set<string>();
    this.#appliedKeys.set(id, applied);
    for (const entry of entries) {
      const key = entryKey(entry);
      const known = this.#committed[entry.offset];
      if (known === undefined) {
        if (entry.offset !== this.#committed.length) {
          throw new Error(`Node ${id} applied offset ${entry.offset} past the committed end`);
        }
        this.#committed.push(key);
      } else if (known !== key) {
        throw new Error(`Node ${id} applied ${key} at ${entry.offset}, committed was ${known}`);
      }
      if (!entry.control) applied.add(decoder.decode(entry.payload));
    }
  }

  /**
   * KIP-630: a snapshot a node loads (at restart or fetched from the leader) holds exactly the
   * committed history up to its end offset; its entries count as applied by that node.
   */
  onSnapshotLoaded(id: number, snapshot: SimSnapshot): void {
    const applied = this.#appliedKeys.get(id) ?? new Set<string>();
    this.#appliedKeys.set(id, applied);
    if (snapshot.keys.length !== snapshot.id.offset) {
      throw new Error(`Node ${id} loaded a snapshot whose history does not end at its offset`);
    }
    const last = snapshot.keys.at(-1);
    if (last !== undefined && epochOfKey(last) !== snapshot.id.epoch) {
      throw new Error(`Node ${id} loaded snapshot ${JSON.stringify(snapshot.id)} of another epoch`);
    }
    snapshot.keys.forEach((key, offset) => {
      const known = this.#committed[offset];
      if (known !== key) {
        throw new Error(
          `Node ${id} loaded ${key} at ${offset} from a snapshot, committed ${known}`,
        );
      }
      applied.add(key.slice(key.indexOf("/") + 1));
    });
  }

  /** Leader Completeness (Raft §5.4): a new leader's log holds every committed entry. */
  onBecameLeader(node: CheckedNode): void {
    for (let offset = 0; offset < this.#committed.length; offset++) {
      if (node.disk.keyAt(offset, entryKey) !== this.#committed[offset]) {
        throw new Error(`Leader ${node.id} lacks committed offset ${offset}`);
      }
    }
  }

  /** Checks every live node after an event. */
  afterEvent(nodes: readonly CheckedNode[]): void {
    for (const node of nodes) {
      if (node.raft) this.#checkNode(node, nodes);
    }
  }

  #checkNode(node: CheckedNode, nodes: readonly CheckedNode[]): void {
    const raft = node.raft!;
    const epoch = raft.epoch;
    const lastEpoch = this.#epochOf.get(node.id) ?? 0;
    if (epoch < lastEpoch) {
      throw new Error(`Node ${node.id} epoch went from ${lastEpoch} to ${epoch}`);
    }
    this.#epochOf.set(node.id, epoch);
    // Observers never campaign; KIP-853: a leader that removed itself leads (then resigns)
    // until its removal commits, so only campaigning is forbidden outside the voter set.
    if (!raft.isVoter && (raft.role === "prospective" || raft.role === "candidate")) {
      throw new Error(`Observer ${node.id} became ${raft.role}`);
    }
    if (raft.role === "leader") {
      const known = this.#leaderOfEpoch.get(epoch);
      if (known !== undefined && known !== node.id) {
        throw new Error(`Two leaders in epoch ${epoch}: ${known} and ${node.id}`);
      }
      this.#leaderOfEpoch.set(epoch, node.id);
    }
    const highWatermark = raft.highWatermark;
    const lastHighWatermark = this.#highWatermarkOf.get(node.id) ?? 0;
    if (highWatermark < lastHighWatermark) {
      throw new Error(
        `Node ${node.id} high watermark went from ${lastHighWatermark} to ${highWatermark}`,
      );
    }
    this.#highWatermarkOf.set(node.id, highWatermark);
    if (raft.role === "leader" && highWatermark > lastHighWatermark) {
      this.#checkMajorityHolds(node, highWatermark, nodes);
    }
  }

  /** KIP-595: the leader's high watermark is durably on a majority of voters. */
  #checkMajorityHolds(
    leader: CheckedNode,
    highWatermark: number,
    nodes: readonly CheckedNode[],
  ): void {
    const lastKey = leader.disk.keyAt(highWatermark - 1, entryKey);
    if (!lastKey) {
      throw new Error(`Leader ${leader.id} high watermark ${highWatermark} past its log`);
    }
    const lastEpoch = epochOfKey(lastKey);
    const voters = leader.raft!.voters;
    let holders = 0;
    for (const node of nodes) {
      if (!voters.has(node.id)) continue;
      if (node.disk.syncedEpochAt(highWatermark - 1) === lastEpoch) holders++;
    }
    if (holders < majorityOf(voters.size)) {
      throw new Error(
        `Leader ${leader.id} reached high watermark ${highWatermark} held durably by ${holders} of ${voters.size} voters`,
      );
    }
  }
}
