/**
 * Reads the PEM key material of an `SSL` listener (Kafka's `ssl.keystore.*` keys, parsed by
 * `core/config/tls_config.ts`) into what `Deno.listenTls` takes.
 *
 * @module
 */

import { type ListenerTls, pemCertificates, splitPemKeyStore } from "../core/config/tls_config.ts";
import type { ServerConfig } from "../core/config/server_config.ts";
import type { SaslCredentials } from "../net/connection.ts";

/**
 * The private key and certificate chain of one listener, or a one-line error naming the key.
 *
 * @example
 * ```ts ignore
 * const { key, cert } = loadListenerTls({ listenerName: "SSL", keyStore: { kind: "file", key: "ssl.keystore.location", location: "/etc/kafka/server.pem" } });
 * ```
 */
export function loadListenerTls(tls: ListenerTls): { key: string; cert: string } {
  const store = tls.keyStore;
  let text: string;
  if (store.kind === "file") {
    try {
      text = Deno.readTextFileSync(store.location);
    } catch (error) {
      throw new Error(
        `Cannot read ${store.key} ${store.location} for listener ${tls.listenerName}: ${
          (error as Error).message
        }`,
      );
    }
  } else {
    text = `${store.privateKeyPem}\n${store.certificateChainPem}`;
  }
  const split = splitPemKeyStore(text);
  if ("error" in split) {
    const where = store.kind === "file" ? `${store.key} ${store.location}` : store.key;
    throw new Error(`${where} for listener ${tls.listenerName} ${split.error}`);
  }
  return { key: split.privateKeyPem, cert: split.certificateChainPem };
}

/**
 * The SASL option of `KafkaConnection.connect` for connections to other brokers' inter-broker
 * listener: the broker's own credentials when it is `SASL_*`, else undefined.
 *
 * @example
 * ```ts ignore
 * KafkaConnection.connect(host, port, { sasl: interBrokerConnectSasl(config) });
 * ```
 */
export function interBrokerConnectSasl(config: ServerConfig): SaslCredentials | undefined {
  // Hand-built test configs may leave the field out: no SASL then.
  return config.interBrokerSasl ?? undefined;
}

/** Trust stores already read, by location (read once: every inter-broker connection uses one). */
const trustStoreCache = new Map<string, string[]>();

/**
 * The TLS option of `KafkaConnection.connect` for connections to other brokers' inter-broker
 * listener: undefined when it is PLAINTEXT. Throws a one-line error naming the key when the trust
 * store cannot be read or holds no certificate.
 *
 * @example
 * ```ts ignore
 * KafkaConnection.connect(host, port, { tls: interBrokerConnectTls(config) });
 * ```
 */
export function interBrokerConnectTls(config: ServerConfig): { caCerts?: string[] } | undefined {
  // Hand-built test configs may leave the field out: that is PLAINTEXT too.
  const tls = config.interBrokerTls ?? null;
  if (tls === null) return undefined;
  const store = tls.trustStore;
  if (store === null) return {};
  const cacheKey = store.kind === "file" ? `file:${store.location}` : `inline:${store.key}`;
  const cached = trustStoreCache.get(cacheKey);
  if (cached !== undefined) return { caCerts: cached };
  let text: string;
  if (store.kind === "file") {
    try {
      text = Deno.readTextFileSync(store.location);
    } catch (error) {
      throw new Error(`Cannot read ${store.key} ${store.location}: ${(error as Error).message}`);
    }
  } else {
    text = store.certificatesPem;
  }
  const caCerts = pemCertificates(text);
  if (caCerts.length === 0) {
    const where = store.kind === "file" ? `${store.key} ${store.location}` : store.key;
    throw new Error(`${where} holds no certificate (-----BEGIN CERTIFICATE-----)`);
  }
  trustStoreCache.set(cacheKey, caCerts);
  return { caCerts };
}
