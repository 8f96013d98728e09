// `deno compile` turns main.ts into one self-contained binary: every subcommand, the npm codecs
// (including @bokuweb/zstd-wasm's .wasm, which compression.ts loads at start-up) and no reads of
// repository files at run time. The binary runs from a temp directory, away from the checkout.
//
// `deno compile` downloads its runtime (denort) unless DENORT_BIN names a local one; this machine
// cannot download it, so the test runs only when DENORT_BIN is set.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SUBCOMMANDS } from "../cli/mod.ts";
import { freePort, hasCommand } from "./integration/harness.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const DENORT_BIN = Deno.env.get("DENORT_BIN");
/** How long compiling may take, in milliseconds. */
const COMPILE_TIMEOUT_MS = 300_000;
/** How long the compiled node may take to start or to stop, in milliseconds. */
const NODE_TIMEOUT_MS = 30_000;
/** Bounds the bytes read for one ApiVersions response. */
const RESPONSE_BYTES_MAX = 64 * 1024;
const API_VERSIONS_KEY = 18;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Output> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, options.timeoutMs ?? 60_000);
  try {
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A combined node's server.properties on free loopback ports. */
function serverProperties(dir: string, brokerPort: number, controllerPort: number): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    "controller.listener.names=CONTROLLER",
    `log.dirs=${join(dir, "logs")}`,
    "offsets.topic.replication.factor=1",
    "",
  ].join("\n");
}

/** Sends ApiVersions v0 and returns the error code and the API keys of the response. */
async function apiVersions(port: number): Promise<{ errorCode: number; apiKeys: number[] }> {
  const clientId = new TextEncoder().encode("compile-test");
  const request = new Uint8Array(4 + 10 + clientId.length);
  const view = new DataView(request.buffer);
  view.setInt32(0, request.length - 4);
  view.setInt16(4, API_VERSIONS_KEY);
  view.setInt16(6, 0); // version
  view.setInt32(8, 42); // correlation id
  view.setInt16(12, clientId.length);
  request.set(clientId, 14);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(request);
    const response = await readFrame(conn);
    const body = new DataView(response.buffer, response.byteOffset, response.byteLength);
    assert.equal(body.getInt32(0), 42, "the response carries the request's correlation id");
    const count = body.getInt32(6);
    const apiKeys = Array.from({ length: count }, (_, i) => body.getInt16(10 + 6 * i));
    return { errorCode: body.getInt16(4), apiKeys };
  } finally {
    conn.close();
  }
}

/** Reads one size-prefixed frame and returns it without the size. */
async function readFrame(conn: Deno.Conn): Promise<Uint8Array> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (buf.length < 4 || buf.length < 4 + new DataView(buf.buffer).getInt32(0)) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error(`Connection closed after ${buf.length} response bytes.`);
    if (buf.length + n > RESPONSE_BYTES_MAX) {
      throw new Error(`ApiVersions response exceeds ${RESPONSE_BYTES_MAX} bytes.`);
    }
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
  return buf.subarray(4, 4 + new DataView(buf.buffer).getInt32(0));
}

/** Starts `binary server-start` and resolves once the node logs that it started. */
async function startServer(binary: string, cwd: string, propertiesPath: string) {
  const child = new Deno.Command(binary, {
    args: ["server-start", propertiesPath],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const decoder = new TextDecoder();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (output.includes("Kafka node 1 started")) started();
    }
  };
  const pump = Promise.all([read(child.stdout), read(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exitedEarly = child.status.then((s) => {
    throw new Error(`The compiled node exited with code ${s.code} before starting:\n${output}`);
  });
  exitedEarly.catch(() => {});
  try {
    await Promise.race([
      startedPromise,
      exitedEarly,
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`The compiled node did not start in ${NODE_TIMEOUT_MS} ms:\n${output}`),
            ),
          NODE_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await pump;
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    child,
    logs: () => output,
    /** SIGTERM, then SIGKILL after NODE_TIMEOUT_MS; resolves with the exit status. */
    async stop(): Promise<Deno.CommandStatus> {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already exited */ }
      }, NODE_TIMEOUT_MS);
      const status = await child.status;
      clearTimeout(killer);
      await pump;
      return status;
    },
  };
}

Deno.test({
  name: DENORT_BIN === undefined
    ? "the compiled binary runs every subcommand and a node (ignored: set DENORT_BIN to a local " +
      "denort binary; deno compile cannot download one here)"
    : "the compiled binary runs every subcommand and a node",
  ignore: DENORT_BIN === undefined,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "kraftling-compile-" });
    const binary = join(dir, "kraftling");
    try {
      await t.step("deno compile builds the binary", async () => {
        const compiled = await run(
          Deno.execPath(),
          ["compile", "-A", "--output", binary, "main.ts"],
          { cwd: REPO_ROOT, env: { DENORT_BIN: DENORT_BIN! }, timeoutMs: COMPILE_TIMEOUT_MS },
        );
        assert.equal(compiled.code, 0, `deno compile failed:\n${compiled.stderr}`);
      });

      await t.step("--help lists every subcommand", async () => {
        const help = await run(binary, ["--help"], { cwd: dir });
        assert.equal(help.code, 0, help.stderr);
        for (const command of SUBCOMMANDS) {
          assert.ok(help.stdout.includes(command.name), `--help does not list ${command.name}`);
        }
      });

      let clusterId = "";
      await t.step("storage random-uuid prints a 22-character id", async () => {
        const uuid = await run(binary, ["storage", "random-uuid"], { cwd: dir });
        assert.equal(uuid.code, 0, uuid.stderr);
        clusterId = uuid.stdout.trim();
        assert.match(clusterId, /^[A-Za-z0-9_-]{22}$/);
      });

      const brokerPort = freePort();
      const controllerPort = freePort();
      const propertiesPath = join(dir, "server.properties");
      await Deno.writeTextFile(propertiesPath, serverProperties(dir, brokerPort, controllerPort));

      await t.step("storage format formats the log directory", async () => {
        const format = await run(
          binary,
          ["storage", "format", "-t", clusterId, "-c", propertiesPath],
          { cwd: dir },
        );
        assert.equal(format.code, 0, format.stderr);
        await Deno.stat(join(dir, "logs", "meta.properties"));
      });

      await t.step(
        "server-start runs a node that answers clients and stops on SIGTERM",
        async () => {
          const server = await startServer(binary, dir, propertiesPath);
          let status: Deno.CommandStatus | null = null;
          try {
            const { errorCode, apiKeys } = await apiVersions(brokerPort);
            assert.equal(errorCode, 0);
            assert.ok(apiKeys.includes(API_VERSIONS_KEY), "ApiVersions lists itself");
            if (hasCommand("kcat")) {
              const bootstrap = `127.0.0.1:${brokerPort}`;
              const kcat = await run("kcat", ["-b", bootstrap, "-L", "-m", "10"], { cwd: dir });
              assert.equal(kcat.code, 0, kcat.stderr);
              assert.ok(kcat.stdout.includes(`broker 1 at ${bootstrap}`), kcat.stdout);
            }
            status = await server.stop();
          } finally {
            if (status === null) await server.stop();
          }
          assert.equal(status.code, 0, server.logs());
          assert.ok(server.logs().includes("Shut down cleanly"), server.logs());
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
