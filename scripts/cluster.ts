/**
 * Runs a local multi-process KRaft cluster: N controller-only and M broker-only kraftling
 * processes on 127.0.0.1 free ports, each on a formatted directory, until Ctrl-C (SIGINT/SIGTERM)
 * or until a node dies unexpectedly (then it names the node and stops the others).
 *
 *   deno run -A scripts/cluster.ts --controllers 3 --brokers 2 [--dir <path>] [--override k=v]...
 *
 * Each node's output goes to `<dir>/<role>-<id>/server.log`. Without `--dir` the data lives in a
 * temp directory that is removed on exit.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type ClusterNode,
  createCluster,
  type TestCluster,
} from "../tests/integration/cluster_harness.ts";

const USAGE =
  `Usage: deno run -A scripts/cluster.ts [--controllers N] [--brokers M] [--dir <path>] [--override k=v]...

Starts N controllers (ids 1..N, default 3) and M brokers (ids N+1..N+M, default 2) on 127.0.0.1.
A node that dies is reported and the others keep running (kill -9 one to watch the failover);
--stop-on-failure stops the whole cluster instead. Without --dir the data lives in a temp directory
that is removed on exit, unless a node died (then its logs are kept and the path is printed).`;

/** The most controllers or brokers one local cluster may have. */
const NODES_MAX = 32;

interface ClusterArgs {
  controllers: number;
  brokers: number;
  dir?: string;
  overrides: Record<string, string>;
  /** Stop every node when one dies (the default keeps the others running). */
  stopOnFailure: boolean;
}

function count(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > NODES_MAX) {
    throw new RangeError(`${flag} needs an integer from ${min} to ${NODES_MAX}, got '${raw}'`);
  }
  return n;
}

/**
 * Parses the script's flags; throws RangeError with a one-line message on bad input.
 *
 * @example
 * ```ts
 * import { parseClusterArgs } from "./cluster.ts";
 * parseClusterArgs(["--controllers", "3", "--brokers", "2"]).brokers; // 2
 * ```
 */
export function parseClusterArgs(args: string[]): ClusterArgs {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      controllers: { type: "string" },
      brokers: { type: "string" },
      dir: { type: "string" },
      override: { type: "string", multiple: true },
      "stop-on-failure": { type: "boolean", default: false },
    },
  });
  const overrides: Record<string, string> = {};
  for (const item of values.override ?? []) {
    const at = item.indexOf("=");
    if (at <= 0) throw new RangeError(`--override needs key=value, got '${item}'`);
    overrides[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return {
    controllers: count("--controllers", values.controllers, 3, 1),
    brokers: count("--brokers", values.brokers, 2, 0),
    dir: values.dir,
    overrides,
    stopOnFailure: values["stop-on-failure"] ?? false,
  };
}

/**
 * The lines printed once the cluster runs: one per node, the bootstrap strings and a kcat line.
 *
 * @example
 * ```ts ignore
 * describeCluster(cluster).forEach((line) => console.log(line));
 * ```
 */
export function describeCluster(cluster: TestCluster): string[] {
  const line = (n: ClusterNode) =>
    `  ${n.role.padEnd(10)} id ${String(n.nodeId).padEnd(3)} ${
      n.role === "controller" ? "CONTROLLER" : "PLAINTEXT "
    } ${n.address.padEnd(16)} pid ${n.pid ?? "-"}  log ${join(n.dir, "server.log")}`;
  const lines = [
    `kraftling cluster ${cluster.clusterId} in ${cluster.root}`,
    ...cluster.nodes.map(line),
    `bootstrap servers:     ${cluster.bootstrapServers || "(no brokers)"}`,
    `bootstrap controllers: ${cluster.bootstrapControllers}`,
    `controller.quorum.voters=${cluster.voters}`,
  ];
  if (cluster.brokers.length > 0) {
    lines.push(`kcat -b ${cluster.bootstrapServers} -L`);
    lines.push(
      `deno run -A main.ts metadata-quorum --bootstrap-server ${cluster.bootstrapServers} describe --status`,
    );
  }
  lines.push("Press Ctrl-C to stop.");
  return lines;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let parsed: ClusterArgs;
  try {
    parsed = parseClusterArgs(args);
  } catch (error) {
    console.error(`cluster: ${(error as Error).message.split("\n")[0]}`);
    return 1;
  }
  const encoder = new TextEncoder();
  let died = false;
  const logFiles = new Map<number, Deno.FsFile>();
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  if (parsed.dir !== undefined) await Deno.mkdir(parsed.dir, { recursive: true });
  const cluster = await createCluster({
    controllers: parsed.controllers,
    brokers: parsed.brokers,
    rootDir: parsed.dir,
    props: parsed.overrides,
    onOutput: (node, text) => {
      let file = logFiles.get(node.nodeId);
      if (file === undefined) {
        file = Deno.openSync(join(node.dir, "server.log"), { append: true, create: true });
        logFiles.set(node.nodeId, file);
      }
      file.writeSync(encoder.encode(text));
    },
    onUnexpectedExit: (node, code) => {
      died = true;
      const log = join(node.dir, "server.log");
      if (parsed.stopOnFailure) {
        console.error(
          `${node.role} ${node.nodeId} exited unexpectedly with code ${code}; stopping the cluster (see ${log})`,
        );
        finish(1);
        return;
      }
      console.error(
        `${node.role} ${node.nodeId} exited unexpectedly with code ${code}; the other nodes keep running (see ${log})`,
      );
    },
  });
  const onSignal = () => finish(0);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code: number;
  try {
    const started = cluster.startAll().then(() => null, (error: Error) => error);
    const first = await Promise.race([started, finished]);
    if (first instanceof Error) {
      console.error(`cluster: a node failed to start: ${first.message.split("\n")[0]}`);
      code = 1;
    } else if (typeof first === "number") {
      code = first;
    } else {
      describeCluster(cluster).forEach((line) => console.log(line));
      code = await finished;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    console.error("Stopping the cluster...");
    // A temp dir is kept when a node died: its log is what the user wants to read.
    await cluster.stop({ keepRoot: died });
    if (died && parsed.dir === undefined) console.error(`Logs kept in ${cluster.root}`);
    for (const file of logFiles.values()) file.close();
  }
  return code;
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
