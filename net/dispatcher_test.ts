import assert from "node:assert/strict";
import type { Logger } from "../core/log.ts";
import { Dispatcher } from "./dispatcher.ts";
import { Writer } from "./protocol/writer.ts";
import { writeRequestHeader } from "./protocol/header.ts";
import { API_TABLE, ApiKey } from "./protocol/generated/api_table.ts";

function requestFrame(apiKey: number, version: number, body: Record<string, unknown>): Uint8Array {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer(128);
  writeRequestHeader(w, {
    requestApiKey: apiKey,
    requestApiVersion: version,
    correlationId: 1,
    clientId: "rdkafka",
    _unknownTaggedFields: [],
  });
  api.writeRequest(w, version, Object.assign(api.createRequest() as object, body) as never);
  return w.finish();
}

Deno.test("the API versions a connection speaks are logged at debug level once each, with the client's software (KIP-511)", async () => {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (line) => lines.push(line),
    info() {},
    warn() {},
    error() {},
  };
  const dispatcher = new Dispatcher({ logger });
  const info = { listenerName: "PLAINTEXT", clientHost: "127.0.0.1", connectionId: 7 };
  const hello = requestFrame(ApiKey.API_VERSIONS, 3, {
    clientSoftwareName: "librdkafka",
    clientSoftwareVersion: "2.15.1",
  });
  await dispatcher.handleFrame(hello, info);
  await dispatcher.handleFrame(
    requestFrame(ApiKey.API_VERSIONS, 3, {
      clientSoftwareName: "librdkafka",
      clientSoftwareVersion: "2.15.1",
    }),
    info,
  );
  assert.deepEqual(lines, [
    'Connection 7 from 127.0.0.1 on PLAINTEXT (client id "rdkafka", librdkafka 2.15.1) uses ApiVersions v3',
  ]);
  await dispatcher.handleFrame(requestFrame(ApiKey.API_VERSIONS, 0, {}), info);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /uses ApiVersions v0$/);
  // Another connection is logged on its own.
  await dispatcher.handleFrame(hello, { ...info, connectionId: 8 });
  assert.equal(lines.length, 3);
});
