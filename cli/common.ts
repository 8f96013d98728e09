/**
 * Helpers shared by the client tools (`topics`, `console-producer`, ...): Kafka's common flags
 * (`--bootstrap-server`, `--command-config`, `k=v` properties), turning client properties into
 * client options, Java-style column padding and number formatting, and the one-line error wrapper.
 *
 * @module
 */

import { ConnectionError, type SaslCredentials } from "../net/connection.ts";
import { pemCertificates, splitPemKeyStore } from "../core/config/tls_config.ts";
import { decryptPrivateKeyPem, isEncryptedKeyPem } from "../core/security/encrypted_key.ts";
import { parseJaasConfig, PLAIN_LOGIN_MODULE, SCRAM_LOGIN_MODULE } from "../core/security/jaas.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import type { ClientOptions } from "../net/client/cluster.ts";
import { type CliIo, UsageError } from "./command.ts";
import { readPropertiesFile } from "./config_file.ts";

/** The flags every client tool accepts. */
export const CLIENT_FLAGS = {
  "bootstrap-server": { type: "string" },
  "command-config": { type: "string" },
} as const;

/**
 * Parses `k=v` strings (repeatable `--property`, `--config`, ...) into a map; `where` names the
 * tool in the one-line error.
 *
 * @example
 * ```ts
 * import { parseKeyValues } from "./common.ts";
 * parseKeyValues("topics", ["retention.ms=1000"]).get("retention.ms"); // "1000"
 * ```
 */
export function parseKeyValues(where: string, items: readonly string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const at = item.indexOf("=");
    if (at <= 0) {
      throw new UsageError(`${where}: invalid property '${item}': expected key=value`);
    }
    out.set(item.slice(0, at).trim(), item.slice(at + 1).trim());
  }
  return out;
}

/**
 * Splits a Kafka config list `k1=v1,k2=[a,b]` (ConfigCommand's --add-config) into pairs; square
 * brackets group values that contain commas.
 *
 * @example
 * ```ts
 * import { parseConfigList } from "./common.ts";
 * parseConfigList("a=1,b=[x,y]"); // Map { "a" => "1", "b" => "x,y" }
 * ```
 */
export function parseConfigList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const pattern = /([^=,\s][^=,]*)=(\[[^\]]*\]|[^,]*)/g;
  let consumed = 0;
  for (const m of text.matchAll(pattern)) {
    const between = text.slice(consumed, m.index).replace(/,/g, "").trim();
    if (between !== "") break;
    // Only a closed `[...]` is a list; an unclosed one is kept as given (and fails later).
    const value = m[2]!.startsWith("[") && m[2]!.endsWith("]") ? m[2]!.slice(1, -1) : m[2]!;
    out.set(m[1]!.trim(), value.trim());
    consumed = m.index! + m[0].length;
  }
  if (text.slice(consumed).replace(/,/g, "").trim() !== "") {
    throw new UsageError(
      `Invalid entity config: all configs to be added must be in the format "key=val" (got '${text}')`,
    );
  }
  return out;
}

/**
 * Pulls a flag that takes several space-separated values (argparse `nargs='+'`, e.g.
 * `--producer-props a=1 b=2`) out of `args`: returns the values and the other arguments.
 *
 * @example
 * ```ts
 * import { takeMultiValueFlag } from "./common.ts";
 * takeMultiValueFlag(["--producer-props", "a=1", "b=2", "--topic", "t"], "--producer-props");
 * // { values: ["a=1", "b=2"], rest: ["--topic", "t"] }
 * ```
 */
export function takeMultiValueFlag(
  args: readonly string[],
  flag: string,
): { values: string[] | undefined; rest: string[] } {
  const rest: string[] = [];
  let values: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== flag) {
      rest.push(args[i]!);
      continue;
    }
    values ??= [];
    while (i + 1 < args.length && !args[i + 1]!.startsWith("--")) values.push(args[++i]!);
  }
  return { values, rest };
}

/**
 * Gives a flag whose value Kafka makes optional (e.g. consumer-groups `--state`) an empty value
 * when none follows, so strict parsing accepts it.
 *
 * @example
 * ```ts
 * import { optionalValue } from "./common.ts";
 * optionalValue(["--describe", "--state"], "--state"); // ["--describe", "--state", ""]
 * ```
 */
export function optionalValue(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    out.push(args[i]!);
    const next = args[i + 1];
    if (args[i] === flag && (next === undefined || next.startsWith("--"))) out.push("");
  }
  return out;
}

/**
 * Requires `--bootstrap-server`, with a Kafka-style one-line message.
 *
 * @example
 * ```ts
 * import { requireBootstrap } from "./common.ts";
 * requireBootstrap("topics", "127.0.0.1:9092"); // "127.0.0.1:9092"
 * ```
 */
export function requireBootstrap(where: string, value: string | undefined): string {
  if (value === undefined || value.trim() === "") {
    throw new UsageError(`${where}: missing required option --bootstrap-server`);
  }
  return value;
}

/**
 * Reads `--command-config` (or another client properties file) when given; empty otherwise. An
 * encrypted client key store (`ssl.key.password`) comes back decrypted, see
 * {@link decryptClientKeyStore}.
 */
export async function loadProperties(path: string | undefined): Promise<Map<string, string>> {
  return path === undefined
    ? new Map()
    : await decryptClientKeyStore(await readPropertiesFile(path));
}

/**
 * Client properties whose key store (`ssl.keystore.location`, or `ssl.keystore.key` with
 * `ssl.keystore.certificate.chain`) holds an `ENCRYPTED PRIVATE KEY` and set `ssl.key.password`,
 * with the key decrypted (PKCS#8 PBES2, WebCrypto) and given inline instead, so the synchronous
 * {@link clientOptions} can use it; properties without `ssl.key.password` come back unchanged. A
 * password that does not decrypt is a one-line `UsageError` that never repeats it.
 *
 * @example
 * ```ts
 * import { decryptClientKeyStore } from "./common.ts";
 * const props = await decryptClientKeyStore(new Map([["security.protocol", "SSL"]]));
 * props.get("security.protocol"); // "SSL"
 * ```
 */
export async function decryptClientKeyStore(
  props: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const out = new Map(props);
  const password = props.get("ssl.key.password");
  if (password === undefined) return out;
  const store = readClientKeyStore(props, { allowEncrypted: true });
  if (store === null) {
    throw new UsageError(
      "ssl.key.password is set but there is no key store (ssl.keystore.location or ssl.keystore.key) for it to decrypt",
    );
  }
  const { split, where } = store;
  let key = split.privateKeyPem;
  if (isEncryptedKeyPem(key)) {
    try {
      key = await decryptPrivateKeyPem(key, password);
    } catch (error) {
      throw new UsageError(
        `ssl.key.password cannot decrypt the key in ${where}: ${(error as Error).message}`,
      );
    }
  }
  // Kafka ignores a password for a key that is not encrypted; so does this.
  out.delete("ssl.key.password");
  out.delete("ssl.keystore.location");
  out.set("ssl.keystore.key", key);
  out.set("ssl.keystore.certificate.chain", split.certificateChainPem);
  return out;
}

/**
 * Client options from Kafka client properties: `client.id`, `request.timeout.ms`,
 * `retries`, `retry.backoff.ms`, and security as Kafka's clients configure it:
 * `security.protocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), `ssl.truststore.location` /
 * `ssl.truststore.certificates` (PEM), the client certificate for mutual TLS as
 * `ssl.keystore.location` (a PEM file with the private key and certificate chain) or
 * `ssl.keystore.key` + `ssl.keystore.certificate.chain`, `sasl.mechanism` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and
 * `sasl.jaas.config` (a PlainLoginModule or ScramLoginModule with username and password). What
 * cannot be served is refused in one line that never repeats a password.
 *
 * @example
 * ```ts
 * import { clientOptions } from "./common.ts";
 * clientOptions("127.0.0.1:9092", new Map([["client.id", "tool"]])).clientId; // "tool"
 * ```
 */
export function clientOptions(
  bootstrapServers: string,
  props: ReadonlyMap<string, string> = new Map(),
): ClientOptions {
  const protocol = (props.get("security.protocol") ?? "PLAINTEXT").trim().toUpperCase();
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
    throw new UsageError(
      `security.protocol=${protocol} is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)`,
    );
  }
  const security: Pick<ClientOptions, "tls" | "sasl"> = {};
  if (protocol === "SSL" || protocol === "SASL_SSL") {
    security.tls = { ...clientTls(props), ...clientKeyStore(props) };
  }
  if (protocol.startsWith("SASL_")) security.sasl = clientSasl(props);
  const int = (key: string) => {
    const raw = props.get(key);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`Invalid value ${raw} for ${key}`);
    return n;
  };
  return {
    bootstrapServers,
    clientId: props.get("client.id"),
    requestTimeoutMs: int("request.timeout.ms"),
    retries: Math.min(int("retries") ?? 5, 20),
    retryBackoffMs: int("retry.backoff.ms"),
    ...security,
  };
}

/** The CA certificates a TLS client trusts: `ssl.truststore.*` (PEM), else the system's roots. */
function clientTls(props: ReadonlyMap<string, string>): { caCerts?: string[] } {
  const type = props.get("ssl.truststore.type");
  if (type !== undefined && type.trim().toUpperCase() !== "PEM") {
    throw new UsageError(
      `ssl.truststore.type=${type} is not supported: kraftling's clients read PEM trust stores only`,
    );
  }
  const location = props.get("ssl.truststore.location");
  const inline = props.get("ssl.truststore.certificates");
  if (location === undefined && inline === undefined) return {};
  let text = inline ?? "";
  if (location !== undefined) {
    try {
      text = Deno.readTextFileSync(location);
    } catch (error) {
      throw new UsageError(
        `Cannot read ssl.truststore.location ${location}: ${(error as Error).message}`,
      );
    }
  }
  const caCerts = pemCertificates(text);
  if (caCerts.length === 0) {
    throw new UsageError(
      `${
        location !== undefined
          ? `ssl.truststore.location ${location}`
          : "ssl.truststore.certificates"
      } holds no PEM certificate`,
    );
  }
  return { caCerts };
}

/** The client certificate and key a TLS client presents (mutual TLS): `ssl.keystore.*` (PEM). */
function clientKeyStore(props: ReadonlyMap<string, string>): { cert?: string; key?: string } {
  const type = props.get("ssl.keystore.type");
  if (type !== undefined && type.trim().toUpperCase() !== "PEM") {
    throw new UsageError(
      `ssl.keystore.type=${type} is not supported: kraftling's clients read PEM key stores only`,
    );
  }
  if (props.get("ssl.key.password") !== undefined) {
    // loadProperties/decryptClientKeyStore decrypt the key first; properties that skipped them
    // (hand-built maps) still hold it encrypted.
    throw new UsageError(
      "ssl.key.password is set, but the key store was not decrypted: pass the properties through decryptClientKeyStore, or decrypt the key (openssl pkey)",
    );
  }
  const store = readClientKeyStore(props, { allowEncrypted: false });
  if (store === null) return {};
  const { split } = store;
  return { cert: split.certificateChainPem, key: split.privateKeyPem };
}

/**
 * The client key store of `ssl.keystore.location`, or of `ssl.keystore.key` with
 * `ssl.keystore.certificate.chain`, split into key and chain; null when none is set. `where` names
 * the key for error messages. Half-given or doubly-given stores are one-line errors.
 */
function readClientKeyStore(
  props: ReadonlyMap<string, string>,
  options: { allowEncrypted: boolean },
): { split: { privateKeyPem: string; certificateChainPem: string }; where: string } | null {
  const location = props.get("ssl.keystore.location");
  const key = props.get("ssl.keystore.key");
  const chain = props.get("ssl.keystore.certificate.chain");
  if (location === undefined && key === undefined && chain === undefined) return null;
  if (location !== undefined && (key !== undefined || chain !== undefined)) {
    throw new UsageError(
      "set either ssl.keystore.location or ssl.keystore.key with ssl.keystore.certificate.chain, not both",
    );
  }
  if (location === undefined && (key === undefined || chain === undefined)) {
    throw new UsageError(
      `${
        key === undefined ? "ssl.keystore.certificate.chain" : "ssl.keystore.key"
      } is set without ${
        key === undefined ? "ssl.keystore.key" : "ssl.keystore.certificate.chain"
      }; a PEM key store needs both`,
    );
  }
  const where = location !== undefined ? `ssl.keystore.location ${location}` : "ssl.keystore.key";
  let text = `${key}\n${chain}`;
  if (location !== undefined) {
    try {
      text = Deno.readTextFileSync(location);
    } catch (error) {
      throw new UsageError(
        `Cannot read ssl.keystore.location ${location}: ${(error as Error).message}`,
      );
    }
  }
  const split = splitPemKeyStore(text, options);
  if ("error" in split) throw new UsageError(`${where} ${split.error}`);
  return { split, where };
}

/** `sasl.mechanism` and the username/password of `sasl.jaas.config`. */
function clientSasl(props: ReadonlyMap<string, string>): SaslCredentials {
  // Kafka's default mechanism is GSSAPI (Kerberos), which kraftling does not speak.
  const mechanism = (props.get("sasl.mechanism") ?? "GSSAPI").trim().toUpperCase();
  if (mechanism !== "PLAIN" && mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") {
    throw new UsageError(
      `sasl.mechanism=${mechanism} is not supported: kraftling's clients speak PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512`,
    );
  }
  const jaas = props.get("sasl.jaas.config");
  if (jaas === undefined) {
    throw new UsageError(
      `sasl.mechanism=${mechanism} needs sasl.jaas.config with a username and password`,
    );
  }
  const parsed = parseJaasConfig(jaas);
  if ("error" in parsed) throw new UsageError(`sasl.jaas.config cannot be parsed: ${parsed.error}`);
  const wanted = mechanism === "PLAIN" ? PLAIN_LOGIN_MODULE : SCRAM_LOGIN_MODULE;
  const module = parsed.find((m) => m.loginModule === wanted);
  if (module === undefined) {
    throw new UsageError(
      `sasl.jaas.config has no ${wanted}, which sasl.mechanism=${mechanism} needs`,
    );
  }
  const username = module.options.get("username");
  const password = module.options.get("password");
  if (username === undefined || password === undefined) {
    throw new UsageError(`sasl.jaas.config's ${wanted} needs both username and password`);
  }
  return { mechanism, username, password };
}

/**
 * Parses an integer flag value, throwing a one-line UsageError.
 *
 * @example
 * ```ts
 * import { intFlag } from "./common.ts";
 * intFlag("topics", "--partitions", "3"); // 3
 * ```
 */
export function intFlag(
  where: string,
  flag: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n)) {
    throw new UsageError(`${where}: option ${flag} needs an integer, got '${value}'`);
  }
  return n;
}

/**
 * Java's `%-Ns`: left-justifies `value` in `width` columns.
 *
 * @example
 * ```ts
 * import { pad } from "./common.ts";
 * pad("ab", 4) + "|"; // "ab  |"
 * ```
 */
export function pad(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

/**
 * Java's `%.Nf` (HALF_UP rounding is close enough to toFixed for report numbers).
 *
 * @example
 * ```ts
 * import { fixed } from "./common.ts";
 * fixed(2.5, 1); // "2.5"
 * ```
 */
export function fixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return value.toFixed(digits);
}

/** The message of a failure a tool reports in one line; rethrows programming errors. */
export function failureMessage(error: unknown): string {
  if (
    error instanceof KafkaError || error instanceof ConnectionError ||
    error instanceof RangeError || error instanceof UsageError || error instanceof SyntaxError ||
    error instanceof Deno.errors.NotFound
  ) {
    return error.message.split("\n")[0]!;
  }
  throw error;
}

/**
 * Runs a tool body, turning client failures into one `prefix + message` line on stderr and exit
 * code 1; usage errors pass through to the dispatcher.
 */
export async function runTool(io: CliIo, prefix: string, body: () => Promise<number>) {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(`${prefix}${failureMessage(error)}`);
    return 1;
  }
}

/**
 * Reads stdin as UTF-8 lines (without the line terminator), at most `linesMax`.
 */
export async function* stdinLines(
  stream: ReadableStream<Uint8Array> = Deno.stdin.readable,
  linesMax = Number.MAX_SAFE_INTEGER,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  let count = 0;
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, at).replace(/\r$/, "");
      buffered = buffered.slice(at + 1);
      if (count++ >= linesMax) return;
      yield line;
    }
  }
  buffered += decoder.decode();
  if (buffered !== "" && count < linesMax) yield buffered.replace(/\r$/, "");
}

/**
 * Joins a flag and a negative number value (`--time -1` -> `--time=-1`) so strict parsing does
 * not mistake the value for an option, as Kafka's joptsimple/argparse accept both.
 *
 * @example
 * ```ts
 * import { negativeValues } from "./common.ts";
 * negativeValues(["--time", "-1"]); // ["--time=-1"]
 * ```
 */
export function negativeValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (
      a.startsWith("--") && !a.includes("=") && next !== undefined && /^-\d+(\.\d+)?$/.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
