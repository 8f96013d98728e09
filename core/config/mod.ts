/**
 * Configuration: the Java `.properties` parser, the typed `server.properties` config with Kafka's
 * key names and defaults, and the broker and topic config definition tables.
 *
 * @example
 * ```ts
 * import { parseProperties, parseServerConfig } from "./mod.ts";
 * const { config, warnings } = parseServerConfig(parseProperties(
 *   "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n" +
 *     "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\ncontroller.listener.names=CONTROLLER\n",
 * ));
 * ```
 *
 * @module
 */

export * from "./properties.ts";
export * from "./config_def.ts";
export * from "./endpoints.ts";
export * from "./broker_configs.ts";
export * from "./topic_configs.ts";
export * from "./server_config.ts";
