/**
 * The metadata image as the file tree of Kafka's `kafka-metadata-shell.sh`, and the shell's
 * commands over it (`ls`, `cd`, `cat`, `tree`, `find`, `pwd`, `history`, `exit`, `help`).
 *
 * The tree follows Kafka's `MetadataImageNode` layout: `/image/topics/byName/<topic>/<partition>`,
 * `/image/topics/byId/<id>/...`, `/image/cluster/brokers/<id>`, `/image/cluster/controllers/<id>`,
 * `/image/features/metadataVersion`, `/image/features/finalized_<name>`,
 * `/image/configs/<TYPE>:<name>/<key>`, `/image/acls/byId/<id>`, `/image/clientQuotas/<entity>/<key>`,
 * `/image/producerIds/nextProducerId`, `/image/scram/<mechanism>/<user>`,
 * `/image/delegationToken/<id>` and the file `/image/provenance`. Leaves print what Kafka's
 * `toString()` prints (`PartitionRegistration(replicas=[1], ...)`), so output can be compared.
 * Directories are lazy: listing `/image` of a 1M-partition image touches no partition.
 *
 * @module
 */

import type {
  BrokerRegistration,
  ControllerRegistration,
  Endpoint,
  MetadataImage,
  PartitionRegistration,
  SupportedFeature,
  TopicImage,
} from "../core/metadata/image.ts";
import type { AccessControlEntryRecord } from "../net/protocol/generated/access_control_entry_record.ts";
import type { ClientQuotaRecord } from "../net/protocol/generated/client_quota_record.ts";
import { levelText } from "./features.ts";
import type { CliIo } from "./command.ts";

/** One node of the shell's tree: a directory of named children, or a file of text lines. */
export type ShellNode =
  | { readonly kind: "dir"; names(): string[]; child(name: string): ShellNode | undefined }
  | { readonly kind: "file"; lines(): string[] };

/** Where the image the shell shows came from (Kafka's `MetadataProvenance`). */
export interface Provenance {
  /** Offset of the last record applied, -1 when none. */
  readonly lastContainedOffset: number;
  readonly lastContainedEpoch: number;
  readonly lastContainedLogTimeMs: number;
}

function leaf(text: string): ShellNode {
  return { kind: "file", lines: () => [text] };
}

/** A directory whose children are listed by `names` and built on demand by `child`. */
function dir(names: () => Iterable<string>, child: (name: string) => ShellNode | undefined) {
  return { kind: "dir" as const, names: () => [...names()], child };
}

/** A directory of fixed children. */
function fixedDir(children: Record<string, () => ShellNode>): ShellNode {
  return dir(() => Object.keys(children), (name) => {
    const make = Object.hasOwn(children, name) ? children[name] : undefined;
    return make?.();
  });
}

/** A directory of leaves whose texts come from a map. */
function mapDir<K, V>(
  map: ReadonlyMap<K, V>,
  keyOf: (name: string) => K | undefined,
  nameOf: (key: K) => string,
  node: (value: V) => ShellNode,
): ShellNode {
  return dir(() => [...map.keys()].map(nameOf), (name) => {
    const key = keyOf(name);
    if (key === undefined || nameOf(key) !== name) return undefined;
    const value = map.get(key);
    return value === undefined ? undefined : node(value);
  });
}

const list = (values: readonly (number | string)[]) => `[${values.join(", ")}]`;

const SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const RECOVERY_STATES = ["RECOVERED", "RECOVERING"];
const CONFIG_TYPES: Record<number, string> = {
  0: "UNKNOWN",
  2: "TOPIC",
  4: "BROKER",
  8: "BROKER_LOGGER",
  16: "CLIENT_METRICS",
  32: "GROUP",
};
const RESOURCE_TYPES = [
  "UNKNOWN",
  "ANY",
  "TOPIC",
  "GROUP",
  "CLUSTER",
  "TRANSACTIONAL_ID",
  "DELEGATION_TOKEN",
  "USER",
];
const PATTERN_TYPES = ["UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"];
const OPERATIONS = [
  "UNKNOWN",
  "ANY",
  "ALL",
  "READ",
  "WRITE",
  "CREATE",
  "DELETE",
  "ALTER",
  "DESCRIBE",
  "CLUSTER_ACTION",
  "DESCRIBE_CONFIGS",
  "ALTER_CONFIGS",
  "IDEMPOTENT_WRITE",
  "CREATE_TOKENS",
  "DESCRIBE_TOKENS",
];
const PERMISSIONS = ["UNKNOWN", "ANY", "DENY", "ALLOW"];
const SCRAM_MECHANISMS: Record<string, number> = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 };

function named(table: readonly string[] | Record<number, string>, id: number): string {
  return (table as Record<number, string>)[id] ?? `UNKNOWN(${id})`;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Kafka's `PartitionRegistration.toString()`.
 *
 * @example
 * ```ts ignore
 * partitionText(p); // "PartitionRegistration(replicas=[1], directories=[...], isr=[1], ..., leader=1, ...)"
 * ```
 */
export function partitionText(p: PartitionRegistration): string {
  return `PartitionRegistration(replicas=${list(p.replicas)}, directories=${
    list(p.directories)
  }, isr=${list(p.isr)}, removingReplicas=${list(p.removingReplicas)}, addingReplicas=${
    list(p.addingReplicas)
  }, elr=${list(p.eligibleLeaderReplicas)}, lastKnownElr=${
    list(p.lastKnownElr)
  }, leader=${p.leader}, ` +
    `leaderRecoveryState=${
      named(RECOVERY_STATES, p.leaderRecoveryState)
    }, leaderEpoch=${p.leaderEpoch}, partitionEpoch=${p.partitionEpoch})`;
}

function endpointsText(endpoints: readonly Endpoint[]): string {
  return list(
    [...endpoints].sort((a, b) => byString(a.name, b.name)).map((e) =>
      `Endpoint(listenerName='${e.name}', securityProtocol=${
        named(SECURITY_PROTOCOLS, e.securityProtocol)
      }, host='${e.host}', port=${e.port})`
    ),
  );
}

function featuresText(features: readonly SupportedFeature[]): string {
  return `{${
    [...features].sort((a, b) => byString(a.name, b.name))
      .map((f) => `${f.name}: ${f.minSupportedVersion}-${f.maxSupportedVersion}`).join(", ")
  }}`;
}

/** Kafka's `BrokerRegistration.toString()`. */
export function brokerText(b: BrokerRegistration): string {
  return `BrokerRegistration(id=${b.id}, epoch=${b.epoch}, incarnationId=${b.incarnationId}, ` +
    `listeners=${endpointsText(b.endpoints)}, supportedFeatures=${
      featuresText(b.supportedFeatures)
    }, ` +
    `rack=${b.rack === null ? "Optional.empty" : `Optional[${b.rack}]`}, fenced=${b.fenced}, ` +
    `inControlledShutdown=${b.inControlledShutdown}, isMigratingZkBroker=${b.isMigratingZkBroker}, ` +
    `directories=${list([...b.logDirs].sort(byString))})`;
}

/** Kafka's `ControllerRegistration.toString()`. */
export function controllerText(c: ControllerRegistration): string {
  return `ControllerRegistration(id=${c.id}, incarnationId=${c.incarnationId}, ` +
    `zkMigrationReady=${c.zkMigrationReady}, listeners=${endpointsText(c.endpoints)}, ` +
    `supportedFeatures=${featuresText(c.supportedFeatures)})`;
}

/** Kafka's `StandardAcl.toString()`. */
function aclText(a: AccessControlEntryRecord): string {
  return `StandardAcl(resourceType=${named(RESOURCE_TYPES, a.resourceType)}, ` +
    `resourceName=${a.resourceName}, patternType=${named(PATTERN_TYPES, a.patternType)}, ` +
    `principal=${a.principal}, host=${a.host}, operation=${named(OPERATIONS, a.operation)}, ` +
    `permissionType=${named(PERMISSIONS, a.permissionType)})`;
}

/** Kafka's ClientQuotasImageNode entity names: `clientId(a)_ip(b)_user(c)`, escaped. */
function quotaEntityName(record: ClientQuotaRecord): string {
  const escape = (s: string | null) =>
    (s ?? "").replaceAll("\\", "\\\\").replaceAll("(", "\\(").replaceAll(")", "\\)");
  const parts: string[] = [];
  for (const [type, label] of [["client-id", "clientId"], ["ip", "ip"], ["user", "user"]]) {
    const e = record.entity.find((x) => x.entityType === type);
    if (e !== undefined) parts.push(`${label}(${escape(e.entityName)})`);
  }
  return parts.join("_");
}

/** Java's `Double.toString` for the quota values people set (1048576 -> "1048576.0"). */
function doubleText(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e7 ? value.toFixed(1) : String(value);
}

function clientQuotasNode(quotas: ReadonlyMap<string, ClientQuotaRecord>): ShellNode {
  const byEntity = new Map<string, Map<string, number>>();
  for (const q of quotas.values()) {
    const name = quotaEntityName(q);
    if (!byEntity.has(name)) byEntity.set(name, new Map());
    byEntity.get(name)!.set(q.key, q.value);
  }
  return mapDir(
    byEntity,
    (n) => n,
    (n) => n,
    (values) => mapDir(values, (n) => n, (n) => n, (v) => leaf(doubleText(v))),
  );
}

function topicNode(t: TopicImage): ShellNode {
  return dir(
    () => ["name", "id", ...[...t.partitions.keys()].map(String)],
    (name) => {
      if (name === "name") return leaf(t.name);
      if (name === "id") return leaf(t.id);
      if (!/^(0|[1-9]\d*)$/.test(name)) return undefined;
      const p = t.partitions.get(Number(name));
      return p === undefined ? undefined : leaf(partitionText(p));
    },
  );
}

const intKey = (name: string) => (/^-?(0|[1-9]\d*)$/.test(name) ? Number(name) : undefined);

function configsNode(image: MetadataImage): ShellNode {
  // Our key is "<type id>:<name>"; Kafka names the child "<TYPE>:<name>", or "<TYPE>" for the
  // cluster-wide default (an empty name).
  const byName = new Map<string, ReadonlyMap<string, string>>();
  for (const [key, values] of image.configs) {
    if (values.size === 0) continue;
    const colon = key.indexOf(":");
    const type = named(CONFIG_TYPES, Number(key.slice(0, colon)));
    const name = key.slice(colon + 1);
    byName.set(name === "" ? type : `${type}:${name}`, values);
  }
  return mapDir(byName, (n) => n, (n) => n, (values) => mapDir(values, (n) => n, (n) => n, leaf));
}

function featuresNode(image: MetadataImage): ShellNode {
  const others = [...image.features.keys()].filter((n) => n !== "metadata.version");
  return dir(() => ["metadataVersion", ...others.map((n) => `finalized_${n}`)], (name) => {
    if (name === "metadataVersion") {
      return leaf(levelText("metadata.version", image.features.get("metadata.version") ?? 0));
    }
    if (!name.startsWith("finalized_")) return undefined;
    const feature = name.slice("finalized_".length);
    if (feature === "metadata.version") return undefined;
    const level = image.features.get(feature);
    return level === undefined ? undefined : leaf(String(level));
  });
}

function scramNode(image: MetadataImage): ShellNode {
  return dir(() => Object.keys(SCRAM_MECHANISMS), (name) => {
    const mechanism = SCRAM_MECHANISMS[name];
    if (mechanism === undefined || !Object.hasOwn(SCRAM_MECHANISMS, name)) return undefined;
    const users = new Map(
      [...image.scramCredentials.values()].filter((s) => s.mechanism === mechanism)
        .map((s) => [s.name, s]),
    );
    return mapDir(users, (n) => n, (n) => n, (s) =>
      leaf(
        `ScramCredentialData(salt=${hex(s.salt)}, storedKey=${hex(s.storedKey)}, ` +
          `serverKey=${hex(s.serverKey)}, iterations=${s.iterations})`,
      ));
  });
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Java's ISO_ZONED_DATE_TIME of an instant in UTC: `2024-05-01T10:00:00.5Z[UTC]`. */
function isoUtc(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "unknown";
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z") + "[UTC]";
}

/**
 * The root of the shell's tree for an image: `/image/...` as Kafka lays it out.
 *
 * @example
 * ```ts
 * import { EMPTY_IMAGE } from "../core/metadata/image.ts";
 * import { imageTree } from "./metadata_shell_tree.ts";
 * const root = imageTree(EMPTY_IMAGE, { lastContainedOffset: -1, lastContainedEpoch: -1, lastContainedLogTimeMs: 0 });
 * root.kind === "dir" && root.names(); // ["image"]
 * ```
 */
export function imageTree(image: MetadataImage, provenance: Provenance): ShellNode {
  const topics = image.topics;
  return fixedDir({
    image: () =>
      fixedDir({
        acls: () =>
          fixedDir({ byId: () => mapDir(image.acls, (n) => n, (n) => n, (a) => leaf(aclText(a))) }),
        clientQuotas: () => clientQuotasNode(image.clientQuotas),
        cluster: () =>
          fixedDir({
            brokers: () =>
              mapDir(image.cluster.brokers, intKey, String, (b) => leaf(brokerText(b))),
            controllers: () =>
              mapDir(image.cluster.controllers, intKey, String, (c) => leaf(controllerText(c))),
          }),
        configs: () => configsNode(image),
        delegationToken: () =>
          mapDir(image.delegationTokens, (n) => n, (n) => n, (t) =>
            leaf(
              `DelegationTokenData(tokenId=${t.tokenId}, owner=${t.owner}, requester=${t.requester}, ` +
                `renewers=${
                  list(t.renewers)
                }, issueTimestamp=${t.issueTimestamp}, maxTimestamp=${t.maxTimestamp}, ` +
                `expirationTimestamp=${t.expirationTimestamp})`,
            )),
        features: () => featuresNode(image),
        producerIds: () => fixedDir({ nextProducerId: () => leaf(String(image.nextProducerId)) }),
        provenance: () =>
          leaf(
            `offset ${provenance.lastContainedOffset}, epoch ${provenance.lastContainedEpoch}, ` +
              `time ${isoUtc(provenance.lastContainedLogTimeMs)}`,
          ),
        scram: () => scramNode(image),
        topics: () =>
          fixedDir({
            byId: () => mapDir(topics.byId, (n) => n, (n) => n, topicNode),
            byName: () => mapDir(topics.byName, (n) => n, (n) => n, topicNode),
          }),
      }),
  });
}

// ---------------------------------------------------------------------------------------------
// Paths and globs (Kafka's CommandUtils and GlobComponent)

/** Splits a path into components and resolves `.` and `..` (`..` at the root stays there). */
export function normalizePath(path: string, cwd: readonly string[] = []): string[] {
  const out = path.startsWith("/") ? [] : [...cwd];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

/**
 * A glob path component as a regular expression (`*`, `?`, `{a,b}`, `[abc]`, `[!a]`, `\` escapes),
 * or null when the component is a literal name. A malformed glob is treated as a literal, as
 * Kafka's GlobComponent does.
 *
 * @example
 * ```ts
 * import { globRegExp } from "./metadata_shell_tree.ts";
 * globRegExp("orders-*")?.test("orders-eu"); // true
 * globRegExp("orders"); // null
 * ```
 */
export function globRegExp(component: string): RegExp | null {
  let out = "^";
  let literal = true;
  let group = false;
  for (let i = 0; i < component.length;) {
    const c = component[i++]!;
    if (c === "\\") {
      const next = component[i++];
      out += next === undefined ? "\\\\" : escapeRegExp(next);
      continue;
    }
    if (c === "[") {
      const bracket = bracketClass(component, i);
      if (bracket === null) return null; // unterminated: a literal, as in Kafka
      out += bracket.regExp;
      i = bracket.end;
    } else if (c === "{") {
      if (group) return null; // nested groups: a literal, as in Kafka
      group = true;
      out += "(?:(?:";
    } else if (c === "," && group) {
      out += ")|(?:";
    } else if (c === "}" && group) {
      group = false;
      out += "))";
    } else if (c === "?" || c === "*") {
      out += c === "?" ? "." : ".*";
    } else {
      out += escapeRegExp(c);
      continue;
    }
    literal = false;
  }
  if (group || literal) return null;
  try {
    return new RegExp(out + "$", "u");
  } catch {
    return null;
  }
}

/** A `[...]` class starting after the `[` at `from`: its regular expression and where it ends. */
function bracketClass(glob: string, from: number): { regExp: string; end: number } | null {
  let i = from;
  let out = "[";
  if (glob[i] === "!" || glob[i] === "^") {
    out += "^";
    i++;
  }
  if (glob[i] === "]") {
    out += "\\]";
    i++;
  }
  while (i < glob.length) {
    const c = glob[i++]!;
    if (c === "]") return { regExp: out + "]", end: i };
    const escaped = c === "\\" && i < glob.length ? glob[i++]! : c;
    out += /[[\]\\^-]/.test(escaped) && (escaped !== c || c === "[") ? `\\${escaped}` : escaped;
  }
  return null;
}

function escapeRegExp(c: string): string {
  return /[$()*+.?[\\\]^{|}\/]/.test(c) ? `\\${c}` : c;
}

/** One node a glob matched, with its absolute path components. */
export interface Match {
  readonly path: readonly string[];
  readonly node: ShellNode;
}

/** Every node a (possibly globbing) path matches, in sorted order; empty when none. */
export function resolveGlob(root: ShellNode, components: readonly string[]): Match[] {
  const out: Match[] = [];
  const visit = (node: ShellNode, at: number, path: string[]) => {
    if (at === components.length) {
      out.push({ path, node });
      return;
    }
    if (node.kind !== "dir") return;
    const component = components[at]!;
    const pattern = globRegExp(component);
    if (pattern === null) {
      const child = node.child(component);
      if (child !== undefined) visit(child, at + 1, [...path, component]);
      return;
    }
    for (const name of node.names().sort(byString)) {
      if (pattern.test(name)) visit(node.child(name)!, at + 1, [...path, name]);
    }
  };
  visit(root, 0, []);
  return out;
}

/** `/a/b` for components `["a", "b"]`, `/` for none. */
export function pathText(components: readonly string[]): string {
  return "/" + components.join("/");
}

// ---------------------------------------------------------------------------------------------
// The shell

/** Splits a command line into words; single and double quotes group, `\` escapes one character. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length && /[\s'"\\]/.test(line[i + 1]!)) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The commands and their one-line descriptions, as `help` prints them. */
export const SHELL_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ["cat <path>...", "Show the contents of metadata files."],
  ["cd [path]", "Set the current working directory (default /)."],
  ["exit", "Exit the metadata shell."],
  ["find [path]...", "Search for nodes in the directory hierarchy."],
  ["help", "Display this help message."],
  ["history [n]", "Print the last n commands of this session (default all)."],
  ["ls [path]...", "List metadata nodes."],
  ["pwd", "Print the current working directory."],
  ["tree <path>...", "Print a tree of metadata nodes and their contents."],
];

/**
 * One session of the metadata shell: a working directory and a history over one image's tree.
 * `run` executes one command line; errors are single lines on `io.err` and never throw.
 *
 * @example
 * ```ts
 * import { EMPTY_IMAGE } from "../core/metadata/image.ts";
 * import { imageTree, ShellSession } from "./metadata_shell_tree.ts";
 * const out: string[] = [];
 * const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
 * const shell = new ShellSession(imageTree(EMPTY_IMAGE, { lastContainedOffset: -1, lastContainedEpoch: -1, lastContainedLogTimeMs: 0 }), io);
 * shell.run("cd /image/topics");
 * shell.run("pwd"); // out: ["/image/topics"]
 * ```
 */
export class ShellSession {
  readonly #root: ShellNode;
  readonly #io: CliIo;
  #cwd: string[] = [];
  readonly #history: string[] = [];
  /** Commands that printed an error so far (one-shot mode exits 1 when any did). */
  errors = 0;
  /** Set by `exit`. */
  exited = false;

  constructor(root: ShellNode, io: CliIo) {
    this.#root = root;
    this.#io = io;
  }

  /** The working directory, e.g. `/image/topics`. */
  get cwd(): string {
    return pathText(this.#cwd);
  }

  /** Runs one command line (`ls /image`); blank lines do nothing. */
  run(line: string): void {
    const words = splitWords(line);
    const [command, ...args] = words;
    if (command === undefined) return;
    this.#history.push(line.trim());
    try {
      this.#dispatch(command, args);
    } catch (error) {
      this.#error(`${command}: ${(error as Error).message.split("\n")[0]}`);
    }
  }

  #error(line: string): void {
    this.errors++;
    this.#io.err(line);
  }

  #matches(path: string): Match[] {
    return resolveGlob(this.#root, normalizePath(path, this.#cwd));
  }

  #dispatch(command: string, args: string[]): void {
    switch (command) {
      case "ls":
        return this.#ls(args.length === 0 ? ["."] : args);
      case "cd":
        return this.#cd(args);
      case "cat":
      case "tree":
        if (args.length === 0) return this.#error(`${command}: missing path (see 'help')`);
        return args.forEach((a) => this.#print(command, a));
      case "find":
        return (args.length === 0 ? ["."] : args).forEach((a) => this.#find(a));
      case "pwd":
        if (args.length > 0) return this.#error(`pwd: unexpected argument ${args[0]}`);
        return this.#io.out(this.cwd);
      case "history":
        return this.#historyCommand(args);
      case "exit":
        this.exited = true;
        return;
      case "help":
        return this.#help();
      default:
        return this.#error(`${command}: unknown command (see 'help')`);
    }
  }

  #ls(targets: string[]): void {
    const files: string[] = [];
    const dirs: { name: string; children: string[] }[] = [];
    for (const target of targets) {
      const matches = this.#matches(target);
      if (matches.length === 0) this.#error(`ls: ${target}: no such file or directory.`);
      for (const { path, node } of matches) {
        const name = path.length === 0 ? "/" : path[path.length - 1]!;
        if (node.kind === "dir") dirs.push({ name, children: node.names().sort(byString) });
        else files.push(name);
      }
    }
    files.forEach((f) => this.#io.out(f));
    // Kafka's LsCommandHandler: a "name:" intro per directory when more than one thing is shown.
    const intro = files.length > 0 || dirs.length > 1;
    let first = files.length === 0;
    for (const d of dirs) {
      if (intro) {
        if (!first) this.#io.out("");
        this.#io.out(`${d.name}:`);
        first = false;
      }
      d.children.forEach((c) => this.#io.out(c));
    }
  }

  #cd(args: string[]): void {
    if (args.length > 1) return this.#error(`cd: too many arguments`);
    const target = args[0] ?? "/";
    const matches = this.#matches(target);
    if (matches.length === 0) return this.#error(`cd: ${target}: no such directory.`);
    const last = matches[matches.length - 1]!;
    if (last.node.kind !== "dir") return this.#error(`cd: ${target}: not a directory.`);
    this.#cwd = [...last.path];
  }

  #print(command: string, target: string): void {
    const matches = this.#matches(target);
    if (matches.length === 0) {
      return this.#error(`${command}: ${target}: no such file or directory.`);
    }
    for (const { node } of matches) {
      if (command === "cat" && node.kind === "dir") {
        this.#error(`cat: ${target}: is a directory`);
      } else {
        this.#printNode(node, "");
      }
    }
  }

  /** Kafka's ShellNodePrinter: `name:` per child, contents indented two spaces per level. */
  #printNode(node: ShellNode, indent: string): void {
    if (node.kind === "file") {
      node.lines().forEach((l) => this.#io.out(indent + l));
      return;
    }
    for (const name of node.names().sort(byString)) {
      this.#io.out(`${indent}${name}:`);
      this.#printNode(node.child(name)!, indent + "  ");
    }
  }

  #find(target: string): void {
    const matches = this.#matches(target);
    if (matches.length === 0) return this.#error(`find: ${target}: no such file or directory.`);
    const walk = (path: string, node: ShellNode) => {
      this.#io.out(path);
      if (node.kind !== "dir") return;
      for (const name of node.names().sort(byString)) {
        walk(path === "/" ? `/${name}` : `${path}/${name}`, node.child(name)!);
      }
    };
    // A glob prints the paths it matched; a literal path prints as it was typed, like Kafka.
    for (const { path, node } of matches) {
      walk(matches.length > 1 || /[*?{[]/.test(target) ? pathText(path) : target, node);
    }
  }

  #historyCommand(args: string[]): void {
    if (args.length > 1) return this.#error(`history: too many arguments`);
    let count = this.#history.length;
    if (args[0] !== undefined) {
      if (!/^\d+$/.test(args[0])) {
        return this.#error(`history: ${args[0]}: not a number of entries`);
      }
      count = Math.min(count, Number(args[0]));
    }
    const start = this.#history.length - count;
    for (let i = start; i < this.#history.length; i++) {
      this.#io.out(`${String(i + 1).padStart(5)}  ${this.#history[i]}`);
    }
  }

  #help(): void {
    this.#io.out("Welcome to the kraftling metadata shell (kafka-metadata-shell.sh).");
    this.#io.out("");
    const width = Math.max(...SHELL_COMMANDS.map(([c]) => c.length));
    for (const [usage, description] of SHELL_COMMANDS) {
      this.#io.out(`  ${usage.padEnd(width)}  ${description}`);
    }
    this.#io.out("");
    this.#io.out("Paths may be absolute or relative, use . and .., and glob with * ? [abc] {a,b}.");
  }
}
