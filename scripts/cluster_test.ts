import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseClusterArgs } from "./cluster.ts";

Deno.test("cluster.ts reads counts, a directory and overrides", () => {
  assert.deepEqual(
    parseClusterArgs(["--controllers", "1", "--brokers", "0", "--override", "num.partitions=3"]),
    { controllers: 1, brokers: 0, dir: undefined, overrides: { "num.partitions": "3" } },
  );
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
