// Today's librdkafka (2.15, through @confluentinc/kafka-javascript on /usr/bin/node) against a
// real kraftling node: KIP-848 groups with group.protocol=consumer (ConsumerGroupHeartbeat v1:
// client-generated member ids, a regex subscription resolved on the broker), librdkafka and our own
// client in one KIP-848 group, a classic group, idempotent produce and the four codecs. `.ci/run` builds the client into KRAFTLING_CKJS_DIR (default
// /var/cache/kraftling-ckjs) before the tests; without it these tests are ignored, loudly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, startNode, type TestNode } from "./harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { Consumer } from "../../net/client/consumer.ts";
import { Producer } from "../../net/client/producer.ts";

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
  name:
    "librdkafka 2.15 against kraftling: KIP-848 groups (with our client in one), classic groups, idempotence",
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
          // At least once while partitions move between members; exactly once after a clean commit.
          assert.deepEqual([...new Set(r.firstValues)], range(0, 40));
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
        assert.deepEqual([...new Set(r.values)], range(0, 40));
      });

      await t.step(
        "classic members and a KIP-848 member in one group: upgrade, converge, downgrade",
        async () => {
          const r = await scenario("migration", bootstrap) as {
            classicSplit: { a: string[]; b: string[] };
            mixedSplit: { a: string[]; b: string[]; c: string[] };
            afterSplit: { a: string[]; b: string[] };
            cRead: number;
            values: number[];
          };
          const all = ["migrate:0", "migrate:1", "migrate:2", "migrate:3"];
          assert.deepEqual([...r.classicSplit.a, ...r.classicSplit.b].sort(), all);
          const mixed = [...r.mixedSplit.a, ...r.mixedSplit.b, ...r.mixedSplit.c].sort();
          assert.deepEqual(mixed, all, JSON.stringify(r.mixedSplit));
          assert.ok(r.mixedSplit.c.length >= 1, "the KIP-848 member got partitions");
          assert.ok(r.cRead > 0, "the KIP-848 member read records");
          assert.deepEqual([...r.afterSplit.a, ...r.afterSplit.b].sort(), all);
          assert.deepEqual(r.values, range(0, 100), "every record was read");
        },
      );

      await t.step("an idempotent producer's records arrive once each, in order", async () => {
        const r = await scenario("idempotence", bootstrap);
        assert.deepEqual(r, { count: 2000, distinct: 2000, ordered: true });
      });

      await t.step("records compressed with gzip, snappy, lz4 and zstd come back", async () => {
        const r = await scenario("codecs", bootstrap);
        assert.deepEqual(r, { values: range(0, 40) });
      });

      await t.step(
        "librdkafka (v1) and our consumer (v0) in one KIP-848 group converge",
        async () => {
          const admin = new Admin({ bootstrapServers: bootstrap });
          const producer = new Producer({ bootstrapServers: bootstrap });
          try {
            await admin.createTopics([{ name: "mixed", numPartitions: 4, replicationFactor: 1 }]);
            await Promise.all(
              range(0, 40).map((i) =>
                producer.send({ topic: "mixed", partition: i % 4, value: String(i) })
              ),
            );
          } finally {
            await producer.close();
            await admin.close();
          }
          const ours = new Consumer({
            bootstrapServers: bootstrap,
            groupId: "g-mixed",
            groupProtocol: "consumer",
            autoOffsetReset: "earliest",
            autoCommit: false,
            clientId: "kraftling-mixed",
          });
          ours.subscribe(["mixed"]);
          const theirs = scenario("mixed", bootstrap);
          let theirsDone = false;
          void theirs.finally(() => theirsDone = true).catch(() => {});
          const seen: number[] = [];
          let ownedWhileBoth: string[] = [];
          try {
            const deadline = Date.now() + SCENARIO_TIMEOUT_MS;
            while (!theirsDone && Date.now() < deadline) {
              for (const r of await ours.poll({ timeoutMs: 200 })) {
                seen.push(Number(new TextDecoder().decode(r.value!)));
              }
              const owned = ours.assignment().map((p) => `${p.topic}:${p.partition}`).sort();
              if (owned.length === 2) ownedWhileBoth = owned;
            }
          } finally {
            await ours.close();
          }
          const r = await theirs as { assignment: string[]; values: number[] };
          assert.equal(ownedWhileBoth.length, 2, "our consumer never owned 2 of the 4 partitions");
          assert.deepEqual([...r.assignment, ...ownedWhileBoth].sort(), [
            "mixed:0",
            "mixed:1",
            "mixed:2",
            "mixed:3",
          ]);
          const ourShare = seen.filter((v) => ownedWhileBoth.includes(`mixed:${v % 4}`));
          assert.deepEqual(
            [...new Set([...r.values, ...ourShare])].sort((a, b) => a - b),
            range(0, 40),
          );
        },
      );

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
