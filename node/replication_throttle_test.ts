import assert from "node:assert/strict";
import { parseServerConfig } from "../core/config/server_config.ts";
import { applyRecords, ConfigResourceType, EMPTY_IMAGE } from "../core/metadata/image.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import { makeRecord, RecordType } from "../core/metadata/records.ts";
import { createConfigRecord } from "../net/protocol/generated/config_record.ts";
import type { HostedPartition } from "../net/handlers/replica_access.ts";
import { ReplicationThrottle } from "./replication_throttle.ts";

const config = parseServerConfig(
  new Map([
    ["process.roles", "broker"],
    ["node.id", "1"],
    ["controller.quorum.voters", "0@localhost:9093"],
    ["controller.listener.names", "CONTROLLER"],
  ]),
).config;

function configRecord(resourceType: number, resourceName: string, name: string, value: string) {
  return makeRecord(
    RecordType.CONFIG,
    0,
    createConfigRecord({ resourceType, resourceName, name, value }),
  );
}

function throttleWith(records: ReturnType<typeof configRecord>[]) {
  const metadata: { image: MetadataImage } = { image: applyRecords(EMPTY_IMAGE, records) };
  return { throttle: new ReplicationThrottle({ config, nodeId: 1, metadata }), metadata };
}

const partition = (p: number, isr: number[]) =>
  ({ topic: "bulk", partition: p, isr }) as unknown as HostedPartition;

Deno.test("the leader throttles only out-of-sync followers of replicas the topic names", () => {
  const { throttle } = throttleWith([
    configRecord(ConfigResourceType.TOPIC, "bulk", "leader.replication.throttled.replicas", "0:1"),
    configRecord(ConfigResourceType.BROKER, "1", "leader.replication.throttled.rate", "1000"),
  ]);
  assert.equal(throttle.leader.appliesTo(partition(0, [1]), 2), true);
  assert.equal(throttle.leader.appliesTo(partition(0, [1, 2]), 2), false, "in the ISR");
  assert.equal(throttle.leader.appliesTo(partition(1, [1]), 2), false, "not named");
  assert.equal(throttle.leader.exceeded(0), false);
  throttle.leader.record(20_000, 0); // 2 kB/s over the first windows' 10 s
  assert.equal(throttle.leader.exceeded(100), true);
});

Deno.test("the follower holds a named replica while its rate (this broker's, else the default) is spent", () => {
  const { throttle, metadata } = throttleWith([
    configRecord(ConfigResourceType.TOPIC, "bulk", "follower.replication.throttled.replicas", "*"),
    configRecord(ConfigResourceType.BROKER, "", "follower.replication.throttled.rate", "1000"),
  ]);
  const p = partition(3, [2]);
  assert.equal(throttle.follower.holds(p, 0), false);
  throttle.follower.record(p, 20_000, 0);
  assert.equal(throttle.follower.holds(p, 100), true);
  assert.equal(throttle.follower.holds(partition(3, [2, 1]), 100), false, "in the ISR");
  // This broker's own rate wins over the cluster default; deleting the topic config frees it.
  metadata.image = applyRecords(metadata.image, [
    configRecord(ConfigResourceType.BROKER, "1", "follower.replication.throttled.rate", "100000"),
  ]);
  assert.equal(throttle.follower.holds(p, 100), false);
  metadata.image = applyRecords(metadata.image, [
    configRecord(ConfigResourceType.BROKER, "1", "follower.replication.throttled.rate", "10"),
  ]);
  assert.equal(throttle.follower.holds(p, 100), true);
  metadata.image = applyRecords(metadata.image, [
    makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({
        resourceType: ConfigResourceType.TOPIC,
        resourceName: "bulk",
        name: "follower.replication.throttled.replicas",
        value: null,
      }),
    ),
  ]);
  assert.equal(throttle.follower.holds(p, 100), false);
});
