/**
 * A deterministic simulation of partition replication (Kafka's model, not raft): brokers with
 * logs that lose unsynced writes on a crash, the pure leader state of `core/replication`
 * (follower log ends, high watermark, ISR shrink/expand, acks=all), the pure follower decisions
 * (append, truncate on diverging epochs), and the real controller of `core/metadata` (broker
 * registration, heartbeats and fencing after the session timeout, AlterPartition, leader election
 * from the ISR), all driven by one seeded clock and network with delays, losses and cut links.
 * Producers send acks=all records to whoever they think leads, under crashes and restarts.
 *
 * With `elr`, the controller runs with `eligible.leader.replicas.version` 1 (KIP-966): brokers
 * also stop cleanly (log synced, their broker epoch kept for the next registration's
 * PreviousBrokerEpoch), replicas leaving an ISR below min ISR stay eligible, and an empty ISR
 * elects from the ELR. Leaders hold their high watermark while the ISR is below min ISR (strict
 * min ISR, as Kafka 3.7+), with or without ELR.
 *
 * Invariants, checked at every step:
 * - no two different records are ever committed (below some leader's high watermark) at one offset;
 * - every acknowledged record is committed, at the offset it was acknowledged with;
 * - a broker becoming leader holds every committed record (with unclean election off);
 * - every eligible leader replica (ELR) holds every committed record;
 * - a leader's high watermark never decreases within its epoch; at most one leader per epoch.
 * After the faults heal, the partition must have a leader, commit new records, and every replica in
 * the ISR must hold the committed log.
 *
 * One seed, one trace: a failure reports the seed and the last events.
 *
 * @module
 */

import { SeededRandom } from "../../core/random.ts";
import { LeaderState } from "../../core/replication/leader_state.ts";
import {
  followerAction,
  followerHighWatermark,
  type FollowerLogView,
} from "../../core/replication/follower.ts";
import { alterPartition, brokerHeartbeat, tick } from "../../core/metadata/broker_control.ts";
import { brokerRegistration } from "../../core/metadata/broker_control.ts";
import {
  incarnation,
  TEST_CLUSTER_ID,
  TestCluster,
  testConfig,
} from "../../core/metadata/testing.ts";
import type { MetadataImage, PartitionRegistration } from "../../core/metadata/image.ts";
import { createBrokerHeartbeatRequest } from "../../net/protocol/generated/broker_heartbeat_request.ts";
import {
  createAlterPartitionRequest,
  createBrokerState,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/alter_partition_request.ts";
import type { AlterPartitionResponse } from "../../net/protocol/generated/alter_partition_response.ts";
import {
  createBrokerRegistrationRequest,
  createFeature,
  createListener,
} from "../../net/protocol/generated/broker_registration_request.ts";
import {
  ELR_VERSION_FEATURE,
  makeRecord,
  METADATA_VERSION_FEATURE,
  MetadataVersion,
  RecordType,
} from "../../core/metadata/records.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import { EventQueue } from "./event_queue.ts";

/** The shape of one run. */
export interface ReplicationSimOptions {
  seed: number;
  brokers: number;
  minInsyncReplicas: number;
  /** Simulated time with faults. */
  chaosMs: number;
  /** Simulated time after healing in which the partition must recover and commit. */
  healMs: number;
  tickMs: number;
  sessionTimeoutMs: number;
  replicaLagTimeMaxMs: number;
  /** Probability that a message is lost. */
  dropRate: number;
  traceLength: number;
  /** KIP-966: run with `eligible.leader.replicas.version` 1 and clean stops among the faults. */
  elr?: boolean;
  /**
   * Instead of random faults, KIP-966's case on a loss-free network: a follower stops, then the
   * other follower (the ISR falls below min ISR), then the leader dies with kill -9, and only
   * the second follower comes back (cleanly) before the leader does.
   */
  lastIsrMemberDies?: boolean;
}

/** Defaults: 3 brokers, RF 3, min ISR 2, 15 s of chaos. */
export const DEFAULT_REPLICATION_SIM: Readonly<Omit<ReplicationSimOptions, "seed">> = Object
  .freeze({
    brokers: 3,
    minInsyncReplicas: 2,
    chaosMs: 15_000,
    healMs: 15_000,
    tickMs: 50,
    sessionTimeoutMs: 1_500,
    replicaLagTimeMaxMs: 1_000,
    dropRate: 0.02,
    traceLength: 60,
  });

/** What a run found. */
export interface ReplicationSimResult {
  ok: boolean;
  seed: number;
  error?: string;
  trace: string[];
  /** Records acknowledged to producers. */
  acked: number;
  /** Records committed (the largest high watermark reached). */
  committed: number;
  /** Leader elections seen. */
  elections: number;
  /** Leaders the controller chose from the ELR (the ISR being empty). */
  elrElections: number;
  /** Unclean elections (a leader made RECOVERING, e.g. the last known leader under ELR). */
  uncleanElections: number;
}

interface Entry {
  readonly epoch: number;
  readonly value: string;
}

/** A partition log that keeps only its synced prefix across a crash. */
class SimLog {
  entries: Entry[] = [];
  /** (epoch, start offset), increasing in both (Kafka's leader-epoch-checkpoint). */
  epochs: { epoch: number; start: number }[] = [];
  durable = 0;

  get end(): number {
    return this.entries.length;
  }

  latestEpoch(): number {
    return this.epochs.at(-1)?.epoch ?? -1;
  }

  #assign(epoch: number, start: number): void {
    const latest = this.epochs.at(-1);
    if (latest !== undefined && epoch <= latest.epoch) return;
    this.epochs = this.epochs.filter((e) => e.start < start);
    this.epochs.push({ epoch, start });
  }

  assignEpochStart(epoch: number): void {
    this.#assign(epoch, this.end);
  }

  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.#assign(e.epoch, this.end);
      this.entries.push(e);
    }
  }

  truncateTo(offset: number): void {
    // Epochs starting at or past the target go even when no record does (Kafka's truncateTo).
    this.epochs = this.epochs.filter((e) => e.start < Math.min(offset, this.end));
    if (offset >= this.end) return;
    this.entries.length = offset;
    this.durable = Math.min(this.durable, offset);
    this.epochs = this.epochs.filter((e) => e.start < offset || e.start === 0 && offset === 0);
    if (offset === 0) this.epochs = [];
  }

  crash(): void {
    this.truncateTo(this.durable);
  }

  /** Same answers as Kafka's `LeaderEpochFileCache.endOffsetFor` (and storage's cache). */
  endOffsetForEpoch(requested: number): { epoch: number; endOffset: number } {
    if (requested === -1) return { epoch: -1, endOffset: -1 };
    if (this.latestEpoch() === requested) return { epoch: requested, endOffset: this.end };
    const higher = this.epochs.find((e) => e.epoch > requested);
    if (higher === undefined) return { epoch: -1, endOffset: -1 };
    const floor = this.epochs.findLast((e) => e.epoch <= requested);
    return { epoch: floor?.epoch ?? requested, endOffset: higher.start };
  }

  view(): FollowerLogView {
    return {
      logStartOffset: 0,
      logEndOffset: this.end,
      endOffsetForEpoch: (e) => this.endOffsetForEpoch(e),
      latestEpoch: () => this.latestEpoch(),
    };
  }
}

interface AckWaiter {
  offset: number;
  value: string;
  sentMs: number;
}

interface SimBroker {
  readonly id: number;
  alive: boolean;
  /** Bumped by every crash: messages to an earlier incarnation are dropped. */
  generation: number;
  log: SimLog;
  /** The metadata this broker applied (null after a restart until it registered again). */
  image: MetadataImage | null;
  imageOffset: number;
  registered: boolean;
  leader: LeaderState | null;
  highWatermark: number;
  waiters: AckWaiter[];
  fetching: boolean;
  /** Id of the outstanding fetch: a timeout or an answer of an older one is ignored. */
  fetchSeq: number;
  alterInFlight: boolean;
  alterSeq: number;
  syncScheduled: boolean;
  restartAtMs: number;
  /** The broker epoch its last clean stop ended, for PreviousBrokerEpoch; -1 after a crash. */
  cleanStopEpoch: bigint;
}

type Event =
  | { kind: "tick" }
  | { kind: "image"; to: number; generation: number; image: MetadataImage; offset: number }
  | { kind: "sync"; broker: number; generation: number }
  | { kind: "fetchRetry"; broker: number; generation: number; seq: number }
  | {
    kind: "fetch";
    from: number;
    to: number;
    generation: number;
    seq: number;
    fetchOffset: number;
    lastFetchedEpoch: number;
    leaderEpoch: number;
  }
  | {
    kind: "fetchResponse";
    to: number;
    generation: number;
    seq: number;
    from: number;
    fetchOffset: number;
    leaderEpoch: number;
    errorCode: number;
    highWatermark: number;
    diverging: { epoch: number; endOffset: number } | null;
    entries: Entry[];
  }
  | { kind: "followerSynced"; broker: number; generation: number; leaderHighWatermark: number }
  | {
    kind: "alter";
    from: number;
    generation: number;
    seq: number;
    isr: number[];
    leaderEpoch: number;
    partitionEpoch: number;
  }
  | {
    kind: "alterResponse";
    to: number;
    generation: number;
    seq: number;
    response: AlterPartitionResponse;
  }
  | { kind: "alterTimeout"; broker: number; generation: number; seq: number }
  | { kind: "produce"; to: number; generation: number; value: string }
  | { kind: "produceResponse"; value: string; offset: number; errorCode: number };

const TOPIC = "t";
const FETCH_ENTRIES_MAX = 20;
const ACK_TIMEOUT_MS = 3_000;

class ReplicationSim {
  readonly o: ReplicationSimOptions;
  readonly random: SeededRandom;
  readonly queue = new EventQueue<Event>();
  readonly controller: TestCluster;
  readonly brokers = new Map<number, SimBroker>();
  readonly trace: string[] = [];
  nowMs = 0;
  healed = false;
  /** Links cut in both directions, as "a-b" with a < b; 0 is the controller. */
  cut = new Set<string>();
  committed: Entry[] = [];
  acked = 0;
  elections = 0;
  elrElections = 0;
  uncleanElections = 0;
  leaderOfEpoch = new Map<number, number>();
  nextValue = 0;
  topicId = "";

  constructor(options: ReplicationSimOptions) {
    this.o = options;
    this.random = new SeededRandom(options.seed);
    this.controller = new TestCluster({
      seed: options.seed,
      config: testConfig({ brokerSessionTimeoutMs: options.sessionTimeoutMs }),
    });
    const ids = Array.from({ length: options.brokers }, (_, i) => i + 1);
    this.controller.nowMs = 0;
    if (options.elr === true) {
      this.controller.commit([makeRecord(
        RecordType.FEATURE_LEVEL,
        0,
        createFeatureLevelRecord({ name: ELR_VERSION_FEATURE, featureLevel: 1 }),
      )]);
    }
    this.controller.addBrokers(ids);
    this.controller.createTopic(TOPIC, [ids], {
      "min.insync.replicas": String(options.minInsyncReplicas),
    });
    this.topicId = this.controller.image.topics.byName.get(TOPIC)!.id;
    for (const id of ids) {
      this.brokers.set(id, {
        id,
        alive: true,
        generation: 0,
        log: new SimLog(),
        image: null,
        imageOffset: -1,
        registered: true,
        leader: null,
        highWatermark: 0,
        waiters: [],
        fetching: false,
        fetchSeq: 0,
        alterInFlight: false,
        alterSeq: 0,
        syncScheduled: false,
        restartAtMs: 0,
        cleanStopEpoch: -1n,
      });
    }
  }

  note(line: string): void {
    this.trace.push(`${this.nowMs}ms ${line}`);
    if (this.trace.length > this.o.traceLength) this.trace.shift();
  }

  fail(message: string): never {
    throw new Error(message);
  }

  linkUp(a: number, b: number): boolean {
    return !this.cut.has(a < b ? `${a}-${b}` : `${b}-${a}`);
  }

  /** Sends `event` over the link a->b: maybe lost, else delayed 1-15 ms. */
  send(a: number, b: number, event: Event): void {
    if (!this.linkUp(a, b)) return;
    if (!this.healed && this.random.next() < this.o.dropRate) return;
    this.queue.push(this.nowMs + 1 + this.random.intBelow(15), event);
  }

  reg(image: MetadataImage | null): PartitionRegistration | undefined {
    return image?.topics.byName.get(TOPIC)?.partitions.get(0);
  }

  // ------------------------------------------------------------------ controller side

  runController<R>(result: { records: unknown[]; response: R }): R {
    this.controller.nowMs = this.nowMs;
    const before = this.reg(this.controller.image);
    const response = this.controller.run(result as never) as R;
    this.observeController(before);
    return response;
  }

  /** Counts how the controller moved leadership and checks that every ELR member is safe. */
  observeController(before: PartitionRegistration | undefined): void {
    const after = this.reg(this.controller.image);
    if (before === undefined || after === undefined || before === after) return;
    if (after.leader >= 0 && after.leader !== before.leader) {
      // From the ELR: not in the ISR it had, possibly emptied by the same record.
      if (
        !before.isr.includes(after.leader) &&
        before.eligibleLeaderReplicas.includes(after.leader)
      ) {
        this.elrElections++;
        this.note(
          `controller elects ${after.leader} from the ELR [${before.eligibleLeaderReplicas}]`,
        );
      }
      if (after.leaderRecoveryState === 1 && before.leaderRecoveryState !== 1) {
        this.uncleanElections++;
        this.note(`controller elects ${after.leader} uncleanly (RECOVERING)`);
      }
    }
    if (!sameList(after.eligibleLeaderReplicas, before.eligibleLeaderReplicas)) {
      this.note(
        `ISR [${after.isr}], ELR [${after.eligibleLeaderReplicas}], leader ${after.leader}`,
      );
    }
    // KIP-966: an eligible leader replica must hold every committed record.
    for (const id of after.eligibleLeaderReplicas) {
      const log = this.brokers.get(id)!.log;
      for (let o = 0; o < this.committed.length; o++) {
        const mine = log.entries[o];
        if (mine?.value !== this.committed[o]!.value) {
          this.fail(`ELR member ${id} lacks committed offset ${o} (${this.committed[o]!.value})`);
        }
      }
    }
  }

  ctx() {
    this.controller.nowMs = this.nowMs;
    return this.controller.ctx();
  }

  heartbeat(b: SimBroker): void {
    const registration = this.controller.image.cluster.brokers.get(b.id);
    if (registration === undefined) return;
    this.runController(brokerHeartbeat(
      this.controller.image,
      createBrokerHeartbeatRequest({
        brokerId: b.id,
        brokerEpoch: BigInt(registration.epoch),
        currentMetadataOffset: BigInt(b.imageOffset),
      }),
      this.ctx(),
    ));
  }

  register(b: SimBroker): void {
    const response = this.runController(brokerRegistration(
      this.controller.image,
      createBrokerRegistrationRequest({
        brokerId: b.id,
        clusterId: TEST_CLUSTER_ID,
        incarnationId: incarnation(b.id, b.generation),
        previousBrokerEpoch: b.cleanStopEpoch,
        listeners: [createListener({ name: "PLAINTEXT", host: "localhost", port: 9092 + b.id })],
        features: [createFeature({
          name: METADATA_VERSION_FEATURE,
          minSupportedVersion: 1,
          maxSupportedVersion: MetadataVersion.IBP_3_9_IV0,
        })],
      }),
      this.ctx(),
    ));
    if (response.errorCode === 0) {
      b.registered = true;
      b.cleanStopEpoch = -1n;
      this.note(`broker ${b.id} registered (epoch ${response.brokerEpoch})`);
    }
  }

  // ------------------------------------------------------------------ broker side

  applyImage(b: SimBroker, image: MetadataImage, offset: number): void {
    if (offset <= b.imageOffset) return;
    b.image = image;
    b.imageOffset = offset;
    const reg = this.reg(image);
    if (reg === undefined) return;
    if (reg.leader === b.id) {
      if (b.leader === null || b.leader.leaderEpoch !== reg.leaderEpoch) this.becomeLeader(b, reg);
      else {
        b.leader.updateRegistration(reg, this.nowMs);
        this.leaderProgress(b);
      }
    } else if (b.leader !== null) {
      this.note(`broker ${b.id} stops leading epoch ${b.leader.leaderEpoch}`);
      b.leader = null;
      b.waiters = [];
    }
    this.maybeFetch(b);
  }

  becomeLeader(b: SimBroker, reg: PartitionRegistration): void {
    const other = this.leaderOfEpoch.get(reg.leaderEpoch);
    if (other !== undefined && other !== b.id) {
      this.fail(`brokers ${other} and ${b.id} both lead epoch ${reg.leaderEpoch}`);
    }
    this.leaderOfEpoch.set(reg.leaderEpoch, b.id);
    this.elections++;
    // Unclean election is off: a new leader must hold every committed record.
    for (let o = 0; o < this.committed.length; o++) {
      const mine = b.log.entries[o];
      const c = this.committed[o]!;
      if (mine === undefined || mine.value !== c.value || mine.epoch !== c.epoch) {
        this.fail(
          `broker ${b.id} becomes leader of epoch ${reg.leaderEpoch} without committed offset ${o} (${c.value})`,
        );
      }
    }
    b.log.assignEpochStart(reg.leaderEpoch);
    b.waiters = [];
    b.leader = new LeaderState({
      localId: b.id,
      replicas: reg.replicas,
      isr: reg.isr,
      leaderEpoch: reg.leaderEpoch,
      partitionEpoch: reg.partitionEpoch,
      highWatermark: Math.min(b.highWatermark, b.log.end),
      leaderEpochStartOffset: b.log.end,
      nowMs: this.nowMs,
      minInsyncReplicas: this.o.minInsyncReplicas,
    });
    b.highWatermark = b.leader.highWatermark;
    this.note(`broker ${b.id} leads epoch ${reg.leaderEpoch}, ISR [${reg.isr}], end ${b.log.end}`);
    this.leaderProgress(b);
  }

  /** The leader's durable end or a follower's log end moved: HW, commits, acks, ISR. */
  leaderProgress(b: SimBroker): void {
    const leader = b.leader;
    if (leader === null) return;
    // What this broker exposed last: follower fetches may have moved the leader state since.
    const before = b.highWatermark;
    leader.updateLocalEnd(b.log.durable);
    const hw = leader.highWatermark;
    if (hw < before) this.fail(`broker ${b.id} lowered its high watermark ${before} -> ${hw}`);
    for (let o = before; o < hw; o++) this.commit(b, o);
    b.highWatermark = hw;
    const waiting: AckWaiter[] = [];
    for (const w of b.waiters) {
      const outcome = leader.ackOutcome(w.offset + 1, this.o.minInsyncReplicas);
      if (!outcome.done) {
        if (this.nowMs - w.sentMs < ACK_TIMEOUT_MS) waiting.push(w);
        continue;
      }
      this.send(b.id, -1, {
        kind: "produceResponse",
        value: w.value,
        offset: w.offset,
        errorCode: outcome.errorCode,
      });
    }
    b.waiters = waiting;
    this.maybeAlter(b);
  }

  commit(b: SimBroker, offset: number): void {
    const entry = b.log.entries[offset];
    if (entry === undefined) {
      this.fail(`broker ${b.id} committed offset ${offset} it does not hold`);
    }
    const known = this.committed[offset];
    if (known !== undefined) {
      if (known.value !== entry.value || known.epoch !== entry.epoch) {
        this.fail(
          `offset ${offset} committed twice: ${known.value}@${known.epoch} then ${entry.value}@${entry.epoch} (broker ${b.id})`,
        );
      }
      return;
    }
    if (offset !== this.committed.length) this.fail(`commit gap at ${offset}`);
    this.committed.push(entry);
  }

  maybeAlter(b: SimBroker): void {
    const leader = b.leader;
    if (leader === null || b.alterInFlight) return;
    const image = b.image;
    const isr = leader.isrChange(this.nowMs, this.o.replicaLagTimeMaxMs, (id) => {
      const r = image?.cluster.brokers.get(id);
      return r !== undefined && !r.fenced && !r.inControlledShutdown;
    });
    if (isr === null) return;
    leader.proposeIsr(isr);
    b.alterInFlight = true;
    const seq = ++b.alterSeq;
    // The channel to the controller gives up after a while (a lost request or answer).
    this.queue.push(this.nowMs + 500, {
      kind: "alterTimeout",
      broker: b.id,
      generation: b.generation,
      seq,
    });
    this.note(`broker ${b.id} proposes ISR [${isr}]`);
    this.send(b.id, 0, {
      kind: "alter",
      from: b.id,
      generation: b.generation,
      seq,
      isr,
      leaderEpoch: leader.leaderEpoch,
      partitionEpoch: leader.partitionEpoch,
    });
  }

  maybeFetch(b: SimBroker): void {
    const reg = this.reg(b.image);
    if (!b.alive || b.fetching || reg === undefined || reg.leader < 0 || reg.leader === b.id) {
      return;
    }
    if (!reg.replicas.includes(b.id)) return;
    if (b.log.durable < b.log.end) return; // the fetch offset reports only synced records
    b.fetching = true;
    const seq = ++b.fetchSeq;
    this.send(b.id, reg.leader, {
      kind: "fetch",
      from: b.id,
      to: reg.leader,
      generation: b.generation,
      seq,
      fetchOffset: b.log.end,
      lastFetchedEpoch: b.log.latestEpoch(),
      leaderEpoch: reg.leaderEpoch,
    });
    // A lost request or answer must not stall the follower forever (a request timeout).
    this.retryFetch(b, 200);
  }

  retryFetch(b: SimBroker, afterMs: number): void {
    this.queue.push(this.nowMs + afterMs, {
      kind: "fetchRetry",
      broker: b.id,
      generation: b.generation,
      seq: b.fetchSeq,
    });
  }

  onFetch(e: Extract<Event, { kind: "fetch" }>): void {
    const b = this.brokers.get(e.to)!;
    const answer = (partial: Partial<Extract<Event, { kind: "fetchResponse" }>>) =>
      this.send(b.id, e.from, {
        kind: "fetchResponse",
        to: e.from,
        generation: e.generation,
        seq: e.seq,
        from: b.id,
        fetchOffset: e.fetchOffset,
        leaderEpoch: e.leaderEpoch,
        errorCode: 0,
        highWatermark: -1,
        diverging: null,
        entries: [],
        ...partial,
      });
    const leader = b.leader;
    if (!b.alive || leader === null) return answer({ errorCode: 6 }); // NOT_LEADER_OR_FOLLOWER
    if (e.leaderEpoch < leader.leaderEpoch) return answer({ errorCode: 74 }); // FENCED_LEADER_EPOCH
    if (e.leaderEpoch > leader.leaderEpoch) return answer({ errorCode: 73 }); // UNKNOWN_LEADER_EPOCH
    if (!leader.followers.has(e.from)) return answer({ errorCode: 6 });
    if (e.lastFetchedEpoch >= 0) {
      const end = b.log.endOffsetForEpoch(e.lastFetchedEpoch);
      if (end.epoch < e.lastFetchedEpoch || end.endOffset < e.fetchOffset) {
        return answer({ highWatermark: leader.highWatermark, diverging: end });
      }
    }
    if (e.fetchOffset > b.log.end) {
      return answer({ errorCode: 1, highWatermark: leader.highWatermark }); // OFFSET_OUT_OF_RANGE
    }
    leader.updateFollower(e.from, {
      fetchOffset: e.fetchOffset,
      nowMs: this.nowMs,
      leaderEndOffset: b.log.end,
      brokerEpoch: -1n,
    });
    this.leaderProgress(b);
    answer({
      highWatermark: leader.highWatermark,
      entries: b.log.entries.slice(e.fetchOffset, e.fetchOffset + FETCH_ENTRIES_MAX),
    });
  }

  onFetchResponse(e: Extract<Event, { kind: "fetchResponse" }>): void {
    const b = this.brokers.get(e.to)!;
    if (!b.alive || b.generation !== e.generation || e.seq !== b.fetchSeq || !b.fetching) return;
    b.fetching = false;
    const reg = this.reg(b.image);
    if (
      reg === undefined || reg.leader !== e.from || reg.leaderEpoch !== e.leaderEpoch ||
      b.log.end !== e.fetchOffset
    ) {
      return this.maybeFetch(b);
    }
    const action = followerAction(b.log.view(), {
      errorCode: e.errorCode,
      highWatermark: e.highWatermark,
      logStartOffset: 0,
      divergingEpoch: e.diverging,
      recordsBytes: e.entries.length,
    }, e.fetchOffset);
    switch (action.kind) {
      case "append":
        b.log.append(e.entries);
        b.fetching = true; // until synced: the next fetch offset must be durable
        this.queue.push(this.nowMs + 1 + this.random.intBelow(8), {
          kind: "followerSynced",
          broker: b.id,
          generation: b.generation,
          leaderHighWatermark: action.highWatermark,
        });
        return;
      case "idle":
        b.highWatermark = followerHighWatermark(action.highWatermark, b.log.end, b.highWatermark);
        // The leader's long poll: an empty answer comes back after a while.
        b.fetching = true;
        this.retryFetch(b, 10);
        return;
      case "truncate":
        this.note(`broker ${b.id} truncates ${b.log.end} -> ${action.offset}`);
        for (let o = action.offset; o < Math.min(b.log.end, this.committed.length); o++) {
          const mine = b.log.entries[o]!;
          const c = this.committed[o]!;
          if (mine.value === c.value && mine.epoch === c.epoch) {
            this.fail(`broker ${b.id} truncates committed offset ${o} (${c.value})`);
          }
        }
        b.log.truncateTo(action.offset);
        b.highWatermark = Math.min(b.highWatermark, b.log.end);
        return this.maybeFetch(b);
      case "restartAt":
        this.fail(`broker ${b.id} was told to restart at ${action.offset} with no retention`);
        break;
      case "error":
        this.note(`broker ${b.id} fetch from ${e.from} failed: ${action.errorCode}`);
        b.fetching = true;
        this.retryFetch(b, 50);
        return;
    }
  }

  onProduce(e: Extract<Event, { kind: "produce" }>): void {
    const b = this.brokers.get(e.to)!;
    const reply = (errorCode: number, offset = -1) =>
      this.send(b.id, -1, { kind: "produceResponse", value: e.value, offset, errorCode });
    if (!b.alive || b.generation !== e.generation || b.leader === null) return reply(6);
    const minIsr = b.leader.checkMinIsr(this.o.minInsyncReplicas);
    if (minIsr !== 0) return reply(minIsr);
    const offset = b.log.end;
    b.log.append([{ epoch: b.leader.leaderEpoch, value: e.value }]);
    b.waiters.push({ offset, value: e.value, sentMs: this.nowMs });
    this.scheduleSync(b);
    // Followers long-poll on the log end: answer them sooner by refetch ticks.
  }

  scheduleSync(b: SimBroker): void {
    if (b.syncScheduled) return;
    b.syncScheduled = true;
    this.queue.push(this.nowMs + 1 + this.random.intBelow(10), {
      kind: "sync",
      broker: b.id,
      generation: b.generation,
    });
  }

  onProduceResponse(e: Extract<Event, { kind: "produceResponse" }>): void {
    if (e.errorCode !== 0) return;
    const c = this.committed[e.offset];
    if (c === undefined || c.value !== e.value) {
      this.fail(`${e.value} acknowledged at offset ${e.offset} but committed there: ${c?.value}`);
    }
    this.acked++;
  }

  // ------------------------------------------------------------------ the loop

  /** A clean stop: the log is synced first and the broker epoch kept for PreviousBrokerEpoch. */
  stop(b: SimBroker): void {
    b.log.durable = b.log.end;
    const registration = this.controller.image.cluster.brokers.get(b.id);
    this.crash(b);
    b.cleanStopEpoch = BigInt(registration?.epoch ?? -1);
    this.note(`broker ${b.id} stopped cleanly (epoch ${b.cleanStopEpoch})`);
  }

  crash(b: SimBroker): void {
    b.alive = false;
    b.generation++;
    b.cleanStopEpoch = -1n;
    b.log.crash();
    b.leader = null;
    b.waiters = [];
    b.image = null;
    b.imageOffset = -1;
    b.registered = false;
    b.fetching = false;
    b.alterInFlight = false;
    b.syncScheduled = false;
    b.highWatermark = 0;
    b.restartAtMs = this.nowMs + 200 + this.random.intBelow(3_000);
    this.note(`broker ${b.id} crashes (log end ${b.log.end})`);
  }

  onTick(): void {
    if (!this.healed) this.chaos();
    // Controller: fence brokers whose sessions expired.
    this.controller.nowMs = this.nowMs;
    const fenced = tick(this.controller.image, this.ctx());
    this.controller.sessions = fenced.sessions;
    const before = this.reg(this.controller.image);
    this.controller.commit(fenced.records);
    this.observeController(before);
    for (const b of this.brokers.values()) {
      if (!b.alive) {
        if (this.o.lastIsrMemberDies === true) {
          if (this.nowMs >= b.restartAtMs) {
            b.alive = true;
            this.note(`broker ${b.id} restarts`);
          }
          continue;
        }
        if (this.nowMs >= b.restartAtMs && (this.healed || this.random.next() < 0.5)) {
          b.alive = true;
          this.note(`broker ${b.id} restarts`);
        }
        continue;
      }
      if (!this.linkUp(b.id, 0)) continue;
      if (!b.registered) {
        this.register(b);
        continue;
      }
      if (this.healed || this.random.next() > this.o.dropRate) this.heartbeat(b);
      this.queue.push(this.nowMs + this.random.intBelow(20), {
        kind: "image",
        to: b.id,
        generation: b.generation,
        image: this.controller.image,
        offset: this.controller.nextOffset,
      });
      if (b.leader !== null) this.leaderProgress(b);
    }
    // Producers: a few records to whoever the latest image names leader.
    const leaderId = this.reg(this.controller.image)?.leader ?? -1;
    const count = this.random.intBelow(4);
    for (let i = 0; i < count && leaderId >= 0; i++) {
      const target = this.brokers.get(leaderId)!;
      const value = `v${this.nextValue++}`;
      this.send(-1, leaderId, {
        kind: "produce",
        to: leaderId,
        generation: target.generation,
        value,
      });
    }
    this.queue.push(this.nowMs + this.o.tickMs, { kind: "tick" });
  }

  chaos(): void {
    if (this.o.lastIsrMemberDies === true) return this.lastIsrMemberDies();
    const r = this.random.next();
    const alive = [...this.brokers.values()].filter((b) => b.alive);
    if (r < 0.01 && alive.length > 1) {
      const victim = alive[this.random.intBelow(alive.length)]!;
      // With ELR, a third of the stops are clean: those brokers come back still eligible.
      if (this.o.elr === true && this.random.next() < 0.33) this.stop(victim);
      else this.crash(victim);
    } else if (r < 0.015) {
      const a = this.random.intBelow(this.o.brokers + 1);
      const bId = 1 + this.random.intBelow(this.o.brokers);
      if (a !== bId) {
        this.cut.add(a < bId ? `${a}-${bId}` : `${bId}-${a}`);
        this.note(`link ${a}-${bId} cut`);
      }
    } else if (r < 0.03 && this.cut.size > 0) {
      this.cut.clear();
      this.note("links healed");
    }
  }

  /**
   * KIP-966's case, scripted: at 2 s one follower stops cleanly (ISR still at min ISR 2), at 4 s
   * the other (ISR [leader], below min ISR: the high watermark stops), at 6 s the leader dies by
   * kill -9; the second follower comes back at 7 s, the leader only at 12 s.
   */
  lastIsrMemberDies(): void {
    const reg = this.reg(this.controller.image);
    if (reg === undefined || this.script.length === 0) return;
    const [atMs, action] = this.script[0]!;
    if (this.nowMs < atMs) return;
    this.script.shift();
    action(reg);
  }

  script: [number, (reg: PartitionRegistration) => void][] = [
    [2_000, (reg) => {
      this.firstOut = reg.isr.find((id) => id !== reg.leader) ?? -1;
      this.stopFor(this.firstOut, 60_000, true);
    }],
    [4_000, (reg) => {
      this.secondOut = reg.isr.find((id) => id !== reg.leader) ?? -1;
      this.stopFor(this.secondOut, 3_000, true);
    }],
    [6_000, (reg) => {
      this.lastOut = reg.leader;
      this.stopFor(this.lastOut, 6_000, false);
    }],
  ];
  firstOut = -1;
  secondOut = -1;
  lastOut = -1;

  stopFor(id: number, downMs: number, clean: boolean): void {
    const b = this.brokers.get(id);
    if (b === undefined || !b.alive) this.fail(`scripted stop of broker ${id}, which is not up`);
    if (clean) this.stop(b);
    else this.crash(b);
    b.restartAtMs = this.nowMs + downMs;
  }

  handle(event: Event): void {
    switch (event.kind) {
      case "tick":
        return this.onTick();
      case "image": {
        const b = this.brokers.get(event.to)!;
        if (b.alive && b.generation === event.generation && b.registered) {
          this.applyImage(b, event.image, event.offset);
        }
        return;
      }
      case "fetchRetry": {
        // A fetch timed out, or a backoff / long poll ended.
        const b = this.brokers.get(event.broker)!;
        if (!b.alive || b.generation !== event.generation || b.fetchSeq !== event.seq) return;
        if (!b.fetching) return;
        b.fetching = false;
        return this.maybeFetch(b);
      }
      case "sync": {
        const b = this.brokers.get(event.broker)!;
        if (!b.alive || b.generation !== event.generation) return;
        b.syncScheduled = false;
        b.log.durable = b.log.end;
        this.leaderProgress(b);
        return;
      }
      case "fetch":
        return this.onFetch(event);
      case "fetchResponse":
        return this.onFetchResponse(event);
      case "followerSynced": {
        const b = this.brokers.get(event.broker)!;
        if (!b.alive || b.generation !== event.generation) return;
        b.log.durable = b.log.end;
        b.fetching = false;
        // Leadership may have come here while the append synced: then the leader state rules.
        if (b.leader !== null) return this.leaderProgress(b);
        b.highWatermark = followerHighWatermark(
          event.leaderHighWatermark,
          b.log.end,
          b.highWatermark,
        );
        b.fetching = false;
        return this.maybeFetch(b);
      }
      case "alter":
        return this.onAlter(event);
      case "alterResponse": {
        const b = this.brokers.get(event.to)!;
        if (!b.alive || b.generation !== event.generation || event.seq !== b.alterSeq) return;
        if (!b.alterInFlight) return;
        b.alterInFlight = false;
        const leader = b.leader;
        if (leader === null) return;
        const pd = event.response.topics[0]?.partitions[0];
        const ok = event.response.errorCode === 0 && pd !== undefined && pd.errorCode === 0 &&
          pd.leaderEpoch === leader.leaderEpoch;
        if (!ok) {
          this.note(
            `broker ${b.id} AlterPartition refused: ${event.response.errorCode}/${pd?.errorCode}`,
          );
        }
        leader.completeIsrChange(ok ? { isr: pd!.isr, partitionEpoch: pd!.partitionEpoch } : null);
        this.leaderProgress(b);
        return;
      }
      case "alterTimeout": {
        const b = this.brokers.get(event.broker)!;
        if (!b.alive || b.generation !== event.generation || event.seq !== b.alterSeq) return;
        if (!b.alterInFlight) return;
        b.alterInFlight = false;
        b.leader?.completeIsrChange(null);
        return;
      }
      case "produce":
        return this.onProduce(event);
      case "produceResponse":
        return this.onProduceResponse(event);
    }
  }

  onAlter(e: Extract<Event, { kind: "alter" }>): void {
    const b = this.brokers.get(e.from)!;
    const registration = this.controller.image.cluster.brokers.get(e.from);
    const response = this.runController(alterPartition(
      this.controller.image,
      createAlterPartitionRequest({
        brokerId: e.from,
        brokerEpoch: BigInt(registration?.epoch ?? -1),
        topics: [createTopicData({
          topicId: this.topicId,
          partitions: [createPartitionData({
            partitionIndex: 0,
            leaderEpoch: e.leaderEpoch,
            partitionEpoch: e.partitionEpoch,
            newIsrWithEpochs: e.isr.map((brokerId) => createBrokerState({ brokerId })),
          })],
        })],
      }),
      { ...this.ctx(), apiVersion: 3 },
    ));
    if (b.generation === e.generation) {
      this.send(0, e.from, {
        kind: "alterResponse",
        to: e.from,
        generation: e.generation,
        seq: e.seq,
        response,
      });
    }
  }

  run(): ReplicationSimResult {
    this.queue.push(0, { kind: "tick" });
    const endMs = this.o.chaosMs + this.o.healMs;
    let committedAtHeal = 0;
    try {
      // Bounded: simulated time only moves forward and ends at endMs.
      for (let steps = 0; steps < 5_000_000; steps++) {
        const next = this.queue.pop();
        if (next === undefined || next.atMs > endMs) break;
        this.nowMs = next.atMs;
        if (!this.healed && this.nowMs >= this.o.chaosMs) {
          this.healed = true;
          this.cut.clear();
          committedAtHeal = this.committed.length;
          this.note("faults healed");
        }
        this.handle(next.event);
      }
      this.checkRecovered(committedAtHeal);
      return this.result(true);
    } catch (error) {
      return this.result(false, (error as Error).message);
    }
  }

  checkRecovered(committedAtHeal: number): void {
    const reg = this.reg(this.controller.image);
    if (reg === undefined || reg.leader < 0) this.fail("no leader after healing");
    if (this.committed.length <= committedAtHeal) {
      this.fail(`nothing committed after healing (committed ${this.committed.length})`);
    }
    for (const id of reg.isr) {
      const b = this.brokers.get(id)!;
      for (let o = 0; o < committedAtHeal; o++) {
        if (b.log.entries[o]?.value !== this.committed[o]!.value) {
          this.fail(`ISR member ${id} lacks committed offset ${o} after healing`);
        }
      }
    }
  }

  result(ok: boolean, error?: string): ReplicationSimResult {
    return {
      ok,
      seed: this.o.seed,
      ...(error === undefined ? {} : { error }),
      trace: [...this.trace],
      acked: this.acked,
      committed: this.committed.length,
      elections: this.elections,
      elrElections: this.elrElections,
      uncleanElections: this.uncleanElections,
    };
  }
}

/**
 * Runs one seeded replication simulation.
 *
 * @example
 * ```ts ignore
 * const result = runReplicationSimulation({ ...DEFAULT_REPLICATION_SIM, seed: 7 });
 * if (!result.ok) console.log(result.error, result.trace.join("\n"));
 * ```
 */
export function runReplicationSimulation(options: ReplicationSimOptions): ReplicationSimResult {
  return new ReplicationSim(options).run();
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
