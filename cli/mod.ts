/**
 * The subcommand registry and dispatcher behind `main.ts`.
 *
 * To add a subcommand: create `cli/<name>.ts` exporting a `Subcommand` (see `command.ts`), import
 * it here and add it to `SUBCOMMANDS`. Nothing else changes: `--help` lists it, `<name> --help`
 * prints its usage, and `main.ts` dispatches to it. Name it after the Kafka script it replaces
 * (`kafka-server-start.sh` -> `server-start`, `kafka-topics.sh` -> `topics`) and keep Kafka's flags.
 *
 * @example
 * ```ts
 * import { runCli } from "./mod.ts";
 * const exitCode = await runCli(["storage", "random-uuid"]);
 * ```
 *
 * @module
 */

import { type CliIo, consoleIo, type Subcommand, UsageError, wantsHelp } from "./command.ts";
import { storageCommand } from "./storage.ts";
import { serverStartCommand } from "./server_start.ts";

export type { CliIo, Subcommand } from "./command.ts";
export { UsageError } from "./command.ts";

/** Every working subcommand, in the order `--help` lists them. Add new ones here. */
export const SUBCOMMANDS: readonly Subcommand[] = [
  storageCommand,
  serverStartCommand,
  (await import("./topics.ts")).topicsCommand,
  (await import("./console_producer.ts")).consoleProducerCommand,
  (await import("./console_consumer.ts")).consoleConsumerCommand,
  (await import("./consumer_groups.ts")).consumerGroupsCommand,
  (await import("./configs.ts")).configsCommand,
  (await import("./get_offsets.ts")).getOffsetsCommand,
  (await import("./delete_records.ts")).deleteRecordsCommand,
  (await import("./log_dirs.ts")).logDirsCommand,
  (await import("./leader_election.ts")).leaderElectionCommand,
  (await import("./reassign_partitions.ts")).reassignPartitionsCommand,
  (await import("./producer_perf_test.ts")).producerPerfTestCommand,
  (await import("./consumer_perf_test.ts")).consumerPerfTestCommand,
  (await import("./metadata_quorum.ts")).metadataQuorumCommand,
  (await import("./cluster.ts")).clusterCommand,
  (await import("./broker_api_versions.ts")).brokerApiVersionsCommand,
  (await import("./dump_log.ts")).dumpLogCommand,
  (await import("./features.ts")).featuresCommand,
  (await import("./transactions.ts")).transactionsCommand,
  (await import("./acls.ts")).aclsCommand,
  (await import("./metadata_shell.ts")).metadataShellCommand,
];

/** The program name used in usage lines. */
export const PROGRAM: string = programName();

/** `deno run -A main.ts` from source; the binary's own name when compiled with `deno compile`. */
function programName(): string {
  const exe = Deno.execPath().split(/[\\/]/).pop() ?? "deno";
  return /^deno(\.exe)?$/.test(exe) ? "deno run -A main.ts" : exe;
}

/**
 * The top-level help: one line per subcommand.
 *
 * @example
 * ```ts
 * import { helpText } from "./mod.ts";
 * console.log(helpText());
 * ```
 */
export function helpText(commands: readonly Subcommand[] = SUBCOMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `Usage: ${PROGRAM} <subcommand> [options]`,
    "",
    "kraftling: Apache Kafka's KRaft mode; subcommands are named after Kafka's scripts.",
    "",
    "Subcommands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run '${PROGRAM} <subcommand> --help' for a subcommand's options.`,
  ].join("\n");
}

/**
 * Dispatches a command line (without the program name) and returns the exit code: 0 on success,
 * 1 for usage errors (one line on stderr) and for failures the subcommand reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCli } from "./mod.ts";
 * const out: string[] = [];
 * const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
 * assert.equal(await runCli(["storage", "random-uuid"], io), 0);
 * assert.match(out[0] ?? "", /^[A-Za-z0-9_-]{22}$/);
 * assert.equal(await runCli(["no-such-command"], io), 1); // a usage error
 * // main.ts: Deno.exitCode = await runCli(Deno.args);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = consoleIo,
  commands: readonly Subcommand[] = SUBCOMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(helpText(commands));
    return 1;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(helpText(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    const what = name.startsWith("-") ? "option" : "subcommand";
    io.err(`Unknown ${what} ${name} (run '${PROGRAM} --help' to list subcommands)`);
    return 1;
  }
  if (wantsHelp(rest) && !command.handlesHelp) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(e.message);
      return 1;
    }
    throw e;
  }
}
