/**
 * Drives the pure raft core (`core/raft`) with real time, the metadata log on disk, the
 * `quorum-state` file and a message transport: the node loop of persist, fsync, send, apply,
 * advance.
 *
 * Inputs (ticks, messages, proposals) are queued and applied between `ready()`/`advance()` pairs,
 * so the core never sees input while its effects are being carried out.
 *
 * Snapshots (KIP-630): once the committed bytes applied since the latest snapshot exceed
 * `metadata.log.max.record.bytes.between.snapshots`, or `metadata.log.max.snapshot.interval.ms`
 * has passed with new entries applied, the listener's state as of the last applied entry is
 * written as a `.checkpoint` in the background and then adopted by the log (which starts at it).
 * When the core reports `snapshotNeeded`, the driver fetches the leader's snapshot in chunks
 * (FetchSnapshot), writes it durably, installs it in the log, has the listener load it and tells
 * the core.
 *
 * @module
 */

import { join } from "node:path";
import { RaftNode, type VoterChangeResult } from "../core/raft/node.ts";
import type { RaftErrorName } from "../core/raft/errors.ts";
import type { RaftMessage } from "../core/raft/messages.ts";
import type { RoleChange } from "../core/raft/ready.ts";
import {
  DEFAULT_RAFT_CONFIG,
  entrySizeBytes,
  type LogEntry,
  type NodeId,
  type OffsetAndEpoch,
  type QuorumStateData,
  type RaftConfig,
  type Voter,
  ZERO_DIRECTORY_ID,
} from "../core/raft/types.ts";
import { SeededRandom } from "../core/random.ts";
import type { Logger } from "../core/log.ts";
import { METADATA_PARTITION_DIR, type MetadataLog } from "./metadata_log.ts";
import { readTextIfExists, writeFileAtomic } from "../storage/fs.ts";
import {
  deleteSnapshotFile,
  readSnapshotFile,
  type SnapshotChunk,
  type SnapshotContents,
  SnapshotFileWriter,
  type SnapshotSource,
  writeSnapshotStreaming,
} from "../storage/raft/snapshot_file.ts";

/** The name of the file holding the persisted election state (KIP-595). */
export const QUORUM_STATE_FILE = "quorum-state";

/** Tick period of the raft core, in milliseconds. */
const TICK_INTERVAL_MS = 10;

/** Bytes asked for in one FetchSnapshot request. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Bound on the size of a snapshot fetched from the leader. */
const SNAPSHOT_FETCH_BYTES_MAX = 1024 * 1024 * 1024;

/** One FetchSnapshot request for a chunk of the leader's snapshot (KIP-630). */
export interface SnapshotChunkRequest {
  to: NodeId;
  snapshotId: OffsetAndEpoch;
  currentLeaderEpoch: number;
  position: number;
  maxBytes: number;
}

/** The answer to a {@link SnapshotChunkRequest}: a chunk, or why not. */
export type SnapshotChunkResult = { ok: true; chunk: SnapshotChunk } | { ok: false; error: string };

/**
 * Carries raft messages to other nodes; incoming ones arrive through `RaftDriver.deliver`.
 * `send` never throws and never blocks: the network is lossy and the core retries. A transport
 * that sees a peer refuse or drop a connection reports it with `RaftDriver.peerUnreachable`.
 */
export interface RaftTransport {
  send(message: RaftMessage): void;
  /** Stops the transport; the driver awaits it on shutdown (after resigning). */
  close(): void | Promise<void>;
  /** Fetches one chunk of a snapshot from the leader (KIP-630 FetchSnapshot); never throws. */
  fetchSnapshotChunk?(request: SnapshotChunkRequest): Promise<SnapshotChunkResult>;
  /** Called once by {@link RaftDriver.start} so the transport can deliver incoming messages. */
  attach?(driver: RaftDriver): void;
  /** KIP-853: the voter set in force changed; these are the voters' endpoints from the log. */
  setVoters?(voters: readonly Voter[]): void;
}

/** A transport for a quorum of one: there is nobody to talk to. */
export const LOOPBACK_ONLY_TRANSPORT: RaftTransport = {
  send() {},
  close() {},
};

/** Reads `quorum-state` (Kafka's JSON format), or null when absent. */
export async function readQuorumState(metadataLogDir: string): Promise<QuorumStateData | null> {
  const text = await readTextIfExists(
    join(metadataLogDir, METADATA_PARTITION_DIR, QUORUM_STATE_FILE),
  );
  if (text === null) return null;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `Cannot parse ${QUORUM_STATE_FILE} in ${metadataLogDir}: ${(error as Error).message}`,
    );
  }
  const int = (key: string) => {
    const value = json[key];
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new Error(
        `Cannot read ${QUORUM_STATE_FILE} in ${metadataLogDir}: ${key} is not an integer`,
      );
    }
    return value;
  };
  return { leaderEpoch: int("leaderEpoch"), leaderId: int("leaderId"), votedId: int("votedId") };
}

/**
 * Writes `quorum-state` atomically and durably (temp file, fsync, rename, fsync dir).
 * `votedDirectoryId` is the directory id of the replica voted for (Kafka's voted key), the zero
 * UUID when it is unknown (a static quorum's voters have none) or no vote was cast.
 */
async function writeQuorumState(
  metadataLogDir: string,
  state: QuorumStateData & { votedDirectoryId: string },
): Promise<void> {
  const json = JSON.stringify({
    leaderId: state.leaderId,
    leaderEpoch: state.leaderEpoch,
    votedId: state.votedId,
    votedDirectoryId: state.votedDirectoryId,
    data_version: 1,
  });
  await writeFileAtomic(
    join(metadataLogDir, METADATA_PARTITION_DIR, QUORUM_STATE_FILE),
    new TextEncoder().encode(json),
  );
}

/** What the application hears from the driver. */
export interface RaftListener {
  /** Committed entries, in order, each applied exactly once per process. */
  onCommitted(entries: readonly LogEntry[], highWatermark: number): void;
  /** Leadership changed (the controller activates on `leader`). */
  onRoleChange(change: RoleChange): void;
  /**
   * The state as of the last entry passed to `onCommitted`, as metadata record payloads for a
   * snapshot. Without it, this replica writes no snapshots. Called inside the loop, so it should
   * only capture the state (e.g. the immutable image) and produce the payloads lazily: they are
   * pulled batch by batch while the snapshot is written, with the loop running in between.
   */
  snapshotPayloads?(): Iterable<Uint8Array>;
  /**
   * Replace the whole state with a snapshot's (at startup, and when one is installed from the
   * leader); entries after `snapshotId.offset - 1` follow through `onCommitted`. The driver
   * awaits a returned promise before going on.
   */
  onSnapshotLoaded?(contents: SnapshotContents, snapshotId: OffsetAndEpoch): void | Promise<void>;
}

/** When to snapshot (Kafka's `metadata.log.max.*` settings). */
export interface SnapshotPolicy {
  /** `metadata.log.max.record.bytes.between.snapshots` (Kafka's default 20971520). */
  maxRecordBytesBetweenSnapshots: number;
  /** `metadata.log.max.snapshot.interval.ms` (default 3600000; 0 disables time-based ones). */
  maxSnapshotIntervalMs: number;
}

/** Kafka's defaults for {@link SnapshotPolicy}. */
export const DEFAULT_SNAPSHOT_POLICY: Readonly<SnapshotPolicy> = Object.freeze({
  maxRecordBytesBetweenSnapshots: 20 * 1024 * 1024,
  maxSnapshotIntervalMs: 60 * 60 * 1000,
});

/** Options for {@link RaftDriver}. */
export interface RaftDriverOptions {
  nodeId: number;
  /** The directory id of `metadata.log.dir` (KIP-853 replica key); Vote and Fetch carry it. */
  directoryId?: string;
  /**
   * Static voters (`controller.quorum.voters`), or bootstrap pseudo ids for observers. A snapshot
   * with a VotersRecord (a dynamic quorum, kraft.version 1) overrides them.
   */
  voters: readonly number[];
  metadataLogDir: string;
  log: MetadataLog;
  config: Partial<RaftConfig>;
  logger: Logger;
  listener: RaftListener;
  transport?: RaftTransport;
  /** When to write snapshots; default {@link DEFAULT_SNAPSHOT_POLICY}. */
  snapshotPolicy?: Partial<SnapshotPolicy>;
}

interface CommitWaiter {
  offset: number;
  epoch: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Thrown to proposers when the entries will not be committed by this leader. */
export class NotLeaderError extends Error {
  override name = "NotLeaderError";
}

/** A refused or failed KIP-853 voter change, with the Kafka error name to answer. */
export class VoterChangeError extends Error {
  override name = "VoterChangeError";
  readonly errorName: RaftErrorName;
  constructor(errorName: RaftErrorName, message: string) {
    super(message);
    this.errorName = errorName;
  }
}

/**
 * The running raft replica of `__cluster_metadata-0`.
 *
 * @example
 * ```ts ignore
 * const driver = await RaftDriver.start({ nodeId: 1, voters: [1], metadataLogDir, log, config: {}, logger, listener });
 * await driver.propose([payload]); // resolves once committed
 * ```
 */
export class RaftDriver {
  readonly #options: RaftDriverOptions;
  readonly #raft: RaftNode;
  readonly #transport: RaftTransport;
  #inputs: ((nowMs: number) => void | Promise<void>)[] = [];
  #running = false;
  #stopped = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** One-shot tick when the append linger of a proposal ends (not up to a tick period later). */
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #waiters: CommitWaiter[] = [];
  #loop: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  readonly #snapshotPolicy: SnapshotPolicy;
  /** The last entry handed to the listener: a snapshot now would end after it. */
  #lastApplied: OffsetAndEpoch | null = null;
  #bytesSinceSnapshot = 0;
  #lastSnapshotMs = Date.now();
  #snapshotWrite: Promise<void> | null = null;
  #snapshotFetch: Promise<void> | null = null;
  #snapshotsWritten = 0;
  #snapshotsInstalled = 0;
  /** KIP-853: the voter set as of the last applied entry (what a snapshot records). */
  #appliedVoters: readonly Voter[] | undefined;
  /** The voter set last handed to the transport. */
  #announcedVoters: readonly Voter[] | null = null;

  private constructor(
    options: RaftDriverOptions,
    quorumState: QuorumStateData | null,
    snapshotVoters: readonly Voter[] | undefined,
  ) {
    this.#options = options;
    this.#transport = options.transport ?? LOOPBACK_ONLY_TRANSPORT;
    this.#snapshotPolicy = { ...DEFAULT_SNAPSHOT_POLICY, ...options.snapshotPolicy };
    const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
    this.#appliedVoters = snapshotVoters;
    this.#raft = new RaftNode({
      nodeId: options.nodeId,
      directoryId: options.directoryId,
      voters: snapshotVoters ?? options.voters,
      kraftVersion: snapshotVoters ? 1 : 0,
      quorumState: quorumState ?? undefined,
      log: options.log,
      config: options.config,
      random: new SeededRandom(seed),
      nowMs: Date.now(),
    });
  }

  /**
   * Reads the quorum state, loads the latest snapshot into the listener, builds the core and
   * starts ticking.
   */
  static async start(options: RaftDriverOptions): Promise<RaftDriver> {
    const state = await readQuorumState(options.metadataLogDir);
    const snapshotId = options.log.latestSnapshotId();
    const contents = snapshotId ? await options.log.readLatestSnapshot() : null;
    if (snapshotId && contents) {
      await options.listener.onSnapshotLoaded?.(contents, snapshotId);
      options.logger.info(
        `Loaded snapshot ${snapshotId.offset}-${snapshotId.epoch} (${contents.payloads.length} records)`,
      );
    }
    // KIP-853: a dynamic quorum's voters come from the latest snapshot, else the bootstrap one.
    const voters = contents?.voters ?? (await options.log.readBootstrapSnapshot())?.voters;
    const driver = new RaftDriver(options, state, voters);
    driver.#transport.attach?.(driver);
    driver.#announceVoters();
    driver.#timer = setInterval(
      () => driver.#input((now) => driver.#raft.tick(now)),
      TICK_INTERVAL_MS,
    );
    driver.#input((now) => driver.#raft.tick(now));
    return driver;
  }

  get nodeId(): number {
    return this.#options.nodeId;
  }
  get leaderId(): number {
    return this.#raft.leaderId;
  }
  get epoch(): number {
    return this.#raft.epoch;
  }
  get highWatermark(): number {
    return this.#raft.highWatermark;
  }
  get endOffset(): number {
    return this.#raft.endOffset;
  }
  get role(): string {
    return this.#raft.role;
  }
  get voters(): ReadonlySet<number> {
    return this.#raft.voters;
  }
  /** The voters in force with directory ids and endpoints (KIP-853; bare ids when static). */
  get voterDetails(): readonly Voter[] {
    return this.#raft.voterDetails;
  }
  /** The directory id of replica `id` as far as this node knows it (itself, or a voter). */
  #directoryIdOf(id: NodeId): string {
    if (id < 0) return ZERO_DIRECTORY_ID;
    if (id === this.nodeId) return this.#options.directoryId ?? ZERO_DIRECTORY_ID;
    return this.#raft.voterDetails.find((v) => v.id === id)?.directoryId ?? ZERO_DIRECTORY_ID;
  }

  /** `kraft.version` in force: 1 for a dynamic quorum (KIP-853). */
  get kraftVersion(): number {
    return this.#raft.kraftVersion;
  }
  get directoryId(): string | undefined {
    return this.#options.directoryId;
  }
  /** False for an observer (a broker-only node: not in the voter set). */
  get isVoter(): boolean {
    return this.#raft.isVoter;
  }
  /** True when this node leads and its LeaderChange record has committed. */
  get isLeaderReady(): boolean {
    return this.#raft.isLeaderReady;
  }

  /** The latest snapshot's id (KIP-630), or null. */
  get latestSnapshotId(): OffsetAndEpoch | null {
    return this.#options.log.latestSnapshotId();
  }
  /** Snapshots this process wrote, and snapshots it installed from the leader. */
  get snapshotCounts(): { written: number; installed: number } {
    return { written: this.#snapshotsWritten, installed: this.#snapshotsInstalled };
  }

  /** A chunk of this replica's latest snapshot, to answer FetchSnapshot; null when it has not it. */
  readSnapshotChunk(
    snapshotId: OffsetAndEpoch,
    position: number,
    maxBytes: number,
  ): Promise<SnapshotChunk | null> {
    return this.#options.log.readSnapshotChunk(snapshotId, position, maxBytes);
  }

  /** Hands an incoming raft message (from the transport) to the core. */
  deliver(message: RaftMessage): void {
    this.#input((now) => this.#raft.step(message, now));
  }

  /**
   * The transport failed to connect to `nodeId`, or a connection to it failed with requests
   * outstanding (not a timeout): the core abandons a fetch to it and, when it was the leader,
   * looks for a new one early (KIP-996 pre-vote).
   */
  peerUnreachable(nodeId: NodeId): void {
    this.#input((now) => this.#raft.onPeerUnreachable(nodeId, now));
  }

  /**
   * Proposes serialized metadata records as one atomic group of entries. Resolves with the
   * offset of the last entry once it is committed; rejects with {@link NotLeaderError} when this
   * node is not (or stops being) the leader first.
   */
  propose(payloads: readonly Uint8Array[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#input((now) => {
        const result = this.#raft.propose(payloads, now);
        if (!result.ok) {
          reject(new NotLeaderError(`Node ${this.nodeId} is not the active controller`));
          return;
        }
        this.#waiters.push({
          offset: result.offset,
          epoch: result.epoch,
          resolve: () => resolve(result.offset),
          reject,
        });
        this.#tickWhenLingerEnds();
      });
    });
  }

  /**
   * Schedules a tick for when the linger of the proposal just made ends, as Kafka's raft client
   * polls until the accumulator's linger deadline, so a lone proposal waits the linger and not up
   * to a tick period more.
   */
  #tickWhenLingerEnds(): void {
    const lingerMs = this.#options.config.appendLingerMs ?? DEFAULT_RAFT_CONFIG.appendLingerMs;
    if (lingerMs <= 0 || this.#lingerTimer !== undefined || this.#stopped) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#input((now) => this.#raft.tick(now));
    }, lingerMs);
  }

  /**
   * KIP-853 AddRaftVoter as the leader: resolves once the VotersRecord adding `voter` commits;
   * rejects with {@link VoterChangeError} naming the Kafka error (NOT_LEADER_OR_FOLLOWER,
   * UNSUPPORTED_VERSION, REQUEST_TIMED_OUT, DUPLICATE_VOTER, ...).
   */
  addVoter(voter: Voter): Promise<void> {
    return this.#changeVoters((now) => this.#raft.addVoter(voter, now));
  }

  /** KIP-853 RemoveRaftVoter as the leader; resolves once the removal commits. */
  removeVoter(key: { id: NodeId; directoryId: string }): Promise<void> {
    return this.#changeVoters((now) => this.#raft.removeVoter(key, now));
  }

  /** KIP-853 UpdateRaftVoter as the leader; resolves once the new endpoints commit. */
  updateVoter(voter: Voter): Promise<void> {
    return this.#changeVoters((now) => this.#raft.updateVoter(voter, now));
  }

  #changeVoters(change: (nowMs: number) => VoterChangeResult): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(new VoterChangeError("NOT_LEADER_OR_FOLLOWER", "The raft replica is stopped"));
        return;
      }
      this.#input((now) => {
        const result = change(now);
        if (!result.ok) {
          reject(new VoterChangeError(result.error, result.message));
          return;
        }
        this.#waiters.push({
          offset: result.offset,
          epoch: result.epoch,
          resolve: () => resolve(),
          reject: (error) => reject(new VoterChangeError("NOT_LEADER_OR_FOLLOWER", error.message)),
        });
      });
    });
  }

  /** Tells the transport the voters' endpoints whenever the set in force changes (KIP-853). */
  #announceVoters(): void {
    const voters = this.#raft.voterDetails;
    if (voters === this.#announcedVoters) return;
    this.#announcedVoters = voters;
    this.#transport.setVoters?.(voters);
  }

  /** Resigns leadership (graceful shutdown), then stops ticking and flushes. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#input((now) => this.#raft.resign(now));
    await this.#idle();
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#lingerTimer);
    await this.#snapshotWrite?.catch(() => {});
    await this.#snapshotFetch?.catch(() => {});
    await this.#transport.close();
    this.#failWaiters(new NotLeaderError("The raft replica is shutting down"));
    await this.#options.log.close();
  }

  #input(fn: (nowMs: number) => void | Promise<void>): void {
    if (this.#stopped) return;
    this.#inputs.push(fn);
    if (!this.#running) {
      this.#running = true;
      this.#loop = this.#run().catch((error) => {
        // A failed fsync or write leaves the replica unable to promise anything: stop loudly.
        this.#failure = error;
        this.#options.logger.error(`Raft loop failed: ${error.stack ?? error}`);
        this.#stopped = true;
        clearInterval(this.#timer);
        clearTimeout(this.#lingerTimer);
        this.#failWaiters(error);
      });
    }
  }

  async #idle(): Promise<void> {
    // Bounded: each pass drains the queue; at most a few passes happen while stopping.
    for (let i = 0; i < 100 && (this.#running || this.#inputs.length > 0); i++) await this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (this.#inputs.length > 0 || this.#raft.hasReady()) {
        const now = Date.now();
        const inputs = this.#inputs;
        this.#inputs = [];
        for (const fn of inputs) {
          const pending = fn(now);
          if (pending instanceof Promise) await pending;
        }
        if (this.#raft.hasReady()) await this.#handleReady();
        this.#maybeSnapshot(Date.now());
      }
    } finally {
      this.#running = false;
    }
  }

  async #handleReady(): Promise<void> {
    const raft = this.#raft;
    const log = this.#options.log;
    const ready = raft.ready();
    if (ready.persistQuorumState) {
      const state = ready.persistQuorumState;
      await writeQuorumState(this.#options.metadataLogDir, {
        ...state,
        votedDirectoryId: this.#directoryIdOf(state.votedId),
      });
    }
    if (ready.truncateLogTo !== null) await log.truncateTo(ready.truncateLogTo);
    let flushed = false;
    if (ready.appendToLog.length > 0) {
      await log.append(ready.appendToLog, Date.now());
      flushed = true;
    }
    this.#announceVoters();
    for (const message of ready.send) this.#transport.send(message);
    raft.advance();
    if (flushed) {
      raft.onFlushed({ offset: log.endOffset(), epoch: log.lastEpoch() }, Date.now());
    }
    if (ready.committed.length > 0) {
      this.#options.listener.onCommitted(ready.committed, ready.highWatermark);
      const last = ready.committed.at(-1)!;
      this.#lastApplied = { offset: last.offset + 1, epoch: last.epoch };
      for (const entry of ready.committed) {
        if (entry.control?.type === "voters") this.#appliedVoters = entry.control.voters;
      }
      for (const entry of ready.committed) this.#bytesSinceSnapshot += entrySizeBytes(entry);
      this.#resolveWaiters(ready.committed);
      this.#maybeSnapshot(Date.now());
    }
    if (ready.snapshotNeeded) this.#startSnapshotFetch(ready.snapshotNeeded);
    if (ready.roleChange) {
      if (ready.roleChange.role !== "leader") {
        this.#failWaiters(new NotLeaderError(`Node ${this.nodeId} lost leadership`));
      }
      this.#options.listener.onRoleChange(ready.roleChange);
    }
  }

  // ---- snapshots (KIP-630) ------------------------------------------------------------------

  /**
   * Writes a snapshot of the applied state when the bytes or the time since the latest one call
   * for it; one write at a time, in the background, adopted by the log inside the loop.
   */
  #maybeSnapshot(nowMs: number): void {
    const payloadsOf = this.#options.listener.snapshotPayloads;
    const id = this.#lastApplied;
    if (!payloadsOf || id === null || this.#snapshotWrite !== null || this.#stopped) return;
    const latest = this.#options.log.latestSnapshotId();
    if (latest !== null && id.offset <= latest.offset) return;
    const policy = this.#snapshotPolicy;
    const bytesDue = this.#bytesSinceSnapshot >= policy.maxRecordBytesBetweenSnapshots;
    const timeDue = policy.maxSnapshotIntervalMs > 0 &&
      nowMs - this.#lastSnapshotMs >= policy.maxSnapshotIntervalMs;
    if (!bytesDue && !timeDue) return;
    // KIP-853: a dynamic quorum's snapshot carries the voter set as of its last entry.
    const voters = this.#raft.kraftVersion >= 1 ? this.#appliedVoters : undefined;
    const contents = {
      payloads: payloadsOf.call(this.#options.listener),
      lastContainedLogTimestampMs: nowMs,
      ...(voters ? { voters } : {}),
    };
    this.#bytesSinceSnapshot = 0;
    this.#lastSnapshotMs = nowMs;
    const write = this.#writeSnapshot({ ...id }, contents);
    this.#snapshotWrite = write;
    write.finally(() => (this.#snapshotWrite = null));
  }

  async #writeSnapshot(id: OffsetAndEpoch, contents: SnapshotSource): Promise<void> {
    const log = this.#options.log;
    try {
      // Encoded batch by batch as it is written: the loop runs between batches.
      const { sizeBytes, records } = await writeSnapshotStreaming(
        log.dir,
        id,
        contents,
        Date.now(),
      );
      this.#snapshotsWritten++;
      this.#options.logger.info(
        `Wrote snapshot ${id.offset}-${id.epoch}: ${records} records, ${sizeBytes} bytes`,
      );
      await new Promise<void>((resolve, reject) => {
        this.#input(async (now) => {
          try {
            await log.adoptSnapshot(id, now);
            resolve();
          } catch (error) {
            reject(error);
            throw error; // the log is in an unknown state: stop the loop loudly
          }
        });
        if (this.#stopped) resolve();
      });
    } catch (error) {
      this.#options.logger.warn(
        `Cannot write snapshot ${id.offset}-${id.epoch}: ${(error as Error).message}`,
      );
    }
  }

  /** Fetches the leader's snapshot in the background, then installs it inside the loop. */
  #startSnapshotFetch(needed: { snapshotId: OffsetAndEpoch; leaderId: NodeId }): void {
    if (this.#snapshotFetch !== null) return;
    const fetch = this.#fetchSnapshot(needed.snapshotId, needed.leaderId, this.#raft.epoch);
    this.#snapshotFetch = fetch;
    fetch.finally(() => (this.#snapshotFetch = null));
  }

  async #fetchSnapshot(id: OffsetAndEpoch, leaderId: NodeId, epoch: number): Promise<void> {
    const log = this.#options.log;
    const logger = this.#options.logger;
    let writer: SnapshotFileWriter | null = null;
    let contents: SnapshotContents;
    try {
      const fetchChunk = this.#transport.fetchSnapshotChunk?.bind(this.#transport);
      if (!fetchChunk) throw new Error("the transport cannot fetch snapshots");
      logger.info(`Fetching snapshot ${id.offset}-${id.epoch} from node ${leaderId}`);
      writer = await SnapshotFileWriter.create(log.dir, id);
      let sizeBytes: number | null = null;
      // Bounded: every round appends at least one byte of a snapshot of at most the bound.
      while (sizeBytes === null || writer.sizeBytes < sizeBytes) {
        if (this.#stopped) throw new Error("the replica is stopping");
        const result = await fetchChunk({
          to: leaderId,
          snapshotId: id,
          currentLeaderEpoch: epoch,
          position: writer.sizeBytes,
          maxBytes: SNAPSHOT_CHUNK_BYTES,
        });
        if (!result.ok) throw new Error(result.error);
        const { chunk } = result;
        sizeBytes ??= chunk.sizeBytes;
        if (chunk.sizeBytes !== sizeBytes || sizeBytes > SNAPSHOT_FETCH_BYTES_MAX) {
          throw new Error(`the leader's snapshot size ${chunk.sizeBytes} is unusable`);
        }
        if (chunk.position !== writer.sizeBytes || (chunk.bytes.length === 0 && sizeBytes > 0)) {
          throw new Error(`the leader answered position ${chunk.position} without progress`);
        }
        await writer.append(chunk.bytes);
      }
      await writer.freeze();
      writer = null;
      contents = await readSnapshotFile(log.dir, id);
    } catch (error) {
      await writer?.abort().catch(() => {});
      logger.warn(`Cannot fetch snapshot ${id.offset}-${id.epoch}: ${(error as Error).message}`);
      this.#input((now) => this.#raft.onSnapshotFetchFailed(now));
      return;
    }
    this.#input(async (now) => await this.#installSnapshot(id, contents, now));
  }

  async #installSnapshot(id: OffsetAndEpoch, contents: SnapshotContents, nowMs: number) {
    const log = this.#options.log;
    if (!this.#raft.shouldInstallSnapshot(id)) {
      await deleteSnapshotFile(log.dir, id);
      this.#raft.onSnapshotFetchFailed(nowMs);
      return;
    }
    await log.installSnapshot(id);
    await this.#options.listener.onSnapshotLoaded?.(contents, id);
    this.#lastApplied = null;
    if (contents.voters) this.#appliedVoters = contents.voters;
    this.#bytesSinceSnapshot = 0;
    this.#lastSnapshotMs = nowMs;
    this.#snapshotsInstalled++;
    this.#raft.onSnapshotInstalled(id, nowMs, contents.voters ? { voters: contents.voters } : {});
    this.#announceVoters();
    this.#options.logger.info(
      `Installed snapshot ${id.offset}-${id.epoch} from the leader (${contents.payloads.length} records)`,
    );
  }

  #resolveWaiters(committed: readonly LogEntry[]): void {
    const last = committed.at(-1)!;
    const first = committed[0]!;
    const remaining: CommitWaiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.offset > last.offset) {
        remaining.push(waiter);
        continue;
      }
      const entry = waiter.offset >= first.offset
        ? committed[waiter.offset - first.offset]
        : undefined;
      if (entry === undefined || entry.epoch === waiter.epoch) waiter.resolve();
      else {waiter.reject(
          new NotLeaderError(`Entries at ${waiter.offset} were replaced by a new leader`),
        );}
    }
    this.#waiters = remaining;
  }

  #failWaiters(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** The error that stopped the loop, if any. */
  get failure(): Error | null {
    return this.#failure;
  }
}
