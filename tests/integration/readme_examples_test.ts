/**
 * The README's examples run as written (issue #11): the "Try it" block pasted at once into bash
 * (in a clone, on free ports instead of 9092/9093), the mod.ts script against the node it leaves
 * running (from a directory outside the repository, with `--config`), and the startCluster test of
 * "Testing your application with startCluster" under `deno test`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, hasCommand, REPO_ROOT } from "./harness.ts";

/** How long one example may run before the test kills it, in milliseconds. */
const EXAMPLE_TIMEOUT_MS = 120_000;

const README = await Deno.readTextFile(join(REPO_ROOT, "README.md"));

/** The first fenced block of `language` after `marker` in the README. */
function blockAfter(marker: string, language: string): string {
  const at = README.indexOf(marker);
  assert.ok(at >= 0, `README has no '${marker}'`);
  const open = README.indexOf("```" + language, at);
  const start = README.indexOf("\n", open) + 1;
  const end = README.indexOf("\n```", start);
  assert.ok(open >= 0 && end > start, `README has no ${language} block after '${marker}'`);
  return README.slice(start, end + 1);
}

async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, EXAMPLE_TIMEOUT_MS);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test({
  name:
    "the README's Try it block works pasted at once, and its mod.ts script runs as written against that node",
  ignore: !hasCommand("kcat") || !hasCommand("git") || !hasCommand("bash"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "kraftling-readme-" });
    try {
      const clone = join(root, "kraftling");
      const cloned = await run("git", ["clone", "-q", REPO_ROOT, clone], root);
      assert.equal(cloned.code, 0, cloned.stderr);
      // The quick start's fixed ports may be taken on this machine: move them to free ones.
      const brokerPort = String(freePort());
      const controllerPort = String(freePort());
      const httpPort = String(freePort());
      const ports = (text: string) =>
        text.replaceAll(":9092", `:${brokerPort}`).replaceAll(":9093", `:${controllerPort}`)
          .replaceAll(":8080", `:${httpPort}`);
      const configPath = join(clone, "config", "quick-start.properties");
      await Deno.writeTextFile(configPath, ports(await Deno.readTextFile(configPath)));
      const tryIt = ports(blockAfter("## Try it", "sh"));
      assert.match(tryIt, /^deno task start &\n/, "the block starts the node in the background");
      // Once the block is done, the node it started is stopped (SIGTERM to bash's job %1).
      await Deno.writeTextFile(join(clone, "try_it.sh"), `${tryIt}kill %1\nwait\n`);
      const tried = await run("bash", ["try_it.sh"], clone);
      assert.equal(tried.code, 0, tried.stderr.slice(-3000));
      const lines = tried.stdout.split("\n");
      assert.ok(lines.includes("hello"), `kcat read nothing back:\n${tried.stdout}`);
      assert.ok(lines.includes("Created topic orders."), tried.stdout);
      assert.deepEqual(lines.filter((l) => l.startsWith("order-")), ["order-1", "order-2"]);

      // The mod.ts script, from a directory outside the clone, against the same data restarted.
      const node = new Deno.Command(Deno.execPath(), {
        args: ["task", "start"],
        cwd: clone,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      try {
        const outside = join(root, "app");
        await Deno.mkdir(outside);
        const script = ports(blockAfter("From a Deno script", "ts"))
          .replace('"./mod.ts"', JSON.stringify(join(clone, "mod.ts")));
        await Deno.writeTextFile(join(outside, "example.ts"), script);
        const wait = ports(blockAfter("## Try it", "sh")).split("\n")[1]!;
        assert.match(wait, /kcat -L/, "the Try it block's second line is its readiness wait");
        assert.equal((await run("bash", ["-c", wait], outside)).code, 0);
        const example = await run(
          Deno.execPath(),
          ["run", "-A", "--config", join(clone, "deno.json"), "example.ts"],
          outside,
        );
        assert.equal(example.code, 0, example.stderr.slice(-3000));
        assert.match(example.stdout, /\[ "orders", "payments", "quickstart" \]/);
        assert.match(example.stdout, /payments-\d offset 0/);
      } finally {
        node.kill("SIGINT");
        await node.status;
        await node.stderr.cancel();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "the README's startCluster test passes as written from a directory beside the repository",
  ignore: !hasCommand("git"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "kraftling-readme-" });
    try {
      const example = blockAfter("## Testing your application with startCluster", "ts");
      const importPath = "../kraftling/mod.ts";
      assert.ok(example.includes(`"${importPath}"`), "the example imports ../kraftling/mod.ts");
      // The example's layout: a clone in ./kraftling, the test in a sibling directory. A clone
      // runs the committed code, as a user's would.
      const cloned = await run("git", ["clone", "-q", REPO_ROOT, join(root, "kraftling")], root);
      assert.equal(cloned.code, 0, cloned.stderr);
      await Deno.mkdir(join(root, "app"));
      await Deno.writeTextFile(join(root, "app", "orders_test.ts"), example);
      const tested = await run(
        Deno.execPath(),
        ["test", "-A", "--config", "../kraftling/deno.json", "orders_test.ts"],
        join(root, "app"),
      );
      assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`.slice(-4000));
      assert.match(tested.stdout, /ok \| 1 passed \| 0 failed/);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
