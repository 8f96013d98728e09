/**
 * `Admin`: the administrative client behind the CLI tools, speaking Kafka's own RPCs (CreateTopics,
 * DescribeConfigs, OffsetFetch, DeleteRecords, ...). Every failure is a `KafkaError` carrying the
 * Kafka error code and a message naming the resource.
 *
 * @module
 */

import { KafkaError } from "../protocol/errors.ts";
import type { AclBinding, AclFilter } from "../../core/security/acl.ts";
import { createAclCreation } from "../protocol/generated/create_acls_request.ts";
import type { CreateAclsResponse } from "../protocol/generated/create_acls_response.ts";
import type { DescribeAclsResponse } from "../protocol/generated/describe_acls_response.ts";
import { createDeleteAclsFilter } from "../protocol/generated/delete_acls_request.ts";
import type { DeleteAclsResponse } from "../protocol/generated/delete_acls_response.ts";
import { createComponentData } from "../protocol/generated/describe_client_quotas_request.ts";
import type { DescribeClientQuotasResponse } from "../protocol/generated/describe_client_quotas_response.ts";
import {
  createEntityData as createAlterEntityData,
  createEntryData as createAlterEntryData,
  createOpData,
} from "../protocol/generated/alter_client_quotas_request.ts";
import type { AlterClientQuotasResponse } from "../protocol/generated/alter_client_quotas_response.ts";
import { Reader } from "../protocol/reader.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode, errorMessage } from "../protocol/generated/errors.ts";
import {
  createCreatableTopic,
  createCreatableTopicConfig,
} from "../protocol/generated/create_topics_request.ts";
import type { CreateTopicsResponse } from "../protocol/generated/create_topics_response.ts";
import { createMetadataRequestTopic } from "../protocol/generated/metadata_request.ts";
import type { MetadataResponse } from "../protocol/generated/metadata_response.ts";
import { createDeleteTopicState } from "../protocol/generated/delete_topics_request.ts";
import type { DeleteTopicsResponse } from "../protocol/generated/delete_topics_response.ts";
import { createCreatePartitionsTopic } from "../protocol/generated/create_partitions_request.ts";
import type { CreatePartitionsResponse } from "../protocol/generated/create_partitions_response.ts";
import { createDescribeConfigsResource } from "../protocol/generated/describe_configs_request.ts";
import type { DescribeConfigsResponse } from "../protocol/generated/describe_configs_response.ts";
import {
  createAlterableConfig,
  createAlterConfigsResource,
} from "../protocol/generated/incremental_alter_configs_request.ts";
import type { IncrementalAlterConfigsResponse } from "../protocol/generated/incremental_alter_configs_response.ts";
import type { ListGroupsResponse } from "../protocol/generated/list_groups_response.ts";
import type { ConsumerGroupDescribeResponse } from "../protocol/generated/consumer_group_describe_response.ts";
import type { DescribeGroupsResponse } from "../protocol/generated/describe_groups_response.ts";
import {
  createOffsetFetchRequestGroup,
  createOffsetFetchRequestTopic,
  createOffsetFetchRequestTopics,
} from "../protocol/generated/offset_fetch_request.ts";
import type { OffsetFetchResponse } from "../protocol/generated/offset_fetch_response.ts";
import {
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
} from "../protocol/generated/offset_commit_request.ts";
import type { OffsetCommitResponse } from "../protocol/generated/offset_commit_response.ts";
import type { DeleteGroupsResponse } from "../protocol/generated/delete_groups_response.ts";
import {
  createDeleteRecordsPartition,
  createDeleteRecordsTopic,
} from "../protocol/generated/delete_records_request.ts";
import type { DeleteRecordsResponse } from "../protocol/generated/delete_records_response.ts";
import {
  createListOffsetsPartition,
  createListOffsetsTopic,
} from "../protocol/generated/list_offsets_request.ts";
import type { ListOffsetsResponse } from "../protocol/generated/list_offsets_response.ts";
import type { DescribeClusterResponse } from "../protocol/generated/describe_cluster_response.ts";
import { createTopicPartitions } from "../protocol/generated/elect_leaders_request.ts";
import {
  createReassignablePartition,
  createReassignableTopic,
} from "../protocol/generated/alter_partition_reassignments_request.ts";
import type { AlterPartitionReassignmentsResponse } from "../protocol/generated/alter_partition_reassignments_response.ts";
import { createListPartitionReassignmentsTopics } from "../protocol/generated/list_partition_reassignments_request.ts";
import type { ListPartitionReassignmentsResponse } from "../protocol/generated/list_partition_reassignments_response.ts";
import type { ElectLeadersResponse } from "../protocol/generated/elect_leaders_response.ts";
import {
  createPartitionData as createQuorumPartition,
  createTopicData as createQuorumTopic,
} from "../protocol/generated/describe_quorum_request.ts";
import type { DescribeQuorumResponse } from "../protocol/generated/describe_quorum_response.ts";
import type { DescribeTopicPartitionsResponse } from "../protocol/generated/describe_topic_partitions_response.ts";
import { readConsumerProtocolAssignment } from "../protocol/generated/consumer_protocol_assignment.ts";
import type { DescribeUserScramCredentialsResponse } from "../protocol/generated/describe_user_scram_credentials_response.ts";
import { createUserName } from "../protocol/generated/describe_user_scram_credentials_request.ts";
import {
  createScramCredentialDeletion,
  createScramCredentialUpsertion,
} from "../protocol/generated/alter_user_scram_credentials_request.ts";
import type { AlterUserScramCredentialsResponse } from "../protocol/generated/alter_user_scram_credentials_response.ts";
import {
  saltedPassword,
  SCRAM_MECHANISMS,
  scramMechanismByType,
} from "../../core/security/scram.ts";
import {
  type BrokerAddress,
  check,
  type ClientOptions,
  Cluster,
  isRetriableFailure as isRetriable,
  kafkaError,
} from "./cluster.ts";

/** A user's SCRAM credentials as DescribeUserScramCredentials shows them (never a key). */
export interface UserScramCredentials {
  user: string;
  credentials: { mechanism: string; iterations: number }[];
}

/** One change of AlterUserScramCredentials. */
export type ScramAlteration =
  | { kind: "upsert"; user: string; mechanism: string; password: string; iterations?: number }
  | { kind: "delete"; user: string; mechanism: string };

/** A topic to create. Leave partitions/replicationFactor out for the broker defaults. */
export interface NewTopic {
  name: string;
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

/** A topic as CreateTopics reports it. */
export interface CreatedTopic {
  name: string;
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
}

/** One partition of {@link TopicDescription}. */
export interface PartitionDescription {
  partition: number;
  /** -1 when the partition has no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
  /** Eligible leader replicas (KIP-966); null when the broker did not report them. */
  elr: number[] | null;
  lastKnownElr: number[] | null;
  /** Replicas on fenced or unregistered brokers or offline log directories. */
  offline: number[];
}

/** A topic as describeTopics reports it. */
export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionDescription[];
}

/** Config resource types (ConfigResource.Type). */
export const ResourceType = { TOPIC: 2, GROUP: 3, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** Config sources, by the ids DescribeConfigs uses (ConfigEntry.ConfigSource). */
export const CONFIG_SOURCE_NAMES: Readonly<Record<number, string>> = {
  0: "UNKNOWN",
  1: "DYNAMIC_TOPIC_CONFIG",
  2: "DYNAMIC_BROKER_CONFIG",
  3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
  4: "STATIC_BROKER_CONFIG",
  5: "DEFAULT_CONFIG",
  6: "DYNAMIC_BROKER_LOGGER_CONFIG",
  7: "CLIENT_METRICS_CONFIG",
  8: "GROUP_CONFIG",
};

/** A config resource: a topic name, a broker id, or "" for the cluster-wide broker default. */
export interface ConfigResource {
  type: number;
  name: string;
}

/** One config value with where it came from. */
export interface ConfigEntry {
  name: string;
  value: string | null;
  /** A CONFIG_SOURCE_NAMES id. */
  source: number;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
}

/** An incremental change to one resource's configs. */
export interface ConfigAlteration extends ConfigResource {
  set?: Record<string, string>;
  delete?: readonly string[];
}

/** A group as ListGroups reports it. */
export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
}

/** A topic and partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One member of a described group. */
export interface MemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded from the "consumer" protocol assignment; empty for other protocol types. */
  assignment: TopicPartition[];
}

/** A group as DescribeGroups reports it. */
export interface GroupDescription {
  groupId: string;
  /** Stable, Empty, PreparingRebalance, CompletingRebalance or Dead. */
  state: string;
  protocolType: string;
  /** The assignor ("range") for consumer groups. */
  protocol: string;
  members: MemberDescription[];
  coordinator: BrokerAddress;
}

/** A committed offset of a group. */
export interface GroupOffset extends TopicPartition {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

/** Which offset listOffsets looks up: a named point or the first offset at/after a timestamp. */
export type OffsetSpec = "earliest" | "latest" | "max-timestamp" | { timestamp: number };

/** A listOffsets answer; `error` set when that partition failed. */
export interface ListedOffset extends TopicPartition {
  /** -1 when no offset matches (e.g. a timestamp after the last record). */
  offset: number;
  timestamp: number;
  leaderEpoch: number;
  error?: KafkaError;
}

/** A deleteRecords answer; `error` set when that partition failed. */
export interface DeletedRecords extends TopicPartition {
  lowWatermark: number;
  error?: KafkaError;
}

/** Which leader {@link Admin.electLeaders} elects (Kafka's `ElectionType`). */
export type ElectionType = "preferred" | "unclean";

/** One partition's outcome of {@link Admin.electLeaders}; `error` set when it was not elected. */
export interface ElectionOutcome extends TopicPartition {
  /** ELECTION_NOT_NEEDED when a valid leader already leads. */
  error?: KafkaError;
}

/** A partition reassignment to start (`replicas`) or cancel (`replicas` null), KIP-455. */
export interface PartitionReassignmentRequest extends TopicPartition {
  replicas: number[] | null;
}

/** One partition's outcome of {@link Admin.alterPartitionReassignments}. */
export interface ReassignmentOutcome extends TopicPartition {
  error?: KafkaError;
}

/** An ongoing partition reassignment, as ListPartitionReassignments reports it. */
export interface PartitionReassignment extends TopicPartition {
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** The cluster as DescribeCluster reports it. */
export interface ClusterDescription {
  clusterId: string;
  controllerId: number;
  brokers: BrokerAddress[];
}

/** One replica in {@link QuorumDescription}. */
export interface QuorumReplica {
  replicaId: number;
  replicaDirectoryId: string;
  logEndOffset: number;
  lastFetchTimestamp: number;
  lastCaughtUpTimestamp: number;
}

/** The KRaft quorum as DescribeQuorum reports it. */
export interface QuorumDescription {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumReplica[];
  observers: QuorumReplica[];
}

const SPEC_TIMESTAMPS = { "earliest": -2, "latest": -1, "max-timestamp": -3 } as const;

function num(value: bigint): number {
  return Number(value);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

/**
 * Decodes a "consumer" protocol assignment (int16 version, then ConsumerProtocolAssignment).
 *
 * @example
 * ```ts
 * import { decodeAssignment } from "./admin.ts";
 * decodeAssignment(new Uint8Array(0)); // []
 * ```
 */
export function decodeAssignment(bytes: Uint8Array): TopicPartition[] {
  if (bytes.length < 2) return [];
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    const assignment = readConsumerProtocolAssignment(r, Math.min(version, 3));
    return assignment.assignedPartitions.flatMap((tp) =>
      tp.partitions.map((partition) => ({ topic: tp.topic, partition }))
    );
  } catch {
    return [];
  }
}

/** How long createTopics waits for one broker's Metadata answer before not waiting for it. */
const LEADER_PROBE_MS = 1_000;

/**
 * The administrative client.
 *
 * @example
 * ```ts ignore
 * import { Admin } from "./admin.ts";
 * const admin = new Admin({ bootstrapServers: "127.0.0.1:9092" });
 * await admin.createTopics([{ name: "orders", numPartitions: 3, replicationFactor: 1 }]);
 * console.log(await admin.listTopics());
 * admin.close();
 * ```
 */
export class Admin {
  readonly cluster: Cluster;

  constructor(options: ClientOptions) {
    this.cluster = new Cluster(options);
  }

  async #any<T>(apiKey: number, body: Record<string, unknown>, maxVersion?: number): Promise<T> {
    return await this.cluster.retrying(async () => {
      const conn = await this.cluster.anyConnection();
      return await conn.send<T>(apiKey, body, { version: conn.versionFor(apiKey, maxVersion) });
    });
  }

  async #toNode<T>(
    nodeId: number,
    apiKey: number,
    body: Record<string, unknown>,
    maxVersion?: number,
  ): Promise<T> {
    const conn = await this.cluster.connectionTo(nodeId);
    return await conn.send<T>(apiKey, body, { version: conn.versionFor(apiKey, maxVersion) });
  }

  /**
   * Creates topics; throws the first topic's error (TOPIC_ALREADY_EXISTS, INVALID_CONFIG, ...).
   *
   * Then, unless `waitForLeaders` is false (or `validateOnly`), waits until every broker of the
   * cluster serves the new topics with a leader for each partition, as KafkaJS's
   * `createTopics({ waitForLeaders: true })` does by default: Kafka answers CreateTopics once the
   * controller committed the topic, and a broker that has not applied that record yet answers
   * UNKNOWN_TOPIC_OR_PARTITION to the producer or consumer asking it next. The wait is bounded by
   * `timeoutMs` (a broker that is down then is not waited for past it).
   */
  async createTopics(
    topics: readonly NewTopic[],
    options: { validateOnly?: boolean; timeoutMs?: number; waitForLeaders?: boolean } = {},
  ): Promise<CreatedTopic[]> {
    const response = await this.#any<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
      topics: topics.map((t) =>
        createCreatableTopic({
          name: t.name,
          numPartitions: t.numPartitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          configs: Object.entries(t.configs ?? {}).map(([name, value]) =>
            createCreatableTopicConfig({ name, value })
          ),
        })
      ),
      timeoutMs: options.timeoutMs ?? 30_000,
      validateOnly: options.validateOnly ?? false,
    });
    for (const r of response.topics) check(r.errorCode, `topic ${r.name}`, r.errorMessage);
    if (!options.validateOnly && options.waitForLeaders !== false) {
      await this.#waitForLeaders(response.topics.map((t) => t.name), options.timeoutMs ?? 30_000);
    }
    return response.topics.map((r) => ({
      name: r.name,
      topicId: r.topicId,
      numPartitions: r.numPartitions,
      replicationFactor: r.replicationFactor,
    }));
  }

  /**
   * Polls the brokers until each serves `names` with a leader per partition, or `timeoutMs`. A
   * broker that cannot be reached or does not answer within {@link LEADER_PROBE_MS} is not waited
   * for (it serves nobody now: killed, paused or partitioned away).
   */
  async #waitForLeaders(names: readonly string[], timeoutMs: number): Promise<void> {
    if (names.length === 0) return;
    const deadline = Date.now() + timeoutMs;
    const body = {
      topics: names.map((name) => createMetadataRequestTopic({ name })),
      allowAutoTopicCreation: false,
    };
    const probe = async (nodeId: number): Promise<"ready" | "waiting" | "gone"> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silent = new Promise<"gone">((resolve) => {
        timer = setTimeout(() => resolve("gone"), LEADER_PROBE_MS);
      });
      const asked = this.#toNode<MetadataResponse>(nodeId, ApiKey.METADATA, body, 12).then(
        (r) =>
          r.topics.length === names.length &&
            r.topics.every((t) =>
              t.errorCode === ErrorCode.NONE && t.partitions.length > 0 &&
              t.partitions.every((p) => p.leaderId >= 0)
            )
            ? "ready" as const
            : "waiting" as const,
        () => "gone" as const,
      );
      try {
        return await Promise.race([asked, silent]);
      } finally {
        clearTimeout(timer);
      }
    };
    await this.cluster.refreshMetadata([]).catch(() => {});
    let waiting = this.cluster.brokers.map((b) => b.nodeId);
    while (waiting.length > 0 && Date.now() < deadline) {
      const outcomes = await Promise.all(waiting.map(probe));
      waiting = waiting.filter((_, i) => outcomes[i] === "waiting");
      if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Deletes topics by name; throws the first error (UNKNOWN_TOPIC_OR_PARTITION, ...). */
  async deleteTopics(names: readonly string[], options: { timeoutMs?: number } = {}) {
    const conn = await this.cluster.anyConnection();
    const version = conn.versionFor(ApiKey.DELETE_TOPICS, 6);
    const body = version >= 6
      ? { topics: names.map((name) => createDeleteTopicState({ name })) }
      : { topicNames: [...names] };
    const response = await this.cluster.retrying(() =>
      conn.send<DeleteTopicsResponse>(
        ApiKey.DELETE_TOPICS,
        { ...body, timeoutMs: options.timeoutMs ?? 30_000 },
        { version },
      )
    );
    for (const r of response.responses) check(r.errorCode, `topic ${r.name}`, r.errorMessage);
    for (const name of names) this.cluster.invalidate(name);
  }

  /** Every topic name, sorted; internal topics only when `includeInternal`. */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const response = await this.cluster.retrying(() => this.cluster.refreshMetadata(null));
    return response.topics
      .filter((t) => t.name !== null && (options.includeInternal || !t.isInternal))
      .map((t) => t.name!)
      .sort();
  }

  /** Describes topics; throws UNKNOWN_TOPIC_OR_PARTITION naming the first missing topic. */
  async describeTopics(names: readonly string[]): Promise<TopicDescription[]> {
    if (names.length === 0) return [];
    const conn = await this.cluster.anyConnection();
    if (conn.versions.has(ApiKey.DESCRIBE_TOPIC_PARTITIONS)) {
      return await this.cluster.retrying(() => this.#describeTopicPartitions(names));
    }
    const response = await this.cluster.retrying(() => this.cluster.refreshMetadata(names));
    return names.map((name) => {
      const t = response.topics.find((x) => x.name === name);
      if (t === undefined || t.errorCode !== ErrorCode.NONE) {
        const code = t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        throw kafkaError(code, `topic ${name}`, unknownTopicMessage(code, name));
      }
      return {
        name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex,
          leader: p.leaderId,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          elr: null,
          lastKnownElr: null,
          offline: p.offlineReplicas,
        })).sort((a, b) => a.partition - b.partition),
      };
    });
  }

  async #describeTopicPartitions(names: readonly string[]): Promise<TopicDescription[]> {
    const byName = new Map<string, TopicDescription>();
    let cursor: { topicName: string; partitionIndex: number } | null = null;
    for (let page = 0; page < 10_000; page++) {
      const response: DescribeTopicPartitionsResponse = await this.#any(
        ApiKey.DESCRIBE_TOPIC_PARTITIONS,
        {
          topics: names.map((name) => ({ name, _unknownTaggedFields: [] })),
          responsePartitionLimit: 2000,
          cursor: cursor === null ? null : { ...cursor, _unknownTaggedFields: [] },
        },
      );
      for (const t of response.topics) {
        const name = t.name ?? "";
        if (t.errorCode !== ErrorCode.NONE) {
          throw kafkaError(t.errorCode, `topic ${name}`, unknownTopicMessage(t.errorCode, name));
        }
        const entry = byName.get(name) ??
          { name, topicId: t.topicId, isInternal: t.isInternal, partitions: [] };
        byName.set(name, entry);
        for (const p of t.partitions) {
          entry.partitions.push({
            partition: p.partitionIndex,
            leader: p.leaderId,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            elr: p.eligibleLeaderReplicas,
            lastKnownElr: p.lastKnownElr,
            offline: p.offlineReplicas,
          });
        }
      }
      if (response.nextCursor === null) break;
      cursor = response.nextCursor;
    }
    return names.map((name) => {
      const t = byName.get(name);
      if (t === undefined) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `Topic '${name}' does not exist`,
        );
      }
      t.partitions.sort((a, b) => a.partition - b.partition);
      return t;
    });
  }

  /** Raises the partition count of topics to `count`. */
  async createPartitions(
    increases: readonly { topic: string; count: number }[],
    options: { validateOnly?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    const response = await this.#any<CreatePartitionsResponse>(ApiKey.CREATE_PARTITIONS, {
      topics: increases.map((i) =>
        createCreatePartitionsTopic({ name: i.topic, count: i.count, assignments: null })
      ),
      timeoutMs: options.timeoutMs ?? 30_000,
      validateOnly: options.validateOnly ?? false,
    });
    for (const r of response.results) check(r.errorCode, `topic ${r.name}`, r.errorMessage);
    for (const i of increases) this.cluster.invalidate(i.topic);
  }

  /** Describes configs; a broker resource is asked of that broker. */
  async describeConfigs(
    resources: readonly ConfigResource[],
    options: { includeSynonyms?: boolean; keys?: string[] } = {},
  ): Promise<{ resource: ConfigResource; entries: ConfigEntry[] }[]> {
    const out: { resource: ConfigResource; entries: ConfigEntry[] }[] = [];
    for (const resource of resources) {
      const body = {
        resources: [
          createDescribeConfigsResource({
            resourceType: resource.type,
            resourceName: resource.name,
            configurationKeys: options.keys ?? null,
          }),
        ],
        includeSynonyms: options.includeSynonyms ?? true,
        includeDocumentation: false,
      };
      const response = await this.cluster.retrying(() =>
        this.#brokerResource(resource)
          ? this.#toNode<DescribeConfigsResponse>(
            Number(resource.name),
            ApiKey.DESCRIBE_CONFIGS,
            body,
          )
          : this.#any<DescribeConfigsResponse>(ApiKey.DESCRIBE_CONFIGS, body)
      );
      for (const r of response.results) {
        check(r.errorCode, `${resourceLabel(resource)}`, r.errorMessage);
        out.push({
          resource,
          entries: r.configs.map((c) => ({
            name: c.name,
            value: c.value,
            source: c.configSource,
            isDefault: c.configSource === 5 || (c.configSource === -1 && c.isDefault),
            readOnly: c.readOnly,
            sensitive: c.isSensitive,
            synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })),
          })),
        });
      }
    }
    return out;
  }

  #brokerResource(resource: ConfigResource): boolean {
    return (resource.type === ResourceType.BROKER ||
      resource.type === ResourceType.BROKER_LOGGER) &&
      resource.name !== "";
  }

  /**
   * Applies incremental config changes (IncrementalAlterConfigs SET / DELETE). A broker's own
   * configs go to that broker, unless `anyBroker` (a broker that is down: any broker forwards the
   * change to the controller, which keeps it for when the broker returns).
   */
  async alterConfigs(
    alterations: readonly ConfigAlteration[],
    options: { validateOnly?: boolean; anyBroker?: boolean } = {},
  ): Promise<void> {
    for (const a of alterations) {
      const configs = [
        ...Object.entries(a.set ?? {}).map(([name, value]) =>
          createAlterableConfig({ name, configOperation: 0, value })
        ),
        ...(a.delete ?? []).map((name) =>
          createAlterableConfig({ name, configOperation: 1, value: null })
        ),
      ];
      const body = {
        resources: [
          createAlterConfigsResource({ resourceType: a.type, resourceName: a.name, configs }),
        ],
        validateOnly: options.validateOnly ?? false,
      };
      const response = await this.cluster.retrying(() =>
        this.#brokerResource(a) && !options.anyBroker
          ? this.#toNode<IncrementalAlterConfigsResponse>(
            Number(a.name),
            ApiKey.INCREMENTAL_ALTER_CONFIGS,
            body,
          )
          : this.#any<IncrementalAlterConfigsResponse>(ApiKey.INCREMENTAL_ALTER_CONFIGS, body)
      );
      for (const r of response.responses) check(r.errorCode, resourceLabel(a), r.errorMessage);
    }
  }

  /** Lists groups on every broker, sorted by id. */
  async listGroups(options: { states?: string[] } = {}): Promise<GroupListing[]> {
    await this.cluster.retrying(() => this.cluster.refreshMetadata([]));
    const seen = new Map<string, GroupListing>();
    for (const broker of this.cluster.brokers) {
      const response = await this.cluster.retrying(() =>
        this.#toNode<ListGroupsResponse>(broker.nodeId, ApiKey.LIST_GROUPS, {
          statesFilter: options.states ?? [],
        })
      );
      check(response.errorCode, `groups on broker ${broker.nodeId}`);
      for (const g of response.groups) {
        seen.set(g.groupId, {
          groupId: g.groupId,
          protocolType: g.protocolType,
          state: g.groupState,
        });
      }
    }
    return [...seen.values()].sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** Describes groups at their coordinators; an unknown group reports state "Dead". */
  /** ConsumerGroupDescribe (KIP-848) of one group, or null when it is not a consumer group. */
  async #describeConsumerGroup(
    nodeId: number,
    groupId: string,
  ): Promise<Omit<GroupDescription, "coordinator"> | null> {
    let r: ConsumerGroupDescribeResponse;
    try {
      r = await this.#toNode<ConsumerGroupDescribeResponse>(
        nodeId,
        ApiKey.CONSUMER_GROUP_DESCRIBE,
        { groupIds: [groupId], includeAuthorizedOperations: false },
      );
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.UNSUPPORTED_VERSION) return null;
      throw error;
    }
    const g = r.groups[0];
    if (g === undefined || g.errorCode !== ErrorCode.NONE) return null;
    return {
      groupId,
      state: g.groupState,
      protocolType: "consumer",
      protocol: g.assignorName,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment.topicPartitions.flatMap((tp) =>
          tp.partitions.map((partition) => ({ topic: tp.topicName, partition }))
        ),
      })),
    };
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      out.push(
        await this.#atCoordinator(groupId, async (nodeId) => {
          const r = await this.#toNode<DescribeGroupsResponse>(nodeId, ApiKey.DESCRIBE_GROUPS, {
            groups: [groupId],
          });
          const g = r.groups[0];
          if (g === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `group ${groupId}`);
          check(g.errorCode, `group ${groupId}`);
          const coordinator = this.cluster.brokers.find((b) => b.nodeId === nodeId)!;
          // A KIP-848 group reads as Dead through the classic API: ask ConsumerGroupDescribe,
          // as Kafka's admin client does.
          if (g.groupState === "Dead") {
            const described = await this.#describeConsumerGroup(nodeId, groupId);
            if (described !== null) return { ...described, coordinator };
          }
          return {
            groupId,
            state: g.groupState,
            protocolType: g.protocolType,
            protocol: g.protocolData,
            coordinator,
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              assignment: g.protocolType === "consumer" ? decodeAssignment(m.memberAssignment) : [],
            })),
          };
        }),
      );
    }
    return out;
  }

  /** Runs `fn` against the group's coordinator, re-finding it on NOT_COORDINATOR and friends. */
  #atCoordinator<T>(groupId: string, fn: (nodeId: number) => Promise<T>): Promise<T> {
    return this.cluster.retrying(async () => {
      const nodeId = await this.cluster.coordinatorFor(groupId);
      return await fn(nodeId);
    });
  }

  /** A group's committed offsets (all partitions, or only `partitions`), sorted. */
  async listConsumerGroupOffsets(
    groupId: string,
    partitions?: readonly TopicPartition[],
  ): Promise<GroupOffset[]> {
    return await this.#atCoordinator(groupId, async (nodeId) => {
      const conn = await this.cluster.connectionTo(nodeId);
      const version = conn.versionFor(ApiKey.OFFSET_FETCH, 9);
      const wanted = partitions === undefined
        ? null
        : [...groupBy(partitions, (p) => p.topic)].map(([name, ps]) => ({
          name,
          partitionIndexes: ps.map((p) => p.partition),
        }));
      const body = version >= 8
        ? {
          groups: [
            createOffsetFetchRequestGroup({
              groupId,
              memberId: null,
              memberEpoch: -1,
              topics: wanted?.map((t) => createOffsetFetchRequestTopics(t)) ?? null,
            }),
          ],
        }
        : { groupId, topics: wanted?.map((t) => createOffsetFetchRequestTopic(t)) ?? null };
      const r = await conn.send<OffsetFetchResponse>(ApiKey.OFFSET_FETCH, body, { version });
      const group = version >= 8
        ? r.groups[0]
        : { groupId, topics: r.topics, errorCode: r.errorCode };
      if (group === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `group ${groupId}`);
      check(group.errorCode, `group ${groupId}`);
      const out: GroupOffset[] = [];
      for (const t of group.topics) {
        for (const p of t.partitions) {
          check(p.errorCode, `group ${groupId} partition ${t.name}-${p.partitionIndex}`);
          if (p.committedOffset < 0n) continue;
          out.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: num(p.committedOffset),
            leaderEpoch: p.committedLeaderEpoch,
            metadata: p.metadata,
          });
        }
      }
      return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    });
  }

  /** Commits offsets for a group with no active members (generation -1). */
  async alterConsumerGroupOffsets(
    groupId: string,
    offsets: readonly (TopicPartition & { offset: number; metadata?: string })[],
  ): Promise<void> {
    await this.#atCoordinator(groupId, async (nodeId) => {
      const r = await this.#toNode<OffsetCommitResponse>(nodeId, ApiKey.OFFSET_COMMIT, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [...groupBy(offsets, (o) => o.topic)].map(([name, ps]) =>
          createOffsetCommitRequestTopic({
            name,
            partitions: ps.map((p) =>
              createOffsetCommitRequestPartition({
                partitionIndex: p.partition,
                committedOffset: BigInt(p.offset),
                committedLeaderEpoch: -1,
                commitTimestamp: -1n,
                committedMetadata: p.metadata ?? "",
              })
            ),
          })
        ),
      }, 9);
      for (const t of r.topics) {
        for (const p of t.partitions) {
          check(p.errorCode, `group ${groupId} partition ${t.name}-${p.partitionIndex}`);
        }
      }
    });
  }

  /** Deletes groups; returns each group's error (undefined on success). */
  async deleteGroups(
    groupIds: readonly string[],
  ): Promise<{ groupId: string; error?: KafkaError }[]> {
    const out: { groupId: string; error?: KafkaError }[] = [];
    for (const groupId of groupIds) {
      try {
        await this.#atCoordinator(groupId, async (nodeId) => {
          const r = await this.#toNode<DeleteGroupsResponse>(nodeId, ApiKey.DELETE_GROUPS, {
            groupsNames: [groupId],
          });
          for (const g of r.results) check(g.errorCode, `group ${g.groupId}`);
        });
        out.push({ groupId });
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
        out.push({ groupId, error });
      }
    }
    return out;
  }

  /** Deletes records before `offset` (-1: the high watermark) at each partition's leader. */
  async deleteRecords(
    requests: readonly (TopicPartition & { offset: number })[],
    options: { timeoutMs?: number } = {},
  ): Promise<DeletedRecords[]> {
    return await this.#perLeader<TopicPartition & { offset: number }, DeletedRecords>(
      requests,
      async (nodeId, items) => {
        const r = await this.#toNode<DeleteRecordsResponse>(nodeId, ApiKey.DELETE_RECORDS, {
          topics: [...groupBy(items, (i) => i.topic)].map(([name, ps]) =>
            createDeleteRecordsTopic({
              name,
              partitions: ps.map((p) =>
                createDeleteRecordsPartition({
                  partitionIndex: p.partition,
                  offset: BigInt(p.offset),
                })
              ),
            })
          ),
          timeoutMs: options.timeoutMs ?? 30_000,
        });
        return r.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            lowWatermark: num(p.lowWatermark),
            errorCode: p.errorCode,
          }))
        );
      },
      (item, error) => ({ topic: item.topic, partition: item.partition, lowWatermark: -1, error }),
    );
  }

  /** Looks up offsets per partition at each leader. */
  async listOffsets(
    requests: readonly (TopicPartition & { spec: OffsetSpec })[],
    options: { isolationLevel?: 0 | 1 } = {},
  ): Promise<ListedOffset[]> {
    return await this.#perLeader<TopicPartition & { spec: OffsetSpec }, ListedOffset>(
      requests,
      async (nodeId, items) => {
        const conn = await this.cluster.connectionTo(nodeId);
        const needsMax = items.some((i) => i.spec === "max-timestamp");
        const version = conn.versionFor(ApiKey.LIST_OFFSETS, 9);
        if (needsMax && version < 7) {
          throw new KafkaError(
            ErrorCode.UNSUPPORTED_VERSION,
            `Broker ${nodeId} does not support max-timestamp lookups`,
          );
        }
        const r = await conn.send<ListOffsetsResponse>(ApiKey.LIST_OFFSETS, {
          replicaId: -1,
          isolationLevel: options.isolationLevel ?? 0,
          topics: [...groupBy(items, (i) => i.topic)].map(([name, ps]) =>
            createListOffsetsTopic({
              name,
              partitions: ps.map((p) =>
                createListOffsetsPartition({
                  partitionIndex: p.partition,
                  currentLeaderEpoch: -1,
                  timestamp: BigInt(
                    typeof p.spec === "string" ? SPEC_TIMESTAMPS[p.spec] : p.spec.timestamp,
                  ),
                  maxNumOffsets: 1,
                })
              ),
            })
          ),
        }, { version });
        return r.topics.flatMap((t) =>
          t.partitions.map((p) => ({
            topic: t.name,
            partition: p.partitionIndex,
            offset: version === 0 ? num(p.oldStyleOffsets[0] ?? -1n) : num(p.offset),
            timestamp: num(p.timestamp),
            leaderEpoch: p.leaderEpoch,
            errorCode: p.errorCode,
          }))
        );
      },
      (item, error) => ({
        topic: item.topic,
        partition: item.partition,
        offset: -1,
        timestamp: -1,
        leaderEpoch: -1,
        error,
      }),
    );
  }

  /**
   * Groups `items` by leader, sends each group with `send`, retries retriable per-partition errors
   * (after a metadata refresh), and reports the rest per item through `failed`.
   */
  async #perLeader<I extends TopicPartition, R extends TopicPartition>(
    items: readonly I[],
    send: (nodeId: number, items: I[]) => Promise<(R & { errorCode: number })[]>,
    failed: (item: I, error: KafkaError) => R,
  ): Promise<R[]> {
    const done = new Map<string, R>();
    let pending = [...items];
    let backoffMs = this.cluster.options.retryBackoffMs;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const last = attempt >= this.cluster.options.retries;
      const retry: I[] = [];
      const byLeader = new Map<number, I[]>();
      for (const item of pending) {
        try {
          const leader = await this.cluster.leaderFor(item.topic, item.partition);
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), item]);
        } catch (error) {
          if (!(error instanceof KafkaError)) throw error;
          if (!last && error.code === ErrorCode.LEADER_NOT_AVAILABLE) retry.push(item);
          else done.set(`${item.topic}-${item.partition}`, failed(item, error));
        }
      }
      for (const [nodeId, group] of byLeader) {
        let results: (R & { errorCode: number })[];
        try {
          results = await send(nodeId, group);
        } catch (error) {
          if (!last && isRetriable(error)) {
            retry.push(...group);
            continue;
          }
          throw error;
        }
        for (const r of results) {
          const item = group.find((i) => i.topic === r.topic && i.partition === r.partition);
          if (item === undefined) continue;
          const { errorCode, ...rest } = r;
          if (errorCode === ErrorCode.NONE) {
            done.set(`${r.topic}-${r.partition}`, rest as unknown as R);
          } else if (!last && isRetriable(new KafkaError(errorCode, ""))) retry.push(item);
          else {
            const error = kafkaError(errorCode, `partition ${r.topic}-${r.partition}`);
            done.set(`${r.topic}-${r.partition}`, failed(item, error));
          }
        }
      }
      pending = retry;
      if (pending.length > 0) {
        this.cluster.invalidate();
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 1000);
      }
    }
    return items.map((i) => done.get(`${i.topic}-${i.partition}`)!);
  }

  /**
   * Elects leaders (ElectLeaders, KIP-183/KIP-460): the preferred replica, or for leaderless
   * partitions any live replica (unclean: acknowledged records may be lost). `partitions` null
   * means every partition, and then only partitions that needed an election are reported.
   * Throws on a request-level error; per-partition errors are in the outcomes.
   */
  async electLeaders(
    electionType: ElectionType,
    partitions: readonly TopicPartition[] | null,
    options: { timeoutMs?: number } = {},
  ): Promise<ElectionOutcome[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    }
    const response = await this.cluster.retrying(async () => {
      const conn = await this.cluster.anyConnection();
      const version = conn.versionFor(ApiKey.ELECT_LEADERS, 2);
      if (electionType === "unclean" && version < 1) {
        throw kafkaError(ErrorCode.UNSUPPORTED_VERSION, "unclean leader election");
      }
      return await conn.send<ElectLeadersResponse>(ApiKey.ELECT_LEADERS, {
        electionType: electionType === "preferred" ? 0 : 1,
        topicPartitions: partitions === null
          ? null
          : [...byTopic].map(([topic, ids]) => createTopicPartitions({ topic, partitions: ids })),
        timeoutMs: options.timeoutMs ?? 30_000,
      }, { version });
    });
    check(response.errorCode, "leader election");
    return response.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((p) => ({
        topic: t.topic,
        partition: p.partitionId,
        ...(p.errorCode === ErrorCode.NONE ? {} : {
          // As Kafka's admin client: the server's message, else the error's own.
          error: new KafkaError(p.errorCode, p.errorMessage ?? errorMessage(p.errorCode)),
        }),
      }))
    );
  }

  /**
   * Starts or cancels partition reassignments (AlterPartitionReassignments, KIP-455). Throws on a
   * request-level error; per-partition errors (NO_REASSIGNMENT_IN_PROGRESS,
   * INVALID_REPLICA_ASSIGNMENT, UNKNOWN_TOPIC_OR_PARTITION) are in the outcomes.
   */
  async alterPartitionReassignments(
    reassignments: readonly PartitionReassignmentRequest[],
    options: { timeoutMs?: number } = {},
  ): Promise<ReassignmentOutcome[]> {
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const r of reassignments) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ partitionIndex: r.partition, replicas: r.replicas });
      byTopic.set(r.topic, list);
    }
    const response = await this.#any<AlterPartitionReassignmentsResponse>(
      ApiKey.ALTER_PARTITION_REASSIGNMENTS,
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        topics: [...byTopic].map(([name, partitions]) =>
          createReassignableTopic({
            name,
            partitions: partitions.map((p) => createReassignablePartition(p)),
          })
        ),
      },
    );
    check(response.errorCode, "partition reassignment", response.errorMessage);
    return response.responses.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        ...(p.errorCode === ErrorCode.NONE ? {} : {
          error: new KafkaError(p.errorCode, p.errorMessage ?? errorMessage(p.errorCode)),
        }),
      }))
    );
  }

  /** Ongoing partition reassignments, of the given partitions or of all (ListPartitionReassignments). */
  async listPartitionReassignments(
    partitions: readonly TopicPartition[] | null = null,
    options: { timeoutMs?: number } = {},
  ): Promise<PartitionReassignment[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    }
    const response = await this.#any<ListPartitionReassignmentsResponse>(
      ApiKey.LIST_PARTITION_REASSIGNMENTS,
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        topics: partitions === null
          ? null
          : [...byTopic].map(([name, partitionIndexes]) =>
            createListPartitionReassignmentsTopics({ name, partitionIndexes })
          ),
      },
    );
    check(response.errorCode, "partition reassignments", response.errorMessage);
    return response.topics.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        addingReplicas: p.addingReplicas,
        removingReplicas: p.removingReplicas,
      }))
    );
  }

  /** The cluster id, controller and brokers (DescribeCluster, or Metadata on old brokers). */
  async describeCluster(): Promise<ClusterDescription> {
    const conn = await this.cluster.anyConnection();
    if (!conn.versions.has(ApiKey.DESCRIBE_CLUSTER)) {
      const m = await this.cluster.retrying(() => this.cluster.refreshMetadata([]));
      return {
        clusterId: m.clusterId ?? "",
        controllerId: m.controllerId,
        brokers: this.cluster.brokers,
      };
    }
    const r = await this.#any<DescribeClusterResponse>(ApiKey.DESCRIBE_CLUSTER, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
    });
    check(r.errorCode, "cluster", r.errorMessage);
    return {
      clusterId: r.clusterId,
      controllerId: r.controllerId,
      brokers: r.brokers
        .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack }))
        .sort((a, b) => a.nodeId - b.nodeId),
    };
  }

  /** The KRaft quorum of `__cluster_metadata` (DescribeQuorum). */
  async describeQuorum(): Promise<QuorumDescription> {
    const r = await this.#any<DescribeQuorumResponse>(ApiKey.DESCRIBE_QUORUM, {
      topics: [
        createQuorumTopic({
          topicName: "__cluster_metadata",
          partitions: [createQuorumPartition({ partitionIndex: 0 })],
        }),
      ],
    });
    check(r.errorCode, "the metadata quorum", r.errorMessage);
    const p = r.topics[0]?.partitions[0];
    if (p === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "the metadata quorum");
    check(p.errorCode, "the metadata quorum", p.errorMessage);
    const replica = (s: (typeof p.currentVoters)[number]): QuorumReplica => ({
      replicaId: s.replicaId,
      replicaDirectoryId: s.replicaDirectoryId,
      logEndOffset: num(s.logEndOffset),
      lastFetchTimestamp: num(s.lastFetchTimestamp),
      lastCaughtUpTimestamp: num(s.lastCaughtUpTimestamp),
    });
    return {
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      highWatermark: num(p.highWatermark),
      voters: p.currentVoters.map(replica),
      observers: p.observers.map(replica),
    };
  }

  /**
   * Creates ACLs (CreateAcls); throws the first refusal (SECURITY_DISABLED without an authorizer,
   * INVALID_REQUEST with the reason, CLUSTER_AUTHORIZATION_FAILED).
   */
  async createAcls(bindings: readonly AclBinding[]): Promise<void> {
    const r = await this.#any<CreateAclsResponse>(ApiKey.CREATE_ACLS, {
      creations: bindings.map((b) =>
        createAclCreation({ ...b, resourcePatternType: b.patternType })
      ),
    });
    for (const result of r.results) check(result.errorCode, "ACLs", result.errorMessage);
  }

  /** The ACLs a filter matches (DescribeAcls). */
  async describeAcls(filter: AclFilter): Promise<AclBinding[]> {
    const r = await this.#any<DescribeAclsResponse>(ApiKey.DESCRIBE_ACLS, {
      resourceTypeFilter: filter.resourceType,
      resourceNameFilter: filter.resourceName,
      patternTypeFilter: filter.patternType,
      principalFilter: filter.principal,
      hostFilter: filter.host,
      operation: filter.operation,
      permissionType: filter.permissionType,
    });
    check(r.errorCode, "ACLs", r.errorMessage);
    return r.resources.flatMap((res) =>
      res.acls.map((a) => ({
        resourceType: res.resourceType,
        resourceName: res.resourceName,
        patternType: res.patternType,
        principal: a.principal,
        host: a.host,
        operation: a.operation,
        permissionType: a.permissionType,
      }))
    );
  }

  /** Deletes the ACLs each filter matches (DeleteAcls); returns what was deleted. */
  async deleteAcls(filters: readonly AclFilter[]): Promise<AclBinding[]> {
    const r = await this.#any<DeleteAclsResponse>(ApiKey.DELETE_ACLS, {
      filters: filters.map((f) =>
        createDeleteAclsFilter({
          resourceTypeFilter: f.resourceType,
          resourceNameFilter: f.resourceName,
          patternTypeFilter: f.patternType,
          principalFilter: f.principal,
          hostFilter: f.host,
          operation: f.operation,
          permissionType: f.permissionType,
        })
      ),
    });
    const deleted: AclBinding[] = [];
    for (const result of r.filterResults) {
      check(result.errorCode, "ACLs", result.errorMessage);
      for (const a of result.matchingAcls) {
        deleted.push({
          resourceType: a.resourceType,
          resourceName: a.resourceName,
          patternType: a.patternType,
          principal: a.principal,
          host: a.host,
          operation: a.operation,
          permissionType: a.permissionType,
        });
      }
    }
    return deleted;
  }

  /**
   * The SCRAM mechanisms and iterations of `users` (all users with credentials when omitted),
   * as Kafka's `Admin.describeUserScramCredentials` (KIP-554). Throws the first user's error
   * (RESOURCE_NOT_FOUND for a user without credentials).
   */
  async describeUserScramCredentials(
    users?: readonly string[],
  ): Promise<UserScramCredentials[]> {
    const r = await this.#any<DescribeUserScramCredentialsResponse>(
      ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS,
      { users: users === undefined ? null : users.map((name) => createUserName({ name })) },
    );
    check(r.errorCode, "SCRAM credentials", r.errorMessage);
    return r.results.map((result) => {
      check(result.errorCode, `SCRAM credentials of user ${result.user}`, result.errorMessage);
      return {
        user: result.user,
        credentials: result.credentialInfos.map((c) => ({
          mechanism: scramMechanismByType(c.mechanism)?.name ?? `mechanism ${c.mechanism}`,
          iterations: c.iterations,
        })),
      };
    });
  }

  /**
   * Adds, replaces or deletes SCRAM credentials (Kafka's `Admin.alterUserScramCredentials`):
   * the password is salted and iterated here, and only the salt and salted password travel, as
   * Kafka's admin does. Throws the first user's error.
   */
  async alterUserScramCredentials(alterations: readonly ScramAlteration[]): Promise<void> {
    const upsertions = [];
    const deletions = [];
    for (const a of alterations) {
      const mechanism = SCRAM_MECHANISMS.get(a.mechanism);
      if (mechanism === undefined) {
        throw new KafkaError(
          ErrorCode.UNSUPPORTED_SASL_MECHANISM,
          `Unknown SCRAM mechanism ${a.mechanism}`,
        );
      }
      if (a.kind === "delete") {
        deletions.push(createScramCredentialDeletion({ name: a.user, mechanism: mechanism.type }));
        continue;
      }
      const iterations = a.iterations ?? 4096;
      const salt = crypto.getRandomValues(new Uint8Array(32));
      upsertions.push(createScramCredentialUpsertion({
        name: a.user,
        mechanism: mechanism.type,
        iterations,
        salt,
        // The controller refuses too few iterations; Hi() itself needs a positive count.
        saltedPassword: await saltedPassword(mechanism, a.password, salt, Math.max(1, iterations)),
      }));
    }
    const r = await this.#any<AlterUserScramCredentialsResponse>(
      ApiKey.ALTER_USER_SCRAM_CREDENTIALS,
      { deletions, upsertions },
    );
    for (const result of r.results) {
      check(result.errorCode, `SCRAM credentials of user ${result.user}`, result.errorMessage);
    }
  }

  /**
   * The client quotas whose entity matches `components` (DescribeClientQuotas): matchType 0 an
   * exact name, 1 the default (null name), 2 any; `strict` excludes entities naming other types.
   */
  async describeClientQuotas(
    components: readonly { entityType: string; matchType: number; match: string | null }[],
    strict = false,
  ): Promise<ClientQuotaEntry[]> {
    const r = await this.#any<DescribeClientQuotasResponse>(ApiKey.DESCRIBE_CLIENT_QUOTAS, {
      components: components.map((c) => createComponentData(c)),
      strict,
    });
    check(r.errorCode, "client quotas", r.errorMessage);
    return (r.entries ?? []).map((e) => ({
      entity: e.entity.map((x) => ({ entityType: x.entityType, entityName: x.entityName })),
      values: new Map(e.values.map((v) => [v.key, v.value])),
    }));
  }

  /**
   * Sets (value) or removes (null) client quotas of one entity (AlterClientQuotas); throws the
   * broker's refusal (INVALID_REQUEST with the reason, CLUSTER_AUTHORIZATION_FAILED).
   */
  async alterClientQuotas(
    entity: readonly { entityType: string; entityName: string | null }[],
    ops: ReadonlyMap<string, number | null>,
    validateOnly = false,
  ): Promise<void> {
    const r = await this.#any<AlterClientQuotasResponse>(ApiKey.ALTER_CLIENT_QUOTAS, {
      entries: [
        createAlterEntryData({
          entity: entity.map((e) => createAlterEntityData(e)),
          ops: [...ops].map(([key, value]) =>
            createOpData({ key, value: value ?? 0, remove: value === null })
          ),
        }),
      ],
      validateOnly,
    });
    for (const e of r.entries) check(e.errorCode, "client quotas", e.errorMessage);
  }

  /** Closes every connection. */
  close(): void {
    this.cluster.close();
  }
}

/** One entity's client quotas, as DescribeClientQuotas lists them. */
export interface ClientQuotaEntry {
  entity: { entityType: string; entityName: string | null }[];
  values: Map<string, number>;
}

function unknownTopicMessage(code: number, name: string): string | null {
  return code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? `Topic '${name}' does not exist` : null;
}

function resourceLabel(resource: ConfigResource): string {
  if (resource.type === ResourceType.TOPIC) return `topic ${resource.name}`;
  if (resource.type === ResourceType.GROUP) return `group ${resource.name}`;
  return resource.name === "" ? "the default broker config" : `broker ${resource.name}`;
}
