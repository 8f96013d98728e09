/**
 * Eligible Leader Replicas (KIP-966) bookkeeping outside a single partition change: when a
 * `min.insync.replicas` changes, eligibility judged under the old minimum no longer holds, so the
 * ELR and LastKnownElr of the topic (or, for a broker-level or cluster-wide change, of every topic)
 * are cleared; and when `eligible.leader.replicas.version` goes back to 0 every partition forgets
 * them. Kafka 4.x writes a ClearElrRecord (metadata.version 4.0+, which we do not have); we write
 * the PartitionChangeRecords that Kafka 3.8's first version of this rule (KAFKA-16540) wrote, with
 * the same effect on the image.
 *
 * @module
 */

import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import type { ConfigRecord } from "../../net/protocol/generated/config_record.ts";
import { eligibleLeaderReplicasEnabled, MIN_INSYNC_REPLICAS } from "./controller_context.ts";
import {
  ConfigResourceType,
  type MetadataImage,
  metadataVersion,
  NO_LEADER_CHANGE,
  type TopicImage,
} from "./image.ts";
import { partitionChangeRecord } from "./partition_change.ts";
import { type MetadataRecord, RecordType } from "./records.ts";

/**
 * PartitionChangeRecords that empty the ELR and LastKnownElr of every partition of `topicName`
 * that has any (every topic when null). Leader, ISR and epochs stay as they are.
 *
 * @example
 * ```ts
 * import { clearElrRecords } from "./eligible_leader_replicas.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * clearElrRecords(EMPTY_IMAGE, null); // []
 * ```
 */
export function clearElrRecords(image: MetadataImage, topicName: string | null): MetadataRecord[] {
  const mv = metadataVersion(image);
  const topics: TopicImage[] = [];
  if (topicName === null) topics.push(...image.topics.byId.values());
  else {
    const topic = image.topics.byName.get(topicName);
    if (topic !== undefined) topics.push(topic);
  }
  const out: MetadataRecord[] = [];
  for (const topic of topics) {
    for (const [partitionId, p] of topic.partitions) {
      if (p.eligibleLeaderReplicas.length === 0 && p.lastKnownElr.length === 0) continue;
      out.push(partitionChangeRecord(
        createPartitionChangeRecord({
          topicId: topic.id,
          partitionId,
          leader: NO_LEADER_CHANGE,
          isr: null,
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
        }),
        mv,
      ));
    }
  }
  return out;
}

/**
 * The ELR clears a batch of config records calls for, with ELR on (Kafka's
 * `createClearElrRecordsAsNeeded`): a topic's `min.insync.replicas` clears that topic, a broker's
 * or the cluster default's clears every topic. Each topic is cleared once.
 *
 * @example
 * ```ts
 * import { elrClearsForConfigChanges } from "./eligible_leader_replicas.ts";
 * import { EMPTY_IMAGE } from "./image.ts";
 * elrClearsForConfigChanges(EMPTY_IMAGE, []); // []
 * ```
 */
export function elrClearsForConfigChanges(
  image: MetadataImage,
  records: readonly MetadataRecord[],
): MetadataRecord[] {
  if (!eligibleLeaderReplicasEnabled(image)) return [];
  const topics = new Set<string>();
  for (const r of records) {
    if (r.type !== RecordType.CONFIG) continue;
    const c = r.data as ConfigRecord;
    if (c.name !== MIN_INSYNC_REPLICAS) continue;
    if (c.resourceType !== ConfigResourceType.TOPIC) return clearElrRecords(image, null);
    topics.add(c.resourceName);
  }
  return [...topics].flatMap((t) => clearElrRecords(image, t));
}
