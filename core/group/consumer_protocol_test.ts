import { strict as assert } from "node:assert";
import { encodeSubscriptionTopics, readSubscriptionTopics } from "./consumer_protocol.ts";

Deno.test("subscription topics are read from any ConsumerProtocolSubscription version", () => {
  // Every version starts with int16 version + []string topics; later fields are ignored.
  assert.deepEqual(readSubscriptionTopics(encodeSubscriptionTopics(["a", "bé"], 3)), ["a", "bé"]);
  assert.deepEqual(readSubscriptionTopics(encodeSubscriptionTopics([])), []);
});

Deno.test("malformed subscription metadata reads as unknown", () => {
  assert.equal(readSubscriptionTopics(new Uint8Array([0, 0, 0])), null);
  assert.equal(readSubscriptionTopics(new Uint8Array([0, 0, 0, 0, 0, 1, 0, 9, 65])), null);
  assert.equal(readSubscriptionTopics(new Uint8Array([255, 255, 0, 0, 0, 0])), null);
});
