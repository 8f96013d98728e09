/**
 * `startCluster` from mod.ts, used as an application would: a script in a temp directory outside
 * the repository, run with `deno run -A --config <repo>/deno.json`, starts 3 controllers and 3
 * brokers in its own process, creates an RF=3 topic, produces with kcat acks=all, stops the broker
 * leading partition 0, consumes everything with kcat and closes. Afterwards no process, port or
 * directory of the cluster may be left.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { hasCommand, REPO_ROOT } from "./harness.ts";

/** How long the whole script may run before the test kills it, in milliseconds. */
const SCRIPT_TIMEOUT_MS = 90_000;
/** Records produced (and all expected back after the broker stops). */
const RECORD_COUNT = 300;

const SCRIPT = `
import { Admin, startCluster } from ${JSON.stringify(join(REPO_ROOT, "mod.ts"))};

async function kcat(args: string[], stdin?: string): Promise<{ pid: number; out: string }> {
  const child = new Deno.Command("kcat", {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  if (output.code !== 0) {
    throw new Error("kcat " + args.join(" ") + " failed: " + new TextDecoder().decode(output.stderr));
  }
  return { pid: child.pid, out: new TextDecoder().decode(output.stdout) };
}

const startedAt = performance.now();
const cluster = await startCluster({ controllers: 3, brokers: 3 });
const startMs = Math.round(performance.now() - startedAt);
const report: Record<string, unknown> = {
  startMs,
  dir: cluster.dir,
  bootstrapServers: cluster.bootstrapServers,
  ports: cluster.nodes.flatMap((n) => [n.brokerAddress, n.controllerAddress])
    .filter((a) => a !== null).map((a) => Number(a.split(":")[1])),
  ids: cluster.nodes.map((n) => n.role + "-" + n.nodeId),
  kcatPids: [] as number[],
};
try {
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
  await admin.createTopics([{ name: "orders", numPartitions: 3, replicationFactor: 3 }]);
  const values = Array.from({ length: ${RECORD_COUNT} }, (_, i) => "order-" + i);
  const produced = await kcat(
    ["-P", "-b", cluster.bootstrapServers, "-t", "orders", "-X", "acks=all"],
    values.join("\\n") + "\\n",
  );
  (report.kcatPids as number[]).push(produced.pid);
  const [before] = await admin.describeTopics(["orders"]);
  const leader = before!.partitions.find((p) => p.partition === 0)!.leader;
  report.isrBefore = before!.partitions.map((p) => p.isr.length);
  await cluster.stopBroker(leader);
  report.stopped = leader;
  admin.close();
  const consumed = await kcat([
    "-C", "-b", cluster.bootstrapServers, "-t", "orders", "-o", "beginning", "-e", "-q",
    "-f", "%s\\n",
  ]);
  (report.kcatPids as number[]).push(consumed.pid);
  report.consumed = consumed.out.split("\\n").filter((l) => l !== "");
} finally {
  await cluster.close();
}
console.log(JSON.stringify(report));
`;

function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test({
  name:
    "a script outside the repository runs a 3+3 cluster in its own process, keeps acks=all data through a stopped broker, and leaves nothing behind",
  ignore: !hasCommand("kcat"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const outside = await Deno.makeTempDir({ prefix: "kraftling-app-" });
    try {
      assert(!outside.startsWith(REPO_ROOT), `${outside} must lie outside ${REPO_ROOT}`);
      const script = join(outside, "app_test.ts");
      await Deno.writeTextFile(script, SCRIPT);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", join(REPO_ROOT, "deno.json"), script],
        cwd: outside,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
      }, SCRIPT_TIMEOUT_MS);
      const output = await child.output();
      clearTimeout(timer);
      const stderr = new TextDecoder().decode(output.stderr);
      // Exiting on its own after close() proves no socket, timer or node was left running in it.
      assert.deepEqual(output.code, 0, `the script failed or hung:\n${stderr.slice(-4000)}`);
      const report = JSON.parse(new TextDecoder().decode(output.stdout).trim());

      assert.deepEqual(report.ids, [
        "controller-1",
        "controller-2",
        "controller-3",
        "broker-4",
        "broker-5",
        "broker-6",
      ]);
      assert.deepEqual(report.isrBefore, [3, 3, 3], "every partition had its 3 replicas in sync");
      assert([4, 5, 6].includes(report.stopped), `stopped a broker, got ${report.stopped}`);
      const expected = Array.from({ length: RECORD_COUNT }, (_, i) => `order-${i}`);
      assert.deepEqual([...report.consumed].sort(), expected.sort());
      // Issue #11 asks for well under 2 s; the script measures only startCluster itself.
      assert(report.startMs < 2_000, `the 3+3 cluster took ${report.startMs} ms to start`);

      assert(!(await exists(report.dir)), `the cluster directory ${report.dir} was left`);
      for (const port of report.ports as number[]) {
        assert(portIsFree(port), `port ${port} is still bound`);
      }
      for (const pid of [child.pid, ...report.kcatPids as number[]]) {
        assert(!(await exists(`/proc/${pid}`)), `process ${pid} is still running`);
      }
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  },
});

Deno.test("every bare import in mod.ts's module graph is mapped in deno.json, so --config resolves it outside the repository", async () => {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(REPO_ROOT, "mod.ts")],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(info.code, 0, new TextDecoder().decode(info.stderr));
  const graph = JSON.parse(new TextDecoder().decode(info.stdout)) as {
    modules: { dependencies?: { specifier: string }[] }[];
  };
  const bare = new Set<string>();
  for (const module of graph.modules) {
    for (const { specifier } of module.dependencies ?? []) {
      if (!/^(\.|\/|node:|npm:|jsr:|https?:)/.test(specifier)) bare.add(specifier);
    }
  }
  assert.ok(bare.size > 0, "mod.ts uses npm packages through deno.json (e.g. fflate)");
  const mapped = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json"))).imports;
  // "pkg/sub/path" resolves through the "pkg" entry of an npm: mapping.
  const packageOf = (s: string) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/");
  const missing = [...bare].filter((s) => !(s in mapped) && !(packageOf(s) in mapped));
  assert.deepEqual(missing, [], `not in deno.json "imports": ${missing.join(", ")}`);
});
