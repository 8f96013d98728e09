import { deepEqual, equal } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadServerConfigFile } from "./config_file.ts";

const sample = (name: string) => fileURLToPath(new URL(`../config/${name}`, import.meta.url));

Deno.test("the sample config files load without errors or warnings", async () => {
  const combined = await loadServerConfigFile(sample("server.properties"));
  deepEqual(combined.warnings, []);
  deepEqual(combined.config.processRoles, ["broker", "controller"]);
  equal(combined.config.offsetsTopicReplicationFactor, 1);
  const broker = await loadServerConfigFile(sample("broker.properties"));
  deepEqual(broker.warnings, []);
  deepEqual(broker.config.processRoles, ["broker"]);
  const controller = await loadServerConfigFile(sample("controller.properties"));
  deepEqual(controller.warnings, []);
  deepEqual(controller.config.processRoles, ["controller"]);
});

Deno.test("overrides apply on top of the file, as Kafka's --override does", async () => {
  const { config } = await loadServerConfigFile(
    sample("server.properties"),
    new Map([["num.partitions", "3"]]),
  );
  equal(config.numPartitions, 3);
});
