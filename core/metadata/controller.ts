/**
 * The active controller's request handling (KIP-500, KIP-631) as pure functions from
 * `(image, request, context)` to `{ records, response }`: the Raft layer appends the records in
 * one batch and sends the response once they commit. Kafka's `ReplicationControlManager`
 * (topics, partitions), `ConfigurationControlManager`, `FeatureControlManager` and
 * `ProducerIdControlManager`; the broker lifecycle lives in `broker_control.ts` and is
 * re-exported here.
 *
 * @module
 */

import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type {
  AllocateProducerIdsRequest,
} from "../../net/protocol/generated/allocate_producer_ids_request.ts";
import {
  type AllocateProducerIdsResponse,
  createAllocateProducerIdsResponse,
} from "../../net/protocol/generated/allocate_producer_ids_response.ts";
import type { AlterConfigsRequest } from "../../net/protocol/generated/alter_configs_request.ts";
import {
  type AlterConfigsResponse,
  createAlterConfigsResponse,
} from "../../net/protocol/generated/alter_configs_response.ts";
import { createConfigRecord } from "../../net/protocol/generated/config_record.ts";
import type {
  CreatePartitionsRequest,
  CreatePartitionsTopic,
} from "../../net/protocol/generated/create_partitions_request.ts";
import {
  createCreatePartitionsResponse,
  createCreatePartitionsTopicResult,
  type CreatePartitionsResponse,
} from "../../net/protocol/generated/create_partitions_response.ts";
import type {
  CreatableTopic,
  CreateTopicsRequest,
} from "../../net/protocol/generated/create_topics_request.ts";
import {
  type CreatableTopicConfigs,
  type CreatableTopicResult,
  createCreatableTopicConfigs,
  createCreatableTopicResult,
  createCreateTopicsResponse,
  type CreateTopicsResponse,
} from "../../net/protocol/generated/create_topics_response.ts";
import type { DeleteTopicsRequest } from "../../net/protocol/generated/delete_topics_request.ts";
import {
  createDeletableTopicResult,
  createDeleteTopicsResponse,
  type DeletableTopicResult,
  type DeleteTopicsResponse,
} from "../../net/protocol/generated/delete_topics_response.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import type {
  IncrementalAlterConfigsRequest,
} from "../../net/protocol/generated/incremental_alter_configs_request.ts";
import {
  createAlterConfigsResourceResponse,
  createIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsResponse,
} from "../../net/protocol/generated/incremental_alter_configs_response.ts";
import { createPartitionRecord } from "../../net/protocol/generated/partition_record.ts";
import { createProducerIdsRecord } from "../../net/protocol/generated/producer_ids_record.ts";
import { createRemoveTopicRecord } from "../../net/protocol/generated/remove_topic_record.ts";
import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
import type { UpdateFeaturesRequest } from "../../net/protocol/generated/update_features_request.ts";
import {
  createUpdatableFeatureResult,
  createUpdateFeaturesResponse,
  type UpdateFeaturesResponse,
} from "../../net/protocol/generated/update_features_response.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { METADATA_TOPIC_ID, uuidFromBytes, ZERO_UUID } from "../../net/protocol/uuid.ts";
import type { Random } from "../random.ts";
import {
  type ControllerContext,
  type ControllerResult,
  usableBrokers,
} from "./controller_context.ts";
import {
  ConfigResourceType,
  DIRECTORY_UNASSIGNED,
  isBrokerActive,
  type MetadataImage,
  metadataVersion,
  resourceConfigs,
} from "./image.ts";
import { placeReplicas } from "./placement.ts";
import { clearElrRecords, elrClearsForConfigChanges } from "./eligible_leader_replicas.ts";
import {
  ELR_VERSION_FEATURE,
  KRAFT_VERSION_FEATURE,
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  MetadataVersion,
  RecordType,
  recordVersionsFor,
} from "./records.ts";

export {
  alterPartition,
  brokerHeartbeat,
  brokerRegistration,
  hasValidSession,
  tick,
  unregisterBroker,
} from "./broker_control.ts";
export {
  balancePartitionLeaders,
  ElectionType,
  electLeaders,
  electUncleanLeaders,
  hasLeaderlessPartitions,
} from "./leader_election.ts";
export {
  alterPartitionReassignments,
  isReassigning,
  listPartitionReassignments,
} from "./reassignment.ts";
export {
  acceptsLeadership,
  buildPartitionChange,
  type Election,
  LeaderRecoveryState,
  type PartitionChangeInput,
} from "./partition_change.ts";
export type {
  BrokerResult,
  BrokerSession,
  BrokerSessions,
  ControllerConfig,
  ControllerContext,
  ControllerResult,
} from "./controller_context.ts";

/** Kafka's `Topic.MAX_NAME_LENGTH`. */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Producer ids handed out per AllocateProducerIds (`ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
/** ConfigSource ids reported by CreateTopics v5+ (DescribeConfigs' ConfigSource). */
export const ConfigSource = { TOPIC_CONFIG: 1, DEFAULT_CONFIG: 5 } as const;
/** IncrementalAlterConfigs operations (`AlterConfigOp.OpType`). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/**
 * Checks a topic name as Kafka's `Topic.validate`; returns the error message, or null when legal.
 *
 * @example
 * ```ts
 * import { topicNameError } from "./controller.ts";
 * topicNameError("orders"); // null
 * topicNameError(".."); // "Topic name cannot be \".\" or \"..\""
 * ```
 */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === "." || name === "..") return 'Topic name cannot be "." or ".."';
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_LENGTH_MAX} characters, ` +
      `topic name: ${name}`;
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII ` +
      `alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/**
 * The name two topics collide on when '.' and '_' are confused (Kafka's `Topic.unifyCollisionChars`).
 *
 * @example
 * ```ts
 * import { collisionKey } from "./controller.ts";
 * collisionKey("a.b") === collisionKey("a_b"); // true
 * ```
 */
export function collisionKey(name: string): string {
  return name.replaceAll(".", "_");
}

/**
 * The most partitions one CreateTopics or CreatePartitions request may create, as Kafka's
 * controller (`MAX_PARTITIONS_PER_BATCH`, `MAX_RECORDS_PER_USER_OP`): a request for 2^31
 * partitions otherwise held the controller placing replicas until the node stopped answering.
 */
export const PARTITIONS_PER_REQUEST_MAX = 10_000;

/** Options of {@link createTopics}. */
export interface CreateTopicsOptions {
  /** The request's API version; configs, partitions and RF are reported from v5. Default 7. */
  readonly apiVersion?: number;
}

/**
 * Handles CreateTopics: validates each topic independently, places replicas over unfenced
 * brokers, and writes TopicRecord, ConfigRecords and PartitionRecords for each created topic.
 *
 * @example
 * ```ts
 * import { createTopics } from "./controller.ts";
 * // const { records, response } = createTopics(image, request, ctx);
 * ```
 */
export function createTopics(
  image: MetadataImage,
  request: CreateTopicsRequest,
  ctx: ControllerContext & CreateTopicsOptions,
): ControllerResult<CreateTopicsResponse> {
  // An upper bound (topics refused later count too), checked before anything is placed.
  const partitionsAsked = request.topics.reduce(
    (sum, t) =>
      sum +
      (t.assignments.length > 0
        ? t.assignments.length
        : t.numPartitions === -1
        ? ctx.config.defaultNumPartitions
        : Math.max(0, t.numPartitions)),
    0,
  );
  if (partitionsAsked > PARTITIONS_PER_REQUEST_MAX) {
    const message = "Excessively large number of partitions per request.";
    return {
      records: [],
      response: createCreateTopicsResponse({
        topics: request.topics.map((t) => topicError(t.name, ErrorCode.POLICY_VIOLATION, message)),
      }),
    };
  }
  const records: MetadataRecord[] = [];
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const collisions = new Map<string, string>();
  for (const name of image.topics.byName.keys()) collisions.set(collisionKey(name), name);
  const takenIds = new Set<string>();
  const results = request.topics.map((t): CreatableTopicResult => {
    if (counts.get(t.name)! > 1) {
      return topicError(t.name, ErrorCode.INVALID_REQUEST, "Duplicate topic name.");
    }
    const created = createOneTopic(image, t, { ...ctx, collisions, takenIds });
    if (created instanceof KafkaError) return topicError(t.name, created.code, created.message);
    collisions.set(collisionKey(t.name), t.name);
    if (!request.validateOnly) records.push(...created.records);
    const result = createCreatableTopicResult({
      name: t.name,
      topicId: created.topicId,
      numPartitions: created.numPartitions,
      replicationFactor: created.replicationFactor,
    });
    if ((ctx.apiVersion ?? 7) >= 5) result.configs = created.configs;
    return result;
  });
  return { records, response: createCreateTopicsResponse({ topics: results }) };
}

function topicError(name: string, errorCode: number, errorMessage: string): CreatableTopicResult {
  return createCreatableTopicResult({ name, errorCode, errorMessage });
}

interface CreatedTopic {
  readonly topicId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly configs: CreatableTopicConfigs[];
  readonly records: MetadataRecord[];
}

interface CreateOneContext extends ControllerContext {
  readonly collisions: Map<string, string>;
  readonly takenIds: Set<string>;
}

function createOneTopic(
  image: MetadataImage,
  t: CreatableTopic,
  ctx: CreateOneContext,
): CreatedTopic | KafkaError {
  const nameError = topicNameError(t.name);
  if (nameError !== null) return new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
  if (image.topics.byName.has(t.name)) {
    return new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
  }
  const collidesWith = ctx.collisions.get(collisionKey(t.name));
  if (collidesWith !== undefined) {
    return new KafkaError(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      `Topic '${t.name}' collides with existing topic: ${collidesWith}`,
    );
  }
  const configError = validateTopicConfigs(t, ctx);
  if (configError !== null) return configError;
  let assignments: number[][];
  try {
    assignments = t.assignments.length > 0
      ? manualAssignments(image, t)
      : automaticAssignments(image, t, ctx);
  } catch (e) {
    if (e instanceof KafkaError) return e;
    throw e;
  }
  const topicId = newTopicId(image, ctx.random, ctx.takenIds);
  ctx.takenIds.add(topicId);
  const version = recordVersionsFor(metadataVersion(image)).partition;
  const records: MetadataRecord[] = [
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: t.name, topicId })),
  ];
  for (const c of t.configs) {
    records.push(makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: ConfigResourceType.TOPIC,
        resourceName: t.name,
        name: c.name,
        value: c.value,
      }),
    ));
  }
  assignments.forEach((replicas, partitionId) => {
    records.push(newPartitionRecord(image, { topicId, partitionId, replicas, version }));
  });
  return {
    topicId,
    numPartitions: assignments.length,
    replicationFactor: assignments[0]?.length ?? 0,
    configs: resultingConfigs(t, ctx),
    records,
  };
}

function validateTopicConfigs(t: CreatableTopic, ctx: ControllerContext): KafkaError | null {
  const seen = new Set<string>();
  for (const c of t.configs) {
    if (seen.has(c.name)) {
      return new KafkaError(ErrorCode.INVALID_REQUEST, `Duplicate config name ${c.name}.`);
    }
    seen.add(c.name);
    if (c.value === null) {
      return new KafkaError(
        ErrorCode.INVALID_CONFIG,
        `Null value not supported for topic config ${c.name}.`,
      );
    }
    const message = ctx.config.validateConfig?.(ConfigResourceType.TOPIC, c.name, c.value) ?? null;
    if (message !== null) return new KafkaError(ErrorCode.INVALID_CONFIG, message);
  }
  return null;
}

function resultingConfigs(t: CreatableTopic, ctx: ControllerContext): CreatableTopicConfigs[] {
  const out: CreatableTopicConfigs[] = [];
  const overrides = new Map(t.configs.map((c) => [c.name, c.value]));
  for (const [name, value] of ctx.config.topicConfigDefaults ?? []) {
    const override = overrides.has(name);
    out.push(createCreatableTopicConfigs({
      name,
      value: override ? overrides.get(name)! : value,
      configSource: override ? ConfigSource.TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG,
    }));
  }
  for (const [name, value] of overrides) {
    if (ctx.config.topicConfigDefaults?.has(name)) continue;
    out.push(createCreatableTopicConfigs({ name, value, configSource: ConfigSource.TOPIC_CONFIG }));
  }
  return out;
}

function manualAssignments(image: MetadataImage, t: CreatableTopic): number[][] {
  if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
    throw new KafkaError(
      ErrorCode.INVALID_REQUEST,
      "Both numPartitions or replicationFactor and replicasAssignments were set. " +
        "Both cannot be used at the same time.",
    );
  }
  const byIndex = new Map<number, number[]>();
  for (const a of t.assignments) byIndex.set(a.partitionIndex, a.brokerIds);
  const out: number[][] = [];
  for (let i = 0; i < t.assignments.length; i++) {
    const replicas = byIndex.get(i);
    if (replicas === undefined) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Partitions should be a consecutive 0-based integer sequence, but partition ${i} is missing.`,
      );
    }
    validateManualReplicas(image, i, replicas, out[0]?.length);
    out.push(replicas);
  }
  return out;
}

function validateManualReplicas(
  image: MetadataImage,
  partitionId: number,
  replicas: readonly number[],
  expectedLength: number | undefined,
): void {
  const fail = (why: string) => {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment for partition ${partitionId} ${why}.`,
    );
  };
  if (replicas.length === 0) fail("is empty");
  if (new Set(replicas).size !== replicas.length) fail("contains duplicate broker ids");
  if (expectedLength !== undefined && replicas.length !== expectedLength) {
    fail(`has ${replicas.length} replica(s), but other partitions have ${expectedLength}`);
  }
  for (const r of replicas) {
    if (!image.cluster.brokers.has(r)) fail(`includes broker ${r}, which is not registered`);
  }
  if (!replicas.some((r) => isBrokerActive(image, r))) {
    fail("only includes brokers that are fenced or in controlled shutdown");
  }
}

function automaticAssignments(
  image: MetadataImage,
  t: CreatableTopic,
  ctx: ControllerContext,
): number[][] {
  const numPartitions = t.numPartitions === -1 ? ctx.config.defaultNumPartitions : t.numPartitions;
  const replicationFactor = t.replicationFactor === -1
    ? ctx.config.defaultReplicationFactor
    : t.replicationFactor;
  if (numPartitions <= 0) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `Number of partitions was set to an invalid non-positive value (${numPartitions}).`,
    );
  }
  return placeReplicas(usableBrokers(image), {
    numPartitions,
    replicationFactor,
    random: ctx.random,
  });
}

interface NewPartition {
  readonly topicId: string;
  readonly partitionId: number;
  readonly replicas: readonly number[];
  readonly version: number;
}

/** A new partition: ISR = its active replicas, leader = the first of them, epochs 0. */
function newPartitionRecord(image: MetadataImage, p: NewPartition): MetadataRecord {
  const isr = p.replicas.filter((r) => isBrokerActive(image, r));
  return makeRecord(
    RecordType.PARTITION,
    p.version,
    createPartitionRecord({
      partitionId: p.partitionId,
      topicId: p.topicId,
      replicas: [...p.replicas],
      isr,
      leader: isr[0] ?? -1,
      leaderEpoch: 0,
      partitionEpoch: 0,
      directories: p.version >= 1 ? p.replicas.map(() => DIRECTORY_UNASSIGNED) : [],
    }),
  );
}

/**
 * A random topic id from the injected generator, never zero, the metadata topic id, one starting
 * with '-', or one already in use (as Kafka's `Uuid.randomUuid` plus the controller's check).
 */
function newTopicId(image: MetadataImage, random: Random, taken: ReadonlySet<string>): string {
  const bytes = new Uint8Array(16);
  for (let attempt = 0; attempt < 100; attempt++) {
    for (let i = 0; i < 16; i++) bytes[i] = random.intBelow(256);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const id = uuidFromBytes(bytes);
    if (id === ZERO_UUID || id === METADATA_TOPIC_ID || id.startsWith("-")) continue;
    if (image.topics.byId.has(id) || taken.has(id)) continue;
    return id;
  }
  throw new Error("Cannot generate a topic id: the random source keeps producing taken ids");
}

/**
 * Handles DeleteTopics by name (v0-5 `topicNames`) and by name or id (v6 `topics`); each deleted
 * topic gets one RemoveTopicRecord (its configs go with it).
 *
 * @example
 * ```ts
 * import { deleteTopics } from "./controller.ts";
 * // const { records, response } = deleteTopics(image, request, ctx);
 * ```
 */
export function deleteTopics(
  image: MetadataImage,
  request: DeleteTopicsRequest,
  _ctx: ControllerContext,
): ControllerResult<DeleteTopicsResponse> {
  const records: MetadataRecord[] = [];
  const removed = new Set<string>();
  const wanted = [
    ...request.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID })),
    ...request.topics.map((t) => ({ name: t.name, topicId: t.topicId })),
  ];
  const responses = wanted.map((w): DeletableTopicResult => {
    const byId = w.topicId !== ZERO_UUID;
    if (byId && w.name !== null) {
      return createDeletableTopicResult({
        name: w.name,
        topicId: w.topicId,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: "Only one of the topic name and the topic id may be set.",
      });
    }
    const topic = byId ? image.topics.byId.get(w.topicId) : image.topics.byName.get(w.name ?? "");
    if (topic === undefined) {
      return createDeletableTopicResult({
        name: w.name,
        topicId: w.topicId,
        errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: byId
          ? `Topic id ${w.topicId} does not exist.`
          : "This server does not host this topic-partition.",
      });
    }
    if (removed.has(topic.id)) {
      return createDeletableTopicResult({
        name: topic.name,
        topicId: topic.id,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: "Duplicate topic in the request.",
      });
    }
    removed.add(topic.id);
    records.push(
      makeRecord(RecordType.REMOVE_TOPIC, 0, createRemoveTopicRecord({ topicId: topic.id })),
    );
    return createDeletableTopicResult({ name: topic.name, topicId: topic.id });
  });
  return { records, response: createDeleteTopicsResponse({ responses }) };
}

/**
 * Handles CreatePartitions: the count must grow; new partitions get manual assignments (as many
 * as new partitions, same replication factor) or are placed like CreateTopics.
 *
 * @example
 * ```ts
 * import { createPartitions } from "./controller.ts";
 * // const { records, response } = createPartitions(image, request, ctx);
 * ```
 */
export function createPartitions(
  image: MetadataImage,
  request: CreatePartitionsRequest,
  ctx: ControllerContext,
): ControllerResult<CreatePartitionsResponse> {
  const partitionsAdded = request.topics.reduce((sum, t) => {
    const current = image.topics.byName.get(t.name)?.partitions.size;
    return sum + (current === undefined ? 0 : Math.max(0, t.count - current));
  }, 0);
  if (partitionsAdded > PARTITIONS_PER_REQUEST_MAX) {
    // Kafka's controller fails the whole request once its records outgrow the bound.
    return {
      records: [],
      response: createCreatePartitionsResponse({
        results: request.topics.map((t) =>
          createCreatePartitionsTopicResult({
            name: t.name,
            errorCode: ErrorCode.POLICY_VIOLATION,
            errorMessage: "Unable to perform excessively large batch operation.",
          })
        ),
      }),
    };
  }
  const records: MetadataRecord[] = [];
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const results = request.topics.map((t) => {
    let errorCode: number = ErrorCode.NONE;
    let errorMessage: string | null = null;
    try {
      if (counts.get(t.name)! > 1) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, "Duplicate topic name.");
      }
      const created = addPartitions(image, t, ctx);
      if (!request.validateOnly) records.push(...created);
    } catch (e) {
      if (!(e instanceof KafkaError)) throw e;
      errorCode = e.code;
      errorMessage = e.message;
    }
    return createCreatePartitionsTopicResult({ name: t.name, errorCode, errorMessage });
  });
  return { records, response: createCreatePartitionsResponse({ results }) };
}

function addPartitions(
  image: MetadataImage,
  t: CreatePartitionsTopic,
  ctx: ControllerContext,
): MetadataRecord[] {
  const topic = image.topics.byName.get(t.name);
  if (topic === undefined) {
    throw new KafkaError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      "This server does not host this topic-partition.",
    );
  }
  const current = topic.partitions.size;
  if (t.count < current) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`,
    );
  }
  if (t.count === current) {
    throw new KafkaError(
      ErrorCode.INVALID_PARTITIONS,
      `Topic already has ${current} partition(s).`,
    );
  }
  const additional = t.count - current;
  const existingRf = topic.partitions.get(0)?.replicas.length ??
    topic.partitions.values().next().value?.replicas.length ?? 1;
  let assignments: number[][];
  if (t.assignments !== null) {
    if (t.assignments.length !== additional) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Attempted to add ${additional} additional partition(s), but only ` +
          `${t.assignments.length} assignment(s) were specified.`,
      );
    }
    assignments = t.assignments.map((a, i) => {
      validateManualReplicas(image, current + i, a.brokerIds, existingRf);
      return a.brokerIds;
    });
  } else {
    assignments = placeReplicas(usableBrokers(image), {
      numPartitions: additional,
      replicationFactor: existingRf,
      random: ctx.random,
    });
  }
  const version = recordVersionsFor(metadataVersion(image)).partition;
  return assignments.map((replicas, i) =>
    newPartitionRecord(image, { topicId: topic.id, partitionId: current + i, replicas, version })
  );
}

/** One resource's requested changes: config name -> new value (null = delete). */
type ConfigChanges = Map<string, string | null>;

/**
 * Handles IncrementalAlterConfigs for topic and broker resources (SET, DELETE, APPEND, SUBTRACT);
 * broker resource name "" is the cluster-wide default.
 *
 * @example
 * ```ts
 * import { incrementalAlterConfigs } from "./controller.ts";
 * // const { records, response } = incrementalAlterConfigs(image, request, ctx);
 * ```
 */
export function incrementalAlterConfigs(
  image: MetadataImage,
  request: IncrementalAlterConfigsRequest,
  ctx: ControllerContext,
): ControllerResult<IncrementalAlterConfigsResponse> {
  const records: MetadataRecord[] = [];
  const responses = request.resources.map((res) => {
    const outcome = alterResource(image, res.resourceType, res.resourceName, ctx, () => {
      const current = resourceConfigs(image, res.resourceType, res.resourceName);
      const changes: ConfigChanges = new Map();
      for (const c of res.configs) {
        if (changes.has(c.name)) {
          throw new KafkaError(ErrorCode.INVALID_REQUEST, `Duplicate config name ${c.name}.`);
        }
        changes.set(c.name, incrementalValue(res.resourceType, current.get(c.name), c, ctx));
      }
      return changes;
    });
    if (outcome instanceof KafkaError) return resourceError(res, outcome);
    if (!request.validateOnly) records.push(...outcome);
    return createAlterConfigsResourceResponse({
      resourceType: res.resourceType,
      resourceName: res.resourceName,
    });
  });
  // KIP-966: eligibility judged under another min.insync.replicas no longer holds.
  records.push(...elrClearsForConfigChanges(image, records));
  return { records, response: createIncrementalAlterConfigsResponse({ responses }) };
}

function incrementalValue(
  resourceType: number,
  current: string | undefined,
  c: { name: string; configOperation: number; value: string | null },
  ctx: ControllerContext,
): string | null {
  switch (c.configOperation) {
    case ConfigOperation.SET:
      if (c.value === null) {
        throw new KafkaError(ErrorCode.INVALID_CONFIG, `Null value not supported for ${c.name}.`);
      }
      return c.value;
    case ConfigOperation.DELETE:
      return null;
    case ConfigOperation.APPEND:
    case ConfigOperation.SUBTRACT: {
      if (!(ctx.config.isListConfig?.(resourceType, c.name) ?? false)) {
        throw new KafkaError(
          ErrorCode.INVALID_CONFIG,
          `Config value append/subtract is not allowed for config key ${c.name}: it is not a list.`,
        );
      }
      const items = splitList(current ?? "");
      const given = splitList(c.value ?? "");
      const next = c.configOperation === ConfigOperation.APPEND
        ? [...items, ...given.filter((v) => !items.includes(v))]
        : items.filter((v) => !given.includes(v));
      return next.join(",");
    }
    default:
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Unknown config operation ${c.configOperation} for ${c.name}.`,
      );
  }
}

function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Handles the legacy AlterConfigs: the resource's overrides become exactly the request's configs.
 *
 * @example
 * ```ts
 * import { alterConfigs } from "./controller.ts";
 * // const { records, response } = alterConfigs(image, request, ctx);
 * ```
 */
export function alterConfigs(
  image: MetadataImage,
  request: AlterConfigsRequest,
  ctx: ControllerContext,
): ControllerResult<AlterConfigsResponse> {
  const records: MetadataRecord[] = [];
  const responses = request.resources.map((res) => {
    const outcome = alterResource(image, res.resourceType, res.resourceName, ctx, () => {
      const changes: ConfigChanges = new Map();
      for (const name of resourceConfigs(image, res.resourceType, res.resourceName).keys()) {
        changes.set(name, null);
      }
      for (const c of res.configs) changes.set(c.name, c.value);
      return changes;
    });
    if (outcome instanceof KafkaError) return resourceError(res, outcome);
    if (!request.validateOnly) records.push(...outcome);
    return createAlterConfigsResourceResponse({
      resourceType: res.resourceType,
      resourceName: res.resourceName,
    });
  });
  records.push(...elrClearsForConfigChanges(image, records));
  return { records, response: createAlterConfigsResponse({ responses }) };
}

function resourceError(res: { resourceType: number; resourceName: string }, e: KafkaError) {
  return createAlterConfigsResourceResponse({
    resourceType: res.resourceType,
    resourceName: res.resourceName,
    errorCode: e.code,
    errorMessage: e.message,
  });
}

/** Checks the resource, computes its changes, validates them, and returns the ConfigRecords. */
function alterResource(
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
  ctx: ControllerContext,
  computeChanges: () => ConfigChanges,
): MetadataRecord[] | KafkaError {
  try {
    if (resourceType === ConfigResourceType.TOPIC) {
      if (!image.topics.byName.has(resourceName)) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `The topic '${resourceName}' does not exist.`,
        );
      }
    } else if (resourceType === ConfigResourceType.BROKER) {
      if (resourceName !== "" && !/^[0-9]+$/.test(resourceName)) {
        throw new KafkaError(
          ErrorCode.INVALID_REQUEST,
          `Broker resource name ${JSON.stringify(resourceName)} is neither empty nor a broker id.`,
        );
      }
    } else {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Resource type ${resourceType} is not supported by this controller.`,
      );
    }
    const current = resourceConfigs(image, resourceType, resourceName);
    const records: MetadataRecord[] = [];
    for (const [name, value] of computeChanges()) {
      const message = ctx.config.validateConfig?.(resourceType, name, value) ?? null;
      if (message !== null) throw new KafkaError(ErrorCode.INVALID_CONFIG, message);
      if ((current.get(name) ?? null) === value) continue;
      records.push(makeRecord(
        RecordType.CONFIG,
        0,
        createConfigRecord({ resourceType, resourceName, name, value }),
      ));
    }
    return records;
  } catch (e) {
    if (e instanceof KafkaError) return e;
    throw e;
  }
}

/**
 * Handles AllocateProducerIds: hands the broker the next block of {@link PRODUCER_ID_BLOCK_SIZE}
 * ids and records where the following block starts, so ids are never reused.
 *
 * @example
 * ```ts
 * import { allocateProducerIds } from "./controller.ts";
 * // const { records, response } = allocateProducerIds(image, request, ctx);
 * ```
 */
export function allocateProducerIds(
  image: MetadataImage,
  request: AllocateProducerIdsRequest,
  _ctx: ControllerContext,
): ControllerResult<AllocateProducerIdsResponse> {
  const b = image.cluster.brokers.get(request.brokerId);
  if (b === undefined || BigInt(b.epoch) !== request.brokerEpoch) {
    return {
      records: [],
      response: createAllocateProducerIdsResponse({ errorCode: ErrorCode.STALE_BROKER_EPOCH }),
    };
  }
  const start = image.nextProducerId;
  const next = start + BigInt(PRODUCER_ID_BLOCK_SIZE);
  if (next > 0x7fffffffffffffffn) {
    return {
      records: [],
      response: createAllocateProducerIdsResponse({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR }),
    };
  }
  return {
    records: [makeRecord(
      RecordType.PRODUCER_IDS,
      0,
      createProducerIdsRecord({
        brokerId: request.brokerId,
        brokerEpoch: request.brokerEpoch,
        nextProducerId: next,
      }),
    )],
    response: createAllocateProducerIdsResponse({
      producerIdStart: start,
      producerIdLen: PRODUCER_ID_BLOCK_SIZE,
    }),
  };
}

/** UpdateFeatures v1 upgrade types. */
export const FeatureUpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

/**
 * Handles UpdateFeatures, all or nothing: each level must be supported by this controller and
 * every registered broker and controller; metadata.version may only move up (and never to 0);
 * kraft.version is managed by the Raft layer and refused here.
 *
 * @example
 * ```ts
 * import { updateFeatures } from "./controller.ts";
 * // const { records, response } = updateFeatures(image, request, ctx);
 * ```
 */
export function updateFeatures(
  image: MetadataImage,
  request: UpdateFeaturesRequest,
  ctx: ControllerContext,
): ControllerResult<UpdateFeaturesResponse> {
  const records: MetadataRecord[] = [];
  let failed = false;
  const results = request.featureUpdates.map((u) => {
    const error = featureUpdateError(image, u, ctx);
    if (error !== null) {
      failed = true;
      return createUpdatableFeatureResult({
        feature: u.feature,
        errorCode: ErrorCode.INVALID_UPDATE_VERSION,
        errorMessage: error,
      });
    }
    if ((image.features.get(u.feature) ?? 0) !== u.maxVersionLevel) {
      records.push(makeRecord(
        RecordType.FEATURE_LEVEL,
        0,
        createFeatureLevelRecord({ name: u.feature, featureLevel: u.maxVersionLevel }),
      ));
    }
    return createUpdatableFeatureResult({ feature: u.feature });
  });
  // KIP-966: with ELR off again no partition keeps eligibility it can no longer maintain.
  const elrOff = records.some((r) => {
    const f = r.data as { name: string; featureLevel: number };
    return r.type === RecordType.FEATURE_LEVEL && f.name === ELR_VERSION_FEATURE &&
      f.featureLevel === 0;
  });
  if (elrOff) records.push(...clearElrRecords(image, null));
  return {
    records: failed || request.validateOnly ? [] : records,
    response: createUpdateFeaturesResponse({ results }),
  };
}

function featureUpdateError(
  image: MetadataImage,
  u: { feature: string; maxVersionLevel: number; allowDowngrade: boolean; upgradeType: number },
  ctx: ControllerContext,
): string | null {
  const current = image.features.get(u.feature) ?? 0;
  const level = u.maxVersionLevel;
  if (u.feature === KRAFT_VERSION_FEATURE) {
    return "kraft.version is changed through the KRaft voter set, not UpdateFeatures.";
  }
  if (level < 0) return `Invalid level ${level} for feature ${u.feature}.`;
  const downgrade = level < current;
  const downgradeAllowed = u.allowDowngrade || u.upgradeType !== FeatureUpgradeType.UPGRADE;
  if (downgrade && !downgradeAllowed) {
    return `Cannot downgrade ${u.feature} from ${current} to ${level} without a downgrade type.`;
  }
  if (u.feature === METADATA_VERSION_FEATURE) {
    if (level < MetadataVersion.IBP_3_0_IV1) return "metadata.version cannot be removed.";
    if (downgrade) return "Downgrading metadata.version is not supported.";
  }
  if (level === 0) return null;
  const own = ctx.config.supportedFeatures.get(u.feature);
  if (own === undefined || level < own.min || level > own.max) {
    return `The controller does not support ${u.feature} level ${level}.`;
  }
  const nodes = [...image.cluster.brokers.values(), ...image.cluster.controllers.values()];
  for (const node of nodes) {
    const range = node.supportedFeatures.find((f) => f.name === u.feature);
    const min = range?.minSupportedVersion ?? 0;
    const max = range?.maxSupportedVersion ?? 0;
    if (level < min || level > max) {
      return `Node ${node.id} does not support ${u.feature} level ${level} (it supports ${min}-${max}).`;
    }
  }
  return null;
}
