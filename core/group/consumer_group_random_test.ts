import { strict as assert } from "node:assert";
import { ConsumerGroups } from "./consumer_group_coordinator.ts";
import { GroupErrorCode } from "./error_codes.ts";
import { randomMemberIdGenerator } from "./member_id.ts";
import { SeededRandom } from "../random.ts";
import { GROUP_COORDINATOR_DEFAULTS, type TopicMetadataLookup } from "./types.ts";

/** A simulated KIP-848 client: it owns exactly what its last assignment said. */
interface Client {
  memberId: string;
  epoch: number;
  owned: Set<number>;
  alive: boolean;
  epochs: number[];
  lastHeartbeatMs: number;
}

const PARTITIONS = 12;
const TOPICS: TopicMetadataLookup = {
  byName: (name) => name === "t" ? { topicId: "T", numPartitions: PARTITIONS } : undefined,
  byId: (id) => id === "T" ? { name: "t", numPartitions: PARTITIONS } : undefined,
  topicNames: () => new Map([["t", null]]),
};

function heartbeat(g: ConsumerGroups, c: Client, nowMs: number): void {
  c.lastHeartbeatMs = nowMs;
  const joining = c.epoch === 0;
  const { result } = g.heartbeat({
    groupId: "g",
    memberId: c.memberId,
    memberEpoch: c.epoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 20000,
    subscribedTopicNames: ["t"],
    serverAssignor: null,
    topicPartitions: joining ? [] : [{ topicId: "T", partitions: [...c.owned] }],
    clientId: c.memberId,
    clientHost: "/127.0.0.1",
  }, nowMs);
  if (
    result.errorCode === GroupErrorCode.FENCED_MEMBER_EPOCH ||
    result.errorCode === GroupErrorCode.UNKNOWN_MEMBER_ID
  ) {
    // Fenced: the client loses its partitions and rejoins at epoch 0 (KIP-848).
    c.owned.clear();
    c.epoch = 0;
    c.epochs = [];
    return;
  }
  assert.equal(result.errorCode, 0, result.errorMessage ?? "");
  const last = c.epochs.at(-1);
  assert.ok(last === undefined || result.memberEpoch >= last, "member epochs only grow");
  c.epochs.push(result.memberEpoch);
  c.epoch = result.memberEpoch;
  if (result.assignment !== null) {
    c.owned = new Set(result.assignment.topicPartitions.flatMap((t) => t.partitions));
  }
}

function checkNoDoubleOwnership(clients: Client[]): void {
  const owner = new Map<number, string>();
  for (const c of clients.filter((c) => c.alive)) {
    for (const p of c.owned) {
      assert.ok(!owner.has(p), `partition ${p} owned by ${owner.get(p)} and ${c.memberId}`);
      owner.set(p, c.memberId);
    }
  }
}

// KIP-848: a partition is never assigned to a member before its previous owner has revoked it,
// member epochs never go backwards, and a stable membership converges on a full assignment.
for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  Deno.test(`joins, leaves and crashes never give a partition two owners (seed ${seed})`, () => {
    const random = new SeededRandom(seed);
    const g = new ConsumerGroups({
      config: GROUP_COORDINATOR_DEFAULTS,
      topics: TOPICS,
      generateMemberId: randomMemberIdGenerator(random),
    });
    const clients: Client[] = [];
    let nowMs = 0;
    let next = 0;
    for (let step = 0; step < 400; step++) {
      nowMs += random.intBelow(1000);
      // Live clients heartbeat at least every group.consumer.heartbeat.interval.ms.
      for (const c of clients) {
        if (c.alive && nowMs - c.lastHeartbeatMs >= 5000) heartbeat(g, c, nowMs);
      }
      const live = clients.filter((c) => c.alive);
      const roll = random.intBelow(100);
      if (roll < 8 || live.length === 0) {
        const c = {
          memberId: `m${next++}`,
          epoch: 0,
          owned: new Set<number>(),
          alive: true,
          epochs: [],
          lastHeartbeatMs: nowMs,
        };
        clients.push(c);
        heartbeat(g, c, nowMs);
      } else if (roll < 12) {
        const c = live[random.intBelow(live.length)]!;
        g.heartbeat({
          groupId: "g",
          memberId: c.memberId,
          memberEpoch: -1,
          instanceId: null,
          rackId: null,
          rebalanceTimeoutMs: -1,
          subscribedTopicNames: null,
          serverAssignor: null,
          topicPartitions: null,
          clientId: "",
          clientHost: "",
        }, nowMs);
        c.alive = false;
      } else if (roll < 15) {
        live[random.intBelow(live.length)]!.alive = false; // crash: stops heartbeating
      } else {
        heartbeat(g, live[random.intBelow(live.length)]!, nowMs);
      }
      g.tick(nowMs);
      checkNoDoubleOwnership(clients);
    }
    // Stable membership: everyone heartbeats until crashed members expire and the group converges.
    for (let round = 0; round < 80; round++) {
      nowMs += 1000;
      for (const c of clients.filter((c) => c.alive)) heartbeat(g, c, nowMs);
      g.tick(nowMs);
      checkNoDoubleOwnership(clients);
    }
    const live = clients.filter((c) => c.alive);
    const owned = live.flatMap((c) => [...c.owned]).sort((a, b) => a - b);
    if (live.length > 0) {
      assert.deepEqual(owned, [...Array(PARTITIONS).keys()], "every partition is assigned");
      assert.equal(g.groups.get("g")!.state(), "Stable");
      const loads = live.map((c) => c.owned.size);
      assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `balanced: ${loads}`);
    }
  });
}
