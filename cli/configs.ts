/**
 * `configs`: Kafka's `kafka-configs.sh` (ConfigCommand) for topics and brokers: `--describe`
 * (dynamic configs, or `--all`) and `--alter --add-config/--delete-config` (incremental); for
 * users, their SCRAM credentials (KIP-554): `--add-config 'SCRAM-SHA-512=[iterations=8192,password=...]'`,
 * `--delete-config SCRAM-SHA-512` and `--describe`; and client quotas of users, client ids, both and
 * their defaults (`--add-config 'producer_byte_rate=1048576,consumer_byte_rate=2097152'`) through
 * AlterClientQuotas/DescribeClientQuotas.
 *
 * @module
 */

import {
  Admin,
  type ClientQuotaEntry,
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

Describe or change the configs of topics and brokers, users' SCRAM credentials, and the client
quotas of users and client ids (kafka-configs.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  --describe                      List the configs of the entity.
  --alter                         Change the configs of the entity.
  --entity-type <topics|brokers|users|clients|ips>  The entity type.
  --entity-name <name>            The topic name, broker id, user name or client id.
  --entity-default                The default broker, user or client id.
  --topic <name>                  Same as --entity-type topics --entity-name <name>.
  --broker <id>                   Same as --entity-type brokers --entity-name <id>.
  --broker-defaults               Same as --entity-type brokers --entity-default.
  --user <name>                   Same as --entity-type users --entity-name <name>.
  --client <id>                   Same as --entity-type clients --entity-name <id>; with --user,
                                  the quotas of that user with that client id.
  --user-defaults                 The default user (quotas).
  --client-defaults               The default client id (quotas).
  --add-config <k=v,k2=[a,b]>     Configs to set (with --alter); for users
                                  'SCRAM-SHA-256=[iterations=4096,password=<secret>]'; for users
                                  and clients the quotas producer_byte_rate, consumer_byte_rate,
                                  request_percentage, controller_mutation_rate; for ips
                                  connection_creation_rate.
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
  "client": { type: "string" },
  "user-defaults": { type: "boolean" },
  "client-defaults": { type: "boolean" },
  "add-config": { type: "string" },
  "delete-config": { type: "string", multiple: true },
  "all": { type: "boolean" },
} as const;

/** `configs`: the registry entry. */
export const configsCommand: Subcommand = {
  name: "configs",
  summary:
    "Describe and alter topic and broker configs, SCRAM users and client quotas (kafka-configs.sh).",
  usage: USAGE,
  run: runConfigs,
};

/** The parsed command line of `configs`. */
export interface ConfigsArgs {
  action: "describe" | "alter";
  bootstrapServer: string;
  commandConfig?: string;
  entityType: "topics" | "brokers" | "users" | "clients" | "ips";
  /** undefined: every entity of the type; "": the broker default. */
  entityName?: string;
  /**
   * For users and clients: the quota entity (a name, null for the default, absent when the
   * command does not name that type).
   */
  quotaEntity?: { user?: string | null; clientId?: string | null; ip?: string | null };
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
  if (values["broker-defaults"]) [entityType, entityName] = ["brokers", ""];
  if (values["entity-default"]) {
    entityType ??= "brokers";
    entityName = "";
  }
  // Users and client ids, alone or together, name client quotas (and users SCRAM credentials).
  const quotaEntity: { user?: string | null; clientId?: string | null; ip?: string | null } = {};
  if (entityType === "users") quotaEntity.user = entityName === "" ? null : entityName;
  if (entityType === "ips") {
    if (entityName === undefined) {
      // --entity-type ips alone: every IP quota.
    } else quotaEntity.ip = entityName === "" ? null : entityName;
  }
  if (entityType === "clients") quotaEntity.clientId = entityName === "" ? null : entityName;
  if (values.user !== undefined) quotaEntity.user = values.user;
  if (values["user-defaults"]) quotaEntity.user = null;
  if (values.client !== undefined) quotaEntity.clientId = values.client;
  if (values["client-defaults"]) quotaEntity.clientId = null;
  if ("user" in quotaEntity || "clientId" in quotaEntity) {
    entityType = "user" in quotaEntity ? "users" : "clients";
    entityName = "user" in quotaEntity ? (quotaEntity.user ?? "") : (quotaEntity.clientId ?? "");
    // An omitted name (--entity-type users alone) means every user.
    if (
      values["entity-name"] === undefined && !values["entity-default"] &&
      values.user === undefined && values.client === undefined && !values["user-defaults"] &&
      !values["client-defaults"]
    ) {
      entityName = undefined;
      if (entityType === "users") delete quotaEntity.user;
      else delete quotaEntity.clientId;
    }
  }
  if (
    entityType !== "topics" && entityType !== "brokers" && entityType !== "users" &&
    entityType !== "clients" && entityType !== "ips"
  ) {
    throw new UsageError(
      `configs: --entity-type must be topics, brokers, users, clients or ips${
        entityType ? ` (got ${entityType})` : ""
      }`,
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
  const isQuotaEntity = entityType === "users" || entityType === "clients" ||
    entityType === "ips";
  if (isQuotaEntity) {
    checkUserConfigs(
      values["add-config"],
      values["delete-config"],
      quotaEntity,
      entityType === "ips",
    );
  }
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
    if (isQuotaEntity && entityName === undefined) {
      throw new UsageError("configs: --alter needs --entity-name or --entity-default");
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
    ...(isQuotaEntity ? { quotaEntity } : {}),
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

/** The client quota keys Kafka's ConfigCommand accepts for users and clients. */
const QUOTA_KEYS = new Set([
  "producer_byte_rate",
  "consumer_byte_rate",
  "request_percentage",
  "controller_mutation_rate",
]);

/**
 * Users carry SCRAM credentials (a named user alone) and quotas; client ids carry quotas. Quota
 * values must be numbers; SCRAM arguments are checked before connecting (no password printed).
 */
function checkUserConfigs(
  add: string | undefined,
  remove: string[] | undefined,
  entity: { user?: string | null; clientId?: string | null; ip?: string | null },
  isIp = false,
): void {
  const added = add === undefined ? new Map<string, string>() : configList(add, "users");
  const keys = [
    ...added.keys(),
    ...(remove ?? []).flatMap((d) => d.split(",")).map((d) => d.trim()).filter((d) => d !== ""),
  ];
  const scramAllowed = typeof entity.user === "string" && !("clientId" in entity);
  if (isIp) {
    const other = keys.find((k) => k !== "connection_creation_rate");
    if (other !== undefined) {
      throw new UsageError(`configs: ${other} is not an IP quota (connection_creation_rate)`);
    }
    for (const [key, value] of added) {
      if (!/^\d+(\.\d+)?$/.test(value.trim())) {
        throw new UsageError(`configs: The quota ${key} must be a number, got '${value}'`);
      }
    }
    return;
  }
  for (const k of keys) {
    if (SCRAM_MECHANISMS.has(k.toUpperCase())) {
      if (!scramAllowed) {
        throw new UsageError(
          `configs: ${k} (SCRAM credentials) applies to a named user alone, not to client ids or defaults`,
        );
      }
    } else if (!QUOTA_KEYS.has(k)) {
      throw new UsageError(
        `configs: ${k} is not a SCRAM mechanism (SCRAM-SHA-256, SCRAM-SHA-512) or a client quota (${
          [...QUOTA_KEYS].join(", ")
        })`,
      );
    }
  }
  for (const [key, value] of added) {
    if (QUOTA_KEYS.has(key)) {
      if (!/^\d+(\.\d+)?$/.test(value.trim())) {
        throw new UsageError(`configs: The quota ${key} must be a number, got '${value}'`);
      }
      continue;
    }
    const parsed = parseScramArgument(`${key}=[${value}]`);
    if ("error" in parsed) throw new UsageError(`configs: ${parsed.error}`);
  }
}

/**
 * Kafka's describe line of one entity's client quotas.
 *
 * @example
 * ```ts
 * import { formatQuotas } from "./configs.ts";
 * formatQuotas({ entity: [{ entityType: "user", entityName: "alice" }],
 *   values: new Map([["producer_byte_rate", 1024]]) });
 * // "Quota configs for user-principal 'alice' are producer_byte_rate=1024.0"
 * ```
 */
export function formatQuotas(q: ClientQuotaEntry): string {
  const part = (type: string, label: string) => {
    const e = q.entity.find((x) => x.entityType === type);
    if (e === undefined) return null;
    return e.entityName === null ? `the default ${label}` : `${label} '${e.entityName}'`;
  };
  const who = [part("user", "user-principal"), part("client-id", "client-id"), part("ip", "ip")]
    .filter((x) => x !== null).join(", ");
  const values = [...q.values].sort(([a], [b]) => a < b ? -1 : 1)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v.toFixed(1) : String(v)}`).join(", ");
  return `Quota configs for ${who} are ${values}`;
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

function quotaEntityList(
  e: { user?: string | null; clientId?: string | null; ip?: string | null },
) {
  return [
    ...("ip" in e ? [{ entityType: "ip", entityName: e.ip ?? null }] : []),
    ...("user" in e ? [{ entityType: "user", entityName: e.user ?? null }] : []),
    ...("clientId" in e ? [{ entityType: "client-id", entityName: e.clientId ?? null }] : []),
  ];
}

function quotaEntityLabel(
  e: { user?: string | null; clientId?: string | null; ip?: string | null },
): string {
  const parts = [
    "ip" in e ? (e.ip === null ? "default ip" : `ip ${e.ip}`) : null,
    "user" in e ? (e.user === null ? "default user" : `user ${e.user}`) : null,
    "clientId" in e ? (e.clientId === null ? "default client" : `client ${e.clientId}`) : null,
  ].filter((x) => x !== null);
  return parts.join(", ");
}

async function alterQuotaEntity(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  const entity = a.quotaEntity!;
  const quotaOps = new Map<string, number | null>();
  const isQuota = (k: string) => QUOTA_KEYS.has(k) || k === "connection_creation_rate";
  for (const [k, v] of a.add) if (isQuota(k)) quotaOps.set(k, Number(v));
  for (const k of a.remove) if (isQuota(k)) quotaOps.set(k, null);
  if (quotaOps.size > 0) await admin.alterClientQuotas(quotaEntityList(entity), quotaOps);
  const scram = [...a.add.keys(), ...a.remove].some((k) => !isQuota(k));
  if (scram) return await alterUser(admin, a, io);
  io.out(`Completed updating config for ${quotaEntityLabel(entity)}.`);
  return 0;
}

async function alterUser(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  const user = a.entityName!;
  const alterations: ScramAlteration[] = [];
  for (const [key, value] of a.add) {
    if (QUOTA_KEYS.has(key)) continue;
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
    if (QUOTA_KEYS.has(key)) continue;
    alterations.push({ kind: "delete", user, mechanism: key.toUpperCase() });
  }
  await admin.alterUserScramCredentials(alterations);
  io.out(`Completed updating config for user ${user}.`);
  return 0;
}

async function describeQuotas(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<void> {
  const e = a.quotaEntity ?? {};
  const components = [
    ...("ip" in e
      ? [{ entityType: "ip", matchType: e.ip === null ? 1 : 0, match: e.ip ?? null }]
      : a.entityType === "ips"
      ? [{ entityType: "ip", matchType: 2, match: null }]
      : []),
    ...("user" in e
      ? [{ entityType: "user", matchType: e.user === null ? 1 : 0, match: e.user ?? null }]
      : a.entityType === "users"
      ? [{ entityType: "user", matchType: 2, match: null }]
      : []),
    ...("clientId" in e
      ? [{
        entityType: "client-id",
        matchType: e.clientId === null ? 1 : 0,
        match: e.clientId ?? null,
      }]
      : a.entityType === "clients"
      ? [{ entityType: "client-id", matchType: 2, match: null }]
      : []),
  ];
  for (const q of await admin.describeClientQuotas(components, true)) io.out(formatQuotas(q));
}

async function describeUsers(admin: Admin, a: ConfigsArgs, io: CliIo): Promise<number> {
  await describeQuotas(admin, a, io);
  if (
    a.entityType === "clients" || a.entityType === "ips" ||
    (a.quotaEntity !== undefined && "clientId" in a.quotaEntity)
  ) {
    return 0;
  }
  if (a.entityName === "") return 0; // the default user has quotas only
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
  if (a.entityType === "users" || a.entityType === "clients" || a.entityType === "ips") {
    return await alterQuotaEntity(admin, a, io);
  }
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
  if (a.entityType === "users" || a.entityType === "clients" || a.entityType === "ips") {
    return await describeUsers(admin, a, io);
  }
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
