/**
 * An admin client a broker uses to ask the other brokers (consumer lag, the console's cluster
 * view): it bootstraps on this broker's own inter-broker listener, with that listener's TLS and
 * SASL settings, as replica fetchers connect.
 *
 * @example
 * ```ts ignore
 * const admin = interBrokerAdmin(config, "end-offsets");
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import { Admin } from "../net/client/admin.ts";
import { interBrokerConnectSasl, interBrokerConnectTls } from "./listener_tls.ts";

/** The client, or undefined when this node has no inter-broker listener (a controller only). */
export function interBrokerAdmin(config: ServerConfig, purpose: string): Admin | undefined {
  const name = config.interBrokerListenerName;
  const endpoint = config.advertisedListeners.find((e) => e.listenerName === name) ??
    config.listeners.find((e) => e.listenerName === name);
  if (endpoint === undefined) return undefined;
  const host = endpoint.host === "" || endpoint.host === "0.0.0.0" ? "127.0.0.1" : endpoint.host;
  const tls = interBrokerConnectTls(config);
  const sasl = interBrokerConnectSasl(config);
  return new Admin({
    bootstrapServers: `${host}:${endpoint.port}`,
    clientId: `broker-${config.nodeId}-${purpose}`,
    retries: 1,
    ...(tls !== undefined ? { tls } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
  });
}
