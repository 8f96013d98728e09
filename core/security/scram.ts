/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka speaks them: the credential a
 * user is stored as (salt, StoredKey, ServerKey, iterations; never the password), the server's
 * side of the exchange (Kafka's ScramSaslServer) and the client's (ScramSaslClient). Hashing uses
 * WebCrypto (PBKDF2 is SCRAM's Hi()); nonces are handed in, so this module stays pure.
 *
 * @module
 */

import { SaslFailure } from "./sasl_failure.ts";

/** One SCRAM mechanism: its name, WebCrypto hash, Kafka's type id and iteration bounds. */
export interface ScramMechanism {
  readonly name: "SCRAM-SHA-256" | "SCRAM-SHA-512";
  readonly hash: "SHA-256" | "SHA-512";
  /** Kafka's ScramMechanism type (the `mechanism` int8 of UserScramCredentialRecord). */
  readonly type: number;
  readonly hashBytes: number;
  /** Kafka's ScramMechanism.minIterations: fewer fail authentication. */
  readonly iterationsMin: number;
  /** KIP-554: AlterUserScramCredentials refuses more (ScramMechanism.maxIterations). */
  readonly iterationsMax: number;
}

/** The SCRAM mechanisms Kafka supports, by name. */
export const SCRAM_MECHANISMS: ReadonlyMap<string, ScramMechanism> = new Map(
  [
    ["SCRAM-SHA-256", {
      name: "SCRAM-SHA-256",
      hash: "SHA-256",
      type: 1,
      hashBytes: 32,
      iterationsMin: 4096,
      iterationsMax: 16384,
    }],
    ["SCRAM-SHA-512", {
      name: "SCRAM-SHA-512",
      hash: "SHA-512",
      type: 2,
      hashBytes: 64,
      iterationsMin: 4096,
      iterationsMax: 16384,
    }],
  ] as const,
);

/**
 * The mechanism with Kafka's type id `type` (1 SCRAM-SHA-256, 2 SCRAM-SHA-512), or undefined.
 *
 * @example
 * ```ts
 * import { scramMechanismByType } from "./scram.ts";
 * scramMechanismByType(2)?.name; // "SCRAM-SHA-512"
 * ```
 */
export function scramMechanismByType(type: number): ScramMechanism | undefined {
  return [...SCRAM_MECHANISMS.values()].find((m) => m.type === type);
}

/** What a server keeps of a SCRAM user: never the password. */
export interface ScramCredential {
  salt: Uint8Array;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
  iterations: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

async function hmac(hash: string, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash },
    false,
    [
      "sign",
    ],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as BufferSource));
}

async function digest(hash: string, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, data as BufferSource));
}

/**
 * SaltedPassword := Hi(password, salt, i), which is PBKDF2 with HMAC-H (RFC 5802 §2.2).
 *
 * @example
 * ```ts
 * import { saltedPassword, SCRAM_MECHANISMS } from "./scram.ts";
 * const bytes = await saltedPassword(SCRAM_MECHANISMS.get("SCRAM-SHA-256")!, "pencil", new Uint8Array(16), 4096);
 * bytes.length; // 32
 * ```
 */
export async function saltedPassword(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(password) as BufferSource,
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: mechanism.hash, salt: salt as BufferSource, iterations },
    key,
    mechanism.hashBytes * 8,
  );
  return new Uint8Array(bits);
}

/**
 * The stored credential of a salted password: StoredKey := H(HMAC(SaltedPassword, "Client Key")),
 * ServerKey := HMAC(SaltedPassword, "Server Key"). Kafka's admin client sends the salted password
 * (AlterUserScramCredentials) and the controller derives these, as here.
 *
 * @example
 * ```ts
 * import { credentialFromSaltedPassword, saltedPassword, SCRAM_MECHANISMS } from "./scram.ts";
 * const m = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
 * const salt = new Uint8Array(16);
 * const credential = await credentialFromSaltedPassword(m, await saltedPassword(m, "pw", salt, 4096), salt, 4096);
 * credential.storedKey.length; // 32
 * ```
 */
export async function credentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salted: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramCredential> {
  const clientKey = await hmac(mechanism.hash, salted, encoder.encode("Client Key"));
  return {
    salt,
    iterations,
    storedKey: await digest(mechanism.hash, clientKey),
    serverKey: await hmac(mechanism.hash, salted, encoder.encode("Server Key")),
  };
}

/**
 * The credential of `password` with `salt` and `iterations` (what `storage format --add-scram`
 * and the `configs` tool compute).
 *
 * @example
 * ```ts
 * import { scramCredential, SCRAM_MECHANISMS } from "./scram.ts";
 * const c = await scramCredential(SCRAM_MECHANISMS.get("SCRAM-SHA-512")!, "pw", new Uint8Array(16), 4096);
 * c.serverKey.length; // 64
 * ```
 */
export async function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramCredential> {
  const salted = await saltedPassword(mechanism, password, salt, iterations);
  return credentialFromSaltedPassword(mechanism, salted, salt, iterations);
}

/** RFC 5802 §5.1 saslname: "," and "=" are written "=2C" and "=3D". */
function fromSaslName(saslName: string): string {
  if (/=(?!2C|3D)/.test(saslName)) throw new SaslFailure("Invalid username in SCRAM message");
  return saslName.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

function toSaslName(username: string): string {
  return username.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

/** The fields of a SCRAM client-first-message (Kafka's ClientFirstMessage). */
export interface ClientFirstMessage {
  authorizationId: string;
  username: string;
  nonce: string;
  /** The message without its GS2 header, which the AuthMessage signs. */
  bare: string;
  /** The GS2 header, whose base64 the client-final-message must carry as `c=`. */
  gs2Header: string;
  extensions: Map<string, string>;
}

/**
 * Parses a client-first-message. Kafka accepts only the "n" channel-binding flag (no channel
 * binding), an optional authorization id, and extensions after the nonce.
 *
 * @example
 * ```ts
 * import { parseClientFirstMessage } from "./scram.ts";
 * parseClientFirstMessage(new TextEncoder().encode("n,,n=user,r=abc")).username; // "user"
 * ```
 */
export function parseClientFirstMessage(bytes: Uint8Array): ClientFirstMessage {
  const text = utf8(bytes);
  const match = /^n,(?:a=([^,]*))?,(n=([^,]*),r=([\x21-\x2b\x2d-\x7e]+)((?:,[A-Za-z]+=[^,]*)*))$/
    .exec(text);
  if (match === null) throw new SaslFailure("Invalid SCRAM client first message format");
  const extensions = new Map<string, string>();
  for (const ext of (match[5] ?? "").split(",").filter((e) => e !== "")) {
    const eq = ext.indexOf("=");
    extensions.set(ext.slice(0, eq), ext.slice(eq + 1));
  }
  return {
    authorizationId: fromSaslName(match[1] ?? ""),
    username: fromSaslName(match[3]!),
    nonce: match[4]!,
    bare: match[2]!,
    gs2Header: text.slice(0, text.length - match[2]!.length),
    extensions,
  };
}

function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new SaslFailure("Invalid SCRAM message: not UTF-8");
  }
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string, what: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    throw new SaslFailure(`Invalid SCRAM message: ${what} is not base64`);
  }
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ (b[i] ?? 0);
  return out;
}

/** Compares in time independent of where the arrays differ. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Finds the credential of a user for a mechanism (the metadata image's SCRAM records). */
export type ScramCredentialLookup = (
  username: string,
  mechanism: ScramMechanism,
) => ScramCredential | undefined;

/**
 * The server side of one SCRAM exchange (Kafka's ScramSaslServer): client-first → server-first,
 * client-final → server-final. Throws {@link SaslFailure}: `clientVisible` ones carry Kafka's own
 * message to the client, the others become Kafka's generic "invalid credentials" sentence.
 *
 * @example
 * ```ts ignore
 * const server = new ScramServer(mechanism, lookup, serverNonce);
 * const serverFirst = await server.evaluate(clientFirst);
 * const serverFinal = await server.evaluate(clientFinal); // server.complete === true
 * ```
 */
export class ScramServer {
  readonly mechanism: ScramMechanism;
  #lookup: ScramCredentialLookup;
  #serverNonce: string;
  #state: "first" | "final" | "complete" | "failed" = "first";
  #clientFirst: ClientFirstMessage | undefined;
  #serverFirst = "";
  #credential: ScramCredential | undefined;
  /** The authenticated user name once complete. */
  username: string | undefined;

  constructor(mechanism: ScramMechanism, lookup: ScramCredentialLookup, serverNonce: string) {
    this.mechanism = mechanism;
    this.#lookup = lookup;
    this.#serverNonce = serverNonce;
  }

  get complete(): boolean {
    return this.#state === "complete";
  }

  /** Takes the client's next message and returns the server's answer. */
  async evaluate(response: Uint8Array): Promise<Uint8Array> {
    try {
      if (this.#state === "first") return this.#first(response);
      if (this.#state === "final") return await this.#final(response);
      throw new SaslFailure(`Unexpected challenge in Sasl server state ${this.#state}`);
    } catch (error) {
      this.#state = "failed";
      this.#credential = undefined;
      throw error;
    }
  }

  #first(response: Uint8Array): Uint8Array {
    const first = parseClientFirstMessage(response);
    if (first.extensions.get("tokenauth") === "true") {
      // Delegation tokens (KIP-48) are not built: a token id is never a user name.
      throw new SaslFailure(`Token Authentication failed: Invalid tokenId : ${first.username}`);
    }
    const credential = this.#lookup(first.username, this.mechanism);
    if (credential === undefined) {
      throw new SaslFailure("Authentication failed: Invalid user credentials");
    }
    if (first.authorizationId !== "" && first.authorizationId !== first.username) {
      throw new SaslFailure(
        "Authentication failed: Client requested an authorization id that is different from username",
        { clientVisible: true },
      );
    }
    if (credential.iterations < this.mechanism.iterationsMin) {
      throw new SaslFailure(
        `Iterations ${credential.iterations} is less than the minimum ${this.mechanism.iterationsMin} for ${this.mechanism.name}`,
      );
    }
    this.#clientFirst = first;
    this.#credential = credential;
    this.#serverFirst = `r=${first.nonce}${this.#serverNonce},s=${
      base64(credential.salt)
    },i=${credential.iterations}`;
    this.#state = "final";
    return encoder.encode(this.#serverFirst);
  }

  async #final(response: Uint8Array): Promise<Uint8Array> {
    const text = utf8(response);
    const match = /^c=([^,]*),r=([^,]*)((?:,[A-Za-z]+=[^,]*)*),p=([^,]*)$/.exec(text);
    if (match === null) throw new SaslFailure("Invalid SCRAM client final message format");
    const first = this.#clientFirst!;
    // Kafka 3.9.0 checks that the nonce ends with the server-first one, not that it equals it:
    // librdkafka before 2.1 sends its own nonce again in front (r=<client><client><server>).
    if (!match[2]!.endsWith(`${first.nonce}${this.#serverNonce}`)) {
      throw new SaslFailure("Invalid client nonce in the final client message.");
    }
    if (match[1] !== base64(encoder.encode(first.gs2Header))) {
      throw new SaslFailure("Invalid channel binding in the final client message.");
    }
    const proof = fromBase64(match[4]!, "proof");
    const withoutProof = text.slice(0, text.length - match[4]!.length - 3);
    const authMessage = encoder.encode(`${first.bare},${this.#serverFirst},${withoutProof}`);
    const credential = this.#credential!;
    const hash = this.mechanism.hash;
    const clientSignature = await hmac(hash, credential.storedKey, authMessage);
    const computed = await digest(hash, xor(proof, clientSignature));
    if (proof.length !== this.mechanism.hashBytes || !equalBytes(computed, credential.storedKey)) {
      throw new SaslFailure("Invalid client credentials");
    }
    const serverSignature = await hmac(hash, credential.serverKey, authMessage);
    this.username = first.username;
    this.#credential = undefined;
    this.#state = "complete";
    return encoder.encode(`v=${base64(serverSignature)}`);
  }
}

/**
 * The client side of one SCRAM exchange (Kafka's ScramSaslClient): `first()` is the
 * client-first-message, `final(serverFirst)` the client-final-message, and `verify(serverFinal)`
 * checks the server's signature (a server that does not know the password cannot forge it).
 *
 * @example
 * ```ts ignore
 * const client = new ScramClient(mechanism, "alice", "alice-secret", clientNonce);
 * const serverFirst = await send(client.first());
 * const serverFinal = await send(await client.final(serverFirst));
 * await client.verify(serverFinal);
 * ```
 */
export class ScramClient {
  readonly mechanism: ScramMechanism;
  #username: string;
  #password: string;
  #nonce: string;
  #bare = "";
  #serverSignature: Uint8Array | undefined;

  constructor(mechanism: ScramMechanism, username: string, password: string, nonce: string) {
    this.mechanism = mechanism;
    this.#username = username;
    this.#password = password;
    this.#nonce = nonce;
  }

  /** The client-first-message: no channel binding, no authorization id. */
  first(): Uint8Array {
    this.#bare = `n=${toSaslName(this.#username)},r=${this.#nonce}`;
    return encoder.encode(`n,,${this.#bare}`);
  }

  /** The client-final-message answering the server-first-message. */
  async final(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = utf8(serverFirstBytes);
    const match = /^(?:m=[^,]*,)?r=([^,]*),s=([^,]*),i=(\d+)(?:,.*)?$/.exec(serverFirst);
    if (match === null) throw new SaslFailure("Invalid SCRAM server first message format");
    const nonce = match[1]!;
    if (!nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) {
      throw new SaslFailure("Invalid server nonce: it does not start with the client nonce");
    }
    const iterations = Number(match[3]);
    if (iterations < this.mechanism.iterationsMin) {
      throw new SaslFailure(
        `Requested iterations ${iterations} is less than the minimum ${this.mechanism.iterationsMin} for ${this.mechanism.name}`,
      );
    }
    const salt = fromBase64(match[2]!, "salt");
    const hash = this.mechanism.hash;
    const salted = await saltedPassword(this.mechanism, this.#password, salt, iterations);
    const clientKey = await hmac(hash, salted, encoder.encode("Client Key"));
    const storedKey = await digest(hash, clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = encoder.encode(`${this.#bare},${serverFirst},${withoutProof}`);
    const proof = xor(clientKey, await hmac(hash, storedKey, authMessage));
    const serverKey = await hmac(hash, salted, encoder.encode("Server Key"));
    this.#serverSignature = await hmac(hash, serverKey, authMessage);
    return encoder.encode(`${withoutProof},p=${base64(proof)}`);
  }

  /** Checks the server-final-message; throws when it carries an error or a wrong signature. */
  verify(serverFinalBytes: Uint8Array): void {
    const serverFinal = utf8(serverFinalBytes);
    if (serverFinal.startsWith("e=")) {
      throw new SaslFailure(`SCRAM authentication failed: ${serverFinal.slice(2)}`);
    }
    const match = /^v=([^,]*)/.exec(serverFinal);
    if (match === null || this.#serverSignature === undefined) {
      throw new SaslFailure("Invalid SCRAM server final message format");
    }
    if (!equalBytes(fromBase64(match[1]!, "signature"), this.#serverSignature)) {
      throw new SaslFailure("Invalid server signature in the SCRAM server final message");
    }
  }
}

/**
 * A SCRAM nonce from random bytes: printable ASCII without ",", as RFC 5802 requires (Kafka's
 * ScramFormatter.secureRandomString draws it from SecureRandom; the caller hands in the bytes).
 *
 * @example
 * ```ts
 * import { nonceFromBytes } from "./scram.ts";
 * nonceFromBytes(new Uint8Array([1, 2, 3])); // "AQID"
 * ```
 */
export function nonceFromBytes(bytes: Uint8Array): string {
  return base64(bytes).replace(/[+/=]/g, (c) => (c === "+" ? "-" : c === "/" ? "_" : ""));
}
