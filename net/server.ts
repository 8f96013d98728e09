/**
 * The server side of the Kafka protocol: accepts TCP connections on a listener, splits frames,
 * hands each request to a handler, and writes responses in request order.
 *
 * Backpressure: at most `inFlightMax` requests per connection are being handled or waiting to be
 * written; while that many are outstanding the socket is not read, so a slow or stalled client
 * cannot grow memory without bound. Oversized frames are refused before allocation and close only
 * that connection.
 *
 * @module
 */

import { FrameBufferPool, FrameReader } from "./frame_reader.ts";
import { DecodeError } from "./protocol/errors.ts";
import type { ConnectionQuotas } from "./connection_quotas.ts";
import type { Logger } from "../core/log.ts";
import { NodeTlsListener } from "./tls_node_listener.ts";

/** What a handler knows about the connection a request arrived on. */
export interface ConnectionInfo {
  /** The listener name (e.g. PLAINTEXT, CONTROLLER). */
  listenerName: string;
  /** The client's address, for DescribeGroups' clientHost. */
  clientHost: string;
  /** A process-unique id of the connection (fetch sessions, logging). */
  connectionId: number;
  /**
   * Who the connection authenticated as (`User:<name>` after SASL or from a mutual-TLS client
   * certificate), for an authorizer; absent means Kafka's `User:ANONYMOUS`.
   */
  principal?: string;
  /**
   * Set by a quota throttle (KIP-219): the server reads no further request from the connection
   * before this time (ms since the epoch).
   */
  mutedUntilMs?: number;
}

/**
 * What a {@link ConnectionAuthenticator} does with one frame: hand it to the listener's handler
 * (`pass`), answer it itself (`answer`, then close the connection when `close`), or close the
 * connection without an answer (`close`).
 */
export type AuthStep =
  | { kind: "pass" }
  | { kind: "answer"; response: Uint8Array; close: boolean }
  | { kind: "close" };

/**
 * Per-connection authentication (SASL): sees every frame before the handler. While it returns
 * promises the connection reads nothing more, so an exchange is never interleaved.
 */
export interface ConnectionAuthenticator {
  receive(frame: Uint8Array): AuthStep | Promise<AuthStep>;
}

/**
 * Handles one request frame (header + body, without the size prefix). Resolves with the complete
 * response frame (size prefix included), or null when the request gets no response (acks=0).
 * Rejecting closes the connection (the handler logs why).
 */
export type FrameHandler = (frame: Uint8Array, info: ConnectionInfo) => Promise<Uint8Array | null>;

/**
 * A {@link FrameHandler} that may answer with the response frame in pieces, written back to back
 * (so large record sets go to the socket as read from the log, never copied into one buffer).
 */
export type ChunkedFrameHandler = (
  frame: Uint8Array,
  info: ConnectionInfo,
) => Promise<Uint8Array | readonly Uint8Array[] | null>;

/** Options for {@link KafkaServer}. */
export interface KafkaServerOptions {
  listenerName: string;
  hostname: string;
  port: number;
  handler: FrameHandler | ChunkedFrameHandler;
  logger: Logger;
  /** `socket.request.max.bytes`. */
  frameBytesMax: number;
  /** Requests outstanding per connection before reading pauses (Kafka's queued.max.requests is 500 per broker). */
  inFlightMax?: number;
  /**
   * Request bytes outstanding per connection before reading pauses (default 64 MiB; Kafka's
   * queued.max.request.bytes). Keeps group-commit rounds, memory and ack latency bounded when a
   * producer pipelines faster than the disk syncs; one request is always admitted.
   */
  inFlightBytesMax?: number;
  /**
   * True when nothing keeps a view of this request frame once its response has settled, so its
   * buffer may take a later frame (see `Dispatcher.releasesFrame`). Default: never.
   */
  releasesFrame?: (frame: Uint8Array) => boolean;
  /**
   * Pieces of a written response that came from this pool (record bytes a Fetch read into it)
   * go back to it once the socket took them, for the next read.
   */
  responseBuffers?: FrameBufferPool;
  /**
   * Serve TLS (an `SSL` listener) with this PEM private key and certificate chain. A client that
   * fails the handshake (plaintext on the TLS port, garbage) loses only its own connection.
   */
  tls?: {
    key: string;
    cert: string;
    /**
     * Mutual TLS (`ssl.client.auth`): the listener asks for a client certificate chaining to
     * `caCerts`, and `principalOf` names the connection's principal (see `NodeTlsListener`).
     */
    clientAuth?: {
      mode: "requested" | "required";
      caCerts: string[];
      principalOf: (certificateDer: Uint8Array) => { principal: string } | { error: string };
    };
  };
  /** Authenticates each connection (a SASL listener); absent: every connection is served. */
  authenticator?: (info: ConnectionInfo) => ConnectionAuthenticator;
  /**
   * How long a connection whose authentication failed stays open after its error answer
   * (Kafka's connection.failed.authentication.delay.ms, 100 by default): slows password guessing.
   */
  failedAuthenticationDelayMs?: number;
  /** The node's connection limits, shared by its listeners (absent: unlimited). */
  quotas?: ConnectionQuotas;
  /**
   * `connections.max.idle.ms`: a connection that neither sent nor was sent anything for this long,
   * with nothing outstanding, is closed. Absent or negative: never.
   */
  idleTimeoutMs?: number;
}

let nextConnectionId = 1;

const IN_FLIGHT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** The longest one mute step waits (a stopping server notices within it). */
const MUTE_MS_MAX = 1_000;
/** Free large-frame buffers a listener keeps for reuse (see `FrameBufferPool`). */
const FRAME_POOL_BYTES_MAX = 64 * 1024 * 1024;

/**
 * One listener.
 *
 * @example
 * ```ts ignore
 * const server = new KafkaServer({ listenerName: "PLAINTEXT", hostname: "127.0.0.1", port: 9092, handler, logger, frameBytesMax: 104857600 });
 * await server.start();
 * ```
 */
export class KafkaServer {
  readonly options: KafkaServerOptions;
  #listener: Deno.Listener | NodeTlsListener | undefined;
  #connections = new Map<Deno.Conn, { queued: () => number; lastActiveMs: number }>();
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  #served = new Set<Promise<void>>();
  #stopping = false;
  #acceptLoop: Promise<void> | undefined;
  #framePool = new FrameBufferPool(FRAME_POOL_BYTES_MAX);

  constructor(options: KafkaServerOptions) {
    this.options = options;
  }

  /** Connections open now (`/metrics`: Kafka's socket-server connection-count). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The bound port (useful when asked for port 0). */
  get port(): number {
    const addr = this.#listener?.addr as Deno.NetAddr | undefined;
    return addr?.port ?? this.options.port;
  }

  /**
   * Binds the listener without accepting yet, as Kafka's SocketServer binds its acceptors before
   * the node starts: a taken port fails at once, and connections wait in the backlog until
   * {@link start}. Throws a one-line error (its `cause` the OS error) when the port is taken.
   */
  bind(): void {
    if (this.#listener !== undefined) return;
    try {
      const address = { hostname: this.options.hostname, port: this.options.port };
      const tls = this.options.tls;
      const clientAuth = tls?.clientAuth;
      if (tls === undefined) this.#listener = Deno.listen(address);
      else if (clientAuth === undefined) {
        this.#listener = Deno.listenTls({ ...address, key: tls.key, cert: tls.cert });
      } else {
        // Deno.listenTls cannot request client certificates; node:tls can.
        this.#listener = new NodeTlsListener({
          ...address,
          key: tls.key,
          cert: tls.cert,
          caCerts: clientAuth.caCerts,
          clientAuth: clientAuth.mode,
          principalOf: clientAuth.principalOf,
          onRefused: (reason) =>
            this.options.logger.info(`${this.options.listenerName}: refused a client: ${reason}`),
        });
      }
    } catch (error) {
      throw new Error(
        `Cannot listen on ${this.options.hostname}:${this.options.port} for ${this.options.listenerName}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
  }

  /** Binds the listener (unless {@link bind} did) and starts accepting. */
  start(): void {
    this.bind();
    this.#acceptLoop = this.#accept(this.#listener!);
    const idleMs = this.options.idleTimeoutMs ?? -1;
    if (idleMs > 0) {
      this.#idleTimer = setInterval(
        () => this.#closeIdle(idleMs),
        Math.max(100, Math.min(idleMs / 4, 10_000)),
      );
    }
  }

  /** Closes connections idle for `idleMs` with nothing outstanding (connections.max.idle.ms). */
  #closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const [conn, state] of this.#connections) {
      if (state.queued() > 0 || now - state.lastActiveMs < idleMs) continue;
      this.options.logger.debug(
        `${this.options.listenerName}: closing a connection idle for ${
          now - state.lastActiveMs
        } ms`,
      );
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  async #accept(listener: { accept(): Promise<Deno.Conn> }): Promise<void> {
    const quotas = this.options.quotas;
    while (!this.#stopping) {
      // max.connections: at the cap, stop accepting until a connection closes (as Kafka does).
      if (quotas !== undefined) await quotas.whenBelowCapacity(this.options.listenerName);
      if (this.#stopping) return;
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#stopping) return;
        this.options.logger.warn(
          `${this.options.listenerName}: accept failed: ${(error as Error).message}`,
        );
        continue;
      }
      // max.connection.creation.rate: over it, this connection and the ones behind it wait.
      const pauseMs = quotas?.acceptThrottleMs(this.options.listenerName, Date.now()) ?? 0;
      if (pauseMs > 0) {
        this.options.logger.debug(
          `${this.options.listenerName}: max.connection.creation.rate reached, accepting again in ${pauseMs} ms`,
        );
        for (const stopAt = Date.now() + pauseMs; Date.now() < stopAt && !this.#stopping;) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(100, stopAt - Date.now())));
        }
        if (this.#stopping) {
          try {
            conn.close();
          } catch { /* already closed */ }
          return;
        }
      }
      const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
      if (quotas !== undefined && !quotas.admit(ip, this.options.listenerName)) {
        this.options.logger.info(
          `${this.options.listenerName}: refused a connection from ${ip}: max.connections.per.ip reached`,
        );
        try {
          conn.close();
        } catch { /* already closed */ }
        continue;
      }
      const throttleMs = quotas?.connectionThrottleMs(ip, this.options.listenerName, Date.now()) ??
        0;
      if (throttleMs > 0) {
        // connection_creation_rate exceeded: held, then closed unserved (KIP-612).
        this.options.logger.debug(
          `${this.options.listenerName}: connection from ${ip} throttled for ${throttleMs} ms`,
        );
        const closing = new Promise<void>((resolve) =>
          setTimeout(() => {
            try {
              conn.close();
            } catch { /* already closed */ }
            resolve();
          }, throttleMs)
        ).finally(() => {
          this.#served.delete(closing);
          quotas?.release(ip);
        });
        this.#served.add(closing);
        continue;
      }
      const served = this.#serve(conn).finally(() => {
        this.#connections.delete(conn);
        this.#served.delete(served);
        quotas?.release(ip);
      });
      this.#served.add(served);
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    // Deno.TlsConn has no setNoDelay, so only plaintext connections get it.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const remote = conn.remoteAddr as Deno.NetAddr;
    const info: ConnectionInfo = {
      listenerName: this.options.listenerName,
      clientHost: `/${remote.hostname}`,
      connectionId: nextConnectionId++,
    };
    // Mutual TLS: the client certificate's principal (SASL, if any, replaces it on success).
    const tlsPrincipal = (conn as { tlsPrincipal?: string }).tlsPrincipal;
    if (tlsPrincipal !== undefined) info.principal = tlsPrincipal;
    const frames = new FrameReader(conn, {
      frameBytesMax: this.options.frameBytesMax,
      pool: this.#framePool,
    });
    const authenticator = this.options.authenticator?.(info);
    const inFlightMax = this.options.inFlightMax ?? 100;
    const inFlightBytesMax = this.options.inFlightBytesMax ?? IN_FLIGHT_BYTES_MAX_DEFAULT;
    // Responses leave in request order: each request's promise is queued and the writer drains
    // the queue front to back.
    const queue: Promise<Uint8Array | readonly Uint8Array[] | null>[] = [];
    const queuedSizes: number[] = [];
    let inFlightBytes = 0;
    const full = () =>
      queue.length >= inFlightMax || (queue.length > 0 && inFlightBytes >= inFlightBytesMax);
    const activity = { queued: () => queue.length, lastActiveMs: Date.now() };
    this.#connections.set(conn, activity);
    let wake: (() => void) | undefined;
    let readerDone = false;
    let failed = false;
    let drained: (() => void) | undefined;
    const writer = (async () => {
      while (true) {
        if (queue.length === 0) {
          if (readerDone || failed) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          continue;
        }
        let response: Uint8Array | readonly Uint8Array[] | null;
        try {
          response = await queue[0]!;
        } catch {
          failed = true;
          break;
        }
        queue.shift();
        inFlightBytes -= queuedSizes.shift()!;
        activity.lastActiveMs = Date.now();
        if (response !== null) {
          try {
            if (response instanceof Uint8Array) await writeAll(conn, response);
            else {
              for (const chunk of response) await writeAll(conn, chunk);
              const pool = this.options.responseBuffers;
              if (pool !== undefined) { for (const chunk of response) pool.give(chunk); }
            }
          } catch {
            failed = true;
            break;
          }
        }
        if (!full() && drained) {
          const resume = drained;
          drained = undefined;
          resume();
        }
      }
      try {
        conn.close();
      } catch { /* already closed */ }
    })();
    try {
      while (!this.#stopping && !failed) {
        if (full()) {
          await new Promise<void>((resolve) => (drained = resolve));
          continue;
        }
        const mutedMs = (info.mutedUntilMs ?? 0) - Date.now();
        if (mutedMs > 0) {
          // A throttled client: its channel stays muted for the throttle time (KIP-219).
          await new Promise((resolve) => setTimeout(resolve, Math.min(mutedMs, MUTE_MS_MAX)));
          continue;
        }
        let received: Uint8Array[] | null;
        try {
          received = await frames.next();
        } catch (error) {
          if (!(error instanceof DecodeError)) throw error;
          this.options.logger.warn(
            `${this.options.listenerName}: closing connection from ${remote.hostname}:${remote.port}: ${
              (error as Error).message
            }`,
          );
          failed = true;
          break;
        }
        if (received === null) break;
        activity.lastActiveMs = Date.now();
        let closing = false;
        for (const frame of received) {
          // A throttled client's frames already read wait too, as if still in the socket.
          while ((info.mutedUntilMs ?? 0) > Date.now() && !this.#stopping) {
            await new Promise((resolve) =>
              setTimeout(resolve, Math.min((info.mutedUntilMs ?? 0) - Date.now(), MUTE_MS_MAX))
            );
          }
          if (authenticator !== undefined) {
            const pending = authenticator.receive(frame);
            const step = pending instanceof Promise ? await pending : pending;
            if (step.kind === "close") {
              failed = true;
              break;
            }
            if (step.kind === "answer") {
              queue.push(Promise.resolve(step.response));
              queuedSizes.push(0);
              if (step.close) {
                // The answer is written, then the connection closes after the delay.
                const delayMs = this.options.failedAuthenticationDelayMs ?? 100;
                queue.push(
                  new Promise((_, reject) =>
                    setTimeout(() => reject(new Error("authentication failed")), delayMs)
                  ),
                );
                queuedSizes.push(0);
                closing = true;
                break;
              }
              continue;
            }
          }
          const response = this.options.handler(frame, info);
          if (this.options.releasesFrame?.(frame)) {
            const recycle = () => frames.recycle(frame);
            response.then(recycle, recycle);
          }
          queue.push(response);
          queuedSizes.push(frame.length);
          inFlightBytes += frame.length;
        }
        wake?.();
        if (closing) break;
      }
    } catch {
      // Reset by peer or closed during shutdown: nothing to answer.
    }
    readerDone = true;
    wake?.();
    if (failed) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await writer;
    // A read error (a failed TLS handshake, a reset) ends the reader without marking the
    // connection failed, and the writer returns without closing once nothing is queued.
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  /** Stops accepting, lets in-flight requests finish (bounded by `graceMs`), then closes. */
  async stop(graceMs = 5_000): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#idleTimer);
    this.options.quotas?.wakeAll();
    try {
      this.#listener?.close();
    } catch { /* already closed */ }
    await this.#acceptLoop;
    // Let every connection answer what it already received, then close (idle ones at once).
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && [...this.#connections.values()].some((c) => c.queued() > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const all = Promise.allSettled([...this.#served]);
    for (const conn of this.#connections.keys()) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await all;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
