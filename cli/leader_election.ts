/**
 * `leader-election`: Kafka's `kafka-leader-election.sh` (LeaderElectionCommand): elects the
 * preferred replica, or for leaderless partitions any live replica (unclean), of one partition,
 * the partitions of a JSON file `{"partitions":[{"topic":"t","partition":0}]}`, or every partition,
 * through the ElectLeaders API. Output lines and failures are Kafka's.
 *
 * @module
 */

import { Admin, type ElectionType, type TopicPartition } from "../net/client/admin.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode, errorName } from "../net/protocol/generated/errors.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  clientOptions,
  intFlag,
  loadProperties,
  negativeValues,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts leader-election --bootstrap-server <host:port> --election-type <type> (--topic <t> --partition <n> | --all-topic-partitions | --path-to-json-file <file>)

Attempts to elect a new leader for a set of topic partitions (kafka-leader-election.sh). The
types of elections supported are preferred replicas and unclean replicas.

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --election-type <type>          "preferred": elect the preferred replica where it is not the
                                  leader; "unclean": elect any live replica where there is no
                                  leader (acknowledged records may be lost). Required.
  --topic <topic>                 The topic of the one partition to elect for.
  --partition <n>                 The partition to elect for. Required with --topic.
  --all-topic-partitions          Elect for every eligible partition.
  --path-to-json-file <file>      The partitions to elect for:
                                  {"partitions": [{"topic": "foo", "partition": 1}]}
  --admin.config <file>           A client properties file.
  -h, --help                      Show this help.`;

const FLAGS = {
  "bootstrap-server": { type: "string" },
  "admin.config": { type: "string" },
  "election-type": { type: "string" },
  "topic": { type: "string" },
  "partition": { type: "string" },
  "all-topic-partitions": { type: "boolean" },
  "path-to-json-file": { type: "string" },
} as const;

/** `leader-election`: the registry entry. */
export const leaderElectionCommand: Subcommand = {
  name: "leader-election",
  summary: "Elect preferred or unclean partition leaders (kafka-leader-election.sh).",
  usage: USAGE,
  run: runLeaderElection,
};

/** The parsed command line of `leader-election`. */
export interface LeaderElectionArgs {
  bootstrapServer: string;
  adminConfig?: string;
  electionType: ElectionType;
  /** The partitions to elect for; null with `--all-topic-partitions`. */
  partitions: TopicPartition[] | null;
  /** Set with `--path-to-json-file`: the partitions are read from it. */
  jsonFile?: string;
}

/**
 * Parses and checks a `leader-election` command line as LeaderElectionCommandOptions.validate.
 *
 * @example
 * ```ts
 * import { parseLeaderElectionArgs } from "./leader_election.ts";
 * parseLeaderElectionArgs([
 *   "--bootstrap-server", "b:9092", "--election-type", "preferred", "--all-topic-partitions",
 * ]).partitions; // null
 * ```
 */
export function parseLeaderElectionArgs(args: string[]): LeaderElectionArgs {
  const { values } = parseFlags("leader-election", negativeValues(args), FLAGS);
  const missing = [
    values["bootstrap-server"] === undefined ? "bootstrap-server" : null,
    values["election-type"] === undefined ? "election-type" : null,
  ].filter((m) => m !== null);
  if (missing.length > 0) {
    throw new UsageError(`leader-election: Missing required option(s): ${missing.join(", ")}`);
  }
  const bootstrapServer = requireBootstrap("leader-election", values["bootstrap-server"]);
  const type = values["election-type"]!.trim().toLowerCase();
  if (type !== "preferred" && type !== "unclean") {
    throw new UsageError(
      `leader-election: Value for option election-type must be one of [PREFERRED, UNCLEAN], got '${
        values["election-type"]
      }'`,
    );
  }
  const chosen = [
    values.topic !== undefined,
    values["all-topic-partitions"] === true,
    values["path-to-json-file"] !== undefined,
  ].filter(Boolean).length;
  if (chosen !== 1) {
    throw new UsageError(
      "leader-election: One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
    );
  }
  const partition = intFlag("leader-election", "--partition", values.partition);
  if (values.topic !== undefined && partition === undefined) {
    throw new UsageError("leader-election: Missing required option(s): partition");
  }
  if (values.topic === undefined && partition !== undefined) {
    throw new UsageError("leader-election: Option partition is only allowed if topic is used");
  }
  return {
    bootstrapServer,
    adminConfig: values["admin.config"],
    electionType: type,
    partitions: values.topic !== undefined ? [{ topic: values.topic, partition: partition! }] : [],
    jsonFile: values["path-to-json-file"],
    ...(values["all-topic-partitions"] ? { partitions: null } : {}),
  };
}

/**
 * Parses Kafka's replica election JSON (`{"partitions":[{"topic":"t","partition":0}]}`);
 * malformed data and duplicates are one-line errors with Kafka's wording.
 *
 * @example
 * ```ts
 * import { parseElectionJson } from "./leader_election.ts";
 * parseElectionJson('{"partitions":[{"topic":"t","partition":0}]}'); // [{ topic: "t", partition: 0 }]
 * ```
 */
export function parseElectionJson(text: string): TopicPartition[] {
  if (text.trim() === "") throw new UsageError("leader-election: Replica election data is empty");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `leader-election: The election json file is not valid JSON: ${(e as Error).message}`,
    );
  }
  const partitions = (json as { partitions?: unknown } | null)?.partitions;
  if (partitions === undefined) {
    throw new UsageError('leader-election: Replica election data is missing "partitions" field');
  }
  if (!Array.isArray(partitions)) {
    throw new UsageError('leader-election: "partitions" in the election json file is not a list');
  }
  const out = partitions.map((p, i) => {
    const { topic, partition } = (p ?? {}) as Record<string, unknown>;
    if (typeof topic !== "string" || !Number.isSafeInteger(partition)) {
      throw new UsageError(
        `leader-election: Entry ${i} of the election json file needs "topic" and "partition"`,
      );
    }
    return { topic, partition: partition as number };
  });
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const p of out) {
    const key = `${p.topic}-${p.partition}`;
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  if (duplicates.size > 0) {
    throw new UsageError(
      `leader-election: Replica election data contains duplicate partitions: [${
        [...duplicates].join(", ")
      }]`,
    );
  }
  return out;
}

/**
 * The Java exception Kafka's admin client raises for an error code, as LeaderElectionCommand
 * prints it (`org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: ...`).
 *
 * @example
 * ```ts
 * import { javaException } from "./leader_election.ts";
 * javaException(80, "The preferred leader was not available.");
 * // "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: The preferred leader was not available."
 * ```
 */
export function javaException(code: number, message: string): string {
  const special: Record<number, string> = {
    [ErrorCode.REQUEST_TIMED_OUT]: "TimeoutException",
    [ErrorCode.UNKNOWN_SERVER_ERROR]: "UnknownServerException",
  };
  const name = special[code] ??
    errorName(code).toLowerCase().replace(/(^|_)([a-z])/g, (_, _s, c: string) => c.toUpperCase()) +
      "Exception";
  return `org.apache.kafka.common.errors.${name}: ${message}`;
}

async function runLeaderElection(args: string[], io: CliIo): Promise<number> {
  const parsed = parseLeaderElectionArgs(args);
  let partitions = parsed.partitions;
  if (parsed.jsonFile !== undefined) {
    let text: string;
    try {
      text = await Deno.readTextFile(parsed.jsonFile);
    } catch (e) {
      throw new UsageError(
        `leader-election: Cannot read ${parsed.jsonFile}: ${(e as Error).message}`,
      );
    }
    partitions = parseElectionJson(text);
  }
  return await runTool(io, "", async () => {
    const props = await loadProperties(parsed.adminConfig);
    const admin = new Admin(clientOptions(parsed.bootstrapServer, props));
    try {
      return await elect(admin, parsed.electionType, partitions, io);
    } finally {
      admin.close();
    }
  });
}

async function elect(
  admin: Admin,
  electionType: ElectionType,
  partitions: TopicPartition[] | null,
  io: CliIo,
): Promise<number> {
  const type = electionType.toUpperCase();
  let outcomes;
  try {
    outcomes = await admin.electLeaders(electionType, partitions);
  } catch (error) {
    if (error instanceof KafkaError && error.code === ErrorCode.REQUEST_TIMED_OUT) {
      io.out("Timeout waiting for election results");
    } else if (
      error instanceof KafkaError && error.code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    ) {
      io.out("Not authorized to perform leader election");
    }
    throw error;
  }
  const name = (p: TopicPartition) => `${p.topic}-${p.partition}`;
  const byName = (a: TopicPartition, b: TopicPartition) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
  outcomes.sort(byName);
  const succeeded = outcomes.filter((o) => o.error === undefined);
  const noop = outcomes.filter((o) => o.error?.code === ErrorCode.ELECTION_NOT_NEEDED);
  const failed = outcomes.filter((o) =>
    o.error !== undefined && o.error.code !== ErrorCode.ELECTION_NOT_NEEDED
  );
  if (succeeded.length > 0) {
    io.out(
      `Successfully completed leader election (${type}) for partitions ${
        succeeded.map(name).join(", ")
      }`,
    );
  }
  if (noop.length > 0) {
    io.out(`Valid replica already elected for partitions ${noop.map(name).join(", ")}`);
  }
  if (failed.length === 0) return 0;
  for (const f of failed) {
    io.out(
      `Error completing leader election (${type}) for partition: ${name(f)}: ${
        javaException(f.error!.code, f.error!.message)
      }`,
    );
  }
  io.err(`${failed.length} replica(s) could not be elected`);
  return 1;
}
