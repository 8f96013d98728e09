/**
 * `reassign-partitions`: Kafka's `kafka-reassign-partitions.sh` (ReassignPartitionsCommand):
 * `--generate` proposes a placement of topics on a broker list, `--execute` starts the moves of a
 * reassignment JSON file (AlterPartitionReassignments, KIP-455), `--verify` reports their progress,
 * `--cancel` reverts ongoing ones and `--list` shows every ongoing move. Output lines and JSON are
 * Kafka's. `--throttle` bounds the replication of the moves (KIP-73: the topics'
 * `leader/follower.replication.throttled.replicas` and the brokers'
 * `leader/follower.replication.throttled.rate`), and `--verify` / `--cancel` remove it. Moves
 * between log directories (`log_dirs` other than "any") and `--replica-alter-log-dirs-throttle`
 * are refused in one line: kraftling has no AlterReplicaLogDirs.
 *
 * @module
 */

import {
  Admin,
  type PartitionReassignment,
  ResourceType,
  type TopicPartition,
} from "../net/client/admin.ts";
import { placeReplicas } from "../core/metadata/placement.ts";
import { SeededRandom } from "../core/random.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  intFlag,
  loadProperties,
  negativeValues,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts reassign-partitions --bootstrap-server <host:port> <action> [options]

Move partitions between brokers (kafka-reassign-partitions.sh).

Actions (exactly one):
  --generate                      Propose a placement of the topics of --topics-to-move-json-file
                                  on the brokers of --broker-list (nothing is executed).
  --execute                       Start the reassignment of --reassignment-json-file.
  --verify                        Report whether the reassignment of --reassignment-json-file is done.
  --cancel                        Cancel the active reassignments of --reassignment-json-file.
  --list                          List all active partition reassignments.

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  --reassignment-json-file <file> {"partitions": [{"topic": "foo", "partition": 1, "replicas": [1,2,3],
                                  "log_dirs": ["any","any","any"]}], "version": 1}
  --topics-to-move-json-file <f>  {"topics": [{"topic": "foo"}, {"topic": "foo1"}], "version": 1}
  --broker-list <ids>             Brokers to place the topics on, e.g. "0,1,2" (--generate).
  --disable-rack-aware            Place replicas without regard to racks (--generate).
  --additional                    Execute in addition to ongoing reassignments (--execute).
  --throttle <B/s>                Bound the replication of the moves (--execute); --verify
                                  removes the throttle once they are done.
  --preserve-throttles            Leave throttle configs as they are (--verify, --cancel).
  --timeout <ms>                  Accepted for Kafka compatibility (log directory moves only).
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "generate": { type: "boolean" },
  "execute": { type: "boolean" },
  "verify": { type: "boolean" },
  "cancel": { type: "boolean" },
  "list": { type: "boolean" },
  "reassignment-json-file": { type: "string" },
  "topics-to-move-json-file": { type: "string" },
  "broker-list": { type: "string" },
  "disable-rack-aware": { type: "boolean" },
  "additional": { type: "boolean" },
  "preserve-throttles": { type: "boolean" },
  "throttle": { type: "string" },
  "replica-alter-log-dirs-throttle": { type: "string" },
  "timeout": { type: "string" },
} as const;

type Flag = keyof typeof FLAGS;
const ACTIONS = ["generate", "execute", "verify", "cancel", "list"] as const;
type Action = (typeof ACTIONS)[number];

/** Kafka's requiredArgs and permittedArgs per action (validateAndParseArgs). */
const REQUIRED: Record<Action, Flag[]> = {
  generate: ["topics-to-move-json-file", "broker-list"],
  execute: ["reassignment-json-file"],
  verify: ["reassignment-json-file"],
  cancel: ["reassignment-json-file"],
  list: [],
};
const PERMITTED: Record<Action, Flag[]> = {
  generate: ["bootstrap-server", "command-config", "disable-rack-aware"],
  execute: [
    "additional",
    "bootstrap-server",
    "command-config",
    "throttle",
    "replica-alter-log-dirs-throttle",
    "timeout",
  ],
  verify: ["bootstrap-server", "command-config", "preserve-throttles"],
  cancel: ["bootstrap-server", "command-config", "preserve-throttles", "timeout"],
  list: ["bootstrap-server", "command-config"],
};

const CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE = "Cannot execute because " +
  "there is an existing partition assignment.  Use --additional to override this and " +
  "create a new partition assignment in addition to the existing one. The --additional " +
  "flag can also be used to change the throttle by resubmitting the current reassignment.";

/** The topic-level throttle configs `--verify` and `--cancel` clear (TOPIC_LEVEL_THROTTLES). */
const TOPIC_LEVEL_THROTTLES = [
  "leader.replication.throttled.replicas",
  "follower.replication.throttled.replicas",
];

/** `reassign-partitions`: the registry entry. */
export const reassignPartitionsCommand: Subcommand = {
  name: "reassign-partitions",
  summary: "Move partitions between brokers (kafka-reassign-partitions.sh).",
  usage: USAGE,
  run: runReassignPartitions,
};

/** The parsed command line of `reassign-partitions`. */
export interface ReassignArgs {
  action: Action;
  bootstrapServer: string;
  commandConfig?: string;
  reassignmentJsonFile?: string;
  topicsToMoveJsonFile?: string;
  brokerList?: string;
  rackAware: boolean;
  additional: boolean;
  preserveThrottles: boolean;
  /** `--throttle` in bytes per second; null when not given (or negative, Kafka's "none"). */
  throttle: number | null;
}

/**
 * Parses and checks a `reassign-partitions` command line as Kafka's validateAndParseArgs.
 *
 * @example
 * ```ts
 * import { parseReassignArgs } from "./reassign_partitions.ts";
 * parseReassignArgs(["--bootstrap-server", "b:9092", "--list"]).action; // "list"
 * ```
 */
export function parseReassignArgs(args: string[]): ReassignArgs {
  const where = "reassign-partitions";
  const { values } = parseFlags(where, negativeValues(args), FLAGS);
  const actions = ACTIONS.filter((a) => values[a]);
  if (actions.length !== 1) {
    throw new UsageError(
      `${where}: Command must include exactly one action: ${
        ACTIONS.map((a) => `--${a}`).join(", ")
      }`,
    );
  }
  const action = actions[0]!;
  if (values["bootstrap-server"] === undefined) {
    throw new UsageError(`${where}: Please specify --bootstrap-server`);
  }
  for (const flag of REQUIRED[action]) {
    if (values[flag] === undefined) {
      throw new UsageError(`${where}: Missing required argument "[${flag}]"`);
    }
  }
  for (const flag of Object.keys(values) as Flag[]) {
    if (flag === action || REQUIRED[action].includes(flag) || PERMITTED[action].includes(flag)) {
      continue;
    }
    throw new UsageError(`${where}: Option "[${flag}]" can't be used with action "[${action}]"`);
  }
  const throttle = intFlag(where, "--throttle", values.throttle);
  const logDirThrottle = intFlag(
    where,
    "--replica-alter-log-dirs-throttle",
    values["replica-alter-log-dirs-throttle"],
  );
  if (logDirThrottle !== undefined && logDirThrottle >= 0) {
    throw new UsageError(
      `${where}: --replica-alter-log-dirs-throttle is not supported: kraftling does not move replicas between log directories`,
    );
  }
  intFlag(where, "--timeout", values.timeout);
  return {
    action,
    bootstrapServer: values["bootstrap-server"]!,
    commandConfig: values["command-config"],
    reassignmentJsonFile: values["reassignment-json-file"],
    topicsToMoveJsonFile: values["topics-to-move-json-file"],
    brokerList: values["broker-list"],
    rackAware: !values["disable-rack-aware"],
    additional: values.additional ?? false,
    preserveThrottles: values["preserve-throttles"] ?? false,
    throttle: throttle !== undefined && throttle >= 0 ? throttle : null,
  };
}

/** One partition of a reassignment JSON file. */
export interface PartitionTarget extends TopicPartition {
  replicas: number[];
}

function parseJson(what: string, text: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `reassign-partitions: The ${what} is not valid JSON: ${(e as Error).message}`,
    );
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new UsageError(`reassign-partitions: The ${what} is not a JSON object`);
  }
  const version = (json as { version?: unknown }).version ?? 1;
  if (version !== 1) {
    throw new UsageError(`reassign-partitions: Not supported version field value ${version}`);
  }
  return json as Record<string, unknown>;
}

/**
 * Parses Kafka's reassignment JSON (`{"version":1,"partitions":[{"topic","partition","replicas",
 * "log_dirs"}]}`) as parsePartitionReassignmentData; `log_dirs` must be "any" here.
 *
 * @example
 * ```ts
 * import { parseReassignmentJson } from "./reassign_partitions.ts";
 * parseReassignmentJson('{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}');
 * // [{ topic: "t", partition: 0, replicas: [2, 3] }]
 * ```
 */
export function parseReassignmentJson(text: string): PartitionTarget[] {
  const json = parseJson("reassignment json file", text);
  const partitions = json.partitions ?? [];
  if (!Array.isArray(partitions)) {
    throw new UsageError(
      'reassign-partitions: "partitions" in the reassignment json file is not a list',
    );
  }
  return partitions.map((p, i) => {
    const { topic, partition, replicas, log_dirs: logDirs } = (p ?? {}) as Record<string, unknown>;
    const ints = (v: unknown) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x));
    if (typeof topic !== "string" || !Number.isSafeInteger(partition) || !ints(replicas)) {
      throw new UsageError(
        `reassign-partitions: Entry ${i} of the reassignment json file needs "topic", "partition" and "replicas"`,
      );
    }
    const name = `${topic}-${partition}`;
    const replicaList = replicas as number[];
    if (logDirs !== undefined) {
      if (!Array.isArray(logDirs) || logDirs.some((d) => typeof d !== "string")) {
        throw new UsageError(`reassign-partitions: "log_dirs" of ${name} is not a list of strings`);
      }
      if (logDirs.length !== replicaList.length) {
        throw new UsageError(
          `reassign-partitions: Size of replicas list [${
            replicaList.join(", ")
          }] is different from size of log dirs list [${logDirs.join(", ")}] for partition ${name}`,
        );
      }
      if (logDirs.some((d) => d !== "any")) {
        throw new UsageError(
          `reassign-partitions: log_dirs other than "any" (${name}) are not supported: kraftling has no AlterReplicaLogDirs`,
        );
      }
    }
    return { topic, partition: partition as number, replicas: replicaList };
  });
}

/**
 * Checks an --execute file as parseExecuteAssignmentArgs: not empty, no empty replica list, no
 * partition twice, no broker twice in a list.
 *
 * @example
 * ```ts
 * import { checkExecuteTargets } from "./reassign_partitions.ts";
 * checkExecuteTargets([{ topic: "t", partition: 0, replicas: [1] }]); // passes
 * ```
 */
export function checkExecuteTargets(targets: readonly PartitionTarget[]): void {
  const fail = (message: string) => new UsageError(`reassign-partitions: ${message}`);
  if (targets.length === 0) throw fail("Partition reassignment list cannot be empty");
  if (targets.some((t) => t.replicas.length === 0)) {
    throw fail("Partition replica list cannot be empty");
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const t of targets) {
    const key = `${t.topic}-${t.partition}`;
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  if (duplicates.size > 0) {
    throw fail(
      `Partition reassignment contains duplicate topic partitions: ${[...duplicates].join(",")}`,
    );
  }
  const repeated = targets.flatMap((t) => {
    const twice = [...new Set(t.replicas.filter((r, i) => t.replicas.indexOf(r) !== i))];
    return twice.length === 0
      ? []
      : [`${t.topic}-${t.partition} contains multiple entries for ${twice.join(",")}`];
  });
  if (repeated.length > 0) {
    throw fail(`Partition replica lists may not contain duplicate entries: ${repeated.join(". ")}`);
  }
}

/**
 * Parses --generate's topics JSON and broker list as parseGenerateAssignmentArgs.
 *
 * @example
 * ```ts
 * import { parseGenerateArgs } from "./reassign_partitions.ts";
 * parseGenerateArgs('{"topics":[{"topic":"a"}],"version":1}', "1,2");
 * // { brokers: [1, 2], topics: ["a"] }
 * ```
 */
export function parseGenerateArgs(
  topicsJson: string,
  brokerList: string,
): { brokers: number[]; topics: string[] } {
  const brokers = brokerList.split(",").map((s) => {
    const n = Number(s.trim());
    if (s.trim() === "" || !Number.isSafeInteger(n)) {
      throw new UsageError(`reassign-partitions: Invalid broker id '${s}' in --broker-list`);
    }
    return n;
  });
  const dupBrokers = [...new Set(brokers.filter((b, i) => brokers.indexOf(b) !== i))];
  if (dupBrokers.length > 0) {
    throw new UsageError(
      `reassign-partitions: Broker list contains duplicate entries: [${dupBrokers.join(", ")}]`,
    );
  }
  const json = parseJson("topics to move json file", topicsJson);
  const list = json.topics ?? [];
  if (!Array.isArray(list)) {
    throw new UsageError(
      'reassign-partitions: "topics" in the topics to move json file is not a list',
    );
  }
  const topics = list.map((t, i) => {
    const topic = (t as { topic?: unknown } | null)?.topic;
    if (typeof topic !== "string") {
      throw new UsageError(
        `reassign-partitions: Entry ${i} of the topics to move json file needs "topic"`,
      );
    }
    return topic;
  });
  const dupTopics = [...new Set(topics.filter((t, i) => topics.indexOf(t) !== i))];
  if (dupTopics.length > 0) {
    throw new UsageError(
      `reassign-partitions: List of topics to reassign contains duplicate entries: [${
        dupTopics.join(", ")
      }]`,
    );
  }
  return { brokers, topics };
}

/**
 * Kafka's formatAsReassignmentJson: partitions sorted by topic then partition, `log_dirs` "any".
 *
 * @example
 * ```ts
 * import { formatReassignmentJson } from "./reassign_partitions.ts";
 * formatReassignmentJson([{ topic: "t", partition: 0, replicas: [1] }]);
 * // '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["any"]}]}'
 * ```
 */
export function formatReassignmentJson(parts: readonly PartitionTarget[]): string {
  return JSON.stringify({
    version: 1,
    partitions: [...parts].sort(byPartition).map((p) => ({
      topic: p.topic,
      partition: p.partition,
      replicas: p.replicas,
      log_dirs: p.replicas.map(() => "any"),
    })),
  });
}

function byPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}

const name = (p: TopicPartition) => `${p.topic}-${p.partition}`;

/**
 * Kafka's `--list` text (curReassignmentsToString).
 *
 * @example
 * ```ts
 * import { formatReassignments } from "./reassign_partitions.ts";
 * formatReassignments([]); // "No partition reassignments found."
 * ```
 */
export function formatReassignments(ongoing: readonly PartitionReassignment[]): string {
  if (ongoing.length === 0) return "No partition reassignments found.";
  const lines = [...ongoing].sort(byPartition).map((r) =>
    `${name(r)}: replicas: ${r.replicas.join(",")}.` +
    (r.addingReplicas.length === 0 ? "" : ` adding: ${r.addingReplicas.join(",")}.`) +
    (r.removingReplicas.length === 0 ? "" : ` removing: ${r.removingReplicas.join(",")}.`)
  );
  return ["Current partition reassignments:", ...lines].join("\n");
}

/** A failure Kafka reports in one line on stdout (its TerseException), exit code 1. */
class TerseFailure extends Error {}

async function readFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`reassign-partitions: Cannot read ${path}: ${(e as Error).message}`);
  }
}

async function runReassignPartitions(args: string[], io: CliIo): Promise<number> {
  const a = parseReassignArgs(args);
  const reassignment = a.reassignmentJsonFile === undefined
    ? undefined
    : parseReassignmentJson(await readFile(a.reassignmentJsonFile));
  const generate = a.action === "generate"
    ? parseGenerateArgs(await readFile(a.topicsToMoveJsonFile!), a.brokerList!)
    : undefined;
  if (a.action === "execute") checkExecuteTargets(reassignment!);
  return await runTool(io, "Error: ", async () => {
    const props = await loadProperties(a.commandConfig);
    if (!props.has("client.id")) props.set("client.id", "reassign-partitions-tool");
    const admin = new Admin(clientOptions(a.bootstrapServer, props));
    try {
      switch (a.action) {
        case "generate":
          await generateAssignment(admin, generate!, a.rackAware, io);
          break;
        case "execute":
          await executeAssignment(admin, reassignment!, a.additional, a.throttle, io);
          break;
        case "verify":
          await verifyAssignment(admin, reassignment!, a.preserveThrottles, io);
          break;
        case "cancel":
          await cancelAssignment(admin, reassignment!, a.preserveThrottles, io);
          break;
        case "list":
          io.out(formatReassignments(await admin.listPartitionReassignments()));
          break;
      }
      return 0;
    } catch (error) {
      if (!(error instanceof TerseFailure)) throw error;
      io.out(error.message);
      return 1;
    } finally {
      admin.close();
    }
  });
}

async function currentAssignment(
  admin: Admin,
  topics: readonly string[],
): Promise<PartitionTarget[]> {
  const described = await admin.describeTopics([...new Set(topics)]);
  return described.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partition, replicas: p.replicas }))
  );
}

async function generateAssignment(
  admin: Admin,
  request: { brokers: number[]; topics: string[] },
  rackAware: boolean,
  io: CliIo,
): Promise<void> {
  const current = await currentAssignment(admin, request.topics);
  // As Kafka: brokers of the list that are not in the cluster are left out.
  const brokers = (await admin.describeCluster()).brokers
    .filter((b) => request.brokers.includes(b.nodeId))
    .map((b) => ({ id: b.nodeId, rack: rackAware ? b.rack ?? null : null }));
  const rackless = brokers.filter((b) => b.rack === null).length;
  if (rackAware && rackless !== 0 && rackless !== brokers.length) {
    throw new TerseFailure(
      "Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.",
    );
  }
  const random = new SeededRandom(crypto.getRandomValues(new Uint32Array(1))[0]!);
  const proposed: PartitionTarget[] = [];
  for (const topic of request.topics) {
    const parts = current.filter((p) => p.topic === topic);
    const placement = placeReplicas(brokers, {
      numPartitions: parts.length,
      replicationFactor: parts[0]?.replicas.length ?? 0,
      random,
    });
    placement.forEach((replicas, partition) => proposed.push({ topic, partition, replicas }));
  }
  io.out(`Current partition replica assignment\n${formatReassignmentJson(current)}\n`);
  io.out(`Proposed partition reassignment configuration\n${formatReassignmentJson(proposed)}`);
}

async function executeAssignment(
  admin: Admin,
  targets: PartitionTarget[],
  additional: boolean,
  throttle: number | null,
  io: CliIo,
): Promise<void> {
  const ongoing = await admin.listPartitionReassignments();
  if (!additional && ongoing.length > 0) {
    throw new TerseFailure(CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE);
  }
  const known = new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId));
  const unknown = targets.flatMap((t) => t.replicas).find((r) => !known.has(r));
  if (unknown !== undefined) throw new TerseFailure(`Error: Unknown broker id ${unknown}`);
  const current = await currentAssignment(admin, targets.map((t) => t.topic));
  const wanted = new Set(targets.map(name));
  const found = current.filter((c) => wanted.has(name(c)));
  const missing = targets.filter((t) => !found.some((c) => name(c) === name(t)));
  if (missing.length > 0) {
    throw new TerseFailure(`Error: Unable to find partition: ${missing.map(name).join(", ")}`);
  }
  io.out(
    `Current partition replica assignment\n\n${formatReassignmentJson(found)}\n\n` +
      "Save this to use as the --reassignment-json-file option during rollback",
  );
  if (throttle !== null) {
    io.out(
      "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n" +
        `The inter-broker throttle limit was set to ${throttle} B/s`,
    );
    await setThrottles(admin, throttlesOf(targets, found), throttle);
  }
  const outcomes = await admin.alterPartitionReassignments(targets);
  const failed = outcomes.filter((o) => o.error !== undefined).sort(byPartition);
  if (failed.length > 0) {
    throw new TerseFailure(
      `Error reassigning partition(s):\n${
        failed.map((f) => `${name(f)}: ${f.error!.message}`).join("\n")
      }`,
    );
  }
  const started = [...targets].sort(byPartition).map(name);
  io.out(
    `Successfully started partition reassignment${started.length === 1 ? "" : "s"} for ${
      started.join(",")
    }`,
  );
}

async function verifyAssignment(
  admin: Admin,
  targets: PartitionTarget[],
  preserveThrottles: boolean,
  io: CliIo,
): Promise<void> {
  const ongoing = await admin.listPartitionReassignments();
  const active = new Map(ongoing.map((r) => [name(r), r]));
  const idle = targets.filter((t) => !active.has(name(t)));
  const described = new Map<string, Map<number, number[]>>();
  for (const topic of new Set(idle.map((t) => t.topic))) {
    try {
      const [d] = await admin.describeTopics([topic]);
      described.set(topic, new Map(d!.partitions.map((p) => [p.partition, p.replicas])));
    } catch {
      described.set(topic, new Map()); // unknown topic: an empty replica set, as Kafka
    }
  }
  const lines = ["Status of partition reassignment:"];
  for (const t of [...targets].sort(byPartition)) {
    if (active.has(name(t))) {
      lines.push(`Reassignment of partition ${name(t)} is still in progress.`);
      continue;
    }
    const current = described.get(t.topic)?.get(t.partition) ?? [];
    if (current.length === t.replicas.length && current.every((r, i) => r === t.replicas[i])) {
      lines.push(`Reassignment of partition ${name(t)} is completed.`);
    } else {
      lines.push(
        `There is no active reassignment of partition ${name(t)}, but replica set is ${
          current.join(",")
        } rather than ${t.replicas.join(",")}.`,
      );
    }
  }
  io.out(lines.join("\n"));
  if (ongoing.length === 0 && !preserveThrottles) await clearThrottles(admin, targets, io);
}

async function cancelAssignment(
  admin: Admin,
  targets: PartitionTarget[],
  preserveThrottles: boolean,
  io: CliIo,
): Promise<void> {
  const ongoing = await admin.listPartitionReassignments(targets);
  // As Kafka: a move that only adds replicas (a replication factor increase) is not cancelled.
  const cancelling = ongoing
    .filter((r) => r.addingReplicas.length === 0 || r.removingReplicas.length > 0)
    .sort(byPartition);
  if (cancelling.length > 0) {
    const outcomes = await admin.alterPartitionReassignments(
      cancelling.map((r) => ({ topic: r.topic, partition: r.partition, replicas: null })),
    );
    const failed = outcomes.filter((o) => o.error !== undefined).sort(byPartition);
    if (failed.length > 0) {
      throw new TerseFailure(
        `Error cancelling partition reassignment${failed.length === 1 ? "" : "s"} for:\n${
          failed.map((f) => `${name(f)}: ${f.error!.message}`).join("\n")
        }`,
      );
    }
    io.out(
      `Successfully cancelled partition reassignment${cancelling.length === 1 ? "" : "s"} for: ${
        cancelling.map(name).join(",")
      }`,
    );
  } else {
    io.out("None of the specified partition reassignments are active.");
  }
  io.out("None of the specified partition moves are active.");
  if (!preserveThrottles) await clearThrottles(admin, targets, io);
}

/** What `--throttle` marks: each topic's throttled replicas, and the brokers the moves touch. */
export interface MoveThrottles {
  /** Topic -> `leader.replication.throttled.replicas` (`partition:broker`, the current replicas). */
  leader: Map<string, string>;
  /** Topic -> `follower.replication.throttled.replicas` (the replicas being added). */
  follower: Map<string, string>;
  brokers: Set<number>;
}

/**
 * Kafka's calculateLeaderThrottles / calculateFollowerThrottles / calculateReassigningBrokers:
 * every current replica of a reassigned partition may lead the copy (leader side), every replica
 * the move adds fetches it (follower side), and all of those brokers get the rate.
 *
 * @example
 * ```ts
 * import { throttlesOf } from "./reassign_partitions.ts";
 * const t = throttlesOf(
 *   [{ topic: "orders", partition: 0, replicas: [2, 3] }],
 *   [{ topic: "orders", partition: 0, replicas: [1, 2] }],
 * );
 * t.leader.get("orders"); // "0:1,0:2"
 * t.follower.get("orders"); // "0:3"
 * ```
 */
export function throttlesOf(
  targets: readonly PartitionTarget[],
  current: readonly PartitionTarget[],
): MoveThrottles {
  const out: MoveThrottles = { leader: new Map(), follower: new Map(), brokers: new Set() };
  const add = (map: Map<string, string>, topic: string, entry: string) => {
    const was = map.get(topic);
    map.set(topic, was === undefined || was === "" ? entry : `${was},${entry}`);
  };
  for (const t of [...targets].sort(byPartition)) {
    const now = current.find((c) => name(c) === name(t))?.replicas ?? [];
    if (!out.leader.has(t.topic)) out.leader.set(t.topic, "");
    if (!out.follower.has(t.topic)) out.follower.set(t.topic, "");
    for (const r of now) {
      add(out.leader, t.topic, `${t.partition}:${r}`);
      out.brokers.add(r);
    }
    for (const r of t.replicas.filter((r) => !now.includes(r))) {
      add(out.follower, t.topic, `${t.partition}:${r}`);
      out.brokers.add(r);
    }
  }
  return out;
}

/** Kafka's modifyTopicThrottles and modifyInterBrokerThrottle. */
async function setThrottles(admin: Admin, throttles: MoveThrottles, rate: number): Promise<void> {
  await admin.alterConfigs([
    ...[...throttles.leader.keys()].map((topic) => ({
      type: ResourceType.TOPIC,
      name: topic,
      set: {
        "leader.replication.throttled.replicas": throttles.leader.get(topic)!,
        "follower.replication.throttled.replicas": throttles.follower.get(topic)!,
      },
    })),
    ...[...throttles.brokers].sort((a, b) => a - b).map((broker) => ({
      type: ResourceType.BROKER,
      name: String(broker),
      set: {
        "leader.replication.throttled.rate": String(rate),
        "follower.replication.throttled.rate": String(rate),
      },
    })),
  ]);
}

/** The broker-level throttle configs `--verify` and `--cancel` clear (BROKER_LEVEL_THROTTLES). */
const BROKER_LEVEL_THROTTLES = [
  "leader.replication.throttled.rate",
  "follower.replication.throttled.rate",
  "replica.alter.log.dirs.io.max.bytes.per.second",
];

/**
 * Kafka's clearAllThrottles: the throttle rates of every broker (those of the cluster and those
 * the moves name) and the topic-level throttle configs of the reassigned topics are deleted.
 */
async function clearThrottles(
  admin: Admin,
  targets: readonly PartitionTarget[],
  io: CliIo,
): Promise<void> {
  const live = new Set((await admin.describeCluster()).brokers.map((b) => b.nodeId));
  const brokers = new Set(live);
  for (const t of targets) for (const r of t.replicas) brokers.add(r);
  io.out(
    `Clearing broker-level throttles on broker${brokers.size === 1 ? "" : "s"} ${
      [...brokers].join(",")
    }`,
  );
  const deletes = (ids: number[]) =>
    ids.map((broker) => ({
      type: ResourceType.BROKER,
      name: String(broker),
      delete: BROKER_LEVEL_THROTTLES,
    }));
  await admin.alterConfigs(deletes([...live]));
  // A broker that is down cannot take its own change: any broker forwards it to the controller.
  const down = [...brokers].filter((b) => !live.has(b));
  if (down.length > 0) await admin.alterConfigs(deletes(down), { anyBroker: true });
  const topics = [...new Set(targets.map((t) => t.topic))];
  io.out(
    `Clearing topic-level throttles on topic${topics.length === 1 ? "" : "s"} ${topics.join(",")}`,
  );
  await admin.alterConfigs(
    topics.map((topic) => ({
      type: ResourceType.TOPIC,
      name: topic,
      delete: TOPIC_LEVEL_THROTTLES,
    })),
  );
}
