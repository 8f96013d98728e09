/**
 * How a node connects to the controllers' listener when it is `SSL` or `SASL_SSL`: the TLS option
 * of `KafkaConnection.connect` for raft between voters and the broker-to-controller channel,
 * trusting the controller listener's `ssl.truststore.*` (PEM).
 *
 * @example
 * ```ts ignore
 * KafkaConnection.connect(host, port, { tls: controllerConnectTls(config) });
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import { interBrokerConnectTls } from "./listener_tls.ts";

/** The TLS connect option for the controller listener, or undefined when it is plaintext. */
export function controllerConnectTls(config: ServerConfig): { caCerts?: string[] } | undefined {
  const tls = config.controllerTls ?? null;
  if (tls === null) return undefined;
  // The same trust-store reading (and one-line errors) as inter-broker connections.
  return interBrokerConnectTls({ ...config, interBrokerTls: tls });
}
