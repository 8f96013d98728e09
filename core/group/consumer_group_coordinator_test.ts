// ConsumerGroupHeartbeat v1 (Kafka 4.0): client-generated member ids (KIP-1082) and regex
// subscriptions resolved on the coordinator (KIP-848 SubscribedTopicRegex).
import { strict as assert } from "node:assert";
import { CLIENT_MEMBER_ID_CHARS_MAX, ConsumerGroups } from "./consumer_group_coordinator.ts";
import { GroupErrorCode } from "./error_codes.ts";
import { randomMemberIdGenerator } from "./member_id.ts";
import { SeededRandom } from "../random.ts";
import {
  type ConsumerGroupHeartbeatInput,
  GROUP_COORDINATOR_DEFAULTS,
  type TopicIdPartitions,
  type TopicMetadataLookup,
} from "./types.ts";

/** A metadata image stand-in whose topic map is replaced on every change, like the real one. */
class Topics implements TopicMetadataLookup {
  #byName = new Map<string, { topicId: string; numPartitions: number }>();

  create(name: string, numPartitions: number): void {
    this.#byName = new Map(this.#byName).set(name, { topicId: `id-${name}`, numPartitions });
  }

  delete(name: string): void {
    const next = new Map(this.#byName);
    next.delete(name);
    this.#byName = next;
  }

  byName(name: string) {
    return this.#byName.get(name);
  }

  byId(topicId: string) {
    for (const [name, t] of this.#byName) {
      if (t.topicId === topicId) return { name, numPartitions: t.numPartitions };
    }
    return undefined;
  }

  topicNames(): ReadonlyMap<string, unknown> {
    return this.#byName;
  }
}

function setup() {
  const topics = new Topics();
  const groups = new ConsumerGroups({
    config: GROUP_COORDINATOR_DEFAULTS,
    topics,
    generateMemberId: randomMemberIdGenerator(new SeededRandom(1)),
  });
  return { topics, groups };
}

function v1(init: Partial<ConsumerGroupHeartbeatInput>): ConsumerGroupHeartbeatInput {
  return {
    groupId: "g",
    memberId: "6dAuVH3ySUO4zNGRw6Dt0Q",
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30000,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
    clientId: "rdkafka",
    clientHost: "/127.0.0.1",
    apiVersion: 1,
    ...init,
  };
}

const owned = (list: TopicIdPartitions[] | undefined) =>
  (list ?? []).flatMap((t) => t.partitions.map((p) => `${t.topicId}:${p}`)).sort();

Deno.test("a v1 member joins under the id it generated itself (KIP-1082)", () => {
  const { topics, groups } = setup();
  topics.create("t", 2);
  const { result } = groups.heartbeat(v1({ subscribedTopicNames: ["t"] }), 0);
  assert.equal(result.errorCode, GroupErrorCode.NONE);
  assert.equal(result.memberId, "6dAuVH3ySUO4zNGRw6Dt0Q");
  assert.equal(result.memberEpoch, 1);
  assert.deepEqual(owned(result.assignment?.topicPartitions), ["id-t:0", "id-t:1"]);
});

Deno.test("a v1 heartbeat without a member id, or with one longer than a UUID, is invalid", () => {
  const { topics, groups } = setup();
  topics.create("t", 1);
  const empty = groups.heartbeat(v1({ memberId: "", subscribedTopicNames: ["t"] }), 0);
  assert.equal(empty.result.errorCode, GroupErrorCode.INVALID_REQUEST);
  assert.equal(empty.result.errorMessage, "MemberId can't be empty.");
  assert.deepEqual(empty.records, []);
  const long = "x".repeat(CLIENT_MEMBER_ID_CHARS_MAX + 1);
  const tooLong = groups.heartbeat(v1({ memberId: long, subscribedTopicNames: ["t"] }), 0);
  assert.equal(tooLong.result.errorCode, GroupErrorCode.INVALID_REQUEST);
  const uuid = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
  const ok = groups.heartbeat(v1({ memberId: uuid, subscribedTopicNames: ["t"] }), 0);
  assert.equal(ok.result.errorCode, GroupErrorCode.NONE);
  // v0 keeps coordinator-generated ids.
  const v0 = groups.heartbeat(v1({ memberId: "", apiVersion: 0, subscribedTopicNames: ["t"] }), 0);
  assert.equal(v0.result.errorCode, GroupErrorCode.NONE);
  assert.match(v0.result.memberId!, /^rdkafka-[0-9a-f-]{36}$/);
});

Deno.test("a join must name topics or a regex, and may subscribe to nothing", () => {
  const { groups } = setup();
  const neither = groups.heartbeat(v1({}), 0);
  assert.equal(neither.result.errorCode, GroupErrorCode.INVALID_REQUEST);
  const nothing = groups.heartbeat(v1({ subscribedTopicNames: [] }), 0);
  assert.equal(nothing.result.errorCode, GroupErrorCode.NONE);
  assert.deepEqual(owned(nothing.result.assignment?.topicPartitions), []);
});

Deno.test("another consumer reusing a live member's id takes over and the old one is fenced", () => {
  const { topics, groups } = setup();
  topics.create("t", 2);
  const first = groups.heartbeat(v1({ subscribedTopicNames: ["t"] }), 0).result;
  assert.equal(first.memberEpoch, 1);
  const second = groups.heartbeat(v1({ subscribedTopicNames: ["t"] }), 10).result;
  assert.equal(second.errorCode, GroupErrorCode.NONE);
  assert.equal(second.memberEpoch, 2);
  const stale = groups.heartbeat(
    v1({ memberEpoch: 1, topicPartitions: first.assignment!.topicPartitions }),
    20,
  );
  assert.equal(stale.result.errorCode, GroupErrorCode.FENCED_MEMBER_EPOCH);
  assert.deepEqual(stale.records, []);
  const unknown = groups.heartbeat(v1({ memberId: "other", memberEpoch: 2 }), 30);
  assert.equal(unknown.result.errorCode, GroupErrorCode.UNKNOWN_MEMBER_ID);
});

Deno.test("a regex subscription follows topics as they are created and deleted", () => {
  const { topics, groups } = setup();
  topics.create("orders-eu", 2);
  topics.create("payments", 1);
  const join = groups.heartbeat(v1({ subscribedTopicRegex: "orders-.*" }), 0).result;
  assert.equal(join.errorCode, GroupErrorCode.NONE);
  assert.deepEqual(owned(join.assignment?.topicPartitions), ["id-orders-eu:0", "id-orders-eu:1"]);

  topics.create("orders-us", 1);
  const grown = groups.heartbeat(
    v1({ memberEpoch: 1, topicPartitions: join.assignment!.topicPartitions }),
    1000,
  ).result;
  assert.equal(grown.memberEpoch, 2);
  assert.deepEqual(owned(grown.assignment?.topicPartitions), [
    "id-orders-eu:0",
    "id-orders-eu:1",
    "id-orders-us:0",
  ]);

  topics.delete("orders-eu");
  // Revocation before assignment: the member first gives up the deleted topic's partitions.
  const revoking = groups.heartbeat(
    v1({ memberEpoch: 2, topicPartitions: grown.assignment!.topicPartitions }),
    2000,
  ).result;
  assert.equal(revoking.memberEpoch, 2);
  assert.deepEqual(owned(revoking.assignment?.topicPartitions), ["id-orders-us:0"]);
  const shrunk = groups.heartbeat(
    v1({ memberEpoch: 2, topicPartitions: revoking.assignment!.topicPartitions }),
    3000,
  ).result;
  assert.equal(shrunk.errorCode, GroupErrorCode.NONE);
  assert.equal(shrunk.memberEpoch, 3);

  const [described] = groups.describe(["g"]);
  assert.equal(described!.members[0]!.subscribedTopicRegex, "orders-.*");
});

Deno.test("a regex and topic names together subscribe to both, and an empty regex clears it", () => {
  const { topics, groups } = setup();
  topics.create("a1", 1);
  topics.create("b", 1);
  const join =
    groups.heartbeat(v1({ subscribedTopicNames: ["b"], subscribedTopicRegex: "a\\d" }), 0)
      .result;
  assert.deepEqual(owned(join.assignment?.topicPartitions), ["id-a1:0", "id-b:0"]);
  const cleared = groups.heartbeat(
    v1({
      memberEpoch: 1,
      subscribedTopicRegex: "",
      topicPartitions: join.assignment!.topicPartitions,
    }),
    10,
  );
  assert.equal(cleared.result.errorCode, GroupErrorCode.NONE);
  assert.equal(
    groups.groups.get("g")!.members.get("6dAuVH3ySUO4zNGRw6Dt0Q")!.subscribedTopicRegex,
    null,
  );
  // Revocation first: the member keeps b and is asked to give up a1.
  assert.deepEqual(owned(cleared.result.assignment?.topicPartitions), ["id-b:0"]);
});

Deno.test("an invalid regex is answered INVALID_REGULAR_EXPRESSION and changes nothing", () => {
  const { topics, groups } = setup();
  topics.create("t", 1);
  const { result, records } = groups.heartbeat(v1({ subscribedTopicRegex: "orders-(eu" }), 0);
  assert.equal(result.errorCode, GroupErrorCode.INVALID_REGULAR_EXPRESSION);
  assert.equal(
    result.errorMessage,
    "SubscribedTopicRegex `orders-(eu` is not a valid regular expression: missing closing ).",
  );
  assert.deepEqual(records, []);
  assert.equal(groups.groups.size, 0);
});

Deno.test("a regex member's subscription is persisted and restored from the records", () => {
  const { topics, groups } = setup();
  topics.create("logs-1", 2);
  const { records } = groups.heartbeat(v1({ subscribedTopicRegex: "logs-\\d+" }), 0);
  const metadata = records.find((r) => r.type === "consumerGroupMemberMetadata");
  assert.equal(
    (metadata?.value as { subscribedTopicRegex: string | null }).subscribedTopicRegex,
    "logs-\\d+",
  );
  const restored = new ConsumerGroups({
    config: GROUP_COORDINATOR_DEFAULTS,
    topics,
    generateMemberId: randomMemberIdGenerator(new SeededRandom(2)),
  });
  for (const r of records) restored.load(r);
  restored.finishLoad(0);
  topics.create("logs-2", 1);
  const after = restored.heartbeat(
    v1({ memberEpoch: 1, topicPartitions: [{ topicId: "id-logs-1", partitions: [0, 1] }] }),
    100,
  ).result;
  assert.equal(after.errorCode, GroupErrorCode.NONE);
  assert.deepEqual(owned(after.assignment?.topicPartitions), [
    "id-logs-1:0",
    "id-logs-1:1",
    "id-logs-2:0",
  ]);
});
