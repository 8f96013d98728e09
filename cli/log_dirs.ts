/**
 * `log-dirs`: Kafka's `kafka-log-dirs.sh` (LogDirsCommand) `--describe`: DescribeLogDirs asked of
 * every broker (or those of `--broker-list`), printed as Kafka's JSON: each log dir with its
 * partitions' sizes and offset lags, and the error of a failed directory (KIP-112:
 * `org.apache.kafka.common.errors.KafkaStorageException`). `--topic-list` keeps only those topics'
 * partitions. Moving replicas between directories (AlterReplicaLogDirs) is not implemented.
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode, errorName } from "../net/protocol/generated/errors.ts";
import type { DescribeLogDirsResponse } from "../net/protocol/generated/describe_log_dirs_response.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  loadProperties,
  negativeValues,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts log-dirs --bootstrap-server <host:port> --describe [options]

Query the log directories of brokers (kafka-log-dirs.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --describe                      Describe the log directories. Required.
  --broker-list <ids>             Comma-separated broker ids to query (default: every broker).
  --topic-list <topics>           Comma-separated topics to show (default: every topic).
  --command-config <file>         A client properties file.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "describe": { type: "boolean" },
  "broker-list": { type: "string" },
  "topic-list": { type: "string" },
} as const;

/** `log-dirs`: the registry entry. */
export const logDirsCommand: Subcommand = {
  name: "log-dirs",
  summary: "Describe the log directories of brokers (kafka-log-dirs.sh).",
  usage: USAGE,
  run: runLogDirs,
};

/** Java exception class names Kafka's tool prints for a log dir's error code. */
const ERROR_CLASSES: ReadonlyMap<number, string> = new Map([
  [ErrorCode.KAFKA_STORAGE_ERROR, "org.apache.kafka.common.errors.KafkaStorageException"],
  [ErrorCode.UNKNOWN_SERVER_ERROR, "org.apache.kafka.common.errors.UnknownServerException"],
]);

/** One broker's DescribeLogDirs answer, as the tool prints it. */
export interface BrokerLogDirs {
  broker: number;
  logDirs: {
    partitions: { partition: string; size: number; offsetLag: number; isFuture: boolean }[];
    error: string | null;
    logDir: string;
  }[];
}

/**
 * A broker's DescribeLogDirs response in Kafka's JSON shape, keeping only `topics` when given.
 *
 * @example
 * ```ts
 * import { brokerLogDirs } from "./log_dirs.ts";
 * brokerLogDirs(1, { throttleTimeMs: 0, errorCode: 0, results: [{
 *   errorCode: 56, logDir: "/data/b", topics: [], totalBytes: -1n, usableBytes: -1n,
 *   _unknownTaggedFields: [],
 * }], _unknownTaggedFields: [] }, null).logDirs[0]!.error;
 * // "org.apache.kafka.common.errors.KafkaStorageException"
 * ```
 */
export function brokerLogDirs(
  broker: number,
  response: DescribeLogDirsResponse,
  topics: ReadonlySet<string> | null,
): BrokerLogDirs {
  return {
    broker,
    logDirs: response.results.map((r) => ({
      partitions: r.topics.filter((t) => topics === null || topics.has(t.name)).flatMap((t) =>
        t.partitions.map((p) => ({
          partition: `${t.name}-${p.partitionIndex}`,
          size: Number(p.partitionSize),
          offsetLag: Number(p.offsetLag),
          isFuture: p.isFutureKey,
        }))
      ),
      error: r.errorCode === ErrorCode.NONE
        ? null
        : ERROR_CLASSES.get(r.errorCode) ?? errorName(r.errorCode),
      logDir: r.logDir,
    })),
  };
}

function idList(flag: string, text: string): number[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new UsageError(`log-dirs: --${flag} needs comma-separated broker ids, not '${s}'`);
    }
    return n;
  });
}

async function runLogDirs(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags("log-dirs", negativeValues(args), FLAGS);
  const bootstrap = requireBootstrap("log-dirs", values["bootstrap-server"]);
  if (values.describe !== true) {
    throw new UsageError("log-dirs: --describe is required (the only action it has)");
  }
  const wanted = values["broker-list"] === undefined
    ? null
    : idList("broker-list", values["broker-list"]);
  const topics = values["topic-list"] === undefined ? null : new Set(
    values["topic-list"].split(",").map((s) => s.trim()).filter((s) => s !== ""),
  );
  return await runTool(io, "", async () => {
    const admin = new Admin(
      clientOptions(bootstrap, await loadProperties(values["command-config"])),
    );
    try {
      const cluster = await admin.describeCluster();
      const existing = cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
      const missing = (wanted ?? []).filter((id) => !existing.includes(id));
      if (missing.length > 0) {
        io.err(
          `ERROR: The given brokers do not exist from --broker-list: ${missing.join(",")}. ` +
            `Current existent brokers: ${existing.join(",")}`,
        );
        return 1;
      }
      const brokers = wanted ?? existing;
      io.out("Querying brokers for log directories information");
      const answers: BrokerLogDirs[] = [];
      for (const id of brokers) {
        const response = await admin.cluster.retrying(async () => {
          const conn = await admin.cluster.connectionTo(id);
          return await conn.send<DescribeLogDirsResponse>(
            ApiKey.DESCRIBE_LOG_DIRS,
            { topics: null },
            { version: conn.versionFor(ApiKey.DESCRIBE_LOG_DIRS, 4) },
          );
        });
        answers.push(brokerLogDirs(id, response, topics));
      }
      io.out(`Received log directory information from brokers ${brokers.join(",")}`);
      io.out(JSON.stringify({ brokers: answers, version: 1 }));
      return 0;
    } finally {
      admin.close();
    }
  });
}
