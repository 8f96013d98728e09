/**
 * `storage`: Kafka's `kafka-storage.sh` (`StorageTool`): `random-uuid`, `format` and `info`, with
 * Kafka 3.9's flags, messages and exit codes.
 *
 * @module
 */

import { join } from "node:path";
import {
  type CliIo,
  parseFlags,
  requireFlag,
  type Subcommand,
  UsageError,
  wantsHelp,
} from "./command.ts";
import { readPropertiesFile, toServerConfig } from "./config_file.ts";
import { ConfigError } from "../core/config/config_def.ts";
import { type DynamicVoter, parseDynamicVoters } from "../core/config/endpoints.ts";
import {
  FEATURES,
  LATEST_PRODUCTION_METADATA_VERSION,
  METADATA_VERSION_FEATURE,
  type MetadataVersion,
  metadataVersionFromLevel,
  metadataVersionFromString,
  MINIMUM_BOOTSTRAP_METADATA_VERSION,
} from "../core/config/metadata_version.ts";
import type { ServerConfig } from "../core/config/server_config.ts";
import { isUuid, randomUuid } from "../net/protocol/uuid.ts";
import { writeBootstrapFiles } from "../storage/bootstrap.ts";
import {
  type MetadataRecord,
  MetadataRecordType,
} from "../net/protocol/generated/metadata_records.ts";
import { createUserScramCredentialRecord } from "../net/protocol/generated/user_scram_credential_record.ts";
import { parseScramArgument } from "../core/security/scram_arguments.ts";
import { credentialFromSaltedPassword, scramCredential } from "../core/security/scram.ts";
import {
  configuredDirectories,
  isReservedDirectoryId,
  META_PROPERTIES_FILE,
  type MetaProperties,
  readMetaProperties,
  writeMetaProperties,
} from "../storage/meta_properties.ts";

const FORMAT_USAGE =
  `Usage: deno run -A main.ts storage format -t <cluster-id> -c <server.properties> [options]

Format the Kafka log directories on this node (log.dirs and metadata.log.dir).

Options:
  -t, --cluster-id <id>            The cluster ID to use (see 'storage random-uuid'). Required.
  -c, --config <file>              The Kafka configuration file to use. Required.
  -g, --ignore-formatted           Skip directories that are already formatted.
  -r, --release-version <v>        The release version for the initial feature settings. The minimum
                                   is ${MINIMUM_BOOTSTRAP_METADATA_VERSION.version}; the default is ${LATEST_PRODUCTION_METADATA_VERSION.version}.
  -f, --feature <name=level>       The level of one feature, e.g. kraft.version=1. Repeatable.
  -s, --standalone                 Initialize a single-node dynamic controller quorum.
  -I, --initial-controllers <list> The initial dynamic quorum voters, the same on every node:
                                   0@host0:9093:<dir-uuid>,1@host1:9093:<dir-uuid>,...
  -N, --no-initial-controllers     Format without an initial voter set (brokers, and controllers
                                   joining an existing dynamic quorum).
  -S, --add-scram <credential>     A SCRAM user to bootstrap (KIP-900), e.g.
                                   'SCRAM-SHA-256=[name=admin,password=admin-secret]'
                                   (or saltedpassword=<base64>,salt=<base64>; iterations=4096
                                   by default). Repeatable.
  -h, --help                       Show this help.`;

const INFO_USAGE = `Usage: deno run -A main.ts storage info -c <server.properties>

Get information about the Kafka log directories on this node. Exits 1 when it finds problems.

Options:
  -c, --config <file>   The Kafka configuration file to use. Required.
  -h, --help            Show this help.`;

const RANDOM_UUID_USAGE = `Usage: deno run -A main.ts storage random-uuid

Print a random UUID, for use as a cluster ID.`;

const USAGE = `Usage: deno run -A main.ts storage <command> [options]

The Kafka storage tool (kafka-storage.sh).

Commands:
  info          Get information about the Kafka log directories on this node.
  format        Format the Kafka log directories on this node.
  random-uuid   Print a random UUID.

Run 'deno run -A main.ts storage <command> --help' for a command's options.`;

/** `storage`: the registry entry. */
export const storageCommand: Subcommand = {
  name: "storage",
  summary: "Format and inspect log directories (kafka-storage.sh: format, info, random-uuid).",
  usage: USAGE,
  handlesHelp: true,
  run: runStorage,
};

async function runStorage(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  const usages: Record<string, string> = {
    "format": FORMAT_USAGE,
    "info": INFO_USAGE,
    "random-uuid": RANDOM_UUID_USAGE,
  };
  if (command === undefined || command === "--help" || command === "-h") {
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? 1 : 0;
  }
  const usage = usages[command];
  if (usage === undefined) {
    throw new UsageError(
      `storage: unknown command ${command} (choose from 'info', 'format', 'random-uuid')`,
    );
  }
  if (wantsHelp(rest)) {
    io.out(usage);
    return 0;
  }
  try {
    if (command === "random-uuid") {
      parseFlags("storage random-uuid", rest, {});
      io.out(randomUuid());
      return 0;
    }
    if (command === "info") return await infoCommand(rest, io);
    return await formatCommand(rest, io);
  } catch (e) {
    if (e instanceof FormatError) {
      io.err(e.message);
      return 1;
    }
    throw e;
  }
}

/** A refusal of `storage format` (Kafka's `FormatterException`/`TerseFailure`): exit code 1. */
class FormatError extends Error {
  override name = "FormatError";
}

// ---------------------------------------------------------------- format

const FORMAT_FLAGS = {
  "cluster-id": { type: "string", short: "t" },
  "config": { type: "string", short: "c" },
  "ignore-formatted": { type: "boolean", short: "g" },
  "release-version": { type: "string", short: "r" },
  "feature": { type: "string", short: "f", multiple: true },
  "standalone": { type: "boolean", short: "s" },
  "initial-controllers": { type: "string", short: "I" },
  "no-initial-controllers": { type: "boolean", short: "N" },
  "add-scram": { type: "string", short: "S", multiple: true },
} as const;

function checkQuorumFlagsExclusive(v: {
  standalone?: boolean;
  "initial-controllers"?: string;
  "no-initial-controllers"?: boolean;
}): void {
  const given = [
    v.standalone ? "--standalone/-s" : null,
    v["initial-controllers"] !== undefined ? "--initial-controllers/-I" : null,
    v["no-initial-controllers"] ? "--no-initial-controllers/-N" : null,
  ].filter((x) => x !== null);
  if (given.length > 1) {
    throw new UsageError(`argument ${given[1]}: not allowed with argument ${given[0]}`);
  }
}

/** Parses `--feature name=level` values (StorageTool.parseNameAndLevel). */
function parseFeatures(values: readonly string[]): Map<string, number> {
  const features = new Map<string, number>();
  for (const text of values) {
    const eq = text.indexOf("=");
    if (eq < 0) {
      throw new FormatError(`Can't parse feature=level string ${text}: equals sign not found.`);
    }
    const name = text.slice(0, eq).trim();
    const levelText = text.slice(eq + 1).trim();
    const level = Number(levelText);
    if (!/^-?\d+$/.test(levelText) || level < -32768 || level > 32767) {
      throw new FormatError(
        `Can't parse feature=level string ${text}: unable to parse ${levelText} as a short.`,
      );
    }
    features.set(name, level);
  }
  return features;
}

function effectiveReleaseVersion(
  flag: string | undefined,
  features: ReadonlyMap<string, number>,
  config: ServerConfig,
): MetadataVersion {
  let version: MetadataVersion;
  try {
    const level = features.get(METADATA_VERSION_FEATURE);
    if (level !== undefined) {
      if (flag !== undefined) {
        throw new FormatError(
          `Use --release-version instead of --feature ${METADATA_VERSION_FEATURE}=X to avoid ambiguity.`,
        );
      }
      version = metadataVersionFromLevel(level);
    } else if (flag !== undefined) {
      version = metadataVersionFromString(flag);
    } else if (config.interBrokerProtocolVersion !== null) {
      version = metadataVersionFromString(config.interBrokerProtocolVersion);
    } else {
      version = LATEST_PRODUCTION_METADATA_VERSION;
    }
  } catch (e) {
    if (e instanceof RangeError) throw new FormatError(e.message);
    throw e;
  }
  if (!version.isProduction && !config.unstableFeatureVersionsEnable) {
    throw new FormatError(`${METADATA_VERSION_FEATURE} ${version.version} is not yet stable.`);
  }
  if (version.featureLevel < MINIMUM_BOOTSTRAP_METADATA_VERSION.featureLevel) {
    throw new FormatError(
      `Bootstrap metadata.version before ${MINIMUM_BOOTSTRAP_METADATA_VERSION.version} are not supported. Can't load metadata from format command`,
    );
  }
  return version;
}

/** Formatter.calculateEffectiveFeatureLevels and effectiveKRaftFeatureLevel. */
function effectiveFeatureLevels(
  requested: ReadonlyMap<string, number>,
  release: MetadataVersion,
  hasDynamicQuorum: boolean,
): Map<string, number> {
  const supported = FEATURES.map((f) => f.name);
  const levels = new Map<string, number>([[METADATA_VERSION_FEATURE, release.featureLevel]]);
  for (const [name, level] of requested) {
    if (name === METADATA_VERSION_FEATURE) continue;
    const def = FEATURES.find((f) => f.name === name);
    if (def === undefined) {
      throw new FormatError(
        `Unsupported feature: ${name}. Supported features are: ${supported.join(", ")}`,
      );
    }
    if (level < 0 || level > def.maxLevel) {
      throw new FormatError(`No feature:${name} with feature level ${level}`);
    }
    levels.set(name, level);
  }
  const kraft = requested.get("kraft.version");
  if (kraft === 0 && hasDynamicQuorum) {
    throw new FormatError(
      "Cannot set kraft.version to 0 if controller.quorum.voters is empty and one of the flags " +
        "--standalone, --initial-controllers, or --no-initial-controllers is used. For dynamic " +
        "controllers support, try removing the --feature flag for kraft.version.",
    );
  }
  if (kraft !== undefined && kraft > 0 && !hasDynamicQuorum) {
    throw new FormatError(
      `Cannot set kraft.version to ${kraft} unless controller.quorum.voters is empty and one of ` +
        "the flags --standalone, --initial-controllers, or --no-initial-controllers is used. For " +
        "dynamic controllers support, try using one of --standalone, --initial-controllers, or " +
        "--no-initial-controllers and removing controller.quorum.voters.",
    );
  }
  levels.set("kraft.version", kraft ?? (hasDynamicQuorum ? 1 : 0));
  for (const f of FEATURES) if (!levels.has(f.name)) levels.set(f.name, f.defaultLevel);
  return levels;
}

function standaloneVoter(config: ServerConfig): DynamicVoter {
  if (!config.isController) throw new FormatError("You can only use --standalone on a controller.");
  const listener = config.advertisedControllerListeners[0];
  if (listener === undefined) throw new FormatError("No controller listeners found.");
  return {
    nodeId: config.nodeId,
    host: listener.host === "" ? "localhost" : listener.host,
    port: listener.port,
    directoryId: randomUuid(),
  };
}

function initialVoters(
  flags: {
    standalone?: boolean;
    "initial-controllers"?: string;
    "no-initial-controllers"?: boolean;
  },
  config: ServerConfig,
): DynamicVoter[] | null {
  const wantsDynamic = flags.standalone || flags["initial-controllers"] !== undefined;
  if (wantsDynamic && config.quorumVoters.length > 0) {
    throw new FormatError(
      "You cannot specify controller.quorum.voters and format the node with " +
        "--initial-controllers or --standalone. If you want to use dynamic quorum, please remove " +
        "controller.quorum.voters and specify controller.quorum.bootstrap.servers instead.",
    );
  }
  if (flags.standalone) return [standaloneVoter(config)];
  if (flags["initial-controllers"] !== undefined) {
    try {
      return parseDynamicVoters(flags["initial-controllers"]);
    } catch (e) {
      if (e instanceof ConfigError) throw new FormatError(e.message);
      throw e;
    }
  }
  if (!flags["no-initial-controllers"] && config.isController && config.quorumVoters.length === 0) {
    throw new FormatError(
      "Because controller.quorum.voters is not set on this controller, you must specify one of " +
        "the following: --standalone, --initial-controllers, or --no-initial-controllers.",
    );
  }
  return null;
}

/** The state of one directory before formatting (MetaPropertiesEnsemble.Loader). */
type DirState =
  | { kind: "empty" }
  | { kind: "formatted"; meta: MetaProperties }
  | { kind: "error"; reason: string };

async function loadDirState(dir: string): Promise<DirState> {
  try {
    const stat = await Deno.stat(dir);
    if (!stat.isDirectory) return { kind: "error", reason: `${dir} is not a directory` };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "empty" };
    return { kind: "error", reason: (e as Error).message };
  }
  try {
    const meta = await readMetaProperties(dir);
    return meta === null ? { kind: "empty" } : { kind: "formatted", meta };
  } catch (e) {
    return { kind: "error", reason: (e as Error).message };
  }
}

async function formatCommand(args: string[], io: CliIo): Promise<number> {
  const { values: v } = parseFlags("storage format", args, FORMAT_FLAGS);
  checkQuorumFlagsExclusive(v);
  const clusterId = requireFlag("storage format", "--cluster-id/-t", v["cluster-id"]);
  const configPath = requireFlag("storage format", "--config/-c", v.config);
  const props = await readPropertiesFile(configPath);
  if ((props.get("process.roles") ?? "").trim() === "") {
    throw new FormatError(
      "The kafka configuration file appears to be for a legacy cluster. Formatting is only " +
        "supported for clusters in KRaft mode.",
    );
  }
  const { config, warnings } = toServerConfig(props);
  for (const w of warnings) io.err(`WARN ${w}`);
  if (!isUuid(clusterId)) {
    throw new FormatError(
      `Cluster ID string ${clusterId} does not appear to be a valid UUID: expected 22 base64url ` +
        "characters encoding 16 bytes (get one from 'storage random-uuid')",
    );
  }
  const voters = initialVoters(v, config);
  const hasDynamicQuorum = config.quorumVoters.length === 0;
  const requested = parseFeatures(v.feature ?? []);
  const release = effectiveReleaseVersion(v["release-version"], requested, config);
  const levels = effectiveFeatureLevels(requested, release, hasDynamicQuorum);
  const records = await addScramRecords(v["add-scram"] ?? [], release);
  return await formatDirectories(config, {
    records,
    io,
    clusterId,
    release,
    levels,
    voters,
    ignoreFormatted: v["ignore-formatted"] ?? false,
  });
}

/**
 * KIP-900: the UserScramCredentialRecords of `--add-scram` arguments, salted and hashed here so
 * no password reaches the disk.
 */
async function addScramRecords(
  args: readonly string[],
  release: MetadataVersion,
): Promise<MetadataRecord[]> {
  if (args.length === 0) return [];
  if (release.featureLevel < metadataVersionFromString("3.5-IV2").featureLevel) {
    throw new FormatError("SCRAM is only supported in metadata.version 3.5-IV2 or later.");
  }
  const records: MetadataRecord[] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const parsed = parseScramArgument(arg);
    if ("error" in parsed) throw new FormatError(`Invalid --add-scram argument: ${parsed.error}`);
    if (parsed.name === null || parsed.name === "") {
      throw new FormatError(
        `Invalid --add-scram argument: the ${parsed.mechanism.name} entry needs name=<user>`,
      );
    }
    const key = `${parsed.mechanism.name}:${parsed.name}`;
    if (seen.has(key)) {
      throw new FormatError(
        `Invalid --add-scram argument: ${parsed.mechanism.name} for user ${parsed.name} is given twice`,
      );
    }
    seen.add(key);
    const salt = parsed.salt ?? crypto.getRandomValues(new Uint8Array(32));
    const credential = parsed.saltedPassword !== null
      ? await credentialFromSaltedPassword(
        parsed.mechanism,
        parsed.saltedPassword,
        salt,
        parsed.iterations,
      )
      : await scramCredential(parsed.mechanism, parsed.password!, salt, parsed.iterations);
    records.push({
      type: MetadataRecordType.USER_SCRAM_CREDENTIAL,
      version: 0,
      data: createUserScramCredentialRecord({
        name: parsed.name,
        mechanism: parsed.mechanism.type,
        ...credential,
      }),
    });
  }
  return records;
}

interface FormatPlan {
  records: MetadataRecord[];
  io: CliIo;
  clusterId: string;
  release: MetadataVersion;
  levels: Map<string, number>;
  voters: DynamicVoter[] | null;
  ignoreFormatted: boolean;
}

async function formatDirectories(config: ServerConfig, plan: FormatPlan): Promise<number> {
  const { io, clusterId } = plan;
  const dirs = configuredDirectories(config);
  const states = new Map<string, DirState>();
  for (const dir of dirs) states.set(dir, await loadDirState(dir));
  const formatted = dirs.filter((d) => states.get(d)!.kind === "formatted");
  const empty = dirs.filter((d) => states.get(d)!.kind === "empty");
  for (const dir of formatted) {
    const meta = (states.get(dir) as { meta: MetaProperties }).meta;
    const path = join(dir, META_PROPERTIES_FILE);
    if (meta.clusterId !== null && meta.clusterId !== clusterId) {
      throw new FormatError(
        `Invalid cluster.id in: ${path}. Expected ${clusterId}, but read ${meta.clusterId}`,
      );
    }
    if (meta.nodeId !== null && meta.nodeId !== config.nodeId) {
      throw new FormatError(
        `Stored node id ${meta.nodeId} doesn't match previous node id ${config.nodeId} in ${path}. ` +
          "If you moved your data, make sure your configured node id matches. If you intend to " +
          "create a new node, you should remove all data in your data directories.",
      );
    }
  }
  if (!plan.ignoreFormatted && formatted.length > 0) {
    throw new FormatError(
      `Log directory ${formatted[0]} is already formatted. Use --ignore-formatted to ignore ` +
        "this directory and format the others.",
    );
  }
  for (const dir of dirs) {
    if (states.get(dir)!.kind === "error") {
      io.out(`I/O error trying to read log directory ${dir}. Ignoring...`);
    }
  }
  if (empty.length === 0 && formatted.length === 0) {
    throw new FormatError("No available log directories to format.");
  }
  if (empty.length === 0) {
    io.out("All of the log directories are already formatted.");
    return 0;
  }
  const features = [...plan.levels].map(([k, l]) => `${k}=${l}`).join(", ");
  io.out(
    `Bootstrap metadata: BootstrapMetadata(metadataVersion=${plan.release.version}, ` +
      `features={${features}}, source=format command)`,
  );
  const usedIds = new Set(
    formatted.map((d) => (states.get(d) as { meta: MetaProperties }).meta.directoryId),
  );
  for (const dir of empty) await formatOne(dir, config, plan, usedIds);
  return 0;
}

function newDirectoryId(used: Set<string | null>): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = randomUuid();
    if (!used.has(id) && !isReservedDirectoryId(id)) return id;
  }
  throw new Error("Cannot generate a unique directory id: the random source keeps repeating");
}

async function formatOne(
  dir: string,
  config: ServerConfig,
  plan: FormatPlan,
  usedIds: Set<string | null>,
): Promise<void> {
  const isMetadataDir = dir === config.metadataLogDir;
  const selfVoter = plan.voters?.find((v) => v.nodeId === config.nodeId);
  const type = !isMetadataDir
    ? "data directory"
    : plan.voters === null
    ? "metadata directory"
    : selfVoter !== undefined
    ? "dynamic metadata voter directory"
    : "dynamic metadata directory";
  const directoryId = isMetadataDir && selfVoter !== undefined
    ? selfVoter.directoryId
    : newDirectoryId(usedIds);
  usedIds.add(directoryId);
  plan.io.out(
    `Formatting ${type} ${dir} with ${METADATA_VERSION_FEATURE} ${plan.release.version}.`,
  );
  try {
    await Deno.mkdir(dir, { recursive: true });
    await writeBootstrapFiles(dir, {
      featureLevels: plan.levels,
      dynamicQuorum: isMetadataDir && plan.voters !== null
        ? {
          kraftVersion: plan.levels.get("kraft.version") ?? 1,
          voters: plan.voters,
          controllerListenerName: config.controllerListenerNames[0]!,
        }
        : undefined,
      nowMs: Date.now(),
      records: plan.records,
    });
    await writeMetaProperties(dir, {
      version: 1,
      clusterId: plan.clusterId,
      nodeId: config.nodeId,
      directoryId,
    });
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound) {
      throw new FormatError(
        `Error while writing meta.properties file ${dir}: ${(e as Error).message}`,
      );
    }
    throw e;
  }
}

// ---------------------------------------------------------------- info

async function infoCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags("storage info", args, { config: { type: "string", short: "c" } });
  const configPath = requireFlag("storage info", "--config/-c", values.config);
  const { config } = toServerConfig(await readPropertiesFile(configPath));
  const problems: string[] = [];
  const found: string[] = [];
  let first: MetaProperties | null = null;
  for (const dir of configuredDirectories(config)) {
    const state = await loadDirState(dir);
    if (state.kind === "error") {
      problems.push(
        state.reason.endsWith("is not a directory")
          ? state.reason
          : `Error loading ${join(dir, META_PROPERTIES_FILE)}: ${state.reason}`,
      );
      if (!state.reason.endsWith("is not a directory")) found.push(dir);
      continue;
    }
    if (state.kind === "empty") {
      if (await exists(dir)) {
        found.push(dir);
        problems.push(`${dir} is not formatted.`);
      } else {
        problems.push(`${dir} does not exist`);
      }
      continue;
    }
    found.push(dir);
    const meta = state.meta;
    if (first === null) {
      first = meta;
      if (meta.version === 1 && meta.nodeId !== config.nodeId) {
        problems.push(
          `${
            join(dir, META_PROPERTIES_FILE)
          } has node.id ${meta.nodeId}, but the configuration has node.id ${config.nodeId}.`,
        );
      }
    } else if (first.clusterId !== meta.clusterId) {
      problems.push("Mismatched cluster IDs between storage directories.");
    } else if (first.nodeId !== meta.nodeId) {
      problems.push("Mismatched node IDs between storage directories.");
    }
  }
  if (first !== null && first.version === 0) {
    problems.push(
      "The kafka configuration file appears to be for a cluster in KRaft mode, but the " +
        "directories are formatted for legacy mode.",
    );
  }
  printInfo(io, found, first, problems);
  return problems.length > 0 ? 1 : 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function printInfo(
  io: CliIo,
  found: readonly string[],
  meta: MetaProperties | null,
  problems: readonly string[],
): void {
  if (found.length > 0) {
    io.out(found.length === 1 ? "Found log directory:" : "Found log directories:");
    for (const d of found) io.out(`  ${d}`);
    io.out("");
  }
  if (meta !== null) {
    const entries: [string, string][] = [["version", String(meta.version)]];
    if (meta.clusterId !== null) entries.push(["cluster.id", meta.clusterId]);
    if (meta.nodeId !== null) {
      entries.push([meta.version === 1 ? "node.id" : "broker.id", String(meta.nodeId)]);
    }
    if (meta.directoryId !== null) entries.push(["directory.id", meta.directoryId]);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    io.out(`Found metadata: {${entries.map(([k, v]) => `${k}=${v}`).join(", ")}}`);
    io.out("");
  }
  if (problems.length > 0) {
    io.out(problems.length === 1 ? "Found problem:" : "Found problems:");
    for (const p of problems) io.out(`  ${p}`);
    io.out("");
  }
}
