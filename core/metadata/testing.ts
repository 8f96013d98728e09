/**
 * A tiny in-memory harness for controller tests: it plays the Raft layer (appends and commits
 * every returned record at once), keeps the offset, the clock and the broker sessions.
 *
 * @module
 */

import { createBrokerHeartbeatRequest } from "../../net/protocol/generated/broker_heartbeat_request.ts";
import {
  createBrokerRegistrationRequest,
  createFeature,
  createListener,
} from "../../net/protocol/generated/broker_registration_request.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import { uuidFromBytes } from "../../net/protocol/uuid.ts";
import { SeededRandom } from "../random.ts";
import {
  createCreatableReplicaAssignment,
  createCreatableTopic,
  createCreatableTopicConfig,
  createCreateTopicsRequest,
} from "../../net/protocol/generated/create_topics_request.ts";
import { brokerHeartbeat, brokerRegistration } from "./broker_control.ts";
import { createTopics } from "./controller.ts";
import type {
  BrokerSessions,
  ControllerConfig,
  ControllerContext,
  ControllerResult,
} from "./controller_context.ts";
import {
  applyRecords,
  EMPTY_IMAGE,
  type MetadataImage,
  type PartitionRegistration,
} from "./image.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  MetadataVersion,
  RecordType,
} from "./records.ts";

/** The cluster id the harness's brokers present. */
export const TEST_CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg";

/**
 * A controller config for tests: 1 partition, RF 1 by default, 9 s sessions.
 *
 * @example
 * ```ts
 * import { testConfig } from "./testing.ts";
 * const config = testConfig({ defaultNumPartitions: 3 });
 * ```
 */
export function testConfig(overrides: Partial<ControllerConfig> = {}): ControllerConfig {
  return {
    clusterId: TEST_CLUSTER_ID,
    defaultNumPartitions: 1,
    defaultReplicationFactor: 1,
    brokerSessionTimeoutMs: 9000,
    supportedFeatures: new Map([[METADATA_VERSION_FEATURE, {
      min: MetadataVersion.IBP_3_0_IV1,
      max: MetadataVersion.IBP_3_9_IV0,
    }]]),
    ...overrides,
  };
}

/**
 * A deterministic incarnation id for broker `id`.
 *
 * @example
 * ```ts
 * import { incarnation } from "./testing.ts";
 * incarnation(1, 0); // a 22-character uuid
 * ```
 */
export function incarnation(id: number, generation: number): string {
  const bytes = new Uint8Array(16);
  bytes[0] = 0x11;
  bytes[14] = generation;
  bytes[15] = id;
  return uuidFromBytes(bytes);
}

/**
 * The harness.
 *
 * @example
 * ```ts
 * import { TestCluster } from "./testing.ts";
 * const cluster = new TestCluster();
 * cluster.addBrokers([1, 2, 3]);
 * ```
 */
export class TestCluster {
  image: MetadataImage;
  sessions: BrokerSessions = new Map();
  nextOffset = 0;
  nowMs = 1_000_000;
  readonly random: SeededRandom;
  config: ControllerConfig;
  /** Every committed record, in order. */
  readonly log: MetadataRecord[] = [];

  constructor(
    options: { seed?: number; metadataVersion?: number; config?: ControllerConfig } = {},
  ) {
    this.random = new SeededRandom(options.seed ?? 42);
    this.config = options.config ?? testConfig();
    this.image = EMPTY_IMAGE;
    this.commit([makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({
        name: METADATA_VERSION_FEATURE,
        featureLevel: options.metadataVersion ?? MetadataVersion.IBP_3_9_IV0,
      }),
    )]);
  }

  /** The context for the next handler call. */
  ctx(): ControllerContext {
    return {
      nowMs: this.nowMs,
      random: this.random,
      nextOffset: this.nextOffset,
      config: this.config,
      sessions: this.sessions,
    };
  }

  /** Appends and commits records (the Raft layer's job). */
  commit(records: readonly MetadataRecord[]): void {
    this.image = applyRecords(this.image, records);
    this.log.push(...records);
    this.nextOffset += records.length;
  }

  /** Commits a handler's records (and sessions) and returns its response. */
  run<R>(result: ControllerResult<R> & { sessions?: BrokerSessions }): R {
    this.commit(result.records);
    if (result.sessions !== undefined) this.sessions = result.sessions;
    return result.response;
  }

  /** Registers broker `id` and returns its epoch. */
  register(id: number, options: { rack?: string | null; generation?: number } = {}): bigint {
    const response = this.run(brokerRegistration(
      this.image,
      createBrokerRegistrationRequest({
        brokerId: id,
        clusterId: TEST_CLUSTER_ID,
        incarnationId: incarnation(id, options.generation ?? 0),
        listeners: [createListener({ name: "PLAINTEXT", host: "localhost", port: 9092 + id })],
        features: [createFeature({
          name: METADATA_VERSION_FEATURE,
          minSupportedVersion: 1,
          maxSupportedVersion: MetadataVersion.IBP_3_9_IV0,
        })],
        rack: options.rack ?? null,
      }),
      this.ctx(),
    ));
    if (response.errorCode !== 0) throw new Error(`registration failed: ${response.errorCode}`);
    return response.brokerEpoch;
  }

  /** Sends a heartbeat for `id` at its current epoch, caught up to the log end. */
  heartbeat(
    id: number,
    options: { wantFence?: boolean; wantShutDown?: boolean; offset?: number } = {},
  ) {
    const b = this.image.cluster.brokers.get(id);
    return this.run(brokerHeartbeat(
      this.image,
      createBrokerHeartbeatRequest({
        brokerId: id,
        brokerEpoch: BigInt(b?.epoch ?? -1),
        currentMetadataOffset: BigInt(options.offset ?? this.nextOffset - 1),
        wantFence: options.wantFence ?? false,
        wantShutDown: options.wantShutDown ?? false,
      }),
      this.ctx(),
    ));
  }

  /** Registers and unfences brokers (racks by index when given). */
  addBrokers(ids: readonly number[], racks?: readonly (string | null)[]): void {
    ids.forEach((id, i) => this.register(id, { rack: racks?.[i] ?? null }));
    for (const id of ids) this.heartbeat(id);
  }

  /**
   * Creates topic `name` with the given replica lists (and topic configs) and returns a reader of
   * its partitions' current registration.
   */
  createTopic(
    name: string,
    replicas: number[][],
    configs: Record<string, string> = {},
  ): (partitionId: number) => PartitionRegistration {
    const response = this.run(createTopics(
      this.image,
      createCreateTopicsRequest({
        topics: [createCreatableTopic({
          name,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: replicas.map((brokerIds, partitionIndex) =>
            createCreatableReplicaAssignment({ partitionIndex, brokerIds })
          ),
          configs: Object.entries(configs).map(([n, value]) =>
            createCreatableTopicConfig({ name: n, value })
          ),
        })],
      }),
      this.ctx(),
    ));
    const error = response.topics[0]!.errorCode;
    if (error !== 0) throw new Error(`CreateTopics of ${name} failed: ${error}`);
    return (i) => this.image.topics.byName.get(name)!.partitions.get(i)!;
  }
}
