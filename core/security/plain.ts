/**
 * SASL/PLAIN (RFC 4616) as Kafka's PlainSaslServer checks it: `authzid NUL username NUL password`
 * against the `user_<name>="<password>"` options of the listener's PlainLoginModule.
 *
 * @module
 */

import { SaslFailure } from "./sasl_failure.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The server side of one PLAIN exchange: one message, no challenge.
 *
 * @example
 * ```ts
 * import { PlainServer } from "./plain.ts";
 * const server = new PlainServer(new Map([["alice", "alice-secret"]]));
 * await server.evaluate(new TextEncoder().encode("\0alice\0alice-secret"));
 * server.username; // "alice"
 * ```
 */
export class PlainServer {
  readonly mechanism = "PLAIN";
  #users: ReadonlyMap<string, string>;
  #complete = false;
  /** The authenticated user name once complete. */
  username: string | undefined;

  constructor(users: ReadonlyMap<string, string>) {
    this.#users = users;
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** Checks the client's message; PLAIN answers with an empty token. */
  evaluate(response: Uint8Array): Promise<Uint8Array> {
    if (this.#complete) {
      return Promise.reject(new SaslFailure("Unexpected challenge in Sasl server state COMPLETE"));
    }
    const tokens = decoder.decode(response).split("\0");
    if (tokens.length !== 3) {
      return Promise.reject(
        new SaslFailure(`Invalid SASL/PLAIN response: expected 3 tokens, got ${tokens.length}`, {
          clientVisible: true,
        }),
      );
    }
    const [authorizationId, username, password] = tokens as [string, string, string];
    const fail = (message: string) =>
      Promise.reject(new SaslFailure(`Authentication failed: ${message}`, { clientVisible: true }));
    if (username === "") return fail("username not specified");
    if (password === "") return fail("password not specified");
    const expected = this.#users.get(username);
    if (expected === undefined || !sameText(expected, password)) {
      return fail("Invalid username or password");
    }
    if (authorizationId !== "" && authorizationId !== username) {
      return fail("Client requested an authorization id that is different from username");
    }
    this.username = username;
    this.#complete = true;
    return Promise.resolve(new Uint8Array(0));
  }
}

/** Compares in time independent of where the strings differ. */
function sameText(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % Math.max(1, y.length)] ?? 0);
  return diff === 0;
}

/**
 * The client's PLAIN message (no authorization id).
 *
 * @example
 * ```ts
 * import { plainClientMessage } from "./plain.ts";
 * plainClientMessage("alice", "pw").length; // 9
 * ```
 */
export function plainClientMessage(username: string, password: string): Uint8Array {
  return encoder.encode(`\0${username}\0${password}`);
}
