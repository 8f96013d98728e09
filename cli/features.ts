/**
 * `features`: Kafka's `kafka-features.sh` (FeatureCommand). `describe` prints the supported and
 * finalized features from ApiVersions (KIP-584); `upgrade`, `downgrade` and `disable` send
 * UpdateFeatures, through a broker (which forwards it to the active controller) or straight to the
 * active controller with `--bootstrap-controller`.
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import type { KafkaConnection } from "../net/connection.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode, errorMessage, errorName } from "../net/protocol/generated/errors.ts";
import type { ApiVersionsResponse } from "../net/protocol/generated/api_versions_response.ts";
import { createFeatureUpdateKey } from "../net/protocol/generated/update_features_request.ts";
import type { UpdateFeaturesResponse } from "../net/protocol/generated/update_features_response.ts";
import {
  LATEST_PRODUCTION_METADATA_VERSION,
  METADATA_VERSION_FEATURE,
  METADATA_VERSIONS,
  metadataVersionFromLevel,
  metadataVersionFromString,
  MINIMUM_BOOTSTRAP_METADATA_VERSION,
} from "../core/config/metadata_version.ts";
import { check } from "../net/client/cluster.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { clientOptions, loadProperties, runTool } from "./common.ts";
import {
  activeController,
  BOOTSTRAP_FLAGS,
  type BootstrapTarget,
  bootstrapTarget,
} from "./quorum_client.ts";

const USAGE = `Usage: deno run -A main.ts features (--bootstrap-server <host:port> |
         --bootstrap-controller <host:port>) [--command-config <file>] <command> [options]

Manage feature flags (kafka-features.sh).

Commands:
  describe                                  The supported and finalized features.
  upgrade [--metadata <version>] [--feature <name>=<level>]... [--dry-run]
  downgrade [--metadata <version>] [--feature <name>=<level>]... [--unsafe] [--dry-run]
  disable --feature <name>... [--unsafe] [--dry-run]

Options:
  --bootstrap-server <host:port>      Brokers to connect to (UpdateFeatures is forwarded).
  --bootstrap-controller <host:port>  Controllers to connect to directly.
  --command-config <file>             A client properties file.
  -h, --help                          Show this help.`;

const FLAGS = {
  ...BOOTSTRAP_FLAGS,
  "metadata": { type: "string" },
  "feature": { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
  "unsafe": { type: "boolean" },
} as const;

const WHERE = "features";

/** Kafka's FeatureUpdate.UpgradeType ids. */
const UpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

/** `features`: the registry entry. */
export const featuresCommand: Subcommand = {
  name: WHERE,
  summary: "Describe and change feature flags such as metadata.version (kafka-features.sh).",
  usage: USAGE,
  run: runFeatures,
};

/**
 * A feature level as Kafka's tool prints it: metadata.version levels as release strings.
 *
 * @example
 * ```ts
 * import { levelText } from "./features.ts";
 * levelText("metadata.version", 21); // "3.9-IV0"
 * levelText("kraft.version", 1); // "1"
 * ```
 */
export function levelText(feature: string, level: number): string {
  if (feature !== METADATA_VERSION_FEATURE) return String(level);
  try {
    return metadataVersionFromLevel(level).version;
  } catch {
    return `UNKNOWN ${level}`;
  }
}

/**
 * The lines of `features describe` from an ApiVersions response, sorted by feature name.
 *
 * @example
 * ```ts ignore
 * formatFeatures(apiVersionsResponse).forEach((line) => console.log(line));
 * ```
 */
export function formatFeatures(r: ApiVersionsResponse): string[] {
  const finalized = new Map(r.finalizedFeatures.map((f) => [f.name, f.maxVersionLevel]));
  const epoch = r.finalizedFeaturesEpoch >= 0n ? String(r.finalizedFeaturesEpoch) : "-";
  return [...r.supportedFeatures]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f) =>
      `Feature: ${f.name}\tSupportedMinVersion: ${levelText(f.name, f.minVersion)}\t` +
      `SupportedMaxVersion: ${levelText(f.name, f.maxVersion)}\t` +
      `FinalizedVersionLevel: ${levelText(f.name, finalized.get(f.name) ?? 0)}\tEpoch: ${epoch}`
    );
}

/**
 * Parses `name=level` (Kafka's `--feature`), with Kafka's one-line errors.
 *
 * @example
 * ```ts
 * import { parseFeatureLevel } from "./features.ts";
 * parseFeatureLevel("kraft.version=1"); // ["kraft.version", 1]
 * ```
 */
export function parseFeatureLevel(text: string): [string, number] {
  const at = text.indexOf("=");
  if (at < 0) {
    throw new UsageError(`Can't parse feature=level string ${text}: equals sign not found.`);
  }
  const name = text.slice(0, at).trim();
  const raw = text.slice(at + 1).trim();
  const level = Number(raw);
  if (raw === "" || !Number.isInteger(level) || level < -32768 || level > 32767) {
    throw new UsageError(
      `Can't parse feature=level string ${text}: unable to parse ${raw} as a short.`,
    );
  }
  return [name, level];
}

function metadataLevel(text: string): number {
  try {
    return metadataVersionFromString(text).featureLevel;
  } catch {
    const from = MINIMUM_BOOTSTRAP_METADATA_VERSION.featureLevel - 1;
    const to = LATEST_PRODUCTION_METADATA_VERSION.featureLevel;
    const list = METADATA_VERSIONS.slice(from, to).map((v) => v.version).join(", ");
    throw new UsageError(
      `Unsupported metadata version ${text}. Supported metadata versions are ${list}`,
    );
  }
}

/** The requested updates of upgrade/downgrade/disable, by feature name. */
export function requestedUpdates(
  op: "upgrade" | "downgrade" | "disable",
  values: { metadata?: string; feature?: string[] },
): Map<string, number> {
  const updates = new Map<string, number>();
  if (op !== "disable" && values.metadata !== undefined) {
    updates.set(METADATA_VERSION_FEATURE, metadataLevel(values.metadata));
  }
  for (const item of values.feature ?? []) {
    const [name, level] = op === "disable" ? [item, 0] : parseFeatureLevel(item);
    if (updates.has(name)) throw new UsageError(`Feature ${name} was specified more than once.`);
    updates.set(name, level);
  }
  if (updates.size === 0) throw new UsageError(`You must specify at least one feature to ${op}`);
  return updates;
}

async function withConnection<T>(
  target: BootstrapTarget,
  props: ReadonlyMap<string, string>,
  body: (conn: KafkaConnection) => Promise<T>,
): Promise<T> {
  const options = clientOptions(target.servers, props);
  if (target.kind === "controller") {
    const { conn } = await activeController(options);
    try {
      return await body(conn);
    } finally {
      conn.close();
    }
  }
  const admin = new Admin(options);
  try {
    return await admin.cluster.retrying(async () => body(await admin.cluster.anyConnection()));
  } finally {
    admin.close();
  }
}

function failureText(code: number, message: string | null): string {
  return message || `${errorName(code)}: ${errorMessage(code) || "no message"}`;
}

async function update(
  io: CliIo,
  op: "upgrade" | "downgrade" | "disable",
  updates: Map<string, number>,
  options: {
    upgradeType: number;
    dryRun: boolean;
    send: (body: (version: number) => Record<string, unknown>) => Promise<UpdateFeaturesResponse>;
  },
): Promise<number> {
  // v0 asks for a downgrade with allowDowngrade, v1 with upgradeType (KIP-778).
  const body = (version: number) => ({
    timeoutMs: 60_000,
    validateOnly: options.dryRun,
    featureUpdates: [...updates].map(([feature, maxVersionLevel]) =>
      createFeatureUpdateKey({
        feature,
        maxVersionLevel,
        allowDowngrade: version === 0 && options.upgradeType !== UpgradeType.UPGRADE,
        upgradeType: version === 0 ? UpgradeType.UPGRADE : options.upgradeType,
      })
    ),
  });
  const r = await options.send(body);
  const errors = new Map<string, string | null>();
  for (const name of updates.keys()) {
    const result = r.results.find((x) => x.feature === name);
    if (r.errorCode !== ErrorCode.NONE) errors.set(name, failureText(r.errorCode, r.errorMessage));
    else if (result === undefined) {
      errors.set(name, "The controller did not answer for this feature");
    } else if (result.errorCode !== ErrorCode.NONE) {
      errors.set(name, failureText(result.errorCode, result.errorMessage));
    } else errors.set(name, null);
  }
  let failures = 0;
  for (const name of [...errors.keys()].sort()) {
    const level = updates.get(name)!;
    const error = errors.get(name);
    if (error) {
      failures++;
      const what = op === "disable" ? `disable ${name}` : `${op} ${name} to ${level}`;
      io.out(`${options.dryRun ? "Can not" : "Could not"} ${what}. ${error}`);
    } else {
      const done = op === "disable" ? "disabled." : `${op}d to ${level}.`;
      io.out(`${name}${options.dryRun ? " can be " : " was "}${done}`);
    }
  }
  if (failures > 0) {
    io.err(`${failures} out of ${updates.size} operation(s) failed.`);
    return 1;
  }
  return 0;
}

async function runFeatures(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(WHERE, args, FLAGS, true);
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`${WHERE}: unexpected argument ${extra[0]}`);
  if (command === undefined) {
    throw new UsageError(
      `${WHERE}: a command is required: describe, upgrade, downgrade or disable`,
    );
  }
  if (!["describe", "upgrade", "downgrade", "disable"].includes(command)) {
    throw new UsageError(`${WHERE}: unknown command ${command}`);
  }
  const target = bootstrapTarget(WHERE, values);
  const op = command as "describe" | "upgrade" | "downgrade" | "disable";
  const updates = op === "describe" ? new Map() : requestedUpdates(op, values);
  return await runTool(io, "", async () => {
    const props = await loadProperties(values["command-config"]);
    if (op === "describe") {
      const r = await withConnection(
        target,
        props,
        (conn) =>
          conn.send<ApiVersionsResponse>(ApiKey.API_VERSIONS, {
            clientSoftwareName: "kraftling",
            clientSoftwareVersion: "0.1.0",
          }, { version: conn.versionFor(ApiKey.API_VERSIONS, 3) }),
      );
      check(r.errorCode, "ApiVersions");
      for (const line of formatFeatures(r)) io.out(line);
      return 0;
    }
    const upgradeType = op === "upgrade"
      ? UpgradeType.UPGRADE
      : values.unsafe
      ? UpgradeType.UNSAFE_DOWNGRADE
      : UpgradeType.SAFE_DOWNGRADE;
    return await update(io, op, updates, {
      upgradeType,
      dryRun: values["dry-run"] ?? false,
      send: (body) =>
        withConnection(target, props, (conn) => {
          const version = conn.versionFor(ApiKey.UPDATE_FEATURES, 1);
          return conn.send<UpdateFeaturesResponse>(ApiKey.UPDATE_FEATURES, body(version), {
            version,
          });
        }),
    });
  });
}
