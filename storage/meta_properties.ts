/**
 * `meta.properties`: the per-log-directory identity file Kafka's storage tool writes
 * (`version=1`, `cluster.id`, `node.id`, `directory.id`), read and written (atomically) the way
 * Kafka's `MetaProperties`/`PropertiesUtils` do, and the start-up check that every directory of a
 * node is formatted for the same cluster and node.
 *
 * @module
 */

import { isStorageFailure } from "./log/log_dir_failure.ts";
import { writeFileAtomic } from "./fs.ts";
import { join } from "node:path";
import { decodeLatin1, formatProperties, parseProperties } from "../core/config/properties.ts";
import type { ServerConfig } from "../core/config/server_config.ts";
import { isUuid, uuidToBytes } from "../net/protocol/uuid.ts";

/** The file name inside each log directory. */
export const META_PROPERTIES_FILE = "meta.properties";

/** The contents of one `meta.properties` (version 0 is ZooKeeper-era and only ever read). */
export interface MetaProperties {
  version: 0 | 1;
  clusterId: string | null;
  nodeId: number | null;
  directoryId: string | null;
}

/** A `meta.properties` that cannot be read as Kafka would read it. */
export class MetaPropertiesError extends Error {
  override name = "MetaPropertiesError";
}

function requiredInt(props: ReadonlyMap<string, string>, key: string): number {
  const value = props.get(key);
  if (value === undefined) throw new MetaPropertiesError(`Failed to find ${key}`);
  if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new MetaPropertiesError(`Unable to read ${key} as a base-10 number.`);
  }
  return Number(value);
}

/**
 * Interprets the text of a `meta.properties` file as Kafka's `MetaProperties.Builder` does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMetaProperties } from "./meta_properties.ts";
 * assert.deepEqual(
 *   parseMetaProperties("version=1\ncluster.id=XcZZOzUqS4yHOjhMQB6JLQ\nnode.id=1\n"),
 *   { version: 1, clusterId: "XcZZOzUqS4yHOjhMQB6JLQ", nodeId: 1, directoryId: null },
 * );
 * ```
 */
export function parseMetaProperties(text: string): MetaProperties {
  const props = parseProperties(text);
  const versionText = props.get("version") ?? "0";
  if (versionText !== "0" && versionText !== "1") {
    throw new MetaPropertiesError(`Unknown meta.properties version ${versionText}`);
  }
  const version = versionText === "1" ? 1 : 0;
  let nodeId: number | null = null;
  if (version === 1) nodeId = requiredInt(props, "node.id");
  else if (props.has("broker.id")) nodeId = requiredInt(props, "broker.id");
  const clusterId = props.get("cluster.id") ?? null;
  if (version === 1 && clusterId === null) {
    throw new MetaPropertiesError("cluster.id was not found.");
  }
  const directoryId = props.get("directory.id") ?? null;
  if (directoryId !== null && !isUuid(directoryId)) {
    throw new MetaPropertiesError(
      `Unable to read directory.id as a Uuid: ${directoryId} is not 22 base64url characters`,
    );
  }
  return { version, clusterId, nodeId, directoryId };
}

/** Java's `Date.toString()` in UTC (`Sat Nov 22 01:17:00 UTC 2026`), for the comment line. */
function javaDateUtc(date: Date): string {
  const [day, dd, mon, yyyy, time] = date.toUTCString().replace(",", "").split(" ");
  return `${day} ${mon} ${dd} ${time} UTC ${yyyy}`;
}

/**
 * Formats a `meta.properties` as `Properties.store(writer, "")` does: an empty comment line, a
 * date comment line, then the entries.
 *
 * @example
 * ```ts
 * import { formatMetaProperties } from "./meta_properties.ts";
 * formatMetaProperties(
 *   { version: 1, clusterId: "XcZZOzUqS4yHOjhMQB6JLQ", nodeId: 1, directoryId: "b7tCfPnxRpOmQVrWcIAyJw" },
 *   new Date(0),
 * ); // "#\n#Thu Jan 01 00:00:00 UTC 1970\nnode.id=1\ndirectory.id=...\nversion=1\ncluster.id=...\n"
 * ```
 */
export function formatMetaProperties(meta: MetaProperties, now: Date): string {
  const entries = new Map<string, string>();
  if (meta.nodeId !== null) {
    entries.set(meta.version === 1 ? "node.id" : "broker.id", String(meta.nodeId));
  }
  if (meta.directoryId !== null) entries.set("directory.id", meta.directoryId);
  entries.set("version", String(meta.version));
  if (meta.clusterId !== null) entries.set("cluster.id", meta.clusterId);
  return formatProperties(entries, { comments: ["", javaDateUtc(now)] });
}

/**
 * Reads `dir/meta.properties`; null when the file does not exist. Throws `MetaPropertiesError`
 * for a malformed file and the OS error for other I/O failures.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMetaProperties } from "./meta_properties.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   assert.equal(await readMetaProperties(dir), null); // not formatted
 *   const text = "version=1\ncluster.id=XcZZOzUqS4yHOjhMQB6JLQ\nnode.id=1\n";
 *   await Deno.writeTextFile(`${dir}/meta.properties`, text);
 *   assert.equal((await readMetaProperties(dir))?.nodeId, 1);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function readMetaProperties(dir: string): Promise<MetaProperties | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, META_PROPERTIES_FILE));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return parseMetaProperties(decodeLatin1(bytes));
}

/**
 * Writes `dir/meta.properties` atomically and durably: temp file, fsync, rename, fsync of the
 * directory. A crash leaves either the old file or the new one, never a torn one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMetaProperties, writeMetaProperties } from "./meta_properties.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   const meta = {
 *     version: 1 as const,
 *     clusterId: "XcZZOzUqS4yHOjhMQB6JLQ",
 *     nodeId: 1,
 *     directoryId: "b7tCfPnxRpOmQVrWcIAyJw",
 *   };
 *   await writeMetaProperties(dir, meta);
 *   assert.deepEqual(await readMetaProperties(dir), meta);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function writeMetaProperties(dir: string, meta: MetaProperties): Promise<void> {
  const text = formatMetaProperties(meta, new Date());
  await writeFileAtomic(join(dir, META_PROPERTIES_FILE), new TextEncoder().encode(text));
}

/** Every directory a node stores data in: log.dirs plus metadata.log.dir, sorted, unique. */
export function configuredDirectories(config: ServerConfig): string[] {
  return [...new Set([...config.logDirs, config.metadataLogDir])].sort();
}

/** A node's storage as found at start-up. */
export type StorageCheck =
  | {
    ok: true;
    clusterId: string;
    /** directory -> directory.id for each formatted directory. */
    directoryIds: Map<string, string>;
    /** Data directories still empty; Kafka formats these at start-up with the same identity. */
    unformattedLogDirs: string[];
    /**
     * `log.dirs` entries that cannot be read (a disk error, KIP-112): the broker starts without
     * them, as Kafka's `errorLogDirs`. Never the metadata log dir, never every log dir.
     */
    failedLogDirs: string[];
  }
  | { ok: false; error: string };

/** The command a user should run to format a node's storage. */
export const FORMAT_HINT =
  "format it first with `deno run -A main.ts storage format -t <cluster-id> -c <server.properties>` " +
  "(get a cluster id from `deno run -A main.ts storage random-uuid`)";

/**
 * Checks, before a node starts, that its metadata log directory is formatted and that every
 * formatted directory agrees on cluster id, carries this node's id, and has a unique directory id
 * (Kafka's `MetaPropertiesEnsemble.verify`). The error names the directory and the command to run.
 * A log dir (not the metadata one) that cannot be read for a disk error is listed in
 * `failedLogDirs` instead, so a broker can start without it, unless no log dir is left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseServerConfig } from "../core/config/server_config.ts";
 * import { checkStorageFormatted, writeMetaProperties } from "./meta_properties.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   const { config } = parseServerConfig(new Map([
 *     ["process.roles", "broker,controller"],
 *     ["node.id", "1"],
 *     ["controller.quorum.voters", "1@localhost:9093"],
 *     ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
 *     ["controller.listener.names", "CONTROLLER"],
 *     ["log.dirs", dir],
 *   ]));
 *   assert.equal((await checkStorageFormatted(config)).ok, false); // not formatted yet
 *   await writeMetaProperties(dir, {
 *     version: 1,
 *     clusterId: "XcZZOzUqS4yHOjhMQB6JLQ",
 *     nodeId: 1,
 *     directoryId: "b7tCfPnxRpOmQVrWcIAyJw",
 *   });
 *   const check = await checkStorageFormatted(config);
 *   assert.ok(check.ok && check.clusterId === "XcZZOzUqS4yHOjhMQB6JLQ");
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function checkStorageFormatted(config: ServerConfig): Promise<StorageCheck> {
  let clusterId: string | null = null;
  const directoryIds = new Map<string, string>();
  const unformattedLogDirs: string[] = [];
  const failedLogDirs: string[] = [];
  for (const dir of configuredDirectories(config)) {
    const path = join(dir, META_PROPERTIES_FILE);
    let meta: MetaProperties | null;
    try {
      meta = await readMetaProperties(dir);
    } catch (e) {
      if (dir !== config.metadataLogDir && isStorageFailure(e)) {
        failedLogDirs.push(dir);
        continue;
      }
      return { ok: false, error: `Cannot read ${path}: ${(e as Error).message}` };
    }
    if (meta === null) {
      if (dir === config.metadataLogDir) {
        return {
          ok: false,
          error:
            `No meta.properties found in ${dir}: the directory is not formatted; ${FORMAT_HINT}`,
        };
      }
      unformattedLogDirs.push(dir);
      continue;
    }
    if (meta.version !== 1) {
      return {
        ok: false,
        error: `${path} is formatted for a legacy (ZooKeeper) cluster, not KRaft; ${FORMAT_HINT}`,
      };
    }
    if (clusterId !== null && meta.clusterId !== clusterId) {
      return {
        ok: false,
        error: `Invalid cluster.id in: ${path}. Expected ${clusterId}, but read ${meta.clusterId}`,
      };
    }
    clusterId = meta.clusterId;
    if (meta.nodeId !== config.nodeId) {
      return {
        ok: false,
        error: `Stored node id ${meta.nodeId} doesn't match previous node id ${config.nodeId} in ` +
          `${path}. If you moved your data, make sure your configured node id matches. If you ` +
          `intend to create a new node, you should remove all data in your data directories.`,
      };
    }
    const problem = directoryIdProblem(meta.directoryId, path, directoryIds);
    if (problem !== null) return { ok: false, error: problem };
    directoryIds.set(dir, meta.directoryId!);
  }
  if (config.logDirs.every((d) => failedLogDirs.includes(d))) {
    return { ok: false, error: `Every log directory has failed: ${failedLogDirs.join(", ")}` };
  }
  return { ok: true, clusterId: clusterId!, directoryIds, unformattedLogDirs, failedLogDirs };
}

function directoryIdProblem(
  directoryId: string | null,
  path: string,
  seen: ReadonlyMap<string, string>,
): string | null {
  if (directoryId === null) return `${path} has no directory.id; ${FORMAT_HINT}`;
  if (isReservedDirectoryId(directoryId)) {
    return `Invalid reserved directory ID ${directoryId} found in ${path}`;
  }
  for (const [otherDir, otherId] of seen) {
    if (otherId === directoryId) {
      return `Duplicate directory ID ${directoryId} found in ${path} and ${otherDir}`;
    }
  }
  return null;
}

/**
 * True for the directory ids Kafka reserves (`DirectoryId.reserved`: most significant 64 bits
 * zero and least significant below 100, e.g. UNASSIGNED, LOST, MIGRATING).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isReservedDirectoryId } from "./meta_properties.ts";
 * assert.equal(isReservedDirectoryId("AAAAAAAAAAAAAAAAAAAAAA"), true); // UNASSIGNED
 * assert.equal(isReservedDirectoryId("b7tCfPnxRpOmQVrWcIAyJw"), false);
 * ```
 */
export function isReservedDirectoryId(directoryId: string): boolean {
  const bytes = uuidToBytes(directoryId);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getBigUint64(0) !== 0n) return false;
  const lsb = view.getBigInt64(8);
  return lsb >= 0n && lsb < 100n;
}
