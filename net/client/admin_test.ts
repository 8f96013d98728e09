import assert from "node:assert/strict";
import { silentLogger } from "../../core/log.ts";
import { Dispatcher } from "../dispatcher.ts";
import { KafkaServer } from "../server.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { MetadataRequest } from "../protocol/generated/metadata_request.ts";
import {
  createMetadataResponse,
  createMetadataResponseBroker,
  createMetadataResponsePartition,
  createMetadataResponseTopic,
  type MetadataResponse,
} from "../protocol/generated/metadata_response.ts";
import type { CreateTopicsRequest } from "../protocol/generated/create_topics_request.ts";
import {
  createCreatableTopicResult,
  createCreateTopicsResponse,
  type CreateTopicsResponse,
} from "../protocol/generated/create_topics_response.ts";
import { Admin } from "./admin.ts";

/**
 * A broker that creates topics at once (as the controller commits them) but, like a broker that
 * has not applied that record yet, answers Metadata without them for the first `lagAnswers` asks.
 */
function laggingBroker(lagAnswers: number) {
  const dispatcher = new Dispatcher({ logger: silentLogger });
  const created = new Set<string>();
  let topicAsks = 0;
  const server = new KafkaServer({
    listenerName: "PLAINTEXT",
    hostname: "127.0.0.1",
    port: 0,
    handler: dispatcher.handleFrameChunks,
    logger: silentLogger,
    frameBytesMax: 1 << 20,
  });
  dispatcher.register<MetadataRequest, MetadataResponse>(ApiKey.METADATA, {
    minVersion: 0,
    maxVersion: 12,
    handle: (request) => {
      const names = (request.topics ?? []).map((t) => t.name!);
      if (names.length > 0) topicAsks++;
      const known = topicAsks > lagAnswers;
      return createMetadataResponse({
        brokers: [
          createMetadataResponseBroker({ nodeId: 1, host: "127.0.0.1", port: server.port }),
        ],
        clusterId: "lagging",
        controllerId: 1,
        topics: names.map((name) =>
          known && created.has(name)
            ? createMetadataResponseTopic({
              name,
              topicId: "AAAAAAAAAAAAAAAAAAAAAA",
              partitions: [createMetadataResponsePartition({ partitionIndex: 0, leaderId: 1 })],
            })
            : createMetadataResponseTopic({ name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
        ),
      });
    },
  });
  dispatcher.register<CreateTopicsRequest, CreateTopicsResponse>(ApiKey.CREATE_TOPICS, {
    minVersion: 0,
    maxVersion: 7,
    handle: (request) => {
      for (const t of request.topics) created.add(t.name);
      return createCreateTopicsResponse({
        topics: request.topics.map((t) => createCreatableTopicResult({ name: t.name })),
      });
    },
  });
  server.start();
  return { server, topicAsks: () => topicAsks };
}

Deno.test("createTopics waits until the brokers serve the new topic (KafkaJS's waitForLeaders)", async () => {
  const broker = laggingBroker(3);
  const admin = new Admin({ bootstrapServers: `127.0.0.1:${broker.server.port}` });
  try {
    await admin.createTopics([{ name: "orders", numPartitions: 1, replicationFactor: 1 }]);
    assert.equal(broker.topicAsks(), 4, "asked until the broker knew the topic");
    const [described] = await admin.describeTopics(["orders"]);
    assert.equal(described!.partitions[0]!.leader, 1);
    // Without the wait (or for validateOnly) it returns after CreateTopics alone.
    await admin.createTopics([{ name: "later" }], { waitForLeaders: false });
    assert.equal(broker.topicAsks(), 5, "only describeTopics asked");
  } finally {
    admin.close();
    await broker.server.stop();
  }
});
