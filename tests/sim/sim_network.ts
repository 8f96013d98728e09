/**
 * A simulated network: per-message drop, duplication and random delay (hence reordering), and
 * directed link cuts for symmetric and asymmetric partitions.
 *
 * @module
 */

import type { Random } from "../../core/random.ts";
import type { RaftMessage } from "../../core/raft/messages.ts";

/** Tunable fault rates. */
export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  delayMinMs: number;
  delayMaxMs: number;
}

/** Calm settings: no loss, small delays (still reordering). */
export const CALM_NETWORK: Readonly<NetworkFaults> = Object.freeze({
  dropRate: 0,
  duplicateRate: 0,
  delayMinMs: 1,
  delayMaxMs: 8,
});

/**
 * Decides when (and whether, and how often) each message arrives.
 *
 * @example
 * ```ts
 * import { SimNetwork } from "./sim_network.ts";
 * import { SeededRandom } from "../../core/random.ts";
 * const network = new SimNetwork(new SeededRandom(1));
 * network.cut(1, 2);
 * network.deliveries({ type: "VoteResponse", from: 1, to: 2, errorCode: "NONE", leaderEpoch: 1, leaderId: -1, voteGranted: true, preVote: false }); // []
 * ```
 */
export class SimNetwork {
  faults: NetworkFaults = { ...CALM_NETWORK };
  readonly #random: Random;
  readonly #cut = new Set<string>();

  constructor(random: Random) {
    this.#random = random;
  }

  /** Blocks messages from `from` to `to` (one direction). */
  cut(from: number, to: number): void {
    this.#cut.add(`${from}>${to}`);
  }

  isCut(from: number, to: number): boolean {
    return this.#cut.has(`${from}>${to}`);
  }

  healAll(): void {
    this.#cut.clear();
  }

  /** Splits nodes into groups that cannot reach each other (symmetric partition). */
  partition(groups: number[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.cut(from, to);
      }
    }
  }

  /** Delays (ms) after which copies of `message` arrive; empty when it is lost. */
  deliveries(message: RaftMessage): number[] {
    if (this.isCut(message.from, message.to)) return [];
    const f = this.faults;
    if (this.#random.next() < f.dropRate) return [];
    const copies = this.#random.next() < f.duplicateRate ? 2 : 1;
    const out: number[] = [];
    for (let i = 0; i < copies; i++) {
      out.push(f.delayMinMs + this.#random.intBelow(f.delayMaxMs - f.delayMinMs + 1));
    }
    return out;
  }
}
