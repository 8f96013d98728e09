/**
 * `Ready`: everything the raft core asks its driver to do, in the order it must be done.
 *
 * @module
 */

import type { RaftMessage } from "./messages.ts";
import type { LogEntry, NodeId, OffsetAndEpoch, QuorumStateData } from "./types.ts";

/** KIP-595 states plus KIP-996's `prospective` (pre-vote). Observers are only ever
 * `unattached` or `follower`. */
export type RaftRole =
  | "unattached"
  | "prospective"
  | "candidate"
  | "leader"
  | "follower"
  | "resigned";

/** The node's role after a change; the controller activates on `leader`, renounces otherwise. */
export interface RoleChange {
  role: RaftRole;
  epoch: number;
  leaderId: NodeId;
  observer: boolean;
}

/**
 * Effects to perform, strictly in field order, then acknowledge with `advance()`:
 *
 * 1. `persistQuorumState`: write the `quorum-state` file and fsync it before anything below.
 *    Votes, BeginQuorumEpoch and fetches of a new epoch in `send` rely on it being durable.
 * 2. `truncateLogTo`, then `appendToLog`: change the log; flushing may happen later (group
 *    commit), and is reported with `onFlushed`. The core never sends an acknowledgement
 *    (a follower's fetch offset, the leader's own vote toward the high watermark) for entries
 *    that were not reported flushed.
 * 3. `send`: hand the messages to the network (lossy; the core retries what matters).
 * 4. `committed`: apply these entries, all below `highWatermark`, in order.
 * 5. `roleChange` / `snapshotNeeded`: notifications.
 */
export interface Ready {
  /** Sequence number of this Ready, starting at 1. */
  id: number;
  persistQuorumState: QuorumStateData | null;
  truncateLogTo: number | null;
  appendToLog: LogEntry[];
  send: RaftMessage[];
  committed: LogEntry[];
  highWatermark: number;
  roleChange: RoleChange | null;
  /**
   * KIP-630: the leader's log starts after our fetch offset; fetch this snapshot from it
   * (FetchSnapshot), then report `onSnapshotInstalled` (after replacing the log and the state
   * when `shouldInstallSnapshot` still holds) or `onSnapshotFetchFailed`. No Fetch leaves until
   * one of them arrives.
   */
  snapshotNeeded: { snapshotId: OffsetAndEpoch; leaderId: NodeId } | null;
}
