import assert from "node:assert/strict";
import { parseServerConfig } from "../core/config/server_config.ts";
import { applyRecords, ConfigResourceType, EMPTY_IMAGE } from "../core/metadata/image.ts";
import { makeRecord, RecordType } from "../core/metadata/records.ts";
import { createConfigRecord } from "../net/protocol/generated/config_record.ts";
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

function configRecord(resourceType: number, resourceName: string, name: string, value: string) {
  return makeRecord(
    RecordType.CONFIG,
    0,
    createConfigRecord({ resourceType, resourceName, name, value }),
  );
}

Deno.test("dynamic broker configs are in force: the topic's override, then this broker's, then the cluster default, then server.properties", () => {
  const server = serverConfig([["message.max.bytes", "5000"], ["log.retention.hours", "2"]]);
  const at = (records: ReturnType<typeof configRecord>[]) =>
    topicLogConfig(server, applyRecords(EMPTY_IMAGE, records), "orders", (l) => assert.fail(l));
  const clusterDefault = (name: string, value: string) =>
    configRecord(ConfigResourceType.BROKER, "", name, value);
  assert.equal(at([]).maxMessageBytes, 5000);
  assert.equal(at([]).retentionMs, 7_200_000);
  assert.equal(at([clusterDefault("message.max.bytes", "1000")]).maxMessageBytes, 1000);
  assert.equal(at([clusterDefault("log.retention.ms", "60000")]).retentionMs, 60_000);
  const perBroker = configRecord(ConfigResourceType.BROKER, "1", "message.max.bytes", "2000");
  const otherBroker = configRecord(ConfigResourceType.BROKER, "2", "message.max.bytes", "3000");
  assert.equal(
    at([clusterDefault("message.max.bytes", "1000"), perBroker, otherBroker]).maxMessageBytes,
    2000,
  );
  assert.equal(at([otherBroker]).maxMessageBytes, 5000, "another broker's override is its own");
  const topic = configRecord(ConfigResourceType.TOPIC, "orders", "max.message.bytes", "4000");
  assert.equal(at([clusterDefault("message.max.bytes", "1000"), topic]).maxMessageBytes, 4000);
});
