/**
 * kraftling's command line: `deno run -A main.ts <subcommand> [options]`, with subcommands named
 * after Kafka's scripts (`storage` for kafka-storage.sh, ...). Subcommands live in `cli/` and are
 * registered in `cli/mod.ts`. Everything is imported statically, so `deno compile` works.
 *
 * @module
 */

import { runCli } from "./cli/mod.ts";

if (import.meta.main) {
  // Exit explicitly: a command that failed early (e.g. a log directory locked by another
  // process) must not wait for leftover background work before reporting its exit code.
  Deno.exit(await runCli(Deno.args));
}
