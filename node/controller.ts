/**
 * The controller role: active only while this node's raft replica leads `__cluster_metadata`.
 * Requests are turned into metadata records by the pure handlers in `core/metadata`, proposed to
 * raft, and answered once the records commit. Operations run one at a time, each against the
 * image that includes everything committed before it.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Dispatcher } from "../net/dispatcher.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { applyRecords, type MetadataImage } from "../core/metadata/image.ts";
import {
  allocateProducerIds,
  alterConfigs,
  createPartitions,
  createTopics,
  deleteTopics,
  incrementalAlterConfigs,
  updateFeatures,
} from "../core/metadata/controller.ts";
import {
  balancePartitionLeaders,
  electLeaders,
  electUncleanLeaders,
  hasLeaderlessPartitions,
} from "../core/metadata/leader_election.ts";
import {
  alterPartitionReassignments,
  listPartitionReassignments,
} from "../core/metadata/reassignment.ts";
import {
  alterPartition,
  brokerHeartbeat,
  brokerRegistration,
  tick as brokerTick,
  unregisterBroker,
} from "../core/metadata/broker_control.ts";
import { assignReplicasToDirs } from "../core/metadata/directory_control.ts";
import { createAcls, deleteAcls } from "../core/metadata/acl_control.ts";
import { alterClientQuotas } from "../core/metadata/quota_control.ts";
import type { AlterClientQuotasRequest } from "../net/protocol/generated/alter_client_quotas_request.ts";
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasResponse,
} from "../net/protocol/generated/alter_client_quotas_response.ts";
import type {
  BrokerSessions,
  ControllerConfig,
  ControllerContext,
} from "../core/metadata/controller_context.ts";
import type { MetadataRecord } from "../net/protocol/generated/metadata_records.ts";
import { SeededRandom } from "../core/random.ts";
import type { Logger } from "../core/log.ts";
import type { RaftDriver } from "./raft_driver.ts";
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  type MetadataState,
} from "./metadata_state.ts";
import type { RoleChange } from "../core/raft/ready.ts";
import { batchesIn } from "../net/protocol/record_batch.ts";
import { decodeBatch } from "../net/protocol/records.ts";
import { BOOTSTRAP_CHECKPOINT_FILE } from "../storage/bootstrap.ts";
import { alterUserScramCredentials, deriveUpsertionKeys } from "../core/metadata/scram_control.ts";
import type { AlterUserScramCredentialsRequest } from "../net/protocol/generated/alter_user_scram_credentials_request.ts";

/** How often the active controller checks broker sessions, in milliseconds. */
const SESSION_CHECK_INTERVAL_MS = 250;
/** Kafka's defaults for the leader balance timers, in milliseconds. */
const LEADER_IMBALANCE_CHECK_INTERVAL_MS_DEFAULT = 300_000;
const UNCLEAN_LEADER_ELECTION_INTERVAL_MS_DEFAULT = 300_000;

type Outcome<R> = { records: MetadataRecord[]; response: R; sessions?: BrokerSessions };

/** Options for {@link Controller}. */
export interface ControllerOptions {
  nodeId: number;
  metadataLogDir: string;
  config: ControllerConfig;
  raft: () => RaftDriver;
  metadata: MetadataState;
  logger: Logger;
  /** The incarnation id of this process's own broker (combined nodes), or null. */
  localIncarnationId: () => string | null;
}

/** Thrown inside operations when this node is not the active controller. */
class NotControllerError extends Error {}

interface PendingOp {
  handler: (image: MetadataImage, ctx: ControllerContext) => Outcome<unknown>;
  resolve: (response: unknown) => void;
  reject: (error: Error) => void;
}

/** Reads the FeatureLevelRecords `storage format` wrote into `bootstrap.checkpoint`. */
export async function readBootstrapRecords(metadataLogDir: string): Promise<MetadataRecord[]> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(metadataLogDir, BOOTSTRAP_CHECKPOINT_FILE));
  } catch {
    return [];
  }
  const records: MetadataRecord[] = [];
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    const batch = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
    if ((batch.header.attributes & 0x20) !== 0) continue; // control batches
    for (const record of batch.records) {
      if (record.value !== null) records.push(decodeMetadataRecord(record.value));
    }
  }
  return records;
}

/**
 * The controller role of a node.
 *
 * @example
 * ```ts ignore
 * const controller = new Controller({ nodeId: 1, metadataLogDir, config, raft: () => driver, metadata, logger });
 * controller.registerHandlers(controllerDispatcher);
 * ```
 */
export class Controller {
  readonly #options: ControllerOptions;
  #active = false;
  #activeEpoch = -1;
  #queue: Promise<unknown> = Promise.resolve();
  #sessions: BrokerSessions = new Map();
  #random = new SeededRandom(crypto.getRandomValues(new Uint32Array(1))[0]!);
  #timer: ReturnType<typeof setInterval> | undefined;
  #bootstrap: MetadataRecord[] = [];
  #pendingOps: PendingOp[] = [];
  /** When the auto leader rebalance and the unclean election next run (wall clock ms). */
  #nextBalanceAtMs = Infinity;
  #nextUncleanAtMs = Infinity;
  /** A timer election is queued or in flight: do not queue another. */
  #balanceRunning = false;
  #uncleanRunning = false;

  constructor(options: ControllerOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#bootstrap = await readBootstrapRecords(this.#options.metadataLogDir);
    this.#timer = setInterval(() => this.#checkSessions(), SESSION_CHECK_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#active = false;
  }

  get isActive(): boolean {
    return this.#active;
  }

  /** Raft told us our role changed: activate after our LeaderChange record commits. */
  onRoleChange(change: RoleChange): void {
    if (change.role !== "leader") {
      if (this.#active) {
        this.#options.logger.info(`Renouncing controller leadership in epoch ${change.epoch}`);
      }
      this.#active = false;
      return;
    }
    this.#activeEpoch = change.epoch;
    this.#enqueue(async () => {
      const raft = this.#options.raft();
      // Bounded by the raft loop committing the LeaderChange record (or losing leadership).
      for (let i = 0; i < 3000 && !raft.isLeaderReady && raft.epoch === change.epoch; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (!raft.isLeaderReady || raft.epoch !== change.epoch) return;
      await this.#options.metadata.waitForOffset(raft.highWatermark - 1);
      // Sessions restart with the new leader: every broker gets a full timeout to heartbeat.
      const now = Date.now();
      const sessions = new Map<number, { lastContactMs: number }>();
      for (const [id, broker] of this.#options.metadata.image.cluster.brokers) {
        // A combined node's own broker from an earlier process is gone for sure (it lived in
        // this process's predecessor), so its restart need not wait out the old session.
        if (
          id === this.#options.nodeId && broker.incarnationId !== this.#options.localIncarnationId()
        ) {
          continue;
        }
        sessions.set(id, { lastContactMs: now });
      }
      this.#sessions = sessions;
      const config = this.#options.config;
      this.#nextBalanceAtMs = now +
        (config.leaderImbalanceCheckIntervalMs ?? LEADER_IMBALANCE_CHECK_INTERVAL_MS_DEFAULT);
      this.#nextUncleanAtMs = now +
        (config.uncleanLeaderElectionIntervalMs ?? UNCLEAN_LEADER_ELECTION_INTERVAL_MS_DEFAULT);
      this.#active = true;
      this.#options.logger.info(`Became the active controller in epoch ${change.epoch}`);
      if (!this.#options.metadata.image.features.has("metadata.version")) {
        if (this.#bootstrap.length === 0) {
          this.#options.logger.error(
            `No ${BOOTSTRAP_CHECKPOINT_FILE} in ${this.#options.metadataLogDir}: cannot initialize metadata.version`,
          );
        } else {
          await this.#propose(this.#bootstrap);
          this.#options.logger.info(`Wrote ${this.#bootstrap.length} bootstrap metadata records`);
        }
      }
    }).catch((error) =>
      this.#options.logger.warn(`Controller activation failed: ${error.message}`)
    );
  }

  #enqueue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #propose(records: MetadataRecord[]): Promise<void> {
    if (records.length === 0) return;
    const offset = await this.#options.raft().propose(records.map(encodeMetadataRecord));
    await this.#options.metadata.waitForOffset(offset);
  }

  #context(): ControllerContext {
    return {
      nowMs: Date.now(),
      random: this.#random,
      nextOffset: this.#options.raft().endOffset,
      config: this.#options.config,
      sessions: this.#sessions,
    };
  }

  /**
   * Runs one controller operation: compute records from the image, commit them, answer.
   * Operations that queue up while a commit is in flight are computed one after another against
   * the image including the records of those before them, and committed together in one
   * proposal (one fsync), so concurrent admin requests do not each wait a full commit.
   */
  run<R>(handler: (image: MetadataImage, ctx: ControllerContext) => Outcome<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pendingOps.push({
        handler: handler as (image: MetadataImage, ctx: ControllerContext) => Outcome<unknown>,
        resolve: resolve as (response: unknown) => void,
        reject,
      });
      this.#enqueue(() => this.#drainOps()).catch(() => {});
    });
  }

  async #drainOps(): Promise<void> {
    const ops = this.#pendingOps;
    this.#pendingOps = [];
    if (ops.length === 0) return;
    if (!this.#active) {
      for (const op of ops) op.reject(new NotControllerError());
      return;
    }
    let image = this.#options.metadata.image;
    let nextOffset = this.#options.raft().endOffset;
    const records: MetadataRecord[] = [];
    const answered: { op: PendingOp; response: unknown }[] = [];
    for (const op of ops) {
      try {
        const outcome = op.handler(image, { ...this.#context(), nextOffset });
        const next = outcome.records.length > 0 ? applyRecords(image, outcome.records) : image;
        if (outcome.sessions) this.#sessions = outcome.sessions;
        image = next;
        records.push(...outcome.records);
        nextOffset += outcome.records.length;
        answered.push({ op, response: outcome.response });
      } catch (error) {
        op.reject(error as Error);
      }
    }
    try {
      await this.#propose(records);
    } catch (error) {
      for (const { op } of answered) op.reject(error as Error);
      return;
    }
    for (const { op, response } of answered) op.resolve(response);
  }

  #checkSessions(): void {
    if (!this.#active) return;
    this.run((image, ctx) => {
      const { records, sessions } = brokerTick(image, ctx);
      return { records, sessions, response: null };
    }).catch(() => {});
    const now = Date.now();
    if (now >= this.#nextBalanceAtMs && !this.#balanceRunning) this.#balanceLeaders();
    if (now >= this.#nextUncleanAtMs && !this.#uncleanRunning) this.#electUncleanLeaders();
  }

  /**
   * The auto leader rebalance (`auto.leader.rebalance.enable`), every
   * `leader.imbalance.check.interval.seconds`, at once again while elections remain.
   */
  #balanceLeaders(): void {
    const config = this.#options.config;
    const intervalMs = config.leaderImbalanceCheckIntervalMs ??
      LEADER_IMBALANCE_CHECK_INTERVAL_MS_DEFAULT;
    if (config.autoLeaderRebalanceEnable === false) {
      this.#nextBalanceAtMs = Infinity;
      return;
    }
    this.#balanceRunning = true;
    let more = false;
    this.run((image) => {
      const result = balancePartitionLeaders(image, config);
      more = result.more;
      if (result.records.length > 0) {
        this.#options.logger.info(
          `Auto leader rebalance: electing ${result.records.length} preferred leader(s)`,
        );
      }
      return { records: result.records, response: null };
    }).catch(() => {}).finally(() => {
      this.#balanceRunning = false;
      this.#nextBalanceAtMs = Date.now() + (more ? 0 : intervalMs);
    });
  }

  /** Unclean elections for leaderless partitions whose topic allows them. */
  #electUncleanLeaders(): void {
    const config = this.#options.config;
    const intervalMs = config.uncleanLeaderElectionIntervalMs ??
      UNCLEAN_LEADER_ELECTION_INTERVAL_MS_DEFAULT;
    if (!hasLeaderlessPartitions(this.#options.metadata.image)) {
      this.#nextUncleanAtMs = Date.now() + intervalMs;
      return;
    }
    this.#uncleanRunning = true;
    let more = false;
    this.run((image) => {
      const result = electUncleanLeaders(image, config);
      more = result.more;
      if (result.records.length > 0) {
        this.#options.logger.warn(
          `Unclean leader election for ${result.records.length} offline partition(s): ` +
            "records acknowledged by the old in-sync replicas may be lost",
        );
      }
      return { records: result.records, response: null };
    }).catch(() => {}).finally(() => {
      this.#uncleanRunning = false;
      this.#nextUncleanAtMs = Date.now() + (more ? 0 : intervalMs);
    });
  }

  /** Registers the controller APIs on the controller listener. */
  registerHandlers(dispatcher: Dispatcher): void {
    const api = <Req, Res>(
      apiKey: number,
      maxVersion: number,
      handler: (
        image: MetadataImage,
        request: Req,
        ctx: ControllerContext,
        version: number,
      ) => Outcome<Res>,
      notController: (request: Req) => Res,
    ) => {
      dispatcher.register<Req, Res>(apiKey, {
        minVersion: 0,
        maxVersion,
        handle: async (request, context) => {
          try {
            return await this.run((image, ctx) => handler(image, request, ctx, context.apiVersion));
          } catch (error) {
            if (error instanceof NotControllerError || (error as Error).name === "NotLeaderError") {
              return notController(request);
            }
            throw error;
          }
        },
      });
    };
    const NOT_CONTROLLER = ErrorCode.NOT_CONTROLLER;
    api(
      ApiKey.BROKER_REGISTRATION,
      4,
      (image, req, ctx) => brokerRegistration(image, req as never, ctx),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        brokerEpoch: -1n,
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.BROKER_HEARTBEAT,
      1,
      (image, req, ctx) => brokerHeartbeat(image, req as never, ctx),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        isCaughtUp: false,
        isFenced: true,
        shouldShutDown: false,
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.UNREGISTER_BROKER,
      0,
      (image, req, ctx) => unregisterBroker(image, req as never, ctx),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        errorMessage: null,
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.CREATE_TOPICS,
      7,
      (image, req, ctx, apiVersion) => createTopics(image, req as never, { ...ctx, apiVersion }),
      (req: { topics: { name: string }[] }) => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          topicId: "AAAAAAAAAAAAAAAAAAAAAA",
          errorCode: NOT_CONTROLLER,
          errorMessage: null,
          topicConfigErrorCode: 0,
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.DELETE_TOPICS,
      6,
      (image, req, ctx) => deleteTopics(image, req as never, ctx),
      (req: { topicNames: string[]; topics: { name: string | null; topicId: string }[] }) => ({
        throttleTimeMs: 0,
        responses: [
          ...req.topicNames.map((name) => ({ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })),
          ...req.topics,
        ].map((t) => ({
          name: t.name,
          topicId: t.topicId,
          errorCode: NOT_CONTROLLER,
          errorMessage: null,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.CREATE_ACLS,
      3,
      (image, req, ctx) => createAcls(image, req as never, ctx),
      (req: { creations: unknown[] }) => ({
        throttleTimeMs: 0,
        results: req.creations.map(() => ({
          errorCode: NOT_CONTROLLER,
          errorMessage: null,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.DELETE_ACLS,
      3,
      (image, req, ctx) => deleteAcls(image, req as never, ctx),
      (req: { filters: unknown[] }) => ({
        throttleTimeMs: 0,
        filterResults: req.filters.map(() => ({
          errorCode: NOT_CONTROLLER,
          errorMessage: null,
          matchingAcls: [],
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.ALTER_CLIENT_QUOTAS,
      1,
      (image, req: AlterClientQuotasRequest) => alterClientQuotas(image, req),
      (req: AlterClientQuotasRequest): AlterClientQuotasResponse =>
        createAlterClientQuotasResponse({
          entries: req.entries.map((e) => ({
            errorCode: NOT_CONTROLLER,
            errorMessage: null,
            entity: e.entity,
            _unknownTaggedFields: [],
          })),
        }),
    );
    api(
      ApiKey.CREATE_PARTITIONS,
      3,
      (image, req, ctx) => createPartitions(image, req as never, ctx),
      (req: { topics: { name: string }[] }) => ({
        throttleTimeMs: 0,
        results: req.topics.map((t) => ({
          name: t.name,
          errorCode: NOT_CONTROLLER,
          errorMessage: null,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
    const configsNotController = (
      req: { resources: { resourceType: number; resourceName: string }[] },
    ) => ({
      throttleTimeMs: 0,
      responses: req.resources.map((r) => ({
        errorCode: NOT_CONTROLLER,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        _unknownTaggedFields: [],
      })),
      _unknownTaggedFields: [],
    });
    // KIP-554: StoredKey/ServerKey are derived (WebCrypto, asynchronous) before the controller
    // step, which stays a pure function of image and request.
    dispatcher.register<AlterUserScramCredentialsRequest, unknown>(
      ApiKey.ALTER_USER_SCRAM_CREDENTIALS,
      {
        minVersion: 0,
        maxVersion: 0,
        handle: async (request) => {
          const keys = await deriveUpsertionKeys(request);
          try {
            return await this.run((image) => alterUserScramCredentials(image, request, keys));
          } catch (error) {
            if (error instanceof NotControllerError || (error as Error).name === "NotLeaderError") {
              const users = new Set(
                [...request.deletions, ...request.upsertions].map((u) => u.name),
              );
              return {
                throttleTimeMs: 0,
                results: [...users].map((user) => ({
                  user,
                  errorCode: NOT_CONTROLLER,
                  errorMessage: null,
                  _unknownTaggedFields: [],
                })),
                _unknownTaggedFields: [],
              };
            }
            throw error;
          }
        },
      },
    );
    api(
      ApiKey.INCREMENTAL_ALTER_CONFIGS,
      1,
      (image, req, ctx) => incrementalAlterConfigs(image, req as never, ctx),
      configsNotController,
    );
    api(
      ApiKey.ALTER_CONFIGS,
      2,
      (image, req, ctx) => alterConfigs(image, req as never, ctx),
      configsNotController,
    );
    api(
      ApiKey.ALLOCATE_PRODUCER_IDS,
      0,
      (image, req, ctx) => allocateProducerIds(image, req as never, ctx),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        producerIdStart: -1n,
        producerIdLen: 0,
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.ALTER_PARTITION,
      3,
      (image, req, ctx, apiVersion) => alterPartition(image, req as never, { ...ctx, apiVersion }),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        topics: [],
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.ASSIGN_REPLICAS_TO_DIRS,
      0,
      (image, req, ctx) => assignReplicasToDirs(image, req as never, ctx),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        directories: [],
        _unknownTaggedFields: [],
      }),
    );
    api(
      ApiKey.ELECT_LEADERS,
      2,
      (image, req, ctx) => electLeaders(image, req as never, ctx),
      (req: { topicPartitions: { topic: string; partitions: number[] }[] | null }) => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
          topic: t.topic,
          partitionResult: t.partitions.map((partitionId) => ({
            partitionId,
            errorCode: NOT_CONTROLLER,
            errorMessage: null,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
    const reassignmentsNotController = () => ({
      throttleTimeMs: 0,
      errorCode: NOT_CONTROLLER,
      errorMessage: null,
      responses: [],
      topics: [],
      _unknownTaggedFields: [],
    });
    api(
      ApiKey.ALTER_PARTITION_REASSIGNMENTS,
      0,
      (image, req, ctx) => alterPartitionReassignments(image, req as never, ctx),
      reassignmentsNotController,
    );
    api(
      ApiKey.LIST_PARTITION_REASSIGNMENTS,
      0,
      (image, req, ctx) => listPartitionReassignments(image, req as never, ctx),
      reassignmentsNotController,
    );
    api(
      ApiKey.UPDATE_FEATURES,
      1,
      (image, req, ctx) => updateFeatures(image, req as never, ctx),
      () => ({
        throttleTimeMs: 0,
        errorCode: NOT_CONTROLLER,
        errorMessage: null,
        results: [],
        _unknownTaggedFields: [],
      }),
    );
  }
}
