/**
 * A whole KRaft cluster inside the calling process, for application tests: N controllers (ids
 * 1..N, the static voters) and M brokers (ids N+1..N+M), as `deno task cluster` numbers them, each
 * a real {@link startNode} on its own 127.0.0.1 ports and formatted temp directory. No JVM, no
 * Docker, no child process: stopping a node is a graceful in-process shutdown, and
 * {@link EmbeddedCluster.close} (or `await using`) removes every node, port and directory.
 *
 * @module
 */

import { join } from "node:path";
import type { Logger, LogLevel } from "../core/log.ts";
import { parseServerConfig, type ServerConfig } from "../core/config/server_config.ts";
import { randomUuid } from "../net/protocol/uuid.ts";
import { formatNodeStorage, makeClusterRoot, removeClusterRoot } from "../storage/node_format.ts";
import { createLogger } from "./logger.ts";
import { type KraftlingNode, startNode } from "./node.ts";

/** The most controllers or brokers one embedded cluster may have. */
const NODES_MAX = 32;

/** Options of {@link startCluster}. Without `controllers` and `brokers`: one combined node. */
export interface EmbeddedClusterOptions {
  /** Controller-only nodes, ids 1..N (default 1 when `brokers` is given). */
  controllers?: number;
  /** Broker-only nodes, ids N+1..N+M (default 1 when `controllers` is given). */
  brokers?: number;
  /** Kafka config keys for every node, on top of the test-friendly defaults (see README). */
  overrides?: Record<string, string>;
  /** Level of the nodes' stderr log lines (default `warn`); ignored when `logger` is given. */
  logLevel?: LogLevel;
  /** Where each node's log lines go instead of stderr. */
  logger?: (nodeId: number) => Logger;
}

/** A node's role in an embedded cluster. */
export type EmbeddedRole = "controller" | "broker" | "combined";

/** One node of an {@link EmbeddedCluster}. */
export interface EmbeddedNodeInfo {
  readonly nodeId: number;
  readonly role: EmbeddedRole;
  /** `127.0.0.1:port` of its broker listener (PLAINTEXT), or null for a controller. */
  readonly brokerAddress: string | null;
  /** `127.0.0.1:port` of its controller listener (CONTROLLER), or null for a broker. */
  readonly controllerAddress: string | null;
  /** Its data directory (log.dirs and metadata.log.dir). */
  readonly dir: string;
  /** True while the node runs. */
  readonly running: boolean;
}

/** A running cluster started by {@link startCluster}. */
export interface EmbeddedCluster extends AsyncDisposable {
  readonly clusterId: string;
  /** The brokers' `host:port` list, for clients' `bootstrap.servers`. */
  readonly bootstrapServers: string;
  /** The controllers' `host:port` list, for `--bootstrap-controller`. */
  readonly bootstrapControllers: string;
  /** The temp directory holding every node's data (removed by `close()`). */
  readonly dir: string;
  readonly nodes: readonly EmbeddedNodeInfo[];
  /** Gracefully stops a broker (controlled shutdown); its data and port are kept for a restart. */
  stopBroker(nodeId: number): Promise<void>;
  /** Starts a stopped broker on its old port and data; resolves once it is unfenced. */
  startBroker(nodeId: number): Promise<void>;
  /** Gracefully stops a controller (the leader resigns); its data and port are kept. */
  stopController(nodeId: number): Promise<void>;
  /** Starts a stopped controller on its old port and data. */
  startController(nodeId: number): Promise<void>;
  /** Stops every node (brokers first) and removes the data directory. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Defaults that suit tests on loopback: elections and broker registration within a fraction of a
 * second, no group rebalance delay, internal topics no wider than the cluster. `overrides` win.
 */
function defaultProps(brokerCount: number): Record<string, string> {
  const internalRf = String(Math.max(1, Math.min(3, brokerCount)));
  return {
    "controller.listener.names": "CONTROLLER",
    "controller.quorum.election.timeout.ms": "300",
    "controller.quorum.fetch.timeout.ms": "1000",
    "controller.quorum.election.backoff.max.ms": "300",
    "controller.quorum.retry.backoff.ms": "20",
    "broker.heartbeat.interval.ms": "200",
    "broker.session.timeout.ms": "4000",
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "5",
    "offsets.topic.replication.factor": internalRf,
    "transaction.state.log.replication.factor": internalRf,
    "transaction.state.log.min.isr": String(Math.min(2, Number(internalRf))),
  };
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > NODES_MAX) {
    throw new RangeError(
      `startCluster: ${name} must be an integer from ${min} to ${NODES_MAX}, got ${value}`,
    );
  }
  return value;
}

/** A free TCP port on 127.0.0.1 (bound and released; the node binds it again at once). */
function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface NodeSlot {
  nodeId: number;
  role: EmbeddedRole;
  brokerPort: number | null;
  controllerPort: number | null;
  dir: string;
  config: ServerConfig;
  node: KraftlingNode | null;
  /** The start or stop in progress, so concurrent calls on one node queue up. */
  busy: Promise<void>;
}

function nodeProps(slot: Omit<NodeSlot, "config" | "node" | "busy">): Record<string, string> {
  const listeners: string[] = [];
  if (slot.brokerPort !== null) listeners.push(`PLAINTEXT://127.0.0.1:${slot.brokerPort}`);
  if (slot.controllerPort !== null) listeners.push(`CONTROLLER://127.0.0.1:${slot.controllerPort}`);
  const roles = slot.role === "combined" ? "broker,controller" : slot.role;
  const props: Record<string, string> = {
    "process.roles": roles,
    "node.id": String(slot.nodeId),
    "listeners": listeners.join(","),
    "log.dirs": join(slot.dir, "logs"),
  };
  if (slot.brokerPort !== null) {
    props["advertised.listeners"] = `PLAINTEXT://127.0.0.1:${slot.brokerPort}`;
  }
  return props;
}

/**
 * Starts a cluster in this process: formats a temp directory per node, starts the controllers and
 * brokers together and resolves once every broker is registered and unfenced. Without options it
 * is one combined node (id 1). A node that fails to start stops the others and removes the
 * directory before the error is thrown.
 *
 * @example
 * ```ts ignore
 * import { Admin, startCluster } from "./mod.ts";
 * await using cluster = await startCluster({ controllers: 3, brokers: 3 });
 * const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
 * await admin.createTopics([{ name: "orders", numPartitions: 3, replicationFactor: 3 }]);
 * admin.close();
 * await cluster.stopBroker(4); // fault injection; startBroker(4) brings it back
 * ```
 */
export async function startCluster(options: EmbeddedClusterOptions = {}): Promise<EmbeddedCluster> {
  const combined = options.controllers === undefined && options.brokers === undefined;
  const controllerCount = combined ? 1 : checkCount("controllers", options.controllers ?? 1, 1);
  const brokerCount = combined ? 1 : checkCount("brokers", options.brokers ?? 1, 0);
  const root = await makeClusterRoot("kraftling-embedded-");
  const slots: NodeSlot[] = [];
  try {
    const plan = (nodeId: number, role: EmbeddedRole) => ({
      nodeId,
      role,
      brokerPort: role === "controller" ? null : freeLoopbackPort(),
      controllerPort: role === "broker" ? null : freeLoopbackPort(),
      dir: join(root, `${role}-${nodeId}`),
    });
    const planned = combined ? [plan(1, "combined")] : [
      ...Array.from({ length: controllerCount }, (_, i) => plan(i + 1, "controller")),
      ...Array.from({ length: brokerCount }, (_, i) => plan(controllerCount + i + 1, "broker")),
    ];
    const voters = planned.filter((p) => p.controllerPort !== null)
      .map((p) => `${p.nodeId}@127.0.0.1:${p.controllerPort}`).join(",");
    const clusterId = randomUuid();
    for (const p of planned) {
      const props = {
        ...defaultProps(brokerCount),
        "controller.quorum.voters": voters,
        ...options.overrides,
        ...nodeProps(p),
      };
      const { config, warnings } = parseServerConfig(new Map(Object.entries(props)));
      if (warnings.length > 0) {
        loggerFor(options, p.nodeId).warn(warnings.join("; "));
      }
      await formatNodeStorage(config, { clusterId, nowMs: Date.now() });
      slots.push({ ...p, config, node: null, busy: Promise.resolve() });
    }
    const cluster = new RunningCluster(root, clusterId, slots, options);
    try {
      await Promise.all(slots.map((s) => cluster.start(s)));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  } catch (error) {
    await removeClusterRoot(root);
    throw error;
  }
}

function loggerFor(options: EmbeddedClusterOptions, nodeId: number): Logger {
  return options.logger?.(nodeId) ??
    createLogger(`KafkaNode id=${nodeId}`, options.logLevel ?? "warn");
}

function address(port: number | null): string | null {
  return port === null ? null : `127.0.0.1:${port}`;
}

class RunningCluster implements EmbeddedCluster {
  readonly dir: string;
  readonly clusterId: string;
  readonly bootstrapServers: string;
  readonly bootstrapControllers: string;
  readonly #slots: readonly NodeSlot[];
  readonly #options: EmbeddedClusterOptions;
  #closed: Promise<void> | null = null;

  constructor(
    dir: string,
    clusterId: string,
    slots: readonly NodeSlot[],
    options: EmbeddedClusterOptions,
  ) {
    this.dir = dir;
    this.clusterId = clusterId;
    this.#slots = slots;
    this.#options = options;
    this.bootstrapServers = slots.map((s) => address(s.brokerPort)).filter((a) => a !== null)
      .join(",");
    this.bootstrapControllers = slots.map((s) => address(s.controllerPort))
      .filter((a) => a !== null).join(",");
  }

  get nodes(): readonly EmbeddedNodeInfo[] {
    return this.#slots.map((s) => ({
      nodeId: s.nodeId,
      role: s.role,
      brokerAddress: address(s.brokerPort),
      controllerAddress: address(s.controllerPort),
      dir: s.dir,
      running: s.node !== null,
    }));
  }

  /** Starts a slot's node unless it runs; calls on one node run one after the other. */
  start(slot: NodeSlot): Promise<void> {
    slot.busy = slot.busy.then(async () => {
      if (slot.node !== null) return;
      slot.node = await startNode(slot.config, { logger: loggerFor(this.#options, slot.nodeId) });
    });
    return slot.busy;
  }

  #stop(slot: NodeSlot): Promise<void> {
    const run = slot.busy.catch(() => {}).then(async () => {
      const node = slot.node;
      slot.node = null;
      await node?.stop();
    });
    slot.busy = run;
    return run;
  }

  #slot(nodeId: number, wanted: "broker" | "controller"): NodeSlot {
    if (this.#closed !== null) throw new Error("The embedded cluster is closed");
    const slot = this.#slots.find((s) => s.nodeId === nodeId);
    if (slot === undefined || (slot.role !== wanted && slot.role !== "combined")) {
      const ids = this.#slots.filter((s) => s.role === wanted || s.role === "combined")
        .map((s) => s.nodeId);
      throw new RangeError(
        `Node ${nodeId} is not a ${wanted} of this cluster (${wanted}s: ${
          ids.join(", ") || "none"
        })`,
      );
    }
    return slot;
  }

  async stopBroker(nodeId: number): Promise<void> {
    await this.#stop(this.#slot(nodeId, "broker"));
  }

  async startBroker(nodeId: number): Promise<void> {
    await this.start(this.#slot(nodeId, "broker"));
  }

  async stopController(nodeId: number): Promise<void> {
    await this.#stop(this.#slot(nodeId, "controller"));
  }

  async startController(nodeId: number): Promise<void> {
    await this.start(this.#slot(nodeId, "controller"));
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Brokers first, so their controlled shutdown still finds a controller.
      const brokers = this.#slots.filter((s) => s.role === "broker");
      await Promise.all(brokers.map((s) => this.#stop(s)));
      const others = this.#slots.filter((s) => s.role !== "broker");
      await Promise.all(others.map((s) => this.#stop(s)));
      await removeClusterRoot(this.dir);
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
