// SSL listeners configured with Kafka's ssl.* keys (global and listener.name.<l>.ssl.*), and the
// one-line errors for what kraftling cannot serve yet.
import { deepEqual, equal } from "node:assert/strict";
import { ConfigError } from "./config_def.ts";
import { parseProperties } from "./properties.ts";
import { parseServerConfig } from "./server_config.ts";
import { pemCertificates, splitPemKeyStore } from "./tls_config.ts";

const WITH_SSL = `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093,SSL://:9094
advertised.listeners=PLAINTEXT://localhost:9092,SSL://localhost:9094
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
`;

function load(extra: Record<string, string | null>) {
  const props = parseProperties(WITH_SSL);
  for (const [k, v] of Object.entries(extra)) v === null ? props.delete(k) : props.set(k, v);
  return parseServerConfig(props).config;
}

function errorOf(extra: Record<string, string | null>): { key: string; message: string } {
  try {
    load(extra);
  } catch (e) {
    if (e instanceof ConfigError) return { key: e.key, message: e.message };
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("an SSL listener takes its PEM key store from ssl.keystore.location", () => {
  const config = load({ "ssl.keystore.type": "PEM", "ssl.keystore.location": "/etc/k/server.pem" });
  deepEqual([...config.listenerTls.keys()], ["SSL"]);
  deepEqual(config.listenerTls.get("SSL")!.keyStore, {
    kind: "file",
    key: "ssl.keystore.location",
    location: "/etc/k/server.pem",
  });
});

Deno.test("listener.name.<listener>.ssl.* wins over the global ssl.* key", () => {
  const config = load({
    "ssl.keystore.location": "/etc/k/global.pem",
    "listener.name.ssl.ssl.keystore.location": "/etc/k/listener.pem",
  });
  deepEqual(config.listenerTls.get("SSL")!.keyStore, {
    kind: "file",
    key: "listener.name.ssl.ssl.keystore.location",
    location: "/etc/k/listener.pem",
  });
});

Deno.test("PEM text in ssl.keystore.key and ssl.keystore.certificate.chain is a key store", () => {
  const config = load({
    "ssl.keystore.type": "PEM",
    "ssl.keystore.key": "-----BEGIN PRIVATE KEY----- AAAA -----END PRIVATE KEY-----",
    "ssl.keystore.certificate.chain": "-----BEGIN CERTIFICATE----- BBBB -----END CERTIFICATE-----",
  });
  equal(config.listenerTls.get("SSL")!.keyStore.kind, "inline");
});

Deno.test("a PLAINTEXT-only node has no TLS settings", () => {
  const config = load({
    "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093",
    "advertised.listeners": "PLAINTEXT://localhost:9092",
  });
  equal(config.listenerTls.size, 0);
});

Deno.test("an SSL listener without a key store is refused, naming ssl.keystore.location", () => {
  const { key, message } = errorOf({});
  equal(key, "ssl.keystore.location");
  equal(
    message,
    "listener SSL uses security protocol SSL but has no key store; set ssl.keystore.location (a PEM file with the private key and certificate chain) or ssl.keystore.key and ssl.keystore.certificate.chain",
  );
});

Deno.test("JKS and PKCS12 key stores are refused with one line naming the key and suggesting PEM", () => {
  const jks = errorOf({
    "listener.name.ssl.ssl.keystore.type": "JKS",
    "listener.name.ssl.ssl.keystore.location": "/etc/k/server.keystore.jks",
  });
  equal(jks.key, "listener.name.ssl.ssl.keystore.type");
  equal(
    jks.message,
    "listener.name.ssl.ssl.keystore.type is JKS, but kraftling reads only PEM key stores; convert it (openssl pkcs12 -in store.p12 -nodes) and set listener.name.ssl.ssl.keystore.type=PEM",
  );
  const p12 = errorOf({ "ssl.keystore.location": "/etc/k/server.p12" });
  equal(p12.key, "ssl.keystore.location");
  equal(p12.message.includes("only PEM key stores"), true, p12.message);
  equal(p12.message.includes("\n"), false);
});

Deno.test("ssl.key.password is kept for the listener (its key is decrypted at start)", () => {
  const config = load({
    "ssl.keystore.location": "/etc/k/server.pem",
    "listener.name.ssl.ssl.key.password": "secret-pw",
  });
  deepEqual(config.listenerTls.get("SSL")!.keyPassword, {
    key: "listener.name.ssl.ssl.key.password",
    value: "secret-pw",
  });
});

Deno.test("ssl.client.auth=required takes the listener's trust store and principal mapping rules", () => {
  const config = load({
    "ssl.keystore.location": "/etc/k/server.pem",
    "listener.name.ssl.ssl.client.auth": "REQUIRED",
    "ssl.truststore.location": "/etc/k/ca.pem",
    "ssl.principal.mapping.rules": "RULE:^CN=([^,]*),.*$/$1/L,DEFAULT",
  });
  const tls = config.listenerTls.get("SSL")!;
  equal(tls.clientAuth, "required");
  deepEqual(tls.trustStore, {
    kind: "file",
    key: "ssl.truststore.location",
    location: "/etc/k/ca.pem",
  });
  deepEqual(tls.principalRules?.map((r) => r.kind), ["rule", "default"]);
});

Deno.test("ssl.client.auth defaults to none, and none needs no trust store", () => {
  equal(
    load({ "ssl.keystore.location": "/etc/k/server.pem" }).listenerTls.get("SSL")!.clientAuth,
    "none",
  );
  equal(
    load({ "ssl.keystore.location": "/etc/k/server.pem", "ssl.client.auth": "none" })
      .listenerTls.get("SSL")!.trustStore,
    undefined,
  );
});

Deno.test("mutual TLS on a controller listener: nodes present the controller listener's key store to it", () => {
  const config = load({
    "ssl.keystore.location": "/etc/k/server.pem",
    "ssl.truststore.location": "/etc/k/ca.pem",
    "listener.name.controller.ssl.client.auth": "required",
    "listener.name.controller.ssl.keystore.location": "/etc/k/node.pem",
    "listener.name.controller.ssl.key.password": "pw",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL,SSL:SSL",
  });
  equal(config.listenerTls.get("CONTROLLER")!.clientAuth, "required");
  equal(config.listenerTls.get("SSL")!.clientAuth, "none");
  deepEqual(config.controllerTls, {
    trustStore: { kind: "file", key: "ssl.truststore.location", location: "/etc/k/ca.pem" },
    keyStore: {
      kind: "file",
      key: "listener.name.controller.ssl.keystore.location",
      location: "/etc/k/node.pem",
    },
    keyPassword: { key: "listener.name.controller.ssl.key.password", value: "pw" },
  });
});

Deno.test("a broker-only node takes its controller client certificate from the controller listener's keys", () => {
  const props = parseProperties(`
process.roles=broker
node.id=4
controller.quorum.voters=1@localhost:9093
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://:9092
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL
listener.name.controller.ssl.truststore.location=/etc/k/ca.pem
`);
  equal(parseServerConfig(props).config.controllerTls!.keyStore, null, "no key store: none sent");
  props.set("listener.name.controller.ssl.keystore.location", "/etc/k/broker4.pem");
  deepEqual(parseServerConfig(props).config.controllerTls!.keyStore, {
    kind: "file",
    key: "listener.name.controller.ssl.keystore.location",
    location: "/etc/k/broker4.pem",
  });
  props.set("listener.name.controller.ssl.keystore.location", "/etc/k/broker4.p12");
  try {
    parseServerConfig(props);
    throw new Error("a PKCS12 controller client key store was accepted");
  } catch (e) {
    equal((e as ConfigError).key, "listener.name.controller.ssl.keystore.location");
  }
});

Deno.test("mutual TLS without a trust store, or an unknown ssl.client.auth, is refused in one line", () => {
  const missing = errorOf({
    "ssl.keystore.location": "/etc/k/server.pem",
    "ssl.client.auth": "requested",
  });
  equal(missing.key, "ssl.truststore.location");
  equal(missing.message.includes("no trust store"), true, missing.message);
  const unknown = errorOf({
    "ssl.keystore.location": "/etc/k/server.pem",
    "ssl.client.auth": "sometimes",
  });
  equal(unknown.key, "ssl.client.auth");
  equal(unknown.message, "ssl.client.auth is sometimes; it must be required, requested or none");
  const badRule = errorOf({
    "ssl.keystore.location": "/etc/k/server.pem",
    "ssl.client.auth": "required",
    "ssl.truststore.location": "/etc/k/ca.pem",
    "ssl.principal.mapping.rules": "RULE:nope",
  });
  equal(badRule.key, "ssl.principal.mapping.rules");
});

Deno.test("an SSL inter-broker listener takes its trust store from ssl.truststore.*", () => {
  const config = load({
    "ssl.keystore.location": "/etc/k/server.pem",
    "inter.broker.listener.name": "SSL",
    "listener.name.ssl.ssl.truststore.location": "/etc/k/ca.pem",
  });
  deepEqual(config.interBrokerTls, {
    trustStore: {
      kind: "file",
      key: "listener.name.ssl.ssl.truststore.location",
      location: "/etc/k/ca.pem",
    },
  });
  const systemRoots = load({
    "ssl.keystore.location": "/etc/k/server.pem",
    "inter.broker.listener.name": "SSL",
  });
  deepEqual(systemRoots.interBrokerTls, { trustStore: null });
  equal(load({ "ssl.keystore.location": "/etc/k/server.pem" }).interBrokerTls, null);
});

Deno.test("a JKS trust store is refused with one line naming the key", () => {
  const { key, message } = errorOf({
    "ssl.keystore.location": "/etc/k/server.pem",
    "inter.broker.listener.name": "SSL",
    "ssl.truststore.type": "JKS",
  });
  equal(key, "ssl.truststore.type");
  equal(
    message,
    "ssl.truststore.type is JKS, but kraftling reads only PEM trust stores; export the CA certificates as PEM and set ssl.truststore.type=PEM",
  );
});

Deno.test("an SSL controller listener is served with the node's key store", () => {
  const config = load({
    "ssl.keystore.type": "PEM",
    "ssl.keystore.location": "/etc/k/server.pem",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL,SSL:SSL",
  });
  equal(config.listenerTls.has("CONTROLLER"), true);
  equal(config.controllerTls === null || config.controllerTls === undefined, false);
});

Deno.test("a SASL_SSL listener needs a key store like an SSL one", () => {
  const { message } = errorOf({
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SASL_SSL",
    "sasl.enabled.mechanisms": "PLAIN",
    "sasl.jaas.config":
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";',
  });
  equal(
    message,
    "listener SSL uses security protocol SASL_SSL but has no key store; set ssl.keystore.location (a PEM file with the private key and certificate chain) or ssl.keystore.key and ssl.keystore.certificate.chain",
  );
});

Deno.test("a PEM key store splits into its key and chain, rewrapping folded base64 lines", () => {
  const body = "A".repeat(70);
  const split = splitPemKeyStore(
    `-----BEGIN PRIVATE KEY----- ${body} -----END PRIVATE KEY-----\n` +
      "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n" +
      "-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n",
  );
  deepEqual(split, {
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${
      "A".repeat(64)
    }\nAAAAAA\n-----END PRIVATE KEY-----\n`,
    certificateChainPem: "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n" +
      "-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n",
  });
});

Deno.test("a PEM key store with an encrypted key, no key or no certificate is an error", () => {
  deepEqual(
    Object.keys(
      splitPemKeyStore(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAA\n-----END ENCRYPTED PRIVATE KEY-----",
      ),
    ),
    ["error"],
  );
  deepEqual(
    splitPemKeyStore("-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----"),
    { error: "holds no private key (-----BEGIN PRIVATE KEY-----)" },
  );
  deepEqual(
    splitPemKeyStore("-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----"),
    { error: "holds no certificate (-----BEGIN CERTIFICATE-----)" },
  );
});

Deno.test("a PEM trust store yields each certificate, folded lines rewrapped", () => {
  deepEqual(
    pemCertificates(
      "-----BEGIN CERTIFICATE----- QUJD -----END CERTIFICATE-----\n" +
        "-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n",
    ),
    [
      "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n",
    ],
  );
  deepEqual(pemCertificates("no pem here"), []);
});
