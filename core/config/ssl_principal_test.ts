// The principal of a mutual-TLS client: its certificate subject in Java's RFC 2253 form, mapped
// by ssl.principal.mapping.rules as Kafka's SslPrincipalMapper does.
import { deepEqual, equal, throws } from "node:assert/strict";
import { ConfigError } from "./config_def.ts";
import {
  certificateSubjectDn,
  mapSslPrincipal,
  parseSslPrincipalMappingRules,
} from "./ssl_principal.ts";

const DN = "CN=alice,OU=ops,O=acme,C=DE";

Deno.test("DEFAULT keeps the whole distinguished name", () => {
  equal(mapSslPrincipal(parseSslPrincipalMappingRules("DEFAULT"), DN), DN);
  equal(mapSslPrincipal(parseSslPrincipalMappingRules(""), DN), DN);
});

Deno.test("the first rule whose pattern matches the whole name gives the principal", () => {
  const rules = parseSslPrincipalMappingRules(
    "RULE:^CN=(.*?),OU=dev,.*$/$1-dev/, RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/U,DEFAULT",
  );
  equal(mapSslPrincipal(rules, DN), "ALICE@OPS");
  equal(mapSslPrincipal(rules, "CN=bob,OU=dev,O=acme"), "bob-dev");
  equal(mapSslPrincipal(rules, "O=acme"), "O=acme", "DEFAULT catches the rest");
});

Deno.test("L lowercases, and a name no rule applies to maps to nothing", () => {
  const rules = parseSslPrincipalMappingRules("RULE:^CN=([^,]*),.*$/$1/L");
  equal(mapSslPrincipal(rules, "CN=Alice,O=acme"), "alice");
  equal(mapSslPrincipal(rules, "O=acme"), null);
});

Deno.test("rules may be separated by newlines and escape a slash in the pattern", () => {
  const rules = parseSslPrincipalMappingRules("RULE:^CN=a\\/b,(.*)$/$1/\nDEFAULT");
  deepEqual(rules.map((r) => r.kind), ["rule", "default"]);
  equal(mapSslPrincipal(rules, "CN=a/b,O=x"), "O=x");
});

Deno.test("a malformed rule is refused naming the key", () => {
  throws(
    () =>
      parseSslPrincipalMappingRules(
        "RULE:^CN=(.*)$/$1/X",
        "listener.name.ssl.ssl.principal.mapping.rules",
      ),
    (e: unknown) =>
      e instanceof ConfigError && e.key === "listener.name.ssl.ssl.principal.mapping.rules" &&
      e.message.includes("invalid rule"),
  );
  throws(() => parseSslPrincipalMappingRules("NONSENSE"), ConfigError);
  throws(() => parseSslPrincipalMappingRules("RULE:^CN=(.*$/$1/"), /invalid pattern/);
});

async function certificateDer(subject: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/k.pem`,
        "-out",
        `${dir}/c.der`,
        "-outform",
        "DER",
        "-days",
        "1",
        "-subj",
        subject,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return await Deno.readFile(`${dir}/c.der`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a certificate's subject reads as Java's RFC 2253 name: last RDN first, escaped", async () => {
  equal(certificateSubjectDn(await certificateDer("/C=DE/O=acme/OU=ops/CN=alice")), DN);
  equal(certificateSubjectDn(await certificateDer("/CN=alice/O=acme")), "O=acme,CN=alice");
  equal(
    certificateSubjectDn(await certificateDer("/O=acme\\, inc/CN=a\\+b")),
    "CN=a\\+b,O=acme\\, inc",
  );
  equal(
    certificateSubjectDn(await certificateDer("/CN=alice/emailAddress=a@x.io")),
    "1.2.840.113549.1.9.1=#16066140782e696f,CN=alice",
  );
});

Deno.test("bytes that are not a certificate are refused", () => {
  throws(() => certificateSubjectDn(new Uint8Array([0x30, 0x05, 0x01])), /truncated|X.509/);
});
