// Messages and exit codes follow Kafka 3.9's StorageTool, Formatter and StorageToolTest.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./mod.ts";
import { readMetaProperties } from "../storage/meta_properties.ts";
import { Reader } from "../net/protocol/reader.ts";
import { batchesIn } from "../net/protocol/record_batch.ts";
import { decodeBatch } from "../net/protocol/records.ts";
import { readMetadataRecord } from "../net/protocol/generated/metadata_records.ts";

const CLUSTER_ID = "XcZZOzUqS4yHOjhMQB6JLQ";

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function withNode(
  props: string,
  fn: (paths: { dir: string; config: string; logs: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "storage_cli_test_" });
  try {
    const logs = join(dir, "logs");
    const config = join(dir, "server.properties");
    await Deno.writeTextFile(config, props.replaceAll("$LOGS", logs));
    await fn({ dir, config, logs });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const STATIC = `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
log.dirs=$LOGS/a,$LOGS/b
`;

const DYNAMIC_CONTROLLER = `process.roles=controller
node.id=0
controller.quorum.bootstrap.servers=localhost:9093
listeners=CONTROLLER://:9093
controller.listener.names=CONTROLLER
log.dirs=$LOGS/a
`;

Deno.test("random-uuid prints a 22-character base64url id", async () => {
  const { code, out } = await run(["storage", "random-uuid"]);
  equal(code, 0);
  match(out, /^[A-Za-z0-9_][A-Za-z0-9_-]{20}[AQgw]$/);
});

Deno.test("format creates every log dir with meta.properties and bootstrap.checkpoint", async () => {
  await withNode(STATIC, async ({ config, logs }) => {
    const { code, out } = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config]);
    equal(code, 0);
    match(
      out,
      new RegExp(`Formatting metadata directory ${join(logs, "a")} with metadata.version 3.9-IV0.`),
    );
    match(
      out,
      new RegExp(`Formatting data directory ${join(logs, "b")} with metadata.version 3.9-IV0.`),
    );
    const a = await readMetaProperties(join(logs, "a"));
    const b = await readMetaProperties(join(logs, "b"));
    equal(a?.clusterId, CLUSTER_ID);
    equal(a?.nodeId, 1);
    ok(a?.directoryId !== b?.directoryId);
    equal((await Deno.stat(join(logs, "a", "bootstrap.checkpoint"))).isFile, true);
  });
});

Deno.test("format --feature eligible.leader.replicas.version=1 finalizes ELR (KIP-966) at bootstrap", async () => {
  await withNode(STATIC, async ({ config, logs }) => {
    const feature = (level: number) =>
      run([
        "storage",
        "format",
        "-t",
        CLUSTER_ID,
        "-c",
        config,
        "--feature",
        `eligible.leader.replicas.version=${level}`,
      ]);
    const refused = await feature(2);
    equal(refused.code, 1);
    match(refused.err, /No feature:eligible\.leader\.replicas\.version with feature level 2/);
    equal((await feature(1)).code, 0);
    const bytes = await Deno.readFile(join(logs, "a", "bootstrap.checkpoint"));
    const levels = [...batchesIn(bytes)].flatMap(({ pos, sizeBytes }) =>
      decodeBatch(bytes.subarray(pos, pos + sizeBytes)).records.map((r) => {
        const d = readMetadataRecord(new Reader(r.value!)).data as {
          name: string;
          featureLevel: number;
        };
        return [d.name, d.featureLevel];
      })
    );
    deepEqual(levels, [["metadata.version", 21], ["eligible.leader.replicas.version", 1]]);
  });
});

Deno.test("format refuses an already formatted directory unless --ignore-formatted", async () => {
  await withNode(STATIC, async ({ config, logs }) => {
    equal((await run(["storage", "format", "-t", CLUSTER_ID, "-c", config])).code, 0);
    const again = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config]);
    equal(again.code, 1);
    equal(
      again.err,
      `Log directory ${
        join(logs, "a")
      } is already formatted. Use --ignore-formatted to ignore this directory and format the others.`,
    );
    const ignored = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "-g"]);
    equal(ignored.code, 0);
    equal(ignored.out, "All of the log directories are already formatted.");
  });
});

Deno.test("format refuses a directory that holds another cluster id", async () => {
  await withNode(STATIC, async ({ config, logs }) => {
    equal((await run(["storage", "format", "-t", CLUSTER_ID, "-c", config])).code, 0);
    const other = "K90IZ-0DRNazJ49kCZ1EMQ";
    const res = await run(["storage", "format", "-t", other, "-c", config, "--ignore-formatted"]);
    equal(res.code, 1);
    equal(
      res.err,
      `Invalid cluster.id in: ${
        join(logs, "a", "meta.properties")
      }. Expected ${other}, but read ${CLUSTER_ID}`,
    );
  });
});

Deno.test("format validates the cluster id and the release version", async () => {
  await withNode(STATIC, async ({ config }) => {
    const bad = await run(["storage", "format", "-t", "not-a-uuid", "-c", config]);
    equal(bad.code, 1);
    match(bad.err, /^Cluster ID string not-a-uuid does not appear to be a valid UUID/);
    const release = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "-r", "3.8"]);
    equal(release.code, 0);
    match(release.out, /with metadata.version 3.8-IV0\./);
  });
  await withNode(STATIC, async ({ config }) => {
    const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "-r", "9.9"]);
    equal(res.code, 1);
    equal(res.err, "Version 9.9 is not a valid version");
    const both = await run([
      "storage",
      "format",
      "-t",
      CLUSTER_ID,
      "-c",
      config,
      "-r",
      "3.8",
      "--feature",
      "metadata.version=20",
    ]);
    equal(
      both.err,
      "Use --release-version instead of --feature metadata.version=X to avoid ambiguity.",
    );
    const unknown = await run([
      "storage",
      "format",
      "-t",
      CLUSTER_ID,
      "-c",
      config,
      "--feature",
      "non.existent.feature=20",
    ]);
    equal(
      unknown.err,
      "Unsupported feature: non.existent.feature. Supported features are: eligible.leader.replicas.version, group.version, kraft.version, transaction.version",
    );
  });
});

Deno.test("a dynamic-quorum controller needs one of the initial-controller flags", async () => {
  await withNode(DYNAMIC_CONTROLLER, async ({ config }) => {
    const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config]);
    equal(res.code, 1);
    equal(
      res.err,
      "Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers.",
    );
    const both = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "-s", "-N"]);
    equal(both.code, 1);
    equal(
      both.err,
      "argument --no-initial-controllers/-N: not allowed with argument --standalone/-s",
    );
  });
});

Deno.test("--standalone writes a voter directory whose id is the voter's", async () => {
  await withNode(DYNAMIC_CONTROLLER, async ({ config, logs }) => {
    const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "--standalone"]);
    equal(res.code, 0);
    match(res.out, /Formatting dynamic metadata voter directory/);
    const snapshot = join(
      logs,
      "a",
      "__cluster_metadata-0",
      "00000000000000000000-0000000000.checkpoint",
    );
    equal((await Deno.stat(snapshot)).isFile, true);
  });
});

Deno.test("--initial-controllers uses the given directory id for this node", async () => {
  await withNode(DYNAMIC_CONTROLLER, async ({ config, logs }) => {
    const res = await run([
      "storage",
      "format",
      "-t",
      CLUSTER_ID,
      "-c",
      config,
      "--initial-controllers",
      "0@localhost:8020:K90IZ-0DRNazJ49kCZ1EMQ,1@localhost:8030:aUARLskQTCW4qCZDtS_cwA",
    ]);
    equal(res.code, 0);
    equal((await readMetaProperties(join(logs, "a")))?.directoryId, "K90IZ-0DRNazJ49kCZ1EMQ");
    const bad = await run([
      "storage",
      "format",
      "-t",
      CLUSTER_ID,
      "-c",
      config,
      "-g",
      "-I",
      "0@localhost:8020",
    ]);
    equal(bad.code, 1);
    equal(
      bad.err,
      "--initial-controllers entry 0@localhost:8020: No colon following port could be found.",
    );
  });
});

Deno.test("--standalone is refused on a broker and with static voters", async () => {
  await withNode(
    STATIC.replace("broker,controller", "broker").replace("1@", "9@")
      .replace(",CONTROLLER://:9093", ""),
    async ({ config }) => {
      const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "--standalone"]);
      equal(res.code, 1);
      match(res.err, /^You cannot specify controller.quorum.voters/);
    },
  );
});

Deno.test("--standalone is refused on a broker-only node", async () => {
  const broker =
    "process.roles=broker\nnode.id=5\ncontroller.quorum.bootstrap.servers=localhost:9093\n" +
    "listeners=PLAINTEXT://:9092\ncontroller.listener.names=CONTROLLER\nlog.dirs=$LOGS/a\n";
  await withNode(broker, async ({ config }) => {
    const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "--standalone"]);
    equal(res.code, 1);
    equal(res.err, "You can only use --standalone on a controller.");
    equal((await run(["storage", "format", "-t", CLUSTER_ID, "-c", config])).code, 0);
  });
});

Deno.test("format refuses a legacy (ZooKeeper) configuration", async () => {
  await withNode("zookeeper.connect=localhost:2181\nlog.dirs=$LOGS/a\n", async ({ config }) => {
    const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config]);
    equal(res.code, 1);
    equal(
      res.err,
      "The kafka configuration file appears to be for a legacy cluster. Formatting is only supported for clusters in KRaft mode.",
    );
  });
});

Deno.test("info reports unformatted and formatted directories", async () => {
  await withNode(STATIC, async ({ config, logs }) => {
    const missing = await run(["storage", "info", "-c", config]);
    equal(missing.code, 1);
    equal(
      missing.out,
      `Found problems:\n  ${join(logs, "a")} does not exist\n  ${join(logs, "b")} does not exist\n`,
    );
    await Deno.mkdir(join(logs, "a"), { recursive: true });
    const empty = await run(["storage", "info", "-c", config]);
    match(empty.out, new RegExp(`  ${join(logs, "a")} is not formatted\\.`));
    await run(["storage", "format", "-t", CLUSTER_ID, "-c", config, "-g"]);
    const good = await run(["storage", "info", "-c", config]);
    equal(good.code, 0);
    match(good.out, /^Found log directories:/);
    match(
      good.out,
      new RegExp(
        `Found metadata: \\{cluster.id=${CLUSTER_ID}, directory.id=.{22}, node.id=1, version=1\\}`,
      ),
    );
  });
});

Deno.test("info reports a node id that differs from the configuration", async () => {
  await withNode(STATIC, async ({ config }) => {
    await run(["storage", "format", "-t", CLUSTER_ID, "-c", config]);
    const text = await Deno.readTextFile(config);
    await Deno.writeTextFile(
      config,
      text.replace("node.id=1", "node.id=2").replace("1@localhost", "2@localhost"),
    );
    const res = await run(["storage", "info", "-c", config]);
    equal(res.code, 1);
    match(res.out, /has node.id 1, but the configuration has node.id 2\./);
  });
});

Deno.test("usage errors are one line and exit 1", async () => {
  deepEqual(await run(["storage", "format", "--bogus"]), {
    code: 1,
    out: "",
    err: "storage format: unknown option --bogus (see 'storage format --help')",
  });
  deepEqual(await run(["storage", "format", "-c", "x"]), {
    code: 1,
    out: "",
    err: "storage format: missing required option --cluster-id/-t",
  });
  deepEqual(await run(["storage", "shred"]), {
    code: 1,
    out: "",
    err: "storage: unknown command shred (choose from 'info', 'format', 'random-uuid')",
  });
  const missingFile = await run(["storage", "info", "-c", "/nonexistent/server.properties"]);
  equal(missingFile.err, "Cannot read config file /nonexistent/server.properties: no such file");
});

Deno.test("a bad config value stops format with the one-sentence config error", async () => {
  await withNode(STATIC.replace("node.id=1", "node.id=4"), async ({ config }) => {
    const res = await run(["storage", "format", "-t", CLUSTER_ID, "-c", config]);
    equal(res.code, 1);
    equal(res.err, "node.id 4 is not in controller.quorum.voters (1@localhost:9093)");
  });
});
