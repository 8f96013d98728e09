import { deepEqual as assertEquals } from "node:assert/strict";
import { plainClientMessage, PlainServer } from "./plain.ts";
import { SaslFailure } from "./sasl_failure.ts";

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

const users = new Map([["alice", "alice-secret"], ["admin", "admin-secret"]]);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("PLAIN accepts a user_<name> password and names the user", async () => {
  const server = new PlainServer(users);
  assertEquals((await server.evaluate(plainClientMessage("alice", "alice-secret"))).length, 0);
  assertEquals(server.complete, true);
  assertEquals(server.username, "alice");
});

Deno.test("PLAIN refuses a wrong password and an unknown user with Kafka's one message", async () => {
  for (const [user, password] of [["alice", "nope"], ["mallory", "alice-secret"]]) {
    const error = await assertRejects(
      () => new PlainServer(users).evaluate(plainClientMessage(user!, password!)),
      SaslFailure,
    );
    assertEquals(error.message, "Authentication failed: Invalid username or password");
    assertEquals(error.clientVisible, true);
  }
});

Deno.test("PLAIN refuses malformed messages and a different authorization id as Kafka's PlainSaslServer", async () => {
  const cases: [string, string][] = [
    ["alice\0alice-secret", "Invalid SASL/PLAIN response: expected 3 tokens, got 2"],
    ["\0\0pw", "Authentication failed: username not specified"],
    ["\0alice\0", "Authentication failed: password not specified"],
    [
      "admin\0alice\0alice-secret",
      "Authentication failed: Client requested an authorization id that is different from username",
    ],
  ];
  for (const [message, expected] of cases) {
    const error = await assertRejects(
      () => new PlainServer(users).evaluate(bytes(message)),
      SaslFailure,
    );
    assertEquals(error.message, expected);
  }
});
