/**
 * Metadata (v0-v12): brokers, topics and partitions from the applied metadata image, with
 * auto-creation of unknown topics through the controller (`auto.create.topics.enable`).
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { MetadataRequest } from "../protocol/generated/metadata_request.ts";
import {
  createMetadataResponse,
  type MetadataResponse,
  type MetadataResponsePartition,
  type MetadataResponseTopic,
} from "../protocol/generated/metadata_response.ts";
import type { CreateTopicsResponse } from "../protocol/generated/create_topics_response.ts";
import type {
  MetadataImage,
  PartitionRegistration,
  TopicImage,
} from "../../core/metadata/image.ts";
import { replicaDirectoryOnline } from "../../core/metadata/partition_change.ts";
import { topicNameError } from "../../core/metadata/controller.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";
import type { BrokerView } from "./broker_view.ts";
import { settled } from "./forward.ts";

/** Kafka's "operations not requested" sentinel (Integer.MIN_VALUE). */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** Topics Kafka marks `isInternal`. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set([
  "__consumer_offsets",
  "__transaction_state",
]);

/**
 * The offline replicas of a partition, as Kafka's KRaftMetadataCache: replicas on unregistered or
 * fenced brokers, or in a log directory that is not online on its broker (KIP-858). Computed once
 * per distinct pair of replica and directory lists per response: images share their lists, so a
 * 1M-partition answer computes a few.
 */
class OfflineReplicas {
  readonly #image: MetadataImage;
  readonly #byList = new Map<readonly number[], Map<readonly string[], number[]>>();

  constructor(image: MetadataImage) {
    this.#image = image;
  }

  of(p: PartitionRegistration): number[] {
    let byDirs = this.#byList.get(p.replicas);
    if (byDirs === undefined) this.#byList.set(p.replicas, byDirs = new Map());
    let offline = byDirs.get(p.directories);
    if (offline === undefined) {
      offline = p.replicas.filter((r) => {
        const b = this.#image.cluster.brokers.get(r);
        return b === undefined || b.fenced || !replicaDirectoryOnline(this.#image, p, r);
      });
      byDirs.set(p.directories, offline);
    }
    return offline;
  }
}

function partitionsOf(topic: TopicImage, offline: OfflineReplicas): MetadataResponsePartition[] {
  const out: MetadataResponsePartition[] = [];
  let sorted = true;
  for (const [id, p] of topic.partitions) {
    if (out.length > 0 && id < out[out.length - 1]!.partitionIndex) sorted = false;
    out.push({
      errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: id,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      // The response is encoded and dropped, never edited: the image's (shared) lists serve as is.
      replicaNodes: p.replicas as number[],
      isrNodes: p.isr as number[],
      offlineReplicas: offline.of(p),
      _unknownTaggedFields: [],
    });
  }
  // Partitions are created in index order, so a sort is rarely needed.
  if (!sorted) out.sort((a, b) => a.partitionIndex - b.partitionIndex);
  return out;
}

function topicResponse(
  offline: OfflineReplicas,
  topic: TopicImage,
  errorCode = ErrorCode.NONE,
): MetadataResponseTopic {
  return {
    errorCode,
    name: topic.name,
    topicId: topic.id,
    isInternal: INTERNAL_TOPICS.has(topic.name),
    partitions: partitionsOf(topic, offline),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    _unknownTaggedFields: [],
  };
}

function errorTopic(
  name: string | null,
  topicId: string,
  errorCode: number,
): MetadataResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    _unknownTaggedFields: [],
  };
}

/**
 * Registers the Metadata handler.
 *
 * @example
 * ```ts ignore
 * registerMetadata(dispatcher, ctx);
 * ```
 */
export function registerMetadata(dispatcher: Dispatcher, ctx: BrokerView): void {
  dispatcher.register<MetadataRequest, MetadataResponse>(ApiKey.METADATA, {
    minVersion: 0,
    maxVersion: 12,
    handle: async (request, context) => {
      const version = context.apiVersion;
      // v0: an empty list means all topics; v1+: null means all topics.
      const all = request.topics === null || (version === 0 && request.topics.length === 0);
      const allowAutoCreate = version < 4 || request.allowAutoTopicCreation;
      let image = ctx.metadata.image;
      let offline = new OfflineReplicas(image);
      const topics: MetadataResponseTopic[] = [];
      if (all) {
        const names = [...image.topics.byName.keys()].sort();
        for (const name of names) {
          topics.push(topicResponse(offline, image.topics.byName.get(name)!));
        }
      } else {
        const missing: string[] = [];
        for (const t of request.topics!) {
          if (version < 12 && (t.name === null || t.topicId !== ZERO_UUID)) {
            // As KafkaApis: lookups by topic id start at v12 (a v10/v11 response cannot even
            // carry a null name).
            topics.push(errorTopic(t.name ?? "", t.topicId, ErrorCode.INVALID_REQUEST));
            continue;
          }
          if (t.name === null || (t.name === "" && t.topicId !== ZERO_UUID)) {
            const topic = image.topics.byId.get(t.topicId);
            topics.push(
              topic
                ? topicResponse(offline, topic)
                : errorTopic(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID),
            );
            continue;
          }
          const topic = image.topics.byName.get(t.name);
          if (topic) topics.push(topicResponse(offline, topic));
          else if (topicNameError(t.name) !== null) {
            topics.push(errorTopic(t.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
          } else missing.push(t.name);
        }
        if (missing.length > 0) {
          const autoCreate = allowAutoCreate && ctx.config.autoCreateTopicsEnable;
          const created = autoCreate
            ? await autoCreateTopics(ctx, missing)
            : new Map<string, number>();
          if (autoCreate) await settled(ctx);
          image = ctx.metadata.image;
          offline = new OfflineReplicas(image);
          for (const name of missing) {
            const topic = image.topics.byName.get(name);
            if (topic) {
              // Created by us or concurrently: report it, leaders may still be electing.
              topics.push(topicResponse(offline, topic));
              continue;
            }
            const code = created.get(name);
            topics.push(
              errorTopic(
                name,
                ZERO_UUID,
                code === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : code,
              ),
            );
          }
        }
      }
      const brokers = [...image.cluster.brokers.values()]
        .filter((b) => !b.fenced)
        .map((b) => {
          const endpoint = b.endpoints.find((e) => e.name === context.listenerName) ??
            b.endpoints[0];
          return endpoint === undefined ? undefined : {
            nodeId: b.id,
            host: endpoint.host,
            port: endpoint.port,
            rack: b.rack,
            _unknownTaggedFields: [],
          };
        })
        .filter((b) => b !== undefined)
        .sort((a, b) => a.nodeId - b.nodeId);
      return createMetadataResponse({
        brokers,
        clusterId: ctx.clusterId,
        // KRaft brokers report a live broker as the "controller": clients send admin requests there.
        controllerId: brokers.some((b) => b.nodeId === ctx.nodeId)
          ? ctx.nodeId
          : (brokers[0]?.nodeId ?? -1),
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      });
    },
  });
}

/**
 * Asks the controller to create `names` with the broker defaults. Returns the error code to
 * report per topic: LEADER_NOT_AVAILABLE while a new topic's leaders settle (clients retry), or
 * the controller's error.
 */
async function autoCreateTopics(ctx: BrokerView, names: string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  try {
    const response = await ctx.controller.send<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
      topics: names.map((name) => ({
        name,
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [],
        configs: [],
        _unknownTaggedFields: [],
      })),
      timeoutMs: 30_000,
      validateOnly: false,
    }, { timeoutMs: 10_000 });
    for (const t of response.topics) {
      result.set(
        t.name,
        t.errorCode === ErrorCode.NONE || t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS
          ? ErrorCode.LEADER_NOT_AVAILABLE
          : t.errorCode,
      );
    }
  } catch (error) {
    ctx.logger.warn(`Auto-creating ${names.join(", ")} failed: ${(error as Error).message}`);
    for (const name of names) result.set(name, ErrorCode.LEADER_NOT_AVAILABLE);
  }
  return result;
}
