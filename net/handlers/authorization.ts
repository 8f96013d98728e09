/**
 * Authorization of every request, as Kafka's KafkaApis/ControllerApis check it, applied in front
 * of the handlers by the dispatcher (see {@link Dispatcher.setGuard}): a request is answered with
 * Kafka's authorization error when the principal may not perform it at all, or split so that the
 * handler only sees the resources it may touch and the others come back with
 * TOPIC_/GROUP_/TRANSACTIONAL_ID_/CLUSTER_AUTHORIZATION_FAILED. Metadata and ListGroups hide what
 * may not be described. Inter-broker and controller APIs need CLUSTER_ACTION on the cluster; an
 * API with no rule here is refused unless the principal may ALTER the cluster.
 *
 * @example
 * ```ts ignore
 * dispatcher.setGuard(authorizationGuard({ authorizer, topicNameById }));
 * ```
 *
 * @module
 */

import { API_TABLE, ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  AclOperation as Op,
  CLUSTER_RESOURCE_NAME,
  ResourceType as RT,
  type StandardAuthorizer,
} from "../../core/security/acl.ts";
import type { GuardOutcome, RequestContext, RequestGuard } from "../dispatcher.ts";
import { ZERO_UUID } from "../protocol/uuid.ts";

/** What the guards read besides the request. */
export interface AuthorizationView {
  authorizer: StandardAuthorizer;
  /** A topic's name by id (Fetch v13+ names topics by id), undefined when unknown. */
  topicNameById(topicId: string): string | undefined;
}

// deno-lint-ignore no-explicit-any
type Message = Record<string, any>;

const ALLOW: GuardOutcome = { allow: true };

/** APIs only brokers and controllers send to each other. */
const CLUSTER_ACTION_APIS = new Set<number>([
  ApiKey.LEADER_AND_ISR,
  ApiKey.STOP_REPLICA,
  ApiKey.UPDATE_METADATA,
  ApiKey.CONTROLLED_SHUTDOWN,
  ApiKey.VOTE,
  ApiKey.BEGIN_QUORUM_EPOCH,
  ApiKey.END_QUORUM_EPOCH,
  ApiKey.ALTER_PARTITION,
  ApiKey.ENVELOPE,
  ApiKey.FETCH_SNAPSHOT,
  ApiKey.BROKER_REGISTRATION,
  ApiKey.BROKER_HEARTBEAT,
  ApiKey.ALLOCATE_PRODUCER_IDS,
  ApiKey.CONTROLLER_REGISTRATION,
  ApiKey.ASSIGN_REPLICAS_TO_DIRS,
  ApiKey.UPDATE_RAFT_VOTER,
]);

// Every other API without a rule of its own (CreateAcls, DeleteAcls, ElectLeaders,
// AlterPartitionReassignments, UpdateFeatures, AlterUserScramCredentials, UnregisterBroker,
// Add/RemoveRaftVoter, AlterReplicaLogDirs, AlterClientQuotas, ...) needs ALTER on the cluster.

/** APIs that read cluster state: DESCRIBE on the cluster. */
const CLUSTER_DESCRIBE_APIS = new Set<number>([
  ApiKey.DESCRIBE_ACLS,
  ApiKey.DESCRIBE_LOG_DIRS,
  ApiKey.LIST_PARTITION_REASSIGNMENTS,
  ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS,
  ApiKey.DESCRIBE_QUORUM,
]);

/** APIs every connection may send (before or without authorization). */
const OPEN_APIS = new Set<number>([
  ApiKey.API_VERSIONS,
  ApiKey.SASL_HANDSHAKE,
  ApiKey.SASL_AUTHENTICATE,
]);

/**
 * The dispatcher guard that authorizes every request against the ACLs.
 *
 * @example
 * ```ts ignore
 * const guard = authorizationGuard({ authorizer, topicNameById: (id) => undefined });
 * ```
 */
export function authorizationGuard(view: AuthorizationView): RequestGuard {
  return (apiKey, request, context) => {
    if (OPEN_APIS.has(apiKey)) return ALLOW;
    const check = new Check(view, context);
    const rule = RULES.get(apiKey);
    if (rule !== undefined) return rule(request as Message, check, context.apiVersion);
    const operation = CLUSTER_ACTION_APIS.has(apiKey)
      ? Op.CLUSTER_ACTION
      : CLUSTER_DESCRIBE_APIS.has(apiKey)
      ? Op.DESCRIBE
      : Op.ALTER; // an API without a rule of its own: only who may ALTER the cluster
    if (check.cluster(operation)) return ALLOW;
    return denyWhole(apiKey, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, check);
  };
}

/** One request's authorization questions. */
class Check {
  constructor(readonly view: AuthorizationView, readonly context: RequestContext) {}

  get principal(): string {
    return this.context.principal ?? "User:ANONYMOUS";
  }

  get host(): string {
    return this.context.clientHost.replace(/^\//, "").replace(/:\d+$/, "");
  }

  allowed(operation: number, resourceType: number, name: string): boolean {
    return this.view.authorizer.authorize(this.principal, this.host, operation, resourceType, name);
  }

  cluster(operation: number): boolean {
    return this.allowed(operation, RT.CLUSTER, CLUSTER_RESOURCE_NAME);
  }

  topic(operation: number, name: string): boolean {
    return this.allowed(operation, RT.TOPIC, name);
  }

  group(operation: number, name: string): boolean {
    return this.allowed(operation, RT.GROUP, name);
  }

  transactionalId(operation: number, name: string): boolean {
    return this.allowed(operation, RT.TRANSACTIONAL_ID, name);
  }

  operations(resourceType: number, name: string): number {
    return this.view.authorizer.authorizedOperations(this.principal, this.host, resourceType, name);
  }

  describe(): string {
    return `${this.principal} from ${this.host}`;
  }
}

/** A response carrying `errorCode` (and `errorMessage`) at the top, or a closed connection. */
function denyWhole(apiKey: number, errorCode: number, check: Check): GuardOutcome {
  const response = API_TABLE.get(apiKey)!.createResponse() as Message;
  const name = API_TABLE.get(apiKey)!.name;
  if (!("errorCode" in response)) {
    return { allow: false, close: `${check.describe()} is not authorized to send ${name}` };
  }
  response.errorCode = errorCode;
  if ("errorMessage" in response) {
    response.errorMessage = `${check.describe()} is not authorized to send ${name}`;
  }
  return { allow: false, response };
}

type Rule = (request: Message, check: Check, version: number) => GuardOutcome;

/**
 * Splits a request's topic list: the handler gets the topics `allowed` says yes to; the others are
 * answered with `errorCode` in the response list `responseKey`, each built by `failed`.
 */
function splitTopics(
  request: Message,
  listKey: string,
  nameOf: (t: Message) => string,
  allowed: (name: string) => boolean,
  responseKey: string,
  failed: (t: Message) => Message,
): GuardOutcome {
  const list = (request[listKey] ?? []) as Message[];
  const denied = list.filter((t) => !allowed(nameOf(t)));
  if (denied.length === 0) return ALLOW;
  const kept = list.filter((t) => allowed(nameOf(t)));
  return {
    allow: true,
    request: { ...request, [listKey]: kept },
    after: (response) => {
      if (response === null) return null;
      const r = response as Message;
      return { ...r, [responseKey]: [...(r[responseKey] as Message[]), ...denied.map(failed)] };
    },
  };
}

/** Partition results `{ [indexKey]: p, errorCode, ...defaults }` for each requested partition. */
function partitionErrors(
  partitions: Message[],
  indexOf: (p: Message) => number,
  make: (index: number) => Message,
): Message[] {
  return partitions.map((p) => make(indexOf(p)));
}

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;

/** Whole-request rule: one check or the top-level error. */
function single(apiKey: number, errorCode: number, ok: (r: Message, c: Check) => boolean): Rule {
  return (request, check) => ok(request, check) ? ALLOW : denyWhole(apiKey, errorCode, check);
}

const RULES = new Map<number, Rule>([
  [ApiKey.METADATA, (request, check) => {
    const requested = request.topics as Message[] | null;
    const autoCreate = request.allowAutoTopicCreation === true &&
      (check.cluster(Op.CREATE) ||
        (requested ?? []).every((t) => t.name === null || check.topic(Op.CREATE, t.name)));
    const denied = (requested ?? []).filter((t) =>
      t.name !== null && !check.topic(Op.DESCRIBE, t.name)
    );
    const kept = requested === null ? null : requested.filter((t) => !denied.includes(t));
    return {
      allow: true,
      request: { ...request, topics: kept, allowAutoTopicCreation: autoCreate },
      after: (response) => {
        const r = response as Message;
        const topics = (r.topics as Message[])
          .filter((t) => t.name === null || check.topic(Op.DESCRIBE, t.name))
          .map((t) =>
            request.includeTopicAuthorizedOperations === true && t.name !== null
              ? { ...t, topicAuthorizedOperations: check.operations(RT.TOPIC, t.name) }
              : t
          );
        for (const t of denied) {
          topics.push({
            errorCode: TOPIC_DENIED,
            name: t.name,
            topicId: t.topicId,
            isInternal: false,
            partitions: [],
            topicAuthorizedOperations: -2147483648,
            _unknownTaggedFields: [],
          });
        }
        return {
          ...r,
          topics,
          clusterAuthorizedOperations: request.includeClusterAuthorizedOperations === true
            ? check.operations(RT.CLUSTER, CLUSTER_RESOURCE_NAME)
            : r.clusterAuthorizedOperations,
        };
      },
    };
  }],
  [ApiKey.PRODUCE, (request, check) => {
    const txn = request.transactionalId as string | null;
    const txnOk = txn === null || check.transactionalId(Op.WRITE, txn);
    return splitTopics(
      request,
      "topicData",
      (t) => t.name,
      (name) => txnOk && check.topic(Op.WRITE, name),
      "responses",
      (t) => ({
        name: t.name,
        partitionResponses: partitionErrors(t.partitionData, (p) => p.index, (index) => ({
          index,
          errorCode: txnOk ? TOPIC_DENIED : TXN_DENIED,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          recordErrors: [],
          errorMessage: null,
          currentLeader: { leaderId: -1, leaderEpoch: -1, _unknownTaggedFields: [] },
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
  }],
  [ApiKey.FETCH, (request, check, version) => {
    const replicaId = version >= 15 ? request.replicaState.replicaId : request.replicaId;
    if (replicaId >= 0) {
      return check.cluster(Op.CLUSTER_ACTION)
        ? ALLOW
        : denyWhole(ApiKey.FETCH, CLUSTER_DENIED, check);
    }
    const nameOf = (t: Message) =>
      version >= 13 ? check.view.topicNameById(t.topicId) ?? "" : t.topic as string;
    return splitTopics(
      request,
      "topics",
      nameOf,
      (name) => name === "" || check.topic(Op.READ, name),
      "responses",
      (t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: partitionErrors(t.partitions, (p) => p.partition, (partitionIndex) => ({
          partitionIndex,
          errorCode: TOPIC_DENIED,
          highWatermark: -1n,
          lastStableOffset: -1n,
          logStartOffset: -1n,
          divergingEpoch: { epoch: -1, endOffset: -1n, _unknownTaggedFields: [] },
          currentLeader: { leaderId: -1, leaderEpoch: -1, _unknownTaggedFields: [] },
          snapshotId: { endOffset: -1n, epoch: -1, _unknownTaggedFields: [] },
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: null,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
  }],
  [ApiKey.LIST_OFFSETS, (request, check) =>
    splitTopics(
      request,
      "topics",
      (t) => t.name,
      (name) => check.topic(Op.DESCRIBE, name),
      "topics",
      (t) => ({
        name: t.name,
        partitions: partitionErrors(t.partitions, (p) => p.partitionIndex, (partitionIndex) => ({
          partitionIndex,
          errorCode: TOPIC_DENIED,
          oldStyleOffsets: [],
          timestamp: -1n,
          offset: -1n,
          leaderEpoch: -1,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    )],
  [ApiKey.OFFSET_COMMIT, (request, check) => {
    const groupOk = check.group(Op.READ, request.groupId);
    return splitTopics(
      request,
      "topics",
      (t) => t.name,
      (name) => groupOk && check.topic(Op.READ, name),
      "topics",
      (t) => ({
        name: t.name,
        partitions: partitionErrors(t.partitions, (p) => p.partitionIndex, (partitionIndex) => ({
          partitionIndex,
          errorCode: groupOk ? TOPIC_DENIED : GROUP_DENIED,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
  }],
  [ApiKey.TXN_OFFSET_COMMIT, (request, check) => {
    const ok = check.transactionalId(Op.WRITE, request.transactionalId);
    const groupOk = check.group(Op.READ, request.groupId);
    return splitTopics(
      request,
      "topics",
      (t) => t.name,
      (name) => ok && groupOk && check.topic(Op.READ, name),
      "topics",
      (t) => ({
        name: t.name,
        partitions: partitionErrors(t.partitions, (p) => p.partitionIndex, (partitionIndex) => ({
          partitionIndex,
          errorCode: !ok ? TXN_DENIED : !groupOk ? GROUP_DENIED : TOPIC_DENIED,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
  }],
  [ApiKey.OFFSET_FETCH, (request, check, version) => {
    const visible = (response: Message, key: string) =>
      ((response[key] ?? []) as Message[]).filter((t) => check.topic(Op.DESCRIBE, t.name));
    if (version < 8) {
      if (!check.group(Op.DESCRIBE, request.groupId)) {
        return denyWhole(ApiKey.OFFSET_FETCH, GROUP_DENIED, check);
      }
      return {
        allow: true,
        after: (r) => ({ ...(r as Message), topics: visible(r as Message, "topics") }),
      };
    }
    const groups = request.groups as Message[];
    const denied = groups.filter((g) => !check.group(Op.DESCRIBE, g.groupId));
    return {
      allow: true,
      request: { ...request, groups: groups.filter((g) => !denied.includes(g)) },
      after: (response) => {
        const r = response as Message;
        return {
          ...r,
          groups: [
            ...(r.groups as Message[]).map((g) => ({ ...g, topics: visible(g, "topics") })),
            ...denied.map((g) => ({
              groupId: g.groupId,
              topics: [],
              errorCode: GROUP_DENIED,
              _unknownTaggedFields: [],
            })),
          ],
        };
      },
    };
  }],
  [ApiKey.FIND_COORDINATOR, (request, check, version) => {
    const ok = (key: string) =>
      request.keyType === 1
        ? check.transactionalId(Op.DESCRIBE, key)
        : check.group(Op.DESCRIBE, key);
    const code = request.keyType === 1 ? TXN_DENIED : GROUP_DENIED;
    if (version < 4) {
      return ok(request.key) ? ALLOW : denyWhole(ApiKey.FIND_COORDINATOR, code, check);
    }
    return keysAsStrings(request, check, ok, code);
  }],
  [
    ApiKey.JOIN_GROUP,
    single(ApiKey.JOIN_GROUP, GROUP_DENIED, (r, c) => c.group(Op.READ, r.groupId)),
  ],
  [
    ApiKey.SYNC_GROUP,
    single(ApiKey.SYNC_GROUP, GROUP_DENIED, (r, c) => c.group(Op.READ, r.groupId)),
  ],
  [ApiKey.HEARTBEAT, single(ApiKey.HEARTBEAT, GROUP_DENIED, (r, c) => c.group(Op.READ, r.groupId))],
  [
    ApiKey.LEAVE_GROUP,
    single(ApiKey.LEAVE_GROUP, GROUP_DENIED, (r, c) => c.group(Op.READ, r.groupId)),
  ],
  [ApiKey.CONSUMER_GROUP_HEARTBEAT, (request, check) => {
    if (!check.group(Op.READ, request.groupId)) {
      return denyWhole(ApiKey.CONSUMER_GROUP_HEARTBEAT, GROUP_DENIED, check);
    }
    const names = (request.subscribedTopicNames ?? []) as string[];
    return names.every((n) => check.topic(Op.DESCRIBE, n))
      ? ALLOW
      : denyWhole(ApiKey.CONSUMER_GROUP_HEARTBEAT, TOPIC_DENIED, check);
  }],
  [ApiKey.OFFSET_DELETE, (request, check) => {
    if (!check.group(Op.DELETE, request.groupId)) {
      return denyWhole(ApiKey.OFFSET_DELETE, GROUP_DENIED, check);
    }
    return splitTopics(
      request,
      "topics",
      (t) => t.name,
      (name) => check.topic(Op.READ, name),
      "topics",
      (t) => ({
        name: t.name,
        partitions: partitionErrors(t.partitions, (p) => p.partitionIndex, (partitionIndex) => ({
          partitionIndex,
          errorCode: TOPIC_DENIED,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      }),
    );
  }],
  [
    ApiKey.DESCRIBE_GROUPS,
    (request, check) =>
      withGroupOperations(
        request,
        check,
        groupList(request, "groups", "groups", check, Op.DESCRIBE, (groupId) => ({
          errorCode: GROUP_DENIED,
          groupId,
          groupState: "",
          protocolType: "",
          protocolData: "",
          members: [],
          authorizedOperations: -2147483648,
          _unknownTaggedFields: [],
        })),
      ),
  ],
  [
    ApiKey.CONSUMER_GROUP_DESCRIBE,
    (request, check) =>
      withGroupOperations(
        request,
        check,
        groupList(request, "groupIds", "groups", check, Op.DESCRIBE, (groupId) => ({
          errorCode: GROUP_DENIED,
          errorMessage: null,
          groupId,
          groupState: "",
          groupEpoch: -1,
          assignmentEpoch: -1,
          assignorName: "",
          members: [],
          authorizedOperations: -2147483648,
          _unknownTaggedFields: [],
        })),
      ),
  ],
  [
    ApiKey.DELETE_GROUPS,
    (request, check) =>
      groupList(request, "groupsNames", "results", check, Op.DELETE, (groupId) => ({
        groupId,
        errorCode: GROUP_DENIED,
        _unknownTaggedFields: [],
      })),
  ],
  [ApiKey.LIST_GROUPS, (_request, check) =>
    check.cluster(Op.DESCRIBE) ? ALLOW : {
      allow: true,
      after: (response) => {
        const r = response as Message;
        return {
          ...r,
          groups: (r.groups as Message[]).filter((g) => check.group(Op.DESCRIBE, g.groupId)),
        };
      },
    }],
  [ApiKey.CREATE_TOPICS, (request, check) => {
    const clusterOk = check.cluster(Op.CREATE);
    return splitTopics(
      request,
      "topics",
      (t) => t.name,
      (name) => clusterOk || check.topic(Op.CREATE, name),
      "topics",
      (t) => ({
        name: t.name,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        errorCode: TOPIC_DENIED,
        errorMessage: `${check.describe()} may not create topic ${t.name}`,
        topicConfigErrorCode: 0,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
        _unknownTaggedFields: [],
      }),
    );
  }],
  [ApiKey.DELETE_TOPICS, (request, check, version) => {
    const topics: Message[] = version >= 6
      ? request.topics
      : (request.topicNames as string[]).map((name) => ({
        name,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
      }));
    const nameOf = (t: Message) => t.name ?? check.view.topicNameById(t.topicId) ?? "";
    const denied = topics.filter((t) => !check.topic(Op.DELETE, nameOf(t)));
    if (denied.length === 0) return ALLOW;
    const kept = topics.filter((t) => !denied.includes(t));
    return {
      allow: true,
      request: version >= 6 ? { ...request, topics: kept } : {
        ...request,
        topicNames: kept.map((t) => t.name),
      },
      after: (response) => {
        const r = response as Message;
        return {
          ...r,
          responses: [
            ...(r.responses as Message[]),
            ...denied.map((t) => ({
              name: t.name,
              topicId: t.topicId,
              errorCode: TOPIC_DENIED,
              errorMessage: null,
              _unknownTaggedFields: [],
            })),
          ],
        };
      },
    };
  }],
  [
    ApiKey.CREATE_PARTITIONS,
    (request, check) =>
      splitTopics(
        request,
        "topics",
        (t) => t.name,
        (n) => check.topic(Op.ALTER, n),
        "results",
        (t) => ({
          name: t.name,
          errorCode: TOPIC_DENIED,
          errorMessage: null,
          _unknownTaggedFields: [],
        }),
      ),
  ],
  [
    ApiKey.DELETE_RECORDS,
    (request, check) =>
      splitTopics(
        request,
        "topics",
        (t) => t.name,
        (n) => check.topic(Op.DELETE, n),
        "topics",
        (t) => ({
          name: t.name,
          partitions: partitionErrors(t.partitions, (p) => p.partitionIndex, (partitionIndex) => ({
            partitionIndex,
            lowWatermark: -1n,
            errorCode: TOPIC_DENIED,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        }),
      ),
  ],
  [
    ApiKey.DESCRIBE_PRODUCERS,
    (request, check) =>
      splitTopics(
        request,
        "topics",
        (t) => t.name,
        (n) => check.topic(Op.READ, n),
        "topics",
        (t) => ({
          name: t.name,
          partitions: (t.partitionIndexes as number[]).map((partitionIndex) => ({
            partitionIndex,
            errorCode: TOPIC_DENIED,
            errorMessage: null,
            activeProducers: [],
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        }),
      ),
  ],
  [
    ApiKey.DESCRIBE_CONFIGS,
    (request, check) =>
      configResources(request, check, Op.DESCRIBE_CONFIGS, "results", (r, errorCode) => ({
        errorCode,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
        _unknownTaggedFields: [],
      })),
  ],
  [
    ApiKey.ALTER_CONFIGS,
    (request, check) =>
      configResources(request, check, Op.ALTER_CONFIGS, "responses", alteredError),
  ],
  [
    ApiKey.INCREMENTAL_ALTER_CONFIGS,
    (request, check) =>
      configResources(request, check, Op.ALTER_CONFIGS, "responses", alteredError),
  ],
  [ApiKey.INIT_PRODUCER_ID, (request, check) => {
    const txn = request.transactionalId as string | null;
    if (txn !== null) {
      return check.transactionalId(Op.WRITE, txn)
        ? ALLOW
        : denyWhole(ApiKey.INIT_PRODUCER_ID, TXN_DENIED, check);
    }
    // An idempotent producer: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (KIP-679).
    const ok = check.cluster(Op.IDEMPOTENT_WRITE) ||
      check.view.authorizer.authorizeAny(check.principal, check.host, Op.WRITE, RT.TOPIC);
    return ok ? ALLOW : denyWhole(ApiKey.INIT_PRODUCER_ID, CLUSTER_DENIED, check);
  }],
  [ApiKey.ADD_PARTITIONS_TO_TXN, (request, check, version) => {
    if (version >= 4) {
      // Brokers verify transactions for each other (KIP-890).
      return check.cluster(Op.CLUSTER_ACTION)
        ? ALLOW
        : denyWhole(ApiKey.ADD_PARTITIONS_TO_TXN, CLUSTER_DENIED, check);
    }
    const [txn] = request.transactions as Message[];
    if (txn === undefined) return ALLOW;
    const txnOk = check.transactionalId(Op.WRITE, txn.transactionalId);
    const topics = txn.topics as Message[];
    const deniedTopics = topics.filter((t) => !check.topic(Op.WRITE, t.name));
    if (txnOk && deniedTopics.length === 0) return ALLOW;
    // Nothing is added: the denied partitions say why, the others OPERATION_NOT_ATTEMPTED.
    const response = API_TABLE.get(ApiKey.ADD_PARTITIONS_TO_TXN)!.createResponse() as Message;
    response.resultsByTransaction = [{
      transactionalId: txn.transactionalId,
      topicResults: topics.map((t) => ({
        name: t.name,
        resultsByPartition: (t.partitions as number[]).map((partitionIndex) => ({
          partitionIndex,
          partitionErrorCode: !txnOk
            ? TXN_DENIED
            : deniedTopics.includes(t)
            ? TOPIC_DENIED
            : ErrorCode.OPERATION_NOT_ATTEMPTED,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      })),
      _unknownTaggedFields: [],
    }];
    return { allow: false, response };
  }],
  [ApiKey.ADD_OFFSETS_TO_TXN, (request, check) => {
    if (!check.transactionalId(Op.WRITE, request.transactionalId)) {
      return denyWhole(ApiKey.ADD_OFFSETS_TO_TXN, TXN_DENIED, check);
    }
    return check.group(Op.READ, request.groupId)
      ? ALLOW
      : denyWhole(ApiKey.ADD_OFFSETS_TO_TXN, GROUP_DENIED, check);
  }],
  [
    ApiKey.END_TXN,
    single(ApiKey.END_TXN, TXN_DENIED, (r, c) => c.transactionalId(Op.WRITE, r.transactionalId)),
  ],
  [
    ApiKey.DESCRIBE_TRANSACTIONS,
    (request, check) =>
      groupList(
        request,
        "transactionalIds",
        "transactionStates",
        check,
        Op.DESCRIBE,
        (transactionalId) => ({
          errorCode: TXN_DENIED,
          transactionalId,
          transactionState: "",
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1n,
          producerId: -1n,
          producerEpoch: -1,
          topics: [],
          _unknownTaggedFields: [],
        }),
        RT.TRANSACTIONAL_ID,
      ),
  ],
  [ApiKey.LIST_TRANSACTIONS, (_request, check) => ({
    allow: true,
    after: (response) => {
      const r = response as Message;
      return {
        ...r,
        transactionStates: (r.transactionStates as Message[]).filter((t) =>
          check.transactionalId(Op.DESCRIBE, t.transactionalId)
        ),
      };
    },
  })],
  [ApiKey.DESCRIBE_CLUSTER, (request, check) => {
    if (!check.cluster(Op.DESCRIBE)) {
      return denyWhole(ApiKey.DESCRIBE_CLUSTER, CLUSTER_DENIED, check);
    }
    if (request.includeClusterAuthorizedOperations !== true) return ALLOW;
    return {
      allow: true,
      after: (r) => ({
        ...(r as Message),
        clusterAuthorizedOperations: check.operations(RT.CLUSTER, CLUSTER_RESOURCE_NAME),
      }),
    };
  }],
  [ApiKey.DESCRIBE_TOPIC_PARTITIONS, (request, check) => {
    // As Metadata: a topic named in the request and not describable is answered
    // TOPIC_AUTHORIZATION_FAILED (without saying whether it exists); a listing leaves it out.
    const denied = (request.topics as Message[]).filter((t) => !check.topic(Op.DESCRIBE, t.name));
    return {
      allow: true,
      request: {
        ...request,
        topics: (request.topics as Message[]).filter((t) => !denied.includes(t)),
      },
      after: (response) => {
        const r = response as Message;
        return {
          ...r,
          topics: [
            // Kafka always fills each described topic's authorized operations here.
            ...(r.topics as Message[]).filter((t) => check.topic(Op.DESCRIBE, t.name)).map((t) => ({
              ...t,
              topicAuthorizedOperations: check.operations(RT.TOPIC, t.name),
            })),
            ...denied.map((t) => ({
              errorCode: TOPIC_DENIED,
              name: t.name,
              topicId: ZERO_UUID,
              isInternal: false,
              partitions: [],
              topicAuthorizedOperations: -2147483648,
              _unknownTaggedFields: [],
            })),
          ],
        };
      },
    };
  }],
  // A follower (CLUSTER_ACTION) may ask about any topic; a consumer validating its position
  // after a leader change needs DESCRIBE on each topic it names.
  [
    ApiKey.OFFSET_FOR_LEADER_EPOCH,
    (request, check) =>
      check.cluster(Op.CLUSTER_ACTION) ? ALLOW : splitTopics(
        request,
        "topics",
        (t) => t.topic,
        (name) => check.topic(Op.DESCRIBE, name),
        "topics",
        (t) => ({
          topic: t.topic,
          partitions: partitionErrors(t.partitions, (p) => p.partition, (partition) => ({
            errorCode: TOPIC_DENIED,
            partition,
            leaderEpoch: -1,
            endOffset: -1n,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        }),
      ),
  ],
  // APIs whose responses carry an error per entry, not one for the whole request: a refusal
  // answers every entry with CLUSTER_AUTHORIZATION_FAILED, as Kafka does, instead of a closed
  // connection the client would take for a network failure.
  [
    ApiKey.CREATE_ACLS,
    clusterPerEntry(ApiKey.CREATE_ACLS, Op.ALTER, (request, message) => ({
      results: (request.creations as Message[]).map(() => ({
        errorCode: CLUSTER_DENIED,
        errorMessage: message,
        _unknownTaggedFields: [],
      })),
    })),
  ],
  [
    ApiKey.DELETE_ACLS,
    clusterPerEntry(ApiKey.DELETE_ACLS, Op.ALTER, (request, message) => ({
      filterResults: (request.filters as Message[]).map(() => ({
        errorCode: CLUSTER_DENIED,
        errorMessage: message,
        matchingAcls: [],
        _unknownTaggedFields: [],
      })),
    })),
  ],
  [
    ApiKey.DESCRIBE_CLIENT_QUOTAS,
    (_request, check) =>
      check.cluster(Op.DESCRIBE_CONFIGS)
        ? ALLOW
        : denyWhole(ApiKey.DESCRIBE_CLIENT_QUOTAS, CLUSTER_DENIED, check),
  ],
  [
    ApiKey.ALTER_CLIENT_QUOTAS,
    clusterPerEntry(ApiKey.ALTER_CLIENT_QUOTAS, Op.ALTER_CONFIGS, (request, message) => ({
      entries: (request.entries as Message[]).map((e) => ({
        errorCode: CLUSTER_DENIED,
        errorMessage: message,
        entity: (e.entity as Message[]).map((x) => ({
          entityType: x.entityType,
          entityName: x.entityName,
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      })),
    })),
  ],
  [
    ApiKey.ALTER_USER_SCRAM_CREDENTIALS,
    clusterPerEntry(ApiKey.ALTER_USER_SCRAM_CREDENTIALS, Op.ALTER, (request, message) => ({
      results: [
        ...new Set([
          ...(request.deletions as Message[]).map((d) => d.name as string),
          ...(request.upsertions as Message[]).map((u) => u.name as string),
        ]),
      ].map((user) => ({
        user,
        errorCode: CLUSTER_DENIED,
        errorMessage: message,
        _unknownTaggedFields: [],
      })),
    })),
  ],
  [
    ApiKey.ALTER_REPLICA_LOG_DIRS,
    clusterPerEntry(ApiKey.ALTER_REPLICA_LOG_DIRS, Op.ALTER, (request) => ({
      results: (request.dirs as Message[]).flatMap((d) =>
        (d.topics as Message[]).map((t) => ({
          topicName: t.name,
          partitions: (t.partitions as number[]).map((partitionIndex) => ({
            partitionIndex,
            errorCode: CLUSTER_DENIED,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        }))
      ),
    })),
  ],
  [
    ApiKey.WRITE_TXN_MARKERS,
    clusterPerEntry(ApiKey.WRITE_TXN_MARKERS, Op.CLUSTER_ACTION, (request) => ({
      markers: (request.markers as Message[]).map((m) => ({
        producerId: m.producerId,
        topics: (m.topics as Message[]).map((t) => ({
          name: t.name,
          partitions: (t.partitionIndexes as number[]).map((partitionIndex) => ({
            partitionIndex,
            errorCode: CLUSTER_DENIED,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        })),
        _unknownTaggedFields: [],
      })),
    })),
  ],
]);

/**
 * A rule for an API that needs `operation` on the cluster and whose response has an error per
 * entry: `entries` builds the response fields that answer every entry refused.
 */
function clusterPerEntry(
  apiKey: number,
  operation: number,
  entries: (request: Message, message: string) => Message,
): Rule {
  return (request, check) => {
    if (check.cluster(operation)) return ALLOW;
    const api = API_TABLE.get(apiKey)!;
    const response = {
      ...(api.createResponse() as Message),
      ...entries(request, `${check.describe()} is not authorized to send ${api.name}`),
    };
    return { allow: false, response };
  };
}

function alteredError(r: Message, errorCode: number): Message {
  return {
    errorCode,
    errorMessage: null,
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    _unknownTaggedFields: [],
  };
}

/** FindCoordinator v4+: split the batched keys, answer the refused ones with `code`. */
function keysAsStrings(
  request: Message,
  check: Check,
  ok: (key: string) => boolean,
  code: number,
): GuardOutcome {
  const keys = request.coordinatorKeys as string[];
  const denied = keys.filter((k) => !ok(k));
  if (denied.length === 0) return ALLOW;
  return {
    allow: true,
    request: { ...request, coordinatorKeys: keys.filter((k) => ok(k)) },
    after: (response) => {
      const r = response as Message;
      return {
        ...r,
        coordinators: [
          ...(r.coordinators as Message[]),
          ...denied.map((key) => ({
            key,
            nodeId: -1,
            host: "",
            port: -1,
            errorCode: code,
            errorMessage: `${check.describe()} may not describe ${key}`,
            _unknownTaggedFields: [],
          })),
        ],
      };
    },
  };
}

/** A request listing group ids (or transactional ids): refused ones answered by `failed`. */
function groupList(
  request: Message,
  listKey: string,
  responseKey: string,
  check: Check,
  operation: number,
  failed: (id: string) => Message,
  resourceType: number = RT.GROUP,
): GuardOutcome {
  const ids = request[listKey] as string[];
  const ok = (id: string) => check.allowed(operation, resourceType, id);
  const denied = ids.filter((id) => !ok(id));
  if (denied.length === 0) return ALLOW;
  return {
    allow: true,
    request: { ...request, [listKey]: ids.filter(ok) },
    after: (response) => {
      const r = response as Message;
      return { ...r, [responseKey]: [...(r[responseKey] as Message[]), ...denied.map(failed)] };
    },
  };
}

/**
 * DescribeGroups/ConsumerGroupDescribe with `includeAuthorizedOperations`: each described group
 * reports what this principal may do with it (the handler, which has no authorizer, reports every
 * operation a group supports).
 */
function withGroupOperations(request: Message, check: Check, outcome: GuardOutcome): GuardOutcome {
  if (request.includeAuthorizedOperations !== true || !outcome.allow) return outcome;
  const before = outcome.after;
  return {
    ...outcome,
    after: (response) => {
      const r = (before === undefined ? response : before(response)) as Message;
      return {
        ...r,
        groups: (r.groups as Message[]).map((g) =>
          g.errorCode === 0
            ? { ...g, authorizedOperations: check.operations(RT.GROUP, g.groupId) }
            : g
        ),
      };
    },
  };
}

/** Config resources: topics by name, brokers (and broker loggers) as the cluster. */
function configResources(
  request: Message,
  check: Check,
  operation: number,
  responseKey: string,
  failed: (r: Message, errorCode: number) => Message,
): GuardOutcome {
  const TOPIC_CONFIG = 2;
  const codeFor = (r: Message): number | null => {
    if (r.resourceType === TOPIC_CONFIG) {
      return check.topic(operation, r.resourceName) ? null : TOPIC_DENIED;
    }
    return check.cluster(operation) ? null : CLUSTER_DENIED;
  };
  const resources = request.resources as Message[];
  const denied = resources.filter((r) => codeFor(r) !== null);
  if (denied.length === 0) return ALLOW;
  return {
    allow: true,
    request: { ...request, resources: resources.filter((r) => !denied.includes(r)) },
    after: (response) => {
      const r = response as Message;
      return {
        ...r,
        [responseKey]: [
          ...(r[responseKey] as Message[]),
          ...denied.map((d) => failed(d, codeFor(d)!)),
        ],
      };
    },
  };
}
