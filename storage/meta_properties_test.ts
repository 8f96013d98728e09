// meta.properties format and checks follow Kafka 3.9's MetaProperties, PropertiesUtils and
// MetaPropertiesEnsemble.verify.
import { deepEqual, equal, match, ok, throws } from "node:assert/strict";
import { join } from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import {
  checkStorageFormatted,
  formatMetaProperties,
  isReservedDirectoryId,
  type MetaProperties,
  MetaPropertiesError,
  parseMetaProperties,
  readMetaProperties,
  writeMetaProperties,
} from "./meta_properties.ts";

const META: MetaProperties = {
  version: 1,
  clusterId: "XcZZOzUqS4yHOjhMQB6JLQ",
  nodeId: 1,
  directoryId: "b7tCfPnxRpOmQVrWcIAyJw",
};

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "meta_properties_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function configFor(dirs: string[], metadataLogDir?: string) {
  const props = new Map([
    ["process.roles", "broker,controller"],
    ["node.id", "1"],
    ["controller.quorum.voters", "1@localhost:9093"],
    ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
    ["controller.listener.names", "CONTROLLER"],
    ["log.dirs", dirs.join(",")],
  ]);
  if (metadataLogDir !== undefined) props.set("metadata.log.dir", metadataLogDir);
  return parseServerConfig(props).config;
}

Deno.test("meta.properties is written as Properties.store writes it: comment, date, entries", () => {
  const text = formatMetaProperties(META, new Date(Date.UTC(2024, 9, 25, 13, 5, 9)));
  equal(
    text,
    "#\n#Fri Oct 25 13:05:09 UTC 2024\nnode.id=1\ndirectory.id=b7tCfPnxRpOmQVrWcIAyJw\n" +
      "version=1\ncluster.id=XcZZOzUqS4yHOjhMQB6JLQ\n",
  );
  deepEqual(parseMetaProperties(text), META);
});

Deno.test("a version 1 file without node.id or cluster.id is rejected with Kafka's message", () => {
  throws(() => parseMetaProperties("version=1\ncluster.id=XcZZOzUqS4yHOjhMQB6JLQ"), {
    message: "Failed to find node.id",
  });
  throws(() => parseMetaProperties("version=1\nnode.id=1"), {
    message: "cluster.id was not found.",
  });
  throws(() => parseMetaProperties("version=1\nnode.id=x\ncluster.id=a"), MetaPropertiesError);
  throws(() => parseMetaProperties("version=1\nnode.id=1\ncluster.id=a\ndirectory.id=nope"), {
    message: /Unable to read directory.id as a Uuid/,
  });
});

Deno.test("a legacy version 0 file reads broker.id as the node id", () => {
  deepEqual(parseMetaProperties("version=0\nbroker.id=3\ncluster.id=abc"), {
    version: 0,
    clusterId: "abc",
    nodeId: 3,
    directoryId: null,
  });
});

Deno.test("reserved directory ids are the ones with zero high bits and low bits below 100", () => {
  equal(isReservedDirectoryId("AAAAAAAAAAAAAAAAAAAAAA"), true);
  equal(isReservedDirectoryId("AAAAAAAAAAAAAAAAAAAAAQ"), true);
  equal(isReservedDirectoryId("AAAAAAAAAAAAAAAAAAAAAg"), true);
  equal(isReservedDirectoryId("b7tCfPnxRpOmQVrWcIAyJw"), false);
});

Deno.test("writing is atomic: the file reads back and no temp file is left", async () => {
  await withTempDir(async (dir) => {
    equal(await readMetaProperties(dir), null);
    await writeMetaProperties(dir, META);
    await writeMetaProperties(dir, { ...META, nodeId: 2 });
    deepEqual(await readMetaProperties(dir), { ...META, nodeId: 2 });
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    deepEqual(names, ["meta.properties"]);
  });
});

Deno.test("start-up check refuses an unformatted metadata directory and names the command", async () => {
  await withTempDir(async (dir) => {
    const check = await checkStorageFormatted(configFor([join(dir, "a")]));
    equal(check.ok, false);
    if (!check.ok) {
      match(check.error, new RegExp(`No meta.properties found in ${join(dir, "a")}`));
      match(check.error, /storage format -t <cluster-id> -c/);
    }
  });
});

Deno.test("start-up check accepts formatted dirs and lists unformatted data dirs", async () => {
  await withTempDir(async (dir) => {
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    await Deno.mkdir(a);
    await writeMetaProperties(a, META);
    const check = await checkStorageFormatted(configFor([a, b]));
    ok(check.ok);
    if (check.ok) {
      equal(check.clusterId, META.clusterId);
      deepEqual([...check.directoryIds], [[a, META.directoryId]]);
      deepEqual(check.unformattedLogDirs, [b]);
    }
  });
});

Deno.test("start-up check lists an unreadable log dir as failed unless it holds the metadata or is the last (KIP-112)", async () => {
  await withTempDir(async (dir) => {
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    await Deno.mkdir(a);
    await writeMetaProperties(a, META);
    // The disk of b was replaced by a plain file: reading b/meta.properties fails with ENOTDIR.
    await Deno.writeTextFile(b, "not a directory");
    const check = await checkStorageFormatted(configFor([a, b]));
    ok(check.ok, check.ok ? "" : check.error);
    if (check.ok) {
      deepEqual(check.failedLogDirs, [b]);
      deepEqual([...check.directoryIds], [[a, META.directoryId]]);
    }
    const metadataThere = await checkStorageFormatted(configFor([a, b], b));
    equal(metadataThere.ok, false);
    const onlyB = await checkStorageFormatted(configFor([b], a));
    equal(onlyB.ok, false);
    if (!onlyB.ok) match(onlyB.error, /Every log directory has failed/);
  });
});

Deno.test("start-up check refuses another node's or another cluster's directory", async () => {
  await withTempDir(async (dir) => {
    const [a, b] = [join(dir, "a"), join(dir, "b")];
    await Deno.mkdir(a);
    await Deno.mkdir(b);
    await writeMetaProperties(a, META);
    await writeMetaProperties(b, { ...META, nodeId: 2, directoryId: "MvDxzVmcRsaTz33bUuRU6A" });
    let check = await checkStorageFormatted(configFor([a, b]));
    equal(check.ok ? "" : check.error.startsWith("Stored node id 2 doesn't match"), true);
    await writeMetaProperties(b, {
      ...META,
      clusterId: "K90IZ-0DRNazJ49kCZ1EMQ",
      directoryId: "MvDxzVmcRsaTz33bUuRU6A",
    });
    check = await checkStorageFormatted(configFor([a, b]));
    equal(
      check.ok ? "" : check.error,
      `Invalid cluster.id in: ${
        join(b, "meta.properties")
      }. Expected ${META.clusterId}, but read K90IZ-0DRNazJ49kCZ1EMQ`,
    );
    await writeMetaProperties(b, META);
    check = await checkStorageFormatted(configFor([a, b]));
    equal(check.ok ? "" : check.error.startsWith("Duplicate directory ID"), true);
  });
});
