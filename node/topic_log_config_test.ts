import assert from "node:assert/strict";
import { parseServerConfig } from "../core/config/server_config.ts";
import { EMPTY_IMAGE } from "../core/metadata/image.ts";
import { topicLogConfig } from "./topic_log_config.ts";

function serverConfig(extra: [string, string][]) {
  return parseServerConfig(
    new Map([
      ["process.roles", "broker"],
      ["node.id", "1"],
      ["controller.quorum.voters", "0@localhost:9093"],
      ["controller.listener.names", "CONTROLLER"],
      ...extra,
    ]),
  ).config;
}

Deno.test("the broker's log.message.timestamp.before/after.max.ms bound every topic's CreateTime (KIP-937)", () => {
  const config = topicLogConfig(
    serverConfig([
      ["log.message.timestamp.before.max.ms", "86400000"],
      ["log.message.timestamp.after.max.ms", "3600000"],
    ]),
    EMPTY_IMAGE,
    "orders",
    (line) => assert.fail(line),
  );
  assert.equal(config.messageTimestampBeforeMaxMs, 86_400_000);
  assert.equal(config.messageTimestampAfterMaxMs, 3_600_000);
});

Deno.test("without settings the timestamp bounds are Kafka's Long.MAX_VALUE", () => {
  const config = topicLogConfig(serverConfig([]), EMPTY_IMAGE, "orders", (l) => assert.fail(l));
  assert.equal(config.messageTimestampBeforeMaxMs, 9223372036854775807);
  assert.equal(config.messageTimestampAfterMaxMs, 9223372036854775807);
});
