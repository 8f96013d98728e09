import assert from "node:assert/strict";
import { BrokerTopicStats } from "./broker_topic_stats.ts";

Deno.test("messages and bytes add up per topic and for all topics", () => {
  const stats = new BrokerTopicStats();
  stats.recordIn("a", { messages: 3, bytes: 100 });
  stats.recordIn("b", { messages: 2, bytes: 50 });
  stats.recordOut("a", 70);
  assert.deepEqual(stats.all, { messagesIn: 5, bytesIn: 150, bytesOut: 70 });
  assert.deepEqual(stats.byTopic.get("a"), { messagesIn: 3, bytesIn: 100, bytesOut: 70 });
  assert.deepEqual(stats.byTopic.get("b"), { messagesIn: 2, bytesIn: 50, bytesOut: 0 });
});

Deno.test("removing a topic drops its counters but keeps the all-topics totals", () => {
  const stats = new BrokerTopicStats();
  stats.recordIn("a", { messages: 1, bytes: 10 });
  stats.removeTopic("a");
  assert.equal(stats.byTopic.has("a"), false);
  assert.equal(stats.all.messagesIn, 1);
});
