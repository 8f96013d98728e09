/**
 * What `metadata-quorum` and `features` share: Kafka's mutually exclusive `--bootstrap-server` /
 * `--bootstrap-controller` flags, and reaching the active controller directly (KIP-919) by
 * asking the bootstrap controllers DescribeQuorum and following the leader id to its endpoint.
 *
 * @module
 */

import { ConnectionError, KafkaConnection } from "../net/connection.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import {
  createPartitionData,
  createTopicData,
} from "../net/protocol/generated/describe_quorum_request.ts";
import type { DescribeQuorumResponse } from "../net/protocol/generated/describe_quorum_response.ts";
import type { DescribeClusterResponse } from "../net/protocol/generated/describe_cluster_response.ts";
import { check, type ClientOptions, kafkaError, parseBootstrap } from "../net/client/cluster.ts";
import { UsageError } from "./command.ts";

/** The flags of a tool that talks to brokers or straight to controllers. */
export const BOOTSTRAP_FLAGS = {
  "bootstrap-server": { type: "string" },
  "bootstrap-controller": { type: "string" },
  "command-config": { type: "string" },
} as const;

/** Where a tool connects: brokers (`--bootstrap-server`) or controllers. */
export interface BootstrapTarget {
  kind: "server" | "controller";
  servers: string;
}

/**
 * Reads the required, mutually exclusive `--bootstrap-server` / `--bootstrap-controller`.
 *
 * @example
 * ```ts
 * import { bootstrapTarget } from "./quorum_client.ts";
 * bootstrapTarget("features", { "bootstrap-controller": "127.0.0.1:9093" });
 * // { kind: "controller", servers: "127.0.0.1:9093" }
 * ```
 */
export function bootstrapTarget(
  where: string,
  values: { "bootstrap-server"?: string; "bootstrap-controller"?: string },
): BootstrapTarget {
  const server = values["bootstrap-server"];
  const controller = values["bootstrap-controller"];
  if (server !== undefined && controller !== undefined) {
    throw new UsageError(
      `${where}: --bootstrap-server and --bootstrap-controller cannot be used together`,
    );
  }
  if (server === undefined && controller === undefined) {
    throw new UsageError(
      `${where}: one of --bootstrap-server or --bootstrap-controller is required`,
    );
  }
  const servers = (server ?? controller)!;
  if (servers.trim() === "") throw new UsageError(`${where}: the bootstrap list is empty`);
  return { kind: server !== undefined ? "server" : "controller", servers };
}

/** The DescribeQuorum request body for `__cluster_metadata-0`. */
export function describeQuorumRequest(): Record<string, unknown> {
  return {
    topics: [
      createTopicData({
        topicName: "__cluster_metadata",
        partitions: [createPartitionData({ partitionIndex: 0 })],
      }),
    ],
  };
}

/** Throws the top-level or partition error of a DescribeQuorum response. */
export function checkQuorumResponse(r: DescribeQuorumResponse): void {
  if (r.errorCode !== ErrorCode.NONE) {
    throw kafkaError(r.errorCode, "the metadata quorum", r.errorMessage);
  }
  const p = r.topics[0]?.partitions[0];
  if (p === undefined) throw kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "the metadata quorum");
  if (p.errorCode !== ErrorCode.NONE) {
    throw kafkaError(p.errorCode, "the metadata quorum", p.errorMessage);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function askQuorum(
  host: string,
  port: number,
  options: ClientOptions,
): Promise<{ conn: KafkaConnection; response: DescribeQuorumResponse }> {
  const conn = await KafkaConnection.connect(host, port, {
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    tls: options.tls,
    sasl: options.sasl,
  });
  try {
    const response = await conn.send<DescribeQuorumResponse>(
      ApiKey.DESCRIBE_QUORUM,
      describeQuorumRequest(),
      { version: conn.versionFor(ApiKey.DESCRIBE_QUORUM, 2) },
    );
    return { conn, response };
  } catch (error) {
    conn.close();
    throw error;
  }
}

/**
 * Connects to the active controller through the controllers in `options.bootstrapServers`: each is
 * asked DescribeQuorum; the leader answers it, a follower names the leader whose endpoint comes
 * from the response's nodes. Retries (bounded by `options.retries`, default 5) while an election
 * runs. The caller closes the returned connection.
 *
 * @example
 * ```ts ignore
 * const { conn, response } = await activeController({ bootstrapServers: "127.0.0.1:9093" });
 * conn.close();
 * ```
 */
export async function activeController(
  options: ClientOptions,
): Promise<{ conn: KafkaConnection; response: DescribeQuorumResponse }> {
  const addresses = parseBootstrap(options.bootstrapServers);
  const rounds = Math.max(1, (options.retries ?? 5) + 1);
  let backoffMs = options.retryBackoffMs ?? 200;
  let last: unknown;
  for (let round = 0; round < rounds; round++) {
    for (const { host, port } of addresses) {
      try {
        const asked = await askQuorum(host, port, options);
        const p = asked.response.topics[0]?.partitions[0];
        if (asked.response.errorCode === ErrorCode.NONE && p?.errorCode === ErrorCode.NONE) {
          return asked;
        }
        asked.conn.close();
        const leader = asked.response.nodes.find((n) => n.nodeId === p?.leaderId);
        const endpoint = leader?.listeners[0];
        if (endpoint === undefined) {
          last = new KafkaError(
            ErrorCode.NOT_LEADER_OR_FOLLOWER,
            `${host}:${port} knows no active controller (leader ${p?.leaderId ?? -1})`,
          );
          continue;
        }
        const atLeader = await askQuorum(endpoint.host, endpoint.port, options);
        checkQuorumResponse(atLeader.response);
        return atLeader;
      } catch (error) {
        last = error;
      }
    }
    if (round + 1 < rounds) {
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 1_000);
    }
  }
  const reason = (last as Error | undefined)?.message ?? "no controllers";
  throw new ConnectionError(
    `Cannot find the active controller among ${
      addresses.map((a) => `${a.host}:${a.port}`)
    }: ${reason}`,
  );
}

// ---- KIP-853 voter changes ------------------------------------------------------------------

/** Attempts of a voter change answered with a retriable error (a new leader, a lagging voter). */
const VOTER_CHANGE_ATTEMPTS_MAX = 40;
/** Pause between those attempts, in milliseconds. */
const VOTER_CHANGE_BACKOFF_MS = 500;
/** How long the leader may take to commit a voter change (AddRaftVoter `TimeoutMs`). */
const VOTER_CHANGE_TIMEOUT_MS = 30_000;

/** A controller to add (`add-controller`): its replica key and controller listeners. */
export interface NewController {
  nodeId: number;
  directoryId: string;
  listeners: { name: string; host: string; port: number }[];
}

/** Errors worth another attempt against the (maybe new) active controller. */
const VOTER_CHANGE_RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_CONTROLLER,
]);

/**
 * Where a voter change goes: `controller` finds the active controller among
 * `options.bootstrapServers` (KIP-919); `server` sends it to a broker there, which forwards it
 * to the active controller (as Kafka's `--bootstrap-server` form does).
 */
export type VoterChangeRoute = BootstrapTarget["kind"];

/** The first broker among `options.bootstrapServers` that accepts a connection. */
async function anyBroker(options: ClientOptions): Promise<KafkaConnection> {
  let last: unknown = new ConnectionError("No bootstrap servers");
  for (const { host, port } of parseBootstrap(options.bootstrapServers)) {
    try {
      return await KafkaConnection.connect(host, port, {
        clientId: options.clientId,
        connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
        requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
        tls: options.tls,
        sasl: options.sasl,
      });
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/**
 * Sends one voter change along `route` (see {@link VoterChangeRoute}), retrying retriable
 * answers (bounded: {@link VOTER_CHANGE_ATTEMPTS_MAX}).
 */
async function sendVoterChange(
  options: ClientOptions,
  change: { apiKey: number; body: Record<string, unknown>; route: VoterChangeRoute },
): Promise<void> {
  const { apiKey, body } = change;
  let last: unknown;
  for (let attempt = 0; attempt < VOTER_CHANGE_ATTEMPTS_MAX; attempt++) {
    if (attempt > 0) await sleep(VOTER_CHANGE_BACKOFF_MS);
    try {
      const conn = change.route === "server"
        ? await anyBroker(options)
        : (await activeController(options)).conn;
      try {
        const r = await conn.send<{ errorCode: number; errorMessage?: string | null }>(
          apiKey,
          body,
          { version: 0, timeoutMs: VOTER_CHANGE_TIMEOUT_MS + 5_000 },
        );
        if (r.errorCode === ErrorCode.NONE) return;
        last = kafkaError(r.errorCode, "the metadata quorum", r.errorMessage ?? null);
        if (!VOTER_CHANGE_RETRIABLE.has(r.errorCode)) throw last;
      } finally {
        conn.close();
      }
    } catch (error) {
      // Unreachable controllers were already retried by activeController: give up on those.
      const retriable = error instanceof KafkaError && VOTER_CHANGE_RETRIABLE.has(error.code);
      if (!retriable) throw error;
      last = error;
    }
  }
  throw last;
}

/**
 * KIP-853 AddRaftVoter through the active controller: resolves once the new voter set commits.
 *
 * @example
 * ```ts ignore
 * await addController({ bootstrapServers: "127.0.0.1:9093" }, "clusterId", {
 *   nodeId: 2, directoryId: "b7tCfPnxRpOmQVrWcIAyJw", listeners: [{ name: "CONTROLLER", host: "127.0.0.1", port: 9095 }],
 * });
 * ```
 */
export async function addController(
  options: ClientOptions,
  clusterId: string | null,
  controller: NewController,
  route: VoterChangeRoute = "controller",
): Promise<void> {
  await sendVoterChange(options, {
    apiKey: ApiKey.ADD_RAFT_VOTER,
    route,
    body: {
      clusterId,
      timeoutMs: VOTER_CHANGE_TIMEOUT_MS,
      voterId: controller.nodeId,
      voterDirectoryId: controller.directoryId,
      listeners: controller.listeners.map((l) => ({ ...l, _unknownTaggedFields: [] })),
    },
  });
}

/** KIP-853 RemoveRaftVoter through the active controller: resolves once the removal commits. */
export async function removeController(
  options: ClientOptions,
  clusterId: string | null,
  key: { nodeId: number; directoryId: string },
  route: VoterChangeRoute = "controller",
): Promise<void> {
  await sendVoterChange(options, {
    apiKey: ApiKey.REMOVE_RAFT_VOTER,
    route,
    body: { clusterId, voterId: key.nodeId, voterDirectoryId: key.directoryId },
  });
}

/**
 * The cluster id from DescribeCluster on one connection: v1 with endpoint type 2 asks a controller
 * (KIP-919), 1 a broker.
 *
 * @example
 * ```ts ignore
 * const id = await clusterIdOf(conn, "controller");
 * ```
 */
export async function clusterIdOf(
  conn: KafkaConnection,
  kind: BootstrapTarget["kind"],
): Promise<string> {
  const r = await conn.send<DescribeClusterResponse>(ApiKey.DESCRIBE_CLUSTER, {
    includeClusterAuthorizedOperations: false,
    endpointType: kind === "controller" ? 2 : 1,
  }, { version: conn.versionFor(ApiKey.DESCRIBE_CLUSTER, 1) });
  check(r.errorCode, "cluster", r.errorMessage);
  return r.clusterId;
}
