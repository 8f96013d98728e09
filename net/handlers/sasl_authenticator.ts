/**
 * The server side of SASL on a `SASL_PLAINTEXT` or `SASL_SSL` listener, as Kafka's
 * SaslServerAuthenticator runs it before any request reaches the request handlers:
 *
 * - Until authenticated a connection may send only ApiVersions (answered by the listener's
 *   dispatcher), then SaslHandshake (v0 or v1), then the mechanism's tokens: in SaslAuthenticate
 *   requests after a v1 handshake, or as bare size-prefixed tokens after a v0 one (old clients).
 *   Any other request closes the connection, as Kafka does.
 * - A mechanism not enabled on the listener is answered UNSUPPORTED_SASL_MECHANISM (with the
 *   enabled ones) and the connection closes; a failed authentication is answered
 *   SASL_AUTHENTICATION_FAILED with Kafka's message and closes.
 * - Once complete the principal `User:<name>` is kept on the connection. With
 *   `connections.max.reauth.ms` (KIP-368) SaslAuthenticate v1+ tells the client its session
 *   lifetime, a SaslHandshake on the authenticated connection starts a re-authentication (same
 *   mechanism, same principal), and a request after the session expired closes the connection.
 *
 * @module
 */

import type { AuthStep, ConnectionAuthenticator, ConnectionInfo } from "../server.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { readRequestHeader, writeResponseHeader } from "../protocol/header.ts";
import { API_TABLE, ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createSaslHandshakeResponse,
  type SaslHandshakeResponse,
} from "../protocol/generated/sasl_handshake_response.ts";
import {
  createSaslAuthenticateResponse,
  type SaslAuthenticateResponse,
} from "../protocol/generated/sasl_authenticate_response.ts";
import type { SaslHandshakeRequest } from "../protocol/generated/sasl_handshake_request.ts";
import type { SaslAuthenticateRequest } from "../protocol/generated/sasl_authenticate_request.ts";
import { PlainServer } from "../../core/security/plain.ts";
import {
  nonceFromBytes,
  SCRAM_MECHANISMS,
  type ScramCredentialLookup,
  ScramServer,
} from "../../core/security/scram.ts";
import { SaslFailure } from "../../core/security/sasl_failure.ts";
import type { Logger } from "../../core/log.ts";
import type { Dispatcher } from "../dispatcher.ts";
import type { MetadataImage } from "../../core/metadata/image.ts";
import { describeUserScramCredentials } from "../../core/metadata/scram_control.ts";
import type { DescribeUserScramCredentialsRequest } from "../protocol/generated/describe_user_scram_credentials_request.ts";
import type { DescribeUserScramCredentialsResponse } from "../protocol/generated/describe_user_scram_credentials_response.ts";

/** What one SASL listener authenticates with. */
export interface SaslListenerOptions {
  listenerName: string;
  /** The enabled mechanisms (`sasl.enabled.mechanisms`), in order. */
  mechanisms: readonly string[];
  /** PLAIN's users and passwords (the listener's PlainLoginModule `user_<name>` options). */
  plainUsers: ReadonlyMap<string, string>;
  /** SCRAM credentials (the metadata image's UserScramCredentialRecords). */
  scramCredential: ScramCredentialLookup;
  /** KIP-368 session lifetime; 0: sessions never expire and re-authentication is refused. */
  connectionsMaxReauthMs: number;
  logger: Logger;
  /** The clock, in epoch milliseconds. */
  nowMs: () => number;
  /** Random bytes for SCRAM server nonces. */
  randomBytes: (length: number) => Uint8Array;
}

type State =
  /** Nothing received yet: ApiVersions or SaslHandshake. */
  | "versions-or-handshake"
  /** After ApiVersions: SaslHandshake only. */
  | "handshake"
  /** After SaslHandshake: the mechanism's tokens. */
  | "authenticate"
  | "complete";

interface MechanismServer {
  readonly complete: boolean;
  readonly username: string | undefined;
  evaluate(token: Uint8Array): Promise<Uint8Array>;
}

/**
 * The authenticator of one connection on a SASL listener.
 *
 * @example
 * ```ts ignore
 * const server = new KafkaServer({ ..., authenticator: (info) => new SaslAuthenticator(info, options) });
 * ```
 */
export class SaslAuthenticator implements ConnectionAuthenticator {
  #info: ConnectionInfo;
  #options: SaslListenerOptions;
  #state: State = "versions-or-handshake";
  /** True after a v0 SaslHandshake: tokens arrive bare, without Kafka headers. */
  #bareTokens = false;
  #mechanism = "";
  #server: MechanismServer | undefined;
  #reauthenticating = false;
  #sessionExpiresAtMs: number | undefined;

  constructor(info: ConnectionInfo, options: SaslListenerOptions) {
    this.#info = info;
    this.#options = options;
  }

  /** The authenticated principal (`User:<name>`), or undefined before authentication. */
  get principal(): string | undefined {
    return this.#info.principal;
  }

  receive(frame: Uint8Array): AuthStep | Promise<AuthStep> {
    if (this.#state === "authenticate") {
      return this.#bareTokens ? this.#bareToken(frame) : this.#authenticateRequest(frame);
    }
    const header = this.#header(frame);
    if (header === null) return { kind: "close" };
    const { apiKey, apiVersion, correlationId } = header;
    if (this.#state === "complete") {
      if (apiKey === ApiKey.SASL_HANDSHAKE && this.#options.connectionsMaxReauthMs > 0) {
        this.#reauthenticating = true;
        return this.#handshake(frame, header);
      }
      if (
        this.#sessionExpiresAtMs !== undefined && this.#options.nowMs() >= this.#sessionExpiresAtMs
      ) {
        this.#options.logger.info(
          `${this.#where()}: closing, its SASL session expired (connections.max.reauth.ms ${this.#options.connectionsMaxReauthMs}) without re-authentication`,
        );
        return { kind: "close" };
      }
      // After authentication SaslHandshake and SaslAuthenticate reach the dispatcher, which
      // answers ILLEGAL_SASL_STATE as Kafka's request handlers do.
      return { kind: "pass" };
    }
    if (apiKey === ApiKey.API_VERSIONS && this.#state === "versions-or-handshake") {
      this.#state = "handshake";
      return { kind: "pass" };
    }
    if (apiKey === ApiKey.SASL_HANDSHAKE) return this.#handshake(frame, header);
    const name = API_TABLE.get(apiKey)?.name ?? `api key ${apiKey}`;
    this.#options.logger.info(
      `${this.#where()}: closing, unexpected Kafka request of type ${name} during SASL handshake`,
    );
    void apiVersion;
    void correlationId;
    return { kind: "close" };
  }

  #header(frame: Uint8Array): { apiKey: number; apiVersion: number; correlationId: number } | null {
    try {
      const { header } = readRequestHeader(new Reader(frame));
      return {
        apiKey: header.requestApiKey,
        apiVersion: header.requestApiVersion,
        correlationId: header.correlationId,
      };
    } catch (error) {
      this.#options.logger.info(
        `${this.#where()}: closing, not a Kafka request during SASL authentication: ${
          (error as Error).message
        }`,
      );
      return null;
    }
  }

  #handshake(
    frame: Uint8Array,
    header: { apiKey: number; apiVersion: number; correlationId: number },
  ): AuthStep {
    const request = this.#decode<SaslHandshakeRequest>(frame);
    if (request === null) return { kind: "close" };
    const mechanisms = [...this.#options.mechanisms];
    const answer = (errorCode: number, close: boolean): AuthStep => ({
      kind: "answer",
      close,
      response: encodeResponse(
        header,
        createSaslHandshakeResponse({ errorCode, mechanisms }) satisfies SaslHandshakeResponse,
      ),
    });
    const mechanism = request.mechanism;
    if (!mechanisms.includes(mechanism)) {
      this.#options.logger.info(
        `${this.#where()}: closing, SASL mechanism ${
          JSON.stringify(mechanism)
        } is not enabled (enabled: ${mechanisms.join(", ")})`,
      );
      return answer(ErrorCode.UNSUPPORTED_SASL_MECHANISM, true);
    }
    if (this.#reauthenticating && mechanism !== this.#mechanism) {
      this.#options.logger.info(
        `${this.#where()}: closing, re-authentication asked for ${mechanism} after ${this.#mechanism}`,
      );
      return answer(ErrorCode.UNSUPPORTED_SASL_MECHANISM, true);
    }
    this.#mechanism = mechanism;
    this.#server = this.#mechanismServer(mechanism);
    this.#bareTokens = header.apiVersion === 0;
    this.#state = "authenticate";
    return answer(ErrorCode.NONE, false);
  }

  #mechanismServer(mechanism: string): MechanismServer {
    if (mechanism === "PLAIN") return new PlainServer(this.#options.plainUsers);
    const scram = SCRAM_MECHANISMS.get(mechanism)!;
    const nonce = nonceFromBytes(this.#options.randomBytes(24));
    return new ScramServer(scram, this.#options.scramCredential, nonce);
  }

  /** A token after a v0 SaslHandshake: bare bytes in, bare bytes out; a failure just closes. */
  async #bareToken(frame: Uint8Array): Promise<AuthStep> {
    const server = this.#server!;
    try {
      const token = await server.evaluate(frame);
      if (server.complete) this.#complete(1);
      return { kind: "answer", response: sizePrefixed(token), close: false };
    } catch (error) {
      this.#logFailure(error);
      return { kind: "close" };
    }
  }

  async #authenticateRequest(frame: Uint8Array): Promise<AuthStep> {
    const header = this.#header(frame);
    if (header === null) return { kind: "close" };
    if (header.apiKey !== ApiKey.SASL_AUTHENTICATE) {
      const name = API_TABLE.get(header.apiKey)?.name ?? `api key ${header.apiKey}`;
      this.#options.logger.info(
        `${this.#where()}: closing, unexpected Kafka request of type ${name} during SASL authentication`,
      );
      if (header.apiKey === ApiKey.SASL_HANDSHAKE) {
        // Kafka answers the out-of-place request ILLEGAL_SASL_STATE, then closes.
        return {
          kind: "answer",
          close: true,
          response: encodeResponse(
            header,
            createSaslHandshakeResponse({
              errorCode: ErrorCode.ILLEGAL_SASL_STATE,
              mechanisms: [...this.#options.mechanisms],
            }),
          ),
        };
      }
      return { kind: "close" };
    }
    const request = this.#decode<SaslAuthenticateRequest>(frame);
    if (request === null) return { kind: "close" };
    const server = this.#server!;
    const answer = (body: Partial<SaslAuthenticateResponse>, close: boolean): AuthStep => ({
      kind: "answer",
      close,
      response: encodeResponse(header, createSaslAuthenticateResponse(body)),
    });
    try {
      const token = await server.evaluate(request.authBytes);
      if (this.#reauthenticating && server.complete) {
        const previous = this.#info.principal;
        if (previous !== `User:${server.username}`) {
          const message =
            `Cannot change principals during re-authentication from ${previous}: User:${server.username}`;
          this.#options.logger.info(`${this.#where()}: closing, ${message}`);
          return answer(
            { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: message },
            true,
          );
        }
      }
      const sessionLifetimeMs = server.complete ? this.#complete(header.apiVersion) : 0;
      return answer({ authBytes: token, sessionLifetimeMs: BigInt(sessionLifetimeMs) }, false);
    } catch (error) {
      const message = this.#logFailure(error);
      return answer(
        { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: message },
        true,
      );
    }
  }

  /** Marks the connection authenticated; returns the session lifetime to announce (ms). */
  #complete(apiVersion: number): number {
    const server = this.#server!;
    this.#info.principal = `User:${server.username}`;
    this.#state = "complete";
    const again = this.#reauthenticating ? "re-authenticated" : "authenticated";
    this.#reauthenticating = false;
    this.#server = undefined;
    this.#options.logger.debug(
      `${this.#where()}: ${again} as ${this.#info.principal} with ${this.#mechanism}`,
    );
    const lifetimeMs = this.#options.connectionsMaxReauthMs;
    if (lifetimeMs <= 0) return 0;
    // KIP-368: clients that cannot re-authenticate (SaslAuthenticate v0) still lose the
    // connection when the session ends; v1+ clients are told when.
    this.#sessionExpiresAtMs = this.#options.nowMs() + lifetimeMs;
    return apiVersion >= 1 ? lifetimeMs : 0;
  }

  /** Logs a failed authentication and returns the message the client gets. */
  #logFailure(error: unknown): string {
    if (!(error instanceof SaslFailure)) throw error;
    const process = this.#reauthenticating ? "re-authentication" : "authentication";
    const message = error.clientVisible
      ? error.message
      : `Authentication failed during ${process} due to invalid credentials with SASL mechanism ${this.#mechanism}`;
    this.#options.logger.info(
      `Failed ${process} with ${this.#info.clientHost} on ${this.#info.listenerName} (${error.message})`,
    );
    return message;
  }

  #decode<T>(frame: Uint8Array): T | null {
    const r = new Reader(frame);
    try {
      const { header } = readRequestHeader(r);
      const api = API_TABLE.get(header.requestApiKey)!;
      return api.readRequest(r, header.requestApiVersion) as T;
    } catch (error) {
      this.#options.logger.info(
        `${this.#where()}: closing, cannot decode a SASL request: ${(error as Error).message}`,
      );
      return null;
    }
  }

  #where(): string {
    return `Connection ${this.#info.connectionId} from ${this.#info.clientHost} on ${this.#info.listenerName}`;
  }
}

function encodeResponse(
  header: { apiKey: number; apiVersion: number; correlationId: number },
  body: unknown,
): Uint8Array {
  const w = new Writer(128);
  const sizeAt = w.reserveSizePrefix();
  writeResponseHeader(w, header);
  API_TABLE.get(header.apiKey)!.writeResponse(w, header.apiVersion, body as never);
  w.patchSizePrefix(sizeAt);
  return w.finish();
}

function sizePrefixed(token: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + token.length);
  new DataView(out.buffer).setInt32(0, token.length);
  out.set(token, 4);
  return out;
}

/**
 * Registers SaslHandshake and SaslAuthenticate on a listener's dispatcher: ApiVersions then
 * advertises them, and they answer ILLEGAL_SASL_STATE once a connection is authenticated (or on
 * a listener without SASL), as Kafka's request handlers do. With `scramImage` (brokers) also
 * DescribeUserScramCredentials.
 *
 * @example
 * ```ts ignore
 * registerSaslHandlers(dispatcher);
 * ```
 */
export function registerSaslHandlers(
  dispatcher: Dispatcher,
  options: { scramImage?: () => MetadataImage } = {},
): void {
  const image = options.scramImage;
  if (image !== undefined) {
    // KIP-554: brokers describe SCRAM users from their metadata image (mechanism and iterations).
    dispatcher.register<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>(
      ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS,
      {
        minVersion: 0,
        maxVersion: 0,
        handle: (request) => describeUserScramCredentials(image(), request),
      },
    );
  }
  dispatcher.register<SaslHandshakeRequest, SaslHandshakeResponse>(ApiKey.SASL_HANDSHAKE, {
    minVersion: 0,
    maxVersion: 1,
    handle: () =>
      createSaslHandshakeResponse({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] }),
  });
  dispatcher.register<SaslAuthenticateRequest, SaslAuthenticateResponse>(
    ApiKey.SASL_AUTHENTICATE,
    {
      minVersion: 0,
      maxVersion: 2,
      handle: () =>
        createSaslAuthenticateResponse({
          errorCode: ErrorCode.ILLEGAL_SASL_STATE,
          errorMessage: "SaslAuthenticate request received after successful authentication",
        }),
    },
  );
}
