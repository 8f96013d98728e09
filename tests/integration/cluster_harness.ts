/**
 * A real multi-process KRaft cluster on loopback for tests, benchmarks and `scripts/cluster.ts`:
 * N controller-only processes (the voters, ids 1..N) and M broker-only processes (observers, ids
 * N+1..N+M), each `deno run -A main.ts server-start` on its own formatted temp directory and free
 * 127.0.0.1 ports, with kill -9, SIGTERM stop and restart of each node. With `dynamicQuorum` the
 * quorum is a KIP-853 one: every node finds it through `controller.quorum.bootstrap.servers`, the
 * first controllers are formatted as the initial voters (`--standalone` or
 * `--initial-controllers`) and the others with `--no-initial-controllers` (observers to add).
 *
 * @module
 */

import { join } from "node:path";
import { cpuProfileArgs, freePort, REPO_ROOT, runMain } from "./harness.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { DescribeQuorumResponse } from "../../net/protocol/generated/describe_quorum_response.ts";
import { randomUuid } from "../../net/protocol/uuid.ts";

/** How long a process may take to log that it started, in milliseconds. */
const START_TIMEOUT_MS = 60_000;
/** How long `stop()` waits after SIGTERM before SIGKILL, in milliseconds. */
const STOP_GRACE_MS = 15_000;
/** The most log text kept in memory per node (older text is dropped), in characters. */
const LOG_CHARS_MAX = 2_000_000;

/** A node's role in the cluster. */
export type ClusterRole = "controller" | "broker";

/** One node process of a {@link TestCluster}. */
export interface ClusterNode {
  readonly nodeId: number;
  readonly role: ClusterRole;
  /** The port of its one listener: CONTROLLER for controllers, PLAINTEXT for brokers. */
  readonly port: number;
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** Its data directory (holds `server.properties` and `logs/`). */
  readonly dir: string;
  readonly propertiesPath: string;
  /** Its `metadata.log.dir` (the first log dir): `__cluster_metadata-0/` lives here. */
  readonly metadataLogDir: string;
  /** True while a process runs. */
  readonly running: boolean;
  /** The process id while running, else null. */
  readonly pid: number | null;
  /** What the node logged so far (every incarnation, bounded). */
  logs(): string;
  /** Starts the process; resolves once it logs that it started. */
  start(): Promise<void>;
  /** kill -9 and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after a grace period, and wait for the exit. */
  stop(): Promise<void>;
}

/** Options of {@link createCluster}. */
export interface ClusterOptions {
  /** Number of controller-only processes (default 3). */
  controllers?: number;
  /** Number of broker-only processes (default 1). */
  brokers?: number;
  /** Properties for every node (override the defaults below). */
  props?: Record<string, string>;
  /** Extra properties for controllers only. */
  controllerProps?: Record<string, string>;
  /** Extra properties for brokers only. */
  brokerProps?: Record<string, string>;
  /** Properties of one node (e.g. its `broker.rack`), over the ones above. */
  nodeProps?: (nodeId: number, role: ClusterRole) => Record<string, string>;
  /** Where the node directories go (default: a new temp directory, removed by `stop()`). */
  rootDir?: string;
  /** Called with each chunk a node writes to stdout/stderr. */
  onOutput?: (node: ClusterNode, text: string) => void;
  /** Called when a process exits without `kill()`/`stop()` having been asked for. */
  onUnexpectedExit?: (node: ClusterNode, code: number) => void;
  /**
   * A dynamic (KIP-853) quorum instead of `controller.quorum.voters`: controllers 1..initialVoters
   * (default 1: `--standalone`) form the initial voter set and are the bootstrap servers; the
   * other controllers are formatted with `--no-initial-controllers` and start as observers.
   */
  dynamicQuorum?: { initialVoters?: number };
  /** Extra `storage format` flags for every node, e.g. `--add-scram` (KIP-900). */
  formatArgs?: string[];
}

/** A formatted (and possibly running) cluster. */
export interface TestCluster {
  readonly root: string;
  readonly clusterId: string;
  readonly controllers: readonly ClusterNode[];
  readonly brokers: readonly ClusterNode[];
  readonly nodes: readonly ClusterNode[];
  /** Brokers' `host:port` list for `--bootstrap-server`. */
  readonly bootstrapServers: string;
  /** Controllers' `host:port` list for `--bootstrap-controller`. */
  readonly bootstrapControllers: string;
  /** `controller.quorum.voters` (dynamic quorums: `controller.quorum.bootstrap.servers`). */
  readonly voters: string;
  node(nodeId: number): ClusterNode;
  /** Starts every node that is not running (controllers and brokers together). */
  startAll(): Promise<void>;
  /** Polls the running controllers until one reports itself leader (other than `not`). */
  waitForLeader(options?: { not?: number; timeoutMs?: number }): Promise<number>;
  /** Stops brokers, then controllers; removes the root unless it was given or `keepRoot` is set. */
  stop(options?: { keepRoot?: boolean }): Promise<void>;
}

/** Defaults that keep elections and broker fencing quick on loopback. */
const DEFAULT_PROPS: Record<string, string> = {
  "controller.listener.names": "CONTROLLER",
  "controller.quorum.election.timeout.ms": "500",
  "controller.quorum.fetch.timeout.ms": "1000",
  "offsets.topic.replication.factor": "1",
  "transaction.state.log.replication.factor": "1",
  "transaction.state.log.min.isr": "1",
  "offsets.topic.num.partitions": "4",
  "group.initial.rebalance.delay.ms": "0",
};

function propertiesText(props: Record<string, string>): string {
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/**
 * DescribeQuorum asked of one controller (`host:port`); null when it cannot be reached in time.
 *
 * @example
 * ```ts ignore
 * const response = await describeQuorumAt("127.0.0.1", 9093);
 * ```
 */
export async function describeQuorumAt(
  host: string,
  port: number,
  timeoutMs = 2_000,
): Promise<DescribeQuorumResponse | null> {
  let conn: KafkaConnection | null = null;
  try {
    conn = await KafkaConnection.connect(host, port, {
      connectTimeoutMs: timeoutMs,
      requestTimeoutMs: timeoutMs,
    });
    return await conn.send<DescribeQuorumResponse>(ApiKey.DESCRIBE_QUORUM, {
      topics: [{
        topicName: "__cluster_metadata",
        partitions: [{ partitionIndex: 0, _unknownTaggedFields: [] }],
        _unknownTaggedFields: [],
      }],
    });
  } catch {
    return null;
  } finally {
    conn?.close();
  }
}

interface NodeInit {
  nodeId: number;
  role: ClusterRole;
  port: number;
  dir: string;
  propertiesPath: string;
  options: ClusterOptions;
}

function clusterNode(init: NodeInit): ClusterNode {
  let child: Deno.ChildProcess | null = null;
  let output = "";
  let pump: Promise<void> = Promise.resolve();
  let exitRequested = false;
  const marker = `Kafka node ${init.nodeId} started`;
  const append = (text: string) => {
    output += text;
    if (output.length > LOG_CHARS_MAX) output = output.slice(output.length - LOG_CHARS_MAX / 2);
  };
  const waitExit = async () => {
    const running = child;
    if (running === null) return;
    await running.status;
    await pump;
    if (child === running) child = null;
  };
  const signal = (name: Deno.Signal) => {
    try {
      child?.kill(name);
    } catch { /* already exited */ }
  };
  const node: ClusterNode = {
    nodeId: init.nodeId,
    role: init.role,
    port: init.port,
    address: `127.0.0.1:${init.port}`,
    dir: init.dir,
    propertiesPath: init.propertiesPath,
    metadataLogDir: join(init.dir, "logs"),
    get running() {
      return child !== null;
    },
    get pid() {
      return child?.pid ?? null;
    },
    logs: () => output,
    async start() {
      if (child !== null) return;
      exitRequested = false;
      const process = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          ...cpuProfileArgs(),
          join(REPO_ROOT, "main.ts"),
          "server-start",
          init.propertiesPath,
        ],
        cwd: REPO_ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      child = process;
      const seenBefore = output.split(marker).length - 1;
      let started!: () => void;
      const startedPromise = new Promise<void>((resolve) => (started = resolve));
      const decoder = new TextDecoder();
      const read = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) {
          const text = decoder.decode(chunk, { stream: true });
          append(text);
          init.options.onOutput?.(node, text);
          if (output.split(marker).length - 1 > seenBefore) started();
        }
      };
      pump = Promise.all([read(process.stdout), read(process.stderr)]).then(() => {});
      process.status.then(async (status) => {
        await pump;
        if (child === process) child = null;
        if (!exitRequested) init.options.onUnexpectedExit?.(node, status.code);
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = process.status.then((s) => {
        throw new Error(
          `${init.role} ${init.nodeId} exited with code ${s.code} before starting:\n${
            output.slice(-4000)
          }`,
        );
      });
      try {
        await Promise.race([
          startedPromise,
          exited,
          new Promise((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new Error(
                    `${init.role} ${init.nodeId} did not start within ${START_TIMEOUT_MS} ms:\n${
                      output.slice(-4000)
                    }`,
                  ),
                ),
              START_TIMEOUT_MS,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        exited.catch(() => {});
      }
    },
    async kill() {
      exitRequested = true;
      signal("SIGKILL");
      await waitExit();
    },
    async stop() {
      exitRequested = true;
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), STOP_GRACE_MS);
      await waitExit();
      clearTimeout(timer);
    },
  };
  return node;
}

/**
 * Formats the node directories of a cluster (one cluster id) without starting anything.
 *
 * @example
 * ```ts ignore
 * const cluster = await createCluster({ controllers: 3, brokers: 2 });
 * try {
 *   await cluster.startAll();
 *   const leader = await cluster.waitForLeader();
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 */
export async function createCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const controllerCount = options.controllers ?? 3;
  const brokerCount = options.brokers ?? 1;
  if (controllerCount < 1) throw new RangeError("A cluster needs at least one controller");
  const ownsRoot = options.rootDir === undefined;
  const root = options.rootDir ?? await Deno.makeTempDir({ prefix: "kraftling-cluster-" });
  const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  const controllerIds = ids(1, controllerCount);
  const brokerIds = ids(controllerCount + 1, brokerCount);
  const ports = new Map([...controllerIds, ...brokerIds].map((id) => [id, freePort()]));
  const dynamic = options.dynamicQuorum;
  const initialVoterIds = controllerIds.slice(0, dynamic?.initialVoters ?? 1);
  const voters = dynamic
    ? initialVoterIds.map((id) => `127.0.0.1:${ports.get(id)}`).join(",")
    : controllerIds.map((id) => `${id}@127.0.0.1:${ports.get(id)}`).join(",");
  const quorumProps: Record<string, string> = dynamic
    ? { "controller.quorum.bootstrap.servers": voters }
    : { "controller.quorum.voters": voters };
  const initialControllers = initialVoterIds
    .map((id) => `${id}@127.0.0.1:${ports.get(id)}:${randomUuid()}`).join(",");
  const formatFlags = (nodeId: number, role: ClusterRole): string[] => {
    if (!dynamic || role === "broker") return [];
    if (!initialVoterIds.includes(nodeId)) return ["--no-initial-controllers"];
    return initialVoterIds.length === 1
      ? ["--standalone"]
      : ["--initial-controllers", initialControllers];
  };
  const clusterId = (await runMain(["storage", "random-uuid"])).stdout.trim();
  const build = async (nodeId: number, role: ClusterRole): Promise<ClusterNode> => {
    const dir = join(root, `${role}-${nodeId}`);
    await Deno.mkdir(dir, { recursive: true });
    const port = ports.get(nodeId)!;
    const listener: Record<string, string> = role === "controller"
      ? { "listeners": `CONTROLLER://127.0.0.1:${port}` }
      : {
        "listeners": `PLAINTEXT://127.0.0.1:${port}`,
        "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
      };
    const props = {
      ...DEFAULT_PROPS,
      ...quorumProps,
      ...options.props,
      ...(role === "controller" ? options.controllerProps : options.brokerProps),
      ...options.nodeProps?.(nodeId, role),
      "process.roles": role,
      "node.id": `${nodeId}`,
      ...listener,
      "log.dirs": join(dir, "logs"),
    };
    const propertiesPath = join(dir, "server.properties");
    await Deno.writeTextFile(propertiesPath, propertiesText(props));
    const format = await runMain([
      "storage",
      "format",
      "-t",
      clusterId,
      "-c",
      propertiesPath,
      ...formatFlags(nodeId, role),
      ...(options.formatArgs ?? []),
    ]);
    if (format.code !== 0) {
      throw new Error(`storage format of ${role} ${nodeId} failed: ${format.stderr.trim()}`);
    }
    return clusterNode({ nodeId, role, port, dir, propertiesPath, options });
  };
  const controllers = await Promise.all(controllerIds.map((id) => build(id, "controller")));
  const brokers = await Promise.all(brokerIds.map((id) => build(id, "broker")));
  const nodes = [...controllers, ...brokers];
  return {
    root,
    clusterId,
    controllers,
    brokers,
    nodes,
    bootstrapServers: brokers.map((b) => b.address).join(","),
    bootstrapControllers: controllers.map((c) => c.address).join(","),
    voters,
    node(nodeId) {
      const found = nodes.find((n) => n.nodeId === nodeId);
      if (found === undefined) throw new RangeError(`No node ${nodeId} in the cluster`);
      return found;
    },
    async startAll() {
      await Promise.all(nodes.filter((n) => !n.running).map((n) => n.start()));
    },
    async waitForLeader(wait = {}) {
      const timeoutMs = wait.timeoutMs ?? 30_000;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const c of controllers) {
          if (c.nodeId === wait.not || !c.running) continue;
          const p = (await describeQuorumAt("127.0.0.1", c.port, 1_000))?.topics[0]
            ?.partitions[0];
          if (p?.errorCode === ErrorCode.NONE && p.leaderId === c.nodeId) return c.nodeId;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`No controller became leader within ${timeoutMs} ms`);
    },
    async stop(options: { keepRoot?: boolean } = {}) {
      // Brokers first, so their controlled shutdown still finds a controller.
      await Promise.all(brokers.map((b) => b.stop()));
      await Promise.all(controllers.map((c) => c.stop()));
      if (ownsRoot && !options.keepRoot) {
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
    },
  };
}

/**
 * Formats and starts a cluster; stops whatever started when a node fails to start.
 *
 * @example
 * ```ts ignore
 * const cluster = await startCluster({ controllers: 3, brokers: 3 });
 * await cluster.stop();
 * ```
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const cluster = await createCluster(options);
  try {
    await cluster.startAll();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
