// kafka-python (Debian's python3-kafka, an unmodified client) against a real kraftling node: admin,
// compressed acks=all produce with keys and headers, group consume and commit, a second consumer run
// that finds nothing new, and clients pinned to old api versions (magic 1 message sets).
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { hasPythonModule, REPO_ROOT, startNode } from "./harness.ts";

const ignore = !hasPythonModule("kafka");
if (ignore) console.warn("kafka_python_test: skipped (/usr/bin/python3 cannot import kafka)");
const hasLz4 = !ignore && hasPythonModule("lz4");

const SCRIPT = join(REPO_ROOT, "tests/integration/python/kafka_python_e2e.py");
/** One script step may take this long before it is killed. */
const STEP_TIMEOUT_MS = 60_000;

interface ConsumeResult {
  distinct: number;
  duplicates: number;
  headers_ok: boolean;
  committed: number;
}

/** Runs one step of the Python script; returns its JSON result or throws with its output. */
async function step<T>(bootstrap: string, name: string, apiVersion?: string): Promise<T> {
  const args = [SCRIPT, bootstrap, name, ...(apiVersion ? [apiVersion] : [])];
  const child = new Deno.Command("/usr/bin/python3", { args, stdout: "piped", stderr: "piped" })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, STEP_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(`kafka-python step ${name} (api ${apiVersion ?? "auto"}) failed:\n${stderr}`);
  }
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

Deno.test({
  name: "kafka-python administers topics, produces compressed records and consumes them in a group",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const node = await startNode();
    const b = node.bootstrap;
    try {
      await t.step("admin creates, lists, describes and deletes topics", async () => {
        assertEquals(await step(b, "admin:kp-main"), { topics: ["kp-main"] });
      });

      await t.step(
        "a gzip acks=all producer gets 1000 keyed records with headers acked",
        async () => {
          assertEquals(await step(b, "produce:kp-main:gzip:1000"), { acked: 1000 });
        },
      );

      await t.step({
        name: "an lz4 producer gets its records acked",
        ignore: !hasLz4,
        fn: async () => {
          assertEquals(await step(b, "produce:kp-lz4:lz4:300"), { acked: 300 });
          const read = await step<ConsumeResult>(b, "consume:kp-lz4:kp-lz4-group:300:1");
          assertEquals([read.distinct, read.duplicates, read.headers_ok], [300, 0, true]);
        },
      });

      await t.step("a group consumer reads every record once and commits", async () => {
        assertEquals(await step<ConsumeResult>(b, "consume:kp-main:kp-group:1000:1"), {
          distinct: 1000,
          duplicates: 0,
          headers_ok: true,
          committed: 1000,
        });
      });

      await t.step("a second run of the same group reads nothing new", async () => {
        const again = await step<ConsumeResult>(b, "consume:kp-main:kp-group:0:1");
        assertEquals([again.distinct, again.committed], [0, 1000]);
      });

      await t.step(
        "api_version=(0, 10, 1) administers, produces and consumes magic 1 message sets",
        async () => {
          const admin = await step<{ topics: string[] }>(b, "admin:kp-old", "0.10.1");
          assert(admin.topics.includes("kp-old"));
          assertEquals(await step(b, "produce:kp-old:gzip:200", "0.10.1"), { acked: 200 });
          // Read back by a current client: the broker converted the message sets to v2 batches.
          const read = await step<ConsumeResult>(b, "consume:kp-old:kp-old-group:200:0");
          assertEquals([read.distinct, read.duplicates, read.headers_ok], [200, 0, true]);
          // Fetch v3 down-converts the stored v2 batches (the keyed, headered gzip ones too).
          const old = await step<ConsumeResult>(b, "consume:kp-old:kp-old-group2:200:0", "0.10.1");
          assertEquals(old, { distinct: 200, duplicates: 0, headers_ok: true, committed: 200 });
          const main = await step<ConsumeResult>(b, "consume:kp-main:kp-old-main:1000:0", "0.10.1");
          assertEquals([main.distinct, main.duplicates, main.headers_ok], [1000, 0, true]);
        },
      );

      await t.step("api_version=(0, 9) produces and consumes magic 0 message sets", async () => {
        // Produce v1 and Fetch v1 carry magic 0: no timestamps.
        assertEquals(await step(b, "produce:kp-old:none:50", "0.9"), { acked: 50 });
        const read = await step<ConsumeResult>(b, "consume:kp-old:kp-09-group:250:0", "0.9");
        assertEquals(read, { distinct: 200, duplicates: 50, headers_ok: true, committed: 250 });
      });

      await t.step("api_version=(2, 0, 0) administers, produces and consumes", async () => {
        const admin = await step<{ topics: string[] }>(b, "admin:kp-v2", "2.0.0");
        assert(admin.topics.includes("kp-v2"));
        assertEquals(await step(b, "produce:kp-v2:none:300", "2.0.0"), { acked: 300 });
        const read = await step<ConsumeResult>(b, "consume:kp-v2:kp-v2-group:300:1", "2.0.0");
        assertEquals(read, { distinct: 300, duplicates: 0, headers_ok: true, committed: 300 });
      });
    } finally {
      await node.stop();
    }
  },
});
