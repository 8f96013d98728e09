/**
 * Reads the PEM key material of an `SSL` listener (Kafka's `ssl.keystore.*` keys, parsed by
 * `core/config/tls_config.ts`) into what `Deno.listenTls` takes.
 *
 * @module
 */

import { decryptPrivateKeyPem, isEncryptedKeyPem } from "../core/security/encrypted_key.ts";
import {
  type ListenerTls,
  pemCertificates,
  splitPemKeyStore,
  type TrustStore,
} from "../core/config/tls_config.ts";
import { certificateSubjectDn, mapSslPrincipal } from "../core/config/ssl_principal.ts";
import type { KafkaServerOptions } from "../net/server.ts";
import type { ServerConfig } from "../core/config/server_config.ts";
import type { SaslCredentials } from "../net/connection.ts";

/**
 * The private key and certificate chain of one listener, and for mutual TLS
 * (`ssl.client.auth=required|requested`) its trust store and principal mapping, as `KafkaServer`'s
 * `tls` option; throws a one-line error naming the key.
 *
 * @example
 * ```ts ignore
 * const { key, cert } = loadListenerTls({ listenerName: "SSL", keyStore: { kind: "file", key: "ssl.keystore.location", location: "/etc/kafka/server.pem" } });
 * ```
 */
export function loadListenerTls(
  tls: ListenerTls,
  decryptedKeyPem?: string,
): NonNullable<KafkaServerOptions["tls"]> {
  const store = readKeyStore(tls);
  const cert = store.cert;
  const key = decryptedKeyPem ?? store.key;
  if (decryptedKeyPem === undefined && isEncryptedKeyPem(key)) {
    throw new Error(
      `The private key of listener ${tls.listenerName} is encrypted: set ssl.key.password (or listener.name.${tls.listenerName.toLowerCase()}.ssl.key.password)`,
    );
  }
  if (tls.clientAuth === undefined || tls.clientAuth === "none") return { key, cert };
  const rules = tls.principalRules ?? [{ kind: "default" }];
  return {
    key,
    cert,
    clientAuth: {
      mode: tls.clientAuth,
      caCerts: readTrustStore(tls.trustStore!),
      principalOf: (der) => {
        let dn: string;
        try {
          dn = certificateSubjectDn(der);
        } catch (error) {
          return { error: `unreadable client certificate: ${(error as Error).message}` };
        }
        const name = mapSslPrincipal(rules, dn);
        if (name === null) {
          return { error: `no ssl.principal.mapping.rules rule applies to ${dn}` };
        }
        return { principal: `User:${name}` };
      },
    },
  };
}

/**
 * The decrypted private keys of the listeners whose key store holds an `ENCRYPTED PRIVATE KEY`
 * and sets `ssl.key.password` (PKCS#8 PBES2, decrypted with WebCrypto before any port is bound);
 * a wrong password is a one-line error naming the key.
 *
 * @example
 * ```ts ignore
 * const keys = await decryptListenerKeys(config.listenerTls);
 * loadListenerTls(tls, keys.get(tls.listenerName));
 * ```
 */
export async function decryptListenerKeys(
  listeners: ReadonlyMap<string, ListenerTls>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, tls] of listeners) {
    if (tls.keyPassword === undefined) continue;
    const { key } = readKeyStore(tls);
    if (!isEncryptedKeyPem(key)) continue; // Kafka ignores a password for a plain key too
    try {
      out.set(name, await decryptPrivateKeyPem(key, tls.keyPassword.value));
    } catch (error) {
      throw new Error(
        `${tls.keyPassword.key} cannot decrypt the key of listener ${name}: ${
          (error as Error).message
        }`,
      );
    }
  }
  return out;
}

/**
 * The PEM private key (possibly still encrypted) and certificate chain of a listener's key store;
 * throws a one-line error naming the key when the store cannot be read or lacks either.
 *
 * @example
 * ```ts ignore
 * const { key, cert } = readKeyStore({ listenerName: "CONTROLLER", keyStore });
 * ```
 */
export function readKeyStore(
  tls: Pick<ListenerTls, "listenerName" | "keyStore">,
): { key: string; cert: string } {
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
  const split = splitPemKeyStore(text, { allowEncrypted: true });
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
 * listener: undefined when it is PLAINTEXT. When that listener asks for client certificates
 * (`ssl.client.auth`), the broker presents its own key store, as Kafka's inter-broker client does.
 * Throws a one-line error naming the key when a store cannot be read or holds no certificate.
 *
 * @example
 * ```ts ignore
 * KafkaConnection.connect(host, port, { tls: interBrokerConnectTls(config) });
 * ```
 */
export function interBrokerConnectTls(
  config: ServerConfig,
): { caCerts?: string[]; cert?: string; key?: string } | undefined {
  // Hand-built test configs may leave the field out: that is PLAINTEXT too.
  const tls = config.interBrokerTls ?? null;
  if (tls === null) return undefined;
  const listener = config.listenerTls?.get(config.interBrokerListenerName);
  const identity = listener !== undefined && (listener.clientAuth ?? "none") !== "none"
    ? cachedKeyStore(listener)
    : {};
  if (tls.trustStore === null) return { ...identity };
  return { caCerts: readTrustStore(tls.trustStore), ...identity };
}

/** Key stores already read for inter-broker connections, by listener. */
const keyStoreCache = new Map<string, { key: string; cert: string }>();

function cachedKeyStore(tls: ListenerTls): { key: string; cert: string } {
  const cached = keyStoreCache.get(tls.listenerName);
  if (cached !== undefined) return cached;
  const loaded = readKeyStore(tls);
  keyStoreCache.set(tls.listenerName, loaded);
  return loaded;
}

/**
 * The CA certificates of a PEM trust store (read once per location); throws a one-line error
 * naming the key when it cannot be read or holds no certificate.
 *
 * @example
 * ```ts ignore
 * const caCerts = readTrustStore({ kind: "file", key: "ssl.truststore.location", location: "/etc/kafka/ca.pem" });
 * ```
 */
export function readTrustStore(store: TrustStore): string[] {
  const cacheKey = store.kind === "file" ? `file:${store.location}` : `inline:${store.key}`;
  const cached = trustStoreCache.get(cacheKey);
  if (cached !== undefined) return cached;
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
  return caCerts;
}
