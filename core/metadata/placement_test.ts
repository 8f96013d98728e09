import assert from "node:assert/strict";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { SeededRandom } from "../random.ts";
import { placeReplicas, type UsableBroker } from "./placement.ts";

function counts(assignments: number[][], onlyLeaders: boolean): Map<number, number> {
  const out = new Map<number, number>();
  for (const replicas of assignments) {
    for (const r of onlyLeaders ? replicas.slice(0, 1) : replicas) {
      out.set(r, (out.get(r) ?? 0) + 1);
    }
  }
  return out;
}

function spread(m: Map<number, number>): number {
  const values = [...m.values()];
  return Math.max(...values) - Math.min(...values);
}

function brokers(n: number, rack: (id: number) => string | null = () => null): UsableBroker[] {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, rack: rack(i + 1) }));
}

Deno.test("3 brokers share leaders and replicas evenly", () => {
  // StripedReplicaPlacer: leaders round-robin from a random start.
  for (let seed = 0; seed < 10; seed++) {
    const a = placeReplicas(brokers(3), {
      numPartitions: 12,
      replicationFactor: 3,
      random: new SeededRandom(seed),
    });
    assert.equal(a.length, 12);
    for (const replicas of a) assert.equal(new Set(replicas).size, 3);
    assert.deepEqual([...counts(a, true).values()], [4, 4, 4]);
    assert.equal(spread(counts(a, false)), 0);
  }
});

Deno.test("5 brokers share leaders within one and followers evenly", () => {
  for (let seed = 0; seed < 10; seed++) {
    const a = placeReplicas(brokers(5), {
      numPartitions: 23,
      replicationFactor: 3,
      random: new SeededRandom(seed),
    });
    const leaders = counts(a, true);
    assert.equal(leaders.size, 5);
    assert.ok(spread(leaders) <= 1, `seed ${seed}: leaders ${[...leaders]}`);
    assert.ok(spread(counts(a, false)) <= 3, `seed ${seed}: replicas ${[...counts(a, false)]}`);
    for (const replicas of a) assert.equal(new Set(replicas).size, 3);
  }
});

Deno.test("replicas spread over every rack when there are enough racks", () => {
  // KIP-36 rack awareness, kept by KRaft's placer.
  const racks = (id: number) => `rack-${id % 3}`;
  for (let seed = 0; seed < 10; seed++) {
    const a = placeReplicas(brokers(6, racks), {
      numPartitions: 30,
      replicationFactor: 3,
      random: new SeededRandom(seed),
    });
    for (const replicas of a) assert.equal(new Set(replicas.map(racks)).size, 3);
    assert.ok(spread(counts(a, true)) <= 1);
    assert.ok(spread(counts(a, false)) <= 2);
  }
});

Deno.test("with fewer racks than replicas every rack still gets a replica", () => {
  const racks = (id: number) => (id <= 3 ? "a" : "b");
  const a = placeReplicas(brokers(5, racks), {
    numPartitions: 10,
    replicationFactor: 3,
    random: new SeededRandom(9),
  });
  for (const replicas of a) {
    assert.equal(new Set(replicas).size, 3);
    assert.equal(new Set(replicas.map(racks)).size, 2);
  }
});

Deno.test("a replication factor above the broker count is INVALID_REPLICATION_FACTOR", () => {
  assert.throws(
    () =>
      placeReplicas(brokers(2), {
        numPartitions: 1,
        replicationFactor: 3,
        random: new SeededRandom(1),
      }),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR,
  );
  assert.throws(
    () =>
      placeReplicas(brokers(2), {
        numPartitions: 1,
        replicationFactor: 0,
        random: new SeededRandom(1),
      }),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR,
  );
});

Deno.test("the same seed gives the same placement", () => {
  const place = () =>
    placeReplicas(brokers(4), {
      numPartitions: 8,
      replicationFactor: 2,
      random: new SeededRandom(5),
    });
  assert.deepEqual(place(), place());
});
