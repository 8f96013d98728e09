/**
 * `RaftNode`: KRaft consensus for `__cluster_metadata-0` as a pure state machine (KIP-595 with
 * KIP-996 pre-vote, KIP-853 voter sets from the log and KIP-630 snapshots). Inputs: `tick`,
 * `step`, `propose`, `onFlushed`, `resign`, `onSnapshotInstalled`, `onSnapshotFetchFailed`,
 * `onPeerUnreachable`.
 * Output: `ready()`, acknowledged by `advance()`.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import type { Random } from "../random.ts";
import type { RaftErrorName } from "./errors.ts";
import { LogState, type RaftLogView } from "./log.ts";
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  FetchRequest,
  FetchResponse,
  RaftMessage,
  VoteRequest,
  VoteResponse,
} from "./messages.ts";
import type { RaftRole, Ready, RoleChange } from "./ready.ts";
import {
  compareOffsetAndEpoch,
  DEFAULT_RAFT_CONFIG,
  type LogEntry,
  NO_NODE,
  type NodeId,
  type OffsetAndEpoch,
  type QuorumStateData,
  type RaftConfig,
  type Voter,
  voterOf,
  ZERO_DIRECTORY_ID,
} from "./types.ts";
import { majorityOf, VoterHistory } from "./voter_set.ts";

/** Kafka's leader waits 1.5 fetch timeouts for a majority of fetches before resigning. */
const CHECK_QUORUM_TIMEOUT_FACTOR = 1.5;
/** Bound on proposals buffered during the append linger. */
const PENDING_PROPOSALS_MAX = 4096;
/** Entries read per chunk when scanning the log for voters records at startup. */
const STARTUP_SCAN_CHUNK = 1024;
/**
 * A voter whose leader became unreachable starts its pre-vote after a random delay below this
 * fraction of the election timeout, so the survivors rarely campaign at the same instant.
 */
const UNREACHABLE_ELECTION_JITTER_FRACTION = 0.1;
/** Kafka's unit of the binary exponential backoff after a lost election (`RETRY_BACKOFF_BASE_MS`). */
const ELECTION_BACKOFF_BASE_MS = 50;
/** Bound on the exponent of that backoff. */
const ELECTION_BACKOFF_EXPONENT_MAX = 20;

/** How to build a `RaftNode`. */
export interface RaftNodeOptions {
  nodeId: NodeId;
  directoryId?: string;
  /**
   * Bootstrap voters: static `controller.quorum.voters` (bare ids), or the voter set of the
   * latest snapshot (KIP-853, with directory ids and endpoints).
   */
  voters: readonly (NodeId | Voter)[];
  /**
   * `kraft.version` of the bootstrap (KIP-853): 0 for static voters (the default), 1 when the
   * voters come from a snapshot's VotersRecord. Voter changes need 1.
   */
  kraftVersion?: number;
  /** The persisted `quorum-state`; absent on a fresh node. */
  quorumState?: QuorumStateData;
  /** Storage's recovered log; everything in it at construction counts as durable. */
  log: RaftLogView;
  config?: Partial<RaftConfig>;
  random: Random;
  nowMs: number;
}

/** The answer to `propose`: the offset and epoch of the last entry, or why not. */
export type ProposeResult =
  | { ok: true; offset: number; epoch: number }
  | { ok: false; error: RaftErrorName };

/**
 * The answer to `addVoter`/`removeVoter`/`updateVoter` (KIP-853): the offset and epoch of the
 * appended VotersRecord (the change is in force; answer once it commits), or why not.
 */
export type VoterChangeResult =
  | { ok: true; offset: number; epoch: number }
  | { ok: false; error: RaftErrorName; message: string };

interface ReplicaProgress {
  endOffset: number;
  lastFetchMs: number;
  acknowledged: boolean;
  /** The directory id the replica fetched with (KIP-853 replica key), or the zero UUID. */
  directoryId: string;
  /** Last time its fetch reached the leader's log end as of its previous fetch (Kafka's ISR rule). */
  caughtUpMs: number;
  /** The leader's log end offset when it last fetched. */
  leaderEndAtFetch: number;
}

interface LeaderState {
  epochStartOffset: number;
  replicas: Map<NodeId, ReplicaProgress>;
  checkQuorumDeadlineMs: number;
  fetchedSinceCheck: Set<NodeId>;
  beginQuorumResendMs: number;
  parked: Map<NodeId, { request: FetchRequest; deadlineMs: number }>;
  proposals: Uint8Array[];
  lingerDeadlineMs: number | null;
}

interface FetchInFlight {
  correlationId: number;
  to: NodeId;
  fetchOffset: number;
  sentMs: number;
}

/**
 * One replica of the metadata partition: a voter (controller) or an observer (broker).
 *
 * @example
 * ```ts
 * import { RaftNode } from "./node.ts";
 * import { MemoryRaftLog } from "./memory_log.ts";
 * import { SeededRandom } from "../random.ts";
 * const log = new MemoryRaftLog();
 * const node = new RaftNode({ nodeId: 1, voters: [1], log, random: new SeededRandom(1), nowMs: 0 });
 * const rd = node.ready(); // persist quorum state, append LeaderChange
 * log.append(rd.appendToLog);
 * node.advance();
 * node.onFlushed({ offset: log.endOffset(), epoch: log.lastEpoch() }, 0);
 * node.ready().highWatermark; // 1: the LeaderChange entry is committed
 * ```
 */
export class RaftNode {
  readonly nodeId: NodeId;
  readonly directoryId: string | undefined;
  readonly #config: RaftConfig;
  readonly #random: Random;
  readonly #log: LogState;
  readonly #voters: VoterHistory;

  #epoch = 0;
  #votedId: NodeId = NO_NODE;
  #leaderId: NodeId = NO_NODE;
  #role: RaftRole = "unattached";
  #nowMs: number;

  #electionDeadlineMs = Infinity;
  #fetchDeadlineMs = Infinity;
  #backoffUntilMs: number | null = null;
  /** Elections this voter ran in a row without a leader emerging (Kafka's candidate `retries`). */
  #electionRetries = 0;
  #tally = new Map<NodeId, boolean>();
  #leader: LeaderState | null = null;

  #fetch: FetchInFlight | null = null;
  #fetchRetryAtMs = 0;
  #nextCorrelationId = 1;
  #hasFetchedFromLeader = false;
  #discoveryIndex = 0;
  /** When a voter whose leader's connection failed runs its pre-vote early (Infinity: never). */
  #unreachableElectionAtMs = Infinity;
  /** When the last early pre-vote started: at most one per election timeout. */
  #lastUnreachableElectionMs = -Infinity;
  /** An observer's leader whose connection failed: not followed again in its epoch until then. */
  #avoidedLeader: { leaderId: NodeId; epoch: number; untilMs: number } | null = null;

  #highWatermark: number;
  #appliedOffset: number;
  #flushedEnd: number;

  #outbox: RaftMessage[] = [];
  #persisted: QuorumStateData;
  #roleChange: RoleChange | null = null;
  #snapshotNeeded: Ready["snapshotNeeded"] = null;
  /** KIP-630: the snapshot the driver is fetching for us; no Fetch leaves meanwhile. */
  #snapshotFetch: OffsetAndEpoch | null = null;
  #readyId = 0;
  #pendingReady: Ready | null = null;

  constructor(options: RaftNodeOptions) {
    this.nodeId = options.nodeId;
    this.directoryId = options.directoryId;
    this.#config = { ...DEFAULT_RAFT_CONFIG, ...options.config };
    this.#random = options.random;
    this.#nowMs = options.nowMs;
    this.#log = new LogState(options.log);
    const bootstrap = options.voters.map((v) => typeof v === "number" ? voterOf(v) : v);
    this.#voters = new VoterHistory(bootstrap, options.kraftVersion ?? 0);
    const snapshotId = options.log.latestSnapshotId();
    // KIP-853: a dynamic quorum's bootstrap voters are the snapshot's, in force from its end.
    if ((options.kraftVersion ?? 0) >= 1 && snapshotId !== null) {
      this.#voters.resetTo(snapshotId.offset, bootstrap);
    }
    this.#scanVoters(options.log);
    this.#flushedEnd = options.log.endOffset();
    this.#highWatermark = options.log.startOffset();
    this.#appliedOffset = options.log.startOffset();
    const state = options.quorumState ?? { leaderEpoch: 0, leaderId: NO_NODE, votedId: NO_NODE };
    this.#persisted = { ...state };
    this.#epoch = state.leaderEpoch;
    this.#votedId = state.votedId;
    assert(
      this.#epoch >= this.#log.lastEpoch(),
      `Persisted epoch ${this.#epoch} is behind the log's last epoch ${this.#log.lastEpoch()}`,
    );
    this.#initialize(state.leaderId, options.nowMs);
    this.#endInput();
  }

  // ---- observers of state -------------------------------------------------------------------

  get role(): RaftRole {
    return this.#role;
  }
  get epoch(): number {
    return this.#epoch;
  }
  /** The leader this node knows for its epoch (none while prospective or resigned). */
  get leaderId(): NodeId {
    return this.#role === "prospective" || this.#role === "resigned" ? NO_NODE : this.#leaderId;
  }
  get votedId(): NodeId {
    return this.#votedId;
  }
  get highWatermark(): number {
    return this.#highWatermark;
  }
  get endOffset(): number {
    return this.#log.endOffset();
  }
  get lastEpoch(): number {
    return this.#log.lastEpoch();
  }
  get flushedEndOffset(): number {
    return this.#flushedEnd;
  }
  get voters(): ReadonlySet<NodeId> {
    return this.#voters.current();
  }
  /** The voters in force with their directory ids and endpoints (KIP-853); same array until a change. */
  get voterDetails(): readonly Voter[] {
    return this.#voters.currentVoters();
  }
  /** `kraft.version` in force: 1 allows voter changes (KIP-853). */
  get kraftVersion(): number {
    return this.#voters.kraftVersion;
  }
  get isVoter(): boolean {
    return this.#voters.current().has(this.nodeId);
  }
  /** The leader's LeaderChange entry is committed: it may serve as the active controller. */
  get isLeaderReady(): boolean {
    return this.#leader !== null && this.#highWatermark > this.#leader.epochStartOffset;
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Advances time: election, fetch, check-quorum and linger timers fire here. */
  tick(nowMs: number): void {
    this.#enter(nowMs);
    switch (this.#role) {
      case "unattached":
        if (this.isVoter && this.#electionDeadlineMs === Infinity) {
          // KIP-853: an observer that became a voter starts its election timer.
          this.#electionDeadlineMs = this.#nowMs + this.#randomElectionTimeoutMs();
        }
        if (this.isVoter && this.#nowMs >= this.#electionDeadlineMs) this.#campaign();
        break;
      case "follower":
        if (this.#nowMs >= this.#fetchDeadlineMs) {
          if (this.isVoter) this.#campaign();
          else this.#becomeUnattached(this.#epoch);
        } else if (this.isVoter && this.#nowMs >= this.#unreachableElectionAtMs) {
          this.#lastUnreachableElectionMs = this.#nowMs;
          this.#campaign();
        }
        break;
      case "prospective":
        if (this.#nowMs >= this.#electionDeadlineMs) this.#prospectiveLost();
        break;
      case "candidate":
        if (this.#nowMs >= (this.#backoffUntilMs ?? this.#electionDeadlineMs)) {
          this.#becomeProspective();
        }
        break;
      case "resigned":
        if (this.#nowMs < this.#electionDeadlineMs) break;
        // KIP-853: a leader that removed itself carries on as an observer.
        if (this.isVoter) this.#campaign();
        else this.#becomeUnattached(this.#epoch);
        break;
      case "leader":
        this.#tickLeader();
        break;
    }
    this.#endInput();
  }

  /** Handles one message addressed to this node. */
  step(message: RaftMessage, nowMs: number): void {
    this.#enter(nowMs);
    assert(message.to === this.nodeId, `Message for ${message.to} delivered to ${this.nodeId}`);
    this.#dispatch(message);
    this.#endInput();
  }

  /**
   * Appends opaque entries (serialized metadata records) as the leader. Entries linger up to
   * `appendLingerMs` to batch; a change of leadership before they are appended drops them.
   */
  propose(payloads: readonly Uint8Array[], nowMs: number): ProposeResult {
    this.#enter(nowMs);
    const leader = this.#leader;
    if (!leader) return { ok: false, error: "NOT_LEADER_OR_FOLLOWER" };
    assert(payloads.length > 0, "Cannot propose zero entries");
    leader.proposals.push(...payloads);
    const offset = this.#log.endOffset() + leader.proposals.length - 1;
    if (this.#config.appendLingerMs === 0 || leader.proposals.length >= PENDING_PROPOSALS_MAX) {
      this.#drainProposals();
    } else {
      leader.lingerDeadlineMs ??= this.#nowMs + this.#config.appendLingerMs;
    }
    return { ok: true, offset, epoch: this.#epoch };
  }

  /**
   * Storage made its log durable up to `durable` (end offset, epoch of the entry before it),
   * as it was when the fsync started. Ignored when the log has since been truncated below it.
   */
  onFlushed(durable: OffsetAndEpoch, nowMs: number): void {
    this.#enter(nowMs);
    if (durable.offset <= this.#flushedEnd || durable.offset > this.#log.endOffset()) return;
    if (this.#log.epochBefore(durable.offset) !== durable.epoch) return;
    this.#flushedEnd = durable.offset;
    if (this.#leader) this.#maybeAdvanceHighWatermark();
    this.#endInput();
  }

  /**
   * KIP-630: storage replaced the log with `snapshotId` (truncated fully, starting at its end
   * offset) and the application loaded its state. `voters` is the snapshot's voter set, if it
   * carries one. Only valid when {@link shouldInstallSnapshot} held just before.
   */
  onSnapshotInstalled(
    snapshotId: OffsetAndEpoch,
    nowMs: number,
    options: { voters?: readonly Voter[] } = {},
  ): void {
    this.#enter(nowMs);
    const view = this.#log.view;
    assert(this.#role !== "leader", "A leader never installs a snapshot");
    assert(
      view.startOffset() === snapshotId.offset && view.endOffset() === snapshotId.offset,
      `Storage must start and end at snapshot ${snapshotId.offset} once it is installed`,
    );
    const latest = view.latestSnapshotId();
    assert(
      latest !== null && compareOffsetAndEpoch(latest, snapshotId) === 0,
      `Storage's latest snapshot is not the installed ${JSON.stringify(snapshotId)}`,
    );
    assert(snapshotId.offset >= this.#highWatermark, "A snapshot cannot undo committed entries");
    this.#log.reset();
    this.#voters.resetTo(snapshotId.offset, options.voters ?? null);
    this.#flushedEnd = snapshotId.offset;
    this.#appliedOffset = snapshotId.offset;
    this.#setHighWatermark(snapshotId.offset);
    this.#snapshotFetch = null;
    this.#fetch = null;
    this.#fetchRetryAtMs = this.#nowMs;
    if (this.#role === "follower") {
      this.#fetchDeadlineMs = this.#nowMs + this.#config.fetchTimeoutMs;
    }
    const campaigning = this.#role === "prospective" || this.#role === "candidate";
    // KIP-853: the snapshot's voter set may leave this replica out: observers never campaign.
    if (campaigning && !this.isVoter) this.#becomeUnattached(this.#epoch);
    this.#endInput();
  }

  /** KIP-630: the driver gave up fetching or installing the snapshot; fetch again after a backoff. */
  onSnapshotFetchFailed(nowMs: number): void {
    this.#enter(nowMs);
    if (this.#snapshotFetch === null) return;
    this.#snapshotFetch = null;
    this.#fetchRetryAtMs = this.#nowMs + this.#config.retryBackoffMs;
    this.#endInput();
  }

  /**
   * KIP-630: whether replacing the log with `snapshotId` moves this replica forward: it is not the
   * leader and the snapshot is past its log end by (epoch, offset), as Kafka's
   * `truncateToLatestSnapshot` decides.
   */
  shouldInstallSnapshot(snapshotId: OffsetAndEpoch): boolean {
    if (this.#role === "leader") return false;
    const end = { offset: this.#log.endOffset(), epoch: this.#log.lastEpoch() };
    return compareOffsetAndEpoch(snapshotId, end) > 0;
  }

  /** The snapshot being fetched for this replica (KIP-630), or null. */
  get fetchingSnapshot(): OffsetAndEpoch | null {
    return this.#snapshotFetch ? { ...this.#snapshotFetch } : null;
  }

  /**
   * The transport could not reach `nodeId`: a connect was refused or an open connection failed
   * (not a timeout; on loopback and LANs a dead process shows this at once). A fetch in flight to
   * it is abandoned and retried after `retryBackoffMs`. A voter following it stops counting the
   * leader as heard, so it grants pre-votes, and runs its own pre-vote (KIP-996) after a short
   * random delay instead of waiting out `fetchTimeoutMs` — only when the failure follows a
   * successful fetch and at most once per `electionTimeoutMs`, and a live leader still stays:
   * voters that hear from it reject the pre-vote. An observer looks for the leader among the other
   * voters. A campaigning voter counts an unreachable voter that has not answered as a rejection,
   * so a split election backs off at once instead of waiting for a dead voter until its election
   * timeout. A leader ignores it: check quorum rules there.
   */
  onPeerUnreachable(nodeId: NodeId, nowMs: number): void {
    this.#enter(nowMs);
    if (this.#fetch?.to === nodeId) {
      this.#fetch = null;
      this.#fetchRetryAtMs = this.#nowMs + this.#config.retryBackoffMs;
    }
    if (this.#role === "follower" && this.#leaderId === nodeId) {
      if (this.isVoter) this.#onLeaderUnreachable();
      else this.#observerLosesLeader();
    }
    const campaigning = this.#role === "prospective" || this.#role === "candidate";
    if (campaigning && this.#voters.current().has(nodeId) && !this.#tally.has(nodeId)) {
      this.#tally.set(nodeId, false); // its vote request failed: it grants nothing this round
      this.#countVotes();
    }
    this.#endInput();
  }

  /** Graceful resignation (shutdown): EndQuorumEpoch names successors, most caught up first. */
  resign(nowMs: number): void {
    this.#enter(nowMs);
    if (this.#role === "leader") this.#becomeResigned();
  }

  // ---- voter changes (KIP-853) --------------------------------------------------------------

  /**
   * KIP-853 AddRaftVoter as the leader: `voter` must be an observer that fetches from this leader
   * and is caught up (its fetches reached the log end within `fetchTimeoutMs`), with the same
   * directory id it fetches with. The new set is a VotersRecord appended at once and in force from
   * then on; the caller answers once that offset commits. At most one change is uncommitted.
   */
  addVoter(voter: Voter, nowMs: number): VoterChangeResult {
    this.#enter(nowMs);
    const refused = this.#checkVoterChange();
    if (refused) return refused;
    if (this.#voters.current().has(voter.id)) {
      return this.#refuse("DUPLICATE_VOTER", `Node ${voter.id} is already a voter`);
    }
    const progress = this.#leader!.replicas.get(voter.id);
    if (
      progress === undefined || this.#nowMs - progress.lastFetchMs > this.#config.fetchTimeoutMs
    ) {
      return this.#refuse(
        "REQUEST_TIMED_OUT",
        `Node ${voter.id} is not an observer fetching from the leader`,
      );
    }
    if (progress.directoryId !== voter.directoryId) {
      return this.#refuse(
        "INVALID_REQUEST",
        `Node ${voter.id} fetches with directory id ${progress.directoryId}, not ${voter.directoryId}`,
      );
    }
    if (this.#nowMs - progress.caughtUpMs > this.#config.fetchTimeoutMs) {
      return this.#refuse("REQUEST_TIMED_OUT", `Node ${voter.id} has not caught up to the leader`);
    }
    return this.#appendVoters([...this.#voters.currentVoters(), voter]);
  }

  /**
   * KIP-853 RemoveRaftVoter as the leader: the voter with this id and directory id leaves the set
   * at once (a VotersRecord); a leader that removes itself keeps leading until that commits, then
   * resigns. The last voter cannot be removed.
   */
  removeVoter(key: { id: NodeId; directoryId: string }, nowMs: number): VoterChangeResult {
    this.#enter(nowMs);
    const refused = this.#checkVoterChange();
    if (refused) return refused;
    const voters = this.#voters.currentVoters();
    const found = voters.find((v) => v.id === key.id && v.directoryId === key.directoryId);
    if (found === undefined) {
      return this.#refuse(
        "VOTER_NOT_FOUND",
        `No voter ${key.id} with directory id ${key.directoryId}`,
      );
    }
    if (voters.length === 1) {
      return this.#refuse("VOTER_NOT_FOUND", `Cannot remove the only voter ${key.id}`);
    }
    return this.#appendVoters(voters.filter((v) => v !== found));
  }

  /** KIP-853 UpdateRaftVoter as the leader: a voter's endpoints change (same id and directory). */
  updateVoter(voter: Voter, nowMs: number): VoterChangeResult {
    this.#enter(nowMs);
    const refused = this.#checkVoterChange();
    if (refused) return refused;
    const voters = this.#voters.currentVoters();
    const at = voters.findIndex((v) => v.id === voter.id && v.directoryId === voter.directoryId);
    if (at < 0) {
      return this.#refuse(
        "VOTER_NOT_FOUND",
        `No voter ${voter.id} with directory id ${voter.directoryId}`,
      );
    }
    return this.#appendVoters(voters.map((v, i) => (i === at ? voter : v)));
  }

  #checkVoterChange(): VoterChangeResult | null {
    if (this.#role !== "leader") {
      return this.#refuse("NOT_LEADER_OR_FOLLOWER", `Node ${this.nodeId} is not the leader`);
    }
    if (this.#voters.kraftVersion < 1) {
      return this.#refuse(
        "UNSUPPORTED_VERSION",
        "kraft.version 0 does not support voter changes: the quorum is static",
      );
    }
    if (!this.isLeaderReady) {
      return this.#refuse("REQUEST_TIMED_OUT", "The leader has not committed its epoch yet");
    }
    if (this.#voters.lastChangeOffset() >= this.#highWatermark) {
      return this.#refuse("REQUEST_TIMED_OUT", "Another voter change is not committed yet");
    }
    return null;
  }

  #refuse(error: RaftErrorName, message: string): VoterChangeResult {
    return { ok: false, error, message };
  }

  #appendVoters(voters: Voter[]): VoterChangeResult {
    const leader = this.#leader;
    assert(leader);
    this.#drainProposals();
    const offset = this.#log.endOffset();
    this.#appendAsLeader([{
      offset,
      epoch: this.#epoch,
      payload: new Uint8Array(0),
      control: { type: "voters", voters },
    }]);
    this.#maybeAdvanceHighWatermark();
    this.#endInput();
    return { ok: true, offset, epoch: this.#epoch };
  }

  // ---- output -------------------------------------------------------------------------------

  /** True when `ready()` has something to do. */
  hasReady(): boolean {
    return this.#quorumStateChanged() || this.#log.hasPending() || this.#outbox.length > 0 ||
      this.#appliedOffset < this.#highWatermark || this.#roleChange !== null ||
      this.#snapshotNeeded !== null;
  }

  /** Collects the effects to perform; no input may arrive until `advance()`. */
  ready(): Ready {
    assert(this.#pendingReady === null, "Cannot call ready() again before advance()");
    const writes = this.#log.pending();
    const committedCount = Math.min(
      this.#highWatermark - this.#appliedOffset,
      this.#config.commitEntriesMax,
    );
    const committed = committedCount > 0
      ? this.#log.read(this.#appliedOffset, { maxCount: committedCount, maxBytes: Infinity })
      : [];
    const ready: Ready = {
      id: ++this.#readyId,
      persistQuorumState: this.#quorumStateChanged() ? this.#quorumState() : null,
      truncateLogTo: writes.truncateTo,
      appendToLog: writes.entries,
      send: this.#outbox,
      committed,
      highWatermark: this.#highWatermark,
      roleChange: this.#roleChange,
      snapshotNeeded: this.#snapshotNeeded,
    };
    this.#outbox = [];
    this.#roleChange = null;
    this.#snapshotNeeded = null;
    this.#pendingReady = ready;
    return ready;
  }

  /** Acknowledges the last `ready()`: every effect in it has been performed. */
  advance(): void {
    const ready = this.#pendingReady;
    assert(ready, "Cannot advance() without a ready()");
    if (ready.persistQuorumState) this.#persisted = ready.persistQuorumState;
    this.#log.acknowledge();
    const first = ready.committed[0];
    if (first) {
      assert(first.offset === this.#appliedOffset, `Applied ${first.offset}, expected next`);
      this.#appliedOffset += ready.committed.length;
    }
    this.#pendingReady = null;
  }

  #dispatch(message: RaftMessage): void {
    switch (message.type) {
      case "VoteRequest":
        return this.#onVoteRequest(message);
      case "VoteResponse":
        return this.#onVoteResponse(message);
      case "BeginQuorumEpochRequest":
        return this.#onBeginQuorumEpoch(message);
      case "BeginQuorumEpochResponse":
      case "EndQuorumEpochResponse":
        return this.#onQuorumEpochResponse(message);
      case "EndQuorumEpochRequest":
        return this.#onEndQuorumEpoch(message);
      case "FetchRequest":
        return this.#onFetchRequest(message);
      case "FetchResponse":
        return this.#onFetchResponse(message);
    }
  }

  // ---- startup and transitions --------------------------------------------------------------

  #scanVoters(view: RaftLogView): void {
    let offset = view.startOffset();
    const endOffset = view.endOffset();
    while (offset < endOffset) {
      const entries = view.read(offset, { maxCount: STARTUP_SCAN_CHUNK, maxBytes: Infinity });
      assert(entries.length > 0, `Cannot read the log at ${offset} during startup`);
      this.#voters.onAppend(entries);
      offset += entries.length;
    }
  }

  #initialize(persistedLeaderId: NodeId, nowMs: number): void {
    this.#nowMs = nowMs;
    if (this.#isOnlyVoter()) return this.#becomeCandidate();
    if (persistedLeaderId === this.nodeId && this.isVoter) {
      // KIP-595: a leader that restarts cannot resume; it resigns its epoch.
      this.#role = "resigned";
      this.#leaderId = this.nodeId;
      this.#electionDeadlineMs = this.#nowMs + this.#randomElectionTimeoutMs();
      this.#roleChange = this.#describeRole();
      return;
    }
    if (persistedLeaderId !== NO_NODE && persistedLeaderId !== this.nodeId) {
      return this.#becomeFollower(this.#epoch, persistedLeaderId);
    }
    this.#becomeUnattached(this.#epoch);
  }

  #enter(nowMs: number): void {
    assert(this.#pendingReady === null, "Cannot take input between ready() and advance()");
    this.#nowMs = Math.max(this.#nowMs, nowMs);
  }

  #setEpoch(epoch: number): void {
    assert(epoch >= this.#epoch, `Epoch cannot go back from ${this.#epoch} to ${epoch}`);
    if (epoch > this.#epoch) {
      this.#epoch = epoch;
      this.#votedId = NO_NODE;
    }
  }

  #transition(role: RaftRole, leaderId: NodeId): void {
    const parked = this.#leader ? [...this.#leader.parked.values()] : [];
    this.#leader = null;
    this.#role = role;
    this.#leaderId = leaderId;
    this.#tally.clear();
    this.#backoffUntilMs = null;
    this.#fetch = null;
    this.#fetchRetryAtMs = this.#nowMs;
    this.#electionDeadlineMs = Infinity;
    this.#fetchDeadlineMs = Infinity;
    this.#unreachableElectionAtMs = Infinity;
    this.#roleChange = this.#describeRole();
    for (const { request } of parked) {
      this.#reply(this.#fetchError(request, "NOT_LEADER_OR_FOLLOWER"));
    }
  }

  #becomeUnattached(epoch: number, electionDelayMs?: number): void {
    this.#setEpoch(epoch);
    this.#transition("unattached", NO_NODE);
    if (this.isVoter) {
      this.#electionDeadlineMs = this.#nowMs + (electionDelayMs ?? this.#randomElectionTimeoutMs());
    }
  }

  #becomeFollower(epoch: number, leaderId: NodeId): void {
    assert(leaderId !== this.nodeId, "Cannot follow itself");
    this.#setEpoch(epoch);
    this.#transition("follower", leaderId);
    this.#electionRetries = 0;
    this.#hasFetchedFromLeader = false;
    this.#fetchDeadlineMs = this.#nowMs + this.#config.fetchTimeoutMs;
  }

  /** KIP-996: poll the voters without bumping the epoch; a sole voter skips straight ahead. */
  #campaign(): void {
    if (this.#isOnlyVoter()) this.#becomeCandidate();
    else this.#becomeProspective();
  }

  #becomeProspective(): void {
    assert(this.isVoter, "Observers never campaign");
    const retainedLeader = this.#role === "follower" ? this.#leaderId : NO_NODE;
    this.#transition("prospective", retainedLeader);
    this.#electionDeadlineMs = this.#nowMs + this.#randomElectionTimeoutMs();
    this.#tally.set(this.nodeId, true);
    this.#requestVotes(true);
    this.#countVotes();
  }

  #prospectiveLost(): void {
    const leaderId = this.#leaderId;
    if (leaderId !== NO_NODE && leaderId !== this.nodeId) {
      this.#becomeFollower(this.#epoch, leaderId);
    } else {
      this.#becomeUnattached(this.#epoch);
    }
  }

  #becomeCandidate(): void {
    assert(this.isVoter, "Observers never campaign");
    this.#setEpoch(this.#epoch + 1);
    this.#votedId = this.nodeId;
    this.#electionRetries++;
    this.#transition("candidate", NO_NODE);
    this.#electionDeadlineMs = this.#nowMs + this.#randomElectionTimeoutMs();
    this.#tally.set(this.nodeId, true);
    this.#requestVotes(false);
    this.#countVotes();
  }

  #becomeLeader(): void {
    const granting = [...this.#tally].filter(([, granted]) => granted).map(([id]) => id);
    this.#transition("leader", this.nodeId);
    this.#electionRetries = 0;
    const epochStartOffset = this.#log.endOffset();
    this.#leader = {
      epochStartOffset,
      replicas: new Map(),
      checkQuorumDeadlineMs: this.#nowMs + this.#checkQuorumTimeoutMs(),
      fetchedSinceCheck: new Set(),
      beginQuorumResendMs: this.#nowMs + this.#beginQuorumResendMs(),
      parked: new Map(),
      proposals: [],
      lingerDeadlineMs: null,
    };
    // KIP-595: the leader's first entry in its epoch is a LeaderChange control record.
    this.#appendAsLeader([{
      offset: epochStartOffset,
      epoch: this.#epoch,
      payload: new Uint8Array(0),
      control: {
        type: "leaderChange",
        leaderId: this.nodeId,
        voters: [...this.#voters.current()].sort((a, b) => a - b),
        grantingVoters: granting.sort((a, b) => a - b),
      },
    }]);
    if (this.#voters.kraftVersion >= 1 && this.#voters.lastChangeOffset() < 0) {
      // KIP-853: the bootstrap snapshot's voters go into the log, so replicas that fetch from
      // offset 0 (new controllers, brokers) learn them; the set itself does not change.
      const kraftVersion = this.#voters.kraftVersion;
      const voters = [...this.#voters.currentVoters()];
      this.#appendAsLeader([
        {
          offset: epochStartOffset + 1,
          epoch: this.#epoch,
          payload: new Uint8Array(0),
          control: { type: "kraftVersion", kraftVersion },
        },
        {
          offset: epochStartOffset + 2,
          epoch: this.#epoch,
          payload: new Uint8Array(0),
          control: { type: "voters", voters },
        },
      ]);
    }
    this.#sendBeginQuorumEpoch(() => true);
    this.#maybeAdvanceHighWatermark();
  }

  #becomeResigned(): void {
    const leader = this.#leader;
    assert(leader, "Only a leader resigns");
    const successors = [...this.#voters.current()]
      .filter((id) => id !== this.nodeId)
      .sort((a, b) =>
        (leader.replicas.get(b)?.endOffset ?? -1) - (leader.replicas.get(a)?.endOffset ?? -1) ||
        a - b
      );
    this.#transition("resigned", this.nodeId);
    this.#electionDeadlineMs = this.#nowMs + this.#randomElectionTimeoutMs();
    for (const to of successors) {
      this.#send<EndQuorumEpochRequest>({
        type: "EndQuorumEpochRequest",
        to,
        leaderEpoch: this.#epoch,
        leaderId: this.nodeId,
        preferredSuccessors: successors,
      });
    }
  }

  /**
   * KIP-595: a message shows an epoch (and maybe its leader). A higher epoch moves us there; a
   * leader for our epoch that we did not know makes us its follower. Returns true on a change.
   */
  #observeLeader(epoch: number, leaderId: NodeId): boolean {
    if (epoch < this.#epoch) return false;
    if (epoch > this.#epoch) {
      assert(leaderId !== this.nodeId, `Told it leads epoch ${epoch} it never persisted`);
      if (leaderId === NO_NODE) this.#becomeUnattached(epoch);
      else this.#becomeFollower(epoch, leaderId);
      return true;
    }
    if (leaderId === NO_NODE || leaderId === this.nodeId) return false;
    // KIP-996: a prospective already retains this leader; hearing of it again changes nothing.
    if (
      (this.#role === "follower" || this.#role === "prospective") && this.#leaderId === leaderId
    ) return false;
    assert(
      this.#role !== "leader" && this.#role !== "resigned",
      `Two leaders in epoch ${epoch}: ${this.nodeId} and ${leaderId}`,
    );
    this.#becomeFollower(epoch, leaderId);
    return true;
  }

  // ---- elections ----------------------------------------------------------------------------

  #requestVotes(preVote: boolean): void {
    for (const to of this.#voters.current()) {
      if (to === this.nodeId) continue;
      this.#send<VoteRequest>({
        type: "VoteRequest",
        to,
        candidateEpoch: preVote ? this.#epoch + 1 : this.#epoch,
        candidateId: this.nodeId,
        candidateDirectoryId: this.directoryId,
        voterDirectoryId: this.#voters.voter(to)?.directoryId,
        lastOffsetEpoch: this.#log.lastEpoch(),
        lastOffset: this.#log.endOffset(),
        preVote,
      });
    }
  }

  #countVotes(): void {
    const voters = this.#voters.current();
    const needed = majorityOf(voters.size);
    let granted = 0;
    let rejected = 0;
    for (const [id, vote] of this.#tally) {
      if (!voters.has(id)) continue;
      if (vote) granted++;
      else rejected++;
    }
    if (granted >= needed) {
      if (this.#role === "prospective") this.#becomeCandidate();
      else if (this.#role === "candidate") this.#becomeLeader();
      return;
    }
    if (voters.size - rejected >= needed) return;
    if (this.#role === "prospective") this.#prospectiveLost();
    else if (this.#role === "candidate" && this.#backoffUntilMs === null) {
      this.#backoffUntilMs = this.#nowMs + this.#electionBackoffMs();
    }
  }

  #onVoteRequest(request: VoteRequest): void {
    if (request.candidateEpoch < this.#epoch) {
      return this.#replyVote(request, false, "FENCED_LEADER_EPOCH");
    }
    if (!request.preVote && request.candidateEpoch > this.#epoch) {
      this.#becomeUnattached(request.candidateEpoch);
    }
    const granted = request.preVote ? this.#canGrantPreVote(request) : this.#canGrantVote(request);
    // Another voter already campaigns for the unreachable leader's place: do not race it to a
    // split vote; fetch.timeout remains our fallback.
    if (granted && request.preVote) this.#unreachableElectionAtMs = Infinity;
    if (granted && !request.preVote && this.#votedId !== request.candidateId) {
      this.#votedId = request.candidateId;
      this.#becomeUnattached(this.#epoch); // Raft §5.2: granting a vote restarts the timer
    }
    this.#replyVote(request, granted, "NONE");
  }

  /** Raft §5.4.1: the candidate's log must be at least as up to date as ours. */
  #candidateLogIsUpToDate(request: VoteRequest): boolean {
    const candidate = { epoch: request.lastOffsetEpoch, offset: request.lastOffset };
    const local = { epoch: this.#log.lastEpoch(), offset: this.#log.endOffset() };
    return compareOffsetAndEpoch(candidate, local) >= 0;
  }

  /**
   * Static quorums: only voters vote. KIP-853: a replica that does not see itself in the voter set
   * still votes when asked: it may be a voter whose log lacks the VotersRecord that added it.
   */
  #mayVote(request: VoteRequest): boolean {
    if (request.candidateId === this.nodeId) return false;
    return this.isVoter || this.#voters.kraftVersion >= 1;
  }

  #canGrantVote(request: VoteRequest): boolean {
    if (!this.#mayVote(request)) return false;
    if (this.#role === "leader" || this.#role === "resigned" || this.#role === "candidate") {
      return false;
    }
    if (this.#votedId === request.candidateId) return true;
    if (this.#votedId !== NO_NODE || this.#leaderId !== NO_NODE) return false;
    return this.#candidateLogIsUpToDate(request);
  }

  /** KIP-996: grant a pre-vote unless we still hear from a leader; never change state. */
  #canGrantPreVote(request: VoteRequest): boolean {
    if (!this.#mayVote(request)) return false;
    if (this.#role === "leader") return false;
    if (this.#role === "follower" && this.#hasFetchedFromLeader) return false;
    return this.#candidateLogIsUpToDate(request);
  }

  #replyVote(request: VoteRequest, granted: boolean, errorCode: RaftErrorName): void {
    this.#send<VoteResponse>({
      type: "VoteResponse",
      to: request.from,
      errorCode,
      leaderEpoch: this.#epoch,
      leaderId: this.leaderId,
      voteGranted: granted,
      preVote: request.preVote,
    });
  }

  #onVoteResponse(response: VoteResponse): void {
    if (this.#observeLeader(response.leaderEpoch, response.leaderId)) return;
    if (!this.#voters.current().has(response.from)) return;
    const counts = (this.#role === "prospective" && response.preVote) ||
      (this.#role === "candidate" && !response.preVote && response.leaderEpoch === this.#epoch);
    if (!counts || response.errorCode !== "NONE") return;
    this.#tally.set(response.from, response.voteGranted);
    this.#countVotes();
  }

  // ---- BeginQuorumEpoch / EndQuorumEpoch ----------------------------------------------------

  #onBeginQuorumEpoch(request: BeginQuorumEpochRequest): void {
    const fenced = request.leaderEpoch < this.#epoch;
    if (!fenced) this.#observeLeader(request.leaderEpoch, request.leaderId);
    this.#send<BeginQuorumEpochResponse>({
      type: "BeginQuorumEpochResponse",
      to: request.from,
      errorCode: fenced ? "FENCED_LEADER_EPOCH" : "NONE",
      leaderEpoch: this.#epoch,
      leaderId: this.leaderId,
    });
  }

  #onEndQuorumEpoch(request: EndQuorumEpochRequest): void {
    const fenced = request.leaderEpoch < this.#epoch;
    if (!fenced) {
      this.#observeLeader(request.leaderEpoch, request.leaderId);
      const followsIt = this.#role === "follower" && this.#leaderId === request.leaderId;
      if (this.isVoter && request.leaderEpoch === this.#epoch && followsIt) {
        // KIP-595: preferred successors campaign sooner, in order; others wait a full timeout.
        const position = request.preferredSuccessors.indexOf(this.nodeId);
        const delayMs = position < 0 ? this.#randomElectionTimeoutMs() : Math.min(
          this.#config.electionBackoffMaxMs,
          position === 0 ? 0 : this.#config.retryBackoffMs * 2 ** position,
        );
        this.#becomeUnattached(this.#epoch, delayMs);
      }
    }
    this.#send<EndQuorumEpochResponse>({
      type: "EndQuorumEpochResponse",
      to: request.from,
      errorCode: fenced ? "FENCED_LEADER_EPOCH" : "NONE",
      leaderEpoch: this.#epoch,
      leaderId: this.leaderId,
    });
  }

  #onQuorumEpochResponse(response: BeginQuorumEpochResponse | EndQuorumEpochResponse): void {
    if (this.#observeLeader(response.leaderEpoch, response.leaderId)) return;
    const leader = this.#leader;
    const acknowledged = response.type === "BeginQuorumEpochResponse" &&
      response.errorCode === "NONE" && response.leaderEpoch === this.#epoch;
    if (!leader || !acknowledged) return;
    const progress = leader.replicas.get(response.from) ?? newProgress(true);
    progress.acknowledged = true;
    leader.replicas.set(response.from, progress);
  }

  #sendBeginQuorumEpoch(filter: (id: NodeId) => boolean): void {
    for (const to of this.#voters.current()) {
      if (to === this.nodeId || !filter(to)) continue;
      this.#send<BeginQuorumEpochRequest>({
        type: "BeginQuorumEpochRequest",
        to,
        leaderEpoch: this.#epoch,
        leaderId: this.nodeId,
      });
    }
  }

  // ---- leader -------------------------------------------------------------------------------

  #tickLeader(): void {
    const leader = this.#leader;
    assert(leader);
    if (leader.lingerDeadlineMs !== null && this.#nowMs >= leader.lingerDeadlineMs) {
      this.#drainProposals();
    }
    for (const [replicaId, parked] of leader.parked) {
      if (this.#nowMs < parked.deadlineMs) continue;
      leader.parked.delete(replicaId);
      this.#reply(this.#fetchAnswer(parked.request));
    }
    if (this.#nowMs >= leader.beginQuorumResendMs) {
      // Like Kafka's beginQuorumEpochTimer: voters that have not acknowledged the epoch, or not
      // fetched for half a fetch timeout (say, stuck in a later epoch that failed to elect a
      // leader), hear of this leader again; a voter in a later epoch answers with it and fences us.
      const resendMs = this.#beginQuorumResendMs();
      leader.beginQuorumResendMs = this.#nowMs + resendMs;
      this.#sendBeginQuorumEpoch((id) => {
        const progress = leader.replicas.get(id);
        return !progress?.acknowledged || this.#nowMs - progress.lastFetchMs >= resendMs;
      });
    }
    if (this.#isOnlyVoter()) return;
    if (this.#nowMs >= leader.checkQuorumDeadlineMs) {
      // KIP-595 check quorum: without fetches from a majority, the leader resigns.
      this.#becomeResigned();
    }
  }

  #drainProposals(): void {
    const leader = this.#leader;
    assert(leader);
    const base = this.#log.endOffset();
    const entries = leader.proposals.map((payload, i) => ({
      offset: base + i,
      epoch: this.#epoch,
      payload,
    }));
    leader.proposals = [];
    leader.lingerDeadlineMs = null;
    if (entries.length > 0) this.#appendAsLeader(entries);
  }

  #appendAsLeader(entries: LogEntry[]): void {
    const before = this.#voters.currentVoters();
    this.#log.append(entries);
    this.#voters.onAppend(entries);
    const leader = this.#leader;
    if (leader && before !== this.#voters.currentVoters()) {
      // KIP-853: a new voter set starts a fresh check-quorum period (a sole voter had none).
      leader.fetchedSinceCheck.clear();
      leader.checkQuorumDeadlineMs = this.#nowMs + this.#checkQuorumTimeoutMs();
    }
    this.#completeParkedFetches();
  }

  #completeParkedFetches(): void {
    const leader = this.#leader;
    if (!leader) return;
    const parked = [...leader.parked.values()];
    leader.parked.clear();
    for (const { request } of parked) this.#reply(this.#fetchAnswer(request));
  }

  /**
   * KIP-595: the high watermark is the largest offset a majority of voters (the leader by its
   * flushed end) have reached, and only once it covers an entry of the current epoch.
   */
  #maybeAdvanceHighWatermark(): void {
    const leader = this.#leader;
    assert(leader);
    const offsets = [...this.#voters.current()].map((id) =>
      id === this.nodeId ? this.#flushedEnd : leader.replicas.get(id)?.endOffset ?? 0
    ).sort((a, b) => b - a);
    const reached = offsets[majorityOf(offsets.length) - 1] ?? 0;
    if (reached <= leader.epochStartOffset || reached <= this.#highWatermark) return;
    this.#setHighWatermark(reached);
    this.#completeParkedFetches();
  }

  #setHighWatermark(offset: number): void {
    assert(offset >= this.#highWatermark, "High watermark cannot decrease");
    assert(offset <= this.#log.endOffset(), "High watermark cannot pass the log end");
    this.#highWatermark = offset;
    this.#voters.prune(offset);
  }

  #onFetchRequest(request: FetchRequest): void {
    const error = this.#validateFetch(request);
    if (error) return this.#reply(this.#fetchError(request, error));
    const leader = this.#leader;
    assert(leader);
    if (this.#needsSnapshot(request)) return this.#reply(this.#fetchAnswer(request));
    const diverging = this.#divergence(request);
    if (diverging) {
      return this.#reply({ ...this.#fetchError(request, "NONE"), divergingEpoch: diverging });
    }
    this.#recordFetch(leader, request);
    this.#maybeAdvanceHighWatermark();
    const hasNews = request.fetchOffset < this.#log.endOffset() ||
      request.highWatermark < this.#highWatermark;
    if (!hasNews && request.maxWaitMs > 0) {
      const waitMs = Math.min(request.maxWaitMs, this.#config.fetchMaxWaitMs);
      leader.parked.set(request.replicaId, { request, deadlineMs: this.#nowMs + waitMs });
      return;
    }
    this.#reply(this.#fetchAnswer(request));
  }

  #validateFetch(request: FetchRequest): RaftErrorName | null {
    if (request.currentLeaderEpoch < this.#epoch) return "FENCED_LEADER_EPOCH";
    if (request.currentLeaderEpoch > this.#epoch) return "UNKNOWN_LEADER_EPOCH";
    if (this.#role !== "leader") return "NOT_LEADER_OR_FOLLOWER";
    const badPosition = request.fetchOffset < 0 || request.lastFetchedEpoch < 0 ||
      request.lastFetchedEpoch > this.#epoch;
    return badPosition ? "INVALID_REQUEST" : null;
  }

  /**
   * KIP-630: the fetcher must load our latest snapshot: its position is before our log start, or
   * at the start with another epoch than the snapshot's, or its last epoch predates the snapshot.
   */
  #needsSnapshot(request: FetchRequest): boolean {
    const startOffset = this.#log.startOffset();
    if (request.fetchOffset < startOffset) return true;
    const snapshot = this.#log.view.latestSnapshotId();
    if (snapshot === null || snapshot.offset !== startOffset || startOffset === 0) return false;
    if (request.fetchOffset === startOffset && request.lastFetchedEpoch !== snapshot.epoch) {
      return true;
    }
    return request.lastFetchedEpoch < snapshot.epoch;
  }

  /** KIP-595: where the fetcher's log leaves ours, as our end offset for its last epoch. */
  #divergence(request: FetchRequest): { epoch: number; endOffset: number } | null {
    if (request.fetchOffset === 0 && request.lastFetchedEpoch === 0) return null;
    const local = this.#log.endOffsetForEpoch(request.lastFetchedEpoch);
    if (local.epoch === request.lastFetchedEpoch && local.offset >= request.fetchOffset) {
      return null;
    }
    return { epoch: local.epoch, endOffset: local.offset };
  }

  #recordFetch(leader: LeaderState, request: FetchRequest): void {
    const progress = leader.replicas.get(request.replicaId) ?? newProgress(false);
    const leaderEnd = this.#log.endOffset();
    if (request.fetchOffset >= leaderEnd) progress.caughtUpMs = this.#nowMs;
    else if (request.fetchOffset >= progress.leaderEndAtFetch) {
      progress.caughtUpMs = Math.max(progress.caughtUpMs, progress.lastFetchMs);
    }
    progress.leaderEndAtFetch = leaderEnd;
    progress.endOffset = request.fetchOffset;
    progress.lastFetchMs = this.#nowMs;
    progress.acknowledged = true;
    progress.directoryId = request.replicaDirectoryId ?? ZERO_DIRECTORY_ID;
    leader.replicas.set(request.replicaId, progress);
    const voters = this.#voters.current();
    if (!voters.has(request.replicaId)) return;
    leader.fetchedSinceCheck.add(request.replicaId);
    const heard = leader.fetchedSinceCheck.size + (voters.has(this.nodeId) ? 1 : 0);
    if (heard >= majorityOf(voters.size)) {
      leader.fetchedSinceCheck.clear();
      leader.checkQuorumDeadlineMs = this.#nowMs + this.#checkQuorumTimeoutMs();
    }
  }

  #fetchAnswer(request: FetchRequest): FetchResponse {
    const base = this.#fetchError(request, "NONE");
    if (this.#needsSnapshot(request)) {
      return { ...base, snapshotId: this.#log.view.latestSnapshotId() };
    }
    const records = request.fetchOffset < this.#log.endOffset()
      ? this.#log.read(request.fetchOffset, {
        maxCount: Infinity,
        maxBytes: Math.min(request.maxBytes, this.#config.fetchMaxBytes),
      })
      : [];
    return { ...base, records };
  }

  #fetchError(request: FetchRequest, errorCode: RaftErrorName): FetchResponse {
    return {
      type: "FetchResponse",
      from: this.nodeId,
      to: request.replicaId,
      correlationId: request.correlationId,
      errorCode,
      highWatermark: this.#highWatermark,
      logStartOffset: this.#log.startOffset(),
      records: [],
      divergingEpoch: null,
      currentLeader: { leaderId: this.leaderId, leaderEpoch: this.#epoch },
      snapshotId: null,
    };
  }

  // ---- follower and observer ----------------------------------------------------------------

  #fetchTarget(): NodeId | null {
    if (this.#role === "follower") return this.#leaderId;
    if (this.#role !== "unattached" || this.isVoter) return null;
    const all = [...this.#voters.current()].sort((a, b) => a - b);
    const others = all.filter((id) => !this.#isAvoidedLeader(id, this.#epoch));
    const voters = others.length > 0 ? others : all;
    if (voters.length === 0) return null;
    return voters[this.#discoveryIndex++ % voters.length]!;
  }

  /** KIP-996 early pre-vote: the leader's connection failed after a successful fetch. */
  #onLeaderUnreachable(): void {
    if (!this.#hasFetchedFromLeader) return; // not since the last success: stale or handled
    this.#hasFetchedFromLeader = false; // we no longer hear from the leader: grant pre-votes
    const sinceLastMs = this.#nowMs - this.#lastUnreachableElectionMs;
    if (sinceLastMs < this.#config.electionTimeoutMs) return; // flapping: fetch.timeout decides
    const jitterMs = Math.floor(
      this.#config.electionTimeoutMs * UNREACHABLE_ELECTION_JITTER_FRACTION,
    );
    this.#unreachableElectionAtMs = this.#nowMs + this.#random.intBelow(Math.max(1, jitterMs));
  }

  /**
   * An observer's leader cannot be reached: look for the leader among the voters, and do not
   * follow this one again in this epoch for an election timeout (voters may still name it).
   */
  #observerLosesLeader(): void {
    const untilMs = this.#nowMs + this.#config.electionTimeoutMs;
    this.#avoidedLeader = { leaderId: this.#leaderId, epoch: this.#epoch, untilMs };
    this.#becomeUnattached(this.#epoch);
    this.#fetchRetryAtMs = this.#nowMs;
  }

  #isAvoidedLeader(leaderId: NodeId, epoch: number): boolean {
    const avoided = this.#avoidedLeader;
    return avoided !== null && avoided.leaderId === leaderId && avoided.epoch === epoch &&
      this.#nowMs < avoided.untilMs;
  }

  /**
   * Every input ends here: a leader whose own removal has committed resigns (KIP-853), then a
   * fetch leaves if one is due.
   */
  #endInput(): void {
    const removedAt = this.#voters.lastChangeOffset();
    if (this.#leader && !this.isVoter && this.#highWatermark > removedAt) this.#becomeResigned();
    this.#maybeSendFetch();
  }

  /** One fetch in flight, and only once everything it acknowledges is durable. */
  #maybeSendFetch(): void {
    const inFlight = this.#fetch;
    if (inFlight && this.#nowMs - inFlight.sentMs >= this.#config.requestTimeoutMs) {
      this.#fetch = null;
    }
    if (this.#fetch || this.#snapshotFetch || this.#nowMs < this.#fetchRetryAtMs) return;
    if (this.#flushedEnd !== this.#log.endOffset()) return;
    const to = this.#fetchTarget();
    if (to === null) return;
    const fetchOffset = this.#log.endOffset();
    const correlationId = this.#nextCorrelationId++;
    this.#fetch = { correlationId, to, fetchOffset, sentMs: this.#nowMs };
    this.#send<FetchRequest>({
      type: "FetchRequest",
      to,
      correlationId,
      replicaId: this.nodeId,
      replicaDirectoryId: this.directoryId,
      currentLeaderEpoch: this.#epoch,
      fetchOffset,
      lastFetchedEpoch: this.#log.lastEpoch(),
      logStartOffset: this.#log.startOffset(),
      highWatermark: this.#highWatermark,
      maxBytes: this.#config.fetchMaxBytes,
      maxWaitMs: this.#role === "follower" ? this.#config.fetchMaxWaitMs : 0,
    });
  }

  #onFetchResponse(response: FetchResponse): void {
    const inFlight = this.#fetch;
    if (!inFlight || inFlight.correlationId !== response.correlationId) return;
    this.#fetch = null;
    const { leaderEpoch } = response.currentLeader;
    if (response.from === this.#avoidedLeader?.leaderId) this.#avoidedLeader = null;
    // An observer does not go back to a leader it just failed to reach; it keeps looking.
    const leaderId = this.#isAvoidedLeader(response.currentLeader.leaderId, leaderEpoch)
      ? NO_NODE
      : response.currentLeader.leaderId;
    if (this.#observeLeader(leaderEpoch, leaderId)) return this.#endInput();
    const fromLeader = this.#role === "follower" && response.from === this.#leaderId &&
      leaderEpoch === this.#epoch;
    if (fromLeader && response.errorCode === "NOT_LEADER_OR_FOLLOWER" && leaderId === NO_NODE) {
      // Our leader resigned its epoch: stop following it, so we grant pre-votes (KIP-996).
      return this.#becomeUnattached(this.#epoch);
    }
    if (response.errorCode !== "NONE" || !fromLeader) {
      this.#fetchRetryAtMs = this.#nowMs + this.#config.retryBackoffMs;
      return;
    }
    this.#hasFetchedFromLeader = true;
    this.#unreachableElectionAtMs = Infinity;
    this.#fetchDeadlineMs = this.#nowMs + this.#config.fetchTimeoutMs;
    if (response.divergingEpoch) this.#truncateToDivergence(response.divergingEpoch);
    else if (response.snapshotId) this.#onSnapshotId(response.snapshotId, leaderId);
    else this.#appendAsFollower(inFlight.fetchOffset, response);
    this.#endInput();
  }

  /** KIP-630: the leader's log starts past ours; ask the driver to fetch its snapshot. */
  #onSnapshotId(snapshotId: OffsetAndEpoch, leaderId: NodeId): void {
    if (!this.shouldInstallSnapshot(snapshotId)) {
      this.#fetchRetryAtMs = this.#nowMs + this.#config.retryBackoffMs;
      return;
    }
    this.#snapshotFetch = { ...snapshotId };
    this.#snapshotNeeded = { snapshotId: { ...snapshotId }, leaderId };
  }

  /** KIP-595: truncate to the smaller of our and the leader's end offsets for that epoch. */
  #truncateToDivergence(diverging: { epoch: number; endOffset: number }): void {
    const local = this.#log.endOffsetForEpoch(diverging.epoch);
    const truncateTo = Math.min(local.offset, diverging.endOffset);
    assert(truncateTo >= this.#highWatermark, `Cannot truncate below the high watermark`);
    if (truncateTo >= this.#log.endOffset()) return;
    this.#log.truncateTo(truncateTo);
    this.#voters.onTruncate(truncateTo);
    this.#flushedEnd = Math.min(this.#flushedEnd, truncateTo);
  }

  #appendAsFollower(fetchOffset: number, response: FetchResponse): void {
    if (fetchOffset !== this.#log.endOffset()) return;
    const records = response.records.filter((e) => e.offset >= fetchOffset);
    assert(records.every((e, i) => e.offset === fetchOffset + i), "Fetched records have gaps");
    this.#log.append(records);
    this.#voters.onAppend(records);
    const validatedEnd = fetchOffset + records.length;
    const highWatermark = Math.min(response.highWatermark, validatedEnd);
    if (highWatermark > this.#highWatermark) this.#setHighWatermark(highWatermark);
  }

  // ---- helpers ------------------------------------------------------------------------------

  #send<T extends RaftMessage>(message: Omit<T, "from">): void {
    this.#outbox.push({ ...message, from: this.nodeId } as unknown as RaftMessage);
  }

  #reply(message: RaftMessage): void {
    this.#outbox.push(message);
  }

  #isOnlyVoter(): boolean {
    const voters = this.#voters.current();
    return voters.size === 1 && voters.has(this.nodeId);
  }

  #randomElectionTimeoutMs(): number {
    const timeoutMs = this.#config.electionTimeoutMs;
    return timeoutMs + this.#random.intBelow(timeoutMs);
  }

  /**
   * Kafka's binary exponential election backoff: a random multiple of 50 ms below
   * 2^retries multiples, capped by `electionBackoffMaxMs`. After a first split vote the
   * candidates retry within 50 ms instead of waiting up to the whole bound.
   */
  #electionBackoffMs(): number {
    const exponent = Math.min(ELECTION_BACKOFF_EXPONENT_MAX, Math.max(1, this.#electionRetries));
    const backoffMs = ELECTION_BACKOFF_BASE_MS * this.#random.intBelow(2 ** exponent);
    return Math.min(backoffMs, this.#config.electionBackoffMaxMs);
  }

  /** Kafka's `beginQuorumEpochTimeoutMs`: half the fetch timeout, at most the request timeout. */
  #beginQuorumResendMs(): number {
    return Math.min(this.#config.requestTimeoutMs, Math.floor(this.#config.fetchTimeoutMs / 2));
  }

  #checkQuorumTimeoutMs(): number {
    return Math.floor(this.#config.fetchTimeoutMs * CHECK_QUORUM_TIMEOUT_FACTOR);
  }

  #quorumState(): QuorumStateData {
    return { leaderEpoch: this.#epoch, leaderId: this.#leaderId, votedId: this.#votedId };
  }

  #quorumStateChanged(): boolean {
    const p = this.#persisted;
    return p.leaderEpoch !== this.#epoch || p.leaderId !== this.#leaderId ||
      p.votedId !== this.#votedId;
  }

  #describeRole(): RoleChange {
    return {
      role: this.#role,
      epoch: this.#epoch,
      leaderId: this.leaderId,
      observer: !this.isVoter,
    };
  }
}

function newProgress(acknowledged: boolean): ReplicaProgress {
  return {
    endOffset: 0,
    lastFetchMs: -Infinity,
    acknowledged,
    directoryId: ZERO_DIRECTORY_ID,
    caughtUpMs: -Infinity,
    leaderEndAtFetch: 0,
  };
}
