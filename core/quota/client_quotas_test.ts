import { strict as assert } from "node:assert";
import {
  ClientQuotaEnforcer,
  MutationQuotaEnforcer,
  resolveQuota,
  type StoredQuota,
  userOf,
} from "./client_quotas.ts";

function quota(entity: [string, string | null][], key: string, value: number): StoredQuota {
  return {
    entity: entity.map(([entityType, entityName]) => ({ entityType, entityName })),
    key,
    value,
  };
}

Deno.test("the most specific quota applies, in Kafka's order", () => {
  const k = "producer_byte_rate";
  const all = [
    quota([["client-id", null]], k, 1),
    quota([["client-id", "app"]], k, 2),
    quota([["user", null]], k, 3),
    quota([["user", null], ["client-id", null]], k, 4),
    quota([["user", null], ["client-id", "app"]], k, 5),
    quota([["user", "alice"]], k, 6),
    quota([["user", "alice"], ["client-id", null]], k, 7),
    quota([["user", "alice"], ["client-id", "app"]], k, 8),
  ];
  const order = [8, 7, 6, 5, 4, 3, 2, 1];
  for (let i = 0; i < order.length; i++) {
    const left = all.filter((q) => order.slice(i).includes(q.value));
    assert.equal(resolveQuota(left, "alice", "app", k)?.value, order[i], `rank ${i}`);
  }
  assert.equal(resolveQuota(all, "bob", "other", k)?.value, 4, "defaults for strangers");
  assert.equal(resolveQuota(all, "alice", "app", "consumer_byte_rate"), null);
  assert.equal(userOf("User:alice"), "alice");
  assert.equal(userOf("Group:x"), "");
});

Deno.test("a rate over its quota earns a proportional throttle; under it, none", () => {
  const quotas = [quota([["client-id", "app"]], "producer_byte_rate", 1000)];
  const enforcer = new ClientQuotaEnforcer({ windowCount: 11, windowSizeMs: 1000 });
  // 5,000 bytes within the first second, measured over the 10 s minimum span: 500 B/s.
  assert.equal(enforcer.record(quotas, "", "app", "producer_byte_rate", 5_000, 0), 0);
  // 20,000 more: 2,500 B/s over 10 s, 150% over the quota: 15 s, capped at the 11 s of windows.
  assert.equal(enforcer.record(quotas, "", "app", "producer_byte_rate", 20_000, 100), 11_000);
  // Another client id has no quota at all.
  assert.equal(enforcer.record(quotas, "", "other", "producer_byte_rate", 1e9, 100), 0);
  // Old samples leave the windows.
  assert.equal(enforcer.record(quotas, "", "app", "producer_byte_rate", 10, 60_000), 0);
});

Deno.test("a default quota gives every user a rate of their own", () => {
  const quotas = [quota([["user", null]], "consumer_byte_rate", 1000)];
  const enforcer = new ClientQuotaEnforcer({ windowCount: 2, windowSizeMs: 1000 });
  assert.ok(enforcer.record(quotas, "alice", "c", "consumer_byte_rate", 5_000, 0) > 0);
  assert.equal(enforcer.record(quotas, "bob", "c", "consumer_byte_rate", 500, 0), 0);
});

Deno.test("request_percentage counts event-loop milliseconds against percent of a second", () => {
  const quotas = [quota([["client-id", "busy"]], "request_percentage", 10)]; // 100 ms/s
  const enforcer = new ClientQuotaEnforcer({ windowCount: 2, windowSizeMs: 1000 });
  assert.equal(enforcer.record(quotas, "", "busy", "request_percentage", 50, 0), 0);
  assert.ok(enforcer.record(quotas, "", "busy", "request_percentage", 500, 10) > 0);
});

Deno.test("controller_mutation_rate is a token bucket: a burst passes, then requests wait (KIP-599)", () => {
  const quotas = [quota([["client-id", "c"]], "controller_mutation_rate", 2)];
  const enforcer = new MutationQuotaEnforcer({ windowCount: 5, windowSizeMs: 1000 }); // burst 10
  assert.equal(enforcer.tryMutate(quotas, "", "c", 8, 0), 0);
  assert.equal(enforcer.tryMutate(quotas, "", "c", 8, 0), 0, "tokens 2 left: accepted, now -6");
  assert.equal(enforcer.tryMutate(quotas, "", "c", 1, 0), 3000, "6 tokens at 2/s");
  assert.equal(enforcer.tryMutate(quotas, "", "c", 1, 3000), 0, "refilled to 0 after 3 s");
  assert.equal(enforcer.tryMutate(quotas, "", "other", 100, 0), 0, "no quota for others");
});
