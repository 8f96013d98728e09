import { strict as assert } from "node:assert";
import { type Assignment, rangeAssignor, uniformAssignor } from "./assignors.ts";

const members = (...ids: string[]) =>
  ids.map((memberId) => ({ memberId, subscribedTopicIds: new Set(["A", "B"]) }));
const count = (a: Assignment | undefined) =>
  [...(a ?? new Map()).values()].reduce((n, s) => n + s.size, 0);

// KIP-848 "UniformAssignor": balanced, then sticky.
Deno.test("the uniform assignor spreads partitions so loads differ by at most one", () => {
  const target = uniformAssignor({
    members: members("m1", "m2", "m3"),
    topics: new Map([["A", 4], ["B", 3]]),
    previous: new Map(),
  });
  const loads = [...target.values()].map(count).sort();
  assert.deepEqual(loads, [2, 2, 3]);
  const seen = new Set<string>();
  for (const a of target.values()) {
    for (const [t, ps] of a) for (const p of ps) seen.add(`${t}:${p}`);
  }
  assert.equal(seen.size, 7);
});

Deno.test("the uniform assignor keeps partitions with their previous owner when balanced", () => {
  const previous = new Map<string, Assignment>([
    ["m1", new Map([["A", new Set([0, 1])]])],
    ["m2", new Map([["A", new Set([2, 3])]])],
  ]);
  const target = uniformAssignor({
    members: members("m1", "m2", "m3"),
    topics: new Map([["A", 6]]),
    previous,
  });
  assert.deepEqual([...target.get("m1")!.get("A")!].sort(), [0, 1]);
  assert.deepEqual([...target.get("m2")!.get("A")!].sort(), [2, 3]);
  assert.deepEqual([...target.get("m3")!.get("A")!].sort(), [4, 5]);
});

Deno.test("the uniform assignor only gives a member topics it subscribes to", () => {
  const target = uniformAssignor({
    members: [
      { memberId: "a", subscribedTopicIds: new Set(["A"]) },
      { memberId: "b", subscribedTopicIds: new Set(["B"]) },
    ],
    topics: new Map([["A", 2], ["B", 2]]),
    previous: new Map(),
  });
  assert.deepEqual([...target.get("a")!.keys()], ["A"]);
  assert.deepEqual([...target.get("b")!.keys()], ["B"]);
});

// KIP-848 "RangeAssignor": co-partitioning of topics with equal partition counts.
Deno.test("the range assignor gives each member the same ranges of equally sized topics", () => {
  const target = rangeAssignor({
    members: members("m2", "m1"),
    topics: new Map([["A", 3], ["B", 3]]),
    previous: new Map(),
  });
  assert.deepEqual([...target.get("m1")!.get("A")!], [0, 1]);
  assert.deepEqual([...target.get("m1")!.get("B")!], [0, 1]);
  assert.deepEqual([...target.get("m2")!.get("A")!], [2]);
  assert.deepEqual([...target.get("m2")!.get("B")!], [2]);
});
