/**
 * `topics`: Kafka's `kafka-topics.sh` (TopicCommand): `--create`, `--list`, `--describe`,
 * `--alter --partitions`, `--delete`, with Kafka's flags and output lines.
 *
 * @module
 */

import {
  Admin,
  type ConfigEntry,
  type PartitionDescription,
  type PartitionReassignment,
  ResourceType,
  type TopicDescription,
} from "../net/client/admin.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  intFlag,
  loadProperties,
  negativeValues,
  parseKeyValues,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE = `Usage: deno run -A main.ts topics --bootstrap-server <host:port> <action> [options]

Create, delete, describe, or change a topic (kafka-topics.sh).

Actions (exactly one):
  --create                        Create a new topic.
  --list                          List all available topics.
  --describe                      List details for the given topics.
  --alter                         Alter the number of partitions of a topic.
  --delete                        Delete a topic.

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  --topic <topic>                 The topic to create, alter, describe or delete (a regular
                                  expression, except with --create).
  --partitions <n>                The number of partitions (create, alter).
  --replication-factor <n>        The replication factor of each partition (create).
  --config <name=value>           A topic config override (create). Repeatable.
  --if-not-exists                 Create only if the topic does not exist.
  --if-exists                     Alter, describe or delete only if the topic exists.
  --exclude-internal              Leave internal topics out of list and describe.
  --under-replicated-partitions   Describe only partitions whose ISR is smaller than the replicas.
  --under-min-isr-partitions      Describe only partitions whose ISR is below min.insync.replicas
                                  (or that have no leader).
  --at-min-isr-partitions         Describe only partitions whose ISR equals min.insync.replicas.
  --unavailable-partitions        Describe only partitions whose leader is not a live broker.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "create": { type: "boolean" },
  "list": { type: "boolean" },
  "describe": { type: "boolean" },
  "alter": { type: "boolean" },
  "delete": { type: "boolean" },
  "topic": { type: "string" },
  "partitions": { type: "string" },
  "replication-factor": { type: "string" },
  "config": { type: "string", multiple: true },
  "if-not-exists": { type: "boolean" },
  "if-exists": { type: "boolean" },
  "exclude-internal": { type: "boolean" },
  "under-replicated-partitions": { type: "boolean" },
  "under-min-isr-partitions": { type: "boolean" },
  "at-min-isr-partitions": { type: "boolean" },
  "unavailable-partitions": { type: "boolean" },
} as const;

/** The replication reports of `--describe` (TopicCommand's allReplicationReportOpts). */
export const REPLICATION_REPORTS = [
  "under-replicated-partitions",
  "under-min-isr-partitions",
  "at-min-isr-partitions",
  "unavailable-partitions",
] as const;

/** One of {@link REPLICATION_REPORTS}. */
export type ReplicationReport = (typeof REPLICATION_REPORTS)[number];

/** `topics`: the registry entry. */
export const topicsCommand: Subcommand = {
  name: "topics",
  summary: "Create, list, describe, alter and delete topics (kafka-topics.sh).",
  usage: USAGE,
  run: runTopics,
};

/** The parsed command line of `topics`. */
export interface TopicsArgs {
  action: "create" | "list" | "describe" | "alter" | "delete";
  bootstrapServer: string;
  commandConfig?: string;
  topic?: string;
  partitions?: number;
  replicationFactor?: number;
  configs: Map<string, string>;
  ifNotExists: boolean;
  ifExists: boolean;
  excludeInternal: boolean;
  /** `--describe` shows only the partitions this report selects (and no topic lines). */
  report?: ReplicationReport;
}

/**
 * Parses and checks a `topics` command line as TopicCommandOptions.checkArgs does.
 *
 * @example
 * ```ts
 * import { parseTopicsArgs } from "./topics.ts";
 * parseTopicsArgs(["--bootstrap-server", "b:9092", "--list"]).action; // "list"
 * ```
 */
export function parseTopicsArgs(args: string[]): TopicsArgs {
  const { values } = parseFlags("topics", negativeValues(args), FLAGS);
  const actions = (["create", "list", "describe", "alter", "delete"] as const).filter((a) =>
    values[a]
  );
  if (actions.length !== 1) {
    throw new UsageError(
      "topics: Command must include exactly one action: --list, --describe, --create, --alter or --delete",
    );
  }
  const action = actions[0]!;
  const bootstrapServer = requireBootstrap("topics", values["bootstrap-server"]);
  const parsed: TopicsArgs = {
    action,
    bootstrapServer,
    commandConfig: values["command-config"],
    topic: values.topic,
    partitions: intFlag("topics", "--partitions", values.partitions),
    replicationFactor: intFlag("topics", "--replication-factor", values["replication-factor"]),
    configs: parseKeyValues("topics", values.config),
    ifNotExists: values["if-not-exists"] ?? false,
    ifExists: values["if-exists"] ?? false,
    excludeInternal: values["exclude-internal"] ?? false,
  };
  const reports = REPLICATION_REPORTS.filter((r) => values[r]);
  if (reports.length > 0 && action !== "describe") {
    throw new UsageError(`topics: --${reports[0]} can only be used with --describe`);
  }
  if (reports.length > 1) {
    throw new UsageError(`topics: --${reports[0]} can't be used with --${reports[1]}`);
  }
  parsed.report = reports[0];
  if (["create", "alter", "delete"].includes(action) && parsed.topic === undefined) {
    throw new UsageError(`topics: --${action} needs --topic`);
  }
  if (action === "alter" && parsed.partitions === undefined) {
    throw new UsageError("topics: --alter needs --partitions (the only alteration supported)");
  }
  if (action !== "create" && (parsed.replicationFactor !== undefined || parsed.configs.size > 0)) {
    throw new UsageError("topics: --replication-factor and --config go with --create only");
  }
  if (parsed.partitions !== undefined && parsed.partitions < 1) {
    throw new UsageError("topics: The partitions must be greater than 0");
  }
  if (
    parsed.replicationFactor !== undefined &&
    (parsed.replicationFactor < 1 || parsed.replicationFactor > 32767)
  ) {
    throw new UsageError("topics: The replication factor must be between 1 and 32767 inclusive");
  }
  return parsed;
}

/**
 * Kafka's describe lines: the topic line, then one tab-indented line per partition.
 *
 * @example
 * ```ts
 * import { formatTopicDescription } from "./topics.ts";
 * formatTopicDescription({
 *   name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAQ", isInternal: false,
 *   partitions: [{ partition: 0, leader: 1, replicas: [1], isr: [1], elr: null, lastKnownElr: null, offline: [] }],
 * }, []);
 * ```
 */
export function formatTopicDescription(
  topic: TopicDescription,
  configs: readonly ConfigEntry[],
  reassignments: ReadonlyMap<string, PartitionReassignment> = new Map(),
): string[] {
  const overridden = configs.filter((c) => !c.isDefault).map((c) => `${c.name}=${c.value}`)
    .join(",");
  const idPart = topic.topicId === "AAAAAAAAAAAAAAAAAAAAAA" ? "" : `\tTopicId: ${topic.topicId}`;
  const first = topic.partitions[0];
  const replicationFactor = first === undefined
    ? 0
    : replicationFactorOf(first, reassignments.get(`${topic.name}-${first.partition}`));
  return [
    `Topic: ${topic.name}${idPart}\tPartitionCount: ${topic.partitions.length}` +
    `\tReplicationFactor: ${replicationFactor}\tConfigs: ${overridden}`,
    ...topic.partitions.map((p) =>
      formatPartition(topic.name, p, reassignments.get(`${topic.name}-${p.partition}`))
    ),
  ];
}

/**
 * TopicCommand's getReplicationFactor: during a reassignment, the replicas that are not being
 * added; otherwise all replicas.
 *
 * @example
 * ```ts
 * import { replicationFactorOf } from "./topics.ts";
 * const p = { partition: 0, leader: 1, replicas: [2, 3, 1], isr: [1], elr: null, lastKnownElr: null, offline: [] };
 * replicationFactorOf(p, { topic: "t", partition: 0, replicas: [2, 3, 1], addingReplicas: [2, 3], removingReplicas: [1] }); // 1
 * ```
 */
export function replicationFactorOf(
  p: PartitionDescription,
  reassignment: PartitionReassignment | undefined,
): number {
  const changing = new Set([
    ...(reassignment?.addingReplicas ?? []),
    ...(reassignment?.removingReplicas ?? []),
  ]);
  const inProgress = p.replicas.some((r) => changing.has(r));
  return inProgress
    ? reassignment!.replicas.length - reassignment!.addingReplicas.length
    : p.replicas.length;
}

/**
 * Kafka's tab-indented line for one partition.
 *
 * @example
 * ```ts
 * import { formatPartition } from "./topics.ts";
 * formatPartition("t", {
 *   partition: 0, leader: -1, replicas: [1, 2], isr: [1], elr: null, lastKnownElr: null, offline: [1],
 * }); // "\tTopic: t\tPartition: 0\tLeader: none\tReplicas: 1,2\tIsr: 1\tElr: N/A\tLastKnownElr: N/A"
 * ```
 */
export function formatPartition(
  topic: string,
  p: PartitionDescription,
  reassignment?: PartitionReassignment,
): string {
  const elr = p.elr === null ? "N/A" : p.elr.join(",");
  const lastKnownElr = p.lastKnownElr === null ? "N/A" : p.lastKnownElr.join(",");
  const moving = reassignment === undefined
    ? ""
    : `\tAdding Replicas: ${reassignment.addingReplicas.join(",")}` +
      `\tRemoving Replicas: ${reassignment.removingReplicas.join(",")}`;
  return `\tTopic: ${topic}\tPartition: ${p.partition}\tLeader: ${
    p.leader < 0 ? "none" : p.leader
  }\tReplicas: ${p.replicas.join(",")}\tIsr: ${p.isr.join(",")}${moving}\tElr: ${elr}` +
    `\tLastKnownElr: ${lastKnownElr}`;
}

/**
 * Whether a replication report selects a partition, as TopicCommand's PartitionDescription:
 * under-replicated when the ISR is smaller than the replica set; under min ISR when leaderless or
 * the ISR is below `min.insync.replicas`; at min ISR when equal; unavailable when leaderless or
 * led by a broker that is not live.
 *
 * @example
 * ```ts
 * import { reportSelects } from "./topics.ts";
 * const p = { partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2], elr: null, lastKnownElr: null, offline: [3] };
 * reportSelects("under-replicated-partitions", p, { minIsr: 2, liveBrokers: new Set([1, 2]) }); // true
 * ```
 */
export function reportSelects(
  report: ReplicationReport,
  p: PartitionDescription,
  cluster: {
    minIsr: number;
    liveBrokers: ReadonlySet<number>;
    reassignment?: PartitionReassignment;
  },
): boolean {
  const hasLeader = p.leader >= 0;
  switch (report) {
    case "under-replicated-partitions":
      return replicationFactorOf(p, cluster.reassignment) > p.isr.length;
    case "under-min-isr-partitions":
      return !hasLeader || p.isr.length < cluster.minIsr;
    case "at-min-isr-partitions":
      return p.isr.length === cluster.minIsr;
    case "unavailable-partitions":
      return !hasLeader || !cluster.liveBrokers.has(p.leader);
  }
}

/**
 * Topics matching Kafka's IncludeList (a whole-name regular expression; `,` means `|`).
 *
 * @example
 * ```ts
 * import { filterTopics } from "./topics.ts";
 * filterTopics(["a", "ab", "__consumer_offsets"], "a.*", true); // ["a", "ab"]
 * ```
 */
export function filterTopics(
  all: readonly string[],
  pattern: string | undefined,
  excludeInternal: boolean,
): string[] {
  const internal = (t: string) => t === "__consumer_offsets" || t === "__transaction_state";
  let regex: RegExp | undefined;
  if (pattern !== undefined) {
    try {
      regex = new RegExp(`^(?:${pattern.trim().replace(/,/g, "|")})$`);
    } catch {
      throw new UsageError(`topics: invalid topic pattern '${pattern}'`);
    }
  }
  return all.filter((t) =>
    (regex === undefined || regex.test(t)) && !(excludeInternal && internal(t))
  );
}

async function runTopics(args: string[], io: CliIo): Promise<number> {
  const parsed = parseTopicsArgs(args);
  return await runTool(io, "Error while executing topic command : ", async () => {
    const props = await loadProperties(parsed.commandConfig);
    const admin = new Admin(clientOptions(parsed.bootstrapServer, props));
    try {
      return await topicAction(admin, parsed, io);
    } finally {
      admin.close();
    }
  });
}

async function matchingTopics(admin: Admin, a: TopicsArgs): Promise<string[]> {
  const all = await admin.listTopics({ includeInternal: true });
  const found = filterTopics(all, a.topic, a.excludeInternal);
  if (a.topic !== undefined && a.topic !== "" && found.length === 0 && !a.ifExists) {
    throw new KafkaError(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      `Topic '${a.topic}' does not exist as expected`,
    );
  }
  return found;
}

/**
 * Ongoing reassignments of the described partitions by `topic-partition` (TopicCommand's
 * listAllReassignments); a server without ListPartitionReassignments gives none.
 */
async function ongoingReassignments(
  admin: Admin,
  descriptions: readonly TopicDescription[],
): Promise<Map<string, PartitionReassignment>> {
  const partitions = descriptions.flatMap((d) =>
    d.partitions.map((p) => ({ topic: d.name, partition: p.partition }))
  );
  if (partitions.length === 0) return new Map();
  try {
    const ongoing = await admin.listPartitionReassignments(partitions);
    return new Map(ongoing.map((r) => [`${r.topic}-${r.partition}`, r]));
  } catch (error) {
    if (error instanceof KafkaError && error.code === ErrorCode.UNSUPPORTED_VERSION) {
      return new Map();
    }
    throw error;
  }
}

async function topicAction(admin: Admin, a: TopicsArgs, io: CliIo): Promise<number> {
  switch (a.action) {
    case "create": {
      const name = a.topic!;
      if (name.includes(".") || name.includes("_")) {
        io.out(
          "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.",
        );
      }
      try {
        await admin.createTopics([{
          name,
          numPartitions: a.partitions,
          replicationFactor: a.replicationFactor,
          configs: Object.fromEntries(a.configs),
        }]);
        io.out(`Created topic ${name}.`);
      } catch (error) {
        const exists = error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS;
        if (!(exists && a.ifNotExists)) throw error;
      }
      return 0;
    }
    case "list": {
      const all = await admin.listTopics({ includeInternal: true });
      io.out(filterTopics(all, a.topic, a.excludeInternal).join("\n"));
      return 0;
    }
    case "describe": {
      const names = await matchingTopics(admin, a);
      const descriptions = await admin.describeTopics(names);
      const configs = await admin.describeConfigs(
        names.map((name) => ({ type: ResourceType.TOPIC, name })),
        { includeSynonyms: false },
      );
      const reassignments = await ongoingReassignments(admin, descriptions);
      const report = a.report;
      if (report === undefined) {
        descriptions.forEach((d, i) => {
          const lines = formatTopicDescription(d, configs[i]?.entries ?? [], reassignments);
          for (const line of lines) io.out(line);
        });
        return 0;
      }
      // As TopicCommand: live brokers are those DescribeCluster lists (unfenced ones).
      const liveBrokers = new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId));
      descriptions.forEach((d, i) => {
        const minIsrText = configs[i]?.entries.find((e) => e.name === "min.insync.replicas")?.value;
        const minIsr = Number(minIsrText ?? "1");
        for (const p of d.partitions) {
          const reassignment = reassignments.get(`${d.name}-${p.partition}`);
          if (reportSelects(report, p, { minIsr, liveBrokers, reassignment })) {
            io.out(formatPartition(d.name, p, reassignment));
          }
        }
      });
      return 0;
    }
    case "alter": {
      const names = await matchingTopics(admin, a);
      if (names.length > 0) {
        await admin.createPartitions(names.map((topic) => ({ topic, count: a.partitions! })));
      }
      return 0;
    }
    case "delete": {
      const names = await matchingTopics(admin, a);
      const internal = names.filter((t) => t.startsWith("__"));
      if (internal.length > 0) {
        throw new KafkaError(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Topic ${
            internal[0]
          } is a kafka internal topic and is not allowed to be marked for deletion.`,
        );
      }
      if (names.length > 0) await admin.deleteTopics(names);
      return 0;
    }
  }
}
