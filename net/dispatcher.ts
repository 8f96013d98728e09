/**
 * Turns request frames into typed requests, calls the registered handler, and encodes the typed
 * response into a complete response frame. Also answers ApiVersions from the registry itself, so
 * what a node advertises is exactly what it has handlers for.
 *
 * @module
 */

import { Reader } from "./protocol/reader.ts";
import { KafkaError } from "./protocol/errors.ts";
import { Writer } from "./protocol/writer.ts";
import { readRequestHeader, type RequestHeader, writeResponseHeader } from "./protocol/header.ts";
import { API_TABLE, ApiKey } from "./protocol/generated/api_table.ts";
import { ErrorCode } from "./protocol/generated/errors.ts";
import {
  type ApiVersionsResponse,
  createApiVersionsResponse,
  writeApiVersionsResponse,
} from "./protocol/generated/api_versions_response.ts";
import type { ApiVersionsRequest } from "./protocol/generated/api_versions_request.ts";
import type { ChunkedFrameHandler, ConnectionInfo, FrameHandler } from "./server.ts";
import type { Logger } from "../core/log.ts";

/** Record sets at least this long are written to the socket without being copied. */
export const REFERENCED_RECORDS_BYTES_MIN = 16 * 1024;

/** What a handler gets besides its request. */
export interface RequestContext extends ConnectionInfo {
  header: RequestHeader;
  apiVersion: number;
}

/**
 * One API's handler. Resolves with the typed response, or null for no response (Produce acks=0).
 * Throwing closes the connection, so handlers answer bad input with error codes instead.
 */
export interface ApiHandler<Req = never, Res = unknown> {
  minVersion: number;
  maxVersion: number;
  handle(request: Req, context: RequestContext): Promise<Res | null> | Res | null;
}

/**
 * What a {@link RequestGuard} decided: let the request through (possibly narrowed, with `after`
 * adding what was refused to the response), answer it with `response` instead, or close the
 * connection (an API whose response cannot carry the refusal).
 */
export type GuardOutcome =
  | { allow: true; request?: unknown; after?: (response: unknown) => unknown }
  | { allow: false; response: unknown }
  | { allow: false; close: string };

/** Runs before every handler (authorization); sees the decoded request. */
export type RequestGuard = (
  apiKey: number,
  request: unknown,
  context: RequestContext,
) => GuardOutcome;

/** What a {@link RequestThrottle} sees of one answered request. */
export interface ThrottleInput {
  /**
   * "request": before the handler (what the request itself costs, e.g. produced bytes, so the
   * connection is muted before its next request is read); "response": after it.
   */
  phase: "request" | "response";
  apiKey: number;
  request: unknown;
  /** Undefined in the "request" phase. */
  response: unknown;
  context: RequestContext;
  /** The request frame's size. */
  requestBytes: number;
  /** Event-loop time the handler's synchronous part took, in ms (request_percentage). */
  loopMs: number;
}

/** Decides how long (ms) to throttle a client after a request (quotas); 0: not at all. */
export type RequestThrottle = (input: ThrottleInput) => number;

/**
 * Runs `guards` in order as one: each sees the request the previous one let through; a refusal
 * stops there; the `after` steps run last-guard first on the response.
 *
 * @example
 * ```ts ignore
 * dispatcher.setGuard(composeGuards([authorizationGuard(view), mutationQuotaGuard(...)]));
 * ```
 */
export function composeGuards(guards: readonly RequestGuard[]): RequestGuard {
  return (apiKey, request, context) => {
    let current = request;
    const afters: ((response: unknown) => unknown)[] = [];
    for (const guard of guards) {
      const outcome = guard(apiKey, current, context);
      if (!outcome.allow) return outcome;
      if (outcome.request !== undefined) current = outcome.request;
      if (outcome.after !== undefined) afters.push(outcome.after);
    }
    if (current === request && afters.length === 0) return { allow: true };
    return {
      allow: true,
      request: current,
      after: (response) => afters.reduceRight((r, after) => after(r), response),
    };
  };
}

/** Supported-feature entries for ApiVersions v3+ (KIP-584). */
export interface FeatureInfo {
  supported: { name: string; minVersion: number; maxVersion: number }[];
  finalized: { name: string; maxVersionLevel: number; minVersionLevel: number }[];
  finalizedEpoch: bigint;
}

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions {
  logger: Logger;
  /** Features to report in ApiVersions (read at request time). */
  features?: () => FeatureInfo;
}

/**
 * A registry of handlers for one listener.
 *
 * @example
 * ```ts ignore
 * const dispatcher = new Dispatcher({ logger });
 * dispatcher.register(ApiKey.METADATA, { minVersion: 0, maxVersion: 12, handle: (req) => ... });
 * const server = new KafkaServer({ ..., handler: dispatcher.handleFrame });
 * ```
 */
export class Dispatcher {
  readonly #handlers = new Map<number, ApiHandler<unknown, unknown>>();
  /** API versions each connection used (entries go with their connection). */
  readonly #versionsSeen = new WeakMap<ConnectionInfo, { keys: Set<number>; software: string }>();
  readonly #options: DispatcherOptions;
  /** Requests received per api key since start (`/metrics`: Kafka's RequestsPerSec). */
  readonly requestCounts = new Map<number, number>();
  #guard: RequestGuard | null = null;
  #throttle: RequestThrottle | null = null;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.register<ApiVersionsRequest, ApiVersionsResponse>(ApiKey.API_VERSIONS, {
      minVersion: 0,
      maxVersion: 4,
      handle: () => this.#apiVersions(ErrorCode.NONE),
    });
  }

  /** Registers (or replaces) the handler of `apiKey`, clamped to the versions we can encode. */
  register<Req, Res>(apiKey: number, handler: ApiHandler<Req, Res>): void {
    const api = API_TABLE.get(apiKey);
    if (api === undefined) throw new RangeError(`Unknown api key ${apiKey}`);
    const minVersion = Math.max(handler.minVersion, api.minVersion);
    const maxVersion = Math.min(handler.maxVersion, api.maxVersion);
    if (minVersion > maxVersion) throw new RangeError(`No version of ${api.name} to serve`);
    this.#handlers.set(apiKey, {
      ...(handler as ApiHandler<unknown, unknown>),
      minVersion,
      maxVersion,
    });
  }

  /** Sets the guard every request passes before its handler (null: none). */
  setGuard(guard: RequestGuard | null): void {
    this.#guard = guard;
  }

  /** Sets the throttle applied after every request (client quotas; null: none). */
  setThrottle(throttle: RequestThrottle | null): void {
    this.#throttle = throttle;
  }

  /** The advertised version range of each registered api key. */
  advertised(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.#handlers.entries()]
      .sort(([a], [b]) => a - b)
      .map(([apiKey, h]) => ({ apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
  }

  #apiVersions(errorCode: number): ApiVersionsResponse {
    const features = this.#options.features?.();
    return createApiVersionsResponse({
      errorCode,
      apiKeys: this.advertised().map((k) => ({ ...k, _unknownTaggedFields: [] })),
      throttleTimeMs: 0,
      supportedFeatures: (features?.supported ?? []).map((f) => ({
        ...f,
        _unknownTaggedFields: [],
      })),
      finalizedFeaturesEpoch: features?.finalizedEpoch ?? -1n,
      finalizedFeatures: (features?.finalized ?? []).map((f) => ({
        ...f,
        _unknownTaggedFields: [],
      })),
      zkMigrationReady: false,
    });
  }

  /**
   * True when the request in `frame` keeps no view of the frame once its response has settled:
   * Produce, whose records are written to the log (a copy into the page cache) before it
   * answers. Other requests may keep decoded byte fields (group metadata, assignments) as views.
   */
  readonly releasesFrame = (frame: Uint8Array): boolean =>
    frame.length >= 2 && ((frame[0]! << 8) | frame[1]!) === ApiKey.PRODUCE &&
    this.#handlers.has(ApiKey.PRODUCE);

  /** Handles a request frame; resolves with one contiguous response frame (tests, tools). */
  readonly handleFrame: FrameHandler = async (frame, info) => {
    // Nothing is referenced at 0, so the response is one array.
    return (await this.#dispatch(frame, info, 0)) as Uint8Array | null;
  };

  /**
   * The {@link ChunkedFrameHandler} to give to a `KafkaServer`: record sets of at least
   * {@link REFERENCED_RECORDS_BYTES_MIN} bytes leave as the arrays the log read, uncopied.
   */
  readonly handleFrameChunks: ChunkedFrameHandler = (frame, info) =>
    this.#dispatch(frame, info, REFERENCED_RECORDS_BYTES_MIN);

  /**
   * Logs at debug level, once per connection and API version, which versions a client speaks
   * (with the software name and version it announced in ApiVersions v3+, KIP-511), so "which
   * client spoke which version" can be read from the node's log.
   */
  #noteVersion(
    info: ConnectionInfo,
    clientId: string | null,
    apiKey: number,
    version: number,
    request: unknown,
  ): void {
    let seen = this.#versionsSeen.get(info);
    if (seen === undefined) {
      seen = { keys: new Set(), software: "" };
      this.#versionsSeen.set(info, seen);
    }
    if (apiKey === ApiKey.API_VERSIONS && version >= 3) {
      const r = request as { clientSoftwareName: string; clientSoftwareVersion: string };
      seen.software = `, ${r.clientSoftwareName} ${r.clientSoftwareVersion}`;
    }
    const key = apiKey * 1000 + version;
    if (seen.keys.has(key)) return;
    seen.keys.add(key);
    this.#options.logger.debug(
      `Connection ${info.connectionId} from ${info.clientHost} on ${info.listenerName} (client id ${
        JSON.stringify(clientId)
      }${seen.software}) uses ${API_TABLE.get(apiKey)?.name ?? apiKey} v${version}`,
    );
  }

  async #dispatch(
    frame: Uint8Array,
    info: ConnectionInfo,
    referenceBytesMin: number,
  ): Promise<Uint8Array | Uint8Array[] | null> {
    const r = new Reader(frame);
    let parsed;
    try {
      parsed = readRequestHeader(r);
    } catch (error) {
      this.#options.logger.warn(
        `Closing connection from ${info.clientHost}: cannot read request header: ${
          (error as Error).message
        }`,
      );
      throw error;
    }
    const { header } = parsed;
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    this.requestCounts.set(apiKey, (this.requestCounts.get(apiKey) ?? 0) + 1);
    const handler = this.#handlers.get(apiKey);
    const supported = handler !== undefined && version >= handler.minVersion &&
      version <= handler.maxVersion;
    if (!supported) {
      if (apiKey === ApiKey.API_VERSIONS) {
        // KIP-511: answer an unknown ApiVersions version with UNSUPPORTED_VERSION and a v0 body.
        return this.#frame(
          apiKey,
          0,
          header.correlationId,
          this.#apiVersions(ErrorCode.UNSUPPORTED_VERSION),
        );
      }
      const name = API_TABLE.get(apiKey)?.name ?? `api key ${apiKey}`;
      const message = handler === undefined
        ? `${name} is not supported on listener ${info.listenerName}`
        : `${name} v${version} is not supported (supported: v${handler.minVersion}-v${handler.maxVersion})`;
      this.#options.logger.warn(`Closing connection from ${info.clientHost}: ${message}`);
      throw new Error(message);
    }
    const api = API_TABLE.get(apiKey)!;
    let request: unknown;
    try {
      request = api.readRequest(r, version);
      this.#noteVersion(info, header.clientId, apiKey, version, request);
    } catch (error) {
      this.#options.logger.warn(
        `Closing connection from ${info.clientHost}: cannot decode ${api.name} v${version}: ${
          (error as Error).message
        }`,
      );
      throw error;
    }
    let response: unknown;
    const context: RequestContext = { ...info, header, apiVersion: version };
    let after: ((response: unknown) => unknown) | undefined;
    if (this.#guard !== null) {
      const outcome = this.#guard(apiKey, request, context);
      if (!outcome.allow) {
        if ("close" in outcome) {
          this.#options.logger.info(`Closing connection from ${info.clientHost}: ${outcome.close}`);
          throw new KafkaError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, outcome.close);
        }
        return this.#frame(
          apiKey,
          version,
          header.correlationId,
          outcome.response,
          referenceBytesMin,
        );
      }
      if (outcome.request !== undefined) request = outcome.request;
      after = outcome.after;
    }
    // Client quotas charge what the request costs before it runs (KIP-219 muting takes effect
    // before the connection's next request is read).
    const earlyThrottleMs = this.#throttle?.({
      phase: "request",
      apiKey,
      request,
      response: undefined,
      context,
      requestBytes: frame.length,
      loopMs: 0,
    }) ?? 0;
    if (earlyThrottleMs > 0) {
      info.mutedUntilMs = Math.max(info.mutedUntilMs ?? 0, Date.now() + earlyThrottleMs);
    }
    const startMs = performance.now();
    let loopMs = 0;
    try {
      const pending = handler.handle(request as never, context);
      loopMs = performance.now() - startMs;
      response = await pending;
      if (after !== undefined && response !== null) response = after(response);
    } catch (error) {
      if (error instanceof KafkaError) {
        // A handler closing the connection on purpose (e.g. an acks=0 produce that failed, as
        // Kafka does so the client notices): one line, no stack.
        this.#options.logger.info(
          `Closing connection from ${info.clientHost} after ${api.name} v${version}: ${error.message}`,
        );
        throw error;
      }
      this.#options.logger.error(
        `${api.name} v${version} from ${info.clientHost} failed: ${
          (error as Error).stack ?? error
        }`,
      );
      throw error;
    }
    if (response === null) return null;
    if (this.#throttle !== null) {
      const throttleMs = Math.max(
        earlyThrottleMs,
        this.#throttle({
          phase: "response",
          apiKey,
          request,
          response,
          context,
          requestBytes: frame.length,
          loopMs,
        }),
      );
      if (throttleMs > 0) {
        const r = response as { throttleTimeMs?: number };
        if (typeof r.throttleTimeMs === "number") {
          r.throttleTimeMs = Math.max(r.throttleTimeMs, throttleMs);
        }
        info.mutedUntilMs = Math.max(info.mutedUntilMs ?? 0, Date.now() + throttleMs);
      }
    }
    try {
      return this.#frame(apiKey, version, header.correlationId, response, referenceBytesMin);
    } catch (error) {
      this.#options.logger.error(
        `Cannot encode the ${api.name} v${version} response to ${info.clientHost}: ${
          (error as Error).stack ?? error
        }`,
      );
      throw error;
    }
  }

  #frame(
    apiKey: number,
    version: number,
    correlationId: number,
    body: unknown,
    referenceBytesMin = 0,
  ): Uint8Array | Uint8Array[] {
    const w = new Writer(1024);
    w.dropAbsentFields = true;
    w.referenceBytesMin = referenceBytesMin;
    const sizeAt = w.reserveSizePrefix();
    writeResponseHeader(w, { apiKey, apiVersion: version, correlationId });
    if (apiKey === ApiKey.API_VERSIONS) {
      writeApiVersionsResponse(w, version, body as ApiVersionsResponse);
    } else {
      API_TABLE.get(apiKey)!.writeResponse(w, version, body as never);
    }
    w.patchSizePrefix(sizeAt);
    if (referenceBytesMin > 0) {
      const chunks = w.finishChunks();
      return chunks.length === 1 ? chunks[0]! : chunks;
    }
    return w.view(); // a fresh writer: nobody else holds its buffer
  }
}
