/**
 * The one error a SASL mechanism throws when authentication fails.
 *
 * @module
 */

/**
 * A failed SASL exchange. Like Kafka, only a `clientVisible` message (Kafka's
 * SaslAuthenticationException) reaches the client as is; any other (Kafka's SaslException) is
 * answered with the generic "Authentication failed ... due to invalid credentials" sentence, so
 * an unauthenticated client learns nothing about which user names exist.
 *
 * @example
 * ```ts
 * import { SaslFailure } from "./sasl_failure.ts";
 * const failure = new SaslFailure("Authentication failed: Invalid username or password", { clientVisible: true });
 * failure.clientVisible; // true
 * ```
 */
export class SaslFailure extends Error {
  override name = "SaslFailure";
  readonly clientVisible: boolean;

  constructor(message: string, options: { clientVisible?: boolean } = {}) {
    super(message);
    this.clientVisible = options.clientVisible ?? false;
  }
}
