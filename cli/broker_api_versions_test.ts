import assert from "node:assert/strict";
import { formatApiVersions } from "./broker_api_versions.ts";

Deno.test("broker-api-versions prints Kafka's NodeApiVersions lines in key order", () => {
  const text = formatApiVersions([
    { apiKey: 18, minVersion: 0, maxVersion: 4 },
    { apiKey: 0, minVersion: 3, maxVersion: 11 },
    { apiKey: 1, minVersion: 20, maxVersion: 30 }, // newer than this client knows
    { apiKey: 9999, minVersion: 0, maxVersion: 0 },
  ]);
  const lines = text.split("\n");
  assert.equal(lines[0], "(");
  assert.equal(lines.at(-1), ")");
  assert.equal(lines[1], "\tProduce(0): 3 to 11 [usable: 11],");
  assert.equal(lines[2], "\tFetch(1): 20 to 30 [unusable: node too new],");
  assert.ok(lines.includes("\tListOffsets(2): UNSUPPORTED,"), "a client API the node lacks");
  assert.ok(lines.includes("\tApiVersions(18): 0 to 4 [usable: 4],"));
  assert.equal(lines.at(-2), "\tUNKNOWN(9999): 0", "an API this client does not know, last");
  assert.ok(!text.includes("Vote("), "controller-only APIs are not listed as unsupported");
});
