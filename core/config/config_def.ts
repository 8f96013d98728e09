/**
 * Config definitions in the shape of Kafka's `ConfigDef`: a name, a type, a default and a
 * validator, and parsing that produces Kafka's messages (`Invalid value X for configuration K: ...`).
 *
 * @module
 */

/** Kafka's config types (`ConfigDef.Type`). */
export type ConfigType =
  | "boolean"
  | "string"
  | "int"
  | "short"
  | "long"
  | "double"
  | "list"
  | "class"
  | "password";

/** A parsed config value. Kafka LONGs are `number`s (see {@linkcode LONG_MAX}). */
export type ConfigValue = boolean | string | number | string[] | null;

/**
 * Java's `Long.MAX_VALUE` as a config default. Parsed long values above
 * `Number.MAX_SAFE_INTEGER` clamp to it: every Kafka long config that large means "no limit".
 */
export const LONG_MAX = Number.MAX_SAFE_INTEGER;
/** The decimal text of Java's `Long.MAX_VALUE`, for describing defaults the way Kafka does. */
export const LONG_MAX_TEXT = "9223372036854775807";
/** Java's `Integer.MAX_VALUE`. */
export const INT_MAX = 2147483647;

/** Returns null when the value is acceptable, or the reason it is not (Kafka's wording). */
export type Validator = (value: ConfigValue) => string | null;

/** How a broker config can change at run time (Kafka's `ConfigEntry.ConfigSource` families). */
export type DynamicMode = "read-only" | "per-broker" | "cluster-wide";

/** One config definition. */
export interface ConfigDef {
  name: string;
  type: ConfigType;
  /** The default as Kafka prints it (`null`: no default). */
  defaultText: string | null;
  validator?: Validator;
  /** Broker configs only: whether and how it can be altered dynamically. */
  dynamic?: DynamicMode;
  /** Topic configs only: the broker config it falls back to (`ServerTopicConfigSynonyms`). */
  brokerSynonym?: string;
  /** Sensitive values (passwords) are never returned by DescribeConfigs. */
  sensitive?: boolean;
}

/** A bad config value or combination; the message is one sentence naming the key. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The offending config key. */
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

/** Kafka's `ConfigException(name, value, message)` wording. */
export function invalidValue(key: string, value: string, reason: string): ConfigError {
  return new ConfigError(key, `Invalid value ${value} for configuration ${key}: ${reason}`);
}

const INTEGER_TEXT = /^[+-]?\d+$/;

function parseInteger(key: string, raw: string, type: "int" | "short" | "long"): number {
  const text = raw.trim();
  const typeName = type.toUpperCase();
  if (!INTEGER_TEXT.test(text)) {
    throw invalidValue(key, raw, `Not a number of type ${typeName}`);
  }
  const big = BigInt(text);
  const [min, max] = type === "int"
    ? [-2147483648n, 2147483647n]
    : type === "short"
    ? [-32768n, 32767n]
    : [-9223372036854775808n, 9223372036854775807n];
  if (big < min || big > max) {
    throw invalidValue(key, raw, `Not a number of type ${typeName}`);
  }
  if (big > BigInt(LONG_MAX)) return LONG_MAX;
  if (big < -BigInt(LONG_MAX)) return -LONG_MAX;
  return Number(big);
}

/**
 * Parses one raw string as `ConfigDef.parseType` does (values are trimmed, except passwords).
 *
 * @example
 * ```ts
 * import { parseConfigValue } from "./config_def.ts";
 * parseConfigValue({ name: "num.partitions", type: "int", defaultText: "1" }, " 3 "); // 3
 * parseConfigValue({ name: "log.dirs", type: "list", defaultText: null }, "/a, /b"); // ["/a", "/b"]
 * ```
 */
export function parseConfigValue(def: ConfigDef, raw: string): ConfigValue {
  const text = raw.trim();
  switch (def.type) {
    case "boolean":
      if (text.toLowerCase() === "true") return true;
      if (text.toLowerCase() === "false") return false;
      throw invalidValue(def.name, raw, "Expected value to be either true or false");
    case "string":
    case "class":
      return text;
    case "password":
      return raw;
    case "int":
    case "short":
    case "long":
      return parseInteger(def.name, raw, def.type);
    case "double": {
      const n = Number(text);
      if (text === "" || Number.isNaN(n)) {
        throw invalidValue(def.name, raw, "Not a number of type DOUBLE");
      }
      return n;
    }
    case "list":
      return text === "" ? [] : text.split(/\s*,\s*/);
  }
}

/**
 * Parses and validates a raw value, or the definition's default when `raw` is undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { atLeast, resolveConfigValue } from "./config_def.ts";
 * const def = {
 *   name: "num.partitions",
 *   type: "int" as const,
 *   defaultText: "1",
 *   validator: atLeast(1),
 * };
 * assert.equal(resolveConfigValue(def, undefined), 1);
 * assert.throws(() => resolveConfigValue(def, "0"), {
 *   message: "Invalid value 0 for configuration num.partitions: Value must be at least 1",
 * });
 * ```
 */
export function resolveConfigValue(def: ConfigDef, raw: string | undefined): ConfigValue {
  if (raw === undefined) {
    return def.defaultText === null ? null : parseConfigValue(def, def.defaultText);
  }
  const value = parseConfigValue(def, raw);
  const problem = def.validator?.(value) ?? null;
  if (problem !== null) throw invalidValue(def.name, raw.trim(), problem);
  return value;
}

/** Kafka's `Range.atLeast`. */
export function atLeast(min: number): Validator {
  return (v) => (typeof v === "number" && v < min ? `Value must be at least ${min}` : null);
}

/** Kafka's `Range.between`. */
export function between(min: number, max: number): Validator {
  return (v) =>
    typeof v === "number" && (v < min || v > max)
      ? `Value must be no less than ${min} and no more than ${max}`
      : null;
}

/** Kafka's `ValidString.in` (case-sensitive). */
export function inList(...allowed: string[]): Validator {
  return (v) =>
    typeof v === "string" && !allowed.includes(v)
      ? `String must be one of: ${allowed.join(", ")}`
      : null;
}

/** Kafka's `ValidList.in`: every element must be one of the allowed strings. */
export function listOf(...allowed: string[]): Validator {
  return (v) => {
    if (!Array.isArray(v)) return null;
    const bad = v.find((x) => !allowed.includes(x));
    return bad === undefined
      ? null
      : `Invalid value ${bad}; must be one of [${allowed.join(", ")}]`;
  };
}
