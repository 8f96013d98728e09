/**
 * `cluster`: Kafka's `kafka-cluster.sh` (ClusterTool). `cluster-id` prints the cluster's id;
 * `unregister --id N` removes a decommissioned broker's registration (UnregisterBroker): the
 * controller takes it out of every ISR and elects new leaders where it led, so Metadata, placement
 * and `topics --describe` stop counting a broker that is gone for good. Both work through brokers
 * (`--bootstrap-server`, which forward UnregisterBroker to the active controller) or straight to
 * the controllers (`--bootstrap-controller`, KIP-919).
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import { check } from "../net/client/cluster.ts";
import type { KafkaConnection } from "../net/connection.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import type { UnregisterBrokerResponse } from "../net/protocol/generated/unregister_broker_response.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { clientOptions, intFlag, loadProperties, runTool } from "./common.ts";
import {
  activeController,
  BOOTSTRAP_FLAGS,
  bootstrapTarget,
  clusterIdOf,
} from "./quorum_client.ts";

const USAGE = `Usage: deno run -A main.ts cluster (--bootstrap-server <host:port> |
         --bootstrap-controller <host:port>) [--config <file>] <command> [options]

Get information about and change a KRaft cluster (kafka-cluster.sh).

Commands:
  cluster-id              Print the cluster id.
  unregister --id <id>    Unregister a broker that was removed from the cluster.

Options:
  --bootstrap-server <host:port>      Brokers to ask (they forward to the active controller).
  --bootstrap-controller <host:port>  Controllers to ask directly.
  --config <file>                     A client properties file.
  --id, -i <id>                       The broker to unregister.
  -h, --help                          Show this help.`;

const FLAGS = {
  ...BOOTSTRAP_FLAGS,
  "config": { type: "string", short: "c" },
  "id": { type: "string", short: "i" },
} as const;

const WHERE = "cluster";

/** `cluster`: the registry entry. */
export const clusterCommand: Subcommand = {
  name: WHERE,
  summary: "Print the cluster id or unregister a removed broker (kafka-cluster.sh).",
  usage: USAGE,
  run: runCluster,
};

async function unregisterOn(conn: KafkaConnection, brokerId: number): Promise<void> {
  const r = await conn.send<UnregisterBrokerResponse>(
    ApiKey.UNREGISTER_BROKER,
    { brokerId },
    { version: conn.versionFor(ApiKey.UNREGISTER_BROKER, 0) },
  );
  check(r.errorCode, `broker ${brokerId}`, r.errorMessage);
}

async function runCluster(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(WHERE, args, FLAGS, true);
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`${WHERE}: unexpected argument ${extra[0]}`);
  if (command !== "cluster-id" && command !== "unregister") {
    throw new UsageError(
      command === undefined
        ? `${WHERE}: a command is required: cluster-id or unregister`
        : `${WHERE}: unknown command ${command}`,
    );
  }
  const brokerId = intFlag(WHERE, "--id", values.id);
  if (command === "unregister" && brokerId === undefined) {
    throw new UsageError(`${WHERE}: unregister needs --id <broker id>`);
  }
  if (command === "cluster-id" && brokerId !== undefined) {
    throw new UsageError(`${WHERE}: --id is only for unregister`);
  }
  const target = bootstrapTarget(WHERE, values);
  return await runTool(io, "", async () => {
    const props = await loadProperties(values.config ?? values["command-config"]);
    const options = clientOptions(target.servers, props);
    const act = async (conn: KafkaConnection) => {
      if (command === "cluster-id") io.out(`Cluster ID: ${await clusterIdOf(conn, target.kind)}`);
      else {
        await unregisterOn(conn, brokerId!);
        io.out(`Broker ${brokerId} is no longer registered.`);
      }
    };
    if (target.kind === "controller") {
      const { conn } = await activeController(options);
      try {
        await act(conn);
      } finally {
        conn.close();
      }
      return 0;
    }
    const admin = new Admin(options);
    try {
      await act(await admin.cluster.anyConnection());
    } finally {
      admin.close();
    }
    return 0;
  });
}
