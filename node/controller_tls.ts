/**
 * How a node connects to the controllers' listener when it is `SSL` or `SASL_SSL`: the TLS option
 * of `KafkaConnection.connect` for raft between voters and the broker-to-controller channel,
 * trusting the controller listener's `ssl.truststore.*` (PEM) and presenting the controller
 * listener's key store, when one is set, to controllers that ask for client certificates
 * (`ssl.client.auth`), as Kafka's raft and controller-channel clients do.
 *
 * @example
 * ```ts ignore
 * const tls = await loadControllerConnectTls(config);
 * KafkaConnection.connect(host, port, { tls });
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import { decryptPrivateKeyPem, isEncryptedKeyPem } from "../core/security/encrypted_key.ts";
import { readKeyStore, readTrustStore } from "./listener_tls.ts";

/** The TLS option of connections to the controller listener. */
export interface ControllerConnectTls {
  caCerts?: string[];
  cert?: string;
  key?: string;
}

/**
 * The TLS connect option for the controller listener, or undefined when it is plaintext. Reads the
 * stores once (and decrypts an encrypted key with `ssl.key.password`), so a bad store fails the
 * start with one line naming the key instead of every connection attempt.
 */
export async function loadControllerConnectTls(
  config: ServerConfig,
): Promise<ControllerConnectTls | undefined> {
  const tls = config.controllerTls ?? null;
  if (tls === null) return undefined;
  // No trust store: the system's roots, as for inter-broker connections.
  const trust: ControllerConnectTls = tls.trustStore === null
    ? {}
    : { caCerts: readTrustStore(tls.trustStore) };
  if (tls.keyStore === null) return { ...trust };
  const listenerName = config.controllerListenerNames[0] ?? "CONTROLLER";
  const { key, cert } = readKeyStore({ listenerName, keyStore: tls.keyStore });
  if (!isEncryptedKeyPem(key)) return { ...trust, key, cert };
  if (tls.keyPassword === undefined) {
    throw new Error(
      `The private key of controller listener ${listenerName} is encrypted: set ssl.key.password (or listener.name.${listenerName.toLowerCase()}.ssl.key.password)`,
    );
  }
  try {
    return { ...trust, key: await decryptPrivateKeyPem(key, tls.keyPassword.value), cert };
  } catch (error) {
    throw new Error(
      `${tls.keyPassword.key} cannot decrypt the key of controller listener ${listenerName}: ${
        (error as Error).message
      }`,
    );
  }
}
