import assert from "node:assert/strict";
import {
  bindNodeHttp,
  handleHttpRequest,
  HTTP_REQUEST_BODY_BYTES_MAX,
  type HttpServerOptions,
  loopbackHosts,
  serveHttp,
} from "./http_server.ts";
import { CONSOLE_FORM_BYTES_MAX } from "./console/console.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { join } from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import { formatNodeStorage } from "../storage/node_format.ts";
import { startNode } from "./node.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let ready: string | null = "the broker is fenced";
const options = { logger: quiet, metrics: () => "up 1\n", readiness: () => ready };
const get = (path: string, init: RequestInit = {}, opts: HttpServerOptions = options) =>
  Promise.resolve(handleHttpRequest(new Request(`http://127.0.0.1${path}`, init), opts));

Deno.test("/healthz answers 200 whatever the readiness", async () => {
  assert.equal((await get("/healthz")).status, 200);
});

Deno.test("/readyz answers 503 with the reason until ready, then 200", async () => {
  ready = "the broker is fenced";
  const notReady = await get("/readyz");
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /fenced/);
  ready = null;
  assert.equal((await get("/readyz")).status, 200);
});

Deno.test("/metrics is served as Prometheus text 0.0.4", async () => {
  const response = await get("/metrics");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(await response.text(), "up 1\n");
});

Deno.test("unknown paths get 404, other methods 405 with Allow, bodies 413, long URLs 414", async () => {
  assert.equal((await get("/nope")).status, 404);
  const post = await get("/metrics", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  const big = await get("/metrics", {
    method: "POST",
    headers: { "content-length": String(HTTP_REQUEST_BODY_BYTES_MAX + 1) },
  });
  assert.equal(big.status, 413);
  assert.equal((await get("/metrics?" + "x".repeat(4096))).status, 414);
});

Deno.test("other paths go to the console, whose null means 404; its forms may be larger, up to a bound", async () => {
  const seen: string[] = [];
  const withConsole: HttpServerOptions = {
    ...options,
    console: (request) => {
      seen.push(new URL(request.url).pathname);
      return Promise.resolve(request.url.endsWith("/") ? new Response("console") : null);
    },
  };
  assert.equal(await (await get("/", {}, withConsole)).text(), "console");
  assert.equal((await get("/elsewhere", {}, withConsole)).status, 404);
  assert.equal((await get("/metrics", {}, withConsole)).status, 200);
  assert.deepEqual(seen, ["/", "/elsewhere"]);
  const form = (bytes: number, path = "/topics") =>
    get(path, { method: "POST", headers: { "content-length": String(bytes) } }, withConsole);
  assert.equal((await form(CONSOLE_FORM_BYTES_MAX + 1)).status, 413);
  assert.equal((await form(HTTP_REQUEST_BODY_BYTES_MAX + 1, "/metrics")).status, 413);
  assert.equal((await form(CONSOLE_FORM_BYTES_MAX)).status, 404);
});

Deno.test("a port in use fails with one line naming kraftling.http.listener", async () => {
  const first = serveHttp({ host: "127.0.0.1", port: 0 }, options);
  try {
    assert.throws(
      () => serveHttp({ host: "127.0.0.1", port: first.port }, options),
      (error: Error) =>
        /^Cannot bind 127\.0\.0\.1:\d+ for the HTTP listener \(config 'kraftling\.http\.listener'\): /
          .test(error.message) && !error.message.includes("\n"),
    );
  } finally {
    await first.stop();
  }
});

function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("a node whose HTTP port is in use fails at start in one line and frees its Kafka ports", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const takenPort = (taken.addr as Deno.NetAddr).port;
  const dir = await Deno.makeTempDir({ prefix: "http_server_test_" });
  const ports = [0, 0].map(() => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    return port;
  });
  try {
    const config = parseServerConfig(
      new Map([
        ["process.roles", "broker,controller"],
        ["node.id", "1"],
        ["controller.quorum.voters", `1@127.0.0.1:${ports[1]}`],
        ["listeners", `PLAINTEXT://127.0.0.1:${ports[0]},CONTROLLER://127.0.0.1:${ports[1]}`],
        ["controller.listener.names", "CONTROLLER"],
        ["log.dirs", join(dir, "logs")],
        ["kraftling.http.listener", `127.0.0.1:${takenPort}`],
      ]),
    ).config;
    await formatNodeStorage(config, { clusterId: "XcZZOzUqS4yHOjhMQB6JLQ", nowMs: 0 });
    await assert.rejects(startNode(config, { logger: silentLogger }), (error: Error) => {
      assert.equal(
        error.message,
        `Cannot bind 127.0.0.1:${takenPort} for the HTTP listener (config 'kraftling.http.listener'): the port is already in use`,
      );
      return true;
    });
    assert.ok(ports.every(portIsFree), "the Kafka listeners bound before the failure are released");
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed kraftling.http.listener is a config error naming the key", () => {
  assert.throws(
    () =>
      parseServerConfig(
        new Map([
          ["process.roles", "broker,controller"],
          ["node.id", "1"],
          ["controller.quorum.voters", "1@127.0.0.1:9093"],
          ["listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"],
          ["controller.listener.names", "CONTROLLER"],
          ["log.dirs", "/tmp/unused"],
          ["kraftling.http.listener", "localhost"],
        ]),
      ),
    /kraftling\.http\.listener entry localhost is not in the form host:port/,
  );
});

Deno.test("a loopback listener accepts only loopback Host names with its port", async () => {
  const hosts = loopbackHosts({ host: "127.0.0.1", port: 8080 });
  assert.deepEqual([...hosts!].sort(), [
    "127.0.0.1:8080",
    "[::1]:8080",
    "localhost:8080",
  ]);
  assert.equal(loopbackHosts({ host: "0.0.0.0", port: 8080 }), null);
  assert.equal(loopbackHosts({ host: "10.1.2.3", port: 8080 }), null);
  const guarded: HttpServerOptions = { ...options, allowedHosts: hosts };
  const as = (host: string) => get("/healthz", { headers: { host } }, guarded);
  assert.equal((await as("localhost:8080")).status, 200);
  assert.equal((await as("evil.example:8080")).status, 403);
  assert.equal((await as("127.0.0.1:9999")).status, 403);
});

/** The status line a raw HTTP/1.1 request with `host` gets from 127.0.0.1:`port`. */
async function statusWithHost(port: number, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0]!;
  } finally {
    conn.close();
  }
}

Deno.test("a node's loopback HTTP listener refuses another site's name (DNS rebinding) with 403", async () => {
  const http = bindNodeHttp({ host: "127.0.0.1", port: 0 }, silentLogger);
  try {
    assert.equal(await statusWithHost(http.port, `127.0.0.1:${http.port}`), "HTTP/1.1 200 OK");
    assert.equal(await statusWithHost(http.port, `localhost:${http.port}`), "HTTP/1.1 200 OK");
    assert.equal(
      await statusWithHost(http.port, `rebound.example:${http.port}`),
      "HTTP/1.1 403 Forbidden",
    );
  } finally {
    await http.stop();
  }
});
