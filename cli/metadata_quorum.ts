/**
 * `metadata-quorum`: Kafka's `kafka-metadata-quorum.sh` (MetadataQuorumCommand). `describe
 * --status` and `describe --replication` print Kafka 3.9's lines and table from DescribeQuorum,
 * asked of a broker (`--bootstrap-server`, which forwards to the active controller) or of the
 * controllers directly (`--bootstrap-controller`, KIP-919). `add-controller` and
 * `remove-controller` (KIP-853) send AddRaftVoter / RemoveRaftVoter to the active controller of a
 * dynamic quorum and return once the new voter set has committed.
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import type {
  DescribeQuorumResponse,
  ReplicaState,
} from "../net/protocol/generated/describe_quorum_response.ts";
import { ZERO_UUID } from "../net/protocol/uuid.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { clientOptions, intFlag, loadProperties, runTool } from "./common.ts";
import { readPropertiesFile, toServerConfig } from "./config_file.ts";
import { readMetaProperties } from "../storage/meta_properties.ts";
import {
  activeController,
  addController,
  BOOTSTRAP_FLAGS,
  type BootstrapTarget,
  bootstrapTarget,
  checkQuorumResponse,
  clusterIdOf,
  describeQuorumRequest,
  type NewController,
  removeController,
} from "./quorum_client.ts";

const USAGE = `Usage: deno run -A main.ts metadata-quorum (--bootstrap-server <host:port> |
         --bootstrap-controller <host:port>) [--command-config <file>] <command> [options]

Describe the KRaft metadata quorum (kafka-metadata-quorum.sh).

Commands:
  describe --status                 ClusterId, leader, epoch, high watermark, lag and voters.
  describe --replication [--human-readable]
                                    One row per voter and observer of __cluster_metadata.
  add-controller --command-config <controller.properties>
                                    Add the controller of that config (node.id, its controller
                                    listeners, the directory id in metadata.log.dir) as a voter.
  remove-controller --controller-id <id> --controller-directory-id <uuid>
                                    Remove that voter from the quorum.

Options:
  --bootstrap-server <host:port>      Brokers to ask (they forward to the active controller).
  --bootstrap-controller <host:port>  Controllers to ask directly.
  --command-config <file>             A client properties file (add-controller: the new
                                      controller's server properties).
  -h, --help                          Show this help.`;

const FLAGS = {
  ...BOOTSTRAP_FLAGS,
  "status": { type: "boolean" },
  "replication": { type: "boolean" },
  "human-readable": { type: "boolean" },
  "dry-run": { type: "boolean" },
  "controller-id": { type: "string", short: "i" },
  "controller-directory-id": { type: "string", short: "d" },
} as const;

const WHERE = "metadata-quorum";

/** `metadata-quorum`: the registry entry. */
export const metadataQuorumCommand: Subcommand = {
  name: WHERE,
  summary: "Describe the KRaft metadata quorum (kafka-metadata-quorum.sh).",
  usage: USAGE,
  run: runMetadataQuorum,
};

/** DescribeQuorum's answer for `__cluster_metadata-0`, with the voters' endpoints. */
export interface QuorumStatus {
  clusterId: string;
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: ReplicaState[];
  observers: ReplicaState[];
  /** `LISTENER://host:port` per node id (DescribeQuorum v2 nodes). */
  endpoints: Map<number, string[]>;
}

function endpointText(name: string, host: string, port: number): string {
  return `${name}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Turns a checked DescribeQuorum response into a {@link QuorumStatus}. */
export function quorumStatus(r: DescribeQuorumResponse, clusterId: string): QuorumStatus {
  checkQuorumResponse(r);
  const p = r.topics[0]!.partitions[0]!;
  return {
    clusterId,
    leaderId: p.leaderId,
    leaderEpoch: p.leaderEpoch,
    highWatermark: Number(p.highWatermark),
    voters: p.currentVoters,
    observers: p.observers,
    endpoints: new Map(
      r.nodes.map((n) => [n.nodeId, n.listeners.map((l) => endpointText(l.name, l.host, l.port))]),
    ),
  };
}

function replicaText(s: ReplicaState, endpoints: Map<number, string[]>): string {
  let text = `{"id": ${s.replicaId}`;
  if (s.replicaDirectoryId !== ZERO_UUID) text += `, "directoryId": "${s.replicaDirectoryId}"`;
  const list = endpoints.get(s.replicaId) ?? [];
  if (list.length > 0) text += `, "endpoints": [${list.map((e) => `"${e}"`).join(", ")}]`;
  return `${text}}`;
}

/**
 * The lines of `describe --status`, as Kafka 3.9's MetadataQuorumCommand prints them.
 *
 * @example
 * ```ts ignore
 * console.log(formatStatus(status).join("\n"));
 * ```
 */
export function formatStatus(q: QuorumStatus): string[] {
  const leader = q.voters.find((v) => v.replicaId === q.leaderId);
  if (leader === undefined) {
    throw new UsageError(`The quorum's leader ${q.leaderId} is not among its voters`);
  }
  // The first voter with the smallest log end offset, as Java's Stream.min keeps the first.
  const laggard = q.voters.reduce((min, v) => (v.logEndOffset < min.logEndOffset ? v : min));
  const maxLag = Number(leader.logEndOffset - laggard.logEndOffset);
  let maxLagTimeMs: number;
  if (laggard === leader) maxLagTimeMs = 0;
  else if (leader.lastCaughtUpTimestamp >= 0n && laggard.lastCaughtUpTimestamp >= 0n) {
    maxLagTimeMs = Number(leader.lastCaughtUpTimestamp - laggard.lastCaughtUpTimestamp);
  } else maxLagTimeMs = -1;
  const list = (rs: ReplicaState[]) => `[${rs.map((r) => replicaText(r, q.endpoints)).join(", ")}]`;
  return [
    `ClusterId:              ${q.clusterId}`,
    `LeaderId:               ${q.leaderId}`,
    `LeaderEpoch:            ${q.leaderEpoch}`,
    `HighWatermark:          ${q.highWatermark}`,
    `MaxFollowerLag:         ${maxLag}`,
    `MaxFollowerLagTimeMs:   ${maxLagTimeMs}`,
    `CurrentVoters:          ${list(q.voters)}`,
    `CurrentObservers:       ${list(q.observers)}`,
  ];
}

/**
 * Kafka's `ToolsUtils.prettyPrintTable`: every cell padded to its column's width, then a tab.
 *
 * @example
 * ```ts
 * import { prettyTable } from "./metadata_quorum.ts";
 * prettyTable(["A", "Bee"], [["10", "x"]]); // ["A \tBee\t", "10\tx  \t"]
 * ```
 */
export function prettyTable(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!) + "\t").join("");
  return [line(headers), ...rows.map(line)];
}

/**
 * The table of `describe --replication`: the leader, then the other voters, then observers.
 * `nowMs` is only used with `humanReadable`.
 */
export function formatReplication(q: QuorumStatus, humanReadable = false, nowMs = Date.now()) {
  const leader = q.voters.find((v) => v.replicaId === q.leaderId);
  if (leader === undefined) {
    throw new UsageError(`The quorum's leader ${q.leaderId} is not among its voters`);
  }
  const time = (ms: bigint, what: string) => {
    if (ms < 0n) return "-1";
    if (!humanReadable) return String(ms);
    const ago = nowMs - Number(ms);
    if (Number(ms) <= 0 || ago < 0) {
      throw new UsageError(
        `Error while computing relative time, possible drift in system clock. Current timestamp is ${nowMs}, ${what} timestamp is ${ms}`,
      );
    }
    return `${ago} ms ago`;
  };
  const rows = (rs: ReplicaState[], status: string) =>
    rs.map((s) => [
      String(s.replicaId),
      s.replicaDirectoryId,
      String(s.logEndOffset),
      String(leader.logEndOffset - s.logEndOffset),
      time(s.lastFetchTimestamp, "last fetch"),
      time(s.lastCaughtUpTimestamp, "last caught up"),
      status,
    ]);
  return prettyTable(
    [
      "NodeId",
      "DirectoryId",
      "LogEndOffset",
      "Lag",
      "LastFetchTimestamp",
      "LastCaughtUpTimestamp",
      "Status",
    ],
    [
      ...rows([leader], "Leader"),
      ...rows(q.voters.filter((v) => v.replicaId !== q.leaderId), "Follower"),
      ...rows(q.observers, "Observer"),
    ],
  );
}

/**
 * Asks the quorum's state through brokers or controllers (see {@link BootstrapTarget}); the
 * cluster id comes from DescribeCluster, as Kafka's tool does.
 */
export async function fetchQuorumStatus(
  target: BootstrapTarget,
  props: ReadonlyMap<string, string> = new Map(),
): Promise<QuorumStatus> {
  const options = clientOptions(target.servers, props);
  if (target.kind === "controller") {
    const { conn, response } = await activeController(options);
    try {
      return quorumStatus(response, await clusterIdOf(conn, "controller"));
    } finally {
      conn.close();
    }
  }
  const admin = new Admin(options);
  try {
    const clusterId = (await admin.describeCluster()).clusterId;
    const response = await admin.cluster.retrying(async () => {
      const conn = await admin.cluster.anyConnection();
      const r = await conn.send<DescribeQuorumResponse>(
        ApiKey.DESCRIBE_QUORUM,
        describeQuorumRequest(),
        { version: conn.versionFor(ApiKey.DESCRIBE_QUORUM, 2) },
      );
      checkQuorumResponse(r);
      return r;
    });
    return quorumStatus(response, clusterId);
  } finally {
    admin.close();
  }
}

/**
 * The controller `add-controller` adds, from its server properties: `node.id`, its advertised
 * controller listeners and the directory id in `metadata.log.dir`'s meta.properties (which
 * `storage format` wrote).
 *
 * @example
 * ```ts ignore
 * const { controller, clusterId } = await newControllerFrom("config/controller-2.properties");
 * ```
 */
export async function newControllerFrom(
  path: string,
): Promise<{ controller: NewController; clusterId: string | null }> {
  const { config } = toServerConfig(await readPropertiesFile(path));
  if (!config.isController) {
    throw new UsageError(`${path} is not a controller's configuration (process.roles)`);
  }
  const listeners = config.advertisedControllerListeners.map((l) => ({
    name: l.listenerName,
    host: l.host === "" ? "localhost" : l.host,
    port: l.port,
  }));
  if (listeners.length === 0) throw new UsageError(`${path} has no controller listeners`);
  const meta = await readMetaProperties(config.metadataLogDir);
  if (meta === null || meta.directoryId === null) {
    throw new UsageError(
      `No directory id in ${config.metadataLogDir}/meta.properties: format the new controller with 'storage format --no-initial-controllers' first`,
    );
  }
  return {
    controller: { nodeId: config.nodeId, directoryId: meta.directoryId, listeners },
    clusterId: meta.clusterId,
  };
}

async function runVoterChange(
  command: string,
  values: Record<string, unknown>,
  io: CliIo,
): Promise<number> {
  const target = bootstrapTarget(WHERE, values);
  if (command === "add-controller") {
    const configPath = values["command-config"] as string | undefined;
    if (configPath === undefined) {
      throw new UsageError(
        "metadata-quorum: You must supply the configuration file of the controller you are adding when using add-controller.",
      );
    }
    return await runTool(io, "", async () => {
      const { controller, clusterId } = await newControllerFrom(configPath);
      if (values["dry-run"]) {
        io.out(`DRY RUN of adding controller ${controller.nodeId}`);
        return 0;
      }
      await addController(
        clientOptions(target.servers, new Map()),
        clusterId,
        controller,
        target.kind,
      );
      const endpoints = controller.listeners.map((l) => endpointText(l.name, l.host, l.port));
      io.out(
        `Added controller ${controller.nodeId} with directory id ${controller.directoryId} and endpoints: ${
          endpoints.join(", ")
        }`,
      );
      return 0;
    });
  }
  const id = intFlag(WHERE, "--controller-id", values["controller-id"] as string | undefined);
  const directoryId = values["controller-directory-id"] as string | undefined;
  if (id === undefined || directoryId === undefined) {
    throw new UsageError(
      "metadata-quorum remove-controller: --controller-id and --controller-directory-id are required",
    );
  }
  if (id < 0) throw new UsageError(`Invalid negative --controller-id: ${id}`);
  return await runTool(io, "", async () => {
    if (values["dry-run"]) {
      io.out(`DRY RUN of removing KRaft controller ${id} with directory id ${directoryId}`);
      return 0;
    }
    const props = await loadProperties(values["command-config"] as string | undefined);
    await removeController(
      clientOptions(target.servers, props),
      null,
      { nodeId: id, directoryId },
      target.kind,
    );
    io.out(`Removed KRaft controller ${id} with directory id ${directoryId}`);
    return 0;
  });
}

async function runMetadataQuorum(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(WHERE, args, FLAGS, true);
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`${WHERE}: unexpected argument ${extra[0]}`);
  if (command === undefined) {
    throw new UsageError(
      `${WHERE}: a command is required: describe, add-controller or remove-controller`,
    );
  }
  if (command === "add-controller" || command === "remove-controller") {
    return await runVoterChange(command, values, io);
  }
  if (command !== "describe") throw new UsageError(`${WHERE}: unknown command ${command}`);
  const target = bootstrapTarget(WHERE, values);
  if (values.status && values.replication) {
    throw new UsageError(
      "Only one of --status or --replication should be specified with describe sub-command",
    );
  }
  if (!values.status && !values.replication) {
    throw new UsageError(
      "One of --status or --replication must be specified with describe sub-command",
    );
  }
  if (values.status && values["human-readable"]) {
    throw new UsageError("The option --human-readable is only supported along with --replication");
  }
  return await runTool(io, "", async () => {
    const props = await loadProperties(values["command-config"]);
    const status = await fetchQuorumStatus(target, props);
    const lines = values.status
      ? formatStatus(status)
      : formatReplication(status, values["human-readable"] ?? false);
    for (const line of lines) io.out(line);
    return 0;
  });
}
