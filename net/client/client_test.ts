import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { parseBootstrap } from "./cluster.ts";
import { encodeAssignment, encodeSubscription, rangeAssign } from "./consumer.ts";
import { decodeAssignment } from "./admin.ts";
import { toHeaders } from "./producer.ts";
import { readSubscriptionTopics } from "../../core/group/consumer_protocol.ts";

Deno.test("bootstrap lists parse host:port pairs including IPv6 literals", () => {
  assertEquals(parseBootstrap("a:9092, b:9093"), [{ host: "a", port: 9092 }, {
    host: "b",
    port: 9093,
  }]);
  assertEquals(parseBootstrap(["[::1]:9092"]), [{ host: "::1", port: 9092 }]);
  assertThrows(() => parseBootstrap("a"), /host:port/);
  assertThrows(() => parseBootstrap(""), /No bootstrap servers/);
});

// RangeAssignor.java: members sorted, the first (partitions % members) get one extra.
Deno.test("the range assignor gives consecutive ranges per topic", () => {
  const result = rangeAssign(
    new Map([["b", ["t", "u"]], ["a", ["t"]]]),
    new Map([["t", 5], ["u", 2]]),
  );
  assertEquals(result.get("a"), [0, 1, 2].map((partition) => ({ topic: "t", partition })));
  assertEquals(result.get("b"), [
    { topic: "t", partition: 3 },
    { topic: "t", partition: 4 },
    { topic: "u", partition: 0 },
    { topic: "u", partition: 1 },
  ]);
});

Deno.test("consumer protocol subscription and assignment round-trip", () => {
  assertEquals(readSubscriptionTopics(encodeSubscription(["orders", "payments"])), [
    "orders",
    "payments",
  ]);
  const assigned = [{ topic: "orders", partition: 0 }, { topic: "orders", partition: 2 }, {
    topic: "p",
    partition: 1,
  }];
  assertEquals(decodeAssignment(encodeAssignment(assigned)), assigned);
  assertEquals(decodeAssignment(new Uint8Array([0])), []);
});

Deno.test("headers given as an object keep their order and encode strings as UTF-8", () => {
  assertEquals(toHeaders({ a: "1", b: null }), [
    { key: "a", value: new TextEncoder().encode("1") },
    { key: "b", value: null },
  ]);
});
