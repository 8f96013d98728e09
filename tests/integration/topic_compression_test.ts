// A topic's `compression.type` against a real node, as Kafka applies it: kcat produces
// uncompressed and lz4 batches, the broker stores them with the topic's codec (`dump-log` shows
// the codec on disk), librdkafka reads every record back; "producer" keeps the producer's codec; a
// cluster-wide default set with `configs --entity-default` applies to topics without their own.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { hasCommand, hasPythonModule, runMain, startNode, type TestNode } from "./harness.ts";
import { checkCommand, runCommand } from "./commands.ts";

const noClients = !hasCommand("kcat") || !hasPythonModule("confluent_kafka");
if (noClients) {
  console.warn("topic_compression_test: skipped (kcat or python3-confluent-kafka missing)");
}

const RECORDS = 200;

async function cli(args: string[]): Promise<string> {
  const out = await runMain(args);
  if (out.code !== 0) throw new Error(`${args.join(" ")} failed: ${out.stderr}`);
  return out.stdout;
}

/** The codecs `dump-log` reports for partition 0 of `topic`, one per batch. */
async function storedCodecs(node: TestNode, topic: string): Promise<string[]> {
  const dir = join(node.dataDir, "logs", `${topic}-0`);
  const segments = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".log"));
  const out = await cli(["dump-log", "--files", segments.map((s) => join(dir, s.name)).join(",")]);
  return [...out.matchAll(/compresscodec: (\S+)/g)].map((m) => m[1]!);
}

/** Produces RECORDS values `<prefix>-<i>` with kcat's codec `codec` in one batch per 100. */
async function produce(node: TestNode, topic: string, prefix: string, codec: string) {
  const lines = Array.from({ length: RECORDS }, (_, i) => `${prefix}-${i}`).join("\n") + "\n";
  await checkCommand("kcat", [
    "-P",
    "-b",
    node.bootstrap,
    "-t",
    topic,
    "-p",
    "0",
    "-z",
    codec,
    "-X",
    "batch.num.messages=100",
    "-X",
    "linger.ms=200",
  ], { stdin: lines });
}

/** Every value of partition 0, read by librdkafka from the start. */
async function consume(node: TestNode, topic: string): Promise<string[]> {
  const out = await runCommand("/usr/bin/python3", [
    join(import.meta.dirname!, "python", "consume_all.py"),
    node.bootstrap,
    topic,
  ], { cwd: join(import.meta.dirname!, "python") });
  if (out.code !== 0) throw new Error(`consume_all.py failed: ${out.stderr}`);
  return (JSON.parse(out.stdout) as { v: string }[]).map((r) => r.v);
}

Deno.test({
  name: "a topic's compression.type recompresses produced batches; producer keeps them",
  ignore: noClients,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const node = await startNode();
    try {
      const create = (topic: string, codec?: string) =>
        cli([
          "topics",
          "--bootstrap-server",
          node.bootstrap,
          "--create",
          "--topic",
          topic,
          ...(codec === undefined ? [] : ["--config", `compression.type=${codec}`]),
        ]);
      await create("to-zstd", "zstd");
      await create("to-plain", "uncompressed");
      await create("as-sent", "producer");

      const expected = [
        ...Array.from({ length: RECORDS }, (_, i) => `none-${i}`),
        ...Array.from({ length: RECORDS }, (_, i) => `lz4-${i}`),
      ];
      for (const topic of ["to-zstd", "to-plain", "as-sent"]) {
        await produce(node, topic, "none", "none");
        await produce(node, topic, "lz4", "lz4");
        assertEquals(await consume(node, topic), expected, topic);
      }
      assertEquals(new Set(await storedCodecs(node, "to-zstd")), new Set(["zstd"]));
      assertEquals(new Set(await storedCodecs(node, "to-plain")), new Set(["none"]));
      assertEquals(new Set(await storedCodecs(node, "as-sent")), new Set(["none", "lz4"]));

      // The cluster-wide default reaches topics that do not set their own.
      await create("by-default");
      await cli([
        "configs",
        "--bootstrap-server",
        node.bootstrap,
        "--alter",
        "--entity-type",
        "brokers",
        "--entity-default",
        "--add-config",
        "compression.type=gzip",
      ]);
      await produce(node, "by-default", "none", "none");
      assertEquals(new Set(await storedCodecs(node, "by-default")), new Set(["gzip"]));
      assertEquals(await consume(node, "by-default"), expected.slice(0, RECORDS));
    } finally {
      await node.stop();
    }
  },
});
