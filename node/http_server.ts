/**
 * The node's HTTP listener (`kraftling.http.listener`): the web console at `/`
 * (`node/console/`), Prometheus metrics at `/metrics`, and `/healthz` and `/readyz` for
 * orchestrators. Served by `Deno.serve` on its own port, so a bad HTTP request never reaches the
 * Kafka listeners.
 *
 * @module
 */

import type { Logger } from "../core/log.ts";
import type { HostPort } from "../core/config/endpoints.ts";
import { encodeMetrics, EXPOSITION_CONTENT_TYPE } from "../core/metrics/exposition.ts";
import { formatHostPort } from "../core/config/endpoints.ts";
import { collectNodeMetrics, type NodeMetricsSource } from "./node_metrics.ts";
import { readProcessStats, startEventLoopMonitor } from "./request_metrics.ts";
import {
  CONSOLE_FORM_BYTES_MAX,
  consoleServes,
  type ConsoleSource,
  handleConsoleRequest,
} from "./console/console.ts";

/** Metrics and health requests carry no body: one declaring more than this is refused with 413. */
export const HTTP_REQUEST_BODY_BYTES_MAX = 1024;
/** A request target longer than this is refused with 414. */
export const HTTP_URL_BYTES_MAX = 2048;

/** Why the node is not ready, or null when it is. */
export type ReadinessCheck = () => string | null;

/** What the HTTP listener serves. */
export interface HttpServerOptions {
  logger: Logger;
  /** The `/metrics` body, computed at scrape time. */
  metrics: () => string;
  readiness: ReadinessCheck;
  /** The console's answer, or null for a path it does not serve (404). Absent: no console. */
  console?: (request: Request) => Promise<Response | null>;
  /**
   * The Host headers accepted (lower case, with the port), or null for any. A listener bound to
   * loopback accepts only loopback names: a page on another site whose name an attacker points at
   * 127.0.0.1 (DNS rebinding) then cannot read the console or post to it as "same origin".
   */
  allowedHosts?: ReadonlySet<string> | null;
}

/**
 * The Host headers a listener on `address` accepts: for a loopback address, `127.0.0.1`,
 * `localhost` and `[::1]` with its port; otherwise null (any, as the name clients use is unknown).
 *
 * @example
 * ```ts
 * import { loopbackHosts } from "./http_server.ts";
 * loopbackHosts({ host: "127.0.0.1", port: 8080 })?.has("localhost:8080"); // true
 * loopbackHosts({ host: "0.0.0.0", port: 8080 }); // null
 * ```
 */
export function loopbackHosts(address: HostPort): ReadonlySet<string> | null {
  const host = address.host.toLowerCase();
  const loopback = host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!loopback) return null;
  const names = ["127.0.0.1", "localhost", "[::1]", host.includes(":") ? `[${host}]` : host];
  // Browsers leave out the default port 80.
  return new Set(
    names.flatMap((name) =>
      address.port === 80 ? [name, `${name}:80`] : [`${name}:${address.port}`]
    ),
  );
}

const ROUTES = new Set(["/metrics", "/healthz", "/readyz"]);

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * Answers one HTTP request: 200 on the three routes, 404 for unknown paths, 405 for methods
 * other than GET and HEAD, 413 for a body (console forms: one over {@link CONSOLE_FORM_BYTES_MAX}),
 * 414 for an overlong URL. Other paths go to the console when there is one.
 *
 * @example
 * ```ts ignore
 * const response = await handleHttpRequest(new Request("http://x/healthz"), options);
 * response.status; // 200
 * ```
 */
export function handleHttpRequest(
  request: Request,
  options: HttpServerOptions,
): Response | Promise<Response> {
  if (request.url.length > HTTP_URL_BYTES_MAX) return text(414, "URI too long\n");
  const host = request.headers.get("host")?.toLowerCase() ?? "";
  if (options.allowedHosts && !options.allowedHosts.has(host)) {
    return text(403, `Host ${JSON.stringify(host)} is not this loopback listener's address\n`);
  }
  const path = new URL(request.url).pathname;
  const toConsole = !ROUTES.has(path) && options.console !== undefined;
  const bodyBytesMax = toConsole ? CONSOLE_FORM_BYTES_MAX : HTTP_REQUEST_BODY_BYTES_MAX;
  const declared = Number(request.headers.get("content-length") ?? "0");
  const chunked = request.headers.get("transfer-encoding") !== null;
  if (chunked || !Number.isFinite(declared) || declared > bodyBytesMax) {
    return text(413, `Request bodies over ${bodyBytesMax} bytes (or chunked) are refused\n`);
  }
  if (toConsole) {
    return options.console!(request).then((r) => r ?? text(404, `Not found: ${path}\n`));
  }
  if (!ROUTES.has(path)) return text(404, `Not found: ${path}\n`);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return text(405, `Method ${request.method} not allowed\n`, { allow: "GET, HEAD" });
  }
  if (path === "/healthz") return text(200, "ok\n");
  if (path === "/readyz") {
    const reason = options.readiness();
    return reason === null ? text(200, "ready\n") : text(503, `not ready: ${reason}\n`);
  }
  return new Response(options.metrics(), {
    status: 200,
    headers: { "content-type": EXPOSITION_CONTENT_TYPE },
  });
}

/** The bound HTTP listener. */
export interface HttpListener {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The one-line start-up error for an HTTP listener that cannot bind, naming its config key.
 *
 * @example
 * ```ts
 * import { httpBindError } from "./http_server.ts";
 * httpBindError({ host: "127.0.0.1", port: 8080 }, "the port is already in use");
 * // "Cannot bind 127.0.0.1:8080 for the HTTP listener (config 'kraftling.http.listener'): the port is already in use"
 * ```
 */
export function httpBindError(address: HostPort, reason: string): string {
  return `Cannot bind ${address.host}:${address.port} for the HTTP listener (config 'kraftling.http.listener'): ${reason}`;
}

/**
 * Binds and serves the HTTP listener at once (`Deno.serve` binds synchronously); a port in use
 * throws the one-line {@link httpBindError}. A handler failure answers 500 and logs one line.
 *
 * @example
 * ```ts ignore
 * const http = serveHttp({ host: "127.0.0.1", port: 0 }, { logger, metrics, readiness });
 * await http.stop();
 * ```
 */
export function serveHttp(address: HostPort, options: HttpServerOptions): HttpListener {
  const controller = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.host,
      port: address.port,
      signal: controller.signal,
      onListen: () => {},
      onError: (error) => {
        options.logger.warn(`HTTP request failed: ${(error as Error).message}`);
        return text(500, "internal error\n");
      },
    }, (request) => handleHttpRequest(request, options));
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the port is already in use"
      : (error as Error).message;
    throw new Error(httpBindError(address, reason), { cause: error });
  }
  return {
    port: server.addr.port,
    stop: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

/** A node's HTTP listener: bound before the node starts, given its sources once they exist. */
export interface NodeHttp {
  readonly port: number;
  /**
   * From now on `/metrics` reads `source`, `/readyz` asks `readiness` and the console at `/`
   * reads `console` (until then it answers 503).
   */
  attach(source: NodeMetricsSource, readiness: ReadinessCheck, console?: ConsoleSource): void;
  stop(): Promise<void>;
}

/**
 * Binds the node's HTTP listener at start-up: `/healthz` answers at once, `/readyz` says 503
 * until {@link NodeHttp.attach} hands it the node's readiness, and again once stopping.
 *
 * @example
 * ```ts ignore
 * const http = bindNodeHttp(config.httpListener, logger);
 * http.attach(source, () => null);
 * ```
 */
export function bindNodeHttp(address: HostPort, logger: Logger): NodeHttp {
  let source: NodeMetricsSource | null = null;
  let readiness: ReadinessCheck = () => "the node is starting";
  let consoleSource: ConsoleSource | null = null;
  const eventLoop = startEventLoopMonitor();
  let listener: HttpListener;
  const options: HttpServerOptions = {
    logger,
    metrics: () =>
      encodeMetrics(
        source === null
          ? []
          : collectNodeMetrics({ eventLoop, process: readProcessStats, ...source }),
      ),
    readiness: () => readiness(),
    console: (request) =>
      consoleSource !== null ? handleConsoleRequest(request, consoleSource) : Promise.resolve(
        consoleServes(request)
          ? new Response("The console is not serving: the node is starting or stopping\n", {
            status: 503,
          })
          : null,
      ),
  };
  try {
    listener = serveHttp(address, options);
  } catch (error) {
    eventLoop.stop();
    throw error;
  }
  options.allowedHosts = loopbackHosts({ host: address.host, port: listener.port });
  const url = `http://${formatHostPort({ host: address.host, port: listener.port })}`;
  logger.info(
    `Serving ${url}/metrics, ${url}/healthz and ${url}/readyz, and the console at ${url}/`,
  );
  return {
    port: listener.port,
    attach: (s, r, c) => {
      source = s;
      readiness = r;
      consoleSource = c ?? null;
    },
    stop: () => {
      readiness = () => "the node is stopping";
      consoleSource = null;
      eventLoop.stop();
      return listener.stop();
    },
  };
}
