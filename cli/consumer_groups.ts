/**
 * `consumer-groups`: Kafka's `kafka-consumer-groups.sh` (ConsumerGroupCommand): `--list`,
 * `--describe` (offsets, `--members`, `--state`), `--reset-offsets` and `--delete`, with Kafka's
 * tables.
 *
 * @module
 */

import { Admin, type GroupDescription, type TopicPartition } from "../net/client/admin.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  intFlag,
  loadProperties,
  negativeValues,
  optionalValue,
  pad,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts consumer-groups --bootstrap-server <host:port> <action> [options]

List all consumer groups, describe a consumer group, delete consumer group info, or reset
consumer group offsets (kafka-consumer-groups.sh).

Actions (exactly one):
  --list                          List all consumer groups.
  --describe                      Describe consumer group(s): offsets and lag (default),
                                  --members or --state.
  --reset-offsets                 Reset offsets of a group (dry run unless --execute).
  --delete                        Delete consumer group(s).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  --group <group>                 The group. Repeatable for --describe and --delete.
  --all-groups                    Every group.
  --members | --state [states]    Describe members or state; with --list, filter by states.
  --topic <topic[:p,p]>           Reset scope: a topic and optionally partitions. Repeatable.
  --all-topics                    Reset scope: every topic the group has offsets for.
  --to-earliest | --to-latest | --to-current | --to-offset <n> | --shift-by <n> |
  --to-datetime <YYYY-MM-DDTHH:mm:SS.sss[zone]>
                                  The new offsets.
  --dry-run | --execute           Only print, or apply the new offsets.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "list": { type: "boolean" },
  "describe": { type: "boolean" },
  "delete": { type: "boolean" },
  "reset-offsets": { type: "boolean" },
  "group": { type: "string", multiple: true },
  "all-groups": { type: "boolean" },
  "members": { type: "boolean" },
  "state": { type: "string" },
  "offsets": { type: "boolean" },
  "verbose": { type: "boolean" },
  "topic": { type: "string", multiple: true },
  "all-topics": { type: "boolean" },
  "to-earliest": { type: "boolean" },
  "to-latest": { type: "boolean" },
  "to-current": { type: "boolean" },
  "to-offset": { type: "string" },
  "shift-by": { type: "string" },
  "to-datetime": { type: "string" },
  "dry-run": { type: "boolean" },
  "execute": { type: "boolean" },
  "timeout": { type: "string" },
} as const;

/** `consumer-groups`: the registry entry. */
export const consumerGroupsCommand: Subcommand = {
  name: "consumer-groups",
  summary: "List, describe, reset and delete consumer groups (kafka-consumer-groups.sh).",
  usage: USAGE,
  run: runConsumerGroups,
};

const MISSING = "-";

/** One row of the describe-offsets table. */
export interface OffsetRow {
  group: string;
  topic: string;
  partition: number | undefined;
  currentOffset: number | undefined;
  logEndOffset: number | undefined;
  consumerId: string;
  host: string;
  clientId: string;
}

const show = (v: number | string | undefined) => (v === undefined ? MISSING : String(v));

/**
 * Kafka's describe-offsets table: a blank line, the header, one line per row.
 *
 * @example
 * ```ts
 * import { formatOffsetsTable } from "./consumer_groups.ts";
 * formatOffsetsTable([{ group: "g", topic: "t", partition: 0, currentOffset: 3, logEndOffset: 5, consumerId: "-", host: "-", clientId: "-" }]);
 * ```
 */
export function formatOffsetsTable(rows: readonly OffsetRow[]): string[] {
  const w = (f: (r: OffsetRow) => string) => Math.max(15, ...rows.map((r) => f(r).length));
  const g = w((r) => r.group),
    t = w((r) => r.topic),
    c = w((r) => r.consumerId),
    h = w((r) => r.host);
  const line = (cols: string[]) =>
    `${pad(cols[0]!, g)} ${pad(cols[1]!, t)} ${pad(cols[2]!, 10)} ${pad(cols[3]!, 15)} ${
      pad(cols[4]!, 15)
    } ${pad(cols[5]!, 15)} ${pad(cols[6]!, c)} ${pad(cols[7]!, h)} ${cols[8]}`;
  const out = [
    "",
    line([
      "GROUP",
      "TOPIC",
      "PARTITION",
      "CURRENT-OFFSET",
      "LOG-END-OFFSET",
      "LAG",
      "CONSUMER-ID",
      "HOST",
      "CLIENT-ID",
    ]),
  ];
  for (const r of rows) {
    const lag =
      r.currentOffset !== undefined && r.currentOffset !== -1 && r.logEndOffset !== undefined
        ? r.logEndOffset - r.currentOffset
        : undefined;
    out.push(line([
      r.group,
      r.topic,
      show(r.partition),
      show(r.currentOffset),
      show(r.logEndOffset),
      show(lag),
      r.consumerId,
      r.host,
      r.clientId,
    ]));
  }
  return out;
}

/**
 * Kafka's `--members` table (without group instance ids): header and one line per member; every
 * line ends with a space, as Kafka's format does.
 *
 * @example
 * ```ts
 * import { formatMembersTable } from "./consumer_groups.ts";
 * formatMembersTable("g", []);
 * ```
 */
export function formatMembersTable(
  group: string,
  members: readonly { consumerId: string; host: string; clientId: string; partitions: number }[],
): string[] {
  const w = (f: (m: typeof members[number]) => string) =>
    Math.max(15, ...members.map((m) => f(m).length));
  const g = Math.max(15, group.length),
    c = w((m) => m.consumerId),
    h = w((m) => m.host),
    cl = w((m) => m.clientId);
  const line = (a: string, b: string, d: string, e: string, f: string) =>
    `${pad(a, g)} ${pad(b, c)} ${pad(d, h)} ${pad(e, cl)} ${pad(f, 15)} `;
  return [
    "",
    line("GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"),
    ...members.map((m) => line(group, m.consumerId, m.host, m.clientId, String(m.partitions))),
  ];
}

/**
 * Kafka's `--state` table.
 *
 * @example
 * ```ts
 * import { formatStateTable } from "./consumer_groups.ts";
 * formatStateTable({ group: "g", coordinator: "localhost:9092  (1)", strategy: "range", state: "Stable", members: 1 });
 * ```
 */
export function formatStateTable(
  s: { group: string; coordinator: string; strategy: string; state: string; members: number },
): string[] {
  const cw = Math.max(25, s.coordinator.length), gw = Math.max(15, s.group.length);
  const line = (a: string, b: string, c: string, d: string, e: string) =>
    `${pad(a, gw)} ${pad(b, cw)} ${pad(c, 20)} ${pad(d, 20)} ${e}`;
  return [
    "",
    line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"),
    line(s.group, s.coordinator, s.strategy || MISSING, s.state, String(s.members)),
  ];
}

/**
 * Kafka's reset-offsets table: GROUP TOPIC PARTITION NEW-OFFSET.
 *
 * @example
 * ```ts
 * import { formatResetTable } from "./consumer_groups.ts";
 * formatResetTable([{ group: "g", topic: "t", partition: 0, offset: 0 }]);
 * ```
 */
export function formatResetTable(
  rows: readonly { group: string; topic: string; partition: number; offset: number }[],
): string[] {
  if (rows.length === 0) return [];
  const g = Math.max(15, ...rows.map((r) => r.group.length));
  const t = Math.max(15, ...rows.map((r) => r.topic.length));
  const line = (a: string, b: string, c: string, d: string) =>
    `${pad(a, g)} ${pad(b, t)} ${pad(c, 10)} ${d}`;
  return [
    "",
    line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"),
    ...rows.map((r) => line(r.group, r.topic, String(r.partition), String(r.offset))),
  ];
}

/**
 * Parses a reset scope `topic` or `topic:0,2` (Kafka's `--topic` of `--reset-offsets`).
 *
 * @example
 * ```ts
 * import { parseTopicScope } from "./consumer_groups.ts";
 * parseTopicScope("orders:0,2"); // { topic: "orders", partitions: [0, 2] }
 * ```
 */
export function parseTopicScope(text: string): { topic: string; partitions?: number[] } {
  const at = text.indexOf(":");
  if (at < 0) return { topic: text };
  const partitions = text.slice(at + 1).split(",").map((p) => Number(p.trim()));
  if (partitions.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new UsageError(`consumer-groups: invalid partitions in --topic ${text}`);
  }
  return { topic: text.slice(0, at), partitions };
}

/**
 * Parses `--to-datetime` ('YYYY-MM-DDTHH:mm:SS.sss' with optional zone, local time otherwise).
 *
 * @example
 * ```ts
 * import { parseDatetime } from "./consumer_groups.ts";
 * parseDatetime("2024-01-01T00:00:00.000Z"); // 1704067200000
 * ```
 */
export function parseDatetime(text: string): number {
  const full = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  const ms = full === null
    ? NaN
    : Date.parse(full[1] === undefined ? text.replace(/(:\d{2})(?=Z|[+-]|$)/, "$1.000") : text);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `consumer-groups: Error parsing timestamp '${text}'. It does not match the format yyyy-MM-dd'T'HH:mm:ss.SSS`,
    );
  }
  return ms;
}

async function runConsumerGroups(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(
    "consumer-groups",
    negativeValues(optionalValue(args, "--state")),
    FLAGS,
  );
  const actions = (["list", "describe", "delete", "reset-offsets"] as const).filter((a) =>
    values[a]
  );
  if (actions.length !== 1) {
    throw new UsageError(
      "consumer-groups: Command must include exactly one action: --list, --describe, --delete, --reset-offsets",
    );
  }
  const bootstrap = requireBootstrap("consumer-groups", values["bootstrap-server"]);
  const action = actions[0]!;
  const groups = values.group ?? [];
  if (action !== "list" && groups.length === 0 && !values["all-groups"]) {
    throw new UsageError(
      `consumer-groups: Option [${action}] takes one of these options: [all-groups], [group]`,
    );
  }
  if (action === "reset-offsets") checkResetArgs(values);
  return await runTool(io, "Error: Executing consumer group command failed due to ", async () => {
    const admin = new Admin(
      clientOptions(bootstrap, await loadProperties(values["command-config"])),
    );
    try {
      const ids = values["all-groups"]
        ? (await admin.listGroups()).filter((g) =>
          g.protocolType === "consumer" || g.protocolType === ""
        )
          .map((g) => g.groupId)
        : groups;
      if (action === "list") return await listGroups(admin, values.state, io);
      if (action === "delete") return await deleteGroups(admin, ids, io);
      if (action === "reset-offsets") return await resetOffsets(admin, ids, values, io);
      let code = 0;
      for (const id of [...ids].sort()) {
        code = Math.max(code, await describeGroup(admin, id, values, io));
      }
      return code;
    } finally {
      admin.close();
    }
  });
}

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

function checkResetArgs(values: Values): void {
  const targets = ["to-earliest", "to-latest", "to-current", "to-offset", "shift-by", "to-datetime"]
    .filter((k) => values[k as keyof Values] !== undefined && values[k as keyof Values] !== false);
  if (targets.length !== 1) {
    throw new UsageError(
      "consumer-groups: Option [reset-offsets] takes exactly one of: --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime",
    );
  }
  if (!values.topic && !values["all-topics"]) {
    throw new UsageError(
      "consumer-groups: One of the reset scopes should be defined: --all-topics, --topic.",
    );
  }
  if (values["dry-run"] && values.execute) {
    throw new UsageError(
      "consumer-groups: Option [reset-offsets] only accepts one of [execute, dry-run]",
    );
  }
}

async function listGroups(admin: Admin, states: string | undefined, io: CliIo): Promise<number> {
  const groups = (await admin.listGroups()).filter((g) =>
    g.protocolType === "consumer" || g.protocolType === ""
  );
  if (states === undefined) {
    for (const g of groups) io.out(g.groupId);
    return 0;
  }
  const wanted = states.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  const shown = groups.filter((g) => wanted.length === 0 || wanted.includes(g.state.toLowerCase()));
  const width = Math.max(15, ...shown.map((g) => g.groupId.length)) + 10;
  io.out(`${pad("GROUP", width)} ${pad("STATE", 20)}`);
  for (const g of shown) io.out(`${pad(g.groupId, width)} ${pad(g.state, 20)}`);
  return 0;
}

async function deleteGroups(admin: Admin, ids: string[], io: CliIo): Promise<number> {
  const results = await admin.deleteGroups(ids);
  const failed = results.filter((r) => r.error !== undefined);
  const ok = results.filter((r) => r.error === undefined).map((r) => `'${r.groupId}'`);
  if (failed.length === 0) {
    io.out(`Deletion of requested consumer groups (${ok.join(", ")}) was successful.`);
    return 0;
  }
  io.err("Error: Deletion of some consumer groups failed:");
  for (const f of failed) {
    io.err(`* Group '${f.groupId}' could not be deleted due to: ${f.error!.message}`);
  }
  if (ok.length > 0) io.out(`These consumer groups were deleted successfully: ${ok.join(", ")}`);
  return 1;
}

/** Prints the group's warning for its state; false when there is nothing more to show. */
function reportState(g: GroupDescription, io: CliIo): boolean {
  if (g.state === "Dead") {
    io.err(`Error: Consumer group '${g.groupId}' does not exist.`);
    return false;
  }
  if (g.state === "Empty") io.err(`\nConsumer group '${g.groupId}' has no active members.`);
  if (g.state === "PreparingRebalance" || g.state === "CompletingRebalance") {
    io.err(`\nWarning: Consumer group '${g.groupId}' is rebalancing.`);
  }
  return true;
}

async function describeGroup(admin: Admin, id: string, values: Values, io: CliIo) {
  const [g] = await admin.describeGroups([id]);
  if (g === undefined || !reportState(g, io)) return 1;
  if (values.members) {
    const members = g.members.map((m) => ({
      consumerId: m.memberId,
      host: m.clientHost,
      clientId: m.clientId,
      partitions: m.assignment.length,
    }));
    if (members.length > 0) { for (const line of formatMembersTable(id, members)) io.out(line); }
    return 0;
  }
  if (values.state !== undefined) {
    const c = g.coordinator;
    for (
      const line of formatStateTable({
        group: id,
        coordinator: `${c.host}:${c.port}  (${c.nodeId})`,
        strategy: g.protocol,
        state: g.state,
        members: g.members.length,
      })
    ) io.out(line);
    return 0;
  }
  const committed = await admin.listConsumerGroupOffsets(id);
  const offsetOf = new Map(committed.map((c) => [`${c.topic}-${c.partition}`, c.offset]));
  const assigned: { tp: TopicPartition; consumerId: string; host: string; clientId: string }[] = [];
  const members = [...g.members].filter((m) => m.assignment.length > 0)
    .sort((a, b) => b.assignment.length - a.assignment.length);
  for (const m of members) {
    const tps = [...m.assignment].sort((a, b) =>
      a.topic.localeCompare(b.topic) || a.partition - b.partition
    );
    for (const tp of tps) {
      assigned.push({ tp, consumerId: m.memberId, host: m.clientHost, clientId: m.clientId });
    }
  }
  const taken = new Set(assigned.map((a) => `${a.tp.topic}-${a.tp.partition}`));
  for (const c of committed) {
    if (!taken.has(`${c.topic}-${c.partition}`)) {
      assigned.push({ tp: c, consumerId: MISSING, host: MISSING, clientId: MISSING });
    }
  }
  if (assigned.length === 0) return 0;
  const ends = await admin.listOffsets(assigned.map((a) => ({ ...a.tp, spec: "latest" as const })));
  const rows: OffsetRow[] = assigned.map((a, i) => ({
    group: id,
    topic: a.tp.topic,
    partition: a.tp.partition,
    currentOffset: offsetOf.get(`${a.tp.topic}-${a.tp.partition}`),
    logEndOffset: ends[i]?.error === undefined ? ends[i]?.offset : undefined,
    consumerId: a.consumerId,
    host: a.host,
    clientId: a.clientId,
  }));
  for (const line of formatOffsetsTable(rows)) io.out(line);
  return 0;
}

async function resetOffsets(admin: Admin, ids: string[], values: Values, io: CliIo) {
  const dryRun = !values.execute;
  if (!values.execute && !values["dry-run"]) {
    io.err(
      "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.",
    );
  }
  const rows: { group: string; topic: string; partition: number; offset: number }[] = [];
  let code = 0;
  for (const id of ids) {
    const [g] = await admin.describeGroups([id]);
    if (g !== undefined && g.state !== "Empty" && g.state !== "Dead") {
      io.err(
        `Error: Assignments can only be reset if the group '${id}' is inactive, but the current state is ${g.state}.`,
      );
      code = 1;
      continue;
    }
    const committed = await admin.listConsumerGroupOffsets(id);
    const partitions = await resetScope(admin, values, committed);
    const offsets = await newOffsets(admin, partitions, committed, values, io);
    if (!dryRun) await admin.alterConsumerGroupOffsets(id, offsets);
    for (const o of offsets) rows.push({ group: id, ...o });
  }
  for (const line of formatResetTable(rows)) io.out(line);
  return code;
}

async function resetScope(
  admin: Admin,
  values: Values,
  committed: readonly TopicPartition[],
): Promise<TopicPartition[]> {
  if (values["all-topics"]) return committed.map(({ topic, partition }) => ({ topic, partition }));
  const out: TopicPartition[] = [];
  for (const scope of (values.topic ?? []).map(parseTopicScope)) {
    if (scope.partitions !== undefined) {
      out.push(...scope.partitions.map((partition) => ({ topic: scope.topic, partition })));
    } else {
      const [d] = await admin.describeTopics([scope.topic]);
      out.push(...d!.partitions.map((p) => ({ topic: scope.topic, partition: p.partition })));
    }
  }
  return out;
}

async function newOffsets(
  admin: Admin,
  partitions: readonly TopicPartition[],
  committed: readonly (TopicPartition & { offset: number })[],
  values: Values,
  io: CliIo,
): Promise<(TopicPartition & { offset: number })[]> {
  if (partitions.length === 0) return [];
  const list = async (spec: "earliest" | "latest") => {
    const r = await admin.listOffsets(partitions.map((p) => ({ ...p, spec })));
    for (const x of r) if (x.error !== undefined) throw x.error;
    return r.map((x) => x.offset);
  };
  if (values["to-earliest"]) return zip(partitions, await list("earliest"));
  if (values["to-latest"]) return zip(partitions, await list("latest"));
  if (values["to-datetime"] !== undefined) {
    const ts = parseDatetime(values["to-datetime"]);
    const found = await admin.listOffsets(
      partitions.map((p) => ({ ...p, spec: { timestamp: ts } })),
    );
    const latest = await list("latest");
    return zip(
      partitions,
      found.map((f, i) => (f.error !== undefined || f.offset < 0 ? latest[i]! : f.offset)),
    );
  }
  const current = (p: TopicPartition) => {
    const c = committed.find((x) => x.topic === p.topic && x.partition === p.partition);
    if (c === undefined) {
      throw new UsageError(
        `consumer-groups: The partition ${p.topic}-${p.partition} does not have a committed offset`,
      );
    }
    return c.offset;
  };
  let wanted: number[];
  if (values["to-current"]) wanted = partitions.map(current);
  else if (values["to-offset"] !== undefined) {
    const n = intFlag("consumer-groups", "--to-offset", values["to-offset"])!;
    wanted = partitions.map(() => n);
  } else {
    const n = intFlag("consumer-groups", "--shift-by", values["shift-by"])!;
    wanted = partitions.map((p) => current(p) + n);
  }
  const [earliest, latest] = [await list("earliest"), await list("latest")];
  return zip(
    partitions,
    wanted.map((w, i) => {
      const tp = `${partitions[i]!.topic}-${partitions[i]!.partition}`;
      if (w < earliest[i]!) {
        io.err(
          `WARN: New offset (${w}) is lower than earliest offset for topic partition ${tp}. Value will be set to ${
            earliest[i]
          }`,
        );
        return earliest[i]!;
      }
      if (w > latest[i]!) {
        io.err(
          `WARN: New offset (${w}) is higher than latest offset for topic partition ${tp}. Value will be set to ${
            latest[i]
          }`,
        );
        return latest[i]!;
      }
      return w;
    }),
  );
}

function zip(partitions: readonly TopicPartition[], offsets: readonly number[]) {
  return partitions.map((p, i) => ({
    topic: p.topic,
    partition: p.partition,
    offset: offsets[i]!,
  }));
}
