/**
 * Request and response headers: which header version goes with which (api key, api version), and
 * reading a request header before the body's version is known to be supported.
 *
 * Rules (as Kafka's generated `ApiMessageType.requestHeaderVersion`): the request header is v2 if
 * the API version is flexible and v1 otherwise, except ControlledShutdown v0, which uses header v0.
 * The response header is v1 if flexible and v0 otherwise, except ApiVersions responses, which always
 * use v0 so that a client can read them whatever version it asked for.
 *
 * @module
 */

import { KafkaError } from "./errors.ts";
import { API_TABLE, ApiKey } from "./generated/api_table.ts";
import { ErrorCode } from "./generated/errors.ts";
import {
  createRequestHeader,
  readRequestHeader as readRequestHeaderAt,
  type RequestHeader,
  writeRequestHeader as writeRequestHeaderAt,
} from "./generated/request_header.ts";
import {
  readResponseHeader as readResponseHeaderAt,
  type ResponseHeader,
  writeResponseHeader as writeResponseHeaderAt,
} from "./generated/response_header.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export type { RequestHeader, ResponseHeader };
export { createRequestHeader };

function flexibleMin(apiKey: number): number {
  const api = API_TABLE.get(apiKey);
  if (api === undefined) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown api key ${apiKey}`);
  }
  return api.flexibleMin;
}

/**
 * The request header version for an API version (any version, also one newer than we know).
 * Throws KafkaError(INVALID_REQUEST) for an unknown api key.
 *
 * @example
 * ```ts
 * import { requestHeaderVersion } from "./header.ts";
 * requestHeaderVersion(18, 3); // 2 (ApiVersions v3 is flexible)
 * requestHeaderVersion(3, 0); // 1 (Metadata v0)
 * requestHeaderVersion(7, 0); // 0 (ControlledShutdown v0)
 * ```
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.CONTROLLED_SHUTDOWN && apiVersion === 0) return 0;
  return apiVersion >= flexibleMin(apiKey) ? 2 : 1;
}

/**
 * The response header version for an API version; ApiVersions responses always use v0.
 *
 * @example
 * ```ts
 * import { responseHeaderVersion } from "./header.ts";
 * responseHeaderVersion(18, 3); // 0
 * responseHeaderVersion(3, 12); // 1
 * ```
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.API_VERSIONS) return 0;
  return apiVersion >= flexibleMin(apiKey) ? 1 : 0;
}

/** A request header with the header version it was read at. */
export interface ParsedRequestHeader {
  header: RequestHeader;
  headerVersion: number;
  /** False only for an ApiVersions request newer than we know (answer UNSUPPORTED_VERSION, v0). */
  supported: boolean;
}

/**
 * Reads a request header: api key and api version first, then the matching header version.
 *
 * Throws KafkaError(INVALID_REQUEST) for an unknown api key and KafkaError(UNSUPPORTED_VERSION)
 * for an unsupported version, except an ApiVersions request newer than we know: that one is
 * returned with `supported: false`, and the caller must answer UNSUPPORTED_VERSION with an
 * ApiVersions v0 body (KIP-511), without reading the request body.
 *
 * @example
 * ```ts
 * import { readRequestHeader } from "./header.ts";
 * import { Reader } from "./reader.ts";
 * // Metadata v0 request header: apiKey 3, version 0, correlation id 7, client id "c".
 * const bytes = new Uint8Array([0, 3, 0, 0, 0, 0, 0, 7, 0, 1, 99]);
 * const { header, headerVersion } = readRequestHeader(new Reader(bytes));
 * // header.clientId === "c", headerVersion === 1
 * ```
 */
export function readRequestHeader(r: Reader): ParsedRequestHeader {
  const start = r.offset;
  const apiKey = r.int16();
  const apiVersion = r.int16();
  r.offset = start;
  const api = API_TABLE.get(apiKey);
  if (api === undefined) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown api key ${apiKey}`);
  }
  const supported = apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
  if (!supported && !(apiKey === ApiKey.API_VERSIONS && apiVersion > api.maxVersion)) {
    throw new KafkaError(
      ErrorCode.UNSUPPORTED_VERSION,
      `Unsupported version ${apiVersion} of ${api.name}: supported versions are ${api.minVersion}-${api.maxVersion}`,
    );
  }
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  return { header: readRequestHeaderAt(r, headerVersion), headerVersion, supported };
}

/**
 * Writes a request header at the version its api key and version call for.
 *
 * @example
 * ```ts
 * import { writeRequestHeader, createRequestHeader } from "./header.ts";
 * import { Writer } from "./writer.ts";
 * const w = new Writer();
 * writeRequestHeader(w, createRequestHeader({ requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: "me" }));
 * ```
 */
export function writeRequestHeader(w: Writer, header: RequestHeader): void {
  const version = requestHeaderVersion(header.requestApiKey, header.requestApiVersion);
  writeRequestHeaderAt(w, version, header);
}

/**
 * Writes a response header for a response to (apiKey, apiVersion).
 *
 * @example
 * ```ts
 * import { writeResponseHeader } from "./header.ts";
 * import { Writer } from "./writer.ts";
 * const w = new Writer();
 * writeResponseHeader(w, { apiKey: 3, apiVersion: 12, correlationId: 7 }); // int32 7, then 0 tags
 * ```
 */
export function writeResponseHeader(
  w: Writer,
  options: { apiKey: number; apiVersion: number; correlationId: number },
): void {
  const version = responseHeaderVersion(options.apiKey, options.apiVersion);
  writeResponseHeaderAt(w, version, {
    correlationId: options.correlationId,
    _unknownTaggedFields: [],
  });
}

/**
 * Reads a response header for a response to (apiKey, apiVersion) (the client side).
 *
 * @example
 * ```ts
 * import { readResponseHeader } from "./header.ts";
 * import { Reader } from "./reader.ts";
 * readResponseHeader(new Reader(new Uint8Array([0, 0, 0, 7])), 18, 3).correlationId; // 7
 * ```
 */
export function readResponseHeader(r: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  return readResponseHeaderAt(r, responseHeaderVersion(apiKey, apiVersion));
}
