/**
 * Loading a `server.properties` file for a subcommand: read (ISO-8859-1, as Kafka's
 * `Utils.loadProps`), parse as Java properties, and build the validated `ServerConfig`.
 *
 * @module
 */

import { decodeLatin1, parseProperties } from "../core/config/properties.ts";
import { ConfigError } from "../core/config/config_def.ts";
import { parseServerConfig, type ServerConfigResult } from "../core/config/server_config.ts";
import { UsageError } from "./command.ts";

/**
 * Reads and parses a properties file; a missing or unreadable file is a one-line `UsageError`.
 *
 * @example
 * ```ts
 * import { readPropertiesFile } from "./config_file.ts";
 * const props = await readPropertiesFile("config/server.properties");
 * ```
 */
export async function readPropertiesFile(path: string): Promise<Map<string, string>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    throw new UsageError(`Cannot read config file ${path}: ${why}`);
  }
  try {
    return parseProperties(decodeLatin1(bytes));
  } catch (e) {
    throw new UsageError(`Cannot parse config file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Builds the validated config from properties; a `ConfigError` becomes a one-line `UsageError`.
 *
 * @example
 * ```ts
 * import { readPropertiesFile, toServerConfig } from "./config_file.ts";
 * const { config, warnings } = toServerConfig(await readPropertiesFile("config/server.properties"));
 * ```
 */
export function toServerConfig(props: ReadonlyMap<string, string>): ServerConfigResult {
  try {
    return parseServerConfig(props);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Reads, parses and validates a `server.properties` file, applying `overrides` (Kafka's
 * `--override key=value`) on top.
 *
 * @example
 * ```ts
 * import { loadServerConfigFile } from "./config_file.ts";
 * const { config, warnings } = await loadServerConfigFile("config/server.properties");
 * ```
 */
export async function loadServerConfigFile(
  path: string,
  overrides: ReadonlyMap<string, string> = new Map(),
): Promise<ServerConfigResult> {
  const props = await readPropertiesFile(path);
  for (const [k, v] of overrides) props.set(k, v);
  return toServerConfig(props);
}
