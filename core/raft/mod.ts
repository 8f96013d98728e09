/**
 * KRaft consensus for `__cluster_metadata-0` as a pure state machine (KIP-595 Raft for the
 * metadata quorum, KIP-996 pre-vote, KIP-853 voter sets in the log, KIP-630 snapshot ids), in the
 * style of etcd-io/raft: inputs change state, `ready()` lists effects, `advance()` acknowledges.
 * No I/O, timers, clock or global randomness: time arrives as `nowMs`, randomness as `Random`.
 *
 * Inputs (never between `ready()` and `advance()`):
 * - `tick(nowMs)`: election, fetch, check-quorum, linger and retry timers.
 * - `step(message, nowMs)`: one {@link RaftMessage} addressed to this node.
 * - `propose(payloads, nowMs)`: the leader appends opaque entries; `{ ok, offset, epoch }`.
 * - `onFlushed({ offset, epoch }, nowMs)`: storage fsynced its log up to `offset` (whose last
 *   entry has `epoch`), as the log was when the fsync started.
 * - `resign(nowMs)`: graceful leader shutdown with EndQuorumEpoch.
 * - `onSnapshotInstalled(snapshotId, nowMs, { voters })` / `onSnapshotFetchFailed(nowMs)`: the
 *   outcome of a `Ready.snapshotNeeded` (KIP-630); storage replaced the log with the snapshot
 *   (checked first with `shouldInstallSnapshot`), or the fetch failed and Fetch resumes.
 * - `onPeerUnreachable(nodeId, nowMs)`: the transport saw a connection to `nodeId` refused or
 *   reset (not a timeout). A voter whose leader that is runs its pre-vote (KIP-996) after a
 *   short random delay instead of waiting out `fetchTimeoutMs`; an observer asks other voters.
 * - `addVoter(voter, nowMs)` / `removeVoter(key, nowMs)` / `updateVoter(voter, nowMs)`: KIP-853
 *   voter changes on the leader of a dynamic quorum (kraft.version 1). Each appends a
 *   VotersRecord that is in force at once (the high watermark and elections use the new set);
 *   the caller answers once its offset commits. One change is uncommitted at most, and only
 *   after the leader committed its epoch; an added voter must be an observer caught up with the
 *   leader. A leader that removed itself keeps leading until that commits, then resigns.
 *
 * Voter sets (KIP-853): static voters (`kraft.version` 0) or the voters of the latest snapshot
 * (`kraft.version` 1), then every VotersRecord in the log, committed or not; truncation undoes
 * them. A leader of a dynamic quorum whose set still comes from the bootstrap snapshot writes
 * KRaftVersion and Voters records after its LeaderChange, so replicas fetching from offset 0
 * learn the voters (and their endpoints) from the log. In a dynamic quorum a replica votes even
 * when its log does not (yet) list it as a voter.
 *
 * Storage may also compact its log on its own at any time between inputs, at or below the
 * applied offset: the view's `startOffset()` moves to a new `latestSnapshotId()`, and fetches
 * from before it are answered with that snapshot id.
 *
 * Output: {@link Ready}; perform `persistQuorumState` (fsync), then `truncateLogTo` and
 * `appendToLog`, then `send`, then apply `committed`; then call `advance()`. Durability is
 * enforced by ordering and by the core: the quorum state is fsynced before any vote or
 * new-epoch message leaves, a follower's Fetch (its acknowledgement) only leaves once its log is
 * reported flushed, and the leader counts itself toward the high watermark by its flushed offset.
 *
 * States: `unattached`, `prospective` (pre-vote), `candidate`, `leader`, `follower`, `resigned`;
 * observers (replicas not in the voter set, i.e. brokers) are only ever `unattached` or
 * `follower`, fetch like followers and never vote or campaign.
 *
 * @example
 * ```ts
 * import { MemoryRaftLog, RaftNode } from "./mod.ts";
 * import { SeededRandom } from "../random.ts";
 *
 * // One combined node, the only voter: no network at all.
 * const log = new MemoryRaftLog();
 * const node = new RaftNode({ nodeId: 1, voters: [1], log, random: new SeededRandom(7), nowMs: 0 });
 * let nowMs = 0;
 * const drive = () => {
 *   while (node.hasReady()) {
 *     const ready = node.ready();
 *     // 1. ready.persistQuorumState -> write quorum-state and fsync
 *     if (ready.truncateLogTo !== null) log.truncateTo(ready.truncateLogTo);
 *     log.append(ready.appendToLog); // 2. write (fsync may come later)
 *     // 3. ready.send -> network; 4. ready.committed -> apply to the metadata image
 *     node.advance();
 *     if (ready.appendToLog.length > 0) {
 *       node.onFlushed({ offset: log.endOffset(), epoch: log.lastEpoch() }, nowMs);
 *     }
 *   }
 * };
 * drive(); // elected in epoch 1, LeaderChange written and committed
 * node.propose([new TextEncoder().encode("record")], nowMs);
 * nowMs += 25;
 * node.tick(nowMs); // append linger passes
 * drive();
 * node.highWatermark; // 2
 * ```
 *
 * @module
 */

export { RAFT_ERROR_CODES, type RaftErrorName } from "./errors.ts";
export { LogState, type PendingWrites, type RaftLogView, type ReadLimits } from "./log.ts";
export { MemoryRaftLog } from "./memory_log.ts";
export type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  DivergingEpoch,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  Envelope,
  FetchRequest,
  FetchResponse,
  LeaderIdAndEpoch,
  RaftMessage,
  RaftMessageType,
  VoteRequest,
  VoteResponse,
} from "./messages.ts";
export {
  type ProposeResult,
  RaftNode,
  type RaftNodeOptions,
  type VoterChangeResult,
} from "./node.ts";
export type { RaftRole, Ready, RoleChange } from "./ready.ts";
export {
  compareOffsetAndEpoch,
  type ControlRecord,
  DEFAULT_RAFT_CONFIG,
  entrySizeBytes,
  type LogEntry,
  NO_NODE,
  type NodeId,
  type OffsetAndEpoch,
  type QuorumStateData,
  type RaftConfig,
  type Voter,
  type VoterEndpoint,
  voterOf,
  ZERO_DIRECTORY_ID,
} from "./types.ts";
export { majorityOf, VoterHistory } from "./voter_set.ts";
