/**
 * Partition reassignment on the active controller (KIP-455): AlterPartitionReassignments starts
 * or cancels moves, ListPartitionReassignments shows them. A move first adds the new replicas to
 * the replica set (`addingReplicas`, `removingReplicas`); the leader lets them into the ISR once
 * they have caught up (AlterPartition), and only then does the controller drop the removed
 * replicas (see `buildPartitionChange`), so no acknowledged record depends on a replica that is
 * going away. Kafka 3.9's `ReplicationControlManager.alterPartitionReassignments`, as pure
 * functions.
 *
 * @module
 */

import type {
  AlterPartitionReassignmentsRequest,
  ReassignablePartition,
} from "../../net/protocol/generated/alter_partition_reassignments_request.ts";
import {
  type AlterPartitionReassignmentsResponse,
  createAlterPartitionReassignmentsResponse,
  createReassignablePartitionResponse,
  createReassignableTopicResponse,
} from "../../net/protocol/generated/alter_partition_reassignments_response.ts";
import { ErrorCode, errorMessage } from "../../net/protocol/generated/errors.ts";
import type { ListPartitionReassignmentsRequest } from "../../net/protocol/generated/list_partition_reassignments_request.ts";
import {
  createListPartitionReassignmentsResponse,
  createOngoingPartitionReassignment,
  createOngoingTopicReassignment,
  type ListPartitionReassignmentsResponse,
  type OngoingTopicReassignment,
} from "../../net/protocol/generated/list_partition_reassignments_response.ts";
import {
  type ControllerContext,
  type ControllerResult,
  elrInput,
  uncleanLeaderElectionEnabled,
} from "./controller_context.ts";
import {
  applyRecords,
  type MetadataImage,
  metadataVersion,
  type PartitionRegistration,
  type TopicImage,
} from "./image.ts";
import {
  acceptsLeadership,
  buildPartitionChange,
  partitionChangeRecord,
} from "./partition_change.ts";
import type { MetadataRecord } from "./records.ts";

/**
 * True while a partition is being reassigned.
 *
 * @example
 * ```ts
 * import { isReassigning } from "./reassignment.ts";
 * // isReassigning(partition); // addingReplicas or removingReplicas not empty
 * ```
 */
export function isReassigning(p: PartitionRegistration): boolean {
  return p.addingReplicas.length > 0 || p.removingReplicas.length > 0;
}

/** A refusal of one partition's reassignment, with Kafka's code and message. */
class ReassignmentError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/**
 * Handles AlterPartitionReassignments: for each partition, `replicas` null cancels an ongoing
 * move (NO_REASSIGNMENT_IN_PROGRESS when there is none), otherwise starts a move to `replicas`
 * (INVALID_REPLICA_ASSIGNMENT for an empty list, a duplicate or an unregistered broker;
 * UNKNOWN_TOPIC_OR_PARTITION for what does not exist). A move that only reorders or removes
 * in-sync replicas completes at once. The records of every accepted partition commit together.
 *
 * @example
 * ```ts
 * import { alterPartitionReassignments } from "./reassignment.ts";
 * // const { records, response } = alterPartitionReassignments(image, request, ctx);
 * ```
 */
export function alterPartitionReassignments(
  image: MetadataImage,
  request: AlterPartitionReassignmentsRequest,
  ctx: ControllerContext,
): ControllerResult<AlterPartitionReassignmentsResponse> {
  const records: MetadataRecord[] = [];
  let current = image;
  const responses = request.topics.map((t) =>
    createReassignableTopicResponse({
      name: t.name,
      partitions: t.partitions.map((target) => {
        try {
          const record = reassignOne(current, t.name, target, ctx);
          if (record !== null) {
            records.push(record);
            current = applyRecords(current, [record]);
          }
          return createReassignablePartitionResponse({ partitionIndex: target.partitionIndex });
        } catch (error) {
          if (!(error instanceof ReassignmentError)) throw error;
          return createReassignablePartitionResponse({
            partitionIndex: target.partitionIndex,
            errorCode: error.code,
            errorMessage: error.message,
          });
        }
      }),
    })
  );
  return { records, response: createAlterPartitionReassignmentsResponse({ responses }) };
}

function reassignOne(
  image: MetadataImage,
  topicName: string,
  target: ReassignablePartition,
  ctx: ControllerContext,
): MetadataRecord | null {
  const topic = image.topics.byName.get(topicName);
  if (topic === undefined) {
    throw new ReassignmentError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `Unable to find a topic named ${topicName}.`,
    );
  }
  const p = topic.partitions.get(target.partitionIndex);
  if (p === undefined) {
    throw new ReassignmentError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `Unable to find partition ${topicName}:${target.partitionIndex}.`,
    );
  }
  return target.replicas === null
    ? cancel(image, topic, target.partitionIndex, ctx)
    : change(image, topic, target.partitionIndex, target.replicas, ctx);
}

/** Kafka's `cancelPartitionReassignment` with `PartitionReassignmentRevert`. */
function cancel(
  image: MetadataImage,
  topic: TopicImage,
  partitionId: number,
  ctx: ControllerContext,
): MetadataRecord | null {
  const p = topic.partitions.get(partitionId)!;
  if (!isReassigning(p)) {
    throw new ReassignmentError(
      ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
      errorMessage(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS),
    );
  }
  const replicas = p.replicas.filter((r) => !p.addingReplicas.includes(r));
  let isr = p.isr.filter((r) => !p.addingReplicas.includes(r));
  const unclean = uncleanLeaderElectionEnabled(image, topic.name, ctx.config);
  if (isr.length === 0) {
    // Only replicas being added are in sync: going back needs an unclean election.
    if (!unclean) {
      throw new ReassignmentError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Unable to revert partition assignment for ${topic.name}:${partitionId} because it would require an unclean leader election.`,
      );
    }
    isr = [replicas[0]!];
  }
  return changeRecord(image, topic, partitionId, ctx, {
    election: unclean ? "unclean" : "online",
    targetIsr: isr,
    targetReplicas: replicas,
    targetRemoving: [],
    targetAdding: [],
  });
}

/** Kafka's `changePartitionReassignment` with `PartitionReassignmentReplicas`. */
function change(
  image: MetadataImage,
  topic: TopicImage,
  partitionId: number,
  target: readonly number[],
  ctx: ControllerContext,
): MetadataRecord | null {
  validateAssignment(image, target);
  const p = topic.partitions.get(partitionId)!;
  const removing = p.replicas.filter((r) => !target.includes(r)).sort((a, b) => a - b);
  const adding = target.filter((r) => !p.replicas.includes(r)).sort((a, b) => a - b);
  const replicas = [...target, ...removing];
  const sameReplicas = replicas.length === p.replicas.length &&
    replicas.every((r, i) => r === p.replicas[i]);
  return changeRecord(image, topic, partitionId, ctx, {
    ...(sameReplicas ? {} : { targetReplicas: replicas }),
    ...(removing.length > 0 ? { targetRemoving: removing } : {}),
    ...(adding.length > 0 ? { targetAdding: adding } : {}),
  });
}

function validateAssignment(image: MetadataImage, replicas: readonly number[]): void {
  const invalid = (message: string) =>
    new ReassignmentError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
  if (replicas.length === 0) {
    throw invalid("The manual partition assignment includes an empty replica list.");
  }
  const sorted = [...replicas].sort((a, b) => a - b);
  sorted.forEach((id, i) => {
    if (!image.cluster.brokers.has(id)) {
      throw invalid(
        `The manual partition assignment includes broker ${id}, but no such broker is registered.`,
      );
    }
    if (i > 0 && sorted[i - 1] === id) {
      throw invalid(`The manual partition assignment includes the broker ${id} more than once.`);
    }
  });
}

function changeRecord(
  image: MetadataImage,
  topic: TopicImage,
  partitionId: number,
  ctx: ControllerContext,
  targets: Omit<
    Parameters<typeof buildPartitionChange>[0],
    "topicId" | "partitionId" | "partition" | "isAcceptableLeader" | "metadataVersion"
  >,
): MetadataRecord | null {
  const p = topic.partitions.get(partitionId)!;
  const mv = metadataVersion(image);
  const record = buildPartitionChange({
    topicId: topic.id,
    partitionId,
    partition: p,
    isAcceptableLeader: (r) => acceptsLeadership(image, p, r),
    metadataVersion: mv,
    ...elrInput(image, topic.name, ctx.config),
    ...targets,
  });
  return record === null ? null : partitionChangeRecord(record, mv);
}

/**
 * Handles ListPartitionReassignments: every partition being reassigned, or those of the named
 * topics and partitions (names that do not exist are left out, as in Kafka).
 *
 * @example
 * ```ts
 * import { listPartitionReassignments } from "./reassignment.ts";
 * // const { response } = listPartitionReassignments(image, request, ctx);
 * ```
 */
export function listPartitionReassignments(
  image: MetadataImage,
  request: ListPartitionReassignmentsRequest,
  _ctx: ControllerContext,
): ControllerResult<ListPartitionReassignmentsResponse> {
  const topics: OngoingTopicReassignment[] = [];
  const list = (topic: TopicImage, partitionIds: Iterable<number>) => {
    const partitions = [];
    for (const id of partitionIds) {
      const p = topic.partitions.get(id);
      if (p === undefined || !isReassigning(p)) continue;
      partitions.push(createOngoingPartitionReassignment({
        partitionIndex: id,
        replicas: [...p.replicas],
        addingReplicas: [...p.addingReplicas],
        removingReplicas: [...p.removingReplicas],
      }));
    }
    if (partitions.length > 0) {
      topics.push(createOngoingTopicReassignment({ name: topic.name, partitions }));
    }
  };
  if (request.topics === null) {
    for (const topic of image.topics.byName.values()) list(topic, topic.partitions.keys());
  } else {
    for (const t of request.topics) {
      const topic = image.topics.byName.get(t.name);
      if (topic !== undefined) list(topic, t.partitionIndexes);
    }
  }
  return { records: [], response: createListPartitionReassignmentsResponse({ topics }) };
}
