// Compaction and retention as a Kafka operator sees them, with real clients (issue #15):
// librdkafka (python3-confluent-kafka) writes old-timestamped values and tombstones, kcat reads
// from the beginning, `get-offsets` reports the log start. KIP-534: a tombstone stays readable for
// delete.retention.ms after the cleaning pass that first sees it, however old its timestamp. An
// expired active segment is rolled and deleted, so the log start reaches the end offset, also
// after a kill -9 and restart; cleaned segments carry their indexes, so the restart rebuilds none.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { hasCommand, hasPythonModule, runMain, startNode, type TestNode } from "./harness.ts";

const noClients = !hasCommand("kcat") || !hasPythonModule("confluent_kafka");
if (noClients) {
  console.warn("compaction_retention_test: skipped (kcat or python3-confluent-kafka missing)");
}

/** How long one client command may run before it is killed, in milliseconds. */
const COMMAND_TIMEOUT_MS = 60_000;
/** The cleaner runs every 15 s (Kafka's log.cleaner.backoff.ms); two passes fit in this. */
const CLEANER_PASS_WAIT_MS = 45_000;

/** Writes k=v1 and then a tombstone for k, both timestamped 10 minutes ago, then a fresh filler. */
const PRODUCE_PY = `
import sys, time
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "linger.ms": 0, "enable.idempotence": False})
old_ms = int(time.time() * 1000) - 600000
for topic in sys.argv[2:]:
    p.produce(topic, key=b"k", value=b"v1", timestamp=old_ms)
    p.flush(10)
    p.produce(topic, key=b"k", value=None, timestamp=old_ms)
    p.flush(10)
    # A later batch rolls the tombstone's segment (segment.bytes=100): only inactive ones are cleaned.
    p.produce(topic, key=b"other", value=b"filler")
    p.flush(10)
`;

async function run(
  command: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    env: { PYTHONDONTWRITEBYTECODE: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, COMMAND_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Every record of partition 0 from the beginning, as kcat prints `key=value` (NULL for null). */
async function kcatRecords(node: TestNode, topic: string): Promise<string[]> {
  const r = await run("kcat", [
    "-C",
    "-b",
    node.bootstrap,
    "-t",
    topic,
    "-p",
    "0",
    "-o",
    "beginning",
    "-e",
    "-q",
    "-Z",
    "-f",
    "%k=%s\\n",
  ]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((line) => line !== "");
}

async function offsetAt(node: TestNode, topic: string, time: "-1" | "-2"): Promise<string> {
  const r = await runMain(
    ["get-offsets", "--bootstrap-server", node.bootstrap, "--topic", topic, "--time", time],
    { timeoutMs: COMMAND_TIMEOUT_MS },
  );
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** Polls `check` every 500 ms until it returns true; fails after `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

async function createTopic(node: TestNode, topic: string, configs: string[]): Promise<void> {
  const r = await runMain([
    "topics",
    "--bootstrap-server",
    node.bootstrap,
    "--create",
    "--topic",
    topic,
    "--partitions",
    "1",
    ...configs.flatMap((c) => ["--config", c]),
  ], { timeoutMs: COMMAND_TIMEOUT_MS });
  assertEquals(r.code, 0, r.stderr);
}

Deno.test({
  name:
    "tombstones stay for delete.retention.ms after the pass that sees them, expired data goes with the active segment, and a restart rebuilds no index",
  ignore: noClients,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const node = await startNode({ props: { "log.retention.check.interval.ms": "500" } });
    try {
      const compacted = ["cleanup.policy=compact", "segment.bytes=100"];
      await createTopic(node, "tomb-long", [...compacted, "delete.retention.ms=60000"]);
      await createTopic(node, "tomb-short", [...compacted, "delete.retention.ms=3000"]);
      await createTopic(node, "quiet", ["retention.ms=5000"]);
      const produced = await run("/usr/bin/python3", [
        "-c",
        PRODUCE_PY,
        node.bootstrap,
        "tomb-long",
        "tomb-short",
      ]);
      assertEquals(produced.code, 0, produced.stderr);
      const fifty = Array.from({ length: 50 }, (_, i) => `record-${i}`).join("\n") + "\n";
      const kcatProduced = await run(
        "kcat",
        ["-P", "-b", node.bootstrap, "-t", "quiet", "-p", "0"],
        fifty,
      );
      assertEquals(kcatProduced.code, 0, kcatProduced.stderr);
      assertEquals(await offsetAt(node, "quiet", "-1"), "quiet:0:50");

      await t.step("an expired active segment is rolled and deleted", async () => {
        await waitFor("retention of the quiet topic", 30_000, async () => {
          return await offsetAt(node, "quiet", "-2") === "quiet:0:50";
        });
        assertEquals(await offsetAt(node, "quiet", "-1"), "quiet:0:50");
        assertEquals(await kcatRecords(node, "quiet"), [], "expired records are not readable");
      });

      await t.step(
        "a kcat consumer starting inside the window sees the tombstone (KIP-534)",
        async () => {
          // The first pass removes k=v1; the tombstone, 10 minutes old, must survive it.
          await waitFor("the first cleaning pass", CLEANER_PASS_WAIT_MS, async () => {
            return !(await kcatRecords(node, "tomb-long")).includes("k=v1");
          });
          assertEquals(await kcatRecords(node, "tomb-long"), ["k=NULL", "other=filler"]);
        },
      );

      await t.step(
        "a tombstone goes once its delete horizon has passed, the longer window keeps its own",
        async () => {
          await waitFor("the tombstone of tomb-short to go", CLEANER_PASS_WAIT_MS, async () => {
            return !(await kcatRecords(node, "tomb-short")).includes("k=NULL");
          });
          assertEquals(await kcatRecords(node, "tomb-short"), ["other=filler"]);
          assertEquals(await kcatRecords(node, "tomb-long"), ["k=NULL", "other=filler"]);
        },
      );

      await t.step(
        "after kill -9 and restart: the log start stays at the end, no index is rebuilt",
        async () => {
          const logged = node.logs().length;
          await node.kill();
          await node.restart();
          const restartLog = node.logs().slice(logged);
          ok(!/Rebuilding index/.test(restartLog), restartLog);
          assertEquals(await offsetAt(node, "quiet", "-2"), "quiet:0:50");
          assertEquals(await offsetAt(node, "quiet", "-1"), "quiet:0:50");
          assertEquals(await kcatRecords(node, "quiet"), []);
          assertEquals(await kcatRecords(node, "tomb-long"), ["k=NULL", "other=filler"]);
        },
      );

      await t.step("features describe on a static quorum shows kraft.version 0", async () => {
        const r = await runMain(["features", "--bootstrap-server", node.bootstrap, "describe"]);
        assertEquals(r.code, 0, r.stderr);
        ok(/^Feature: kraft.version\t.*\tFinalizedVersionLevel: 0\t/m.test(r.stdout), r.stdout);
      });
    } catch (error) {
      console.error(node.logs().slice(-4000));
      throw error;
    } finally {
      await node.stop();
    }
  },
});
