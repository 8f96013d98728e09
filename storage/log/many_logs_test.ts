import assert from "node:assert/strict";
import { HANDLES_MAX_DEFAULT } from "./handle_cache.ts";

const FIXTURE = new URL("./many_logs_fixture.ts", import.meta.url).pathname;
const LOGS = 3000;
const ULIMIT_N = 1024;

Deno.test(
  `${LOGS} file logs stay open and read back in a process limited to ${ULIMIT_N} descriptors`,
  { ignore: Deno.build.os !== "linux" },
  async () => {
    const root = await Deno.makeTempDir();
    try {
      const script = `ulimit -n ${ULIMIT_N} && exec "$0" run -A "$1" "$2" ${LOGS}`;
      const { code, stdout, stderr } = await new Deno.Command("bash", {
        args: ["-c", script, Deno.execPath(), FIXTURE, root],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const errors = new TextDecoder().decode(stderr);
      assert.equal(code, 0, errors);
      const result = JSON.parse(new TextDecoder().decode(stdout).trim());
      assert.equal(result.verified, LOGS);
      assert.ok(result.descriptors < ULIMIT_N, `${result.descriptors} descriptors held`);
      assert.ok(result.descriptors <= HANDLES_MAX_DEFAULT + 64, "bounded by the handle cache");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
