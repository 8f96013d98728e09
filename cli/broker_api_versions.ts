/**
 * `broker-api-versions`: Kafka's `kafka-broker-api-versions.sh` (BrokerApiVersionsCommand). Asks
 * every live broker ApiVersions and prints, in Kafka's `NodeApiVersions` format, each API's
 * version range and the highest one this client can use with it; APIs a client may send that the
 * broker does not advertise print UNSUPPORTED.
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import { check } from "../net/client/cluster.ts";
import { API_TABLE, type ApiInfo, ApiKey } from "../net/protocol/generated/api_table.ts";
import type { ApiVersionsResponse } from "../net/protocol/generated/api_versions_response.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { CLIENT_FLAGS, clientOptions, loadProperties, runTool } from "./common.ts";

const USAGE = `Usage: deno run -A main.ts broker-api-versions --bootstrap-server <host:port>
         [--command-config <file>]

Print the API versions every broker supports (kafka-broker-api-versions.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  -h, --help                      Show this help.`;

const WHERE = "broker-api-versions";

/** `broker-api-versions`: the registry entry. */
export const brokerApiVersionsCommand: Subcommand = {
  name: WHERE,
  summary: "Print the API versions each broker supports (kafka-broker-api-versions.sh).",
  usage: USAGE,
  run: runBrokerApiVersions,
};

/** One API as a broker advertises it. */
export interface AdvertisedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** This client's highest version of an API (the unstable latest excluded, as Kafka's clients). */
function clientLatest(api: ApiInfo): number {
  return api.latestVersionUnstable ? api.maxVersion - 1 : api.maxVersion;
}

function apiText(api: ApiInfo | undefined, advertised: AdvertisedApi): string {
  const name = api === undefined ? `UNKNOWN(${advertised.apiKey})` : `${api.name}(${api.apiKey})`;
  const range = advertised.minVersion === advertised.maxVersion
    ? `${advertised.minVersion}`
    : `${advertised.minVersion} to ${advertised.maxVersion}`;
  if (api === undefined) return `${name}: ${range}`;
  const latest = clientLatest(api);
  const usable = latest < advertised.minVersion
    ? "[unusable: node too new]"
    : advertised.maxVersion < api.minVersion
    ? "[unusable: node too old]"
    : `[usable: ${Math.min(latest, advertised.maxVersion)}]`;
  return `${name}: ${range} ${usable}`;
}

/**
 * Kafka's `NodeApiVersions.toString(true)`: one line per API in key order, the ones a client
 * may send to brokers that the node did not list marked UNSUPPORTED.
 *
 * @example
 * ```ts
 * import { formatApiVersions } from "./broker_api_versions.ts";
 * formatApiVersions([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]).includes(
 *   "ApiVersions(18): 0 to 4 [usable: 4]",
 * ); // true
 * ```
 */
export function formatApiVersions(advertised: readonly AdvertisedApi[]): string {
  const lines = new Map<number, string>();
  for (const a of advertised) lines.set(a.apiKey, apiText(API_TABLE.get(a.apiKey), a));
  for (const api of API_TABLE.values()) {
    const clientApi = api.listeners.includes("broker") || api.listeners.includes("zkBroker");
    if (clientApi && !lines.has(api.apiKey)) {
      lines.set(api.apiKey, `${api.name}(${api.apiKey}): UNSUPPORTED`);
    }
  }
  const ordered = [...lines.entries()].sort(([a], [b]) => a - b).map(([, text]) => text);
  return `(\n\t${ordered.join(",\n\t")}\n)`;
}

async function runBrokerApiVersions(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(WHERE, args, CLIENT_FLAGS, true);
  if (positionals.length > 0) {
    throw new UsageError(`${WHERE}: unexpected argument ${positionals[0]}`);
  }
  const bootstrap = values["bootstrap-server"];
  if (bootstrap === undefined) throw new UsageError(`${WHERE}: --bootstrap-server is required`);
  return await runTool(io, "", async () => {
    const props = await loadProperties(values["command-config"]);
    const admin = new Admin(clientOptions(bootstrap, props));
    try {
      const { brokers } = await admin.describeCluster();
      for (const b of [...brokers].sort((x, y) => x.nodeId - y.nodeId)) {
        const conn = await admin.cluster.connectionTo(b.nodeId);
        const r = await conn.send<ApiVersionsResponse>(ApiKey.API_VERSIONS, {
          clientSoftwareName: "kraftling-cli",
          clientSoftwareVersion: "0.1.0",
        }, { version: conn.versionFor(ApiKey.API_VERSIONS, 3) });
        check(r.errorCode, `broker ${b.nodeId}`);
        io.out(
          `${b.host}:${b.port} (id: ${b.nodeId} rack: ${b.rack ?? "null"}) -> ${
            formatApiVersions(r.apiKeys)
          }`,
        );
      }
    } finally {
      admin.close();
    }
    return 0;
  });
}
