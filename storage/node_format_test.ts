// The embedded cluster's formatting must leave what `storage format -t <id> -c <file>` leaves on a
// static quorum (Kafka 3.9's Formatter: bootstrap.checkpoint and meta.properties).
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import { storageCommand } from "../cli/storage.ts";
import { decodeBatch } from "../net/protocol/records.ts";
import { BOOTSTRAP_CHECKPOINT_FILE, encodeBootstrapCheckpoint } from "./bootstrap.ts";
import { checkStorageFormatted, readMetaProperties } from "./meta_properties.ts";
import {
  defaultFeatureLevels,
  formatNodeStorage,
  makeClusterRoot,
  removeClusterRoot,
} from "./node_format.ts";

const CLUSTER_ID = "XcZZOzUqS4yHOjhMQB6JLQ";

function props(dir: string): Map<string, string> {
  return new Map([
    ["process.roles", "broker,controller"],
    ["node.id", "1"],
    ["controller.quorum.voters", "1@127.0.0.1:9093"],
    ["listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"],
    ["controller.listener.names", "CONTROLLER"],
    ["log.dirs", `${join(dir, "a")},${join(dir, "b")}`],
  ]);
}

Deno.test("formatNodeStorage writes the bootstrap metadata `storage format` writes, and the node's storage check passes", async () => {
  const root = await makeClusterRoot("node_format_test_");
  try {
    const ours = join(root, "ours");
    const theirs = join(root, "theirs");
    await formatNodeStorage(parseServerConfig(props(ours)).config, {
      clusterId: CLUSTER_ID,
      nowMs: 1_000,
    });
    const propertiesPath = join(root, "theirs.properties");
    await Deno.writeTextFile(
      propertiesPath,
      [...props(theirs)].map(([k, v]) => `${k}=${v}`).join("\n"),
    );
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const code = await storageCommand.run(
      ["format", "-t", CLUSTER_ID, "-c", propertiesPath],
      io,
    );
    equal(code, 0, lines.join("\n"));
    for (const sub of ["a", "b"]) {
      const cli = await Deno.readFile(join(theirs, sub, BOOTSTRAP_CHECKPOINT_FILE));
      const cliTimestamp = decodeBatch(cli).header.baseTimestamp;
      // Same records: the CLI's file is what our levels encode at the CLI's timestamp.
      deepEqual(cli, encodeBootstrapCheckpoint(defaultFeatureLevels(), cliTimestamp));
      deepEqual(
        await Deno.readFile(join(ours, sub, BOOTSTRAP_CHECKPOINT_FILE)),
        encodeBootstrapCheckpoint(defaultFeatureLevels(), 1_000),
      );
      const meta = await readMetaProperties(join(ours, sub));
      equal(meta?.clusterId, CLUSTER_ID);
      equal(meta?.nodeId, 1);
    }
    const check = await checkStorageFormatted(parseServerConfig(props(ours)).config);
    ok(check.ok, check.ok ? "" : check.error);
    equal(check.clusterId, CLUSTER_ID);
    equal(new Set(check.directoryIds.values()).size, 2, "each directory has its own id");
  } finally {
    await removeClusterRoot(root);
  }
});

Deno.test("formatNodeStorage refuses a directory that is already formatted", async () => {
  const root = await makeClusterRoot("node_format_test_");
  try {
    const config = parseServerConfig(props(root)).config;
    await formatNodeStorage(config, { clusterId: CLUSTER_ID, nowMs: 0 });
    await rejects(
      formatNodeStorage(config, { clusterId: CLUSTER_ID, nowMs: 0 }),
      /is already formatted/,
    );
  } finally {
    await removeClusterRoot(root);
  }
});

Deno.test("removeClusterRoot removes the whole tree and accepts a missing one", async () => {
  const root = await makeClusterRoot("node_format_test_");
  await Deno.mkdir(join(root, "x", "y"), { recursive: true });
  await removeClusterRoot(root);
  await rejects(Deno.stat(root), Deno.errors.NotFound);
  await removeClusterRoot(root);
});
