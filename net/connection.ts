/**
 * The client side of one Kafka connection: size-prefixed frames, correlation ids, many requests in
 * flight answered in order, per-request timeouts, and ApiVersions negotiation.
 *
 * Used by the broker to reach the controller, by Raft to reach other voters, by the CLI tools and by
 * `mod.ts`'s Admin client, so every node-to-node and tool-to-node exchange speaks Kafka's own RPCs.
 *
 * @module
 */

import { type FrameBufferPool, FrameReader } from "./frame_reader.ts";
import { readResponseHeader, writeRequestHeader } from "./protocol/header.ts";
import { Reader } from "./protocol/reader.ts";
import { Writer } from "./protocol/writer.ts";
import { KafkaError } from "./protocol/errors.ts";
import { API_TABLE, ApiKey } from "./protocol/generated/api_table.ts";
import { ErrorCode } from "./protocol/generated/errors.ts";
import type { ApiVersionsResponse } from "./protocol/generated/api_versions_response.ts";
import type { SaslHandshakeResponse } from "./protocol/generated/sasl_handshake_response.ts";
import type { SaslAuthenticateResponse } from "./protocol/generated/sasl_authenticate_response.ts";
import { plainClientMessage } from "../core/security/plain.ts";
import { nonceFromBytes, SCRAM_MECHANISMS, ScramClient } from "../core/security/scram.ts";
import { SaslFailure } from "../core/security/sasl_failure.ts";

/** Options for {@link KafkaConnection.connect}. */
export interface ConnectOptions {
  /** The client id sent in every request header. */
  clientId?: string;
  /** How long to wait for the TCP connection, in milliseconds. */
  connectTimeoutMs?: number;
  /** How long to wait for each response, in milliseconds. */
  requestTimeoutMs?: number;
  /** The largest response frame accepted, in bytes. */
  frameBytesMax?: number;
  /** Skip the ApiVersions exchange (then every request must name its version). */
  skipApiVersions?: boolean;
  /**
   * Large response frames are read into buffers of this pool, and the caller gives each back
   * (`pool.give(view)`, any view of the frame) once nothing holds a view of it any more. Without
   * it every large response gets fresh memory, whose first touch costs more than the read into
   * it (a replica fetcher reads its leader's whole log this way).
   */
  framePool?: FrameBufferPool;
  /**
   * Connect with TLS (an `SSL` listener), trusting these PEM CA certificates (the system's roots
   * when absent). The server's certificate must name `host`. `cert` (PEM chain) and `key` (PEM
   * private key) are presented to a listener that asks for a client certificate (mutual TLS).
   */
  tls?: { caCerts?: string[]; cert?: string; key?: string };
  /**
   * Authenticate with SASL after ApiVersions (a `SASL_PLAINTEXT`/`SASL_SSL` listener): SaslHandshake
   * v1, then the mechanism's tokens in SaslAuthenticate requests, as Kafka's Java client does.
   */
  sasl?: SaslCredentials;
}

/** What a client authenticates with (Kafka's `sasl.mechanism` and the JAAS username/password). */
export interface SaslCredentials {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

interface Pending {
  apiKey: number;
  version: number;
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Thrown when a connection fails or closes with requests outstanding. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
}

/**
 * One TCP connection to a Kafka node.
 *
 * @example
 * ```ts ignore
 * import { KafkaConnection } from "./connection.ts";
 * import { ApiKey } from "./protocol/generated/api_table.ts";
 * const conn = await KafkaConnection.connect("127.0.0.1", 9092);
 * const metadata = await conn.send(ApiKey.METADATA, { topics: null });
 * conn.close();
 * ```
 */
export class KafkaConnection {
  readonly host: string;
  readonly port: number;
  /** The highest version of each api key both sides support (empty when skipped). */
  readonly versions: Map<number, { min: number; max: number }> = new Map();
  #conn: Deno.Conn;
  #clientId: string;
  #requestTimeoutMs: number;
  #nextCorrelationId = 1;
  #pending = new Map<number, Pending>();
  #closed = false;
  #writeChain: Promise<void> = Promise.resolve();
  readonly #frameBytesMax: number;
  readonly #framePool: FrameBufferPool | undefined;
  /** Set while a KIP-368 re-authentication runs: new requests wait for it. */
  #gate: Promise<void> | undefined;
  #reauthTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(conn: Deno.Conn, host: string, port: number, options: ConnectOptions) {
    this.#conn = conn;
    this.host = host;
    this.port = port;
    this.#clientId = options.clientId ?? "kraftling";
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#frameBytesMax = options.frameBytesMax ?? 0x7fffffff;
    this.#framePool = options.framePool;
    // Deno.TlsConn has no setNoDelay, so only plaintext connections get it.
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    this.#readLoop();
  }

  /** Opens a connection and (unless skipped) negotiates versions with ApiVersions. */
  static async connect(
    host: string,
    port: number,
    options: ConnectOptions = {},
  ): Promise<KafkaConnection> {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectionError(
              `Cannot connect to ${host}:${port}: timed out after ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    let tcp: Deno.Conn;
    try {
      const connecting = options.tls === undefined
        ? Deno.connect({ hostname: host, port })
        : Deno.connectTls({
          hostname: host,
          port,
          caCerts: options.tls.caCerts,
          ...(options.tls.cert !== undefined && options.tls.key !== undefined
            ? { cert: options.tls.cert, key: options.tls.key }
            : {}),
        });
      tcp = await Promise.race([connecting, timeout]);
    } catch (error) {
      if (error instanceof ConnectionError) throw error;
      throw new ConnectionError(`Cannot connect to ${host}:${port}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    const conn = new KafkaConnection(tcp, host, port, options);
    if (!options.skipApiVersions || options.sasl !== undefined) {
      try {
        await conn.#negotiate();
        if (options.sasl !== undefined) await conn.#authenticate(options.sasl);
      } catch (error) {
        conn.close();
        throw error;
      }
    }
    return conn;
  }

  async #negotiate(): Promise<void> {
    const ours = API_TABLE.get(ApiKey.API_VERSIONS)!;
    let version = Math.min(3, ours.maxVersion);
    const request = {
      clientSoftwareName: "kraftling",
      clientSoftwareVersion: "0.1.0",
    };
    let response = await this.send<ApiVersionsResponse>(ApiKey.API_VERSIONS, request, { version });
    if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      // KIP-511: the broker answered with v0 and its own ApiVersions range.
      const theirs = response.apiKeys.find((k) => k.apiKey === ApiKey.API_VERSIONS);
      version = Math.min(version, theirs?.maxVersion ?? 0);
      response = await this.send<ApiVersionsResponse>(ApiKey.API_VERSIONS, request, { version });
    }
    if (response.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(
        response.errorCode,
        `ApiVersions failed with error ${response.errorCode}`,
      );
    }
    for (const key of response.apiKeys) {
      const api = API_TABLE.get(key.apiKey);
      if (api === undefined) continue;
      const min = Math.max(key.minVersion, api.minVersion);
      const max = Math.min(key.maxVersion, api.maxVersion);
      if (min <= max) this.versions.set(key.apiKey, { min, max });
    }
  }

  /**
   * SASL as Kafka's SaslClientAuthenticator runs it: SaslHandshake v1 names the mechanism, then
   * each token travels in a SaslAuthenticate request. Throws a KafkaError with the broker's own
   * message (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM), never the password.
   */
  async #authenticate(sasl: SaslCredentials): Promise<void> {
    const lifetimeMs = await this.#saslExchange(sasl);
    this.#scheduleReauthentication(sasl, lifetimeMs);
  }

  /** One SASL exchange; resolves with the session lifetime the broker announced (0: none). */
  async #saslExchange(sasl: SaslCredentials): Promise<number> {
    const handshake = await this.#sendNow<SaslHandshakeResponse>(
      ApiKey.SASL_HANDSHAKE,
      { mechanism: sasl.mechanism },
      { version: this.versionFor(ApiKey.SASL_HANDSHAKE, 1) },
    );
    if (handshake.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(
        handshake.errorCode,
        `${this.host}:${this.port} does not accept SASL mechanism ${sasl.mechanism} (enabled: ${
          handshake.mechanisms.join(", ") || "none"
        })`,
      );
    }
    const version = this.versionFor(ApiKey.SASL_AUTHENTICATE, 2);
    let lifetimeMs = 0;
    const exchange = async (token: Uint8Array): Promise<Uint8Array> => {
      const response = await this.#sendNow<SaslAuthenticateResponse>(
        ApiKey.SASL_AUTHENTICATE,
        { authBytes: token },
        { version },
      );
      if (response.errorCode !== ErrorCode.NONE) {
        throw new KafkaError(
          response.errorCode,
          response.errorMessage ?? `SASL authentication to ${this.host}:${this.port} failed`,
        );
      }
      lifetimeMs = Number(response.sessionLifetimeMs);
      return response.authBytes;
    };
    if (sasl.mechanism === "PLAIN") {
      await exchange(plainClientMessage(sasl.username, sasl.password));
      return lifetimeMs;
    }
    const mechanism = SCRAM_MECHANISMS.get(sasl.mechanism)!;
    const nonce = nonceFromBytes(crypto.getRandomValues(new Uint8Array(24)));
    const client = new ScramClient(mechanism, sasl.username, sasl.password, nonce);
    try {
      const serverFirst = await exchange(client.first());
      client.verify(await exchange(await client.final(serverFirst)));
    } catch (error) {
      if (error instanceof SaslFailure) {
        throw new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED, error.message);
      }
      throw error;
    }
    return lifetimeMs;
  }

  /**
   * KIP-368: re-authenticates on the same connection at 85-95% of the session lifetime the broker
   * announced, as Kafka's clients do. New requests wait while it runs and nothing else is in
   * flight (the broker takes only SaslAuthenticate until it is done); a failure closes the
   * connection, and the next request opens a new one.
   */
  #scheduleReauthentication(sasl: SaslCredentials, lifetimeMs: number): void {
    if (lifetimeMs <= 0 || this.#closed) return;
    const delayMs = Math.floor(lifetimeMs * (0.85 + Math.random() * 0.1));
    this.#reauthTimer = setTimeout(() => {
      this.#reauthTimer = undefined;
      let open!: () => void;
      this.#gate = new Promise<void>((resolve) => (open = resolve));
      void this.#reauthenticate(sasl).then(
        (nextLifetimeMs) => this.#scheduleReauthentication(sasl, nextLifetimeMs),
        (error) =>
          this.#fail(
            new ConnectionError(
              `Re-authentication to ${this.host}:${this.port} failed: ${(error as Error).message}`,
            ),
          ),
      ).finally(() => {
        this.#gate = undefined;
        open();
      });
    }, delayMs);
    // A pending re-authentication must not keep a finished tool's process alive.
    Deno.unrefTimer(this.#reauthTimer as unknown as number);
  }

  async #reauthenticate(sasl: SaslCredentials): Promise<number> {
    const deadline = Date.now() + this.#requestTimeoutMs;
    while (this.#pending.size > 0) {
      if (this.#closed) throw new ConnectionError("the connection closed");
      if (Date.now() > deadline) throw new ConnectionError("requests stayed in flight");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return await this.#saslExchange(sasl);
  }

  /** The version to use for `apiKey`: the highest both sides support, capped by `maxVersion`. */
  versionFor(apiKey: number, maxVersion = Infinity): number {
    const range = this.versions.get(apiKey);
    if (range === undefined) {
      const name = API_TABLE.get(apiKey)?.name ?? `api key ${apiKey}`;
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `${this.host}:${this.port} does not support ${name}`,
      );
    }
    if (range.min > maxVersion) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `${this.host}:${this.port} supports ${API_TABLE.get(apiKey)?.name} only from v${range.min}`,
      );
    }
    return Math.min(range.max, maxVersion);
  }

  /**
   * Sends one request and resolves with its decoded response body. `body` may be partial: missing
   * fields take the schema defaults. With `expectResponse: false` (Produce acks=0) resolves at once.
   */
  send<T>(
    apiKey: number,
    body: Record<string, unknown>,
    options: { version?: number; timeoutMs?: number; expectResponse?: boolean } = {},
  ): Promise<T> {
    // During a KIP-368 re-authentication requests wait (the broker would close on them).
    const gate = this.#gate;
    if (gate !== undefined) return gate.then(() => this.send<T>(apiKey, body, options));
    return this.#sendNow<T>(apiKey, body, options);
  }

  #sendNow<T>(
    apiKey: number,
    body: Record<string, unknown>,
    options: { version?: number; timeoutMs?: number; expectResponse?: boolean } = {},
  ): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new ConnectionError(`Connection to ${this.host}:${this.port} is closed`),
      );
    }
    const api = API_TABLE.get(apiKey);
    if (api === undefined) return Promise.reject(new RangeError(`Unknown api key ${apiKey}`));
    const version = options.version ?? this.versionFor(apiKey);
    const correlationId = this.#nextCorrelationId++ & 0x7fffffff;
    const w = new Writer(256);
    const sizeAt = w.reserveSizePrefix();
    writeRequestHeader(w, {
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.#clientId,
      _unknownTaggedFields: [],
    });
    const full = Object.assign(api.createRequest() as Record<string, unknown>, body);
    api.writeRequest(w, version, full as never);
    w.patchSizePrefix(sizeAt);
    const frame = w.finish();
    const expectResponse = options.expectResponse ?? true;
    const result = expectResponse
      ? new Promise<T>((resolve, reject) => {
        const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
        const timer = setTimeout(() => {
          if (this.#pending.delete(correlationId)) {
            reject(
              new KafkaError(
                ErrorCode.REQUEST_TIMED_OUT,
                `${api.name} to ${this.host}:${this.port} timed out after ${timeoutMs} ms`,
              ),
            );
          }
        }, timeoutMs);
        this.#pending.set(correlationId, {
          apiKey,
          version,
          resolve: resolve as (body: unknown) => void,
          reject,
          timer,
        });
      })
      : Promise.resolve(undefined as T);
    this.#writeChain = this.#writeChain.then(() => this.#writeAll(frame)).catch((error) => {
      this.#fail(
        new ConnectionError(`Cannot write to ${this.host}:${this.port}: ${error.message}`),
      );
    });
    return result;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  async #readLoop(): Promise<void> {
    try {
      // Large responses (fetches) are read straight into a buffer of their own and small ones
      // many at a time, each handed out as a view: no byte is copied after the kernel's read.
      // Decoded records may keep views of a frame, so no buffer is reused unless the caller
      // lent a pool and gives each frame back when done with it.
      const frames = new FrameReader(this.#conn, {
        frameBytesMax: this.#frameBytesMax,
        receiveBufferBytes: 256 * 1024,
        pool: this.#framePool,
      });
      while (!this.#closed) {
        const received = await frames.next();
        if (received === null) break;
        for (const frame of received) this.#onFrame(frame);
      }
      this.#fail(new ConnectionError(`Connection to ${this.host}:${this.port} closed by peer`));
    } catch (error) {
      this.#fail(
        new ConnectionError(
          `Connection to ${this.host}:${this.port} failed: ${(error as Error).message}`,
        ),
      );
    }
  }

  #onFrame(frame: Uint8Array): void {
    const r = new Reader(frame);
    const correlationId = r.int32();
    const pending = this.#pending.get(correlationId);
    if (pending === undefined) return; // timed out earlier
    this.#pending.delete(correlationId);
    clearTimeout(pending.timer);
    try {
      r.offset = 0;
      readResponseHeader(r, pending.apiKey, pending.version);
      const api = API_TABLE.get(pending.apiKey)!;
      // KIP-511: an UNSUPPORTED_VERSION ApiVersions answer is always a v0 body.
      const version = pending.apiKey === ApiKey.API_VERSIONS && frame.length >= 6 &&
          ((frame[4]! << 8) | frame[5]!) === ErrorCode.UNSUPPORTED_VERSION
        ? 0
        : pending.version;
      pending.resolve(api.readResponse(r, version));
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  #fail(error: Error): void {
    clearTimeout(this.#reauthTimer);
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    }
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }

  /** True once the connection has failed or been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection; outstanding requests fail with a ConnectionError. */
  close(): void {
    this.#fail(new ConnectionError(`Connection to ${this.host}:${this.port} was closed`));
  }
}
