/**
 * `server-start <server.properties> [--override key=value ...]`: runs a node until SIGINT or
 * SIGTERM (Kafka's `kafka-server-start.sh`). Never formats storage.
 *
 * @module
 */

import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { loadServerConfigFile } from "./config_file.ts";
import { startNode } from "../node/node.ts";
import { createLogger, logLevelFromEnv } from "../node/logger.ts";

const USAGE =
  `Usage: deno run -A main.ts server-start <server.properties> [--override property=value]...

Starts a kraftling node (broker, controller or both, from process.roles) and runs it until
SIGINT or SIGTERM, then shuts down gracefully. The storage directories must have been formatted
with 'storage format' first.

Options:
  --override property=value   Override a property of the file (repeatable)
  --help                      Print this message

Environment:
  KRAFTLING_LOG_LEVEL         debug, info (default), warn or error`;

function parseOverrides(values: readonly string[]): Map<string, string> {
  const overrides = new Map<string, string>();
  for (const value of values) {
    const at = value.indexOf("=");
    if (at <= 0) throw new UsageError(`server-start: --override ${value} is not property=value`);
    overrides.set(value.slice(0, at).trim(), value.slice(at + 1).trim());
  }
  return overrides;
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags("server-start", args, {
    override: { type: "string", multiple: true },
  }, true);
  if (positionals.length !== 1) {
    throw new UsageError("server-start: expected exactly one argument, the server.properties file");
  }
  const { config, warnings } = await loadServerConfigFile(
    positionals[0]!,
    parseOverrides(values.override ?? []),
  );
  const logger = createLogger(`KafkaServer id=${config.nodeId}`, logLevelFromEnv());
  for (const warning of warnings) logger.warn(warning);
  let node;
  try {
    node = await startNode(config, {
      logger,
      // Kafka halts when its log dirs fail (KIP-858): nothing it would still write can be trusted.
      onFatal: (reason) => {
        logger.error(reason);
        Deno.exit(1);
      },
    });
  } catch (error) {
    io.err(`server-start: ${(error as Error).message}`);
    return 1;
  }
  let signalled: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = () => signalled();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await stopped;
  logger.info("Shutting down");
  await node.stop();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  logger.info("Shut down cleanly");
  return 0;
}

/** The `server-start` subcommand. */
export const serverStartCommand: Subcommand = {
  name: "server-start",
  summary: "Start a node from a server.properties file (kafka-server-start.sh)",
  usage: USAGE,
  run,
};
