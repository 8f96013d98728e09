import assert from "node:assert/strict";
import { handleHttpRequest, HTTP_REQUEST_BODY_BYTES_MAX, serveHttp } from "./http_server.ts";
import type { Logger } from "../core/log.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let ready: string | null = "the broker is fenced";
const options = { logger: quiet, metrics: () => "up 1\n", readiness: () => ready };
const get = (path: string, init: RequestInit = {}) =>
  handleHttpRequest(new Request(`http://127.0.0.1${path}`, init), options);

Deno.test("/healthz answers 200 whatever the readiness", () => {
  assert.equal(get("/healthz").status, 200);
});

Deno.test("/readyz answers 503 with the reason until ready, then 200", async () => {
  ready = "the broker is fenced";
  const notReady = get("/readyz");
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /fenced/);
  ready = null;
  assert.equal(get("/readyz").status, 200);
});

Deno.test("/metrics is served as Prometheus text 0.0.4", async () => {
  const response = get("/metrics");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(await response.text(), "up 1\n");
});

Deno.test("unknown paths get 404, other methods 405 with Allow, bodies 413, long URLs 414", () => {
  assert.equal(get("/nope").status, 404);
  const post = get("/metrics", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  const big = get("/metrics", {
    method: "POST",
    headers: { "content-length": String(HTTP_REQUEST_BODY_BYTES_MAX + 1) },
  });
  assert.equal(big.status, 413);
  assert.equal(get("/metrics?" + "x".repeat(4096)).status, 414);
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
