import { deepEqual as assertEquals } from "node:assert/strict";
import { SaslFailure } from "./sasl_failure.ts";
import {
  parseClientFirstMessage,
  SCRAM_MECHANISMS,
  ScramClient,
  type ScramCredential,
  scramCredential,
  ScramServer,
} from "./scram.ts";

async function assertRejects(
  fn: () => Promise<unknown>,
  type: typeof SaslFailure,
): Promise<SaslFailure> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error("expected a SaslFailure");
}

const sha256 = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
const sha512 = SCRAM_MECHANISMS.get("SCRAM-SHA-512")!;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);
const salt7677 = Uint8Array.from(atob("W22ZaJ0SNY7soEsUEjb6gQ=="), (c) => c.charCodeAt(0));
const serverNonce7677 = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

Deno.test("the SCRAM-SHA-256 client produces RFC 7677's example messages", async () => {
  // RFC 7677 §3: user "user", password "pencil".
  const client = new ScramClient(sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  assertEquals(text(client.first()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = await client.final(
    bytes(`r=rOprNGfwEbeRWgbNEkqO${serverNonce7677},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`),
  );
  assertEquals(
    text(final),
    `c=biws,r=rOprNGfwEbeRWgbNEkqO${serverNonce7677},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`,
  );
  client.verify(bytes("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
});

Deno.test("the SCRAM-SHA-256 server answers RFC 7677's example from the stored credential alone", async () => {
  const credential = await scramCredential(sha256, "pencil", salt7677, 4096);
  const server = new ScramServer(sha256, () => credential, serverNonce7677);
  const serverFirst = await server.evaluate(bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  assertEquals(
    text(serverFirst),
    `r=rOprNGfwEbeRWgbNEkqO${serverNonce7677},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
  );
  const serverFinal = await server.evaluate(
    bytes(
      `c=biws,r=rOprNGfwEbeRWgbNEkqO${serverNonce7677},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`,
    ),
  );
  assertEquals(text(serverFinal), "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  assertEquals(server.complete, true);
  assertEquals(server.username, "user");
});

async function exchange(
  credential: ScramCredential | undefined,
  password: string,
  mechanism = sha512,
): Promise<ScramServer> {
  const server = new ScramServer(mechanism, () => credential, "servernonce");
  const client = new ScramClient(mechanism, "alice", password, "clientnonce");
  const serverFirst = await server.evaluate(client.first());
  client.verify(await server.evaluate(await client.final(serverFirst)));
  return server;
}

Deno.test("a SCRAM-SHA-512 client and server agree when the password is right", async () => {
  const credential = await scramCredential(sha512, "alice-secret", bytes("salt-salt"), 4096);
  const server = await exchange(credential, "alice-secret");
  assertEquals(server.username, "alice");
});

Deno.test("a wrong SCRAM password fails with Kafka's 'Invalid client credentials', not shown to the client", async () => {
  const credential = await scramCredential(sha512, "alice-secret", bytes("salt-salt"), 4096);
  const error = await assertRejects(() => exchange(credential, "wrong"), SaslFailure);
  assertEquals(error.message, "Invalid client credentials");
  assertEquals(error.clientVisible, false);
});

Deno.test("an unknown SCRAM user fails like a wrong password", async () => {
  const error = await assertRejects(() => exchange(undefined, "x"), SaslFailure);
  assertEquals(error.message, "Authentication failed: Invalid user credentials");
  assertEquals(error.clientVisible, false);
});

Deno.test("a credential with fewer than 4096 iterations is refused", async () => {
  const credential = await scramCredential(sha256, "pw", bytes("salt"), 1000);
  const error = await assertRejects(() => exchange(credential, "pw", sha256), SaslFailure);
  assertEquals(error.message, "Iterations 1000 is less than the minimum 4096 for SCRAM-SHA-256");
});

Deno.test("a client-first-message names its user with RFC 5802's =2C and =3D escapes", () => {
  const first = parseClientFirstMessage(bytes("n,,n=a=2Cb=3Dc,r=xyz,tokenauth=true"));
  assertEquals(first.username, "a,b=c");
  assertEquals(first.nonce, "xyz");
  assertEquals(first.extensions.get("tokenauth"), "true");
  assertEquals(first.gs2Header, "n,,");
});

Deno.test("channel binding ('p=') and malformed first messages are refused", () => {
  for (const message of ["p=tls-unique,,n=a,r=x", "n,,r=x", "garbage"]) {
    let failed = false;
    try {
      parseClientFirstMessage(bytes(message));
    } catch (error) {
      failed = error instanceof SaslFailure;
    }
    assertEquals(failed, true, message);
  }
});

Deno.test("the server refuses a final message whose nonce is not its own", async () => {
  const credential = await scramCredential(sha256, "pw", bytes("salt"), 4096);
  const server = new ScramServer(sha256, () => credential, "servernonce");
  await server.evaluate(bytes("n,,n=alice,r=clientnonce"));
  const error = await assertRejects(
    () => server.evaluate(bytes("c=biws,r=clientnonceOTHER,p=AAAA")),
    SaslFailure,
  );
  assertEquals(error.message, "Invalid client nonce in the final client message.");
});

Deno.test("a delegation-token login (tokenauth=true) fails: tokens are not built, and a token id is no user", async () => {
  const credential = await scramCredential(sha256, "pw", bytes("salt"), 4096);
  const server = new ScramServer(sha256, () => credential, "servernonce");
  const error = await assertRejects(
    () => server.evaluate(bytes("n,,n=alice,r=clientnonce,tokenauth=true")),
    SaslFailure,
  );
  assertEquals(error.clientVisible, false);
});
