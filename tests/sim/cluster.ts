/**
 * A deterministic whole-cluster simulation of `core/raft`: N voters plus observers in one
 * process, a simulated clock, network (drop, duplication, delay, reordering, partitions) and
 * disks (unsynced writes lost on crash). With `snapshotEveryEntries` set, every node snapshots its
 * applied history and drops its log before it (KIP-630), and replicas behind a leader's log start
 * fetch its snapshot (a simulated FetchSnapshot that can be lost or cut off) and install it.
 * Connection failures are modeled too: a crash shows its peers a failed connection
 * (`onPeerUnreachable`) with some probability and delay, a request to a crashed node is refused
 * likewise, a cut link only sometimes shows (a reset rather than silence), and flapping
 * connections report live peers as unreachable now and then. One seed, one trace: a failure
 * reports the seed and the last events, and rerunning the seed reproduces it.
 *
 * @module
 */

import { SeededRandom } from "../../core/random.ts";
import type { RaftMessage } from "../../core/raft/messages.ts";
import { RaftNode } from "../../core/raft/node.ts";
import {
  type NodeId,
  type OffsetAndEpoch,
  type RaftConfig,
  type Voter,
  voterOf,
} from "../../core/raft/types.ts";
import { EventQueue } from "./event_queue.ts";
import { type CheckedNode, entryKey, InvariantChecker } from "./invariants.ts";
import { epochOfKey, SimDisk } from "./sim_disk.ts";
import { CALM_NETWORK, SimNetwork } from "./sim_network.ts";

/** How one simulated run is shaped. */
export interface SimOptions {
  seed: number;
  voters: number;
  observers: number;
  /** Simulated time with faults injected. */
  chaosMs: number;
  /** After healing, a leader must commit a new entry on every voter within this bound. */
  livenessMs: number;
  tickMs: number;
  traceLength: number;
  config?: Partial<RaftConfig>;
  /**
   * KIP-630: a node snapshots its applied history once this many entries were applied since its
   * latest snapshot, and drops its log before it. 0 (the default) never snapshots.
   */
  snapshotEveryEntries?: number;
  /** Model connection failures as `onPeerUnreachable` signals (default true). */
  unreachableSignals?: boolean;
  /**
   * How likely a crash shows its peers a failed connection, and a request to a crashed node is
   * refused (default 0.8: a killed process's kernel resets its connections, a lost machine does not).
   */
  unreachableOnCrashRate?: number;
  /**
   * A failover run instead of chaos: a calm network, the leader crashes at `crashAtMs` and comes
   * back at the heal (`chaosMs`); the result's `failoverMs` is the time until a leader of a
   * later epoch is ready.
   */
  failover?: { crashAtMs: number };
  /**
   * KIP-853: a dynamic quorum (kraft.version 1) whose first `voters` nodes are the initial voters;
   * the chaos also adds observers as voters and removes voters (the leader too), one change at a
   * time through the leader, and `voterChanges` in the result counts the committed ones.
   */
  dynamicQuorum?: boolean;
}

/** Default of {@link SimOptions.unreachableOnCrashRate}. */
const UNREACHABLE_ON_CRASH_RATE = 0.8;
/** How likely a request over a cut link shows a failed connection (a reset, not silence). */
const UNREACHABLE_ON_CUT_RATE = 0.2;

/** Defaults for a quick but meaningful run. */
export const DEFAULT_SIM_OPTIONS: Readonly<Omit<SimOptions, "seed">> = Object.freeze({
  voters: 3,
  observers: 1,
  chaosMs: 12_000,
  livenessMs: 20_000,
  tickMs: 20,
  traceLength: 40,
});

/** The outcome of one run. */
export interface SimResult {
  seed: number;
  ok: boolean;
  error?: string;
  /** The last events before the end (or the failure), oldest first. */
  trace: string[];
  simulatedMs: number;
  events: number;
  committed: number;
  elections: number;
  /** Snapshots written by nodes, and snapshots installed from a leader (KIP-630). */
  snapshotsWritten: number;
  snapshotsInstalled: number;
  /** Failover runs: crash of the leader to a ready leader of a later epoch, in ms (else null). */
  failoverMs: number | null;
  /** Dynamic quorums: voter additions and removals the leader accepted (appended). */
  voterChanges: { added: number; removed: number; leaderRemoved: number };
}

type SimEvent =
  | { kind: "tick"; node: number }
  | { kind: "deliver"; message: RaftMessage }
  | { kind: "flush"; node: number; incarnation: number }
  | { kind: "chaos" }
  | { kind: "restart"; node: number }
  | { kind: "propose" }
  | { kind: "heal" }
  | { kind: "unreachable"; node: number; incarnation: number; peer: number }
  | { kind: "crashLeader" }
  | { kind: "reconfigure" }
  | {
    kind: "snapshotFetched";
    node: number;
    incarnation: number;
    snapshotId: OffsetAndEpoch;
    leaderId: NodeId;
    lost: boolean;
  };

interface SimNode extends CheckedNode {
  incarnation: number;
  flushScheduled: boolean;
  /** Keys of the entries this incarnation has applied (or loaded from a snapshot), by offset. */
  appliedKeys: string[];
  /** KIP-853: the voter set of the last applied voters entry (what a snapshot records). */
  appliedVoters: readonly Voter[] | undefined;
}

const EVENTS_MAX = 2_000_000;
const DRAIN_ROUNDS_MAX = 64;
const encoder = new TextEncoder();

/**
 * One simulated cluster run.
 *
 * @example
 * ```ts
 * import { runSimulation, DEFAULT_SIM_OPTIONS } from "./cluster.ts";
 * const result = runSimulation({ ...DEFAULT_SIM_OPTIONS, seed: 7 });
 * result.ok; // true
 * ```
 */
export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

class Simulation {
  readonly #options: SimOptions;
  readonly #random: SeededRandom;
  readonly #network: SimNetwork;
  readonly #queue = new EventQueue<SimEvent>();
  readonly #checker = new InvariantChecker();
  readonly #nodes: SimNode[] = [];
  readonly #trace: { atMs: number; what: string | RaftMessage }[] = [];
  #nowMs = 0;
  #events = 0;
  #elections = 0;
  #proposals = 0;
  #healed = false;
  #marker: string | null = null;
  #markerEpoch = -1;
  #done = false;
  #snapshotsWritten = 0;
  #snapshotsInstalled = 0;
  #crashedLeader: { atMs: number; epoch: number } | null = null;
  #failoverMs: number | null = null;
  #voterChanges = { added: 0, removed: 0, leaderRemoved: 0 };

  constructor(options: SimOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
    this.#network = new SimNetwork(new SeededRandom(options.seed ^ 0x5eed));
    const total = options.voters + options.observers;
    for (let id = 1; id <= total; id++) {
      const node: SimNode = {
        id,
        raft: null,
        disk: new SimDisk(),
        bootstrapVoter: id <= options.voters,
        incarnation: 0,
        flushScheduled: false,
        appliedKeys: [],
        appliedVoters: undefined,
      };
      this.#nodes.push(node);
    }
  }

  run(): SimResult {
    try {
      for (const node of this.#nodes) {
        this.#start(node);
        this.#queue.push(this.#random.intBelow(this.#options.tickMs), {
          kind: "tick",
          node: node.id,
        });
      }
      const failover = this.#options.failover;
      if (failover) this.#queue.push(failover.crashAtMs, { kind: "crashLeader" });
      else this.#queue.push(100, { kind: "chaos" });
      this.#queue.push(50, { kind: "propose" });
      if (this.#options.dynamicQuorum) this.#queue.push(200, { kind: "reconfigure" });
      this.#queue.push(this.#options.chaosMs, { kind: "heal" });
      this.#loop();
      return this.#result();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ...this.#result(), ok: false, error: `${message}\n${this.#describeNodes()}` };
    }
  }

  #loop(): void {
    const deadlineMs = this.#options.chaosMs + this.#options.livenessMs;
    while (!this.#done) {
      const next = this.#queue.pop();
      if (!next) throw new Error("Event queue ran dry");
      if (++this.#events > EVENTS_MAX) throw new Error(`More than ${EVENTS_MAX} events`);
      this.#nowMs = next.atMs;
      if (this.#nowMs > deadlineMs) {
        throw new Error(
          `No leader committed a new entry within ${this.#options.livenessMs} ms of healing`,
        );
      }
      this.#handle(next.event);
      this.#checker.afterEvent(this.#nodes);
      if (this.#crashedLeader && this.#failoverMs === null) this.#checkFailover();
      if (this.#healed) this.#checkProgress();
    }
  }

  #handle(event: SimEvent): void {
    switch (event.kind) {
      case "tick": {
        const node = this.#node(event.node);
        node.raft?.tick(this.#nowMs);
        this.#drain(node);
        this.#queue.push(this.#nowMs + this.#options.tickMs, event);
        return;
      }
      case "deliver": {
        const node = this.#node(event.message.to);
        if (!node.raft) return this.#refused(event.message);
        this.#record(event.message);
        node.raft.step(event.message, this.#nowMs);
        return this.#drain(node);
      }
      case "flush":
        return this.#flush(event.node, event.incarnation);
      case "chaos":
        return this.#chaos();
      case "restart":
        return this.#restart(this.#node(event.node));
      case "propose":
        return this.#propose();
      case "heal":
        return this.#heal();
      case "snapshotFetched":
        return this.#snapshotFetched(event);
      case "unreachable":
        return this.#unreachable(event);
      case "crashLeader":
        return this.#crashLeader();
      case "reconfigure":
        if (this.#healed) return;
        this.#reconfigure();
        this.#queue.push(this.#nowMs + 100 + this.#random.intBelow(400), event);
        return;
    }
  }

  // ---- connection failures --------------------------------------------------------------------

  /** `node` sees its connection to `peer` fail after a short delay, with probability `rate`. */
  #maybeSignal(node: SimNode, peer: number, rate: number): void {
    if (this.#options.unreachableSignals === false || !node.raft) return;
    if (this.#random.next() >= rate) return;
    const atMs = this.#nowMs + 1 + this.#random.intBelow(10);
    this.#queue.push(atMs, {
      kind: "unreachable",
      node: node.id,
      incarnation: node.incarnation,
      peer,
    });
  }

  /** A request reached a crashed node: its sender may see the connection refused. */
  #refused(message: RaftMessage): void {
    if (!message.type.endsWith("Request")) return;
    this.#maybeSignal(this.#node(message.from), message.to, this.#crashSignalRate());
  }

  #crashSignalRate(): number {
    return this.#options.unreachableOnCrashRate ?? UNREACHABLE_ON_CRASH_RATE;
  }

  #unreachable(event: Extract<SimEvent, { kind: "unreachable" }>): void {
    const node = this.#node(event.node);
    if (!node.raft || node.incarnation !== event.incarnation) return;
    this.#record(`node ${node.id} sees node ${event.peer} unreachable`);
    node.raft.onPeerUnreachable(event.peer, this.#nowMs);
    this.#drain(node);
  }

  #crashLeader(): void {
    const leader = this.#nodes.find((n) => n.raft?.isLeaderReady);
    if (!leader) {
      this.#queue.push(this.#nowMs + 100, { kind: "crashLeader" });
      return;
    }
    this.#crashedLeader = { atMs: this.#nowMs, epoch: leader.raft!.epoch };
    this.#crash(leader);
  }

  #checkFailover(): void {
    const crashed = this.#crashedLeader!;
    const ready = this.#nodes.some((n) => n.raft?.isLeaderReady && n.raft.epoch > crashed.epoch);
    if (ready) this.#failoverMs = this.#nowMs - crashed.atMs;
  }

  // ---- node lifecycle -------------------------------------------------------------------------

  #start(node: SimNode): void {
    node.incarnation++;
    const snapshot = node.disk.snapshot;
    node.appliedKeys = snapshot ? [...snapshot.keys] : [];
    node.appliedVoters = snapshot?.voters;
    if (snapshot) this.#checker.onSnapshotLoaded(node.id, snapshot);
    const initialVoters = range(1, this.#options.voters).map(voterOf);
    node.raft = new RaftNode({
      nodeId: node.id,
      voters: snapshot?.voters ?? initialVoters,
      kraftVersion: this.#options.dynamicQuorum ? 1 : 0,
      quorumState: node.disk.quorumState,
      log: node.disk.log,
      config: this.#options.config,
      random: new SeededRandom(this.#options.seed * 31 + node.id * 1009 + node.incarnation),
      nowMs: this.#nowMs,
    });
    this.#record(`start node ${node.id} (incarnation ${node.incarnation})`);
    this.#drain(node);
  }

  #crash(node: SimNode): void {
    if (!node.raft) return;
    node.raft = null;
    node.flushScheduled = false;
    node.disk.crash();
    this.#checker.onRestart(node.id);
    this.#record(`crash node ${node.id}`);
    // Its open connections are reset: peers may notice at once.
    for (const peer of this.#nodes) {
      if (peer !== node) this.#maybeSignal(peer, node.id, this.#crashSignalRate());
    }
  }

  #restart(node: SimNode): void {
    if (node.raft) return;
    this.#start(node);
  }

  /** The driver loop production runs: persist, write, send, apply, advance. */
  #drain(node: SimNode): void {
    for (let round = 0; node.raft?.hasReady(); round++) {
      if (round >= DRAIN_ROUNDS_MAX) throw new Error(`Node ${node.id} never settles`);
      const raft = node.raft;
      const ready = raft.ready();
      if (ready.persistQuorumState) node.disk.quorumState = { ...ready.persistQuorumState };
      if (ready.truncateLogTo !== null) node.disk.truncate(ready.truncateLogTo);
      if (ready.appendToLog.length > 0) node.disk.append(ready.appendToLog);
      if (ready.truncateLogTo !== null || ready.appendToLog.length > 0) this.#scheduleFlush(node);
      for (const message of ready.send) this.#sendMessage(message);
      this.#checker.onApplied(node.id, ready.committed);
      for (const entry of ready.committed) {
        if (entry.offset !== node.appliedKeys.length) {
          throw new Error(`Node ${node.id} applied ${entry.offset}, expected the next offset`);
        }
        node.appliedKeys.push(entryKey(entry));
        if (entry.control?.type === "voters") node.appliedVoters = entry.control.voters;
      }
      if (ready.roleChange) this.#onRoleChange(node, ready.roleChange.role, ready.roleChange.epoch);
      if (ready.snapshotNeeded) this.#fetchSnapshot(node, ready.snapshotNeeded);
      raft.advance();
      this.#maybeSnapshot(node);
    }
  }

  // ---- snapshots (KIP-630) --------------------------------------------------------------------

  /** Snapshots the applied history once enough entries were applied since the latest one. */
  #maybeSnapshot(node: SimNode): void {
    const every = this.#options.snapshotEveryEntries ?? 0;
    const applied = node.appliedKeys.length;
    if (every <= 0 || applied - (node.disk.snapshot?.id.offset ?? 0) < every) return;
    const id = { offset: applied, epoch: epochOfKey(node.appliedKeys[applied - 1]!) };
    const voters = this.#options.dynamicQuorum
      ? node.appliedVoters ?? range(1, this.#options.voters).map(voterOf)
      : undefined;
    node.disk.compact({ id, keys: [...node.appliedKeys], ...(voters ? { voters } : {}) });
    this.#snapshotsWritten++;
    this.#record(`node ${node.id} snapshots at ${JSON.stringify(id)}`);
  }

  /** A simulated FetchSnapshot exchange: lost like a message, cut off by partitions. */
  #fetchSnapshot(node: SimNode, needed: { snapshotId: OffsetAndEpoch; leaderId: NodeId }): void {
    const { delayMinMs, delayMaxMs, dropRate } = this.#network.faults;
    const cut = this.#network.isCut(node.id, needed.leaderId) ||
      this.#network.isCut(needed.leaderId, node.id);
    const lost = cut || this.#random.next() < dropRate;
    const delayMs = 2 * (delayMinMs + this.#random.intBelow(delayMaxMs - delayMinMs + 1));
    this.#record(`node ${node.id} fetches snapshot ${JSON.stringify(needed.snapshotId)}`);
    this.#queue.push(this.#nowMs + delayMs, {
      kind: "snapshotFetched",
      node: node.id,
      incarnation: node.incarnation,
      snapshotId: needed.snapshotId,
      leaderId: needed.leaderId,
      lost,
    });
  }

  #snapshotFetched(event: Extract<SimEvent, { kind: "snapshotFetched" }>): void {
    const node = this.#node(event.node);
    const raft = node.raft;
    if (!raft || node.incarnation !== event.incarnation) return;
    const source = this.#nodes[event.leaderId - 1];
    const snapshot = source?.raft ? source.disk.snapshot : null;
    const same = snapshot !== null && snapshot.id.offset === event.snapshotId.offset &&
      snapshot.id.epoch === event.snapshotId.epoch;
    if (event.lost || !same || !raft.shouldInstallSnapshot(event.snapshotId)) {
      this.#record(`node ${node.id} failed to fetch snapshot ${JSON.stringify(event.snapshotId)}`);
      raft.onSnapshotFetchFailed(this.#nowMs);
      return this.#drain(node);
    }
    node.disk.installSnapshot(snapshot);
    node.appliedKeys = [...snapshot.keys];
    node.appliedVoters = snapshot.voters;
    this.#checker.onSnapshotLoaded(node.id, snapshot);
    raft.onSnapshotInstalled(
      event.snapshotId,
      this.#nowMs,
      snapshot.voters ? { voters: snapshot.voters } : {},
    );
    this.#snapshotsInstalled++;
    this.#record(`node ${node.id} installed snapshot ${JSON.stringify(event.snapshotId)}`);
    this.#drain(node);
  }

  #onRoleChange(node: SimNode, role: string, epoch: number): void {
    this.#record(`node ${node.id} is ${role} in epoch ${epoch}`);
    if (role === "leader") {
      this.#elections++;
      this.#checker.onBecameLeader(node);
    }
  }

  #scheduleFlush(node: SimNode): void {
    if (node.flushScheduled) return;
    node.flushScheduled = true;
    const delayMs = 1 + this.#random.intBelow(10);
    this.#queue.push(this.#nowMs + delayMs, {
      kind: "flush",
      node: node.id,
      incarnation: node.incarnation,
    });
  }

  #flush(id: number, incarnation: number): void {
    const node = this.#node(id);
    if (!node.raft || node.incarnation !== incarnation) return;
    node.flushScheduled = false;
    const durable = node.disk.flush();
    node.raft.onFlushed(durable, this.#nowMs);
    this.#drain(node);
  }

  #sendMessage(message: RaftMessage): void {
    const cut = this.#network.isCut(message.from, message.to);
    if (cut && message.type.endsWith("Request")) {
      this.#maybeSignal(this.#node(message.from), message.to, UNREACHABLE_ON_CUT_RATE);
    }
    for (const delayMs of this.#network.deliveries(message)) {
      this.#queue.push(this.#nowMs + delayMs, { kind: "deliver", message });
    }
  }

  // ---- workload and faults --------------------------------------------------------------------

  #propose(): void {
    const leaders = this.#nodes.filter((n) => n.raft?.role === "leader");
    if (leaders.length > 0 && !this.#healed) {
      const leader = leaders[this.#random.intBelow(leaders.length)]!;
      const payload = `p${++this.#proposals}`;
      leader.raft!.propose([encoder.encode(payload)], this.#nowMs);
      this.#drain(leader);
    }
    if (!this.#healed) {
      this.#queue.push(this.#nowMs + 20 + this.#random.intBelow(200), { kind: "propose" });
    }
  }

  #chaos(): void {
    if (this.#healed) return;
    const choice = this.#random.intBelow(13);
    const ids = this.#nodes.map((n) => n.id);
    switch (choice) {
      case 0:
      case 1: {
        const shuffled = shuffle(ids, this.#random);
        const cutAt = 1 + this.#random.intBelow(shuffled.length - 1);
        this.#network.partition([shuffled.slice(0, cutAt), shuffled.slice(cutAt)]);
        this.#record(`partition ${shuffled.slice(0, cutAt)} | ${shuffled.slice(cutAt)}`);
        break;
      }
      case 2:
      case 3: {
        const leader = this.#nodes.find((n) => n.raft?.role === "leader");
        if (leader) {
          this.#network.partition([[leader.id], ids.filter((id) => id !== leader.id)]);
          this.#record(`isolate leader ${leader.id}`);
        }
        break;
      }
      case 4: {
        const from = ids[this.#random.intBelow(ids.length)]!;
        const to = ids[this.#random.intBelow(ids.length)]!;
        if (from !== to) this.#network.cut(from, to);
        this.#record(`cut ${from} -> ${to}`);
        break;
      }
      case 5:
      case 6:
        this.#network.healAll();
        this.#record("heal links");
        break;
      case 7:
      case 8: {
        const live = this.#nodes.filter((n) => n.raft);
        const victim = live[this.#random.intBelow(live.length)];
        if (victim) {
          this.#crash(victim);
          const downMs = 100 + this.#random.intBelow(3000);
          this.#queue.push(this.#nowMs + downMs, { kind: "restart", node: victim.id });
        }
        break;
      }
      case 12: {
        // A flapping connection: a node sees a live peer (often its leader) as unreachable.
        const live = this.#nodes.filter((n) => n.raft);
        const node = live[this.#random.intBelow(live.length)];
        const leader = this.#nodes.find((n) => n.raft?.role === "leader");
        const peer = leader && this.#random.next() < 0.5
          ? leader.id
          : ids[this.#random.intBelow(ids.length)]!;
        if (node && peer !== node.id) {
          this.#record(`flap ${node.id} -> ${peer}`);
          this.#maybeSignal(node, peer, 1);
        }
        break;
      }
      default: {
        this.#network.faults = {
          dropRate: this.#random.next() * 0.3,
          duplicateRate: this.#random.next() * 0.2,
          delayMinMs: 1,
          delayMaxMs: 5 + this.#random.intBelow(150),
        };
        this.#record(`network ${JSON.stringify(this.#network.faults)}`);
      }
    }
    this.#queue.push(this.#nowMs + 100 + this.#random.intBelow(600), { kind: "chaos" });
  }

  /** KIP-853: the leader adds an observer as a voter or removes a voter (maybe itself). */
  #reconfigure(): void {
    const leader = this.#nodes.find((n) => n.raft?.role === "leader");
    if (!leader) return;
    const raft = leader.raft!;
    const voters = raft.voterDetails;
    const observers = this.#nodes.filter((n) => !raft.voters.has(n.id));
    const add = observers.length > 0 && (voters.length <= 2 || this.#random.next() < 0.5);
    if (add) {
      const joiner = observers[this.#random.intBelow(observers.length)]!;
      const result = raft.addVoter(voterOf(joiner.id), this.#nowMs);
      this.#record(
        `leader ${leader.id} adds voter ${joiner.id}: ${
          result.ok ? "ok" : `${result.error} (${result.message})`
        }`,
      );
      if (result.ok) this.#voterChanges.added++;
    } else if (voters.length > 1) {
      const leaving = voters[this.#random.intBelow(voters.length)]!;
      const result = raft.removeVoter(leaving, this.#nowMs);
      this.#record(
        `leader ${leader.id} removes voter ${leaving.id}: ${result.ok ? "ok" : result.error}`,
      );
      if (result.ok) this.#voterChanges.removed++;
      if (result.ok && leaving.id === leader.id) this.#voterChanges.leaderRemoved++;
    }
    this.#drain(leader);
  }

  #heal(): void {
    this.#healed = true;
    this.#network.healAll();
    this.#network.faults = { ...CALM_NETWORK };
    this.#record("heal everything");
    for (const node of this.#nodes) if (!node.raft) this.#start(node);
  }

  /** After healing: once a leader is ready, commit a marker; done when every voter applied it. */
  #checkProgress(): void {
    const marker = this.#marker;
    if (marker) {
      const current = this.#nodes.find((n) => n.raft?.isLeaderReady)?.raft?.voters;
      const voters = this.#nodes.filter((n) =>
        this.#options.dynamicQuorum ? current?.has(n.id) ?? false : n.bootstrapVoter
      );
      const applied = voters.length > 0 &&
        voters.every((n) => this.#checker.hasApplied(n.id, marker));
      if (applied) this.#done = true;
      if (this.#done) return;
    }
    const leader = this.#nodes.find((n) => n.raft?.isLeaderReady);
    if (!leader || (marker && leader.raft!.epoch <= this.#markerEpoch)) return;
    this.#marker = `marker@${leader.raft!.epoch}`;
    this.#markerEpoch = leader.raft!.epoch;
    leader.raft!.propose([encoder.encode(this.#marker)], this.#nowMs);
    this.#record(`propose ${this.#marker} to leader ${leader.id}`);
    this.#drain(leader);
  }

  // ---- helpers --------------------------------------------------------------------------------

  #node(id: number): SimNode {
    const node = this.#nodes[id - 1];
    if (!node) throw new Error(`No node ${id}`);
    return node;
  }

  /** One line per node: role, epoch, voters as it sees them and its log position. */
  #describeNodes(): string {
    return this.#nodes.map((n) => {
      const r = n.raft;
      if (!r) return `node ${n.id}: down`;
      return `node ${n.id}: ${r.role} epoch ${r.epoch} leader ${r.leaderId} voters [${[
        ...r.voters,
      ]}] end ${r.endOffset}@${r.lastEpoch} hw ${r.highWatermark}`;
    }).join("\n");
  }

  #record(what: string | RaftMessage): void {
    this.#trace.push({ atMs: this.#nowMs, what });
    if (this.#trace.length > this.#options.traceLength) this.#trace.shift();
  }

  #result(): SimResult {
    return {
      seed: this.#options.seed,
      ok: true,
      trace: this.#trace.map(({ atMs, what }) =>
        `t=${atMs} ${typeof what === "string" ? what : `deliver ${describe(what)}`}`
      ),
      simulatedMs: this.#nowMs,
      events: this.#events,
      committed: this.#checker.committedCount,
      elections: this.#elections,
      snapshotsWritten: this.#snapshotsWritten,
      snapshotsInstalled: this.#snapshotsInstalled,
      failoverMs: this.#failoverMs,
      voterChanges: { ...this.#voterChanges },
    };
  }
}

function describe(message: RaftMessage): string {
  const { type, from, to, ...rest } = message;
  const fields = Object.entries(rest).map(([key, value]) => {
    if (key === "records" && Array.isArray(value)) return `records=${value.length}`;
    return `${key}=${JSON.stringify(value)}`;
  });
  return `${from}->${to} ${type} ${fields.join(" ")}`;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

function shuffle<T>(items: readonly T[], random: SeededRandom): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.intBelow(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
