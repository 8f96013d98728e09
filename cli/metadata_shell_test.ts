import assert from "node:assert/strict";
import { join } from "node:path";
import { TestCluster } from "../core/metadata/testing.ts";
import { encodeSnapshot, writeSnapshotFile } from "../storage/raft/snapshot_file.ts";
import { encodeMetadataRecord, imagePayloads } from "../node/metadata_state.ts";
import { METADATA_PARTITION_DIR } from "../node/metadata_log.ts";
import { encodeEntries } from "../storage/raft/entries.ts";
import { runCli } from "./mod.ts";
import { runMetadataShell } from "./metadata_shell.ts";
import { globRegExp, normalizePath } from "./metadata_shell_tree.ts";
import { runMain, startNode } from "../tests/integration/harness.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

/**
 * A metadata directory written with the storage code: brokers 1-3, topic "orders" (2 partitions,
 * a config) in a snapshot, then topic "late" only in the log after it.
 */
async function metadataDir(): Promise<{ root: string; partitionDir: string; snapshot: string }> {
  const root = await Deno.makeTempDir({ prefix: "metadata-shell-test-" });
  const partitionDir = join(root, METADATA_PARTITION_DIR);
  await Deno.mkdir(partitionDir);
  const cluster = new TestCluster();
  cluster.addBrokers([1, 2, 3]);
  cluster.createTopic("orders", [[1, 2], [2, 3]], { "retention.ms": "1000" });
  const snapshotId = { offset: cluster.log.length, epoch: 1 };
  await writeSnapshotFile(
    partitionDir,
    snapshotId,
    encodeSnapshot(snapshotId, {
      payloads: imagePayloads(cluster.image),
      lastContainedLogTimestampMs: 0,
    }, 0),
  );
  cluster.createTopic("late", [[3]]);
  const entries = cluster.log.map((record, offset) => ({
    offset,
    epoch: 1,
    payload: encodeMetadataRecord(record).slice(),
  }));
  const segment = encodeEntries(entries, 1_700_000_000_000);
  await Deno.writeFile(join(partitionDir, "00000000000000000000.log"), concat(segment));
  const snapshot = join(
    partitionDir,
    `${String(snapshotId.offset).padStart(20, "0")}-0000000001.checkpoint`,
  );
  return { root, partitionDir, snapshot };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
}

/** How long a real node may take to write its first snapshot. */
const SNAPSHOT_WAIT_MS = 20_000;

function hasCheckpoint(dir: string): boolean {
  return [...Deno.readDirSync(dir)].some((e) => /^\d{20}-\d{10}\.checkpoint$/.test(e.name));
}

async function* linesOf(...lines: string[]): AsyncGenerator<string> {
  for (const line of lines) yield line;
}

Deno.test("a snapshot shows its topics, partitions with leader and ISR, brokers, features and configs", async () => {
  const { root, snapshot } = await metadataDir();
  try {
    const ls = capture();
    assert.equal(
      await runCli(["metadata-shell", "--snapshot", snapshot, "ls", "/image/topics/byName"], ls.io),
      0,
    );
    assert.deepEqual(ls.out, ["orders"]); // "late" is after the snapshot
    const cat = capture();
    assert.equal(
      await runCli(
        ["metadata-shell", "-s", snapshot, "cat", "/image/topics/byName/orders/1"],
        cat.io,
      ),
      0,
    );
    assert.match(
      cat.out[0]!,
      /^PartitionRegistration\(replicas=\[2, 3\], .*isr=\[2, 3\], .*leader=2, leaderRecoveryState=RECOVERED, leaderEpoch=0, partitionEpoch=0\)$/,
    );
    const brokers = capture();
    await runCli(["metadata-shell", "-s", snapshot, "ls", "/image/cluster/brokers"], brokers.io);
    assert.deepEqual(brokers.out, ["1", "2", "3"]);
    const broker = capture();
    await runCli(["metadata-shell", "-s", snapshot, "cat", "/image/cluster/brokers/2"], broker.io);
    assert.match(
      broker.out[0]!,
      /^BrokerRegistration\(id=2, epoch=\d+, incarnationId=\S+, listeners=\[Endpoint\(listenerName='PLAINTEXT'/,
    );
    const features = capture();
    await runCli(["metadata-shell", "-s", snapshot, "tree", "/image/features"], features.io);
    assert.deepEqual(features.out, ["metadataVersion:", "  3.9-IV0"]);
    const configs = capture();
    await runCli(["metadata-shell", "-s", snapshot, "tree", "/image/configs"], configs.io);
    assert.deepEqual(configs.out, ["TOPIC:orders:", "  retention.ms:", "    1000"]);
    const provenance = capture();
    await runCli(["metadata-shell", "-s", snapshot, "cat", "/image/provenance"], provenance.io);
    assert.match(provenance.out[0]!, /^offset \d+, epoch 1, time 1970-01-01T00:00:00Z\[UTC\]$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a directory adds the log after the latest snapshot, found from the partition or its parent", async () => {
  const { root, partitionDir } = await metadataDir();
  try {
    for (const dir of [partitionDir, root]) {
      const c = capture();
      assert.equal(
        await runCli(["metadata-shell", "--directory", dir, "ls", "/image/topics/byName"], c.io),
        0,
      );
      assert.deepEqual(c.out, ["late", "orders"]);
      assert.deepEqual(c.err, []);
    }
    const id = capture();
    await runCli(["metadata-shell", "-d", root, "cat", "/image/topics/byName/late/id"], id.io);
    const byId = capture();
    await runCli(
      ["metadata-shell", "-d", root, "cat", `/image/topics/byId/${id.out[0]}/name`],
      byId.io,
    );
    assert.deepEqual(byId.out, ["late"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a batch being written at the end of the newest segment is left out with a note", async () => {
  const { root, partitionDir } = await metadataDir();
  try {
    const path = join(partitionDir, "00000000000000000000.log");
    const bytes = await Deno.readFile(path);
    const torn = bytes.slice();
    torn[torn.length - 1]! ^= 0xff; // the last batch's CRC no longer matches
    await Deno.writeFile(path, torn);
    const c = capture();
    assert.equal(
      await runCli(["metadata-shell", "-d", root, "ls", "/image/topics/byName"], c.io),
      0,
    );
    assert.deepEqual(c.out, ["orders"]);
    assert.equal(c.err.length, 1);
    assert.match(
      c.err[0]!,
      /^metadata-shell: Left out a batch being written in 00000000000000000000\.log at position \d+: /,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a partial batch at the end of a segment is left out with a note", async () => {
  const { root, partitionDir } = await metadataDir();
  try {
    const path = join(partitionDir, "00000000000000000000.log");
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 3)); // a write in progress
    const c = capture();
    assert.equal(
      await runCli(["metadata-shell", "-d", root, "ls", "/image/topics/byName"], c.io),
      0,
    );
    assert.deepEqual(c.out, ["orders"]);
    assert.match(
      c.err.join("\n"),
      /^metadata-shell: Left out \d+ bytes of a partial batch at the end of 00000000000000000000\.log$/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an interactive session keeps its working directory, resolves relative paths and survives errors", async () => {
  const { root, snapshot } = await metadataDir();
  try {
    const c = capture();
    const prompts: string[] = [];
    const code = await runMetadataShell(["--snapshot", snapshot], c.io, {
      lines: linesOf(
        "cd /image/topics/byName",
        "pwd",
        "ls",
        "cat orders/0",
        "cd ../../cluster",
        "ls brokers",
        "ls /nope",
        "cat /image/topics",
        "cd /image/provenance",
        "frobnicate",
        "find /image/topics/byName/orders",
        "ls /image/topics/byName/orders/[01]",
        "history 2",
        "exit",
        "pwd",
      ),
      prompt: (p) => prompts.push(p),
    });
    assert.equal(code, 0);
    const partition0 = c.out.find((l) => l.startsWith("PartitionRegistration(replicas=[1, 2]"));
    assert.ok(partition0 !== undefined, c.out.join("\n"));
    assert.match(partition0, /isr=\[1, 2\].*leader=1,/);
    const id = c.out.find((l) => /^\/image\/topics\/byName\/orders\/id$/.test(l));
    assert.ok(id !== undefined);
    assert.deepEqual(c.out.slice(0, 2), ["/image/topics/byName", "orders"]);
    assert.deepEqual(c.out.slice(3, 6), ["1", "2", "3"]);
    assert.deepEqual(c.out.slice(-4), [
      "0",
      "1",
      "   12  ls /image/topics/byName/orders/[01]",
      "   13  history 2",
    ]);
    assert.deepEqual(c.err, [
      "ls: /nope: no such file or directory.",
      "cat: /image/topics: is a directory",
      "cd: /image/provenance: not a directory.",
      "frobnicate: unknown command (see 'help')",
    ]);
    assert.equal(prompts.length, 14); // none after exit
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("one-shot errors are one line with exit code 1: bad paths, bad flags, missing inputs", async () => {
  const { root, snapshot } = await metadataDir();
  try {
    const bad = capture();
    assert.equal(await runCli(["metadata-shell", "-s", snapshot, "ls", "/nope"], bad.io), 1);
    assert.deepEqual(bad.err, ["ls: /nope: no such file or directory."]);
    const flag = capture();
    assert.equal(await runCli(["metadata-shell", "--bogus", "ls"], flag.io), 1);
    assert.deepEqual(flag.err, [
      "metadata-shell: unknown option --bogus (see 'metadata-shell --help')",
    ]);
    const none = capture();
    assert.equal(await runCli(["metadata-shell", "ls"], none.io), 1);
    assert.deepEqual(none.err, [
      "metadata-shell: exactly one of --snapshot and --directory is required",
    ]);
    const missing = capture();
    assert.equal(await runCli(["metadata-shell", "-d", join(root, "nope"), "ls"], missing.io), 1);
    assert.equal(missing.err.length, 1);
    assert.equal(
      missing.err[0],
      `metadata-shell: cannot read ${join(root, "nope")}: no such file or directory`,
    );
    const empty = capture();
    assert.equal(await runCli(["metadata-shell", "-d", snapshot, "ls"], empty.io), 1);
    assert.match(empty.err[0]!, /is not a directory$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("globs match as Kafka's GlobComponent does; . and .. resolve against the working directory", () => {
  assert.equal(globRegExp("orders"), null);
  assert.ok(globRegExp("ord*")!.test("orders"));
  assert.ok(globRegExp("{a,b}-?")!.test("b-1"));
  assert.ok(!globRegExp("[!0]")!.test("0"));
  assert.ok(globRegExp("x.y*")!.test("x.yz") && !globRegExp("x.y*")!.test("xzyz"));
  assert.deepEqual(normalizePath("../b/./c", ["image", "a"]), ["image", "b", "c"]);
  assert.deepEqual(normalizePath("/../..", ["image"]), []);
});

Deno.test("a real node's metadata directory is readable while it runs (no lock) and after kill -9", async () => {
  const node = await startNode({
    props: {
      "metadata.log.max.record.bytes.between.snapshots": "4096",
      "metadata.log.max.snapshot.interval.ms": "0",
    },
  });
  try {
    const bootstrap = ["--bootstrap-server", node.bootstrap];
    const partitionDir = join(node.dataDir, "logs", METADATA_PARTITION_DIR);
    // 100 PartitionRecords pass the 4096 bytes between snapshots: "alpha" lands in a snapshot.
    const alpha = await runMain([
      "topics",
      ...bootstrap,
      "--create",
      "--topic",
      "alpha",
      "--partitions",
      "100",
    ]);
    assert.equal(alpha.code, 0, alpha.stderr);
    const deadline = Date.now() + SNAPSHOT_WAIT_MS;
    while (!hasCheckpoint(partitionDir) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(hasCheckpoint(partitionDir), `no .checkpoint in ${partitionDir}`);
    // "beta" and the config change come after the snapshot: they live only in the log tail.
    const beta = await runMain([
      "topics",
      ...bootstrap,
      "--create",
      "--topic",
      "beta",
      "--partitions",
      "2",
    ]);
    assert.equal(beta.code, 0, beta.stderr);
    const altered = await runMain([
      "configs",
      ...bootstrap,
      "--alter",
      "--entity-type",
      "topics",
      "--entity-name",
      "alpha",
      "--add-config",
      "retention.ms=12345",
    ]);
    assert.equal(altered.code, 0, altered.stderr);
    const logs = join(node.dataDir, "logs");
    const running = await runMain([
      "metadata-shell",
      "--directory",
      logs,
      "ls",
      "/image/topics/byName",
    ]);
    assert.equal(running.code, 0, running.stderr);
    assert.deepEqual(running.stdout.trim().split("\n").filter((t) => !t.startsWith("__")), [
      "alpha",
      "beta",
    ]);

    await node.kill();
    const session = await runMain(["metadata-shell", "--directory", logs], {
      stdin: [
        "cd /image/topics/byName/alpha",
        "cat 0",
        "cat /image/configs/TOPIC:alpha/retention.ms",
        "ls /image/cluster/brokers",
        "cat /image/features/metadataVersion",
        "ls nope",
        "exit",
      ].join("\n") + "\n",
    });
    assert.equal(session.code, 0, session.stderr);
    const out = session.stdout.trim().split("\n");
    assert.match(out[0]!, /^PartitionRegistration\(replicas=\[1\], .*isr=\[1\], .*leader=1, /);
    assert.deepEqual(out.slice(1, 3), ["12345", "1"]);
    assert.match(out[3]!, /^\d+\.\d+-IV\d+$/);
    assert.ok(!session.stdout.includes(">> "), "no prompt when stdin is not a terminal");
    assert.equal(session.stderr.trim(), "ls: nope: no such file or directory.");
  } finally {
    await node.stop();
  }
});
