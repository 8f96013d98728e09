/**
 * Parsers for the address-shaped configs: `listeners` (`NAME://host:port`), `host:port` lists and
 * `controller.quorum.voters` (`id@host:port`). Hosts may be bracketed IPv6 literals.
 *
 * @module
 */

import { ConfigError } from "./config_def.ts";

/** A host and port; `host` is "" when a listener binds every interface. */
export interface HostPort {
  host: string;
  port: number;
}

/** One listener: its (upper-cased) name, address and security protocol. */
export interface Endpoint extends HostPort {
  listenerName: string;
  securityProtocol: string;
}

/** One entry of `controller.quorum.voters`. */
export interface QuorumVoter extends HostPort {
  nodeId: number;
}

const PORT_MAX = 65535;
const HOST_PORT = /^\[?([0-9a-zA-Z\-%._:]*)\]?:(\d+)$/;
const LISTENER = /^(.*):\/\/\[?([0-9a-zA-Z\-%._:]*)\]?:(-?\d+)$/;

function checkPort(key: string, entry: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) {
    throw new ConfigError(key, `${key} entry ${entry} has port ${port}, outside 0..${PORT_MAX}`);
  }
  return port;
}

/**
 * Formats a host and port, bracketing IPv6 literals.
 *
 * @example
 * ```ts
 * import { formatHostPort } from "./endpoints.ts";
 * formatHostPort({ host: "::1", port: 9093 }); // "[::1]:9093"
 * ```
 */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(":") ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/**
 * Parses one `host:port` entry of the config `key`; throws a `ConfigError` naming the key.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./endpoints.ts";
 * parseHostPort("controller.quorum.bootstrap.servers", "localhost:9093"); // { host: "localhost", port: 9093 }
 * ```
 */
export function parseHostPort(key: string, entry: string): HostPort {
  const m = HOST_PORT.exec(entry.trim());
  if (m === null || m[1] === "") {
    throw new ConfigError(key, `${key} entry ${entry} is not in the form host:port`);
  }
  return { host: m[1]!, port: checkPort(key, entry, Number(m[2])) };
}

/**
 * Parses `controller.quorum.voters` entries (`id@host:port`).
 *
 * @example
 * ```ts
 * import { parseQuorumVoters } from "./endpoints.ts";
 * parseQuorumVoters(["1@localhost:9093"]); // [{ nodeId: 1, host: "localhost", port: 9093 }]
 * ```
 */
export function parseQuorumVoters(entries: readonly string[]): QuorumVoter[] {
  const key = "controller.quorum.voters";
  const voters: QuorumVoter[] = [];
  for (const entry of entries) {
    const at = entry.indexOf("@");
    const idText = entry.slice(0, at);
    if (at < 0 || !/^\d+$/.test(idText)) {
      throw new ConfigError(key, `${key} entry ${entry} is not in the form id@host:port`);
    }
    const nodeId = Number(idText);
    if (voters.some((v) => v.nodeId === nodeId)) {
      throw new ConfigError(key, `${key} lists node id ${nodeId} more than once`);
    }
    const hp = HOST_PORT.exec(entry.slice(at + 1));
    if (hp === null || hp[1] === "") {
      throw new ConfigError(key, `${key} entry ${entry} is not in the form id@host:port`);
    }
    voters.push({ nodeId, host: hp[1]!, port: checkPort(key, entry, Number(hp[2])) });
  }
  return voters;
}

/**
 * Parses a listener list (`listeners` or `advertised.listeners`): comma-separated
 * `NAME://host:port`, names upper-cased as Kafka's `ListenerName.normalised`. The security
 * protocol comes from `protocolMap`; a name missing from it is an error naming the key.
 *
 * @example
 * ```ts
 * import { parseListeners } from "./endpoints.ts";
 * const map = new Map([["PLAINTEXT", "PLAINTEXT"]]);
 * parseListeners("listeners", "PLAINTEXT://:9092", map);
 * // [{ listenerName: "PLAINTEXT", host: "", port: 9092, securityProtocol: "PLAINTEXT" }]
 * ```
 */
export function parseListeners(
  key: string,
  text: string,
  protocolMap: ReadonlyMap<string, string>,
): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const trimmed = text.trim();
  if (trimmed === "") return endpoints;
  for (const entry of trimmed.split(/\s*,\s*/)) {
    const m = LISTENER.exec(entry);
    if (m === null || m[1] === "") {
      throw new ConfigError(key, `${key} entry ${entry} is not in the form NAME://host:port`);
    }
    const listenerName = m[1]!.toUpperCase();
    const securityProtocol = protocolMap.get(listenerName);
    if (securityProtocol === undefined) {
      throw new ConfigError(
        key,
        `${key} entry ${entry} names listener ${listenerName}, which has no security protocol in listener.security.protocol.map`,
      );
    }
    if (endpoints.some((e) => e.listenerName === listenerName)) {
      throw new ConfigError(key, `${key} names listener ${listenerName} more than once`);
    }
    endpoints.push({
      listenerName,
      host: m[2]!,
      port: checkPort(key, entry, Number(m[3])),
      securityProtocol,
    });
  }
  return endpoints;
}

/**
 * Formats an endpoint as `NAME://host:port`.
 *
 * @example
 * ```ts
 * import { formatEndpoint } from "./endpoints.ts";
 * formatEndpoint({ listenerName: "PLAINTEXT", host: "localhost", port: 9092, securityProtocol: "PLAINTEXT" });
 * // "PLAINTEXT://localhost:9092"
 * ```
 */
export function formatEndpoint(e: Endpoint): string {
  return `${e.listenerName}://${formatHostPort(e)}`;
}

/** One `--initial-controllers` entry (`id@host:port:directory-id`, Kafka's `DynamicVoter`). */
export interface DynamicVoter extends QuorumVoter {
  directoryId: string;
}

const DIRECTORY_ID = /^[A-Za-z0-9_-]{22}$/;

function parseDynamicVoter(entry: string): DynamicVoter {
  const fail = (why: string): never => {
    throw new ConfigError("--initial-controllers", `--initial-controllers entry ${entry}: ${why}`);
  };
  const at = entry.indexOf("@");
  if (at < 0) fail("No @ found in dynamic voter string.");
  const idText = entry.slice(0, at);
  if (!/^\d+$/.test(idText) || Number(idText) > 2147483647) {
    fail("Failed to parse node id in dynamic voter string.");
  }
  let rest = entry.slice(at + 1);
  if (rest === "") fail("No hostname found after node id.");
  let host: string;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) fail("Hostname began with left bracket, but no right bracket was found.");
    host = rest.slice(1, close);
    rest = rest.slice(close + 1);
    if (!rest.startsWith(":")) fail("Hostname did not end with a colon.");
    rest = rest.slice(1);
  } else {
    const colon = rest.indexOf(":");
    if (colon < 0) fail("No colon following hostname could be found.");
    host = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  const colon = rest.indexOf(":");
  if (colon < 0) fail("No colon following port could be found.");
  const portText = rest.slice(0, colon);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    fail("Failed to parse port in dynamic voter string.");
  }
  const directoryId = rest.slice(colon + 1);
  if (!DIRECTORY_ID.test(directoryId)) {
    fail("Failed to parse directory ID in dynamic voter string.");
  }
  return { nodeId: Number(idText), host, port, directoryId };
}

/**
 * Parses `--initial-controllers` (Kafka's `DynamicVoters.parse`): comma-separated
 * `id@host:port:directory-id`, node ids unique. Throws `ConfigError` with Kafka's reason.
 *
 * @example
 * ```ts
 * import { parseDynamicVoters } from "./endpoints.ts";
 * parseDynamicVoters("0@localhost:8082:JEXY6aqzQY-32P5TStzaFg");
 * // [{ nodeId: 0, host: "localhost", port: 8082, directoryId: "JEXY6aqzQY-32P5TStzaFg" }]
 * ```
 */
export function parseDynamicVoters(text: string): DynamicVoter[] {
  const entries = text.split(",").filter((e) => e.trim() !== "");
  if (entries.length === 0) {
    throw new ConfigError("--initial-controllers", "--initial-controllers: No voters given.");
  }
  const voters: DynamicVoter[] = [];
  for (const entry of entries) {
    const voter = parseDynamicVoter(entry.trim());
    if (voters.some((v) => v.nodeId === voter.nodeId)) {
      throw new ConfigError(
        "--initial-controllers",
        `--initial-controllers: Node id ${voter.nodeId} was specified more than once.`,
      );
    }
    voters.push(voter);
  }
  return voters;
}
