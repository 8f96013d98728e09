/**
 * Wires a `SASL_PLAINTEXT`/`SASL_SSL` listener's settings (parsed by
 * `core/security/sasl_config.ts`) to the per-connection `SaslAuthenticator`, with SCRAM
 * credentials read from the node's current metadata image.
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import type { ScramCredentialLookup } from "../core/security/scram.ts";
import type { Logger } from "../core/log.ts";
import type { ConnectionAuthenticator, ConnectionInfo } from "../net/server.ts";
import { SaslAuthenticator } from "../net/handlers/sasl_authenticator.ts";

/**
 * SCRAM credentials from the metadata image's UserScramCredentialRecords.
 *
 * @example
 * ```ts ignore
 * const lookup = imageScramLookup(() => metadata.image);
 * lookup("alice", SCRAM_MECHANISMS.get("SCRAM-SHA-256")!);
 * ```
 */
export function imageScramLookup(image: () => MetadataImage): ScramCredentialLookup {
  return (username, mechanism) => {
    for (const record of image().scramCredentials.values()) {
      if (record.name === username && record.mechanism === mechanism.type) return record;
    }
    return undefined;
  };
}

/**
 * The authenticator factory of `listenerName`, or undefined when it is not a SASL listener.
 * `credentials` is read at authentication time (the image exists only once the node runs).
 *
 * @example
 * ```ts ignore
 * new KafkaServer({ ..., authenticator: saslAuthenticatorFor(config, "SASL_PLAINTEXT", logger, route) });
 * ```
 */
export function saslAuthenticatorFor(
  config: ServerConfig,
  listenerName: string,
  logger: Logger,
  credentials: { scram?: ScramCredentialLookup },
): ((info: ConnectionInfo) => ConnectionAuthenticator) | undefined {
  const sasl = config.listenerSasl?.get(listenerName);
  if (sasl === undefined) return undefined;
  const options = {
    listenerName,
    mechanisms: sasl.mechanisms,
    plainUsers: sasl.plainUsers,
    connectionsMaxReauthMs: sasl.connectionsMaxReauthMs,
    scramCredential:
      ((username, mechanism) => credentials.scram?.(username, mechanism)) as ScramCredentialLookup,
    logger,
    nowMs: () => Date.now(),
    randomBytes: (length: number) => crypto.getRandomValues(new Uint8Array(length)),
  };
  return (info) => new SaslAuthenticator(info, options);
}
