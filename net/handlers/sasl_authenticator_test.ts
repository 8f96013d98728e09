// The SASL state machine of one connection, as Kafka's SaslServerAuthenticator runs it: frames in,
// answers out, with a fake clock for KIP-368 session expiry.
import { deepEqual, equal, ok } from "node:assert/strict";
import { SaslAuthenticator, type SaslListenerOptions } from "./sasl_authenticator.ts";
import type { AuthStep, ConnectionInfo } from "../server.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { API_TABLE, ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { SaslHandshakeResponse } from "../protocol/generated/sasl_handshake_response.ts";
import type { SaslAuthenticateResponse } from "../protocol/generated/sasl_authenticate_response.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { SCRAM_MECHANISMS, ScramClient, scramCredential } from "../../core/security/scram.ts";
import { plainClientMessage } from "../../core/security/plain.ts";

const sha256 = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
const aliceCredential = await scramCredential(sha256, "alice-secret", new Uint8Array(16), 4096);

function setup(overrides: Partial<SaslListenerOptions> = {}) {
  const clock = { nowMs: 1_000 };
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, info: (m: string) => lines.push(m) };
  const info: ConnectionInfo = { listenerName: "SASL", clientHost: "/127.0.0.1", connectionId: 7 };
  const auth = new SaslAuthenticator(info, {
    listenerName: "SASL",
    mechanisms: ["PLAIN", "SCRAM-SHA-256"],
    plainUsers: new Map([["bob", "bob-secret"], ["carol", "carol-secret"]]),
    scramCredential: (user, m) =>
      user === "alice" && m.name === "SCRAM-SHA-256" ? aliceCredential : undefined,
    connectionsMaxReauthMs: 0,
    logger,
    nowMs: () => clock.nowMs,
    randomBytes: (n) => new Uint8Array(n).fill(7),
    ...overrides,
  });
  return { auth, info, clock, lines };
}

let correlationId = 0;
function request(apiKey: number, version: number, body: Record<string, unknown>): Uint8Array {
  const api = API_TABLE.get(apiKey)!;
  const w = new Writer(128);
  writeRequestHeader(w, {
    requestApiKey: apiKey,
    requestApiVersion: version,
    correlationId: ++correlationId,
    clientId: "test",
    _unknownTaggedFields: [],
  });
  api.writeRequest(w, version, Object.assign(api.createRequest() as object, body) as never);
  return w.finish();
}

async function answer<T>(step: AuthStep | Promise<AuthStep>, apiKey: number, version: number) {
  const s = await step;
  if (s.kind !== "answer") throw new Error(`expected an answer, got ${s.kind}`);
  const r = new Reader(s.response.subarray(4));
  readResponseHeader(r, apiKey, version);
  return { body: API_TABLE.get(apiKey)!.readResponse(r, version) as T, close: s.close };
}

const handshake = (mechanism: string, version = 1) =>
  request(ApiKey.SASL_HANDSHAKE, version, { mechanism });
const authenticate = (bytes: Uint8Array, version = 2) =>
  request(ApiKey.SASL_AUTHENTICATE, version, { authBytes: bytes });

Deno.test("ApiVersions passes to the dispatcher first, then only SaslHandshake may follow", async () => {
  const { auth, lines } = setup();
  deepEqual(await auth.receive(request(ApiKey.API_VERSIONS, 3, {})), { kind: "pass" });
  deepEqual(await auth.receive(request(ApiKey.API_VERSIONS, 3, {})), { kind: "close" });
  ok(lines.some((l) => l.includes("unexpected Kafka request of type ApiVersions")), lines.join());
});

Deno.test("any other request before authentication closes the connection unanswered", async () => {
  const { auth } = setup();
  deepEqual(await auth.receive(request(ApiKey.METADATA, 12, { topics: null })), { kind: "close" });
});

Deno.test("PLAIN over SaslHandshake v1 and SaslAuthenticate v2 authenticates User:bob", async () => {
  const { auth, info } = setup();
  const hs = await answer<SaslHandshakeResponse>(auth.receive(handshake("PLAIN")), 17, 1);
  deepEqual([hs.body.errorCode, hs.body.mechanisms, hs.close], [
    0,
    ["PLAIN", "SCRAM-SHA-256"],
    false,
  ]);
  const a = await answer<SaslAuthenticateResponse>(
    auth.receive(authenticate(plainClientMessage("bob", "bob-secret"))),
    36,
    2,
  );
  deepEqual([a.body.errorCode, a.body.sessionLifetimeMs, a.close], [0, 0n, false]);
  equal(info.principal, "User:bob");
  deepEqual(await auth.receive(request(ApiKey.METADATA, 12, { topics: null })), { kind: "pass" });
});

Deno.test("a wrong password answers SASL_AUTHENTICATION_FAILED with Kafka's message and closes", async () => {
  const { auth, info, lines } = setup();
  await auth.receive(handshake("PLAIN"));
  const a = await answer<SaslAuthenticateResponse>(
    auth.receive(authenticate(plainClientMessage("bob", "hunter2"))),
    36,
    2,
  );
  deepEqual([a.body.errorCode, a.body.errorMessage, a.close], [
    ErrorCode.SASL_AUTHENTICATION_FAILED,
    "Authentication failed: Invalid username or password",
    true,
  ]);
  equal(info.principal, undefined);
  ok(!lines.join("\n").includes("hunter2"), "the password reached the log");
});

Deno.test("a mechanism that is not enabled is UNSUPPORTED_SASL_MECHANISM, then closed", async () => {
  const { auth } = setup();
  const hs = await answer<SaslHandshakeResponse>(auth.receive(handshake("SCRAM-SHA-512")), 17, 1);
  deepEqual([hs.body.errorCode, hs.body.mechanisms, hs.close], [
    ErrorCode.UNSUPPORTED_SASL_MECHANISM,
    ["PLAIN", "SCRAM-SHA-256"],
    true,
  ]);
});

Deno.test("a second SaslHandshake during authentication is ILLEGAL_SASL_STATE, then closed", async () => {
  const { auth } = setup();
  await auth.receive(handshake("PLAIN"));
  const hs = await answer<SaslHandshakeResponse>(auth.receive(handshake("PLAIN")), 17, 1);
  deepEqual([hs.body.errorCode, hs.close], [ErrorCode.ILLEGAL_SASL_STATE, true]);
});

Deno.test("after SaslHandshake v0 the SCRAM tokens travel bare, as old clients send them", async () => {
  const { auth, info } = setup();
  await answer<SaslHandshakeResponse>(auth.receive(handshake("SCRAM-SHA-256", 0)), 17, 0);
  const client = new ScramClient(sha256, "alice", "alice-secret", "clientnonce");
  const bare = async (token: Uint8Array) => {
    const step = await auth.receive(token);
    if (step.kind !== "answer") throw new Error(`expected an answer, got ${step.kind}`);
    equal(new DataView(step.response.buffer).getInt32(0), step.response.length - 4);
    return step.response.subarray(4);
  };
  const serverFirst = await bare(client.first());
  client.verify(await bare(await client.final(serverFirst)));
  equal(info.principal, "User:alice");
});

Deno.test("a wrong bare token closes the connection without an answer", async () => {
  const { auth } = setup();
  await auth.receive(handshake("PLAIN", 0));
  deepEqual(await auth.receive(plainClientMessage("bob", "nope")), { kind: "close" });
});

Deno.test("KIP-368: the session lifetime is announced, re-authentication keeps the principal, and an expired session closes", async () => {
  const { auth, info, clock } = setup({ connectionsMaxReauthMs: 60_000 });
  await auth.receive(handshake("PLAIN"));
  const first = await answer<SaslAuthenticateResponse>(
    auth.receive(authenticate(plainClientMessage("bob", "bob-secret"))),
    36,
    2,
  );
  equal(first.body.sessionLifetimeMs, 60_000n);
  clock.nowMs += 50_000;
  const again = await answer<SaslHandshakeResponse>(auth.receive(handshake("PLAIN")), 17, 1);
  equal(again.body.errorCode, 0);
  const re = await answer<SaslAuthenticateResponse>(
    auth.receive(authenticate(plainClientMessage("bob", "bob-secret"))),
    36,
    2,
  );
  deepEqual([re.body.errorCode, re.body.sessionLifetimeMs], [0, 60_000n]);
  equal(info.principal, "User:bob");
  clock.nowMs += 59_000;
  deepEqual(await auth.receive(request(ApiKey.METADATA, 12, { topics: null })), { kind: "pass" });
  clock.nowMs += 2_000;
  deepEqual(await auth.receive(request(ApiKey.METADATA, 12, { topics: null })), { kind: "close" });
});

Deno.test("KIP-368: re-authenticating as another user is refused and closes", async () => {
  const { auth, info } = setup({ connectionsMaxReauthMs: 60_000 });
  await auth.receive(handshake("PLAIN"));
  await auth.receive(authenticate(plainClientMessage("bob", "bob-secret")));
  await auth.receive(handshake("PLAIN"));
  const re = await answer<SaslAuthenticateResponse>(
    auth.receive(authenticate(plainClientMessage("carol", "carol-secret"))),
    36,
    2,
  );
  deepEqual([re.body.errorCode, re.close], [ErrorCode.SASL_AUTHENTICATION_FAILED, true]);
  equal(
    re.body.errorMessage,
    "Cannot change principals during re-authentication from User:bob: User:carol",
  );
  equal(info.principal, "User:bob");
});

Deno.test("without connections.max.reauth.ms a SaslHandshake after authentication goes to the dispatcher (ILLEGAL_SASL_STATE there)", async () => {
  const { auth } = setup();
  await auth.receive(handshake("PLAIN"));
  await auth.receive(authenticate(plainClientMessage("bob", "bob-secret")));
  deepEqual(await auth.receive(handshake("PLAIN")), { kind: "pass" });
});
