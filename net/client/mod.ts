/**
 * kraftling's Kafka client: `Admin`, `Producer` and `Consumer`, with Metadata-driven routing,
 * coordinator lookup, pooled connections and bounded retries (see `cluster.ts`).
 *
 * @example
 * ```ts ignore
 * import { Admin, Consumer, Producer } from "./mod.ts";
 * const admin = new Admin({ bootstrapServers: "127.0.0.1:9092" });
 * await admin.createTopics([{ name: "orders", numPartitions: 1 }]);
 * admin.close();
 * ```
 *
 * @module
 */

export * from "./admin.ts";
export * from "./producer.ts";
export * from "./consumer.ts";
export {
  type BrokerAddress,
  type ClientOptions,
  Cluster,
  isRetriableFailure,
  kafkaError,
  parseBootstrap,
  type PartitionMetadata,
  type TopicMetadata,
} from "./cluster.ts";
export { murmur2, partitionForKey } from "./partitioner.ts";
export { KafkaError } from "../protocol/errors.ts";
