/**
 * DescribeClientQuotas (from the metadata image) and AlterClientQuotas (written by the active
 * controller) on a broker, and the quota throttle applied to every request: Produce bytes against
 * `producer_byte_rate`, consumer Fetch bytes against `consumer_byte_rate`, and the event-loop time
 * each request used against `request_percentage`, for the principal and client id that sent it.
 * A throttled response carries `throttle_time_ms` and the connection is muted for that long
 * (KIP-219).
 *
 * @example
 * ```ts ignore
 * registerClientQuotaApis(dispatcher, { quotas: () => image.clientQuotas.values(), forward });
 * dispatcher.setThrottle(quotaThrottle(() => image.clientQuotas, enforcer));
 * ```
 *
 * @module
 */

import type { Dispatcher, GuardOutcome, RequestGuard, RequestThrottle } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { KafkaError } from "../protocol/errors.ts";
import type { DescribeClientQuotasRequest } from "../protocol/generated/describe_client_quotas_request.ts";
import {
  createDescribeClientQuotasResponse,
  createEntityData,
  createEntryData,
  createValueData,
  type DescribeClientQuotasResponse,
} from "../protocol/generated/describe_client_quotas_response.ts";
import type { AlterClientQuotasRequest } from "../protocol/generated/alter_client_quotas_request.ts";
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasResponse,
  createEntityData as createAlteredEntity,
  createEntryData as createAlteredEntry,
} from "../protocol/generated/alter_client_quotas_response.ts";
import {
  invalidQuotaEntity,
  QUOTA_ENTITY_TYPES,
  quotaEntityMatches,
} from "../../core/metadata/quota_control.ts";
import {
  type ClientQuotaEnforcer,
  type MutationQuotaEnforcer,
  type StoredQuota,
  userOf,
} from "../../core/quota/client_quotas.ts";

/** What the quota APIs need from the broker. */
export interface ClientQuotaApiContext {
  /** The quotas of the applied metadata image. */
  quotas(): Iterable<StoredQuota>;
  /** Sends a request to the active controller and resolves with its response. */
  forward(apiKey: number, request: unknown, version: number): Promise<unknown>;
}

/** DescribeClientQuotas over the image's quotas, grouped by entity. */
export function describeClientQuotas(
  request: DescribeClientQuotasRequest,
  quotas: Iterable<StoredQuota>,
): DescribeClientQuotasResponse {
  const types = new Set<string>();
  for (const c of request.components) {
    const problem = !(QUOTA_ENTITY_TYPES as readonly string[]).includes(c.entityType)
      ? `Unknown entity type ${c.entityType}`
      : types.has(c.entityType)
      ? `Duplicate filter component entity type ${c.entityType}`
      : c.matchType < 0 || c.matchType > 2
      ? `Unknown match type ${c.matchType}`
      : c.matchType === 0 && c.match === null
      ? "An exact match needs a name"
      : null;
    if (problem !== null) {
      return createDescribeClientQuotasResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: problem,
        entries: null,
      });
    }
    types.add(c.entityType);
  }
  const byEntity = new Map<
    string,
    { entity: StoredQuota["entity"]; values: Map<string, number> }
  >();
  for (const q of quotas) {
    if (!quotaEntityMatches(q.entity, request.components, request.strict)) continue;
    const entity = [...q.entity].sort((a, b) => a.entityType < b.entityType ? -1 : 1);
    const key = JSON.stringify(entity.map((e) => [e.entityType, e.entityName]));
    let entry = byEntity.get(key);
    if (entry === undefined) byEntity.set(key, entry = { entity, values: new Map() });
    entry.values.set(q.key, q.value);
  }
  return createDescribeClientQuotasResponse({
    entries: [...byEntity.values()].map((e) =>
      createEntryData({
        entity: e.entity.map((x) => createEntityData({ ...x })),
        values: [...e.values].map(([key, value]) => createValueData({ key, value })),
      })
    ),
  });
}

/**
 * Registers DescribeClientQuotas (v0-1) and AlterClientQuotas (v0-1).
 *
 * @example
 * ```ts ignore
 * registerClientQuotaApis(dispatcher, ctx);
 * ```
 */
export function registerClientQuotaApis(dispatcher: Dispatcher, ctx: ClientQuotaApiContext): void {
  dispatcher.register<DescribeClientQuotasRequest, DescribeClientQuotasResponse>(
    ApiKey.DESCRIBE_CLIENT_QUOTAS,
    {
      minVersion: 0,
      maxVersion: 1,
      handle: (request) => describeClientQuotas(request, ctx.quotas()),
    },
  );
  dispatcher.register<AlterClientQuotasRequest, AlterClientQuotasResponse>(
    ApiKey.ALTER_CLIENT_QUOTAS,
    {
      minVersion: 0,
      maxVersion: 1,
      handle: async (request, context) => {
        const answer = (errorCode: number, message: string) =>
          createAlterClientQuotasResponse({
            entries: request.entries.map((e) =>
              createAlteredEntry({
                errorCode,
                errorMessage: invalidQuotaEntity(e.entity) ?? message,
                entity: e.entity.map((x) => createAlteredEntity({ ...x })),
              })
            ),
          });
        try {
          return await ctx.forward(
            ApiKey.ALTER_CLIENT_QUOTAS,
            request,
            context.apiVersion,
          ) as AlterClientQuotasResponse;
        } catch (error) {
          return error instanceof KafkaError
            ? answer(error.code, error.message)
            : answer(ErrorCode.REQUEST_TIMED_OUT, (error as Error).message);
        }
      },
    },
  );
}

/** The records bytes of a Fetch response (what consumer_byte_rate counts). */
function fetchedBytes(response: unknown): number {
  let bytes = 0;
  for (
    const t of (response as { responses: { partitions: { records: Uint8Array | null }[] }[] })
      .responses
  ) {
    for (const p of t.partitions) bytes += p.records?.byteLength ?? 0;
  }
  return bytes;
}

/** APIs between brokers and controllers: never throttled (Kafka exempts cluster actions). */
const EXEMPT = new Set<number>([
  ApiKey.API_VERSIONS,
  ApiKey.SASL_HANDSHAKE,
  ApiKey.SASL_AUTHENTICATE,
  ApiKey.WRITE_TXN_MARKERS,
  ApiKey.BROKER_REGISTRATION,
  ApiKey.BROKER_HEARTBEAT,
  ApiKey.ALTER_PARTITION,
  ApiKey.ASSIGN_REPLICAS_TO_DIRS,
  ApiKey.ALLOCATE_PRODUCER_IDS,
  ApiKey.VOTE,
  ApiKey.BEGIN_QUORUM_EPOCH,
  ApiKey.END_QUORUM_EPOCH,
  ApiKey.FETCH_SNAPSHOT,
]);

/**
 * The dispatcher throttle that enforces client quotas from `quotas()` (the image's), or 0 for
 * requests no quota covers.
 *
 * @example
 * ```ts ignore
 * dispatcher.setThrottle(quotaThrottle(() => metadata.image.clientQuotas, enforcer));
 * ```
 */
export function quotaThrottle(
  quotas: () => ReadonlyMap<string, StoredQuota>,
  enforcer: ClientQuotaEnforcer,
  nowMs: () => number = Date.now,
): RequestThrottle {
  return ({ phase, apiKey, request, response, context, requestBytes, loopMs }) => {
    const all = quotas();
    if (all.size === 0 || EXEMPT.has(apiKey)) return 0;
    const user = userOf(context.principal ?? "User:ANONYMOUS");
    const clientId = context.header.clientId ?? "";
    const now = nowMs();
    if (phase === "request") {
      // Produced bytes are known on arrival: charge them before the request runs.
      return apiKey === ApiKey.PRODUCE
        ? enforcer.record(all, user, clientId, "producer_byte_rate", requestBytes, now)
        : 0;
    }
    let throttleMs = 0;
    if (apiKey === ApiKey.PRODUCE) {
      throttleMs = 0; // charged in the request phase
    } else if (apiKey === ApiKey.FETCH) {
      const r = request as { replicaId: number; replicaState?: { replicaId: number } };
      const follower = (r.replicaState?.replicaId ?? -1) >= 0 || r.replicaId >= 0;
      if (follower) return 0; // replication has its own (replica) quotas
      throttleMs = enforcer.record(
        all,
        user,
        clientId,
        "consumer_byte_rate",
        fetchedBytes(response),
        now,
      );
    }
    const requestMs = enforcer.record(all, user, clientId, "request_percentage", loopMs, now);
    return Math.max(throttleMs, requestMs);
  };
}

/** What the mutation quota needs to count partitions. */
export interface MutationCounts {
  /** num.partitions, for CreateTopics with numPartitions -1. */
  defaultPartitions(): number;
  /** The partition count of an existing topic by name or id, or 0. */
  partitionsOf(topic: { name?: string | null; topicId?: string }): number;
}

// deno-lint-ignore no-explicit-any
type Message = Record<string, any>;

/**
 * The dispatcher guard enforcing `controller_mutation_rate` (KIP-599) on CreateTopics (v6+),
 * CreatePartitions (v3+) and DeleteTopics (v5+): topics over the quota are answered with
 * THROTTLING_QUOTA_EXCEEDED and the response carries the throttle time; the rest go through.
 * Older versions (which cannot carry that error) are not limited, as in Kafka.
 *
 * @example
 * ```ts ignore
 * mutationQuotaGuard(() => image.clientQuotas, new MutationQuotaEnforcer(windows), counts);
 * ```
 */
export function mutationQuotaGuard(
  quotas: () => ReadonlyMap<string, StoredQuota>,
  enforcer: MutationQuotaEnforcer,
  counts: MutationCounts,
  nowMs: () => number = Date.now,
): RequestGuard {
  return (apiKey, request, context): GuardOutcome => {
    const r = request as Message;
    const version = context.apiVersion;
    const all = quotas();
    if (all.size === 0) return { allow: true };
    const user = userOf(context.principal ?? "User:ANONYMOUS");
    const clientId = context.header.clientId ?? "";
    let listKey: string;
    let responseKey: string;
    let mutations: (t: Message) => number;
    let refused: (t: Message, throttleMs: number) => Message;
    if (apiKey === ApiKey.CREATE_TOPICS && version >= 6 && !r.validateOnly) {
      [listKey, responseKey] = ["topics", "topics"];
      mutations = (t) =>
        t.assignments.length > 0
          ? t.assignments.length
          : t.numPartitions === -1
          ? counts.defaultPartitions()
          : t.numPartitions;
      refused = (t, throttleMs) => ({
        name: t.name,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: `The controller mutation quota is exceeded; retry in ${throttleMs} ms`,
        topicConfigErrorCode: 0,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
        _unknownTaggedFields: [],
      });
    } else if (apiKey === ApiKey.CREATE_PARTITIONS && version >= 3 && !r.validateOnly) {
      [listKey, responseKey] = ["topics", "results"];
      mutations = (t) => Math.max(0, t.count - counts.partitionsOf({ name: t.name }));
      refused = (t, throttleMs) => ({
        name: t.name,
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: `The controller mutation quota is exceeded; retry in ${throttleMs} ms`,
        _unknownTaggedFields: [],
      });
    } else if (apiKey === ApiKey.DELETE_TOPICS && version >= 6) {
      [listKey, responseKey] = ["topics", "responses"];
      mutations = (t) => counts.partitionsOf(t);
      refused = (t, throttleMs) => ({
        name: t.name,
        topicId: t.topicId,
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: `The controller mutation quota is exceeded; retry in ${throttleMs} ms`,
        _unknownTaggedFields: [],
      });
    } else if (apiKey === ApiKey.DELETE_TOPICS && version === 5) {
      [listKey, responseKey] = ["topicNames", "responses"];
      mutations = (t) => counts.partitionsOf({ name: t as unknown as string });
      refused = (t, _throttleMs) => ({
        name: t as unknown as string,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: null,
        _unknownTaggedFields: [],
      });
    } else {
      return { allow: true };
    }
    const list = (r[listKey] ?? []) as Message[];
    const kept: Message[] = [];
    const denied: { t: Message; throttleMs: number }[] = [];
    const now = nowMs();
    for (const t of list) {
      const throttleMs = enforcer.tryMutate(all, user, clientId, mutations(t), now);
      if (throttleMs > 0) denied.push({ t, throttleMs });
      else kept.push(t);
    }
    if (denied.length === 0) return { allow: true };
    const throttleMs = Math.max(...denied.map((d) => d.throttleMs));
    return {
      allow: true,
      request: { ...r, [listKey]: kept },
      after: (response) => {
        const res = response as Message;
        return {
          ...res,
          throttleTimeMs: Math.max(res.throttleTimeMs ?? 0, throttleMs),
          [responseKey]: [
            ...(res[responseKey] as Message[]),
            ...denied.map((d) => refused(d.t, d.throttleMs)),
          ],
        };
      },
    };
  };
}
