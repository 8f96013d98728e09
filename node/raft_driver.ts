/**
 * Drives the pure raft core (`core/raft`) with real time, the metadata log on disk, the
 * `quorum-state` file and a message transport: the node loop of persist, fsync, send, apply,
 * advance.
 *
 * Inputs (ticks, messages, proposals) are queued and applied between `ready()`/`advance()` pairs,
 * so the core never sees input while its effects are being carried out.
 *
 * @module
 */

import { join } from "node:path";
import { RaftNode } from "../core/raft/node.ts";
import type { RaftMessage } from "../core/raft/messages.ts";
import type { RoleChange } from "../core/raft/ready.ts";
import type { LogEntry, QuorumStateData, RaftConfig } from "../core/raft/types.ts";
import { SeededRandom } from "../core/random.ts";
import type { Logger } from "../core/log.ts";
import { METADATA_PARTITION_DIR, type MetadataLog } from "./metadata_log.ts";
import { readTextIfExists, writeFileAtomic } from "../storage/fs.ts";

/** The name of the file holding the persisted election state (KIP-595). */
export const QUORUM_STATE_FILE = "quorum-state";

/** Tick period of the raft core, in milliseconds. */
const TICK_INTERVAL_MS = 10;

/**
 * Carries raft messages to other nodes; incoming ones arrive through `RaftDriver.deliver`.
 * `send` never throws and never blocks: the network is lossy and the core retries.
 */
export interface RaftTransport {
  send(message: RaftMessage): void;
  /** Stops the transport; the driver awaits it on shutdown (after resigning). */
  close(): void | Promise<void>;
  /** Called once by {@link RaftDriver.start} so the transport can deliver incoming messages. */
  attach?(driver: RaftDriver): void;
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

/** Writes `quorum-state` atomically and durably (temp file, fsync, rename, fsync dir). */
async function writeQuorumState(metadataLogDir: string, state: QuorumStateData): Promise<void> {
  const json = JSON.stringify({
    leaderId: state.leaderId,
    leaderEpoch: state.leaderEpoch,
    votedId: state.votedId,
    votedDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
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
}

/** Options for {@link RaftDriver}. */
export interface RaftDriverOptions {
  nodeId: number;
  voters: readonly number[];
  metadataLogDir: string;
  log: MetadataLog;
  config: Partial<RaftConfig>;
  logger: Logger;
  listener: RaftListener;
  transport?: RaftTransport;
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
  #inputs: ((nowMs: number) => void)[] = [];
  #running = false;
  #stopped = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #waiters: CommitWaiter[] = [];
  #loop: Promise<void> = Promise.resolve();
  #failure: Error | null = null;

  private constructor(options: RaftDriverOptions, quorumState: QuorumStateData | null) {
    this.#options = options;
    this.#transport = options.transport ?? LOOPBACK_ONLY_TRANSPORT;
    const seed = crypto.getRandomValues(new Uint32Array(1))[0]!;
    this.#raft = new RaftNode({
      nodeId: options.nodeId,
      voters: options.voters,
      quorumState: quorumState ?? undefined,
      log: options.log,
      config: options.config,
      random: new SeededRandom(seed),
      nowMs: Date.now(),
    });
  }

  /** Reads the quorum state, builds the core and starts ticking. */
  static async start(options: RaftDriverOptions): Promise<RaftDriver> {
    const state = await readQuorumState(options.metadataLogDir);
    const driver = new RaftDriver(options, state);
    driver.#transport.attach?.(driver);
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
  /** False for an observer (a broker-only node: not in the voter set). */
  get isVoter(): boolean {
    return this.#raft.isVoter;
  }
  /** True when this node leads and its LeaderChange record has committed. */
  get isLeaderReady(): boolean {
    return this.#raft.isLeaderReady;
  }

  /** Hands an incoming raft message (from the transport) to the core. */
  deliver(message: RaftMessage): void {
    this.#input((now) => this.#raft.step(message, now));
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
      });
    });
  }

  /** Resigns leadership (graceful shutdown), then stops ticking and flushes. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#input((now) => this.#raft.resign(now));
    await this.#idle();
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#transport.close();
    this.#failWaiters(new NotLeaderError("The raft replica is shutting down"));
    await this.#options.log.close();
  }

  #input(fn: (nowMs: number) => void): void {
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
        for (const fn of inputs) fn(now);
        if (this.#raft.hasReady()) await this.#handleReady();
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
      await writeQuorumState(this.#options.metadataLogDir, ready.persistQuorumState);
    }
    if (ready.truncateLogTo !== null) await log.truncateTo(ready.truncateLogTo);
    let flushed = false;
    if (ready.appendToLog.length > 0) {
      await log.append(ready.appendToLog, Date.now());
      flushed = true;
    }
    for (const message of ready.send) this.#transport.send(message);
    raft.advance();
    if (flushed) {
      raft.onFlushed({ offset: log.endOffset(), epoch: log.lastEpoch() }, Date.now());
    }
    if (ready.committed.length > 0) {
      this.#options.listener.onCommitted(ready.committed, ready.highWatermark);
      this.#resolveWaiters(ready.committed);
    }
    if (ready.roleChange) {
      if (ready.roleChange.role !== "leader") {
        this.#failWaiters(new NotLeaderError(`Node ${this.nodeId} lost leadership`));
      }
      this.#options.listener.onRoleChange(ready.roleChange);
    }
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
