/**
 * Starts real kraftling processes for integration tests: a formatted temp directory, free
 * loopback ports, `deno run -A main.ts server-start`, and kill -9 / restart / stop.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (two levels above this file). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** How long a node may take to start before the test fails, in milliseconds. */
const START_TIMEOUT_MS = 30_000;

/** Where {@link freePort} looks: below Linux's default ephemeral range. */
const PORT_RANGE_START = 20_000;
const PORT_RANGE_SIZE = 12_000;
/** Ports this process handed out already: never twice, even once released. */
const portsHandedOut = new Set<number>();

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): number {
  // Not port 0: the kernel picks those from the ephemeral range (32768-60999 on Linux), where it
  // also picks the source port of every outgoing connection, so with test modules running in
  // parallel a port released here was sometimes taken by some client socket before the node
  // bound it ("the port is already in use"). Below that range only listeners compete.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = PORT_RANGE_START + Math.floor(Math.random() * PORT_RANGE_SIZE);
    if (portsHandedOut.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      continue; // in use
    }
    portsHandedOut.add(port);
    return port;
  }
  throw new Error(
    `freePort: no free port in ${PORT_RANGE_START}-${PORT_RANGE_START + PORT_RANGE_SIZE}`,
  );
}

/**
 * Deno flags that make a node write a V8 CPU profile into `KRAFTLING_CPU_PROF_DIR` when it exits
 * (benches set it to see where a node or a cluster spends its time); none when it is unset.
 *
 * @example
 * ```ts
 * import { cpuProfileArgs } from "./harness.ts";
 * const args = ["run", "-A", ...cpuProfileArgs(), "main.ts", "server-start"];
 * ```
 */
export function cpuProfileArgs(): string[] {
  const dir = Deno.env.get("KRAFTLING_CPU_PROF_DIR");
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** Runs `deno run -A main.ts ...args` to completion; returns exit code and output. */
export async function runMain(
  args: string[],
  options: { stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "main.ts"), ...args],
    cwd: REPO_ROOT,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, options.timeoutMs ?? 60_000);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A running test node. */
export interface TestNode {
  /** `127.0.0.1:PORT` of the broker listener. */
  bootstrap: string;
  brokerPort: number;
  controllerPort: number;
  dataDir: string;
  /** The server.properties file the node runs from. */
  propertiesPath: string;
  /** Everything the node logged so far (all incarnations). */
  logs(): string;
  /** kill -9 the process. */
  kill(): Promise<void>;
  /** Start the process again on the same ports and directory. */
  restart(): Promise<void>;
  /** SIGTERM and wait for a clean exit; removes the directory. */
  stop(): Promise<void>;
}

/**
 * Formats a temp directory and starts a combined node on free ports.
 *
 * @example
 * ```ts ignore
 * const node = await startNode();
 * try { ... node.bootstrap ... } finally { await node.stop(); }
 * ```
 */
export async function startNode(
  options: {
    props?: Record<string, string>;
    /** Extra `storage format` flags, e.g. `--add-scram` (KIP-900). */
    formatArgs?: string[];
    /** Extra environment of the node process (tests run in parallel: never set it globally). */
    env?: Record<string, string>;
  } = {},
): Promise<TestNode> {
  const dataDir = await Deno.makeTempDir({ prefix: "kraftling-test-" });
  const brokerPort = freePort();
  const controllerPort = freePort();
  const props: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    "listeners": `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${brokerPort}`,
    "controller.listener.names": "CONTROLLER",
    "log.dirs": join(dataDir, "logs"),
    "group.initial.rebalance.delay.ms": "0",
    "offsets.topic.num.partitions": "4",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    ...options.props,
  };
  const propertiesPath = join(dataDir, "server.properties");
  await Deno.writeTextFile(
    propertiesPath,
    Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
  );
  const id = await runMain(["storage", "random-uuid"]);
  const format = await runMain([
    "storage",
    "format",
    "-t",
    id.stdout.trim(),
    "-c",
    propertiesPath,
    ...(options.formatArgs ?? []),
  ]);
  if (format.code !== 0) throw new Error(`storage format failed: ${format.stderr}`);

  let child: Deno.ChildProcess | null = null;
  let output = "";
  let pump: Promise<void> = Promise.resolve();

  const spawn = async () => {
    const process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...cpuProfileArgs(),
        join(REPO_ROOT, "main.ts"),
        "server-start",
        propertiesPath,
      ],
      cwd: REPO_ROOT,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    child = process;
    const decoder = new TextDecoder();
    let started!: () => void;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        output += decoder.decode(chunk, { stream: true });
        if (output.includes(`Kafka node 1 started`)) started();
      }
    };
    pump = Promise.all([read(process.stdout), read(process.stderr)]).then(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = process.status.then((s) => {
      throw new Error(`kraftling exited with code ${s.code} before starting:\n${output}`);
    });
    try {
      await Promise.race([
        startedPromise,
        exited,
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`kraftling did not start within ${START_TIMEOUT_MS} ms:\n${output}`),
              ),
            START_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      exited.catch(() => {});
    }
    // Each incarnation's log marker must be new for the next restart to wait properly.
    output = output.replaceAll("Kafka node 1 started", "Kafka node 1 had started");
  };

  const waitExit = async () => {
    if (child === null) return;
    await child.status;
    await pump;
    child = null;
  };

  await spawn();
  return {
    bootstrap: `127.0.0.1:${brokerPort}`,
    brokerPort,
    controllerPort,
    dataDir,
    propertiesPath,
    logs: () => output,
    kill: async () => {
      try {
        child?.kill("SIGKILL");
      } catch { /* already exited */ }
      await waitExit();
    },
    restart: async () => {
      await waitExit();
      await spawn();
    },
    stop: async () => {
      try {
        child?.kill("SIGTERM");
      } catch { /* already exited */ }
      const timer = setTimeout(() => {
        try {
          child?.kill("SIGKILL");
        } catch { /* already exited */ }
      }, 15_000);
      await waitExit();
      clearTimeout(timer);
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** True when the named command is on PATH (for tests that need kcat). */
export function hasCommand(name: string): boolean {
  try {
    const result = new Deno.Command("sh", { args: ["-c", `command -v ${name}`] }).outputSync();
    return result.code === 0;
  } catch {
    return false;
  }
}

/** True when /usr/bin/python3 can import `module` (Debian's client packages). */
export function hasPythonModule(module: string): boolean {
  try {
    const result = new Deno.Command("/usr/bin/python3", { args: ["-c", `import ${module}`] })
      .outputSync();
    return result.code === 0;
  } catch {
    return false;
  }
}
