// Kafka client properties to client options: security.protocol, ssl.truststore.*, sasl.mechanism
// and sasl.jaas.config as Kafka's clients read them.
import { deepEqual, equal, throws } from "node:assert/strict";
import { clientOptions } from "./common.ts";

const SCRAM_JAAS =
  'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";';
const CA = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";

Deno.test("PLAINTEXT is the default: no TLS, no SASL", () => {
  const options = clientOptions("b:9092");
  equal(options.tls, undefined);
  equal(options.sasl, undefined);
});

Deno.test("SASL_SSL takes the SCRAM username and password from sasl.jaas.config and the CA from ssl.truststore.certificates", () => {
  const options = clientOptions(
    "b:9092",
    new Map([
      ["security.protocol", "SASL_SSL"],
      ["sasl.mechanism", "SCRAM-SHA-512"],
      ["sasl.jaas.config", SCRAM_JAAS],
      ["ssl.truststore.type", "PEM"],
      ["ssl.truststore.certificates", CA],
    ]),
  );
  deepEqual(options.sasl, { mechanism: "SCRAM-SHA-512", username: "alice", password: "s3cret" });
  deepEqual(options.tls, { caCerts: [CA] });
});

Deno.test("SSL reads ssl.truststore.location, and trusts the system's roots without one", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pem" });
  try {
    await Deno.writeTextFile(path, CA);
    const options = clientOptions(
      "b:9092",
      new Map([["security.protocol", "SSL"], ["ssl.truststore.location", path]]),
    );
    deepEqual(options.tls, { caCerts: [CA] });
    deepEqual(clientOptions("b:9092", new Map([["security.protocol", "ssl"]])).tls, {});
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("what the clients cannot do is refused in one line that never shows the password", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "security.protocol": "TLS" }, /is not a security protocol/],
    [{ "security.protocol": "SASL_PLAINTEXT" }, /sasl.mechanism=GSSAPI is not supported/],
    [
      { "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN" },
      /needs sasl.jaas.config/,
    ],
    [
      {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": SCRAM_JAAS,
      },
      /has no org.apache.kafka.common.security.plain.PlainLoginModule/,
    ],
    [
      {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.jaas.config": SCRAM_JAAS.replace(";", ""),
      },
      /cannot be parsed: login module .* does not end with ';'/,
    ],
    [{ "security.protocol": "SSL", "ssl.truststore.type": "JKS" }, /PEM trust stores only/],
  ];
  for (const [props, message] of cases) {
    throws(() => clientOptions("b:9092", new Map(Object.entries(props))), (e: Error) => {
      return message.test(e.message) && !e.message.includes("s3cret");
    }, JSON.stringify(props));
  }
});

const KEY = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";

Deno.test("SSL presents the client certificate of ssl.keystore.location (mutual TLS)", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/client.pem`, KEY + CA);
    const options = clientOptions(
      "b:9093",
      new Map([
        ["security.protocol", "SSL"],
        ["ssl.truststore.certificates", CA],
        ["ssl.keystore.type", "PEM"],
        ["ssl.keystore.location", `${dir}/client.pem`],
      ]),
    );
    deepEqual(options.tls, { caCerts: [CA], cert: CA, key: KEY });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ssl.keystore.key with ssl.keystore.certificate.chain is a client key store too", () => {
  const options = clientOptions(
    "b:9093",
    new Map([
      ["security.protocol", "SSL"],
      ["ssl.keystore.key", KEY],
      ["ssl.keystore.certificate.chain", CA],
    ]),
  );
  deepEqual(options.tls, { cert: CA, key: KEY });
});

Deno.test("a client key store kraftling cannot use is refused in one line", () => {
  const ssl = (extra: [string, string][]) =>
    clientOptions("b:9093", new Map([["security.protocol", "SSL"], ...extra]));
  throws(() => ssl([["ssl.keystore.key", KEY]]), /ssl.keystore.certificate.chain/);
  throws(() => ssl([["ssl.keystore.type", "PKCS12"]]), /PEM key stores only/);
  throws(() => ssl([["ssl.keystore.location", "/nonexistent/client.pem"]]), /Cannot read/);
  throws(
    () => ssl([["ssl.keystore.key", CA], ["ssl.keystore.certificate.chain", CA]]),
    /no private key/,
  );
});
