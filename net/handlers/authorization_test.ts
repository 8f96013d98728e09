// The authorization matrix (issue #12): for every API a broker or controller serves, a principal
// without the ACL Kafka requires is refused with Kafka's error (the whole request, or each named
// resource), and the same request goes through unchanged once that ACL exists. APIs with no rule of
// their own need the cluster permission their kind implies; only ApiVersions and SASL are open.
import { strict as assert } from "node:assert";
import { API_TABLE, ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  type AclBinding,
  AclOperation as Op,
  CLUSTER_RESOURCE_NAME,
  PatternType,
  Permission,
  ResourceType as RT,
  StandardAuthorizer,
} from "../../core/security/acl.ts";
import { authorizationGuard } from "./authorization.ts";
import type { GuardOutcome, RequestContext } from "../dispatcher.ts";

// deno-lint-ignore no-explicit-any
type Message = Record<string, any>;

const PRINCIPAL = "User:p";

function context(apiKey: number, apiVersion: number): RequestContext {
  return {
    listenerName: "PLAINTEXT",
    clientHost: "/127.0.0.1",
    connectionId: 1,
    principal: PRINCIPAL,
    apiVersion,
    header: {
      requestApiKey: apiKey,
      requestApiVersion: apiVersion,
      correlationId: 1,
      clientId: "c",
      _unknownTaggedFields: [],
    },
  } as unknown as RequestContext;
}

function acl(resourceType: number, resourceName: string, operation: number): AclBinding {
  return {
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal: PRINCIPAL,
    host: "*",
    operation,
    permissionType: Permission.ALLOW,
  };
}

const CLUSTER = (op: number) => acl(RT.CLUSTER, CLUSTER_RESOURCE_NAME, op);
const TOPIC = (op: number) => acl(RT.TOPIC, "t", op);
const GROUP = (op: number) => acl(RT.GROUP, "g", op);
const TXN = (op: number) => acl(RT.TRANSACTIONAL_ID, "tx", op);

/** One row: the request, the ACLs that must let it through, and the code refusing it. */
interface Row {
  apiKey: number;
  version: number;
  request: Message;
  needs: AclBinding[];
  code: number;
}

const topicParts = (key = "partitions", index = "partitionIndex") => [{ [key]: [{ [index]: 0 }] }];

const ROWS: Row[] = [
  {
    apiKey: ApiKey.METADATA,
    version: 12,
    request: {
      topics: [{ name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }],
      allowAutoTopicCreation: false,
    },
    needs: [TOPIC(Op.DESCRIBE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.PRODUCE,
    version: 9,
    request: {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1,
      topicData: [{ name: "t", partitionData: [{ index: 0, records: null }] }],
    },
    needs: [TOPIC(Op.WRITE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.FETCH,
    version: 12,
    request: {
      replicaId: -1,
      topics: [{ topic: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA", partitions: [{ partition: 0 }] }],
    },
    needs: [TOPIC(Op.READ)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.FETCH,
    version: 12,
    request: { replicaId: 2, topics: [] },
    needs: [CLUSTER(Op.CLUSTER_ACTION)],
    code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.LIST_OFFSETS,
    version: 7,
    request: { topics: [{ name: "t", ...topicParts()[0] }] },
    needs: [TOPIC(Op.DESCRIBE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.OFFSET_COMMIT,
    version: 8,
    request: { groupId: "g", topics: [{ name: "t", ...topicParts()[0] }] },
    needs: [GROUP(Op.READ), TOPIC(Op.READ)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.OFFSET_FETCH,
    version: 7,
    request: { groupId: "g", topics: null },
    needs: [GROUP(Op.DESCRIBE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.OFFSET_FETCH,
    version: 8,
    request: { groups: [{ groupId: "g", topics: null }] },
    needs: [GROUP(Op.DESCRIBE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.FIND_COORDINATOR,
    version: 3,
    request: { key: "g", keyType: 0 },
    needs: [GROUP(Op.DESCRIBE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.FIND_COORDINATOR,
    version: 4,
    request: { keyType: 1, coordinatorKeys: ["tx"] },
    needs: [TXN(Op.DESCRIBE)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.JOIN_GROUP,
    version: 9,
    request: { groupId: "g" },
    needs: [GROUP(Op.READ)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.HEARTBEAT,
    version: 4,
    request: { groupId: "g" },
    needs: [GROUP(Op.READ)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.LEAVE_GROUP,
    version: 5,
    request: { groupId: "g", members: [] },
    needs: [GROUP(Op.READ)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.SYNC_GROUP,
    version: 5,
    request: { groupId: "g" },
    needs: [GROUP(Op.READ)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_GROUPS,
    version: 5,
    request: { groups: ["g"] },
    needs: [GROUP(Op.DESCRIBE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DELETE_GROUPS,
    version: 2,
    request: { groupsNames: ["g"] },
    needs: [GROUP(Op.DELETE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.OFFSET_DELETE,
    version: 0,
    request: { groupId: "g", topics: [{ name: "t", ...topicParts()[0] }] },
    needs: [GROUP(Op.DELETE), TOPIC(Op.READ)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.CONSUMER_GROUP_HEARTBEAT,
    version: 0,
    request: { groupId: "g", subscribedTopicNames: ["t"] },
    needs: [GROUP(Op.READ), TOPIC(Op.DESCRIBE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.CONSUMER_GROUP_DESCRIBE,
    version: 0,
    request: { groupIds: ["g"] },
    needs: [GROUP(Op.DESCRIBE)],
    code: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.CREATE_TOPICS,
    version: 7,
    request: { topics: [{ name: "t" }] },
    needs: [TOPIC(Op.CREATE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DELETE_TOPICS,
    version: 6,
    request: { topics: [{ name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }] },
    needs: [TOPIC(Op.DELETE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.CREATE_PARTITIONS,
    version: 3,
    request: { topics: [{ name: "t" }] },
    needs: [TOPIC(Op.ALTER)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DELETE_RECORDS,
    version: 2,
    request: { topics: [{ name: "t", ...topicParts()[0] }] },
    needs: [TOPIC(Op.DELETE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_PRODUCERS,
    version: 0,
    request: { topics: [{ name: "t", partitionIndexes: [0] }] },
    needs: [TOPIC(Op.READ)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_CONFIGS,
    version: 4,
    request: { resources: [{ resourceType: 2, resourceName: "t" }] },
    needs: [TOPIC(Op.DESCRIBE_CONFIGS)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_CONFIGS,
    version: 4,
    request: { resources: [{ resourceType: 4, resourceName: "1" }] },
    needs: [CLUSTER(Op.DESCRIBE_CONFIGS)],
    code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.ALTER_CONFIGS,
    version: 2,
    request: { resources: [{ resourceType: 2, resourceName: "t" }] },
    needs: [TOPIC(Op.ALTER_CONFIGS)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.INCREMENTAL_ALTER_CONFIGS,
    version: 1,
    request: { resources: [{ resourceType: 4, resourceName: "" }] },
    needs: [CLUSTER(Op.ALTER_CONFIGS)],
    code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.INIT_PRODUCER_ID,
    version: 4,
    request: { transactionalId: "tx" },
    needs: [TXN(Op.WRITE)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.INIT_PRODUCER_ID,
    version: 4,
    request: { transactionalId: null },
    needs: [CLUSTER(Op.IDEMPOTENT_WRITE)],
    code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.ADD_PARTITIONS_TO_TXN,
    version: 3,
    request: {
      transactions: [{ transactionalId: "tx", topics: [{ name: "t", partitions: [0] }] }],
    },
    needs: [TXN(Op.WRITE), TOPIC(Op.WRITE)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.ADD_PARTITIONS_TO_TXN,
    version: 4,
    request: { transactions: [] },
    needs: [CLUSTER(Op.CLUSTER_ACTION)],
    code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.ADD_OFFSETS_TO_TXN,
    version: 3,
    request: { transactionalId: "tx", groupId: "g" },
    needs: [TXN(Op.WRITE), GROUP(Op.READ)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.END_TXN,
    version: 3,
    request: { transactionalId: "tx" },
    needs: [TXN(Op.WRITE)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.TXN_OFFSET_COMMIT,
    version: 3,
    request: { transactionalId: "tx", groupId: "g", topics: [{ name: "t", ...topicParts()[0] }] },
    needs: [TXN(Op.WRITE), GROUP(Op.READ), TOPIC(Op.READ)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_TRANSACTIONS,
    version: 0,
    request: { transactionalIds: ["tx"] },
    needs: [TXN(Op.DESCRIBE)],
    code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_CLUSTER,
    version: 1,
    request: { includeClusterAuthorizedOperations: false },
    needs: [CLUSTER(Op.DESCRIBE)],
    code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    apiKey: ApiKey.DESCRIBE_TOPIC_PARTITIONS,
    version: 0,
    request: { topics: [{ name: "t" }] },
    needs: [TOPIC(Op.DESCRIBE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  {
    // A consumer validating its position after a leader change (replicaId -1).
    apiKey: ApiKey.OFFSET_FOR_LEADER_EPOCH,
    version: 4,
    request: {
      replicaId: -1,
      topics: [{
        topic: "t",
        partitions: [{ partition: 0, currentLeaderEpoch: 3, leaderEpoch: 2 }],
      }],
    },
    needs: [TOPIC(Op.DESCRIBE)],
    code: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
];

/** Cluster-level APIs: refused without the operation, allowed with it. */
const CLUSTER_ROWS: [number, number][] = [
  [ApiKey.CREATE_ACLS, Op.ALTER],
  [ApiKey.DELETE_ACLS, Op.ALTER],
  [ApiKey.DESCRIBE_ACLS, Op.DESCRIBE],
  [ApiKey.ELECT_LEADERS, Op.ALTER],
  [ApiKey.ALTER_PARTITION_REASSIGNMENTS, Op.ALTER],
  [ApiKey.LIST_PARTITION_REASSIGNMENTS, Op.DESCRIBE],
  [ApiKey.DESCRIBE_LOG_DIRS, Op.DESCRIBE],
  [ApiKey.UPDATE_FEATURES, Op.ALTER],
  [ApiKey.DESCRIBE_QUORUM, Op.DESCRIBE],
  [ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, Op.DESCRIBE],
  [ApiKey.ALTER_USER_SCRAM_CREDENTIALS, Op.ALTER],
  [ApiKey.DESCRIBE_CLIENT_QUOTAS, Op.DESCRIBE_CONFIGS],
  [ApiKey.ALTER_CLIENT_QUOTAS, Op.ALTER_CONFIGS],
  [ApiKey.ADD_RAFT_VOTER, Op.ALTER],
  [ApiKey.REMOVE_RAFT_VOTER, Op.ALTER],
  [ApiKey.UNREGISTER_BROKER, Op.ALTER],
  [ApiKey.WRITE_TXN_MARKERS, Op.CLUSTER_ACTION],
  [ApiKey.BROKER_REGISTRATION, Op.CLUSTER_ACTION],
  [ApiKey.BROKER_HEARTBEAT, Op.CLUSTER_ACTION],
  [ApiKey.ALTER_PARTITION, Op.CLUSTER_ACTION],
  [ApiKey.ASSIGN_REPLICAS_TO_DIRS, Op.CLUSTER_ACTION],
  [ApiKey.ALLOCATE_PRODUCER_IDS, Op.CLUSTER_ACTION],
  [ApiKey.VOTE, Op.CLUSTER_ACTION],
  [ApiKey.BEGIN_QUORUM_EPOCH, Op.CLUSTER_ACTION],
  [ApiKey.END_QUORUM_EPOCH, Op.CLUSTER_ACTION],
  [ApiKey.FETCH_SNAPSHOT, Op.CLUSTER_ACTION],
  [ApiKey.CONTROLLER_REGISTRATION, Op.CLUSTER_ACTION],
];

function guardFor(acls: AclBinding[]) {
  const authorizer = new StandardAuthorizer({ superUsers: [], allowEveryoneIfNoAclFound: false });
  authorizer.setAcls(acls);
  return authorizationGuard({ authorizer, topicNameById: () => "t" });
}

function run(acls: AclBinding[], apiKey: number, version: number, request: Message): GuardOutcome {
  const full = { ...(API_TABLE.get(apiKey)!.createRequest() as Message), ...request };
  return guardFor(acls)(apiKey, full, context(apiKey, version));
}

/** Every error code an outcome answers with (whole-request, or added by `after`). */
function refusalCodes(apiKey: number, outcome: GuardOutcome): number[] {
  const codes: number[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if ((k === "errorCode" || k === "partitionErrorCode") && typeof x === "number" && x !== 0) {
          codes.push(x);
        } else walk(x);
      }
    }
  };
  if (!outcome.allow) {
    if ("close" in outcome) return [-2];
    walk(outcome.response);
  } else if (outcome.after !== undefined) {
    walk(outcome.after(API_TABLE.get(apiKey)!.createResponse()));
  }
  return codes;
}

function passesUnchanged(outcome: GuardOutcome): boolean {
  return outcome.allow && outcome.request === undefined && outcome.after === undefined ||
    outcome.allow && outcome.after !== undefined && outcome.request !== undefined &&
      JSON.stringify(outcome.request).length > 0 && false;
}

for (const row of ROWS) {
  const name = API_TABLE.get(row.apiKey)!.name;
  Deno.test(`${name} v${row.version}: refused without ${row.needs.length} ACL(s), let through with them`, () => {
    const refused = run([], row.apiKey, row.version, row.request);
    const codes = refusalCodes(row.apiKey, refused);
    if (row.code === -1) {
      // Filtered, not refused: the topic is left out of the request.
      assert.ok(refused.allow && (refused.request as Message).topics.length === 0);
    } else {
      assert.ok(
        codes.includes(row.code),
        `${name}: expected ${row.code}, got ${JSON.stringify(codes)}`,
      );
    }
    const allowed = run(row.needs, row.apiKey, row.version, row.request);
    assert.ok(
      refusalCodes(row.apiKey, allowed).length === 0,
      `${name} still refused with its ACLs`,
    );
    if (allowed.allow && allowed.request !== undefined) {
      // Requests that are rewritten (Metadata's auto-creation flag) keep every resource.
      for (const [key, value] of Object.entries(row.request)) {
        if (!Array.isArray(value)) continue;
        assert.deepEqual(
          (allowed.request as Message)[key],
          value,
          `${name} lost ${key} it may use`,
        );
      }
    }
  });
}

Deno.test("cluster APIs need their cluster permission; nothing else is open but ApiVersions and SASL", () => {
  for (const [apiKey, op] of CLUSTER_ROWS) {
    const name = API_TABLE.get(apiKey)!.name;
    const refused = run([], apiKey, 0, {});
    assert.ok(!refused.allow, `${name} was let through without ${op} on the cluster`);
    const allowed = run([CLUSTER(op)], apiKey, 0, {});
    assert.ok(passesUnchanged(allowed), `${name} was refused with ${op} on the cluster`);
  }
  for (const apiKey of [ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE, ApiKey.SASL_AUTHENTICATE]) {
    assert.ok(run([], apiKey, 0, {}).allow);
  }
  // Every API in the table has a decision: none is accidentally open.
  const open = [...API_TABLE.keys()].filter((k) =>
    !([ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE, ApiKey.SASL_AUTHENTICATE] as number[]).includes(
      k,
    ) &&
    passesUnchanged(run([], k, API_TABLE.get(k)!.maxVersion, {})) &&
    !([
      ApiKey.LIST_GROUPS,
      ApiKey.LIST_TRANSACTIONS,
      ApiKey.METADATA,
      ApiKey.DESCRIBE_TOPIC_PARTITIONS,
    ] as number[]).includes(k)
  ).map((k) => API_TABLE.get(k)!.name);
  // Requests naming no resource (empty lists) have nothing to refuse; those are listed here.
  for (const name of open) {
    assert.ok(
      [
        "Produce",
        "Fetch",
        "ListOffsets",
        "CreateTopics",
        "DeleteTopics",
        "DeleteRecords",
        "DescribeConfigs",
        "AlterConfigs",
        "IncrementalAlterConfigs",
        "CreatePartitions",
        "DescribeGroups",
        "DeleteGroups",
        "ConsumerGroupDescribe",
        "DescribeProducers",
        "DescribeTransactions",
        "OffsetFetch",
        "OffsetCommit",
        "TxnOffsetCommit",
        "FindCoordinator",
        "AddPartitionsToTxn",
        "ShareGroupDescribe",
        "OffsetForLeaderEpoch",
      ].includes(name),
      `${name} is open to a principal without ACLs`,
    );
  }
});

Deno.test("a refusal is answered in the response's own error fields; only APIs without any close the connection", () => {
  const closing: string[] = [];
  for (const [apiKey, api] of API_TABLE) {
    if (
      ([ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE, ApiKey.SASL_AUTHENTICATE] as number[]).includes(
        apiKey,
      )
    ) continue;
    const outcome = run([], apiKey, api.maxVersion, {});
    if (!outcome.allow && "close" in outcome) closing.push(api.name);
  }
  // Share groups (KIP-932) are not served (ApiVersions leaves them out), so no client reaches
  // these.
  assert.deepEqual(closing.sort(), [
    "DeleteShareGroupState",
    "InitializeShareGroupState",
    "ReadShareGroupState",
    "ReadShareGroupStateSummary",
    "ShareGroupDescribe",
    "WriteShareGroupState",
  ]);
});

Deno.test("per-entry refusals name every entry: AlterClientQuotas, CreateAcls, AlterUserScramCredentials", () => {
  const quotas = run([], ApiKey.ALTER_CLIENT_QUOTAS, 1, {
    entries: [{
      entity: [{ entityType: "user", entityName: "bob" }],
      ops: [{ key: "producer_byte_rate", value: 1, remove: false }],
    }],
  });
  assert.ok(!quotas.allow && "response" in quotas);
  const entries = (quotas.response as Message).entries as Message[];
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  assert.deepEqual(entries[0]!.entity[0].entityName, "bob");
  const acls = run([], ApiKey.CREATE_ACLS, 3, { creations: [{}, {}] });
  assert.ok(!acls.allow && "response" in acls);
  assert.deepEqual(
    ((acls.response as Message).results as Message[]).map((r) => r.errorCode),
    [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
  );
  const scram = run([], ApiKey.ALTER_USER_SCRAM_CREDENTIALS, 0, {
    deletions: [{ name: "a", mechanism: 1 }],
    upsertions: [{ name: "b", mechanism: 1 }, { name: "a", mechanism: 2 }],
  });
  assert.ok(!scram.allow && "response" in scram);
  assert.deepEqual(
    ((scram.response as Message).results as Message[]).map((r) => [r.user, r.errorCode]),
    [["a", ErrorCode.CLUSTER_AUTHORIZATION_FAILED], ["b", ErrorCode.CLUSTER_AUTHORIZATION_FAILED]],
  );
});

Deno.test("DescribeGroups and DescribeTopicPartitions report what the principal may do, not every operation", () => {
  const acls = [GROUP(Op.READ), TOPIC(Op.WRITE)];
  const groups = run(acls, ApiKey.DESCRIBE_GROUPS, 5, {
    groups: ["g"],
    includeAuthorizedOperations: true,
  });
  assert.ok(groups.allow && groups.after !== undefined);
  const handlerAnswer = {
    ...(API_TABLE.get(ApiKey.DESCRIBE_GROUPS)!.createResponse() as Message),
    groups: [{ errorCode: 0, groupId: "g", authorizedOperations: 0x7fff }],
  };
  const described = (groups.after(handlerAnswer) as Message).groups[0];
  // READ implies DESCRIBE: bits 3 and 8, nothing else.
  assert.equal(described.authorizedOperations, (1 << Op.READ) | (1 << Op.DESCRIBE));
  const topics = run(acls, ApiKey.DESCRIBE_TOPIC_PARTITIONS, 0, { topics: [{ name: "t" }] });
  assert.ok(topics.allow && topics.after !== undefined);
  const answer = {
    ...(API_TABLE.get(ApiKey.DESCRIBE_TOPIC_PARTITIONS)!.createResponse() as Message),
    topics: [{ errorCode: 0, name: "t", topicAuthorizedOperations: -2147483648 }],
  };
  assert.equal(
    (topics.after(answer) as Message).topics[0].topicAuthorizedOperations,
    (1 << Op.WRITE) | (1 << Op.DESCRIBE),
  );
});
