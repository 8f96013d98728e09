/**
 * Formats one node's directories the way `storage format -t <id> -c <file>` does for a static
 * quorum (`controller.quorum.voters`): `bootstrap.checkpoint` with the latest production
 * metadata.version and every other feature at its default level, then `meta.properties` with a
 * fresh directory id. The embedded cluster formats its temp directories with it, in process.
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import {
  FEATURES,
  LATEST_PRODUCTION_METADATA_VERSION,
  METADATA_VERSION_FEATURE,
} from "../core/config/metadata_version.ts";
import { randomUuid } from "../net/protocol/uuid.ts";
import { writeBootstrapFiles } from "./bootstrap.ts";
import {
  configuredDirectories,
  isReservedDirectoryId,
  readMetaProperties,
  writeMetaProperties,
} from "./meta_properties.ts";

/** What {@link formatNodeStorage} needs beyond the node's config. */
export interface NodeFormatOptions {
  /** The cluster id (a `storage random-uuid`). */
  clusterId: string;
  /** Timestamp of the bootstrap records (Kafka uses the wall clock at format time). */
  nowMs: number;
}

/**
 * The feature levels `storage format` writes with no `--release-version` or `--feature` flags on
 * a static quorum: the latest production metadata.version, kraft.version 0, the rest at default.
 *
 * @example
 * ```ts
 * import { defaultFeatureLevels } from "./node_format.ts";
 * defaultFeatureLevels().get("kraft.version"); // 0
 * ```
 */
export function defaultFeatureLevels(): Map<string, number> {
  const levels = new Map<string, number>([
    [METADATA_VERSION_FEATURE, LATEST_PRODUCTION_METADATA_VERSION.featureLevel],
  ]);
  for (const feature of FEATURES) levels.set(feature.name, feature.defaultLevel);
  return levels;
}

function newDirectoryId(used: Set<string>): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = randomUuid();
    if (!used.has(id) && !isReservedDirectoryId(id)) return id;
  }
  throw new Error("Cannot generate a unique directory id: the random source keeps repeating");
}

/**
 * Formats every directory of `config` (log.dirs and metadata.log.dir) for a static quorum. Refuses
 * a directory that is already formatted, as `storage format` without `--ignore-formatted` does.
 *
 * @example
 * ```ts ignore
 * import { formatNodeStorage } from "./node_format.ts";
 * await formatNodeStorage(config, { clusterId: "MkU3OEVBNTcwNTJENDM2Qg", nowMs: Date.now() });
 * ```
 */
export async function formatNodeStorage(
  config: ServerConfig,
  options: NodeFormatOptions,
): Promise<void> {
  if (config.quorumVoters.length === 0) {
    throw new Error(
      "formatNodeStorage formats static quorums only: set controller.quorum.voters " +
        "(dynamic quorums need 'storage format --standalone' or '--initial-controllers')",
    );
  }
  const levels = defaultFeatureLevels();
  const used = new Set<string>();
  for (const dir of configuredDirectories(config)) {
    await Deno.mkdir(dir, { recursive: true });
    if (await readMetaProperties(dir) !== null) {
      throw new Error(`Log directory ${dir} is already formatted`);
    }
    await writeBootstrapFiles(dir, { featureLevels: levels, nowMs: options.nowMs });
    const directoryId = newDirectoryId(used);
    used.add(directoryId);
    await writeMetaProperties(dir, {
      version: 1,
      clusterId: options.clusterId,
      nodeId: config.nodeId,
      directoryId,
    });
  }
}

/**
 * Creates a new empty temp directory for a cluster's data.
 *
 * @example
 * ```ts
 * import { makeClusterRoot, removeClusterRoot } from "./node_format.ts";
 * const root = await makeClusterRoot("kraftling-doc-");
 * await removeClusterRoot(root);
 * ```
 */
export function makeClusterRoot(prefix: string): Promise<string> {
  return Deno.makeTempDir({ prefix });
}

/**
 * Removes a cluster's data directory and everything in it; a missing directory is fine.
 *
 * @example
 * ```ts ignore
 * await removeClusterRoot("/tmp/kraftling-embedded-abc123");
 * ```
 */
export async function removeClusterRoot(root: string): Promise<void> {
  try {
    await Deno.remove(root, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
