// Seeded random walks through the controller's partition decisions (broker fencing, unfencing,
// controlled shutdown, re-registration, AlterPartition from leaders, ElectLeaders, reassignments
// and the timers), checking after every step the rules that keep acknowledged records safe:
// the ISR is never empty and stays within the replicas, a leader is an active ISR member, epochs
// never go back, only the partition leader (AlterPartition) ever adds a replica to the ISR unless
// unclean election is allowed, and a reassignment drops replicas only once the remaining ones are
// all in sync (KIP-455). A failing seed replays with the same number.
import assert from "node:assert/strict";
import {
  createAlterPartitionRequest,
  createBrokerState,
  createPartitionData,
  createTopicData,
} from "../../net/protocol/generated/alter_partition_request.ts";
import {
  createAlterPartitionReassignmentsRequest,
  createReassignablePartition,
  createReassignableTopic,
} from "../../net/protocol/generated/alter_partition_reassignments_request.ts";
import {
  createElectLeadersRequest,
  createTopicPartitions,
} from "../../net/protocol/generated/elect_leaders_request.ts";
import { createUnregisterBrokerRequest } from "../../net/protocol/generated/unregister_broker_request.ts";
import { SeededRandom } from "../random.ts";
import { alterPartition, unregisterBroker } from "./broker_control.ts";
import { isBrokerActive, type PartitionRegistration } from "./image.ts";
import {
  balancePartitionLeaders,
  ElectionType,
  electLeaders,
  electUncleanLeaders,
} from "./leader_election.ts";
import { alterPartitionReassignments } from "./reassignment.ts";
import { TestCluster, testConfig } from "./testing.ts";

const BROKERS = [1, 2, 3, 4];
const TOPIC = "t";
const PARTITIONS = 3;

function pick<T>(random: SeededRandom, items: readonly T[]): T {
  return items[random.intBelow(items.length)]!;
}

function subset(random: SeededRandom, items: readonly number[]): number[] {
  return items.filter(() => random.next() < 0.5);
}

function snapshot(cluster: TestCluster): PartitionRegistration[] {
  const topic = cluster.image.topics.byName.get(TOPIC)!;
  return Array.from({ length: PARTITIONS }, (_, i) => topic.partitions.get(i)!);
}

/** What one random step did: its name and the ISR members a leader vouched for, per partition. */
interface Step {
  event: string;
  vouched: Map<number, number[]>;
}

/** One random controller event. */
function step(cluster: TestCluster, random: SeededRandom, unclean: boolean): Step {
  const vouched = new Map<number, number[]>();
  const brokers = cluster.image.cluster.brokers;
  const id = pick(random, BROKERS);
  const b = brokers.get(id);
  const partitionId = random.intBelow(PARTITIONS);
  const p = cluster.image.topics.byName.get(TOPIC)!.partitions.get(partitionId)!;
  const kind = random.intBelow(9);
  const event = `event ${kind} on broker ${id}, partition ${partitionId}`;
  switch (kind) {
    case 0: // a broker asks to be fenced (or crashes and its session expires)
      if (b !== undefined && !b.fenced) cluster.heartbeat(id, { wantFence: true });
      break;
    case 1: // a fenced broker caught up and comes back (one told to shut down must restart)
      if (b !== undefined && b.fenced && !b.inControlledShutdown) cluster.heartbeat(id);
      break;
    case 2: // controlled shutdown
      if (b !== undefined && !b.fenced) {
        for (const other of BROKERS) {
          if (brokers.get(other)?.fenced === false) cluster.heartbeat(other);
        }
        cluster.heartbeat(id, { wantShutDown: true });
      }
      break;
    case 3: // a stopped broker restarts as a new incarnation, or leaves for good
      if (b === undefined) cluster.register(id, { generation: random.intBelow(100) });
      else if (b.fenced && random.next() < 0.2) {
        cluster.run(unregisterBroker(
          cluster.image,
          createUnregisterBrokerRequest({ brokerId: id }),
          cluster.ctx(),
        ));
      } else if (b.fenced) {
        cluster.nowMs += cluster.config.brokerSessionTimeoutMs + 1;
        cluster.register(id, { generation: random.intBelow(100) + 100 });
      }
      break;
    case 4: { // the leader changes the ISR: keeps itself, vouches for caught-up replicas
      if (p.leader < 0) break;
      const leader = brokers.get(p.leader)!;
      const newIsr = [p.leader, ...subset(random, p.replicas.filter((r) => r !== p.leader))];
      const response = cluster.run(alterPartition(
        cluster.image,
        createAlterPartitionRequest({
          brokerId: p.leader,
          brokerEpoch: BigInt(leader.epoch),
          topics: [createTopicData({
            topicId: cluster.image.topics.byName.get(TOPIC)!.id,
            partitions: [createPartitionData({
              partitionIndex: partitionId,
              leaderEpoch: p.leaderEpoch,
              partitionEpoch: p.partitionEpoch,
              newIsrWithEpochs: newIsr.map((brokerId) =>
                createBrokerState({
                  brokerId,
                  brokerEpoch: BigInt(brokers.get(brokerId)?.epoch ?? -1),
                })
              ),
              leaderRecoveryState: 0,
            })],
          })],
        }),
        { ...cluster.ctx(), apiVersion: 3 },
      ));
      const code = response.topics[0]!.partitions[0]!.errorCode;
      if (code === 0 || code === 108 /* NEW_LEADER_ELECTED: a completed reassignment */) {
        vouched.set(partitionId, newIsr);
      }
      break;
    }
    case 5:
      cluster.run(electLeaders(
        cluster.image,
        createElectLeadersRequest({
          electionType: random.next() < 0.7 || !unclean
            ? ElectionType.PREFERRED
            : ElectionType.UNCLEAN,
          topicPartitions: random.next() < 0.5
            ? null
            : [createTopicPartitions({ topic: TOPIC, partitions: [partitionId] })],
        }),
        cluster.ctx(),
      ));
      break;
    case 6: { // start a move to random brokers, or cancel one
      const target = subset(random, BROKERS);
      cluster.run(alterPartitionReassignments(
        cluster.image,
        createAlterPartitionReassignmentsRequest({
          topics: [createReassignableTopic({
            name: TOPIC,
            partitions: [createReassignablePartition({
              partitionIndex: partitionId,
              replicas: random.next() < 0.3 ? null : target.length > 0 ? target : [id],
            })],
          })],
        }),
        cluster.ctx(),
      ));
      break;
    }
    case 7:
      cluster.commit(balancePartitionLeaders(cluster.image, {}).records);
      break;
    default:
      cluster.commit(electUncleanLeaders(cluster.image, cluster.config).records);
  }
  return { event, vouched };
}

function checkInvariants(
  cluster: TestCluster,
  before: PartitionRegistration[],
  after: PartitionRegistration[],
  vouched: Map<number, number[]>,
  unclean: boolean,
  where: string,
): void {
  after.forEach((p, i) => {
    const was = before[i]!;
    const at = `${where}, partition ${i}: ${JSON.stringify(p)}`;
    assert.ok(p.isr.length > 0, `empty ISR at ${at}`);
    assert.equal(new Set(p.isr).size, p.isr.length, `duplicate ISR member at ${at}`);
    assert.ok(p.isr.every((r) => p.replicas.includes(r)), `ISR outside the replicas at ${at}`);
    assert.ok(p.leader === -1 || p.isr.includes(p.leader), `leader outside the ISR at ${at}`);
    assert.ok(
      p.leader === -1 || isBrokerActive(cluster.image, p.leader),
      `inactive leader at ${at}`,
    );
    assert.ok(p.leaderEpoch >= was.leaderEpoch, `leader epoch went back at ${at}`);
    assert.ok(p.partitionEpoch >= was.partitionEpoch, `partition epoch went back at ${at}`);
    const changed = JSON.stringify({ ...p, partitionEpoch: 0, leaderEpoch: 0 }) !==
      JSON.stringify({ ...was, partitionEpoch: 0, leaderEpoch: 0 });
    if (changed) assert.ok(p.partitionEpoch > was.partitionEpoch, `change without epoch at ${at}`);
    if (p.leader !== was.leader) assert.ok(p.leaderEpoch > was.leaderEpoch, `same epoch at ${at}`);
    // Only the leader may vouch for a new ISR member; otherwise only unclean election adds one.
    const allowed = new Set([...was.isr, ...(vouched.get(i) ?? [])]);
    const added = p.isr.filter((r) => !allowed.has(r));
    if (!unclean) assert.deepEqual(added, [], `ISR grew without the leader at ${at}`);
    else assert.ok(added.length === 0 || p.isr.length === 1, `unclean ISR not alone at ${at}`);
    // KIP-455: replicas leave the replica set only once every remaining one is in sync (a
    // cancelled move drops the replicas it was adding, which never held acknowledged records).
    const dropped = was.replicas.filter((r) =>
      !p.replicas.includes(r) && !was.addingReplicas.includes(r)
    );
    if (dropped.length > 0) {
      assert.ok(
        p.replicas.every((r) => p.isr.includes(r)),
        `replica dropped early at ${at} (was ${JSON.stringify(was)})`,
      );
    }
  });
}

function walk(seed: number, unclean: boolean, steps: number): void {
  const random = new SeededRandom(seed);
  const cluster = new TestCluster({
    seed,
    config: testConfig({
      topicConfigDefaults: new Map([["unclean.leader.election.enable", String(unclean)]]),
    }),
  });
  cluster.addBrokers(BROKERS);
  cluster.createTopic(
    TOPIC,
    Array.from({ length: PARTITIONS }, (_, i) => [1, 2, 3].map((r) => ((r + i - 1) % 4) + 1)),
  );
  for (let i = 0; i < steps; i++) {
    const before = snapshot(cluster);
    const { event, vouched } = step(cluster, random, unclean);
    checkInvariants(
      cluster,
      before,
      snapshot(cluster),
      vouched,
      unclean,
      `seed ${seed} step ${i} (${event})`,
    );
  }
}

Deno.test("300 seeded walks keep every ISR and leader rule with unclean election off", () => {
  for (let seed = 1; seed <= 300; seed++) walk(seed, false, 150);
});

Deno.test("100 seeded walks with unclean election on only ever add a lone unclean leader", () => {
  for (let seed = 1001; seed <= 1100; seed++) walk(seed, true, 150);
});
