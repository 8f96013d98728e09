/**
 * TLS settings of `SSL` listeners from Kafka's `ssl.*` keys, each also settable per listener as
 * `listener.name.<listener lowercase>.ssl.*` (the per-listener key wins, as in Kafka). Pure: file
 * locations are returned as paths for the node to read.
 *
 * @module
 */

import { ConfigError } from "./config_def.ts";
import type { Endpoint } from "./endpoints.ts";
import { parseSslPrincipalMappingRules, type SslPrincipalRule } from "./ssl_principal.ts";

/** Where a listener's private key and certificate chain come from (PEM only). */
export type KeyStore =
  | { kind: "file"; key: string; location: string }
  | { kind: "inline"; key: string; privateKeyPem: string; certificateChainPem: string };

/** Kafka's `ssl.client.auth`: whether the listener asks clients for a certificate. */
export type SslClientAuth = "none" | "requested" | "required";

/** The TLS settings of one `SSL` or `SASL_SSL` listener. */
export interface ListenerTls {
  listenerName: string;
  keyStore: KeyStore;
  /** Absent (hand-built configs) means `none`. */
  clientAuth?: SslClientAuth;
  /** The CA certificates client certificates must chain to (set when `clientAuth` is not none). */
  trustStore?: TrustStore;
  /** `ssl.principal.mapping.rules` (absent: DEFAULT). */
  principalRules?: SslPrincipalRule[];
  /** `ssl.key.password`: decrypts an `ENCRYPTED PRIVATE KEY` (PKCS#8 PBES2) key store. */
  keyPassword?: { key: string; value: string };
}

/** The config key `name` as set for `listenerName`: the per-listener key first, then the global one. */
function lookup(
  originals: ReadonlyMap<string, string>,
  listenerName: string,
  name: string,
): { key: string; value: string } | null {
  const perListener = `listener.name.${listenerName.toLowerCase()}.${name}`;
  const own = originals.get(perListener);
  if (own !== undefined && own.trim() !== "") return { key: perListener, value: own.trim() };
  const global = originals.get(name);
  if (global !== undefined && global.trim() !== "") return { key: name, value: global.trim() };
  return null;
}

/**
 * The TLS settings of every `SSL` listener in `endpoints`, keyed by listener name. Throws a
 * one-line `ConfigError` naming the key for what kraftling cannot serve: JKS/PKCS12 key stores,
 * encrypted keys (`ssl.key.password`), no key store at all, or `ssl.client.auth=required|requested`
 * (mutual TLS) without a trust store.
 *
 * @example
 * ```ts
 * import { parseListenerTls } from "./tls_config.ts";
 * const tls = parseListenerTls(
 *   new Map([["ssl.keystore.type", "PEM"], ["ssl.keystore.location", "/etc/kafka/server.pem"]]),
 *   [{ listenerName: "SSL", host: "", port: 9093, securityProtocol: "SSL" }],
 * );
 * tls.get("SSL")?.keyStore; // { kind: "file", key: "ssl.keystore.location", location: "/etc/kafka/server.pem" }
 * ```
 */
export function parseListenerTls(
  originals: ReadonlyMap<string, string>,
  endpoints: readonly Endpoint[],
): Map<string, ListenerTls> {
  const result = new Map<string, ListenerTls>();
  for (const endpoint of endpoints) {
    const protocol = endpoint.securityProtocol;
    if ((protocol !== "SSL" && protocol !== "SASL_SSL") || result.has(endpoint.listenerName)) {
      continue;
    }
    const name = endpoint.listenerName;
    const get = (key: string) => lookup(originals, name, key);
    const password = get("ssl.key.password");
    const clientAuthKey = get("ssl.client.auth");
    const clientAuth = (clientAuthKey?.value.toLowerCase() ?? "none") as SslClientAuth;
    if (!["none", "requested", "required"].includes(clientAuth)) {
      throw new ConfigError(
        clientAuthKey!.key,
        `${clientAuthKey!.key} is ${clientAuthKey!.value}; it must be required, requested or none`,
      );
    }
    const keyStore = parseKeyStore(originals, name);
    if (keyStore === null) {
      throw new ConfigError(
        "ssl.keystore.location",
        `listener ${name} uses security protocol ${protocol} but has no key store; set ssl.keystore.location (a PEM file with the private key and certificate chain) or ssl.keystore.key and ssl.keystore.certificate.chain`,
      );
    }
    const listenerTls: ListenerTls = { listenerName: name, keyStore, clientAuth };
    if (clientAuth !== "none") {
      const trustStore = parseTrustStore(originals, name);
      if (trustStore === null) {
        throw new ConfigError(
          "ssl.truststore.location",
          `listener ${name} sets ${
            clientAuthKey!.key
          }=${clientAuth} but has no trust store to check client certificates with; set ssl.truststore.location (a PEM file of CA certificates) or ssl.truststore.certificates`,
        );
      }
      listenerTls.trustStore = trustStore;
      const rules = get("ssl.principal.mapping.rules");
      if (rules !== null) {
        listenerTls.principalRules = parseSslPrincipalMappingRules(rules.value, rules.key);
      }
    }
    if (password !== null) listenerTls.keyPassword = password;
    result.set(name, listenerTls);
  }
  return result;
}

/**
 * The key store set for `listenerName` (`ssl.keystore.location`, or `ssl.keystore.key` with
 * `ssl.keystore.certificate.chain`, each also per listener), or null when none is set. Throws a
 * one-line `ConfigError` for JKS/PKCS12 files and half-given or doubly-given PEM text.
 *
 * @example
 * ```ts
 * import { parseKeyStore } from "./tls_config.ts";
 * parseKeyStore(new Map([["ssl.keystore.location", "/etc/kafka/node.pem"]]), "CONTROLLER");
 * // { kind: "file", key: "ssl.keystore.location", location: "/etc/kafka/node.pem" }
 * ```
 */
export function parseKeyStore(
  originals: ReadonlyMap<string, string>,
  name: string,
): KeyStore | null {
  const get = (key: string) => lookup(originals, name, key);
  const type = get("ssl.keystore.type");
  if (type !== null && type.value.toUpperCase() !== "PEM") {
    throw new ConfigError(
      type.key,
      `${type.key} is ${type.value}, but kraftling reads only PEM key stores; convert it (openssl pkcs12 -in store.p12 -nodes) and set ${type.key}=PEM`,
    );
  }
  const location = get("ssl.keystore.location");
  const key = get("ssl.keystore.key");
  const chain = get("ssl.keystore.certificate.chain");
  if (location !== null && (key !== null || chain !== null)) {
    throw new ConfigError(
      location.key,
      `listener ${name} sets both ${location.key} and ${
        (key ?? chain)!.key
      }; set either a key store file or the PEM text, not both`,
    );
  }
  if (location !== null) {
    if (/\.(jks|p12|pfx|keystore)$/i.test(location.value)) {
      throw new ConfigError(
        location.key,
        `${location.key} ${location.value} looks like a JKS/PKCS12 store, but kraftling reads only PEM key stores; point it at a PEM file with the private key and certificate chain`,
      );
    }
    return { kind: "file", key: location.key, location: location.value };
  } else if (key !== null && chain !== null) {
    return {
      kind: "inline",
      key: key.key,
      privateKeyPem: key.value,
      certificateChainPem: chain.value,
    };
  } else if (key !== null || chain !== null) {
    const missing = key === null ? "ssl.keystore.key" : "ssl.keystore.certificate.chain";
    throw new ConfigError(
      missing,
      `listener ${name} sets ${
        (key ?? chain)!.key
      } but not ${missing}; PEM key stores in the config need both`,
    );
  }
  return null;
}

/** How a node connects to the controllers' `SSL`/`SASL_SSL` listener. */
export interface ControllerClientTls {
  /** The CA certificates to trust (null: the system's roots). */
  trustStore: TrustStore | null;
  /**
   * The node's own certificate for controllers that ask for one (`ssl.client.auth` on the
   * controller listener), from the controller listener's key store keys; null when none is set.
   */
  keyStore: KeyStore | null;
  /** `ssl.key.password` for an encrypted `keyStore`. */
  keyPassword?: { key: string; value: string };
}

/**
 * The TLS settings a node uses as a client of the controller listener `listenerName`: its trust
 * store and, when a key store is set for that listener (per listener or globally), the certificate
 * it presents, as Kafka's raft and broker-to-controller clients take the controller listener's
 * `ssl.*` keys.
 *
 * @example
 * ```ts
 * import { parseControllerClientTls } from "./tls_config.ts";
 * parseControllerClientTls(new Map([
 *   ["listener.name.controller.ssl.truststore.location", "/etc/kafka/ca.pem"],
 *   ["listener.name.controller.ssl.keystore.location", "/etc/kafka/node.pem"],
 * ]), "CONTROLLER").keyStore;
 * // { kind: "file", key: "listener.name.controller.ssl.keystore.location", location: "/etc/kafka/node.pem" }
 * ```
 */
export function parseControllerClientTls(
  originals: ReadonlyMap<string, string>,
  listenerName: string,
): ControllerClientTls {
  const result: ControllerClientTls = {
    trustStore: parseTrustStore(originals, listenerName),
    keyStore: parseKeyStore(originals, listenerName),
  };
  const password = lookup(originals, listenerName, "ssl.key.password");
  if (result.keyStore !== null && password !== null) result.keyPassword = password;
  return result;
}

/**
 * Splits a PEM key store (Kafka's `ssl.keystore.type=PEM` file) into its private key and its
 * certificate chain. Returns an error sentence when either is missing or the key is encrypted.
 *
 * @example
 * ```ts
 * import { splitPemKeyStore } from "./tls_config.ts";
 * splitPemKeyStore("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n");
 * // { error: "holds no private key (-----BEGIN PRIVATE KEY-----)" }
 * ```
 */
export function splitPemKeyStore(
  pem: string,
  options: { allowEncrypted?: boolean } = {},
): { privateKeyPem: string; certificateChainPem: string } | { error: string } {
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  if (/Proc-Type: 4,ENCRYPTED/.test(pem)) {
    return {
      error:
        "holds a key in OpenSSL's legacy encrypted format; convert it with openssl pkcs8 -topk8 -v2 aes-256-cbc (then set ssl.key.password) or decrypt it with openssl pkey",
    };
  }
  if (!options.allowEncrypted && blocks.some((b) => b[1] === "ENCRYPTED PRIVATE KEY")) {
    return {
      error:
        "holds an encrypted private key; set ssl.key.password, or decrypt it with openssl pkey",
    };
  }
  const keys = blocks.filter((b) => /PRIVATE KEY$/.test(b[1]!));
  const certs = blocks.filter((b) => b[1] === "CERTIFICATE");
  if (keys.length === 0) return { error: "holds no private key (-----BEGIN PRIVATE KEY-----)" };
  if (certs.length === 0) return { error: "holds no certificate (-----BEGIN CERTIFICATE-----)" };
  return {
    privateKeyPem: rewrap(keys[0]![1]!, keys[0]![2]!),
    certificateChainPem: certs.map((b) => rewrap(b[1]!, b[2]!)).join(""),
  };
}

/**
 * One PEM block with its base64 body in 64-character lines: Kafka accepts PEM text in a properties
 * value, where line continuations have folded the lines together, and Deno's TLS needs them apart.
 */
function rewrap(label: string, body: string): string {
  const base64 = body.replace(/\s+/g, "");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Where the CA certificates a TLS client trusts come from (PEM only). */
export type TrustStore =
  | { kind: "file"; key: string; location: string }
  | { kind: "inline"; key: string; certificatesPem: string };

/**
 * The trust store a node uses to connect to `listenerName` (its inter-broker listener) over TLS:
 * `ssl.truststore.location` or `ssl.truststore.certificates`, per listener as
 * `listener.name.<listener>.ssl.truststore.*`; null means the system's root certificates.
 *
 * @example
 * ```ts
 * import { parseTrustStore } from "./tls_config.ts";
 * parseTrustStore(new Map([["ssl.truststore.location", "/etc/kafka/ca.pem"]]), "INTERNAL");
 * // { kind: "file", key: "ssl.truststore.location", location: "/etc/kafka/ca.pem" }
 * ```
 */
export function parseTrustStore(
  originals: ReadonlyMap<string, string>,
  listenerName: string,
): TrustStore | null {
  const get = (key: string) => lookup(originals, listenerName, key);
  const type = get("ssl.truststore.type");
  if (type !== null && type.value.toUpperCase() !== "PEM") {
    throw new ConfigError(
      type.key,
      `${type.key} is ${type.value}, but kraftling reads only PEM trust stores; export the CA certificates as PEM and set ${type.key}=PEM`,
    );
  }
  const location = get("ssl.truststore.location");
  const certificates = get("ssl.truststore.certificates");
  if (location !== null && certificates !== null) {
    throw new ConfigError(
      location.key,
      `listener ${listenerName} sets both ${location.key} and ${certificates.key}; set one`,
    );
  }
  if (location !== null) {
    if (/\.(jks|p12|pfx|truststore)$/i.test(location.value)) {
      throw new ConfigError(
        location.key,
        `${location.key} ${location.value} looks like a JKS/PKCS12 store, but kraftling reads only PEM trust stores; point it at a PEM file of CA certificates`,
      );
    }
    return { kind: "file", key: location.key, location: location.value };
  }
  if (certificates !== null) {
    return { kind: "inline", key: certificates.key, certificatesPem: certificates.value };
  }
  return null;
}

/**
 * The certificates of a PEM trust store, each one PEM block with 64-character lines.
 *
 * @example
 * ```ts
 * import { pemCertificates } from "./tls_config.ts";
 * pemCertificates("-----BEGIN CERTIFICATE----- QUJD -----END CERTIFICATE-----");
 * // ["-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"]
 * ```
 */
export function pemCertificates(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)]
    .map((b) => rewrap("CERTIFICATE", b[1]!));
}
