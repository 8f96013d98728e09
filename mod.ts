/**
 * kraftling as a library: a small Kafka client (`Admin`, `Producer`, `Consumer`) that speaks
 * Kafka's own protocol to kraftling or Apache Kafka brokers, `startCluster` to run a whole
 * cluster inside a test, and `startNode` to embed one node.
 *
 * @example
 * ```ts ignore
 * import { Admin, Consumer, Producer } from "./mod.ts";
 * const admin = new Admin({ bootstrapServers: "127.0.0.1:9092" });
 * await admin.createTopics([{ name: "orders", numPartitions: 3, replicationFactor: 1 }]);
 * admin.close();
 * ```
 *
 * @module
 */

/**
 * The administrative client: topics, configs, groups, offsets, records, cluster and quorum.
 *
 * @example
 * ```ts ignore
 * import { Admin } from "./mod.ts";
 * const admin = new Admin({ bootstrapServers: "127.0.0.1:9092" });
 * console.log(await admin.listTopics());
 * admin.close();
 * ```
 */
export { Admin } from "./net/client/admin.ts";

/**
 * Types of the Admin API.
 *
 * @example
 * ```ts
 * import type { NewTopic } from "./mod.ts";
 * const topic: NewTopic = { name: "orders", numPartitions: 3, configs: { "retention.ms": "86400000" } };
 * ```
 */
export type {
  ClusterDescription,
  ConfigAlteration,
  ConfigEntry,
  ConfigResource,
  CreatedTopic,
  DeletedRecords,
  ElectionOutcome,
  ElectionType,
  GroupDescription,
  GroupListing,
  GroupOffset,
  ListedOffset,
  MemberDescription,
  NewTopic,
  OffsetSpec,
  PartitionDescription,
  PartitionReassignment,
  PartitionReassignmentRequest,
  QuorumDescription,
  QuorumReplica,
  ReassignmentOutcome,
  TopicDescription,
  TopicPartition,
} from "./net/client/admin.ts";

/**
 * Config resource type ids for describeConfigs / alterConfigs.
 *
 * @example
 * ```ts
 * import { ResourceType } from "./mod.ts";
 * const resource = { type: ResourceType.TOPIC, name: "orders" };
 * ```
 */
export { ResourceType } from "./net/client/admin.ts";

/**
 * The producer: batching, murmur2 key partitioning, acks 0/1/all, compression, idempotence.
 *
 * @example
 * ```ts ignore
 * import { Producer } from "./mod.ts";
 * const producer = new Producer({ bootstrapServers: "127.0.0.1:9092", compression: "lz4" });
 * await producer.send({ topic: "orders", key: "user-1", value: "hello", headers: { trace: "1" } });
 * await producer.close();
 * ```
 */
export { Producer } from "./net/client/producer.ts";

/**
 * Types of the Producer API.
 *
 * @example
 * ```ts
 * import type { ProducerRecord } from "./mod.ts";
 * const record: ProducerRecord = { topic: "orders", key: "user-1", value: "hello" };
 * ```
 */
export type {
  CompressionType,
  HeaderInput,
  ProducerOptions,
  ProducerRecord,
  RecordMetadata,
} from "./net/client/producer.ts";

/**
 * The consumer: assign partitions or subscribe with a group (range assignor), poll, commit.
 *
 * @example
 * ```ts ignore
 * import { Consumer } from "./mod.ts";
 * const consumer = new Consumer({ bootstrapServers: "127.0.0.1:9092", groupId: "billing", autoOffsetReset: "earliest" });
 * consumer.subscribe(["orders"]);
 * const records = await consumer.poll({ timeoutMs: 1000 });
 * await consumer.close();
 * ```
 */
export { Consumer } from "./net/client/consumer.ts";

/**
 * Types of the Consumer API.
 *
 * @example
 * ```ts
 * import type { ConsumerOptions, RebalanceListener } from "./mod.ts";
 * const options: ConsumerOptions = { bootstrapServers: "127.0.0.1:9092", groupId: "billing" };
 * const listener: RebalanceListener = {
 *   onPartitionsAssigned: (partitions) => console.log("now reading", partitions),
 * };
 * ```
 */
export type {
  ConsumerOptions,
  ConsumerRecord,
  RebalanceListener,
  StartOffset,
} from "./net/client/consumer.ts";

/**
 * Options every client accepts (bootstrap servers, client id, timeouts, retries).
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "./mod.ts";
 * const options: ClientOptions = { bootstrapServers: "127.0.0.1:9092", clientId: "billing" };
 * ```
 */
export type { ClientOptions } from "./net/client/cluster.ts";

/**
 * Every client failure: a Kafka error code and a message naming the resource.
 *
 * @example
 * ```ts
 * import { KafkaError } from "./mod.ts";
 * const error = new KafkaError(3, "Topic 'orders' does not exist");
 * error.code; // 3
 * ```
 */
export { KafkaError } from "./net/protocol/errors.ts";

/**
 * Kafka's default partitioner for keys (murmur2), as the Java client computes it.
 *
 * @example
 * ```ts
 * import { partitionForKey } from "./mod.ts";
 * partitionForKey(new TextEncoder().encode("user-1"), 6);
 * ```
 */
export { murmur2, partitionForKey } from "./net/client/partitioner.ts";

/**
 * Embeds a kraftling node in this process (from a validated `ServerConfig`).
 *
 * @example
 * ```ts ignore
 * import { startNode } from "./mod.ts";
 * const node = await startNode(config);
 * await node.stop();
 * ```
 */
export { startNode } from "./node/node.ts";

/**
 * Types of an embedded node.
 *
 * @example
 * ```ts ignore
 * import type { KraftlingNode } from "./mod.ts";
 * function portsOf(node: KraftlingNode) { return node.ports; }
 * ```
 */
export type { KraftlingNode, StartNodeOptions } from "./node/node.ts";

/**
 * Runs a whole KRaft cluster in this process for application tests (no JVM, no Docker):
 * controllers 1..N and brokers N+1..N+M on 127.0.0.1 ephemeral ports and temp directories;
 * `startCluster()` alone is one combined node. `close()` or `await using` removes everything.
 *
 * @example
 * ```ts ignore
 * import { Admin, startCluster } from "./mod.ts";
 * await using cluster = await startCluster({ controllers: 3, brokers: 3 });
 * const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
 * await admin.createTopics([{ name: "orders", numPartitions: 3, replicationFactor: 3 }]);
 * admin.close();
 * await cluster.stopBroker(4); // fault injection; cluster.startBroker(4) brings it back
 * ```
 */
export { startCluster } from "./node/embedded_cluster.ts";

/**
 * Types of the embedded cluster.
 *
 * @example
 * ```ts
 * import type { EmbeddedClusterOptions } from "./mod.ts";
 * const options: EmbeddedClusterOptions = {
 *   controllers: 3,
 *   brokers: 3,
 *   overrides: { "num.partitions": "6" },
 * };
 * ```
 */
export type {
  EmbeddedCluster,
  EmbeddedClusterOptions,
  EmbeddedNodeInfo,
  EmbeddedRole,
} from "./node/embedded_cluster.ts";
