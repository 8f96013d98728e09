import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseClusterArgs } from "./cluster.ts";
import { KafkaConnection } from "../net/connection.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import type { MetadataResponse } from "../net/protocol/generated/metadata_response.ts";

/** Starts scripts/cluster.ts and reads its stdout until the cluster is up. */
async function startScript(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(new URL("./cluster.ts", import.meta.url)), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let out = "";
  let err = "";
  const reader = child.stdout.getReader();
  void (async () => {
    for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
  while (!out.includes("Press Ctrl-C to stop.")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return { child, out, stderr: () => err };
}

Deno.test("cluster.ts reads counts, a directory and overrides", () => {
  assert.deepEqual(
    parseClusterArgs(["--controllers", "1", "--brokers", "0", "--override", "num.partitions=3"]),
    {
      controllers: 1,
      brokers: 0,
      dir: undefined,
      overrides: { "num.partitions": "3" },
      stopOnFailure: false,
    },
  );
  assert.equal(parseClusterArgs(["--stop-on-failure"]).stopOnFailure, true);
  assert.equal(parseClusterArgs([]).controllers, 3);
  assert.throws(() => parseClusterArgs(["--controllers", "0"]), /--controllers needs an integer/);
  assert.throws(() => parseClusterArgs(["--override", "x"]), /--override needs key=value/);
});

Deno.test({
  name: "cluster.ts prints each node and the bootstrap, and stops every node on SIGTERM",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        fileURLToPath(new URL("./cluster.ts", import.meta.url)),
        "--controllers",
        "1",
        "--brokers",
        "1",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const decoder = new TextDecoder();
    let out = "";
    const reader = child.stdout.getReader();
    const killer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    try {
      while (!out.includes("Press Ctrl-C to stop.")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += decoder.decode(value, { stream: true });
      }
      assert.match(out, /^ {2}controller id 1 +CONTROLLER 127\.0\.0\.1:\d+ +pid \d+/m);
      assert.match(out, /^ {2}broker +id 2 +PLAINTEXT +127\.0\.0\.1:\d+ +pid \d+/m);
      assert.match(out, /^kcat -b 127\.0\.0\.1:\d+ -L$/m);
      const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
      const root = /^kraftling cluster \S+ in (\S+)$/m.exec(out)![1]!;
      child.kill("SIGTERM");
      reader.releaseLock();
      const [status] = await Promise.all([
        child.status,
        child.stdout.cancel(),
        child.stderr.cancel(),
      ]);
      assert.equal(status.code, 0);
      for (const pid of pids) {
        assert.throws(() => Deno.kill(pid, "SIGCONT"), `node process ${pid} still runs`);
      }
      await assert.rejects(() => Deno.stat(root), Deno.errors.NotFound);
    } finally {
      clearTimeout(killer);
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }
  },
});

Deno.test({
  name: "cluster.ts keeps the other nodes running when a controller is killed, and keeps the logs",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { child, out, stderr } = await startScript(["--controllers", "3", "--brokers", "1"]);
    const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const root = /^kraftling cluster \S+ in (\S+)$/m.exec(out)![1]!;
    try {
      const controllerPid = Number(/controller id 1 .* pid (\d+)/.exec(out)![1]);
      const brokerPort = Number(/broker +id 4 +PLAINTEXT +127\.0\.0\.1:(\d+)/.exec(out)![1]);
      Deno.kill(controllerPid, "SIGKILL");
      const deadline = Date.now() + 20_000;
      while (!stderr().includes("controller 1 exited unexpectedly") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(stderr(), /controller 1 exited unexpectedly .* the other nodes keep running/);
      // The script still runs, and the broker still answers.
      Deno.kill(child.pid, "SIGCONT"); // throws when the script has exited
      const conn = await KafkaConnection.connect("127.0.0.1", brokerPort, {
        clientId: "cluster-test",
      });
      try {
        const metadata = await conn.send<MetadataResponse>(ApiKey.METADATA, { topics: [] });
        assert.equal(metadata.brokers.length, 1);
      } finally {
        conn.close();
      }
      child.kill("SIGTERM");
      const [status] = await Promise.all([child.status, child.stdout.cancel()]);
      assert.equal(status.code, 0);
      assert.match(stderr(), /Logs kept in /);
      assert.ok((await Deno.stat(join(root, "controller-1", "server.log"))).isFile);
    } finally {
      clearTimeout(killer);
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
