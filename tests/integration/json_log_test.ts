// KRAFTLING_LOG_FORMAT=json (issue #14): a real node writes one JSON object per line, from start-up
// to shutdown, with Kafka's level names and the component as `logger`.
import assert from "node:assert/strict";
import { startNode } from "./harness.ts";

Deno.test({
  name: "with KRAFTLING_LOG_FORMAT=json every line a node logs is one JSON object",
  fn: async () => {
    // Only the node's environment: other test modules run beside this one in parallel.
    const node = await startNode({ env: { KRAFTLING_LOG_FORMAT: "json" } });
    await node.stop();
    const lines = node.logs().split("\n").filter((line) => line.trim() !== "");
    assert.ok(lines.length > 3, `too few lines:\n${node.logs()}`);
    const events = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`Not a JSON line: ${line}`);
      }
    });
    for (const event of events) {
      assert.deepEqual(Object.keys(event), ["time", "level", "logger", "message"]);
      assert.match(String(event.level), /^(DEBUG|INFO|WARN|ERROR)$/);
      assert.ok(!Number.isNaN(Date.parse(String(event.time))), `time ${event.time}`);
    }
    assert.ok(
      events.some((e) => /^Kafka node 1 (had )?started/.test(String(e.message))),
      "the start-up line",
    );
    assert.ok(events.every((e) => e.logger === "KafkaServer id=1"), "one component per process");
  },
});
