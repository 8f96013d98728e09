/**
 * kraftling's command line: `deno run -A main.ts <subcommand> [options]`, with subcommands named
 * after Kafka's scripts (`storage` for kafka-storage.sh, ...). Subcommands live in `cli/` and are
 * registered in `cli/mod.ts`. Everything is imported statically, so `deno compile` works.
 *
 * @module
 */

import { runCli } from "./cli/mod.ts";

if (import.meta.main) {
  Deno.exitCode = await runCli(Deno.args);
}
