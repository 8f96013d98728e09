/**
 * The metadata image: everything a KRaft node knows about the cluster, built only by applying
 * committed `__cluster_metadata` records (KIP-500, KIP-631). Kafka's `MetadataImage` and
 * `MetadataDelta` in one file.
 *
 * Images are immutable by convention (readonly types, never mutated after they are returned).
 * Applying a batch goes through a {@link MetadataDelta}: maps are copied at most once per batch
 * and a topic's partition map at most once per batch, so replaying a 1M-partition log or snapshot
 * costs one object per partition, not one map copy per record.
 *
 * @module
 */

import type { AccessControlEntryRecord } from "../../net/protocol/generated/access_control_entry_record.ts";
import type { ClientQuotaRecord } from "../../net/protocol/generated/client_quota_record.ts";
import type { DelegationTokenRecord } from "../../net/protocol/generated/delegation_token_record.ts";
import type { PartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
import type { PartitionRecord } from "../../net/protocol/generated/partition_record.ts";
import type { RegisterBrokerRecord } from "../../net/protocol/generated/register_broker_record.ts";
import type { UserScramCredentialRecord } from "../../net/protocol/generated/user_scram_credential_record.ts";
import { createConfigRecord } from "../../net/protocol/generated/config_record.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import { createProducerIdsRecord } from "../../net/protocol/generated/producer_ids_record.ts";
import {
  createBrokerEndpoint,
  createBrokerFeature,
  createRegisterBrokerRecord,
} from "../../net/protocol/generated/register_broker_record.ts";
import {
  createControllerEndpoint,
  createControllerFeature,
  createRegisterControllerRecord,
} from "../../net/protocol/generated/register_controller_record.ts";
import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
import { createZkMigrationStateRecord } from "../../net/protocol/generated/zk_migration_state_record.ts";
import { createBeginTransactionRecord } from "../../net/protocol/generated/begin_transaction_record.ts";
import { EMPTY_LIST, SHARED_LISTS } from "./list_pool.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  RecordType,
  recordVersionsFor,
} from "./records.ts";

/** Kafka's `DirectoryId.UNASSIGNED`: the replica's log directory is not known yet. */
export const DIRECTORY_UNASSIGNED = "AAAAAAAAAAAAAAAAAAAAAA";
/** Kafka's `DirectoryId.LOST`: the replica's log directory is offline. */
export const DIRECTORY_LOST = "AAAAAAAAAAAAAAAAAAAAAQ";
/** Kafka's `DirectoryId.MIGRATING`: written for replicas of records older than KIP-858. */
export const DIRECTORY_MIGRATING = "AAAAAAAAAAAAAAAAAAAAAg";

/** `PartitionRecord.Leader` / `PartitionChangeRecord.Leader`: there is no leader. */
export const NO_LEADER = -1;
/** `PartitionChangeRecord.Leader` default: the leader did not change. */
export const NO_LEADER_CHANGE = -2;

/** ConfigResource.Type ids used in ConfigRecord and the configs APIs. */
export const ConfigResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const;

/** One listener of a broker or controller. */
export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

/** A supported feature range a node announced at registration. */
export interface SupportedFeature {
  readonly name: string;
  readonly minSupportedVersion: number;
  readonly maxSupportedVersion: number;
}

/** A registered broker (Kafka's `BrokerRegistration`). */
export interface BrokerRegistration {
  readonly id: number;
  /** The broker epoch: the offset of its RegisterBrokerRecord. */
  readonly epoch: number;
  readonly incarnationId: string;
  readonly endpoints: readonly Endpoint[];
  readonly supportedFeatures: readonly SupportedFeature[];
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
  readonly isMigratingZkBroker: boolean;
  readonly logDirs: readonly string[];
}

/** A registered controller (KIP-919, Kafka's `ControllerRegistration`). */
export interface ControllerRegistration {
  readonly id: number;
  readonly incarnationId: string;
  readonly zkMigrationReady: boolean;
  readonly endpoints: readonly Endpoint[];
  readonly supportedFeatures: readonly SupportedFeature[];
}

/** One partition's replica set and leadership (Kafka's `PartitionRegistration`). */
export interface PartitionRegistration {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly addingReplicas: readonly number[];
  /** The log directory of each replica, in `replicas` order (KIP-858). */
  readonly directories: readonly string[];
  readonly leader: number;
  readonly leaderRecoveryState: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /**
   * KIP-966 eligible leader replicas: out of an ISR below min ISR, yet holding every committed
   * record, so electable once the ISR is empty (maintained by the controller with
   * `eligible.leader.replicas.version` 1; brokers only carry it).
   */
  readonly eligibleLeaderReplicas: readonly number[];
  /** KIP-966 LastKnownElr: the leader the partition had when its ISR became empty (Kafka 4.x). */
  readonly lastKnownElr: readonly number[];
}

/** A topic and its partitions by partition index. */
export interface TopicImage {
  readonly name: string;
  readonly id: string;
  readonly partitions: ReadonlyMap<number, PartitionRegistration>;
}

/** Topics by id and by name (the same objects in both maps). */
export interface TopicsImage {
  readonly byId: ReadonlyMap<string, TopicImage>;
  readonly byName: ReadonlyMap<string, TopicImage>;
}

/** Registered brokers and controllers. */
export interface ClusterImage {
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly controllers: ReadonlyMap<number, ControllerRegistration>;
}

/** The whole metadata image. */
export interface MetadataImage {
  /** Finalized feature levels by name, `metadata.version` included; level 0 is never stored. */
  readonly features: ReadonlyMap<string, number>;
  readonly cluster: ClusterImage;
  readonly topics: TopicsImage;
  /** Config overrides by {@link configResourceKey}, then by config name. */
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The first producer id of the next block the controller hands out. */
  readonly nextProducerId: bigint;
  /** Client quotas kept as their records, by entity and key. */
  readonly clientQuotas: ReadonlyMap<string, ClientQuotaRecord>;
  /** ACLs kept as their records, by id. */
  readonly acls: ReadonlyMap<string, AccessControlEntryRecord>;
  /** SCRAM credentials kept as their records, by user name and mechanism. */
  readonly scramCredentials: ReadonlyMap<string, UserScramCredentialRecord>;
  /** Delegation tokens kept as their records, by token id. */
  readonly delegationTokens: ReadonlyMap<string, DelegationTokenRecord>;
  /** ZkMigrationStateRecord value (0 = NONE). */
  readonly zkMigrationState: number;
  /**
   * Records of an open metadata transaction (KIP-868), applied only at EndTransactionRecord and
   * dropped at AbortTransactionRecord; null outside a transaction.
   */
  readonly pendingTransaction: readonly MetadataRecord[] | null;
}

/** A record could not be applied: the log is inconsistent with the image (a broken invariant). */
export class MetadataApplyError extends Error {
  override name = "MetadataApplyError";
}

/** The image before any record. */
export const EMPTY_IMAGE: MetadataImage = Object.freeze({
  features: new Map(),
  cluster: Object.freeze({ brokers: new Map(), controllers: new Map() }),
  topics: Object.freeze({ byId: new Map(), byName: new Map() }),
  configs: new Map(),
  nextProducerId: 0n,
  clientQuotas: new Map(),
  acls: new Map(),
  scramCredentials: new Map(),
  delegationTokens: new Map(),
  zkMigrationState: 0,
  pendingTransaction: null,
});

/**
 * The key of a config resource in {@link MetadataImage.configs}.
 *
 * @example
 * ```ts
 * import { ConfigResourceType, configResourceKey } from "./image.ts";
 * configResourceKey(ConfigResourceType.TOPIC, "orders"); // "2:orders"
 * ```
 */
export function configResourceKey(resourceType: number, resourceName: string): string {
  return `${resourceType}:${resourceName}`;
}

/**
 * The finalized metadata.version level, or 0 when none has been written yet.
 *
 * @example
 * ```ts
 * import { EMPTY_IMAGE, metadataVersion } from "./image.ts";
 * metadataVersion(EMPTY_IMAGE); // 0
 * ```
 */
export function metadataVersion(image: MetadataImage): number {
  return image.features.get(METADATA_VERSION_FEATURE) ?? 0;
}

/**
 * The config overrides of one resource (empty when it has none).
 *
 * @example
 * ```ts
 * import { ConfigResourceType, EMPTY_IMAGE, resourceConfigs } from "./image.ts";
 * resourceConfigs(EMPTY_IMAGE, ConfigResourceType.TOPIC, "orders").size; // 0
 * ```
 */
export function resourceConfigs(
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
): ReadonlyMap<string, string> {
  return image.configs.get(configResourceKey(resourceType, resourceName)) ?? EMPTY_MAP;
}

/**
 * True when the broker is registered, unfenced and not in controlled shutdown (an acceptable
 * leader, Kafka's `ClusterControlManager.isActive`).
 *
 * @example
 * ```ts
 * import { EMPTY_IMAGE, isBrokerActive } from "./image.ts";
 * isBrokerActive(EMPTY_IMAGE, 1); // false
 * ```
 */
export function isBrokerActive(image: MetadataImage, brokerId: number): boolean {
  const b = image.cluster.brokers.get(brokerId);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

const EMPTY_MAP: ReadonlyMap<string, string> = new Map();

/**
 * Applies one record. For batches use {@link applyRecords}: it copies each map at most once.
 *
 * @example
 * ```ts
 * import { applyRecord, EMPTY_IMAGE } from "./image.ts";
 * import { makeRecord, RecordType } from "./records.ts";
 * import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
 * const image = applyRecord(
 *   EMPTY_IMAGE,
 *   makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "a", topicId: "q1Sh-9_ISia_fV4lGz8fqw" })),
 * );
 * ```
 */
export function applyRecord(image: MetadataImage, record: MetadataRecord): MetadataImage {
  const delta = new MetadataDelta(image);
  delta.replay(record);
  return delta.apply();
}

/**
 * Applies records in order and returns the new image; the input image is untouched.
 *
 * @example
 * ```ts
 * import { applyRecords, EMPTY_IMAGE, imageToRecords } from "./image.ts";
 * const copy = applyRecords(EMPTY_IMAGE, imageToRecords(EMPTY_IMAGE));
 * ```
 */
export function applyRecords(
  image: MetadataImage,
  records: Iterable<MetadataRecord>,
): MetadataImage {
  const delta = new MetadataDelta(image);
  for (const record of records) delta.replay(record);
  return delta.apply();
}

/** A map copied from its base on the first write. */
class CowMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  #copy: Map<K, V> | null = null;

  constructor(base: ReadonlyMap<K, V>) {
    this.#base = base;
  }

  get(key: K): V | undefined {
    return (this.#copy ?? this.#base).get(key);
  }

  set(key: K, value: V): void {
    (this.#copy ??= new Map(this.#base)).set(key, value);
  }

  delete(key: K): void {
    if (this.get(key) !== undefined) (this.#copy ??= new Map(this.#base)).delete(key);
  }

  get changed(): boolean {
    return this.#copy !== null;
  }

  freeze(): ReadonlyMap<K, V> {
    return this.#copy ?? this.#base;
  }
}

interface TopicDraft {
  readonly name: string;
  readonly id: string;
  readonly partitions: Map<number, PartitionRegistration>;
}

/**
 * A batch of changes on top of an image (Kafka's `MetadataDelta`): `replay` records, then
 * `apply()` once to get the new image. The base image is never modified.
 *
 * @example
 * ```ts
 * import { EMPTY_IMAGE, MetadataDelta } from "./image.ts";
 * const delta = new MetadataDelta(EMPTY_IMAGE);
 * // delta.replay(record) for each committed record...
 * const image = delta.apply();
 * ```
 */
export class MetadataDelta {
  readonly #base: MetadataImage;
  readonly #features: CowMap<string, number>;
  readonly #brokers: CowMap<number, BrokerRegistration>;
  readonly #controllers: CowMap<number, ControllerRegistration>;
  readonly #topicsById: CowMap<string, TopicImage>;
  readonly #topicsByName: CowMap<string, TopicImage>;
  readonly #drafts = new Map<string, TopicDraft>();
  readonly #configs: CowMap<string, ReadonlyMap<string, string>>;
  readonly #ownedConfigs = new Set<string>();
  readonly #clientQuotas: CowMap<string, ClientQuotaRecord>;
  readonly #acls: CowMap<string, AccessControlEntryRecord>;
  readonly #scram: CowMap<string, UserScramCredentialRecord>;
  readonly #tokens: CowMap<string, DelegationTokenRecord>;
  #nextProducerId: bigint;
  #zkMigrationState: number;
  #pending: MetadataRecord[] | null;
  #applied = false;
  /** Ids of topics created or changed in this delta (deleted ones excluded). */
  readonly changedTopicIds = new Set<string>();
  /** Ids of topics removed in this delta, with their last image. */
  readonly deletedTopics = new Map<string, TopicImage>();

  constructor(base: MetadataImage) {
    this.#base = base;
    this.#features = new CowMap(base.features);
    this.#brokers = new CowMap(base.cluster.brokers);
    this.#controllers = new CowMap(base.cluster.controllers);
    this.#topicsById = new CowMap(base.topics.byId);
    this.#topicsByName = new CowMap(base.topics.byName);
    this.#configs = new CowMap(base.configs);
    this.#clientQuotas = new CowMap(base.clientQuotas);
    this.#acls = new CowMap(base.acls);
    this.#scram = new CowMap(base.scramCredentials);
    this.#tokens = new CowMap(base.delegationTokens);
    this.#nextProducerId = base.nextProducerId;
    this.#zkMigrationState = base.zkMigrationState;
    this.#pending = base.pendingTransaction === null ? null : [...base.pendingTransaction];
  }

  /** A topic as it stands in this delta. */
  topicById(topicId: string): TopicImage | undefined {
    return this.#topicsById.get(topicId);
  }

  /** A broker registration as it stands in this delta. */
  broker(brokerId: number): BrokerRegistration | undefined {
    return this.#brokers.get(brokerId);
  }

  /** Applies one record to the delta; throws {@link MetadataApplyError} when it does not fit. */
  replay(record: MetadataRecord): void {
    if (this.#applied) throw new MetadataApplyError("Cannot replay into a delta already applied");
    if (this.#pending !== null) {
      this.#replayInTransaction(record);
      return;
    }
    if (record.type === RecordType.BEGIN_TRANSACTION) {
      this.#pending = [];
      return;
    }
    if (
      record.type === RecordType.END_TRANSACTION || record.type === RecordType.ABORT_TRANSACTION
    ) {
      throw new MetadataApplyError(
        `Cannot apply record type ${record.type}: no metadata transaction is open`,
      );
    }
    this.#replayNow(record);
  }

  #replayInTransaction(record: MetadataRecord): void {
    const pending = this.#pending!;
    switch (record.type) {
      case RecordType.BEGIN_TRANSACTION:
        throw new MetadataApplyError(
          "Cannot begin a metadata transaction: another transaction is open",
        );
      case RecordType.END_TRANSACTION:
        this.#pending = null;
        for (const r of pending) this.#replayNow(r);
        return;
      case RecordType.ABORT_TRANSACTION:
        this.#pending = null;
        return;
      default:
        pending.push(record);
    }
  }

  #replayNow(record: MetadataRecord): void {
    switch (record.type) {
      case RecordType.REGISTER_BROKER:
        return this.#registerBroker(record.data);
      case RecordType.UNREGISTER_BROKER: {
        this.#brokerWithEpoch(record.data.brokerId, record.data.brokerEpoch, "unregister");
        this.#brokers.delete(record.data.brokerId);
        return;
      }
      case RecordType.FENCE_BROKER:
        return this.#changeBroker(record.data.id, record.data.epoch, 1, 0);
      case RecordType.UNFENCE_BROKER:
        return this.#changeBroker(record.data.id, record.data.epoch, -1, 0);
      case RecordType.BROKER_REGISTRATION_CHANGE: {
        const d = record.data;
        this.#changeBroker(d.brokerId, d.brokerEpoch, d.fenced, d.inControlledShutdown);
        if (record.version >= 2 && d.logDirs.length > 0) {
          const b = this.#brokers.get(d.brokerId)!;
          this.#brokers.set(d.brokerId, { ...b, logDirs: [...d.logDirs] });
        }
        return;
      }
      case RecordType.REGISTER_CONTROLLER: {
        const d = record.data;
        this.#controllers.set(d.controllerId, {
          id: d.controllerId,
          incarnationId: d.incarnationId,
          zkMigrationReady: d.zkMigrationReady,
          endpoints: d.endPoints.map(toEndpoint),
          supportedFeatures: d.features.map(toFeature),
        });
        return;
      }
      case RecordType.TOPIC:
        return this.#createTopic(record.data.name, record.data.topicId);
      case RecordType.PARTITION:
        return this.#putPartition(record.data, record.version);
      case RecordType.PARTITION_CHANGE:
        return this.#changePartition(record.data);
      case RecordType.REMOVE_TOPIC:
        return this.#removeTopic(record.data.topicId);
      case RecordType.CONFIG: {
        const d = record.data;
        this.#setConfig(configResourceKey(d.resourceType, d.resourceName), d.name, d.value);
        return;
      }
      case RecordType.FEATURE_LEVEL: {
        const d = record.data;
        if (d.featureLevel === 0) this.#features.delete(d.name);
        else this.#features.set(d.name, d.featureLevel);
        return;
      }
      case RecordType.PRODUCER_IDS: {
        const next = record.data.nextProducerId;
        if (next < this.#nextProducerId) {
          throw new MetadataApplyError(
            `Cannot apply ProducerIdsRecord: next producer id ${next} is below ${this.#nextProducerId}`,
          );
        }
        this.#nextProducerId = next;
        return;
      }
      case RecordType.CLIENT_QUOTA: {
        const key = clientQuotaKey(record.data);
        if (record.data.remove) this.#clientQuotas.delete(key);
        else this.#clientQuotas.set(key, record.data);
        return;
      }
      case RecordType.ACCESS_CONTROL_ENTRY:
        this.#acls.set(record.data.id, record.data);
        return;
      case RecordType.REMOVE_ACCESS_CONTROL_ENTRY:
        if (this.#acls.get(record.data.id) === undefined) {
          throw new MetadataApplyError(
            `Cannot remove ACL ${record.data.id}: no ACL with that id exists`,
          );
        }
        this.#acls.delete(record.data.id);
        return;
      case RecordType.USER_SCRAM_CREDENTIAL:
        this.#scram.set(scramKey(record.data.name, record.data.mechanism), record.data);
        return;
      case RecordType.REMOVE_USER_SCRAM_CREDENTIAL:
        this.#scram.delete(scramKey(record.data.name, record.data.mechanism));
        return;
      case RecordType.DELEGATION_TOKEN:
        this.#tokens.set(record.data.tokenId, record.data);
        return;
      case RecordType.REMOVE_DELEGATION_TOKEN:
        this.#tokens.delete(record.data.tokenId);
        return;
      case RecordType.ZK_MIGRATION_STATE:
        this.#zkMigrationState = record.data.zkMigrationState;
        return;
      case RecordType.NO_OP:
        return;
      case RecordType.BEGIN_TRANSACTION:
      case RecordType.END_TRANSACTION:
      case RecordType.ABORT_TRANSACTION:
        throw new MetadataApplyError(`Cannot apply record type ${record.type} here`);
      default: {
        const type = (record as { type: unknown }).type;
        throw new MetadataApplyError(
          `Cannot apply metadata record type ${String(type)}: the type is unknown`,
        );
      }
    }
  }

  #registerBroker(d: RegisterBrokerRecord): void {
    this.#brokers.set(d.brokerId, {
      id: d.brokerId,
      epoch: toSafeNumber(d.brokerEpoch, "broker epoch"),
      incarnationId: d.incarnationId,
      endpoints: d.endPoints.map(toEndpoint),
      supportedFeatures: d.features.map(toFeature),
      rack: d.rack,
      fenced: d.fenced,
      inControlledShutdown: d.inControlledShutdown,
      isMigratingZkBroker: d.isMigratingZkBroker,
      logDirs: [...d.logDirs],
    });
  }

  #brokerWithEpoch(brokerId: number, epoch: bigint, what: string): BrokerRegistration {
    const b = this.#brokers.get(brokerId);
    if (b === undefined) {
      throw new MetadataApplyError(`Cannot ${what} broker ${brokerId}: it is not registered`);
    }
    if (BigInt(b.epoch) !== epoch) {
      throw new MetadataApplyError(
        `Cannot ${what} broker ${brokerId}: record epoch ${epoch} differs from registered epoch ${b.epoch}`,
      );
    }
    return b;
  }

  /** fenced: -1 unfence, 0 no change, 1 fence; inControlledShutdown: 0 no change, 1 enter. */
  #changeBroker(brokerId: number, epoch: bigint, fenced: number, shutdown: number): void {
    const b = this.#brokerWithEpoch(brokerId, epoch, "change");
    if (fenced < -1 || fenced > 1 || shutdown < 0 || shutdown > 1) {
      throw new MetadataApplyError(
        `Cannot change broker ${brokerId}: fenced=${fenced} inControlledShutdown=${shutdown} is not a known change`,
      );
    }
    this.#brokers.set(brokerId, {
      ...b,
      fenced: fenced === 0 ? b.fenced : fenced === 1,
      inControlledShutdown: shutdown === 1 ? true : b.inControlledShutdown,
    });
  }

  #createTopic(name: string, topicId: string): void {
    const byName = this.#topicsByName.get(name);
    if (byName !== undefined && byName.id !== topicId) {
      throw new MetadataApplyError(
        `Cannot create topic ${name} with id ${topicId}: it exists with id ${byName.id}`,
      );
    }
    const draft: TopicDraft = { name, id: topicId, partitions: new Map() };
    const old = this.#topicsById.get(topicId);
    if (old !== undefined && old.name !== name) {
      throw new MetadataApplyError(
        `Cannot create topic ${name} with id ${topicId}: the id belongs to topic ${old.name}`,
      );
    }
    this.#drafts.set(topicId, draft);
    this.#topicsById.set(topicId, draft);
    this.#topicsByName.set(name, draft);
    this.changedTopicIds.add(topicId);
    this.deletedTopics.delete(topicId);
  }

  #draft(topicId: string, what: string): TopicDraft {
    let draft = this.#drafts.get(topicId);
    if (draft !== undefined) return draft;
    const topic = this.#topicsById.get(topicId);
    if (topic === undefined) {
      throw new MetadataApplyError(`Cannot ${what}: topic id ${topicId} does not exist`);
    }
    draft = { name: topic.name, id: topic.id, partitions: new Map(topic.partitions) };
    this.#drafts.set(topicId, draft);
    this.#topicsById.set(topicId, draft);
    this.#topicsByName.set(draft.name, draft);
    this.changedTopicIds.add(topicId);
    return draft;
  }

  #putPartition(d: PartitionRecord, version: number): void {
    const draft = this.#draft(d.topicId, `add partition ${d.partitionId}`);
    const replicas = SHARED_LISTS.share(d.replicas);
    let directories: readonly string[] = version >= 1 ? d.directories : EMPTY_LIST;
    if (directories.length === 0) directories = replicas.map(() => DIRECTORY_MIGRATING);
    if (directories.length !== replicas.length) {
      throw new MetadataApplyError(
        `Cannot add partition ${draft.name}-${d.partitionId}: ${directories.length} directories for ${replicas.length} replicas`,
      );
    }
    // Lists are shared between partitions (list_pool.ts): a 1M-partition image holds a few.
    draft.partitions.set(d.partitionId, {
      replicas,
      isr: SHARED_LISTS.share(d.isr),
      removingReplicas: SHARED_LISTS.share(d.removingReplicas),
      addingReplicas: SHARED_LISTS.share(d.addingReplicas),
      directories: SHARED_LISTS.share(directories),
      leader: d.leader,
      leaderRecoveryState: d.leaderRecoveryState,
      leaderEpoch: d.leaderEpoch,
      partitionEpoch: d.partitionEpoch,
      eligibleLeaderReplicas: SHARED_LISTS.share(d.eligibleLeaderReplicas ?? EMPTY_LIST),
      lastKnownElr: SHARED_LISTS.share(d.lastKnownElr ?? EMPTY_LIST),
    });
  }

  #changePartition(d: PartitionChangeRecord): void {
    const draft = this.#draft(d.topicId, `change partition ${d.partitionId}`);
    const p = draft.partitions.get(d.partitionId);
    if (p === undefined) {
      throw new MetadataApplyError(
        `Cannot change partition ${draft.name}-${d.partitionId}: the partition does not exist`,
      );
    }
    draft.partitions.set(d.partitionId, mergePartitionChange(p, d));
  }

  #removeTopic(topicId: string): void {
    const topic = this.#topicsById.get(topicId);
    if (topic === undefined) {
      throw new MetadataApplyError(`Cannot remove topic id ${topicId}: it does not exist`);
    }
    this.#topicsById.delete(topicId);
    this.#topicsByName.delete(topic.name);
    this.#drafts.delete(topicId);
    this.changedTopicIds.delete(topicId);
    this.deletedTopics.set(topicId, topic);
    // As Kafka's MetadataDelta: removing a topic removes its config overrides too.
    this.#configs.delete(configResourceKey(ConfigResourceType.TOPIC, topic.name));
    this.#ownedConfigs.delete(configResourceKey(ConfigResourceType.TOPIC, topic.name));
  }

  #setConfig(resourceKey: string, name: string, value: string | null): void {
    let map = this.#configs.get(resourceKey) as Map<string, string> | undefined;
    if (!this.#ownedConfigs.has(resourceKey)) {
      if (value === null && (map === undefined || !map.has(name))) return;
      map = new Map(map ?? []);
      this.#ownedConfigs.add(resourceKey);
      this.#configs.set(resourceKey, map);
    }
    if (value === null) map!.delete(name);
    else map!.set(name, value);
    if (map!.size === 0) {
      this.#configs.delete(resourceKey);
      this.#ownedConfigs.delete(resourceKey);
    }
  }

  /** Freezes the delta into a new image. The delta cannot be used afterwards. */
  apply(): MetadataImage {
    if (this.#applied) throw new MetadataApplyError("Cannot apply a delta twice");
    this.#applied = true;
    const base = this.#base;
    const cluster = this.#brokers.changed || this.#controllers.changed
      ? { brokers: this.#brokers.freeze(), controllers: this.#controllers.freeze() }
      : base.cluster;
    const topics = this.#topicsById.changed
      ? { byId: this.#topicsById.freeze(), byName: this.#topicsByName.freeze() }
      : base.topics;
    return {
      features: this.#features.freeze(),
      cluster,
      topics,
      configs: this.#configs.freeze(),
      nextProducerId: this.#nextProducerId,
      clientQuotas: this.#clientQuotas.freeze(),
      acls: this.#acls.freeze(),
      scramCredentials: this.#scram.freeze(),
      delegationTokens: this.#tokens.freeze(),
      zkMigrationState: this.#zkMigrationState,
      pendingTransaction: this.#pending,
    };
  }
}

/**
 * A partition after a PartitionChangeRecord (Kafka's `PartitionRegistration.merge`): null lists
 * and the -2 leader / -1 recovery state sentinels mean "no change"; a leader field other than -2
 * (even the same leader) bumps the leader epoch; every change bumps the partition epoch.
 *
 * @example
 * ```ts
 * import { mergePartitionChange } from "./image.ts";
 * import { createPartitionChangeRecord } from "../../net/protocol/generated/partition_change_record.ts";
 * // const next = mergePartitionChange(partition, createPartitionChangeRecord({ leader: 2 }));
 * ```
 */
export function mergePartitionChange(
  p: PartitionRegistration,
  d: PartitionChangeRecord,
): PartitionRegistration {
  const replicas = SHARED_LISTS.share(d.replicas ?? p.replicas);
  let directories = d.directories ?? p.directories;
  if (d.replicas !== null && d.directories === null) {
    directories = d.replicas.map((r) => {
      const i = p.replicas.indexOf(r);
      return i >= 0 ? p.directories[i]! : DIRECTORY_UNASSIGNED;
    });
  }
  const leaderChanged = d.leader !== NO_LEADER_CHANGE;
  return {
    replicas,
    isr: SHARED_LISTS.share(d.isr ?? p.isr),
    removingReplicas: SHARED_LISTS.share(d.removingReplicas ?? p.removingReplicas),
    addingReplicas: SHARED_LISTS.share(d.addingReplicas ?? p.addingReplicas),
    directories: SHARED_LISTS.share(directories),
    leader: leaderChanged ? d.leader : p.leader,
    leaderRecoveryState: d.leaderRecoveryState === -1
      ? p.leaderRecoveryState
      : d.leaderRecoveryState,
    leaderEpoch: leaderChanged ? p.leaderEpoch + 1 : p.leaderEpoch,
    partitionEpoch: p.partitionEpoch + 1,
    eligibleLeaderReplicas: SHARED_LISTS.share(
      d.eligibleLeaderReplicas ?? p.eligibleLeaderReplicas,
    ),
    lastKnownElr: SHARED_LISTS.share(d.lastKnownElr ?? p.lastKnownElr),
  };
}

function toEndpoint(e: Endpoint): Endpoint {
  return { name: e.name, host: e.host, port: e.port, securityProtocol: e.securityProtocol };
}

function toFeature(f: SupportedFeature): SupportedFeature {
  return {
    name: f.name,
    minSupportedVersion: f.minSupportedVersion,
    maxSupportedVersion: f.maxSupportedVersion,
  };
}

function clientQuotaKey(r: ClientQuotaRecord): string {
  const entity = r.entity.map((e) => [e.entityType, e.entityName] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify([entity, r.key]);
}

function scramKey(name: string, mechanism: number): string {
  return `${mechanism}:${name}`;
}

/**
 * Converts a non-negative int64 that must be a safe integer (offsets, epochs) to a number.
 *
 * @example
 * ```ts
 * import { toSafeNumber } from "./image.ts";
 * toSafeNumber(42n, "broker epoch"); // 42
 * ```
 */
export function toSafeNumber(value: bigint, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new MetadataApplyError(`Cannot use ${what} ${value}: it is not a safe integer`);
  }
  return n;
}

/**
 * The records that rebuild `image` from {@link EMPTY_IMAGE} (the body of a KIP-630 snapshot,
 * in the order of Kafka's `MetadataImage.write`: features with metadata.version first, cluster,
 * topics, configs, quotas, producer ids, ACLs, SCRAM, delegation tokens). Record versions are
 * the lowest that carry the image's data, and at least those of the image's metadata.version.
 *
 * @example
 * ```ts
 * import { applyRecords, EMPTY_IMAGE, imageToRecords } from "./image.ts";
 * const copy = applyRecords(EMPTY_IMAGE, imageToRecords(EMPTY_IMAGE)); // equal to EMPTY_IMAGE
 * ```
 */
export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  const versions = recordVersionsFor(metadataVersion(image));
  const mv = image.features.get(METADATA_VERSION_FEATURE);
  if (mv !== undefined) out.push(featureRecord(METADATA_VERSION_FEATURE, mv));
  for (const [name, level] of image.features) {
    if (name !== METADATA_VERSION_FEATURE) out.push(featureRecord(name, level));
  }
  for (const b of image.cluster.brokers.values()) {
    out.push(brokerRecord(b, versions.registerBroker));
  }
  for (const c of image.cluster.controllers.values()) {
    out.push(makeRecord(
      RecordType.REGISTER_CONTROLLER,
      0,
      createRegisterControllerRecord({
        controllerId: c.id,
        incarnationId: c.incarnationId,
        zkMigrationReady: c.zkMigrationReady,
        endPoints: c.endpoints.map((e) => createControllerEndpoint({ ...e })),
        features: c.supportedFeatures.map((f) => createControllerFeature({ ...f })),
      }),
    ));
  }
  for (const t of image.topics.byId.values()) {
    out.push(makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: t.name, topicId: t.id })));
    for (const [partitionId, p] of t.partitions) {
      out.push(partitionRecord(t.id, partitionId, p, versions.partition));
    }
  }
  for (const [key, configs] of image.configs) {
    const colon = key.indexOf(":");
    const resourceType = Number(key.slice(0, colon));
    const resourceName = key.slice(colon + 1);
    for (const [name, value] of configs) {
      out.push(makeRecord(
        RecordType.CONFIG,
        0,
        createConfigRecord({ resourceType, resourceName, name, value }),
      ));
    }
  }
  for (const q of image.clientQuotas.values()) out.push(makeRecord(RecordType.CLIENT_QUOTA, 0, q));
  if (image.nextProducerId > 0n) {
    out.push(makeRecord(
      RecordType.PRODUCER_IDS,
      0,
      createProducerIdsRecord({
        brokerId: -1,
        brokerEpoch: -1n,
        nextProducerId: image.nextProducerId,
      }),
    ));
  }
  for (const a of image.acls.values()) out.push(makeRecord(RecordType.ACCESS_CONTROL_ENTRY, 0, a));
  for (const s of image.scramCredentials.values()) {
    out.push(makeRecord(RecordType.USER_SCRAM_CREDENTIAL, 0, s));
  }
  for (const t of image.delegationTokens.values()) {
    out.push(makeRecord(RecordType.DELEGATION_TOKEN, 0, t));
  }
  if (image.zkMigrationState !== 0) {
    out.push(makeRecord(
      RecordType.ZK_MIGRATION_STATE,
      0,
      createZkMigrationStateRecord({ zkMigrationState: image.zkMigrationState }),
    ));
  }
  if (image.pendingTransaction !== null) {
    out.push(makeRecord(RecordType.BEGIN_TRANSACTION, 0, createBeginTransactionRecord()));
    out.push(...image.pendingTransaction);
  }
  return out;
}

function featureRecord(name: string, featureLevel: number): MetadataRecord {
  return makeRecord(RecordType.FEATURE_LEVEL, 0, createFeatureLevelRecord({ name, featureLevel }));
}

/**
 * The RegisterBrokerRecord that recreates a registration, at the lowest version that carries its
 * fields and at least `minVersion`.
 *
 * @example
 * ```ts
 * import { brokerRecord } from "./image.ts";
 * // const record = brokerRecord(image.cluster.brokers.get(1)!, 3);
 * ```
 */
export function brokerRecord(b: BrokerRegistration, minVersion: number): MetadataRecord {
  const needed = b.logDirs.length > 0
    ? 3
    : b.isMigratingZkBroker
    ? 2
    : b.inControlledShutdown
    ? 1
    : 0;
  return makeRecord(
    RecordType.REGISTER_BROKER,
    Math.max(needed, minVersion),
    createRegisterBrokerRecord({
      brokerId: b.id,
      isMigratingZkBroker: b.isMigratingZkBroker,
      incarnationId: b.incarnationId,
      brokerEpoch: BigInt(b.epoch),
      endPoints: b.endpoints.map((e) => createBrokerEndpoint({ ...e })),
      features: b.supportedFeatures.map((f) => createBrokerFeature({ ...f })),
      rack: b.rack,
      fenced: b.fenced,
      inControlledShutdown: b.inControlledShutdown,
      logDirs: [...b.logDirs],
    }),
  );
}

/**
 * The PartitionRecord that recreates a partition, at the lowest version that carries its fields
 * and at least `minVersion`.
 *
 * @example
 * ```ts
 * import { partitionRecord } from "./image.ts";
 * // const record = partitionRecord(topicId, 0, partition, 1);
 * ```
 */
export function partitionRecord(
  topicId: string,
  partitionId: number,
  p: PartitionRegistration,
  minVersion: number,
): MetadataRecord {
  const elr = p.eligibleLeaderReplicas.length > 0 || p.lastKnownElr.length > 0;
  const dirs = p.directories.some((d) => d !== DIRECTORY_MIGRATING);
  const version = Math.max(minVersion, elr ? 2 : dirs ? 1 : 0);
  return makeRecord(
    RecordType.PARTITION,
    version,
    // The image's lists are shared and frozen (list_pool.ts): the record takes them as they are,
    // not a copy each (snapshots write a record per partition). Editing them throws. A literal
    // with every field, not createPartitionRecord's spread of defaults: this runs per partition.
    {
      partitionId,
      topicId,
      replicas: p.replicas as number[],
      isr: p.isr as number[],
      removingReplicas: p.removingReplicas as number[],
      addingReplicas: p.addingReplicas as number[],
      leader: p.leader,
      leaderRecoveryState: p.leaderRecoveryState,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      directories: version >= 1 ? p.directories as string[] : [],
      eligibleLeaderReplicas: version >= 2 ? p.eligibleLeaderReplicas as number[] : null,
      lastKnownElr: version >= 2 ? p.lastKnownElr as number[] : null,
      _unknownTaggedFields: [],
    } satisfies PartitionRecord,
  );
}
