/**
 * Log directories on the active controller (JBOD in KRaft, KIP-858): AssignReplicasToDirs records
 * which of a broker's `log.dirs` holds each of its replicas, and a broker that reports a directory
 * offline in BrokerHeartbeat loses the leaderships and ISR slots of the replicas in it, the way
 * Kafka's `ReplicationControlManager.handleAssignReplicasToDirs` and `handleDirectoriesOffline`
 * do. Pure functions, like the rest of `core/metadata`.
 *
 * @module
 */

import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { AssignReplicasToDirsRequest } from "../../net/protocol/generated/assign_replicas_to_dirs_request.ts";
import {
  type AssignReplicasToDirsResponse,
  createAssignReplicasToDirsResponse,
  createDirectoryData,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/assign_replicas_to_dirs_response.ts";
import { createBrokerRegistrationChangeRecord } from "../../net/protocol/generated/broker_registration_change_record.ts";
import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import {
  type ControllerConfig,
  type ControllerContext,
  type ControllerResult,
  elrInput,
  uncleanLeaderElectionEnabled,
} from "./controller_context.ts";
import {
  applyRecords,
  type BrokerRegistration,
  DIRECTORY_UNASSIGNED,
  type MetadataImage,
  metadataVersion,
  NO_LEADER_CHANGE,
} from "./image.ts";
import {
  acceptsLeadership,
  buildPartitionChange,
  partitionChangeRecord,
} from "./partition_change.ts";
import { makeRecord, type MetadataRecord, MetadataVersion, RecordType } from "./records.ts";

/** A partition picked out of the image: its topic id and index. */
type PartitionFilter = (topicId: string, partitionId: number) => boolean;

/**
 * Handles AssignReplicasToDirs: for each replica the broker names, a PartitionChangeRecord that
 * sets the broker's entry of `Directories` (none when it already holds that directory). A
 * replica assigned to a directory the broker no longer lists as online then loses its leadership
 * and ISR slot at once, as in Kafka. Errors: UNSUPPORTED_VERSION before metadata.version
 * 3.7-IV2, BROKER_ID_NOT_REGISTERED / STALE_BROKER_EPOCH for the whole request; per partition
 * UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION, or NOT_LEADER_OR_FOLLOWER when the broker holds
 * no replica of it.
 *
 * @example
 * ```ts
 * import { assignReplicasToDirs } from "./directory_control.ts";
 * // const { records, response } = assignReplicasToDirs(image, request, ctx);
 * ```
 */
export function assignReplicasToDirs(
  image: MetadataImage,
  request: AssignReplicasToDirsRequest,
  ctx: ControllerContext,
): ControllerResult<AssignReplicasToDirsResponse> {
  const fail = (errorCode: number) => ({
    records: [],
    response: createAssignReplicasToDirsResponse({ errorCode }),
  });
  const mv = metadataVersion(image);
  if (mv < MetadataVersion.IBP_3_7_IV2) return fail(ErrorCode.UNSUPPORTED_VERSION);
  const broker = image.cluster.brokers.get(request.brokerId);
  if (broker === undefined) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED);
  if (BigInt(broker.epoch) !== request.brokerEpoch) return fail(ErrorCode.STALE_BROKER_EPOCH);
  const id = broker.id;
  const records: MetadataRecord[] = [];
  /** Replicas placed in a directory that is already offline: they must not lead or stay in sync. */
  const offlinePlaced = new Set<string>();
  const offlineDirs = new Set<string>();
  const response = createAssignReplicasToDirsResponse({ directories: [] });
  for (const dir of request.directories) {
    const dirOnline = broker.logDirs.includes(dir.id);
    const dirResult = createDirectoryData({ id: dir.id, topics: [] });
    for (const t of dir.topics) {
      const topic = image.topics.byId.get(t.topicId);
      const topicResult = createTopicData({ topicId: t.topicId, partitions: [] });
      for (const { partitionIndex } of t.partitions) {
        const p = topic?.partitions.get(partitionIndex);
        const i = p?.replicas.indexOf(id) ?? -1;
        const errorCode = topic === undefined
          ? ErrorCode.UNKNOWN_TOPIC_ID
          : p === undefined
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : i < 0
          ? ErrorCode.NOT_LEADER_OR_FOLLOWER
          : ErrorCode.NONE;
        topicResult.partitions.push(createPartitionData({ partitionIndex, errorCode }));
        if (p === undefined || i < 0 || errorCode !== ErrorCode.NONE) continue;
        if (p.directories[i] !== dir.id) {
          const directories = p.replicas.map((_, j) =>
            j === i ? dir.id : p.directories[j] ?? DIRECTORY_UNASSIGNED
          );
          records.push(partitionChangeRecord(
            createPartitionChangeRecord({
              topicId: t.topicId,
              partitionId: partitionIndex,
              leader: NO_LEADER_CHANGE,
              directories,
            }),
            mv,
          ));
        }
        if (!dirOnline) {
          offlinePlaced.add(`${t.topicId}:${partitionIndex}`);
          offlineDirs.add(dir.id);
        }
      }
      dirResult.topics.push(topicResult);
    }
    response.directories.push(dirResult);
  }
  if (offlinePlaced.size > 0) {
    const after = applyRecords(image, records);
    records.push(...directoryOfflineChanges(
      after,
      id,
      offlineDirs,
      ctx.config,
      (topicId, partitionId) => offlinePlaced.has(`${topicId}:${partitionId}`),
    ));
  }
  return { records, response };
}

/**
 * The records for a heartbeat's `OfflineLogDirs` (Kafka's `handleDirectoriesOffline`): when some
 * of them are still online in the broker's registration, every partition whose replica on the
 * broker lives in one of those directories loses the broker from its ISR (and leadership moves
 * to another acceptable ISR member, or the partition goes offline), then a
 * BrokerRegistrationChangeRecord lists the directories that remain online. Nothing when the
 * directories are already known offline, or before metadata.version 3.7-IV2.
 *
 * @example
 * ```ts
 * import { directoriesOffline } from "./directory_control.ts";
 * // records.push(...directoriesOffline(image, broker, request.offlineLogDirs, ctx.config));
 * ```
 */
export function directoriesOffline(
  image: MetadataImage,
  broker: BrokerRegistration,
  offlineLogDirs: readonly string[],
  config: ControllerConfig,
): MetadataRecord[] {
  if (metadataVersion(image) < MetadataVersion.IBP_3_7_IV2) return [];
  const newlyOffline = new Set(offlineLogDirs.filter((d) => broker.logDirs.includes(d)));
  if (newlyOffline.size === 0) return [];
  const remaining = broker.logDirs.filter((d) => !newlyOffline.has(d));
  return [
    ...directoryOfflineChanges(image, broker.id, newlyOffline, config),
    makeRecord(
      RecordType.BROKER_REGISTRATION_CHANGE,
      2,
      createBrokerRegistrationChangeRecord({
        brokerId: broker.id,
        brokerEpoch: BigInt(broker.epoch),
        logDirs: remaining,
      }),
    ),
  ];
}

/**
 * PartitionChangeRecords that take broker `brokerId` out of the ISR and leadership of every
 * partition whose replica on it lives in one of `dirs` (Kafka's `generateLeaderAndIsrUpdates`
 * with the broker to remove): the ISR keeps its other members (never becoming empty), and the
 * leader becomes the first acceptable member of what remains, or -1, or an unclean choice where
 * the topic enables unclean election.
 */
function directoryOfflineChanges(
  image: MetadataImage,
  brokerId: number,
  dirs: ReadonlySet<string>,
  config: ControllerConfig,
  only?: PartitionFilter,
): MetadataRecord[] {
  const mv = metadataVersion(image);
  const out: MetadataRecord[] = [];
  for (const topic of image.topics.byId.values()) {
    for (const [partitionId, p] of topic.partitions) {
      const i = p.replicas.indexOf(brokerId);
      if (i < 0 || !dirs.has(p.directories[i] ?? DIRECTORY_UNASSIGNED)) continue;
      if (!p.isr.includes(brokerId) && p.leader !== brokerId) continue;
      if (only !== undefined && !only(topic.id, partitionId)) continue;
      const record = buildPartitionChange({
        topicId: topic.id,
        partitionId,
        partition: p,
        isAcceptableLeader: (r) => r !== brokerId && acceptsLeadership(image, p, r),
        metadataVersion: mv,
        election: uncleanLeaderElectionEnabled(image, topic.name, config) ? "unclean" : "online",
        targetIsr: p.isr.filter((r) => r !== brokerId),
        // KIP-966: a replica leaving with its directory may stay eligible, as on fencing.
        ...elrInput(image, topic.name, config),
      });
      if (record !== null) out.push(partitionChangeRecord(record, mv));
    }
  }
  return out;
}
