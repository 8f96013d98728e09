import { deepEqual, equal } from "node:assert/strict";
import { parseScramArgument } from "./scram_arguments.ts";
import {
  credentialFromSaltedPassword,
  saltedPassword,
  SCRAM_MECHANISMS,
  scramCredential,
} from "./scram.ts";

Deno.test("a KIP-900 --add-scram argument names the mechanism, user and password, iterations 4096 by default", () => {
  const parsed = parseScramArgument('SCRAM-SHA-256=[name=alice,password="alice,secret"]');
  if ("error" in parsed) throw new Error(parsed.error);
  equal(parsed.mechanism.name, "SCRAM-SHA-256");
  equal(parsed.name, "alice");
  equal(parsed.password, "alice,secret");
  equal(parsed.iterations, 4096);
  equal(parsed.salt, null);
});

Deno.test("a configs --add-config SCRAM argument carries iterations and a password without a name", () => {
  const parsed = parseScramArgument("SCRAM-SHA-512=[iterations=8192,password=pw]");
  if ("error" in parsed) throw new Error(parsed.error);
  equal(parsed.name, null);
  equal(parsed.iterations, 8192);
});

Deno.test("malformed SCRAM arguments get one sentence that never repeats the password", () => {
  const cases: [string, string][] = [
    [
      "SCRAM-SHA-1=[name=a,password=s3cret]",
      "The SCRAM mechanism SCRAM-SHA-1 is not supported; use SCRAM-SHA-256 or SCRAM-SHA-512",
    ],
    [
      "SCRAM-SHA-256=name=a,password=s3cret",
      "Expected SCRAM-SHA-256=[key=value,...] in a SCRAM argument",
    ],
    [
      "SCRAM-SHA-256=[name=a]",
      "The SCRAM-SHA-256 SCRAM argument needs a password (or KIP-900's saltedpassword and salt)",
    ],
    [
      "SCRAM-SHA-256=[name=a,password=s3cret,iterations=100]",
      "The iterations value 100 is less than the minimum 4096 for SCRAM-SHA-256",
    ],
    [
      "SCRAM-SHA-256=[name=a,password=s3cret,iterations=20000]",
      "The iterations value 20000 is more than the maximum 16384 for SCRAM-SHA-256",
    ],
    [
      "SCRAM-SHA-256=[name=a,pasword=s3cret]",
      "Unknown key pasword in the SCRAM-SHA-256 SCRAM argument",
    ],
  ];
  for (const [text, error] of cases) {
    const parsed = parseScramArgument(text);
    deepEqual("error" in parsed ? parsed.error : null, error, text);
    equal(error.includes("s3cret"), false);
  }
});

Deno.test("KIP-900's salt and saltedpassword (base64) give the same credential as the password", async () => {
  const m = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
  const salt = new TextEncoder().encode("1lv4pdnw4fwq7notcxm0yy1k7q");
  const salted = await saltedPassword(m, "alice-secret", salt, 8192);
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  const parsed = parseScramArgument(
    `SCRAM-SHA-256=[name=alice,iterations=8192,salt="${b64(salt)}",saltedpassword="${
      b64(salted)
    }"]`,
  );
  if ("error" in parsed) throw new Error(parsed.error);
  equal(parsed.password, null);
  const fromSalted = await credentialFromSaltedPassword(
    m,
    parsed.saltedPassword!,
    parsed.salt!,
    8192,
  );
  deepEqual(fromSalted, await scramCredential(m, "alice-secret", salt, 8192));
});
