// Today's librdkafka (2.15, through @confluentinc/kafka-javascript on /usr/bin/node) against a
// real kraftling node: KIP-848 groups with group.protocol=consumer (ConsumerGroupHeartbeat v1:
// client-generated member ids, a regex subscription resolved on the broker), a classic group and
// idempotent produce. `.ci/run` builds the client into KRAFTLING_CKJS_DIR (default
// /var/cache/kraftling-ckjs) before the tests; without it these tests are ignored, loudly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, startNode, type TestNode } from "./harness.ts";

const CKJS_DIR = Deno.env.get("KRAFTLING_CKJS_DIR") ?? "/var/cache/kraftling-ckjs";
const NODE_BIN = "/usr/bin/node";
const SCRIPT = join(REPO_ROOT, "tests/integration/node/ckjs_scenarios.mjs");
/** How long one scenario may run before it is killed, in milliseconds. */
const SCENARIO_TIMEOUT_MS = 150_000;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const built = exists(
  join(CKJS_DIR, "node_modules/@confluentinc/kafka-javascript/build/Release"),
) && exists(NODE_BIN);
if (!built) {
  console.warn(
    `librdkafka_current_test: ignored, @confluentinc/kafka-javascript is not built in ${CKJS_DIR} ` +
      "(.ci/run builds it)",
  );
}

/** Runs one scenario of ckjs_scenarios.mjs and returns the JSON it printed. */
async function scenario(name: string, bootstrap = ""): Promise<Record<string, unknown>> {
  const child = new Deno.Command(NODE_BIN, {
    args: [SCRIPT, name, bootstrap],
    env: { NODE_PATH: join(CKJS_DIR, "node_modules") },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, SCENARIO_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`scenario ${name} exited with ${out.code}:\n${decoder.decode(out.stderr)}`);
  }
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

Deno.test({
  name: "librdkafka 2.15 runs KIP-848 and classic groups and idempotent produce against kraftling",
  ignore: !built,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const { librdkafka } = await scenario("version");
    console.log(`librdkafka ${librdkafka} (@confluentinc/kafka-javascript 1.10.1)`);
    assert.match(String(librdkafka), /^2\.(1[0-9]|[2-9][0-9])\./, "a librdkafka that sends v1");

    let node: TestNode | undefined;
    try {
      node = await startNode({ props: { "group.consumer.heartbeat.interval.ms": "1000" } });
      const bootstrap = node.bootstrap;

      await t.step(
        "two KIP-848 members split four partitions, commit, and a third resumes exactly",
        async () => {
          const r = await scenario("kip848", bootstrap) as {
            split: { a: string[]; b: string[] };
            firstValues: number[];
            afterLeave: string[];
            resumed: number[];
          };
          assert.equal(r.split.a.length, 2, JSON.stringify(r.split));
          assert.equal(r.split.b.length, 2, JSON.stringify(r.split));
          assert.deepEqual([...r.split.a, ...r.split.b].sort(), r.afterLeave);
          assert.deepEqual(r.firstValues, range(0, 40));
          assert.equal(r.afterLeave.length, 4);
          assert.deepEqual(r.resumed, range(40, 8));
        },
      );

      await t.step("a regex subscription picks up a topic created after it joined", async () => {
        const r = await scenario("regex", bootstrap) as {
          topics: string[];
          assignment: string[];
          count: number;
        };
        assert.deepEqual(r.topics, ["rx-one", "rx-two"]);
        assert.deepEqual(r.assignment, ["rx-one:0", "rx-one:1", "rx-two:0"]);
        assert.equal(r.count, 7);
      });

      await t.step("two classic members split four partitions", async () => {
        const r = await scenario("classic", bootstrap) as {
          split: { a: string[]; b: string[] };
          values: number[];
        };
        assert.equal(r.split.a.length + r.split.b.length, 4, JSON.stringify(r.split));
        assert.equal(r.split.a.length, 2, JSON.stringify(r.split));
        assert.deepEqual(r.values, range(0, 40));
      });

      await t.step("an idempotent producer's records arrive once each, in order", async () => {
        const r = await scenario("idempotence", bootstrap);
        assert.deepEqual(r, { count: 2000, distinct: 2000, ordered: true });
      });

      const log = node.logs();
      assert.ok(!/Unhandled|uncaught/i.test(log), "the node logged an unhandled error");
    } catch (error) {
      if (node !== undefined) {
        console.error(`--- node log ---\n${node.logs().slice(-20_000)}\n--- end of node log ---`);
      }
      throw error;
    } finally {
      await node?.stop();
    }
  },
});
