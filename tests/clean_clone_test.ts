// Issue 11: the repository is self-contained. A clone of the committed HEAD, in a directory with
// nothing beside it (no ../shared), runs every protocol test (none ignored) and regenerates the
// codecs with `deno task gen` without changing a tracked file.
import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const STEP_TIMEOUT_MS = 120_000;

type Run = { code: number; output: string };

/** Runs a command in `cwd` with colours off; kills it when it outlives `STEP_TIMEOUT_MS`. */
async function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
  try {
    const out = await child.output();
    const text = new TextDecoder();
    return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test({
  name: "a clean clone runs every protocol test and regenerates the codecs without a diff",
  async fn() {
    const parent = await Deno.makeTempDir({ prefix: "kraftling_clone_" });
    const clone = join(parent, "kraftling");
    try {
      assert.ok(!parent.startsWith("/work"), `the temp dir ${parent} must be outside /work`);
      const cloned = await run(
        "git",
        ["clone", "--quiet", "--no-hardlinks", REPO_ROOT, clone],
        parent,
      );
      assert.equal(cloned.code, 0, cloned.output);

      const tests = await run(Deno.execPath(), ["test", "-A", "net/protocol/"], clone);
      assert.equal(tests.code, 0, tests.output);
      const summary = tests.output.match(/^ok \| (\d+) passed.*$/m);
      assert.ok(summary, `no test summary in:\n${tests.output.slice(-2000)}`);
      assert.ok(!/\d+ ignored/.test(summary[0]), `tests were ignored: ${summary[0]}`);
      for (const file of ["generated_test.ts", "codec_roundtrip_test.ts"]) {
        assert.match(tests.output, new RegExp(`tests? from \\./net/protocol/${file}`), file);
      }

      const gen = await run(Deno.execPath(), ["task", "gen"], clone);
      assert.equal(gen.code, 0, gen.output);
      assert.match(gen.output, /Generated \d+ files/);

      const status = await run("git", ["status", "--porcelain"], clone);
      assert.equal(status.code, 0, status.output);
      assert.equal(status.output, "", "the clone changed after the tests and `deno task gen`");
    } finally {
      await Deno.remove(parent, { recursive: true });
    }
  },
});
