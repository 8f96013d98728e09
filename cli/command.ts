/**
 * The subcommand interface and the shared helpers every subcommand uses: strict flag parsing with
 * one-line errors, `--help`, and output streams that tests can capture.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** Where a subcommand writes; tests pass a capturing one. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** Writes to the process's stdout and stderr. */
export const consoleIo: CliIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/**
 * One subcommand, named after the Kafka script it replaces (`kafka-storage.sh` -> `storage`,
 * `kafka-topics.sh` -> `topics`). `run` returns the process exit code; it prints its own
 * errors (one line to `io.err`) and never calls `Deno.exit`.
 */
export interface Subcommand {
  /** The word after `main.ts`, e.g. `storage`. */
  name: string;
  /** One line for the `--help` listing. */
  summary: string;
  /** Full usage text printed by `<name> --help`. */
  usage: string;
  /** Set when `run` prints help itself (e.g. per sub-subcommand, `storage format --help`). */
  handlesHelp?: boolean;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A bad command line; the message is one line, printed to stderr with exit code 1. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The options shape `node:util` parseArgs takes. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses flags strictly (unknown flags and missing values are `UsageError`s with one-line
 * messages). `where` names the command in messages, e.g. "storage format".
 *
 * @example
 * ```ts
 * import { parseFlags } from "./command.ts";
 * const { values } = parseFlags("storage info", ["-c", "server.properties"], {
 *   config: { type: "string", short: "c" },
 * });
 * values.config; // "server.properties"
 * ```
 */
export function parseFlags<const T extends FlagSpec>(
  where: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const message = (e as Error).message;
    const flag = /'([^']+)'/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`${where}: unknown option ${flag} (see '${where} --help')`);
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new UsageError(`${where}: unexpected argument ${flag} (see '${where} --help')`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const option = /^Option '([^']+)'/.exec(message)?.[1] ?? flag;
      throw new UsageError(
        `${where}: option ${option.split(",").pop()!.trim().split(" ")[0]} needs a value`,
      );
    }
    throw new UsageError(`${where}: ${message.split("\n")[0]}`);
  }
}

/** True when `--help` or `-h` appears before any `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

/**
 * Requires a flag value, throwing Kafka-style "Missing required argument" otherwise.
 *
 * @example
 * ```ts
 * import { requireFlag } from "./command.ts";
 * requireFlag("storage info", "--config", "server.properties"); // "server.properties"
 * ```
 */
export function requireFlag(where: string, flag: string, value: string | undefined): string {
  if (value === undefined || value === "") {
    throw new UsageError(`${where}: missing required option ${flag}`);
  }
  return value;
}
