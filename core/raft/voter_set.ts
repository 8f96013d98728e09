/**
 * The voter set as data that changes with the log (KIP-853): the latest `VotersRecord` control
 * entry in the log wins, committed or not; truncating the log past it restores the one before.
 *
 * @module
 */

import type { LogEntry, NodeId } from "./types.ts";

/** Votes needed out of `voterCount` voters (Raft §5.2). */
export function majorityOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * Tracks the voter set from bootstrap voters (static `controller.quorum.voters` or the snapshot)
 * and the voters control entries appended after it.
 *
 * @example
 * ```ts
 * import { VoterHistory } from "./voter_set.ts";
 * const voters = new VoterHistory([1, 2, 3]);
 * voters.onAppend([{ offset: 5, epoch: 2, payload: new Uint8Array(), control: { type: "voters", voters: [1, 2] } }]);
 * voters.current(); // Set {1, 2}
 * voters.onTruncate(5);
 * voters.current(); // Set {1, 2, 3}
 * ```
 */
export class VoterHistory {
  readonly #bootstrap: ReadonlySet<NodeId>;
  #changes: { offset: number; voters: ReadonlySet<NodeId> }[] = [];

  constructor(bootstrap: readonly NodeId[]) {
    this.#bootstrap = new Set(bootstrap);
  }

  current(): ReadonlySet<NodeId> {
    return this.#changes.at(-1)?.voters ?? this.#bootstrap;
  }

  /** Offset of the latest voters entry, or -1 when the bootstrap set is in force. */
  lastChangeOffset(): number {
    return this.#changes.at(-1)?.offset ?? -1;
  }

  onAppend(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry.control?.type === "voters") {
        this.#changes.push({ offset: entry.offset, voters: new Set(entry.control.voters) });
      }
    }
  }

  onTruncate(endOffset: number): void {
    while ((this.#changes.at(-1)?.offset ?? -1) >= endOffset) this.#changes.pop();
  }

  /**
   * A snapshot ending at `snapshotEndOffset` replaced the log: its voter set (when it carries
   * one, else the set in force) becomes the only change, recorded at the snapshot's last offset.
   */
  resetTo(snapshotEndOffset: number, voters: readonly NodeId[] | null): void {
    const current = voters === null ? (this.#changes.at(-1)?.voters ?? null) : new Set(voters);
    this.#changes = current === null ? [] : [{ offset: snapshotEndOffset - 1, voters: current }];
  }

  /** Forgets changes superseded by a committed one, keeping the history bounded. */
  prune(highWatermark: number): void {
    let lastCommitted = -1;
    this.#changes.forEach((change, i) => {
      if (change.offset < highWatermark) lastCommitted = i;
    });
    if (lastCommitted > 0) this.#changes = this.#changes.slice(lastCommitted);
  }
}
