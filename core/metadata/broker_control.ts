/**
 * Broker lifecycle on the active controller (KIP-631): registration, heartbeats, fencing after
 * the session timeout, controlled shutdown, unregistration, and ISR changes from partition
 * leaders (AlterPartition, KIP-497). Kafka's `ClusterControlManager`, `BrokerHeartbeatManager`
 * and the broker-facing parts of `ReplicationControlManager`, as pure functions.
 *
 * Heartbeat times are controller soft state ({@link BrokerSessions}), passed in and returned:
 * they are never written to the log.
 *
 * @module
 */

import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type {
  AlterPartitionRequest,
  PartitionData as AlterPartitionRequestPartition,
} from "../../net/protocol/generated/alter_partition_request.ts";
import {
  type AlterPartitionResponse,
  createAlterPartitionResponse,
  createPartitionData,
  createTopicData,
  type PartitionData as AlterPartitionResponsePartition,
} from "../../net/protocol/generated/alter_partition_response.ts";
import type {
  BrokerHeartbeatRequest,
} from "../../net/protocol/generated/broker_heartbeat_request.ts";
import {
  type BrokerHeartbeatResponse,
  createBrokerHeartbeatResponse,
} from "../../net/protocol/generated/broker_heartbeat_response.ts";
import type {
  BrokerRegistrationRequest,
} from "../../net/protocol/generated/broker_registration_request.ts";
import {
  type BrokerRegistrationResponse,
  createBrokerRegistrationResponse,
} from "../../net/protocol/generated/broker_registration_response.ts";
import { createBrokerRegistrationChangeRecord } from "../../net/protocol/generated/broker_registration_change_record.ts";
import { createFenceBrokerRecord } from "../../net/protocol/generated/fence_broker_record.ts";
import {
  createBrokerEndpoint,
  createBrokerFeature,
  createRegisterBrokerRecord,
} from "../../net/protocol/generated/register_broker_record.ts";
import { createUnfenceBrokerRecord } from "../../net/protocol/generated/unfence_broker_record.ts";
import { createUnregisterBrokerRecord } from "../../net/protocol/generated/unregister_broker_record.ts";
import type {
  UnregisterBrokerRequest,
} from "../../net/protocol/generated/unregister_broker_request.ts";
import {
  createUnregisterBrokerResponse,
  type UnregisterBrokerResponse,
} from "../../net/protocol/generated/unregister_broker_response.ts";
import {
  type BrokerResult,
  type BrokerSessions,
  type ControllerConfig,
  type ControllerContext,
  type ControllerResult,
  eligibleLeaderReplicasEnabled,
  elrInput,
  leadsAnyPartition,
  partitionChangesFor,
  uncleanLeaderElectionEnabled,
} from "./controller_context.ts";
import {
  applyRecords,
  type BrokerRegistration,
  mergePartitionChange,
  type MetadataImage,
  metadataVersion,
  NO_LEADER_CHANGE,
  type PartitionRegistration,
} from "./image.ts";
import {
  acceptsLeadership,
  buildPartitionChange,
  LeaderRecoveryState,
  partitionChangeRecord,
} from "./partition_change.ts";
import { directoriesOffline } from "./directory_control.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  MetadataVersion,
  RecordType,
  recordVersionsFor,
} from "./records.ts";

/**
 * Handles BrokerRegistration. The new broker epoch is the offset of the RegisterBrokerRecord.
 * A different incarnation while the old one is unfenced with a live session is a
 * DUPLICATE_BROKER_REGISTRATION; a re-registration of an unfenced broker first moves its
 * leaderships away (its new registration starts fenced).
 *
 * @example
 * ```ts
 * import { brokerRegistration } from "./broker_control.ts";
 * // const { records, response, sessions } = brokerRegistration(image, request, ctx);
 * ```
 */
export function brokerRegistration(
  image: MetadataImage,
  request: BrokerRegistrationRequest,
  ctx: ControllerContext,
): BrokerResult<BrokerRegistrationResponse> {
  const fail = (errorCode: number): BrokerResult<BrokerRegistrationResponse> => ({
    records: [],
    response: createBrokerRegistrationResponse({ errorCode, brokerEpoch: -1n }),
    sessions: ctx.sessions,
  });
  if (request.clusterId !== ctx.config.clusterId) return fail(ErrorCode.INCONSISTENT_CLUSTER_ID);
  const id = request.brokerId;
  const existing = image.cluster.brokers.get(id);
  if (
    existing !== undefined && existing.incarnationId !== request.incarnationId &&
    // Kafka's BrokerHeartbeatManager: a fenced broker (e.g. after its controlled shutdown) has
    // no valid session, so its next incarnation may register at once.
    !existing.fenced && hasValidSession(ctx, id)
  ) {
    return fail(ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  }
  const features = request.features.map((f) => createBrokerFeature({ ...f }));
  if (!features.some((f) => f.name === METADATA_VERSION_FEATURE)) {
    // As Kafka: a broker that sends no range supports only the first KRaft metadata.version.
    features.push(createBrokerFeature({
      name: METADATA_VERSION_FEATURE,
      minSupportedVersion: MetadataVersion.IBP_3_0_IV1,
      maxSupportedVersion: MetadataVersion.IBP_3_0_IV1,
    }));
  }
  for (const f of features) {
    const level = image.features.get(f.name);
    if (level !== undefined && (level < f.minSupportedVersion || level > f.maxSupportedVersion)) {
      return fail(ErrorCode.UNSUPPORTED_VERSION);
    }
  }
  const records: MetadataRecord[] = [];
  // KIP-966: a broker that cannot show the epoch its last clean shutdown ended leaves the ELR.
  const clean = existing !== undefined && request.previousBrokerEpoch >= 0n &&
    request.previousBrokerEpoch === BigInt(existing.epoch);
  if (existing !== undefined && !clean && eligibleLeaderReplicasEnabled(image)) {
    records.push(
      ...partitionChangesFor(image, { kind: "uncleanShutdown", brokerId: id }, ctx.config),
    );
  } else if (existing !== undefined && !existing.fenced) {
    records.push(...partitionChangesFor(image, { kind: "remove", brokerId: id }, ctx.config));
  }
  const brokerEpoch = ctx.nextOffset + records.length;
  records.push(makeRecord(
    RecordType.REGISTER_BROKER,
    recordVersionsFor(metadataVersion(image)).registerBroker,
    createRegisterBrokerRecord({
      brokerId: id,
      isMigratingZkBroker: request.isMigratingZkBroker,
      incarnationId: request.incarnationId,
      brokerEpoch: BigInt(brokerEpoch),
      endPoints: request.listeners.map((l) =>
        createBrokerEndpoint({
          name: l.name,
          host: l.host,
          port: l.port,
          securityProtocol: l.securityProtocol,
        })
      ),
      features,
      rack: request.rack,
      fenced: true,
      inControlledShutdown: false,
      logDirs: [...request.logDirs],
    }),
  ));
  return {
    records,
    response: createBrokerRegistrationResponse({ brokerEpoch: BigInt(brokerEpoch) }),
    sessions: touch(ctx.sessions, id, ctx.nowMs),
  };
}

/** The broker states of Kafka's `BrokerControlState`. */
type BrokerState = "fenced" | "unfenced" | "controlledShutdown" | "shutdownNow";

/**
 * Handles BrokerHeartbeat: refreshes the session, unfences a broker that has caught up to its
 * registration offset and wants unfencing, fences one that asks, walks a controlled shutdown
 * (leaderships moved away first, then `shouldShutDown`), and takes the replicas of newly offline
 * log directories out of leadership and the ISR (KIP-858, `directory_control.ts`).
 *
 * @example
 * ```ts
 * import { brokerHeartbeat } from "./broker_control.ts";
 * // const { records, response, sessions } = brokerHeartbeat(image, request, ctx);
 * ```
 */
export function brokerHeartbeat(
  image: MetadataImage,
  request: BrokerHeartbeatRequest,
  ctx: ControllerContext,
): BrokerResult<BrokerHeartbeatResponse> {
  const b = registrationWithEpoch(image, request.brokerId, request.brokerEpoch);
  if (b === undefined) {
    return {
      records: [],
      response: createBrokerHeartbeatResponse({ errorCode: ErrorCode.STALE_BROKER_EPOCH }),
      sessions: ctx.sessions,
    };
  }
  const isCaughtUp = request.currentMetadataOffset >= BigInt(b.epoch);
  const current: BrokerState = b.fenced
    ? "fenced"
    : b.inControlledShutdown
    ? "controlledShutdown"
    : "unfenced";
  const next = nextState(image, b, current, request, {
    isCaughtUp,
    controlledShutdownOffset: ctx.sessions.get(b.id)?.controlledShutdownOffset ?? -1,
    lowestActiveOffset: lowestActiveOffset(image, ctx.sessions, b.id),
  });
  const records: MetadataRecord[] = [];
  if (next !== current) {
    const config = ctx.config;
    if (next === "unfenced") records.push(...unfenceRecords(image, b, config));
    else if (next === "controlledShutdown") {
      records.push(...controlledShutdownRecords(image, b, config));
    } else if (!b.fenced) records.push(...fenceRecords(image, b, config));
  }
  if (request.offlineLogDirs.length > 0) {
    // Judged after the state change above, so a partition is not changed twice from one image.
    const after = records.length > 0 ? applyRecords(image, records) : image;
    const registration = after.cluster.brokers.get(b.id) ?? b;
    records.push(...directoriesOffline(after, registration, request.offlineLogDirs, ctx.config));
  }
  const previous = ctx.sessions.get(b.id);
  const sessions = new Map(ctx.sessions);
  sessions.set(b.id, {
    lastContactMs: ctx.nowMs,
    metadataOffset: Number(request.currentMetadataOffset),
    // Kafka's maybeUpdateControlledShutdownOffset: the offset of the records that moved its
    // leaderships, set once on entering controlled shutdown.
    controlledShutdownOffset: previous?.controlledShutdownOffset ??
      (next === "controlledShutdown" ? ctx.nextOffset + records.length - 1 : undefined),
  });
  return {
    records,
    response: createBrokerHeartbeatResponse({
      isCaughtUp,
      isFenced: next === "fenced" || next === "shutdownNow",
      shouldShutDown: next === "shutdownNow",
    }),
    sessions,
  };
}

/**
 * The lowest metadata offset any other active broker (unfenced, not shutting down) has reported:
 * a broker in controlled shutdown may stop once every active broker has seen its leaderships move
 * (Kafka's `BrokerHeartbeatManager.lowestActiveOffset`). A broker that has not reported yet counts
 * as -1; with no active broker it is infinite.
 */
function lowestActiveOffset(
  image: MetadataImage,
  sessions: BrokerSessions,
  except: number,
): number {
  let lowest = Infinity;
  for (const b of image.cluster.brokers.values()) {
    if (b.id === except || b.fenced || b.inControlledShutdown) continue;
    lowest = Math.min(lowest, sessions.get(b.id)?.metadataOffset ?? -1);
  }
  return lowest;
}

function nextState(
  image: MetadataImage,
  b: BrokerRegistration,
  current: BrokerState,
  request: BrokerHeartbeatRequest,
  offsets: { isCaughtUp: boolean; controlledShutdownOffset: number; lowestActiveOffset: number },
): BrokerState {
  const isCaughtUp = offsets.isCaughtUp;
  switch (current) {
    case "fenced":
      if (request.wantShutDown) return "shutdownNow";
      if (request.wantFence || !isCaughtUp) return "fenced";
      return "unfenced";
    case "unfenced":
      if (request.wantFence) return request.wantShutDown ? "shutdownNow" : "fenced";
      if (!request.wantShutDown) return "unfenced";
      return leadsAnyPartition(image, b.id) ? "controlledShutdown" : "shutdownNow";
    default:
      if (leadsAnyPartition(image, b.id)) return "controlledShutdown";
      // KIP-841: only once every active broker has seen the new leaders.
      return offsets.controlledShutdownOffset <= offsets.lowestActiveOffset
        ? "shutdownNow"
        : "controlledShutdown";
  }
}

/** Partition changes then the fence record (Kafka's `handleBrokerFenced`). */
function fenceRecords(
  image: MetadataImage,
  b: BrokerRegistration,
  config: ControllerConfig,
): MetadataRecord[] {
  return [
    ...partitionChangesFor(image, { kind: "remove", brokerId: b.id }, config),
    makeRecord(
      RecordType.FENCE_BROKER,
      0,
      createFenceBrokerRecord({ id: b.id, epoch: BigInt(b.epoch) }),
    ),
  ];
}

/** The unfence record, then leader elections that the unfenced broker wins. */
function unfenceRecords(
  image: MetadataImage,
  b: BrokerRegistration,
  config: ControllerConfig,
): MetadataRecord[] {
  const unfence = makeRecord(
    RecordType.UNFENCE_BROKER,
    0,
    createUnfenceBrokerRecord({ id: b.id, epoch: BigInt(b.epoch) }),
  );
  const after = applyRecords(image, [unfence]);
  return [unfence, ...partitionChangesFor(after, { kind: "elect", brokerId: b.id }, config)];
}

/** Marks the broker in controlled shutdown (KIP-841) and moves its leaderships and ISR slots. */
function controlledShutdownRecords(
  image: MetadataImage,
  b: BrokerRegistration,
  config: ControllerConfig,
): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  const mv = metadataVersion(image);
  if (mv >= MetadataVersion.IBP_3_3_IV3 && !b.inControlledShutdown) {
    out.push(makeRecord(
      RecordType.BROKER_REGISTRATION_CHANGE,
      recordVersionsFor(mv).brokerRegistrationChange,
      createBrokerRegistrationChangeRecord({
        brokerId: b.id,
        brokerEpoch: BigInt(b.epoch),
        inControlledShutdown: 1,
      }),
    ));
  }
  const after = out.length > 0 ? applyRecords(image, out) : image;
  out.push(...partitionChangesFor(after, { kind: "remove", brokerId: b.id }, config));
  return out;
}

/**
 * Fences every unfenced broker whose last heartbeat is older than `broker.session.timeout.ms`,
 * moving its leaderships to other live ISR members (or -1). Brokers with no session yet (a newly
 * active controller) get one starting now, as Kafka's `BrokerHeartbeatManager` on activation.
 *
 * @example
 * ```ts
 * import { tick } from "./broker_control.ts";
 * // const { records, sessions } = tick(image, ctx);
 * ```
 */
export function tick(
  image: MetadataImage,
  ctx: ControllerContext,
): { records: MetadataRecord[]; sessions: BrokerSessions } {
  let sessions = ctx.sessions;
  let current = image;
  const records: MetadataRecord[] = [];
  for (const b of image.cluster.brokers.values()) {
    const session = sessions.get(b.id);
    if (session === undefined) {
      sessions = touch(sessions, b.id, ctx.nowMs);
      continue;
    }
    if (b.fenced || ctx.nowMs - session.lastContactMs <= ctx.config.brokerSessionTimeoutMs) {
      continue;
    }
    const fence = fenceRecords(current, current.cluster.brokers.get(b.id)!, ctx.config);
    records.push(...fence);
    current = applyRecords(current, fence);
  }
  return { records, sessions };
}

/**
 * Handles UnregisterBroker: the broker leaves every ISR, then its registration is removed.
 *
 * @example
 * ```ts
 * import { unregisterBroker } from "./broker_control.ts";
 * // const { records, response, sessions } = unregisterBroker(image, request, ctx);
 * ```
 */
export function unregisterBroker(
  image: MetadataImage,
  request: UnregisterBrokerRequest,
  ctx: ControllerContext,
): BrokerResult<UnregisterBrokerResponse> {
  const b = image.cluster.brokers.get(request.brokerId);
  if (b === undefined) {
    return {
      records: [],
      response: createUnregisterBrokerResponse({
        errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED,
        errorMessage: `Broker ID ${request.brokerId} is not currently registered.`,
      }),
      sessions: ctx.sessions,
    };
  }
  const sessions = new Map(ctx.sessions);
  sessions.delete(b.id);
  return {
    records: [
      ...partitionChangesFor(image, { kind: "remove", brokerId: b.id }, ctx.config),
      makeRecord(
        RecordType.UNREGISTER_BROKER,
        0,
        createUnregisterBrokerRecord({ brokerId: b.id, brokerEpoch: BigInt(b.epoch) }),
      ),
    ],
    response: createUnregisterBrokerResponse(),
    sessions,
  };
}

/** Options of {@link alterPartition}. */
export interface AlterPartitionOptions {
  /** The request's API version: v2+ names topics by id and gets NEW_LEADER_ELECTED (default 3). */
  readonly apiVersion?: number;
}

/**
 * Handles AlterPartition from a partition leader (KIP-497): validates the leader, its epochs and
 * the new ISR as Kafka 3.9's `ReplicationControlManager` does, then writes the ISR change through
 * the same leader election every other path uses. The answer carries the partition as committed.
 *
 * @example
 * ```ts
 * import { alterPartition } from "./broker_control.ts";
 * // const { records, response } = alterPartition(image, request, { ...ctx, apiVersion: 3 });
 * ```
 */
export function alterPartition(
  image: MetadataImage,
  request: AlterPartitionRequest,
  ctx: ControllerContext & AlterPartitionOptions,
): ControllerResult<AlterPartitionResponse> {
  if (registrationWithEpoch(image, request.brokerId, request.brokerEpoch) === undefined) {
    return {
      records: [],
      response: createAlterPartitionResponse({ errorCode: ErrorCode.STALE_BROKER_EPOCH }),
    };
  }
  const apiVersion = ctx.apiVersion ?? 3;
  const mv = metadataVersion(image);
  const records: MetadataRecord[] = [];
  const topics = request.topics.map((t) => {
    const topic = apiVersion > 1
      ? image.topics.byId.get(t.topicId)
      : image.topics.byName.get(t.topicName);
    const partitions = t.partitions.map((pd): AlterPartitionResponsePartition => {
      const fail = (errorCode: number) =>
        createPartitionData({ partitionIndex: pd.partitionIndex, errorCode });
      if (topic === undefined) {
        return fail(
          apiVersion > 1 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        );
      }
      let p = topic.partitions.get(pd.partitionIndex);
      if (p === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const error = alterPartitionError(image, request.brokerId, p, pd, apiVersion);
      if (error !== ErrorCode.NONE) return fail(error);
      const unclean = uncleanLeaderElectionEnabled(image, topic.name, ctx.config);
      const change = buildPartitionChange({
        topicId: topic.id,
        partitionId: pd.partitionIndex,
        partition: p,
        isAcceptableLeader: (r) => acceptsLeadership(image, p!, r),
        metadataVersion: mv,
        election: unclean ? "unclean" : "online",
        ...elrInput(image, topic.name, ctx.config),
        targetIsr: requestedIsr(pd),
        targetLeaderRecoveryState: pd.leaderRecoveryState,
      });
      if (change !== null) {
        records.push(partitionChangeRecord(change, mv));
        p = mergePartitionChange(p, change);
        // The leader cannot move itself; if it moved anyway the sender must refresh its metadata
        // (Kafka: NEW_LEADER_ELECTED from v2, FENCED_LEADER_EPOCH before).
        if (change.leader !== NO_LEADER_CHANGE && change.leader !== request.brokerId) {
          return fail(
            apiVersion > 1 ? ErrorCode.NEW_LEADER_ELECTED : ErrorCode.FENCED_LEADER_EPOCH,
          );
        }
      }
      return createPartitionData({
        partitionIndex: pd.partitionIndex,
        leaderId: p.leader,
        leaderEpoch: p.leaderEpoch,
        isr: [...p.isr],
        leaderRecoveryState: p.leaderRecoveryState,
        partitionEpoch: p.partitionEpoch,
      });
    });
    return createTopicData({ topicName: t.topicName, topicId: t.topicId, partitions });
  });
  return { records, response: createAlterPartitionResponse({ topics }) };
}

function requestedIsr(pd: AlterPartitionRequestPartition): number[] {
  return pd.newIsrWithEpochs.length > 0 ? pd.newIsrWithEpochs.map((s) => s.brokerId) : pd.newIsr;
}

/** Kafka 3.9's `validateAlterPartitionData`, in its order. */
function alterPartitionError(
  image: MetadataImage,
  brokerId: number,
  p: PartitionRegistration,
  pd: AlterPartitionRequestPartition,
  apiVersion: number,
): number {
  // A leader ahead of this controller's image means this controller is likely stale.
  if (pd.leaderEpoch > p.leaderEpoch || pd.partitionEpoch > p.partitionEpoch) {
    return ErrorCode.NOT_CONTROLLER;
  }
  if (pd.leaderEpoch < p.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (p.leader !== brokerId) return ErrorCode.INVALID_REQUEST;
  if (pd.partitionEpoch < p.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
  const isr = requestedIsr(pd);
  if (new Set(isr).size !== isr.length || isr.some((r) => !p.replicas.includes(r))) {
    return ErrorCode.INVALID_REQUEST;
  }
  if (!isr.includes(p.leader)) return ErrorCode.INVALID_REQUEST;
  const recovery = pd.leaderRecoveryState;
  if (recovery !== LeaderRecoveryState.RECOVERED && recovery !== LeaderRecoveryState.RECOVERING) {
    return ErrorCode.INVALID_REQUEST;
  }
  // KIP-704: a recovering leader confirms its log before anyone joins it in the ISR.
  if (recovery === LeaderRecoveryState.RECOVERING && isr.length > 1) {
    return ErrorCode.INVALID_REQUEST;
  }
  if (
    p.leaderRecoveryState === LeaderRecoveryState.RECOVERED &&
    recovery === LeaderRecoveryState.RECOVERING
  ) {
    return ErrorCode.INVALID_REQUEST;
  }
  const states = pd.newIsrWithEpochs.length > 0
    ? pd.newIsrWithEpochs
    : pd.newIsr.map((id) => ({ brokerId: id, brokerEpoch: -1n }));
  for (const s of states) {
    const b = image.cluster.brokers.get(s.brokerId);
    const ineligible = b === undefined || b.inControlledShutdown || b.fenced ||
      (s.brokerEpoch !== -1n && BigInt(b.epoch) !== s.brokerEpoch);
    if (ineligible) {
      return apiVersion > 1 ? ErrorCode.INELIGIBLE_REPLICA : ErrorCode.OPERATION_NOT_ATTEMPTED;
    }
  }
  return ErrorCode.NONE;
}

function registrationWithEpoch(
  image: MetadataImage,
  brokerId: number,
  brokerEpoch: bigint,
): BrokerRegistration | undefined {
  const b = image.cluster.brokers.get(brokerId);
  return b !== undefined && BigInt(b.epoch) === brokerEpoch ? b : undefined;
}

/**
 * True when the broker heartbeated (or registered) within `broker.session.timeout.ms`.
 *
 * @example
 * ```ts
 * import { hasValidSession } from "./broker_control.ts";
 * // hasValidSession(ctx, 1);
 * ```
 */
export function hasValidSession(ctx: ControllerContext, brokerId: number): boolean {
  const s = ctx.sessions.get(brokerId);
  return s !== undefined && ctx.nowMs - s.lastContactMs <= ctx.config.brokerSessionTimeoutMs;
}

function touch(sessions: BrokerSessions, brokerId: number, nowMs: number): BrokerSessions {
  const next = new Map(sessions);
  next.set(brokerId, { lastContactMs: nowMs });
  return next;
}
