/**
 * Reads the PEM key material of an `SSL` listener (Kafka's `ssl.keystore.*` keys, parsed by
 * `core/config/tls_config.ts`) into what `Deno.listenTls` takes.
 *
 * @module
 */

import { type ListenerTls, splitPemKeyStore } from "../core/config/tls_config.ts";

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
