/**
 * A TLS listener that asks clients for a certificate (Kafka's `ssl.client.auth=required|requested`).
 * `Deno.listenTls` cannot request client certificates, but Deno's `node:tls` server can, so such a
 * listener is served by it and each accepted socket is adapted to the part of `Deno.Conn`
 * `KafkaServer` uses: `read`, `write`, `close` and `remoteAddr`.
 *
 * @module
 */

import * as tls from "node:tls";
import type { Buffer } from "node:buffer";

/** Options of {@link NodeTlsListener}. */
export interface NodeTlsListenerOptions {
  hostname: string;
  port: number;
  /** PEM private key and certificate chain. */
  key: string;
  cert: string;
  /** PEM CA certificates a client certificate must chain to. */
  caCerts: string[];
  /** `required`: a client without a valid certificate fails the handshake; `requested`: it is anonymous. */
  clientAuth: "requested" | "required";
  /**
   * The principal (`User:<name>`) of a client certificate (DER), or an error sentence when the
   * certificate maps to none (no `ssl.principal.mapping.rules` rule applies): the connection closes.
   */
  principalOf: (certificateDer: Uint8Array) => { principal: string } | { error: string };
  /** Told why a client's connection was closed before it was served. */
  onRefused?: (reason: string) => void;
}

/** Connections accepted but not yet taken by `accept()`; more are closed (the backlog is full). */
const PENDING_MAX = 1024;
/** Bytes read from a socket and not yet taken by `read()` before the socket is paused. */
const READ_BUFFER_BYTES_MAX = 1024 * 1024;

/**
 * One accepted mutual-TLS connection, as the `Deno.Conn` subset `KafkaServer` reads and writes.
 * Reading pauses the socket while more than {@link READ_BUFFER_BYTES_MAX} bytes wait; each write
 * resolves once the socket took the bytes, so a slow client holds its writer.
 */
export class NodeTlsConn {
  /** `User:<name>` from the client certificate; undefined when none was presented (`requested`). */
  readonly tlsPrincipal: string | undefined;
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  #socket: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  /** Writes not yet taken by the socket: rejected when it closes, so no writer waits forever. */
  #pendingWrites = new Set<(error: Error) => void>();

  constructor(socket: tls.TLSSocket, principal: string | undefined) {
    this.#socket = socket;
    this.tlsPrincipal = principal;
    this.remoteAddr = {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    };
    this.localAddr = {
      transport: "tcp",
      hostname: socket.localAddress ?? "",
      port: socket.localPort ?? 0,
    };
    socket.on("data", (data: Buffer) => {
      this.#chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.#bufferedBytes += data.byteLength;
      if (this.#bufferedBytes > READ_BUFFER_BYTES_MAX) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#failWrites();
      this.#notify();
    });
  }

  #failWrites(): void {
    for (const reject of this.#pendingWrites) {
      reject(new Deno.errors.BadResource("connection closed"));
    }
    this.#pendingWrites.clear();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Reads into `into`; null at the end of the stream. Rejects on a socket error. */
  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended || this.#closed) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const chunk = this.#chunks[0]!;
    const n = Math.min(chunk.length, into.length);
    into.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#bufferedBytes -= n;
    if (this.#bufferedBytes <= READ_BUFFER_BYTES_MAX && this.#socket.isPaused()) {
      this.#socket.resume();
    }
    return n;
  }

  /** Writes all of `bytes`; resolves once the socket has taken them. */
  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed || this.#socket.destroyed) {
      return Promise.reject(new Deno.errors.BadResource("connection closed"));
    }
    return new Promise((resolve, reject) => {
      this.#pendingWrites.add(reject);
      this.#socket.write(bytes, (error) => {
        this.#pendingWrites.delete(reject);
        if (error) reject(error);
        else resolve(bytes.length);
      });
    });
  }

  /** Closes the connection (again: nothing). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#failWrites();
    this.#notify();
  }
}

/**
 * A listener served by `node:tls` that requests client certificates; `accept` yields
 * {@link NodeTlsConn}s typed as `Deno.Conn` for `KafkaServer`.
 *
 * @example
 * ```ts ignore
 * const listener = new NodeTlsListener({ hostname: "127.0.0.1", port: 0, key, cert, caCerts: [ca], clientAuth: "required", principalOf });
 * const conn = await listener.accept();
 * ```
 */
export class NodeTlsListener {
  readonly addr: Deno.NetAddr;
  #server: tls.Server;
  #pending: NodeTlsConn[] = [];
  #waiters: { resolve: (conn: Deno.Conn) => void; reject: (error: Error) => void }[] = [];
  #closed = false;

  /** Binds at once: a taken port throws here, as `Deno.listen` does. */
  constructor(options: NodeTlsListenerOptions) {
    // node:tls binds asynchronously, so the port is claimed (and port 0 resolved) by a Deno
    // listener first, then handed over: a taken port still fails here. A client connecting in
    // the moment between the two binds is refused and retries, as clients do while a broker starts.
    const probe = Deno.listen({ hostname: options.hostname, port: options.port });
    this.addr = probe.addr as Deno.NetAddr;
    probe.close();
    const refused = options.onRefused ?? (() => {});
    this.#server = tls.createServer({
      key: options.key,
      cert: options.cert,
      ca: options.caCerts,
      requestCert: true,
      rejectUnauthorized: options.clientAuth === "required",
    }, (socket) => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      const peer = socket.getPeerCertificate();
      const presented = peer !== null && peer.raw !== undefined;
      let principal: string | undefined;
      if (presented) {
        // `requested` lets an unverified certificate through the handshake; Kafka's (JSSE's)
        // want-client-auth still refuses one that does not chain to the trust store.
        if (!socket.authorized) {
          refused(`client certificate not trusted: ${socket.authorizationError}`);
          socket.destroy();
          return;
        }
        const mapped = options.principalOf(new Uint8Array(peer.raw));
        if ("error" in mapped) {
          refused(mapped.error);
          socket.destroy();
          return;
        }
        principal = mapped.principal;
      }
      socket.setNoDelay(true);
      const conn = new NodeTlsConn(socket, principal);
      const waiter = this.#waiters.shift();
      if (waiter !== undefined) waiter.resolve(conn as unknown as Deno.Conn);
      else if (this.#pending.length < PENDING_MAX) this.#pending.push(conn);
      else conn.close();
    });
    // A failed handshake (no certificate, plaintext on the TLS port) loses only its connection.
    this.#server.on("tlsClientError", (error: Error) => refused(error.message));
    this.#server.on("error", (error: Error) => refused(`listener error: ${error.message}`));
    this.#server.listen(this.addr.port, options.hostname);
  }

  /** The next accepted connection (after its TLS handshake). Rejects once closed. */
  accept(): Promise<Deno.Conn> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
    const ready = this.#pending.shift();
    // NodeTlsConn has the members KafkaServer uses of a Deno.Conn: read, write, close, remoteAddr.
    if (ready !== undefined) return Promise.resolve(ready as unknown as Deno.Conn);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Stops listening; connections not yet accepted are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#pending.splice(0)) conn.close();
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new Deno.errors.BadResource("listener closed"));
    }
  }
}
