/**
 * `configs`: Kafka's `kafka-configs.sh` (ConfigCommand) for topics and brokers: `--describe`
 * (dynamic configs, or `--all`) and `--alter --add-config/--delete-config` (incremental); for
 * users, their SCRAM credentials (KIP-554): `--add-config 'SCRAM-SHA-512=[iterations=8192,password=...]'`,
 * `--delete-config SCRAM-SHA-512` and `--describe`. User and client quotas are not built.
 *
 * @module
 */

import {
  Admin,
  CONFIG_SOURCE_NAMES,
  type ConfigEntry,
  ResourceType,
  type ScramAlteration,
  type UserScramCredentials,
} from "../net/client/admin.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { SCRAM_MECHANISMS } from "../core/security/scram.ts";
import { parseScramArgument } from "../core/security/scram_arguments.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  loadProperties,
  negativeValues,
  parseConfigList,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts configs --bootstrap-server <host:port> (--describe | --alter) [options]

Describe or change the configs of topics and brokers, and users' SCRAM credentials
(kafka-configs.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  --describe                      List the configs of the entity.
  --alter                         Change the configs of the entity.
  --entity-type <topics|brokers|users>  The entity type.
  --entity-name <name>            The topic name, broker id or user name.
  --entity-default                The cluster-wide broker default (with --entity-type brokers).
  --topic <name>                  Same as --entity-type topics --entity-name <name>.
  --broker <id>                   Same as --entity-type brokers --entity-name <id>.
  --broker-defaults               Same as --entity-type brokers --entity-default.
  --user <name>                   Same as --entity-type users --entity-name <name>.
  --add-config <k=v,k2=[a,b]>     Configs to set (with --alter); for users
                                  'SCRAM-SHA-256=[iterations=4096,password=<secret>]'.
  --delete-config <k,k2>          Configs to remove (with --alter).
  --all                           With --describe: every config, not only dynamic ones.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "describe": { type: "boolean" },
  "alter": { type: "boolean" },
  "entity-type": { type: "string" },
  "entity-name": { type: "string" },
  "entity-default": { type: "boolean" },
  "topic": { type: "string" },
  "broker": { type: "string" },
  "broker-defaults": { type: "boolean" },
  "user": { type: "string" },
  "add-config": { type: "string" },
  "delete-config": { type: "string", multiple: true },
  "all": { type: "boolean" },
} as const;

/** `configs`: the registry entry. */
export const configsCommand: Subcommand = {
  name: "configs",
  summary: "Describe and alter topic and broker configs and SCRAM users (kafka-configs.sh).",
  usage: USAGE,
  run: runConfigs,
};

/** The parsed command line of `configs`. */
export interface ConfigsArgs {
  action: "describe" | "alter";
  bootstrapServer: string;
  commandConfig?: string;
  entityType: "topics" | "brokers" | "users";
  /** undefined: every entity of the type; "": the broker default. */
  entityName?: string;
  add: Map<string, string>;
  remove: string[];
  all: boolean;
}

/**
 * Parses and checks a `configs` command line as ConfigCommandOptions.checkArgs does.
 *
 * @example
 * ```ts
 * import { parseConfigsArgs } from "./configs.ts";
 * parseConfigsArgs(["--bootstrap-server", "b:9092", "--describe", "--topic", "t"]).entityName; // "t"
 * ```
 */
export function parseConfigsArgs(args: string[]): ConfigsArgs {
  const { values } = parseFlags("configs", negativeValues(args), FLAGS);
  if (Number(values.describe ?? false) + Number(values.alter ?? false) !== 1) {
    throw new UsageError("configs: Command must include exactly one action: --describe, --alter");
  }
  const bootstrapServer = requireBootstrap("configs", values["bootstrap-server"]);
  let entityType = values["entity-type"];
  let entityName = values["entity-name"];
  if (values.topic !== undefined) [entityType, entityName] = ["topics", values.topic];
  if (values.broker !== undefined) [entityType, entityName] = ["brokers", values.broker];
  if (values.user !== undefined) [entityType, entityName] = ["users", values.user];
  if (values["broker-defaults"] || values["entity-default"]) {
    entityType ??= "brokers";
    entityName = "";
  }
  if (entityType !== "topics" && entityType !== "brokers" && entityType !== "users") {
    throw new UsageError(
      `configs: --entity-type must be topics, brokers or users${
        entityType ? ` (got ${entityType})` : ""
      }${entityType === "clients" ? ": client quotas are not built in kraftling" : ""}`,
    );
  }
  if (entityType === "users" && entityName === "") {
    throw new UsageError(
      "configs: --entity-default applies to brokers only (user quotas are not built)",
    );
  }
  if (entityType === "topics" && entityName === "") {
    throw new UsageError("configs: --entity-default applies to brokers only");
  }
  if (entityType === "brokers" && entityName !== undefined && entityName !== "") {
    if (!/^\d+$/.test(entityName)) {
      throw new UsageError(
        `configs: The entity name for brokers must be a valid integer broker id, but it is: ${entityName}`,
      );
    }
  }
  const action = values.describe ? "describe" : "alter";
  if (entityType === "users") checkUserConfigs(values["add-config"], values["delete-config"]);
  const add = values["add-config"] === undefined
    ? new Map<string, string>()
    : configList(values["add-config"], entityType);
  const remove = (values["delete-config"] ?? []).flatMap((d) => d.split(",")).map((d) => d.trim())
    .filter((d) => d !== "");
  if (action === "alter") {
    if (entityName === undefined) {
      throw new UsageError("configs: --alter needs --entity-name or --entity-default");
    }
    if (add.size === 0 && remove.length === 0) {
      throw new UsageError("configs: --alter needs --add-config or --delete-config");
    }
    const both = remove.find((k) => add.has(k));
    if (both !== undefined) {
      throw new UsageError(
        `configs: Config ${both} appears in both --add-config and --delete-config`,
      );
    }
  } else if (add.size > 0 || remove.length > 0) {
    throw new UsageError("configs: --add-config and --delete-config go with --alter only");
  }
  return {
    action,
    bootstrapServer,
    commandConfig: values["command-config"],
    entityType,
    entityName,
    add,
    remove,
    all: values.all ?? false,
  };
}

/** `--add-config`, whose values for users hold passwords: its errors must not repeat them. */
function configList(text: string, entityType: string): Map<string, string> {
  if (entityType !== "users") return parseConfigList(text);
  try {
    return parseConfigList(text);
  } catch {
    throw new UsageError(
      "configs: --add-config for users must be MECHANISM=[iterations=N,password=SECRET],...",
    );
  }
}

/** Users carry SCRAM credentials only: their quotas are not built. */
function checkUserConfigs(add: string | undefined, remove: string[] | undefined): void {
  const keys = [
    ...(add === undefined ? [] : configList(add, "users").keys()),
    ...(remove ?? []).flatMap((d) => d.split(",")).map((d) => d.trim()).filter((d) => d !== ""),
  ];
  const other = keys.find((k) => !SCRAM_MECHANISMS.has(k.toUpperCase()));
  if (other !== undefined) {
    throw new UsageError(
      `configs: ${other} is not a SCRAM mechanism (SCRAM-SHA-256, SCRAM-SHA-512); user quotas are not built in kraftling`,
    );
  }
  for (const [key, value] of add === undefined ? [] : configList(add, "users")) {
    const parsed = parseScramArgument(`${key}=[${value}]`);
    if ("error" in parsed) throw new UsageError(`configs: ${parsed.error}`);
  }
}

/**
 * Kafka's describe line of a user's SCRAM credentials.
 *
 * @example
 * ```ts
 * import { formatScramCredentials } from "./configs.ts";
 * formatScramCredentials({ user: "alice", credentials: [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }] });
 * // "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=4096"
 * ```
 */
export function formatScramCredentials(u: UserScramCredentials): string {
  return `SCRAM credential configs for user-principal '${u.user}' are ${
    u.credentials.map((c) => `${c.mechanism}=iterations=${c.iterations}`).join(", ")
  }`;
}

/**
 * One ConfigCommand describe line: `  name=value sensitive=false synonyms={SOURCE:name=value, ...}`.
 *
 * @example
 * ```ts
 * import { formatConfigEntry } from "./configs.ts";
 * formatConfigEntry({ name: "retention.ms", value: "1000", source: 1, isDefault: false, readOnly: false,
 *   sensitive: false, synonyms: [{ name: "retention.ms", value: "1000", source: 1 }] });
 * // "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}"
 * ```
 */
export function formatConfigEntry(e: ConfigEntry): string {
  const synonyms = e.synonyms.map((s) =>
    `${CONFIG_SOURCE_NAMES[s.source] ?? "UNKNOWN"}:${s.name}=${e.sensitive ? null : s.value}`
  ).join(", ");
  return `  ${e.name}=${
    e.sensitive ? null : e.value
  } sensitive=${e.sensitive} synonyms={${synonyms}}`;
}

/**
 * The describe header, e.g. "Dynamic configs for topic t are:".
 *
 * @example
 * ```ts
 * import { describeHeader } from "./configs.ts";
 * describeHeader("brokers", "", false); // "Default configs for brokers in the cluster are:"
 * ```
 */
export function describeHeader(type: "topics" | "brokers", name: string, all: boolean): string {
  if (type === "brokers" && name === "") return "Default configs for brokers in the cluster are:";
  return `${all ? "All" : "Dynamic"} configs for ${
    type === "topics" ? "topic" : "broker"
  } ${name} are:`;
}

function resourceType(type: "topics" | "brokers"): number {
  return type === "topics" ? ResourceType.TOPIC : ResourceType.BROKER;
}

async function runConfigs(args: string[], io: CliIo): Promise<number> {
  const a = parseConfigsArgs(args);
  return await runTool(
    io,
    // The arguments may carry SCRAM passwords: they never reach the output.
    `Error while executing config command with args '${
      args.join(" ").replace(/password=[^,\]\s]*/gi, "password=[hidden]")
    }': `,
    async () => {
      const admin = new Admin(
        clientOptions(a.bootstrapServer, await loadProperties(a.commandConfig)),
      );
      try {
        return a.action === "alter" ? await alter(admin, a, io) : await describe(admin, a, io);
      } finally {
        admin.close();
      }
    },
  );
}

async function alterUser(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  const user = a.entityName!;
  const alterations: ScramAlteration[] = [];
  for (const [key, value] of a.add) {
    const parsed = parseScramArgument(`${key}=[${value}]`);
    if ("error" in parsed) throw new UsageError(`configs: ${parsed.error}`);
    if (parsed.password === null) {
      throw new UsageError(`configs: ${key} needs password=<secret>`);
    }
    alterations.push({
      kind: "upsert",
      user,
      mechanism: parsed.mechanism.name,
      password: parsed.password,
      iterations: parsed.iterations,
    });
  }
  for (const key of a.remove) {
    alterations.push({ kind: "delete", user, mechanism: key.toUpperCase() });
  }
  await admin.alterUserScramCredentials(alterations);
  io.out(`Completed updating config for user ${user}.`);
  return 0;
}

async function describeUsers(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  let users: UserScramCredentials[];
  try {
    users = await admin.describeUserScramCredentials(
      a.entityName === undefined ? undefined : [a.entityName],
    );
  } catch (error) {
    // Kafka's ConfigCommand prints nothing for a user without credentials.
    if (error instanceof KafkaError && error.code === ErrorCode.RESOURCE_NOT_FOUND) return 0;
    throw error;
  }
  for (const u of users) io.out(formatScramCredentials(u));
  return 0;
}

async function alter(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  if (a.entityType === "users") return await alterUser(admin, a, io);
  const name = a.entityName!;
  if (a.entityType === "topics") await admin.describeTopics([name]);
  await admin.alterConfigs([{
    type: resourceType(a.entityType),
    name,
    set: Object.fromEntries(a.add),
    delete: a.remove,
  }]);
  if (a.entityType === "topics") io.out(`Completed updating config for topic ${name}.`);
  else if (name === "") io.out("Completed updating default config for brokers in the cluster.");
  else io.out(`Completed updating config for broker ${name}.`);
  return 0;
}

async function describe(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  if (a.entityType === "users") return await describeUsers(admin, a, io);
  let names: string[];
  if (a.entityName !== undefined) names = [a.entityName];
  else if (a.entityType === "topics") names = await admin.listTopics({ includeInternal: true });
  else names = [...(await admin.describeCluster()).brokers.map((b) => String(b.nodeId)), ""];
  if (a.entityType === "topics" && a.entityName !== undefined) {
    const all = await admin.listTopics({ includeInternal: true });
    if (!all.includes(a.entityName)) {
      io.err(`The topic '${a.entityName}' doesn't exist and doesn't have dynamic config.`);
      return 1;
    }
  }
  for (const name of names) {
    const dynamicSource = a.entityType === "topics" ? 1 : name === "" ? 3 : 2;
    const [result] = await admin.describeConfigs([{ type: resourceType(a.entityType), name }], {
      includeSynonyms: true,
    });
    io.out(describeHeader(a.entityType, name, a.all));
    const entries = (result?.entries ?? [])
      .filter((e) => a.all || e.source === dynamicSource)
      .sort((x, y) => x.name.localeCompare(y.name));
    for (const e of entries) io.out(formatConfigEntry(e));
  }
  return 0;
}
