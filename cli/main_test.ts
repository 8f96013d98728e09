// Spawns `deno run -A main.ts ...` as a user would.
import { equal, match } from "node:assert/strict";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

async function main(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, out: text(stdout), err: text(stderr) };
}

Deno.test("--help lists the registered subcommands and exits 0", async () => {
  const { code, out } = await main("--help");
  equal(code, 0);
  match(out, / {2}storage {2}/);
});

Deno.test("no arguments prints the help to stderr and exits 1", async () => {
  const { code, err } = await main();
  equal(code, 1);
  match(err, /^Usage: deno run -A main.ts <subcommand>/);
});

Deno.test("an unknown subcommand is a one-line error with exit code 1", async () => {
  const { code, out, err } = await main("kafka-go-fast");
  equal(code, 1);
  equal(out, "");
  equal(
    err,
    "Unknown subcommand kafka-go-fast (run 'deno run -A main.ts --help' to list subcommands)\n",
  );
});

Deno.test("a subcommand's --help prints its usage and exits 0", async () => {
  const { code, out } = await main("storage", "format", "--help");
  equal(code, 0);
  match(out, /^Usage: deno run -A main.ts storage format -t <cluster-id>/);
  const storage = await main("storage", "--help");
  match(storage.out, /random-uuid/);
});

Deno.test("an unknown flag is a one-line error with exit code 1", async () => {
  const { code, err } = await main("storage", "info", "--verbose");
  equal(code, 1);
  equal(err, "storage info: unknown option --verbose (see 'storage info --help')\n");
});

Deno.test("storage random-uuid prints one id", async () => {
  const { code, out } = await main("storage", "random-uuid");
  equal(code, 0);
  match(out, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}\n$/);
});
