/**
 * Eligible Leader Replicas (KIP-966) with real processes: 1 controller and 3 brokers on loopback.
 * `features upgrade` turns on `eligible.leader.replicas.version`; a topic with RF=3 and
 * `min.insync.replicas=2` then loses a follower (SIGTERM), the other follower (SIGTERM: its ISR
 * falls below min ISR, so it becomes eligible) and finally its leader (kill -9). The follower that
 * stopped last comes back first: it proved a clean shutdown (PreviousBrokerEpoch), so it is still
 * eligible and leads at once, without the dead leader and without an unclean election, and every
 * record acknowledged with acks=all is there. `topics --describe` shows the ELR on the way (the
 * dead leader stays eligible: `Elr:` names it once the follower leads).
 */

import assert from "node:assert/strict";
import { runMain } from "./harness.ts";
import { startCluster, type TestCluster } from "./cluster_harness.ts";
import { eventually, sleep } from "./waiting.ts";

/** Session timeout given to brokers, in milliseconds (heartbeats every 500 ms). */
const SESSION_TIMEOUT_MS = 3_000;

interface Described {
  leader: string;
  isr: string;
  elr: string;
  lastKnownElr: string;
}

/** Partition 0 of `topic` as `topics --describe` prints it (Kafka 4.x's columns). */
async function describe(cluster: TestCluster, topic: string): Promise<Described> {
  const live = cluster.brokers.filter((b) => b.running).map((b) => b.address).join(",");
  const out = await runMain(["topics", "--bootstrap-server", live, "--describe", "--topic", topic]);
  assert.equal(out.code, 0, out.stderr);
  const m = out.stdout.match(
    /\tPartition: 0\tLeader: (\S+)\tReplicas: \S+\tIsr: (\S*)\tElr: (\S*)\tLastKnownElr: (\S*)$/m,
  );
  assert.ok(m !== null, out.stdout);
  return { leader: m[1]!, isr: m[2]!, elr: m[3]!, lastKnownElr: m[4]! };
}

function sorted(list: string): string {
  return list.split(",").sort().join(",");
}

async function expectDescribed(
  cluster: TestCluster,
  what: string,
  want: Partial<Described>,
): Promise<Described> {
  return await eventually(what, SESSION_TIMEOUT_MS + 20_000, async () => {
    const now = await describe(cluster, "elr");
    for (const [k, v] of Object.entries(want)) {
      // Lists compare as sets: their order is the replica list's, which placement chose.
      assert.equal(
        sorted(now[k as keyof Described]),
        sorted(v),
        `${what}: ${k} in ${JSON.stringify(now)}`,
      );
    }
    return now;
  });
}

Deno.test({
  name:
    "with eligible.leader.replicas.version 1 the last ISR member's death below min ISR is survived by an eligible follower",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 3,
      props: {
        "broker.session.timeout.ms": `${SESSION_TIMEOUT_MS}`,
        "broker.heartbeat.interval.ms": "500",
        "replica.lag.time.max.ms": "2000",
      },
      controllerProps: { "auto.leader.rebalance.enable": "false" },
    });
    // a leads, b and c follow: known once the topic is placed.
    let [a, b, c] = [0, 0, 0];
    const bootstrap = () =>
      cluster.brokers.filter((n) => n.running).map((n) => n.address).join(",");
    const acked: string[] = [];
    const produce = async (prefix: string, count: number) => {
      const lines = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
      const out = await runMain([
        "console-producer",
        "--bootstrap-server",
        bootstrap(),
        "--topic",
        "elr",
        "--request-required-acks",
        "all",
      ], { stdin: lines.join("\n") + "\n" });
      assert.equal(out.code, 0, out.stderr);
      acked.push(...lines);
    };
    try {
      await t.step("features upgrade turns ELR on and features describe shows it", async () => {
        const up = await runMain([
          "features",
          "--bootstrap-server",
          cluster.bootstrapServers,
          "upgrade",
          "--feature",
          "eligible.leader.replicas.version=1",
        ]);
        assert.equal(up.code, 0, up.stdout + up.stderr);
        await eventually("the finalized level", 10_000, async () => {
          const d = await runMain([
            "features",
            "--bootstrap-server",
            cluster.bootstrapServers,
            "describe",
          ]);
          assert.match(
            d.stdout,
            /^Feature: eligible\.leader\.replicas\.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 1\t/m,
          );
        });
      });

      await t.step("a topic with RF=3 and min ISR 2 takes acks=all records", async () => {
        const created = await runMain([
          "topics",
          "--bootstrap-server",
          cluster.bootstrapServers,
          "--create",
          "--topic",
          "elr",
          "--partitions",
          "1",
          "--replication-factor",
          "3",
          "--config",
          "min.insync.replicas=2",
        ]);
        assert.equal(created.code, 0, created.stderr);
        const full = await eventually("a full ISR", 20_000, async () => {
          const now = await describe(cluster, "elr");
          assert.equal(now.isr.split(",").length, 3, JSON.stringify(now));
          assert.deepEqual([now.elr, now.lastKnownElr], ["", ""]);
          return now;
        });
        a = Number(full.leader);
        [b, c] = full.isr.split(",").map(Number).filter((id) => id !== a) as [number, number];
        await produce("before", 50);
      });

      await t.step(
        "the ISR shrinks below min ISR: the follower that left stays eligible",
        async () => {
          await cluster.node(c).stop();
          await expectDescribed(cluster, "c out of the ISR", { isr: `${a},${b}`, elr: "" });
          await cluster.node(b).stop();
          await expectDescribed(cluster, "b out of the ISR, eligible", {
            leader: String(a),
            isr: String(a),
            elr: String(b),
          });
        },
      );

      await t.step("the last ISR member dies by kill -9 and is fenced", async () => {
        // No broker is left to describe the partition: wait out the session timeout, after which
        // the controller has fenced a, emptied the ISR into the ELR and remembered a as last leader.
        await cluster.node(a).kill();
        await sleep(SESSION_TIMEOUT_MS + 2_000);
      });

      await t.step(
        "the eligible follower comes back and leads cleanly with every acknowledged record",
        async () => {
          await cluster.node(b).start();
          await expectDescribed(cluster, "b leads from the ELR", {
            leader: String(b),
            isr: String(b),
            elr: String(a),
            lastKnownElr: "",
          });
          await cluster.node(c).start();
          await expectDescribed(cluster, "c back in the ISR", { isr: `${b},${c}`, elr: "" });
          await produce("after", 20);
          const consumed = await runMain([
            "console-consumer",
            "--bootstrap-server",
            bootstrap(),
            "--topic",
            "elr",
            "--from-beginning",
            "--max-messages",
            String(acked.length),
            "--timeout-ms",
            "20000",
          ]);
          assert.equal(consumed.code, 0, consumed.stderr);
          assert.deepEqual(consumed.stdout.trim().split("\n"), acked);
        },
      );
    } finally {
      await cluster.stop();
    }
  },
});
