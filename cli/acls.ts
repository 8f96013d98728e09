/**
 * `acls`: Kafka's `kafka-acls.sh` (AclCommand): adds, removes and lists ACLs through
 * CreateAcls/DeleteAcls/DescribeAcls, with its flags (`--add/--remove/--list`,
 * `--allow-principal/--deny-principal`, `--allow-host/--deny-host`, `--operation`,
 * `--topic/--group/--cluster/--transactional-id`, `--resource-pattern-type`, the
 * `--producer`/`--consumer` shortcuts) and its output.
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  CLUSTER_RESOURCE_NAME,
  OPERATION_NAMES,
  PATTERN_TYPE_NAMES,
  PatternType,
  Permission,
  PERMISSION_NAMES,
  RESOURCE_OPERATIONS,
  RESOURCE_TYPE_NAMES,
  ResourceType,
} from "../core/security/acl.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { clientOptions, loadProperties, requireBootstrap, runTool, stdinLines } from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts acls --bootstrap-server <host:port> (--add | --remove | --list) [options]

Adds, removes and lists ACLs (kafka-acls.sh). The brokers must run with
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer.

Options:
  --bootstrap-server <host:port>   The Kafka server to connect to. Required.
  --command-config <file>          A client properties file.
  --add | --remove | --list        The action.
  --topic <name>                   A topic (repeatable; * for every topic).
  --group <name>                   A consumer group (repeatable).
  --transactional-id <id>          A transactional id (repeatable).
  --cluster                        The cluster.
  --resource-pattern-type <type>   LITERAL (default) or PREFIXED; for --list/--remove also ANY or MATCH.
  --allow-principal <p>            A principal to allow, e.g. User:alice (repeatable).
  --deny-principal <p>             A principal to deny (repeatable).
  --allow-host <host>              A host the allowed principals may connect from (default *).
  --deny-host <host>               A host the denied principals are denied from (default *).
  --operation <op>                 Read, Write, Create, Delete, Alter, Describe, ClusterAction,
                                   DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable;
                                   default All).
  --producer                       Shortcut: WRITE, DESCRIBE and CREATE on the topics (and WRITE,
                                   DESCRIBE on the transactional ids; IDEMPOTENT_WRITE with --idempotent).
  --consumer                       Shortcut: READ and DESCRIBE on the topics, READ on the groups.
  --idempotent                     With --producer: allow idempotent produce on the cluster.
  --principal <p>                  With --list: only the ACLs of this principal (repeatable).
  --force                          With --remove: do not ask for confirmation.
  -h, --help                       Show this help.`;

const FLAGS = {
  "bootstrap-server": { type: "string" },
  "command-config": { type: "string" },
  "add": { type: "boolean" },
  "remove": { type: "boolean" },
  "list": { type: "boolean" },
  "topic": { type: "string", multiple: true },
  "group": { type: "string", multiple: true },
  "transactional-id": { type: "string", multiple: true },
  "cluster": { type: "boolean" },
  "resource-pattern-type": { type: "string" },
  "allow-principal": { type: "string", multiple: true },
  "deny-principal": { type: "string", multiple: true },
  "allow-host": { type: "string", multiple: true },
  "deny-host": { type: "string", multiple: true },
  "operation": { type: "string", multiple: true },
  "producer": { type: "boolean" },
  "consumer": { type: "boolean" },
  "idempotent": { type: "boolean" },
  "principal": { type: "string", multiple: true },
  "force": { type: "boolean" },
} as const;

/** `acls`: the registry entry. */
export const aclsCommand: Subcommand = {
  name: "acls",
  summary: "Add, remove and list ACLs (kafka-acls.sh).",
  usage: USAGE,
  run: runAcls,
};

/** A resource pattern as the command names it. */
export interface ResourcePattern {
  resourceType: number;
  name: string;
  patternType: number;
}

/** The parsed command line of `acls`. */
export interface AclsArgs {
  bootstrapServer: string;
  commandConfig?: string;
  action: "add" | "remove" | "list";
  /** The ACLs to add, or the filters to remove/list with. */
  acls: AclBinding[];
  /** --list/--remove: the resources to look at (empty: every resource). */
  resources: ResourcePattern[];
  /** --list: principals to restrict to. */
  principals: string[];
  force: boolean;
}

const OPERATION_BY_FLAG: Record<string, number> = Object.fromEntries(
  Object.entries(OPERATION_NAMES).map(([code, name]) => [
    name.toLowerCase().replace(/_/g, ""),
    Number(code),
  ]),
);

function operationOf(text: string): number {
  const op = OPERATION_BY_FLAG[text.toLowerCase().replace(/[_-]/g, "")];
  if (op === undefined) {
    throw new UsageError(
      `acls: Invalid operation ${text}; valid: Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All`,
    );
  }
  return op;
}

function patternTypeOf(text: string | undefined, action: AclsArgs["action"]): number {
  const t = (text ?? "literal").toLowerCase();
  const types: Record<string, number> = {
    literal: PatternType.LITERAL,
    prefixed: PatternType.PREFIXED,
    any: PatternType.ANY,
    match: PatternType.MATCH,
  };
  const type = types[t];
  if (type === undefined) {
    throw new UsageError(
      `acls: Invalid resource-pattern-type ${text}; valid: LITERAL, PREFIXED, ANY, MATCH`,
    );
  }
  if (action === "add" && type !== PatternType.LITERAL && type !== PatternType.PREFIXED) {
    throw new UsageError(
      `acls: A '--resource-pattern-type' value of '${t.toUpperCase()}' is not valid when adding acls.`,
    );
  }
  return type;
}

function checkPrincipal(p: string): string {
  if (!/^[^:]+:.+$/.test(p)) {
    throw new UsageError(`acls: Invalid principal ${p}: expected <type>:<name>, e.g. User:alice`);
  }
  return p;
}

/**
 * Parses and checks an `acls` command line as AclCommand does.
 *
 * @example
 * ```ts
 * import { parseAclsArgs } from "./acls.ts";
 * parseAclsArgs(["--bootstrap-server", "b:9092", "--add", "--allow-principal", "User:alice",
 *   "--operation", "Read", "--topic", "orders"]).acls.length; // 1
 * ```
 */
export function parseAclsArgs(args: string[]): AclsArgs {
  const { values: v } = parseFlags("acls", args, FLAGS);
  const bootstrapServer = requireBootstrap("acls", v["bootstrap-server"]);
  const actions = (["add", "remove", "list"] as const).filter((a) => v[a] === true);
  if (actions.length !== 1) {
    throw new UsageError("acls: Command must include exactly one action: --list, --add, --remove.");
  }
  const action = actions[0]!;
  const patternType = patternTypeOf(v["resource-pattern-type"], action);
  const resources: ResourcePattern[] = [
    ...(v.topic ?? []).map((name) => ({ resourceType: ResourceType.TOPIC, name, patternType })),
    ...(v.group ?? []).map((name) => ({ resourceType: ResourceType.GROUP, name, patternType })),
    ...(v["transactional-id"] ?? []).map((name) => ({
      resourceType: ResourceType.TRANSACTIONAL_ID,
      name,
      patternType,
    })),
    ...(v.cluster === true
      ? [{ resourceType: ResourceType.CLUSTER, name: CLUSTER_RESOURCE_NAME, patternType }]
      : []),
  ];
  if (v.producer === true && v.consumer === true && action !== "add") {
    throw new UsageError("acls: --producer and --consumer go with --add only together");
  }
  if ((v.producer === true || v.consumer === true) && action === "list") {
    throw new UsageError(
      "acls: Option --producer/--consumer is only allowed with --add or --remove",
    );
  }
  if (
    v.consumer === true && (v.topic ?? []).length === 0 ||
    v.consumer === true && (v.group ?? []).length === 0
  ) {
    throw new UsageError("acls: With --consumer you must specify a --topic and a --group");
  }
  if (
    v.producer === true && (v.topic ?? []).length === 0 &&
    (v["transactional-id"] ?? []).length === 0
  ) {
    throw new UsageError(
      "acls: With --producer you must specify a --topic or a --transactional-id",
    );
  }
  if (action !== "list" && resources.length === 0) {
    throw new UsageError(
      "acls: You must provide at least one resource: --topic <topic> or --cluster or --group <group> or --transactional-id <id>",
    );
  }
  const allow = (v["allow-principal"] ?? []).map(checkPrincipal);
  const deny = (v["deny-principal"] ?? []).map(checkPrincipal);
  if (action === "add" && allow.length + deny.length === 0) {
    throw new UsageError(
      "acls: You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.",
    );
  }
  const allowHosts = v["allow-host"] ?? ["*"];
  const denyHosts = v["deny-host"] ?? ["*"];
  const explicitOps = (v.operation ?? []).map(operationOf);

  /** Operations per resource for the shortcuts, else the explicit ones (default ALL). */
  const opsFor = (r: ResourcePattern): number[] => {
    if (v.producer === true || v.consumer === true) {
      const ops: number[] = [];
      if (v.producer === true) {
        if (r.resourceType === ResourceType.TOPIC) {
          ops.push(AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE);
        }
        if (r.resourceType === ResourceType.TRANSACTIONAL_ID) {
          ops.push(AclOperation.WRITE, AclOperation.DESCRIBE);
        }
        if (r.resourceType === ResourceType.CLUSTER && v.idempotent === true) {
          ops.push(AclOperation.IDEMPOTENT_WRITE);
        }
      }
      if (v.consumer === true) {
        if (r.resourceType === ResourceType.TOPIC) {
          ops.push(AclOperation.READ, AclOperation.DESCRIBE);
        }
        if (r.resourceType === ResourceType.GROUP) ops.push(AclOperation.READ);
      }
      return [...new Set(ops)];
    }
    const ops = explicitOps.length === 0 ? [AclOperation.ALL] : explicitOps;
    for (const op of ops) {
      if (op !== AclOperation.ALL && !RESOURCE_OPERATIONS[r.resourceType]!.includes(op)) {
        throw new UsageError(
          `acls: ResourceType ${RESOURCE_TYPE_NAMES[r.resourceType]} only supports operations ${
            RESOURCE_OPERATIONS[r.resourceType]!.map((o) => OPERATION_NAMES[o]).join(",")
          },ALL`,
        );
      }
    }
    return ops;
  };
  let targets = resources;
  if (v.producer === true && v.idempotent === true && action !== "list") {
    targets = [...targets, {
      resourceType: ResourceType.CLUSTER,
      name: CLUSTER_RESOURCE_NAME,
      patternType: PatternType.LITERAL,
    }];
  }
  const acls: AclBinding[] = [];
  if (action !== "list") {
    for (const r of targets) {
      for (const operation of opsFor(r)) {
        const entries = [
          ...allow.flatMap((principal) =>
            allowHosts.map((host) => ({ principal, host, permissionType: Permission.ALLOW }))
          ),
          ...deny.flatMap((principal) =>
            denyHosts.map((host) => ({ principal, host, permissionType: Permission.DENY }))
          ),
        ];
        for (const e of entries) {
          acls.push({
            resourceType: r.resourceType,
            resourceName: r.name,
            patternType: r.patternType,
            operation,
            ...e,
          });
        }
      }
    }
  }
  return {
    bootstrapServer,
    commandConfig: v["command-config"],
    action,
    acls,
    resources: targets,
    principals: (v.principal ?? []).map(checkPrincipal),
    force: v.force === true,
  };
}

/** Kafka's ResourcePattern toString. */
export function formatPattern(
  r: { resourceType: number; resourceName: string; patternType: number },
): string {
  return `ResourcePattern(resourceType=${
    RESOURCE_TYPE_NAMES[r.resourceType] ?? r.resourceType
  }, name=${r.resourceName}, patternType=${PATTERN_TYPE_NAMES[r.patternType] ?? r.patternType})`;
}

/** Kafka's AccessControlEntry toString. */
export function formatEntry(a: AclBinding): string {
  return `(principal=${a.principal}, host=${a.host}, operation=${
    OPERATION_NAMES[a.operation] ?? a.operation
  }, permissionType=${PERMISSION_NAMES[a.permissionType] ?? a.permissionType})`;
}

function groupByResource(acls: readonly AclBinding[]): Map<string, AclBinding[]> {
  const out = new Map<string, AclBinding[]>();
  for (const a of acls) {
    const key = formatPattern(a);
    out.set(key, [...(out.get(key) ?? []), a]);
  }
  return out;
}

function resourceFilter(r: ResourcePattern | null, principal: string | null): AclFilter {
  return {
    resourceType: r?.resourceType ?? ResourceType.ANY,
    resourceName: r?.name ?? null,
    patternType: r?.patternType ?? PatternType.ANY,
    principal,
    host: null,
    operation: AclOperation.ANY,
    permissionType: Permission.ANY,
  };
}

async function printCurrent(admin: Admin, io: CliIo, filters: AclFilter[]): Promise<void> {
  const found: AclBinding[] = [];
  for (const f of filters) found.push(...await admin.describeAcls(f));
  for (const [pattern, acls] of groupByResource(found)) {
    io.out(
      `Current ACLs for resource \`${pattern}\`: \n \t${acls.map(formatEntry).join("\n \t")} \n`,
    );
  }
}

async function runAcls(args: string[], io: CliIo): Promise<number> {
  const parsed = parseAclsArgs(args);
  return await runTool(io, "Error while executing ACL command: ", async () => {
    const props = await loadProperties(parsed.commandConfig);
    const admin = new Admin(clientOptions(parsed.bootstrapServer, props));
    try {
      if (parsed.action === "add") {
        for (const [pattern, acls] of groupByResource(parsed.acls)) {
          io.out(
            `Adding ACLs for resource \`${pattern}\`: \n \t${
              acls.map(formatEntry).join("\n \t")
            } \n`,
          );
        }
        await admin.createAcls(parsed.acls);
        await printCurrent(
          admin,
          io,
          parsed.resources.map((r) => resourceFilter({ ...r, patternType: r.patternType }, null)),
        );
        return 0;
      }
      if (parsed.action === "list") {
        const principals = parsed.principals.length === 0 ? [null] : parsed.principals;
        const resources = parsed.resources.length === 0 ? [null] : parsed.resources;
        await printCurrent(
          admin,
          io,
          resources.flatMap((r) => principals.map((p) => resourceFilter(r, p))),
        );
        return 0;
      }
      // --remove: the given entries, or every ACL of the resources when no principal was named.
      const filters: AclFilter[] = parsed.acls.length > 0
        ? parsed.acls.map((a) => ({ ...a, principal: a.principal, host: a.host }))
        : parsed.resources.map((r) => resourceFilter(r, null));
      if (!parsed.force) {
        io.out(
          `Are you sure you want to remove ACLs: \n \t${
            parsed.acls.length > 0 ? parsed.acls.map(formatEntry).join("\n \t") : "(all ACLs)"
          } \n from resource filter \`${
            parsed.resources.map((r) =>
              formatPattern({
                resourceType: r.resourceType,
                resourceName: r.name,
                patternType: r.patternType,
              })
            ).join(", ")
          }\`? (y/n)`,
        );
        let answer = "";
        for await (const line of stdinLines(undefined, 1)) answer = line;
        if (answer.trim().toLowerCase() !== "y") return 1;
      }
      await admin.deleteAcls(filters);
      await printCurrent(admin, io, parsed.resources.map((r) => resourceFilter(r, null)));
      return 0;
    } finally {
      admin.close();
    }
  });
}
