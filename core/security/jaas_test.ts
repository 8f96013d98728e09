import { deepEqual as assertEquals } from "node:assert/strict";
import { parseJaasConfig } from "./jaas.ts";

Deno.test("a PlainLoginModule JAAS config yields its username, password and user_ options", () => {
  const parsed = parseJaasConfig(
    `org.apache.kafka.common.security.plain.PlainLoginModule required
       username="admin" password="admin-secret"
       user_admin="admin-secret" user_alice='alice "quoted" secret' user_bob=bare;`,
  );
  if ("error" in parsed) throw new Error(parsed.error);
  assertEquals(parsed.length, 1);
  assertEquals(parsed[0]!.loginModule, "org.apache.kafka.common.security.plain.PlainLoginModule");
  assertEquals(parsed[0]!.controlFlag, "required");
  assertEquals(Object.fromEntries(parsed[0]!.options), {
    username: "admin",
    password: "admin-secret",
    user_admin: "admin-secret",
    user_alice: 'alice "quoted" secret',
    user_bob: "bare",
  });
});

Deno.test("escaped quotes inside a quoted JAAS value are kept", () => {
  const parsed = parseJaasConfig(String.raw`a.B required password="x\"y";`);
  if ("error" in parsed) throw new Error(parsed.error);
  assertEquals(parsed[0]!.options.get("password"), 'x"y');
});

Deno.test("two login modules in one JAAS config are both read", () => {
  const parsed = parseJaasConfig(`a.A required x="1"; b.B optional y="2";`);
  if ("error" in parsed) throw new Error(parsed.error);
  assertEquals(parsed.map((m) => m.loginModule), ["a.A", "b.B"]);
});

Deno.test("malformed JAAS configs get a sentence that does not repeat the secret", () => {
  const cases: [string, string][] = [
    [`a.A required password="s3cret"`, "login module a.A does not end with ';'"],
    [
      `a.A password="s3cret";`,
      "login module a.A has no control flag (required, requisite, sufficient or optional)",
    ],
    [`a.A required password;`, "login module a.A has an option that is not key=value"],
    [`a.A required password="s3cret;`, "a quoted value is not closed"],
    [``, "it names no login module"],
  ];
  for (const [text, error] of cases) {
    const parsed = parseJaasConfig(text);
    assertEquals("error" in parsed ? parsed.error : null, error, text);
  }
});
