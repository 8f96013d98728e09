import assert from "node:assert/strict";
import { isThrottled, parseThrottledReplicas, ReplicationQuota } from "./replication_quota.ts";

Deno.test("throttled replicas: none, every one, or partition:broker pairs", () => {
  for (const empty of [undefined, null, "", "  "]) {
    assert.equal(isThrottled(parseThrottledReplicas(empty), 0, 1), false);
  }
  const all = parseThrottledReplicas(" * ");
  assert.equal(isThrottled(all, 0, 1), true);
  assert.equal(isThrottled(all, 99, 7), true);
  const pairs = parseThrottledReplicas("0:101,0:102, 3 : 5,junk,4:");
  assert.equal(isThrottled(pairs, 0, 101), true);
  assert.equal(isThrottled(pairs, 0, 102), true);
  assert.equal(isThrottled(pairs, 3, 5), true);
  assert.equal(isThrottled(pairs, 1, 101), false);
  assert.equal(isThrottled(pairs, 4, 0), false);
});

Deno.test("a replication quota is exceeded once the windowed rate passes its bound", () => {
  const windows = { windowCount: 11, windowSizeMs: 1000 };
  const quota = new ReplicationQuota(windows);
  assert.equal(quota.isExceeded(1000, 0), false, "nothing recorded yet");
  // The first windows count as the full span (10 s), as Kafka's Rate: a burst of 10x the bound.
  quota.record(9_000, 0);
  assert.equal(quota.isExceeded(1000, 100), false);
  quota.record(2_000, 200);
  assert.equal(quota.isExceeded(1000, 300), true);
  // Long.MAX_VALUE (the default) is no bound at all.
  assert.equal(quota.isExceeded(Number.MAX_SAFE_INTEGER, 300), false);
  assert.equal(quota.isExceeded(9223372036854775807, 300), false);
  // Once the samples age out of the windows, the rate falls under the bound again.
  assert.equal(quota.isExceeded(1000, 12_000), false);
});
