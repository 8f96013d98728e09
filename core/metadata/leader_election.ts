/**
 * Leader elections the controller runs on request or on a timer: the ElectLeaders API (KIP-460,
 * preferred and unclean), the auto leader rebalance (`auto.leader.rebalance.enable`,
 * `leader.imbalance.*`) and the periodic unclean election of leaderless partitions whose topic
 * allows it (`unclean.leader.election.enable`). Kafka's `ReplicationControlManager.electLeaders`,
 * `maybeBalancePartitionLeaders` and `maybeElectUncleanLeaders`, as pure functions.
 *
 * @module
 */

import type { ElectLeadersRequest } from "../../net/protocol/generated/elect_leaders_request.ts";
import {
  createElectLeadersResponse,
  createPartitionResult,
  createReplicaElectionResult,
  type ElectLeadersResponse,
  type PartitionResult,
} from "../../net/protocol/generated/elect_leaders_response.ts";
import { ErrorCode, errorMessage } from "../../net/protocol/generated/errors.ts";
import {
  type ControllerConfig,
  type ControllerContext,
  type ControllerResult,
  elrInput,
  type TopicConfigSources,
  uncleanLeaderElectionEnabled,
} from "./controller_context.ts";
import {
  type MetadataImage,
  metadataVersion,
  NO_LEADER,
  type PartitionRegistration,
  type TopicImage,
} from "./image.ts";
import {
  acceptsLeadership,
  buildPartitionChange,
  type Election,
  partitionChangeRecord,
} from "./partition_change.ts";
import type { MetadataRecord } from "./records.ts";

/** ElectLeaders `electionType` values (Kafka's `ElectionType`). */
export const ElectionType = {
  PREFERRED: 0,
  UNCLEAN: 1,
} as const;

/** Most elections one timer run makes before yielding (Kafka's MAX_ELECTIONS_PER_IMBALANCE). */
export const ELECTIONS_PER_RUN_MAX = 1_000;

/** `leader.imbalance.per.broker.percentage` when the config does not say. */
export const LEADER_IMBALANCE_PER_BROKER_PERCENTAGE_DEFAULT = 10;

/**
 * Handles ElectLeaders (KIP-183, KIP-460). For each named partition: UNKNOWN_TOPIC_OR_PARTITION
 * when it does not exist, ELECTION_NOT_NEEDED when the preferred replica already leads (PREFERRED)
 * or it has a leader (UNCLEAN), PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE
 * when no leader can be elected. A null partition list means every partition, and then partitions
 * that need no election are left out of the answer. An unknown election type is INVALID_REQUEST.
 *
 * @example
 * ```ts
 * import { electLeaders } from "./leader_election.ts";
 * // const { records, response } = electLeaders(image, request, ctx);
 * ```
 */
export function electLeaders(
  image: MetadataImage,
  request: ElectLeadersRequest,
  ctx: ControllerContext,
): ControllerResult<ElectLeadersResponse> {
  const type = request.electionType;
  if (type !== ElectionType.PREFERRED && type !== ElectionType.UNCLEAN) {
    const message = `Unknown election type ${type}`;
    return {
      records: [],
      response: createElectLeadersResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        replicaElectionResults: (request.topicPartitions ?? []).map((t) =>
          createReplicaElectionResult({
            topic: t.topic,
            partitionResult: t.partitions.map((partitionId) =>
              createPartitionResult({
                partitionId,
                errorCode: ErrorCode.INVALID_REQUEST,
                errorMessage: message,
              })
            ),
          })
        ),
      }),
    };
  }
  const records: MetadataRecord[] = [];
  // Every election is judged against the image the request arrived at (no record is applied in
  // between, so electing every partition costs one pass); a partition named twice is elected once.
  const done = new Map<string, OneElection>();
  const elect = (topic: string, partitionId: number): PartitionResult => {
    const key = `${topic}\u0000${partitionId}`;
    let result = done.get(key);
    if (result === undefined) {
      result = electOne(image, topic, partitionId, type, ctx.config);
      done.set(key, result);
      if (result.record !== null) records.push(result.record);
    }
    return createPartitionResult({
      partitionId,
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
    });
  };
  const results = request.topicPartitions === null
    ? [...image.topics.byName.values()].map((t) =>
      createReplicaElectionResult({
        topic: t.name,
        partitionResult: [...t.partitions.keys()].map((i) => elect(t.name, i)).filter((r) =>
          r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED
        ),
      })
    )
    : request.topicPartitions.map((t) =>
      createReplicaElectionResult({
        topic: t.topic,
        partitionResult: t.partitions.map((i) => elect(t.topic, i)),
      })
    );
  return { records, response: createElectLeadersResponse({ replicaElectionResults: results }) };
}

interface OneElection {
  readonly record: MetadataRecord | null;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

function electOne(
  image: MetadataImage,
  topicName: string,
  partitionId: number,
  type: number,
  config: ControllerConfig,
): OneElection {
  const topic = image.topics.byName.get(topicName);
  const p = topic?.partitions.get(partitionId);
  if (topic === undefined || p === undefined) {
    return {
      record: null,
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      errorMessage: topic === undefined
        ? `No such topic as ${topicName}`
        : `No such partition as ${topicName}-${partitionId}`,
    };
  }
  const needed = type === ElectionType.PREFERRED
    ? p.leader !== p.replicas[0]
    : p.leader === NO_LEADER;
  // Kafka's ApiError(Errors.X) carries the error's own message.
  const fail = (errorCode: number): OneElection => ({
    record: null,
    errorCode,
    errorMessage: errorMessage(errorCode),
  });
  if (!needed) return fail(ErrorCode.ELECTION_NOT_NEEDED);
  const record = electionRecord(
    image,
    topic,
    partitionId,
    type === ElectionType.PREFERRED ? "preferred" : "unclean",
    config,
  );
  if (record === null) {
    return fail(
      type === ElectionType.PREFERRED
        ? ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
        : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
    );
  }
  return { record, errorCode: ErrorCode.NONE, errorMessage: null };
}

function electionRecord(
  image: MetadataImage,
  topic: TopicImage,
  partitionId: number,
  election: Election,
  config?: TopicConfigSources,
): MetadataRecord | null {
  const p = topic.partitions.get(partitionId)!;
  const mv = metadataVersion(image);
  const change = buildPartitionChange({
    topicId: topic.id,
    partitionId,
    partition: p,
    isAcceptableLeader: (r) => acceptsLeadership(image, p, r),
    metadataVersion: mv,
    election,
    ...elrInput(image, topic.name, config),
  });
  return change === null ? null : partitionChangeRecord(change, mv);
}

/**
 * The auto leader rebalance (`auto.leader.rebalance.enable`): for every broker whose share of
 * partitions it prefers (first replica) but does not lead exceeds
 * `leader.imbalance.per.broker.percentage`, elect the preferred replica of those partitions where
 * it is an acceptable ISR member. At most `electionsMax` records; `more` says whether to run again
 * at once.
 *
 * @example
 * ```ts
 * import { balancePartitionLeaders } from "./leader_election.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * balancePartitionLeaders(EMPTY_IMAGE, {}).records; // []
 * ```
 */
export function balancePartitionLeaders(
  image: MetadataImage,
  config: Pick<ControllerConfig, "leaderImbalancePerBrokerPercentage"> & TopicConfigSources,
  electionsMax: number = ELECTIONS_PER_RUN_MAX,
): { records: MetadataRecord[]; more: boolean } {
  const percentage = config.leaderImbalancePerBrokerPercentage ??
    LEADER_IMBALANCE_PER_BROKER_PERCENTAGE_DEFAULT;
  const preferredCount = new Map<number, number>();
  const imbalanced = new Map<number, { topic: TopicImage; partitionId: number }[]>();
  for (const topic of image.topics.byId.values()) {
    for (const [partitionId, p] of topic.partitions) {
      const preferred = p.replicas[0];
      if (preferred === undefined) continue;
      preferredCount.set(preferred, (preferredCount.get(preferred) ?? 0) + 1);
      if (p.leader === preferred) continue;
      const list = imbalanced.get(preferred) ?? [];
      list.push({ topic, partitionId });
      imbalanced.set(preferred, list);
    }
  }
  const records: MetadataRecord[] = [];
  for (const [brokerId, partitions] of imbalanced) {
    const ratio = partitions.length / preferredCount.get(brokerId)!;
    if (ratio <= percentage / 100) continue;
    for (const { topic, partitionId } of partitions) {
      if (records.length >= electionsMax) return { records, more: true };
      const p = topic.partitions.get(partitionId)!;
      // Only a real move to the preferred replica; never a shuffle among the others.
      if (!isPreferredElectable(image, p)) continue;
      const record = electionRecord(image, topic, partitionId, "preferred", config);
      if (record !== null) records.push(record);
    }
  }
  return { records, more: false };
}

function isPreferredElectable(image: MetadataImage, p: PartitionRegistration): boolean {
  const preferred = p.replicas[0]!;
  return p.isr.includes(preferred) && acceptsLeadership(image, p, preferred);
}

/**
 * The periodic unclean election (`unclean.leader.election.interval.ms`): every leaderless
 * partition whose topic has `unclean.leader.election.enable` gets the first acceptable replica as
 * leader, its ISR reset to it and RECOVERING (KIP-704). At most `electionsMax` records.
 *
 * @example
 * ```ts
 * import { electUncleanLeaders } from "./leader_election.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * electUncleanLeaders(EMPTY_IMAGE, { clusterId: "c", defaultNumPartitions: 1,
 *   defaultReplicationFactor: 1, brokerSessionTimeoutMs: 9000, supportedFeatures: new Map() })
 *   .records; // []
 * ```
 */
export function electUncleanLeaders(
  image: MetadataImage,
  config: ControllerConfig,
  electionsMax: number = ELECTIONS_PER_RUN_MAX,
): { records: MetadataRecord[]; more: boolean } {
  const records: MetadataRecord[] = [];
  for (const topic of image.topics.byId.values()) {
    let enabled: boolean | undefined;
    for (const [partitionId, p] of topic.partitions) {
      if (p.leader !== NO_LEADER) continue;
      enabled ??= uncleanLeaderElectionEnabled(image, topic.name, config);
      if (!enabled) break;
      if (records.length >= electionsMax) return { records, more: true };
      const record = electionRecord(image, topic, partitionId, "unclean", config);
      if (record !== null) records.push(record);
    }
  }
  return { records, more: false };
}

/**
 * True when some partition has no leader (the unclean election timer has work to look at).
 *
 * @example
 * ```ts
 * import { hasLeaderlessPartitions } from "./leader_election.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * hasLeaderlessPartitions(EMPTY_IMAGE); // false
 * ```
 */
export function hasLeaderlessPartitions(image: MetadataImage): boolean {
  for (const topic of image.topics.byId.values()) {
    for (const p of topic.partitions.values()) if (p.leader === NO_LEADER) return true;
  }
  return false;
}
