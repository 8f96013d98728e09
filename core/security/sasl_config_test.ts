// SASL listeners configured with Kafka's keys: sasl.enabled.mechanisms (global and per
// listener), the PlainLoginModule's user_<name> options, connections.max.reauth.ms (KIP-368).
import { deepEqual, equal, ok } from "node:assert/strict";
import { ConfigError } from "../config/config_def.ts";
import { parseProperties } from "../config/properties.ts";
import { parseServerConfig } from "../config/server_config.ts";

const WITH_SASL = `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093,SASL_PLAINTEXT://:9094
advertised.listeners=PLAINTEXT://localhost:9092,SASL_PLAINTEXT://localhost:9094
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
`;

const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";';

function load(extra: Record<string, string | null>) {
  const props = parseProperties(WITH_SASL);
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

Deno.test("a SASL_PLAINTEXT listener serves the mechanisms of sasl.enabled.mechanisms with PLAIN's JAAS users", () => {
  const config = load({
    "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256, SCRAM-SHA-512",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
  });
  const sasl = config.listenerSasl!.get("SASL_PLAINTEXT")!;
  deepEqual(sasl.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
  deepEqual(Object.fromEntries(sasl.plainUsers), { admin: "admin-secret", alice: "alice-secret" });
  equal(sasl.connectionsMaxReauthMs, 0);
  equal(config.listenerSasl!.has("PLAINTEXT"), false);
});

Deno.test("the per-listener sasl.enabled.mechanisms and connections.max.reauth.ms win over the global ones", () => {
  const config = load({
    "sasl.enabled.mechanisms": "PLAIN",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "connections.max.reauth.ms": "1000",
    "listener.name.sasl_plaintext.connections.max.reauth.ms": "60000",
  });
  const sasl = config.listenerSasl!.get("SASL_PLAINTEXT")!;
  deepEqual(sasl.mechanisms, ["SCRAM-SHA-512"]);
  equal(sasl.connectionsMaxReauthMs, 60000);
});

Deno.test("Kafka's default GSSAPI and OAUTHBEARER are refused with one line naming the key", () => {
  deepEqual(errorOf({}), {
    key: "sasl.enabled.mechanisms",
    message:
      "sasl.enabled.mechanisms is unset, so Kafka's default GSSAPI applies for listener SASL_PLAINTEXT, but kraftling serves only PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; set sasl.enabled.mechanisms",
  });
  deepEqual(
    errorOf({ "sasl.enabled.mechanisms": "OAUTHBEARER" }).message,
    "sasl.enabled.mechanisms names OAUTHBEARER for listener SASL_PLAINTEXT, but kraftling serves only PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; set sasl.enabled.mechanisms",
  );
});

Deno.test("PLAIN without a PlainLoginModule is refused, and a bad JAAS value is not echoed", () => {
  deepEqual(
    errorOf({ "sasl.enabled.mechanisms": "PLAIN" }).key,
    "listener.name.sasl_plaintext.plain.sasl.jaas.config",
  );
  const bad = errorOf({
    "sasl.enabled.mechanisms": "PLAIN",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config":
      'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="s3cret"',
  });
  equal(
    bad.message,
    "listener.name.sasl_plaintext.plain.sasl.jaas.config cannot be parsed: login module org.apache.kafka.common.security.plain.PlainLoginModule does not end with ';'",
  );
  equal(bad.message.includes("s3cret"), false);
});

const SCRAM_BROKER_JAAS =
  'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";';

Deno.test("a SASL inter-broker listener logs in with sasl.mechanism.inter.broker.protocol and the listener's JAAS username", () => {
  const config = load({
    "sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "inter.broker.listener.name": "SASL_PLAINTEXT",
    "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
    "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": SCRAM_BROKER_JAAS,
  });
  deepEqual(config.interBrokerSasl, {
    mechanism: "SCRAM-SHA-512",
    username: "broker",
    password: "broker-secret",
  });
});

Deno.test("a SASL inter-broker listener needs a mechanism it enables and a JAAS username and password", () => {
  const base = {
    "sasl.enabled.mechanisms": "SCRAM-SHA-512",
    "inter.broker.listener.name": "SASL_PLAINTEXT",
  };
  equal(
    errorOf(base).message,
    "sasl.mechanism.inter.broker.protocol is GSSAPI (Kafka's default), but kraftling's brokers authenticate to each other with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; set sasl.mechanism.inter.broker.protocol",
  );
  equal(
    errorOf({ ...base, "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256" }).message,
    "sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication (listener SASL_PLAINTEXT enables SCRAM-SHA-512)",
  );
  const missing = errorOf({ ...base, "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512" });
  equal(missing.key, "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config");
});

const CONTROLLER_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="ctl" password="ctl-secret" user_ctl="ctl-secret";';

Deno.test("a SASL_PLAINTEXT controller listener: nodes log in with PLAIN from its JAAS config", () => {
  const config = load({
    "listener.security.protocol.map":
      "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    "sasl.enabled.mechanisms": "PLAIN",
    "sasl.mechanism.controller.protocol": "PLAIN",
    "listener.name.controller.plain.sasl.jaas.config": CONTROLLER_JAAS,
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
  });
  deepEqual(config.controllerSasl, { mechanism: "PLAIN", username: "ctl", password: "ctl-secret" });
  deepEqual(Object.fromEntries(config.listenerSasl!.get("CONTROLLER")!.plainUsers), {
    ctl: "ctl-secret",
  });
});

Deno.test("a SASL controller listener refuses SCRAM and Kafka's default GSSAPI for sasl.mechanism.controller.protocol", () => {
  const base = {
    "listener.security.protocol.map":
      "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
    "listener.name.controller.plain.sasl.jaas.config": CONTROLLER_JAAS,
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
  };
  equal(errorOf(base).key, "sasl.mechanism.controller.protocol");
  ok(
    errorOf({ ...base, "sasl.mechanism.controller.protocol": "SCRAM-SHA-256" }).message
      .includes("PLAIN only"),
  );
});
