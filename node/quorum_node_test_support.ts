/**
 * An in-process quorum for tests: raft drivers of `__cluster_metadata-0` on real metadata logs in
 * temp directories, talking Kafka RPCs to each other through {@link KafkaRaftTransport} and the
 * raft handlers on loopback controller listeners. Voters serve a controller listener; observers
 * (brokers) only fetch.
 *
 * @module
 */

import { join } from "node:path";
import { silentLogger } from "../core/log.ts";
import type { LogEntry, RaftConfig } from "../core/raft/types.ts";
import type { RoleChange } from "../core/raft/ready.ts";
import { Dispatcher } from "../net/dispatcher.ts";
import { KafkaServer } from "../net/server.ts";
import { registerRaftHandlers } from "../net/handlers/raft_rpcs.ts";
import { MetadataLog, type MetadataLogOptions } from "./metadata_log.ts";
import { RaftDriver, type SnapshotPolicy } from "./raft_driver.ts";
import { KafkaRaftTransport } from "./raft_transport.ts";

/** Fast timings so elections take a fraction of a second. */
export const FAST_RAFT_CONFIG: Partial<RaftConfig> = {
  electionTimeoutMs: 300,
  fetchTimeoutMs: 600,
  electionBackoffMaxMs: 300,
  requestTimeoutMs: 500,
  appendLingerMs: 5,
  fetchMaxWaitMs: 200,
  retryBackoffMs: 20,
};

/** One member of a {@link TestQuorum}. */
export interface TestReplica {
  readonly nodeId: number;
  readonly isVoter: boolean;
  readonly dir: string;
  /** The controller listener's port (voters only; 0 for observers). */
  readonly port: number;
  /** The running driver, or null while stopped. */
  driver: RaftDriver | null;
  transport: KafkaRaftTransport | null;
  /** Every committed entry applied by this replica's current incarnation, in order. */
  committed: LogEntry[];
  /**
   * The replica's state machine: every data payload applied, in order, whether from committed
   * entries or from a loaded snapshot (KIP-630), which replaces it.
   */
  state: Uint8Array[];
  roles: RoleChange[];
  server: KafkaServer | null;
}

/** Options of {@link startTestQuorum}. */
export interface TestQuorumOptions {
  voters: number[];
  observers?: number[];
  clusterId?: string;
  /** Per-node cluster id overrides (to test INCONSISTENT_CLUSTER_ID). */
  clusterIds?: Record<number, string>;
  /** KIP-630: when replicas snapshot their state (default: Kafka's, i.e. practically never). */
  snapshotPolicy?: Partial<SnapshotPolicy>;
  /** How each replica keeps its metadata log (segment size, retention). */
  logOptions?: MetadataLogOptions;
  /** Raft timings on top of {@link FAST_RAFT_CONFIG}. */
  config?: Partial<RaftConfig>;
}

/** A running in-process quorum. */
export interface TestQuorum {
  readonly replicas: ReadonlyMap<number, TestReplica>;
  /** The leader most voters agree on and which leads itself, or -1. */
  leaderId(): number;
  /** Gracefully stops one replica (the leader resigns); its directory stays. */
  stopReplica(nodeId: number): Promise<void>;
  /**
   * Stops one replica as kill -9 would look to its peers: its connections are reset and it sends
   * nothing more (no EndQuorumEpoch); its directory stays.
   */
  crashReplica(nodeId: number): Promise<void>;
  /** Starts a stopped replica again on the same directory (and port, for voters). */
  startReplica(nodeId: number): Promise<void>;
  /** Stops everything and removes the directories. */
  close(): Promise<void>;
}

const DEFAULT_CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg";

/**
 * Starts a quorum: binds every voter's controller listener first (so all endpoints are known),
 * then starts each replica's driver with its transport.
 *
 * @example
 * ```ts ignore
 * const quorum = await startTestQuorum({ voters: [1, 2, 3], observers: [4] });
 * try { ... } finally { await quorum.close(); }
 * ```
 */
export async function startTestQuorum(options: TestQuorumOptions): Promise<TestQuorum> {
  const root = await Deno.makeTempDir({ prefix: "kraftling-quorum-" });
  const replicas = new Map<number, TestReplica>();
  const ids = [...options.voters, ...(options.observers ?? [])];
  for (const nodeId of ids) {
    const isVoter = options.voters.includes(nodeId);
    replicas.set(nodeId, {
      nodeId,
      isVoter,
      dir: join(root, `node-${nodeId}`),
      port: isVoter ? freeLoopbackPort() : 0,
      driver: null,
      transport: null,
      committed: [],
      state: [],
      roles: [],
      server: null,
    });
  }
  const config = { ...FAST_RAFT_CONFIG, ...options.config };
  const endpoints = options.voters.map((nodeId) => ({
    nodeId,
    host: "127.0.0.1",
    port: replicas.get(nodeId)!.port,
  }));

  const startReplica = async (nodeId: number) => {
    const replica = replicas.get(nodeId)!;
    if (replica.driver !== null) return;
    const clusterId = options.clusterIds?.[nodeId] ?? options.clusterId ?? DEFAULT_CLUSTER_ID;
    const dispatcher = new Dispatcher({ logger: silentLogger });
    if (replica.isVoter) {
      const server = new KafkaServer({
        listenerName: "CONTROLLER",
        hostname: "127.0.0.1",
        port: replica.port,
        handler: dispatcher.handleFrame,
        logger: silentLogger,
        frameBytesMax: 100 * 1024 * 1024,
      });
      server.start();
      replica.server = server;
    }
    const transport = new KafkaRaftTransport({
      nodeId,
      clusterId,
      voters: endpoints,
      listenerName: "CONTROLLER",
      requestTimeoutMs: config.requestTimeoutMs!,
      logger: silentLogger,
    });
    replica.committed = [];
    replica.state = [];
    replica.roles = [];
    const log = await MetadataLog.open(replica.dir, silentLogger, options.logOptions);
    replica.driver = await RaftDriver.start({
      nodeId,
      voters: options.voters,
      metadataLogDir: replica.dir,
      log,
      config,
      logger: silentLogger,
      listener: {
        onCommitted: (entries) => {
          replica.committed.push(...entries);
          for (const e of entries) {
            if (!e.control && e.payload.length > 0) replica.state.push(e.payload);
          }
        },
        onRoleChange: (change) => replica.roles.push(change),
        snapshotPayloads: () => [...replica.state],
        onSnapshotLoaded: (contents) => {
          replica.state = [...contents.payloads];
        },
      },
      snapshotPolicy: options.snapshotPolicy,
      transport,
    });
    replica.transport = transport;
    if (replica.isVoter) {
      registerRaftHandlers(dispatcher, {
        exchange: transport,
        clusterId,
        requestTimeoutMs: config.requestTimeoutMs!,
        listenerName: "CONTROLLER",
      });
    }
  };

  const stopReplica = async (nodeId: number) => {
    const replica = replicas.get(nodeId)!;
    const driver = replica.driver;
    replica.driver = null;
    replica.transport = null;
    await driver?.stop();
    await replica.server?.stop();
    replica.server = null;
  };

  const crashReplica = async (nodeId: number) => {
    const replica = replicas.get(nodeId)!;
    const { driver, transport, server } = replica;
    replica.driver = null;
    replica.transport = null;
    replica.server = null;
    await server?.stop(0); // peers' connections to it are reset, requests unanswered
    await transport?.close(); // nothing leaves any more, not even a resignation
    await driver?.stop();
  };

  for (const nodeId of ids) await startReplica(nodeId);

  return {
    replicas,
    leaderId() {
      for (const replica of replicas.values()) {
        const driver = replica.driver;
        if (driver !== null && driver.isLeaderReady) return replica.nodeId;
      }
      return -1;
    },
    stopReplica,
    crashReplica,
    startReplica,
    async close() {
      for (const nodeId of ids) await stopReplica(nodeId);
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `condition` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
