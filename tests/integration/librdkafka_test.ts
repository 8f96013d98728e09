// librdkafka (kcat and Debian's python3-confluent-kafka) against a real kraftling node: codecs,
// headers, offsets and offset-for-time lookups; idempotent produce across kill -9; consumer groups
// (eager, cooperative-sticky, static membership); committed offsets across kill -9; acks and
// MESSAGE_TOO_LARGE. Each test starts its own node and prints the node's log when it fails.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkCommand, COMMAND_TIMEOUT_MS } from "./commands.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PYTHON_DIR = join(ROOT, "tests/integration/python");
const exists = (p: string) => {
  try {
    Deno.statSync(join(ROOT, p));
    return true;
  } catch {
    return false;
  }
};
const missing = !exists("tests/integration/harness.ts") || !exists("node/node.ts");
const harness = missing ? undefined : await import("./harness.ts");
const noKcat = missing || !harness!.hasCommand("kcat");
const noPython = missing || !harness!.hasPythonModule("confluent_kafka");
if (noKcat) console.warn("librdkafka_test: kcat tests skipped (kcat not installed)");
if (noPython) {
  console.warn("librdkafka_test: confluent-kafka tests skipped (python3-confluent-kafka missing)");
}

/** Keeps the scripts from leaving `__pycache__` in the source tree. */
const PYTHON_ENV = { PYTHONDONTWRITEBYTECODE: "1" };

type TestNode = Awaited<ReturnType<NonNullable<typeof harness>["startNode"]>>;

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
function check(command: string, args: string[], stdin?: string): Promise<string> {
  return checkCommand(command, args, { stdin, cwd: PYTHON_DIR });
}

/** Runs `tests/integration/python/<script>` with /usr/bin/python3 and returns its stdout. */
function python(script: string, ...args: string[]): Promise<string> {
  return check("/usr/bin/python3", [join(PYTHON_DIR, script), ...args]);
}

/** Runs `fn` against a fresh node; prints the node's log if `fn` throws; always stops it. */
async function withNode(
  props: Record<string, string>,
  fn: (node: TestNode) => Promise<void>,
): Promise<void> {
  const node = await harness!.startNode({ props });
  try {
    await fn(node);
  } catch (error) {
    console.error(`--- node log ---\n${node.logs()}\n--- end of node log ---`);
    throw error;
  } finally {
    await node.stop();
  }
}

const KCAT_QUIET = ["-q", "-X", "topic.metadata.refresh.interval.ms=1000"];

Deno.test({
  name: "kcat round-trips keyed messages with every codec, headers, offsets and time lookups",
  ignore: noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await withNode({}, async (node) => {
      const b = ["-b", node.bootstrap];
      const lines = Array.from({ length: 200 }, (_, i) => `key${i % 7}:value-${i}`);
      const expected = lines.map((l) => l.replace(":", " ")).join("\n") + "\n";

      await t.step("200 keyed messages per codec come back exactly", async () => {
        for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
          const topic = `kcat-${codec}`;
          await check("kcat", ["-P", ...b, "-t", topic, "-z", codec, "-K:"], lines.join("\n"));
          const got = await check("kcat", [
            "-C",
            ...b,
            "-t",
            topic,
            "-e",
            ...KCAT_QUIET,
            "-f",
            "%k %s\\n",
          ]);
          assertEquals(got, expected, `codec ${codec}`);
        }
      });

      await t.step("headers set with -H come back with the message", async () => {
        await check(
          "kcat",
          ["-P", ...b, "-t", "kcat-headers", "-H", "a=1", "-H", "trace=xyz"],
          "x",
        );
        const got = await check("kcat", [
          "-C",
          ...b,
          "-t",
          "kcat-headers",
          "-e",
          ...KCAT_QUIET,
          "-f",
          "%h|%s\\n",
        ]);
        assertEquals(got, "a=1,trace=xyz|x\n");
      });

      await t.step("-o beginning, -o end, -o N and -o -N start where asked", async () => {
        const consume = (offset: string) =>
          check("kcat", [
            "-C",
            ...b,
            "-t",
            "kcat-none",
            "-p",
            "0",
            "-o",
            offset,
            "-e",
            ...KCAT_QUIET,
            "-f",
            "%o %s\\n",
          ]);
        const all = (await consume("beginning")).trim().split("\n");
        assertEquals(all.length, 200);
        assertEquals(all[0], "0 value-0");
        assertEquals(await consume("end"), "");
        assertEquals(await consume("197"), "197 value-197\n198 value-198\n199 value-199\n");
        assertEquals(await consume("-2"), "198 value-198\n199 value-199\n");
      });

      await t.step("kcat -Q finds the first offset at or after a timestamp", async () => {
        const topic = "kcat-time";
        const first = Array.from({ length: 100 }, (_, i) => `a${i}`).join("\n");
        const second = Array.from({ length: 100 }, (_, i) => `b${i}`).join("\n");
        const before = Date.now() - 1000;
        await check("kcat", ["-P", ...b, "-t", topic], first);
        await new Promise((r) => setTimeout(r, 50));
        const between = Date.now();
        await new Promise((r) => setTimeout(r, 50));
        await check("kcat", ["-P", ...b, "-t", topic], second);
        const query = async (ts: number) =>
          (await check("kcat", ["-Q", ...b, "-t", `${topic}:0:${ts}`])).trim();
        assertEquals(await query(before), `${topic} [0] offset 0`);
        assertEquals(await query(between), `${topic} [0] offset 100`);
        assertEquals(await query(-1), `${topic} [0] offset 200`); // latest
        assertEquals(await query(-2), `${topic} [0] offset 0`); // earliest
        assertEquals(await query(Date.now() + 3_600_000), `${topic} [0] offset -1`);
      });
    });
  },
});

interface Delivered {
  p: number;
  o: number;
  v: string;
}
interface Consumed extends Delivered {
  k: string | null;
}

/** Parses produce.py's output: delivered messages and the final summary. */
function parseProduce(stdout: string) {
  const delivered: Delivered[] = [];
  const failed: string[] = [];
  let summary: { delivered: number; failed: number; queued: number } | undefined;
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    const entry = JSON.parse(line);
    if ("done" in entry) summary = entry;
    else if ("err" in entry) failed.push(`${entry.v}: ${entry.err}`);
    else if ("p" in entry) delivered.push(entry);
  }
  return { delivered, failed, summary };
}

/**
 * Checks what consume_all.py read against what was acknowledged: every acknowledged message at its
 * acknowledged offset, each value once, offsets contiguous from 0 and values in produce order per
 * partition. Returns how many messages were read.
 */
function checkExactlyOnce(consumed: Consumed[], delivered: Delivered[]): number {
  const byPartition = new Map<number, Consumed[]>();
  for (const m of consumed) {
    const list = byPartition.get(m.p) ?? [];
    list.push(m);
    byPartition.set(m.p, list);
  }
  for (const [p, list] of byPartition) {
    list.forEach((m, i) => assertEquals(m.o, i, `partition ${p}: offset ${m.o} at position ${i}`));
    const order = list.map((m) => Number(m.v.slice(1)));
    for (let i = 1; i < order.length; i++) {
      ok(order[i]! > order[i - 1]!, `partition ${p}: m${order[i]} after m${order[i - 1]}`);
    }
  }
  const at = new Map(consumed.map((m) => [`${m.p}:${m.o}`, m.v]));
  const values = new Set(consumed.map((m) => m.v));
  assertEquals(values.size, consumed.length, "a value was read twice");
  for (const d of delivered) {
    assertEquals(at.get(`${d.p}:${d.o}`), d.v, `acknowledged ${d.v} at ${d.p}:${d.o}`);
  }
  return consumed.length;
}

Deno.test({
  name:
    "an idempotent lz4 producer's 5000 acknowledged messages survive kill -9 exactly once and in order",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withNode({ "num.partitions": "3" }, async (node) => {
      const produced = parseProduce(await python("produce.py", node.bootstrap, "idem", "5000"));
      await node.kill();
      assertEquals(produced.failed, []);
      assertEquals(produced.summary, { done: true, delivered: 5000, failed: 0, queued: 0 });
      await node.restart();
      const consumed: Consumed[] = JSON.parse(
        await python("consume_all.py", node.bootstrap, "idem"),
      );
      assertEquals(checkExactlyOnce(consumed, produced.delivered), 5000);
    });
  },
});

Deno.test({
  name: "an idempotent producer retrying across a kill -9 mid-stream leaves no duplicates or gaps",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withNode({ "num.partitions": "3" }, async (node) => {
      const child = new Deno.Command("/usr/bin/python3", {
        args: [
          join(PYTHON_DIR, "produce.py"),
          node.bootstrap,
          "midway",
          "5000",
          "test.pause.every=20",
        ],
        env: PYTHON_ENV,
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const killTimer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
      let stdout = "";
      let killed = false;
      const decoder = new TextDecoder();
      try {
        for await (const chunk of child.stdout) {
          stdout += decoder.decode(chunk, { stream: true });
          if (!killed && stdout.includes(`{"progress": 1500}`)) {
            killed = true;
            await node.kill(); // requests are in flight: librdkafka retries them
            await new Promise((r) => setTimeout(r, 500));
            await node.restart();
          }
        }
      } finally {
        clearTimeout(killTimer);
        await child.status;
      }
      ok(killed, `the producer never reached 1500 deliveries:\n${stdout.slice(-2000)}`);
      const produced = parseProduce(stdout);
      assertEquals(produced.failed, []);
      assertEquals(produced.summary, { done: true, delivered: 5000, failed: 0, queued: 0 });
      const consumed: Consumed[] = JSON.parse(
        await python("consume_all.py", node.bootstrap, "midway"),
      );
      assertEquals(checkExactlyOnce(consumed, produced.delivered), 5000);
    });
  },
});

Deno.test({
  name: "confluent-kafka consumer groups share, hand over, resume, rebalance cooperatively and " +
    "keep static members",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await withNode({}, async (node) => {
      await t.step(
        "two members share 4 partitions; a leaver's share moves; a third resumes",
        async () => {
          const r = JSON.parse(await python("group_share.py", node.bootstrap, "shared", "g-share"));
          assertEquals(r.shared, true, JSON.stringify(r));
          assertEquals([...r.c1, ...r.c2].sort(), [0, 1, 2, 3]);
          assertEquals(r.takeover, true, "the remaining member never got all 4 partitions");
          ok(r.takeover_s < 6, `takeover took ${r.takeover_s} s, more than the session timeout`);
          assertEquals(r.first.length, 400, "first pass read something twice or missed something");
          assertEquals(new Set(r.first).size, 400);
          assertEquals(
            [...r.second].sort(),
            Array.from({ length: 200 }, (_, i) => `b${i}`).sort(),
            "the new member did not resume exactly at the committed offsets",
          );
        },
      );

      await t.step("cooperative-sticky moves only the partitions the new member gets", async () => {
        const r = JSON.parse(
          await python("group_cooperative.py", node.bootstrap, "coop", "g-coop"),
        );
        assertEquals([r.shared, r.c1.length, r.c2.length], [true, 2, 2], JSON.stringify(r));
        const c1 = r.events.c1 as [string, number[]][];
        assertEquals(c1[0], ["assign", [0, 1, 2, 3]]);
        // Incremental: c1 only ever gave up what c2 got, and never lost its own two.
        const revoked = c1.filter(([kind]) => kind !== "assign").flatMap(([, ps]) => ps).sort();
        assertEquals(revoked, r.c2, JSON.stringify(r.events));
        ok(!c1.some(([kind]) => kind === "lost"), JSON.stringify(r.events));
      });

      await t.step(
        "a static member restarting within the session timeout causes no rebalance",
        async () => {
          const r = JSON.parse(
            await python("group_static.py", node.bootstrap, "static", "g-static"),
          );
          assertEquals([r.stable, r.rejoined], [true, true], JSON.stringify(r));
          assertEquals(r.after, r.before);
          assertEquals(r.c2_events_after_restart, []);
        },
      );
    });
  },
});

Deno.test({
  name: "committed offsets survive kill -9 and a new group member starts at them",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withNode({}, async (node) => {
      await python("seed.py", node.bootstrap, "durable", "2", "300", "s", "create");
      const first: [number, number, string][] = JSON.parse(
        await python("group_consume.py", node.bootstrap, "durable", "g-durable", "100"),
      );
      assertEquals(first.length, 100);
      await node.kill();
      await node.restart();
      const rest: [number, number, string][] = JSON.parse(
        await python("group_consume.py", node.bootstrap, "durable", "g-durable", "1000"),
      );
      const all = [...first, ...rest].map(([, , v]) => v).sort();
      assertEquals(all, Array.from({ length: 300 }, (_, i) => `s${i}`).sort());
    });
  },
});

Deno.test({
  name: "acks=0 and acks=1 deliver, an oversized message gets MSG_SIZE_TOO_LARGE and the node " +
    "keeps serving",
  ignore: noPython,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withNode({}, async (node) => {
      const r = JSON.parse(await python("produce_acks.py", node.bootstrap, "acks"));
      assertEquals(r.acks1, { delivered: 100, failed: [] });
      assertEquals(r.big?.name, "MSG_SIZE_TOO_LARGE", JSON.stringify(r));
      assertEquals(r.after, [null]);
      const consumed: Consumed[] = JSON.parse(
        await python("consume_all.py", node.bootstrap, "acks"),
      );
      const values = consumed.map((m) => m.v);
      for (const acks of ["0", "1"]) {
        assertEquals(
          values.filter((v) => v.startsWith(`acks${acks}-`)).length,
          100,
          `acks=${acks} messages missing`,
        );
      }
      assertEquals(values.at(-1), "small");
    });
  },
});
