/**
 * The SASL settings of `SASL_PLAINTEXT` and `SASL_SSL` listeners, from Kafka's keys: the enabled
 * mechanisms (`sasl.enabled.mechanisms`, per listener as
 * `listener.name.<listener>.sasl.enabled.mechanisms`), PLAIN's users from the listener's
 * PlainLoginModule (`listener.name.<listener>.plain.sasl.jaas.config` with `user_<name>="..."`
 * options), and re-authentication (`connections.max.reauth.ms`, KIP-368). Pure: errors are
 * one-line `ConfigError`s naming the key, and never echo a JAAS value (it holds passwords).
 *
 * @module
 */

import { ConfigError } from "../config/config_def.ts";
import type { Endpoint } from "../config/endpoints.ts";
import { parseJaasConfig, PLAIN_LOGIN_MODULE, SCRAM_LOGIN_MODULE } from "./jaas.ts";
import { SCRAM_MECHANISMS } from "./scram.ts";

/** The SASL mechanisms kraftling serves. */
export const SASL_MECHANISMS: readonly string[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/** The SASL settings of one listener. */
export interface ListenerSasl {
  listenerName: string;
  /** The enabled mechanisms, in the configured order (what SaslHandshake answers). */
  mechanisms: readonly string[];
  /** PLAIN's users and passwords (empty when PLAIN is not enabled). */
  plainUsers: ReadonlyMap<string, string>;
  /** KIP-368 session lifetime; 0 means sessions never expire and re-authentication is refused. */
  connectionsMaxReauthMs: number;
}

function lookup(
  originals: ReadonlyMap<string, string>,
  keys: readonly string[],
): { key: string; value: string } | null {
  for (const key of keys) {
    const value = originals.get(key);
    if (value !== undefined && value.trim() !== "") return { key, value: value.trim() };
  }
  return null;
}

/**
 * The SASL settings of every `SASL_PLAINTEXT`/`SASL_SSL` listener in `endpoints`, by name.
 *
 * @example
 * ```ts
 * import { parseListenerSasl } from "./sasl_config.ts";
 * const sasl = parseListenerSasl(
 *   new Map([["sasl.enabled.mechanisms", "SCRAM-SHA-256"]]),
 *   [{ listenerName: "SASL_PLAINTEXT", host: "", port: 9094, securityProtocol: "SASL_PLAINTEXT" }],
 * );
 * sasl.get("SASL_PLAINTEXT")?.mechanisms; // ["SCRAM-SHA-256"]
 * ```
 */
export function parseListenerSasl(
  originals: ReadonlyMap<string, string>,
  endpoints: readonly Endpoint[],
): Map<string, ListenerSasl> {
  const result = new Map<string, ListenerSasl>();
  for (const endpoint of endpoints) {
    if (!endpoint.securityProtocol.startsWith("SASL_")) continue;
    const name = endpoint.listenerName;
    if (result.has(name)) continue;
    const prefix = `listener.name.${name.toLowerCase()}.`;
    const enabled = lookup(originals, [
      `${prefix}sasl.enabled.mechanisms`,
      "sasl.enabled.mechanisms",
    ]);
    // Kafka's default is GSSAPI (Kerberos), which kraftling does not serve.
    const mechanisms = (enabled?.value ?? "GSSAPI").split(",").map((m) => m.trim().toUpperCase())
      .filter((m) => m !== "");
    const key = enabled?.key ?? "sasl.enabled.mechanisms";
    for (const m of mechanisms) {
      if (!SASL_MECHANISMS.includes(m)) {
        throw new ConfigError(
          key,
          `${key} ${
            enabled === null ? "is unset, so Kafka's default GSSAPI applies" : `names ${m}`
          } for listener ${name}, but kraftling serves only ${
            SASL_MECHANISMS.join(", ")
          }; set ${key}`,
        );
      }
    }
    if (mechanisms.length === 0) {
      throw new ConfigError(key, `${key} is empty for SASL listener ${name}`);
    }
    const plainUsers = mechanisms.includes("PLAIN") ? plainUsersOf(originals, name) : new Map();
    const reauth = lookup(originals, [
      `${prefix}connections.max.reauth.ms`,
      "connections.max.reauth.ms",
    ]);
    const connectionsMaxReauthMs = reauth === null ? 0 : Number(reauth.value);
    if (!Number.isSafeInteger(connectionsMaxReauthMs) || connectionsMaxReauthMs < 0) {
      throw new ConfigError(
        reauth!.key,
        `Invalid value ${reauth!.value} for configuration ${
          reauth!.key
        }: must be a non-negative number of milliseconds`,
      );
    }
    result.set(name, { listenerName: name, mechanisms, plainUsers, connectionsMaxReauthMs });
  }
  return result;
}

/** The JAAS config key that applies to `mechanism` on `listenerName`, with its value. */
export function jaasConfigFor(
  originals: ReadonlyMap<string, string>,
  listenerName: string,
  mechanism: string,
): { key: string; value: string } | null {
  const prefix = `listener.name.${listenerName.toLowerCase()}.`;
  const mech = mechanism.toLowerCase();
  return lookup(originals, [
    `${prefix}${mech}.sasl.jaas.config`,
    `${mech}.sasl.jaas.config`,
    `${prefix}sasl.jaas.config`,
    "sasl.jaas.config",
  ]);
}

function plainUsersOf(
  originals: ReadonlyMap<string, string>,
  listenerName: string,
): Map<string, string> {
  const jaas = jaasConfigFor(originals, listenerName, "PLAIN");
  const wanted = `listener.name.${listenerName.toLowerCase()}.plain.sasl.jaas.config`;
  if (jaas === null) {
    throw new ConfigError(
      wanted,
      `listener ${listenerName} enables PLAIN but has no JAAS config; set ${wanted} to ${PLAIN_LOGIN_MODULE} required user_<name>="<password>" ...;`,
    );
  }
  const parsed = parseJaasConfig(jaas.value);
  if ("error" in parsed) {
    throw new ConfigError(jaas.key, `${jaas.key} cannot be parsed: ${parsed.error}`);
  }
  const module = parsed.find((m) => m.loginModule === PLAIN_LOGIN_MODULE);
  if (module === undefined) {
    throw new ConfigError(
      jaas.key,
      `${jaas.key} has no ${PLAIN_LOGIN_MODULE}, which PLAIN on listener ${listenerName} needs`,
    );
  }
  const users = new Map<string, string>();
  for (const [option, value] of module.options) {
    if (option.startsWith("user_")) users.set(option.slice("user_".length), value);
  }
  return users;
}

/** How a broker logs in to other brokers' SASL inter-broker listener. */
export interface InterBrokerSasl {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

/**
 * The credentials a broker authenticates with on a SASL inter-broker listener:
 * `sasl.mechanism.inter.broker.protocol` (which the listener must enable, as Kafka requires) and
 * the `username`/`password` of that mechanism's login module in the listener's JAAS config
 * (`listener.name.<listener>.<mechanism>.sasl.jaas.config`).
 *
 * @example
 * ```ts
 * import { parseInterBrokerSasl } from "./sasl_config.ts";
 * const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="b";';
 * parseInterBrokerSasl(
 *   new Map([["sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512"], ["listener.name.internal.scram-sha-512.sasl.jaas.config", jaas]]),
 *   { listenerName: "INTERNAL", mechanisms: ["SCRAM-SHA-512"], plainUsers: new Map(), connectionsMaxReauthMs: 0 },
 * ).username; // "broker"
 * ```
 */
export function parseInterBrokerSasl(
  originals: ReadonlyMap<string, string>,
  listener: ListenerSasl,
): InterBrokerSasl {
  const key = "sasl.mechanism.inter.broker.protocol";
  const mechanism = (originals.get(key) ?? "GSSAPI").trim().toUpperCase();
  if (!SASL_MECHANISMS.includes(mechanism)) {
    throw new ConfigError(
      key,
      `${key} is ${mechanism}${
        originals.has(key) ? "" : " (Kafka's default)"
      }, but kraftling's brokers authenticate to each other with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; set ${key}`,
    );
  }
  if (!listener.mechanisms.includes(mechanism)) {
    throw new ConfigError(
      key,
      `${key} must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication (listener ${listener.listenerName} enables ${
        listener.mechanisms.join(",")
      })`,
    );
  }
  const wanted =
    `listener.name.${listener.listenerName.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`;
  const jaas = jaasConfigFor(originals, listener.listenerName, mechanism);
  const parsed = jaas === null ? null : parseJaasConfig(jaas.value);
  if (parsed !== null && "error" in parsed) {
    throw new ConfigError(jaas!.key, `${jaas!.key} cannot be parsed: ${parsed.error}`);
  }
  const module = mechanism === "PLAIN" ? PLAIN_LOGIN_MODULE : SCRAM_LOGIN_MODULE;
  const options = parsed?.find((m) => m.loginModule === module)?.options;
  const username = options?.get("username");
  const password = options?.get("password");
  if (username === undefined || password === undefined) {
    throw new ConfigError(
      jaas?.key ?? wanted,
      `${
        jaas?.key ?? wanted
      } needs a ${module} with username and password: the credentials this broker logs in with to the other brokers (${key}=${mechanism})`,
    );
  }
  return { mechanism: mechanism as InterBrokerSasl["mechanism"], username, password };
}

/**
 * The credentials a node logs in with on a `SASL_PLAINTEXT` controller listener (raft between
 * controllers, brokers to controllers): `sasl.mechanism.controller.protocol`, PLAIN only, with the
 * `username`/`password` of the listener's PlainLoginModule. SCRAM is refused: its credentials live
 * in the metadata log, which the controllers must agree on before anyone could log in with them.
 *
 * @example
 * ```ts
 * import { parseControllerSasl } from "./sasl_config.ts";
 * const jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="ctl" password="c" user_ctl="c";';
 * parseControllerSasl(
 *   new Map([["sasl.mechanism.controller.protocol", "PLAIN"], ["listener.name.controller.plain.sasl.jaas.config", jaas]]),
 *   "CONTROLLER",
 * ).username; // "ctl"
 * ```
 */
export function parseControllerSasl(
  originals: ReadonlyMap<string, string>,
  listenerName: string,
): InterBrokerSasl {
  const key = "sasl.mechanism.controller.protocol";
  const mechanism = (originals.get(key) ?? "GSSAPI").trim().toUpperCase();
  if (mechanism !== "PLAIN") {
    throw new ConfigError(
      key,
      `${key} is ${mechanism}${
        originals.has(key) ? "" : " (Kafka's default)"
      }, but kraftling's nodes authenticate to a SASL controller listener with PLAIN only (SCRAM credentials live in the metadata log the controllers serve); set ${key}=PLAIN`,
    );
  }
  const wanted = `listener.name.${listenerName.toLowerCase()}.plain.sasl.jaas.config`;
  const jaas = jaasConfigFor(originals, listenerName, mechanism);
  const parsed = jaas === null ? null : parseJaasConfig(jaas.value);
  if (parsed !== null && "error" in parsed) {
    throw new ConfigError(jaas!.key, `${jaas!.key} cannot be parsed: ${parsed.error}`);
  }
  const options = parsed?.find((m) => m.loginModule === PLAIN_LOGIN_MODULE)?.options;
  const username = options?.get("username");
  const password = options?.get("password");
  if (username === undefined || password === undefined) {
    throw new ConfigError(
      jaas?.key ?? wanted,
      `${
        jaas?.key ?? wanted
      } needs a ${PLAIN_LOGIN_MODULE} with username and password: the credentials this node logs in with to the controllers (${key}=PLAIN)`,
    );
  }
  return { mechanism: "PLAIN", username, password };
}

/** Whether `mechanism` is a SCRAM mechanism kraftling serves. */
export function isScram(mechanism: string): boolean {
  return SCRAM_MECHANISMS.has(mechanism);
}
