/**
 * The voter set as data that changes with the log (KIP-853): the latest `VotersRecord` control
 * entry in the log wins, committed or not; truncating the log past it restores the one before.
 *
 * @module
 */

import type { LogEntry, NodeId, Voter } from "./types.ts";

/** Votes needed out of `voterCount` voters (Raft §5.2). */
export function majorityOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

interface VoterSetChange {
  offset: number;
  voters: readonly Voter[];
  ids: ReadonlySet<NodeId>;
}

function changeAt(offset: number, voters: readonly Voter[]): VoterSetChange {
  const sorted = [...voters].sort((a, b) => a.id - b.id);
  return { offset, voters: sorted, ids: new Set(sorted.map((v) => v.id)) };
}

/**
 * Tracks the voter set from bootstrap voters (static `controller.quorum.voters` or the snapshot)
 * and the voters control entries appended after it, and the `kraft.version` in force (0: static
 * voters, 1: KIP-853 voter changes allowed).
 *
 * @example
 * ```ts
 * import { VoterHistory } from "./voter_set.ts";
 * import { voterOf } from "./types.ts";
 * const voters = new VoterHistory([1, 2, 3].map(voterOf), 1);
 * voters.onAppend([{ offset: 5, epoch: 2, payload: new Uint8Array(), control: { type: "voters", voters: [1, 2].map(voterOf) } }]);
 * voters.current(); // Set {1, 2}
 * voters.onTruncate(5);
 * voters.current(); // Set {1, 2, 3}
 * ```
 */
export class VoterHistory {
  readonly #bootstrap: VoterSetChange;
  #changes: VoterSetChange[] = [];
  #kraftVersion: number;

  constructor(bootstrap: readonly Voter[], kraftVersion = 0) {
    this.#bootstrap = changeAt(-1, bootstrap);
    this.#kraftVersion = kraftVersion;
  }

  /** The ids of the voters in force. */
  current(): ReadonlySet<NodeId> {
    return this.#latest().ids;
  }

  /** The voters in force, by id; the same array until the set changes. */
  currentVoters(): readonly Voter[] {
    return this.#latest().voters;
  }

  /** The voter in force with this id, if any. */
  voter(id: NodeId): Voter | undefined {
    return this.#latest().voters.find((v) => v.id === id);
  }

  /** `kraft.version` in force: 1 once a KRaftVersion record (or a dynamic bootstrap) says so. */
  get kraftVersion(): number {
    return this.#kraftVersion;
  }

  /** Offset of the latest voters entry, or -1 when the bootstrap set is in force. */
  lastChangeOffset(): number {
    return this.#changes.at(-1)?.offset ?? -1;
  }

  onAppend(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      const control = entry.control;
      if (control?.type === "voters") this.#changes.push(changeAt(entry.offset, control.voters));
      if (control?.type === "kraftVersion") {
        this.#kraftVersion = Math.max(this.#kraftVersion, control.kraftVersion);
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
  resetTo(snapshotEndOffset: number, voters: readonly Voter[] | null): void {
    if (voters !== null) this.#kraftVersion = Math.max(this.#kraftVersion, 1);
    const current = voters ?? this.#changes.at(-1)?.voters ?? null;
    this.#changes = current === null ? [] : [changeAt(snapshotEndOffset - 1, current)];
  }

  /** Forgets changes superseded by a committed one, keeping the history bounded. */
  prune(highWatermark: number): void {
    let lastCommitted = -1;
    this.#changes.forEach((change, i) => {
      if (change.offset < highWatermark) lastCommitted = i;
    });
    if (lastCommitted > 0) this.#changes = this.#changes.slice(lastCommitted);
  }

  #latest(): VoterSetChange {
    return this.#changes.at(-1) ?? this.#bootstrap;
  }
}
