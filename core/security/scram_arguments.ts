/**
 * The `MECHANISM=[key=value,...]` arguments Kafka's tools take for SCRAM users:
 * `storage format --add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]'` (KIP-900) and
 * `configs --add-config 'SCRAM-SHA-512=[iterations=8192,password=alice-secret]'`. Errors are
 * one sentence and never repeat a password.
 *
 * @module
 */

import { SCRAM_MECHANISMS, type ScramMechanism } from "./scram.ts";

/** One parsed `MECHANISM=[...]` argument. */
export interface ScramArgument {
  mechanism: ScramMechanism;
  /** The user (`name=`; only `--add-scram` carries it). */
  name: string | null;
  password: string | null;
  /** `salt=` (base64 in KIP-900, or the literal text) when given. */
  salt: Uint8Array | null;
  /** `saltedpassword=` (base64), KIP-900's way to add a user without its password. */
  saltedPassword: Uint8Array | null;
  /** Kafka's default is 4096. */
  iterations: number;
}

/** The SCRAM iteration count Kafka's tools use when none is given. */
export const SCRAM_ITERATIONS_DEFAULT = 4096;

/**
 * Parses `SCRAM-SHA-256=[name=alice,password=alice-secret]`; returns an error sentence when it
 * is malformed.
 *
 * @example
 * ```ts
 * import { parseScramArgument } from "./scram_arguments.ts";
 * const parsed = parseScramArgument("SCRAM-SHA-256=[name=alice,password=alice-secret]");
 * "error" in parsed ? parsed.error : parsed.name; // "alice"
 * ```
 */
export function parseScramArgument(text: string): ScramArgument | { error: string } {
  const eq = text.indexOf("=");
  if (eq < 0) {
    return {
      error: `Failed to find equals sign in SCRAM argument starting with '${text.slice(0, 16)}'`,
    };
  }
  const mechanismName = text.slice(0, eq).trim().toUpperCase();
  const mechanism = SCRAM_MECHANISMS.get(mechanismName);
  if (mechanism === undefined) {
    return {
      error: `The SCRAM mechanism ${mechanismName} is not supported; use ${
        [...SCRAM_MECHANISMS.keys()].join(" or ")
      }`,
    };
  }
  const body = text.slice(eq + 1).trim();
  if (!body.startsWith("[") || !body.endsWith("]")) {
    return { error: `Expected ${mechanismName}=[key=value,...] in a SCRAM argument` };
  }
  const fields = new Map<string, string>();
  for (const part of splitFields(body.slice(1, -1))) {
    const at = part.indexOf("=");
    if (at <= 0) return { error: `Expected key=value in the ${mechanismName} SCRAM argument` };
    const key = part.slice(0, at).trim().toLowerCase();
    let value = part.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1);
    }
    if (!["name", "password", "salt", "saltedpassword", "iterations"].includes(key)) {
      return { error: `Unknown key ${key} in the ${mechanismName} SCRAM argument` };
    }
    fields.set(key, value);
  }
  const iterationsText = fields.get("iterations");
  const iterations = iterationsText === undefined
    ? SCRAM_ITERATIONS_DEFAULT
    : Number(iterationsText);
  if (!Number.isInteger(iterations)) {
    return { error: `The iterations value ${iterationsText} is not an integer` };
  }
  if (iterations < mechanism.iterationsMin) {
    return {
      error:
        `The iterations value ${iterations} is less than the minimum ${mechanism.iterationsMin} for ${mechanismName}`,
    };
  }
  if (iterations > mechanism.iterationsMax) {
    return {
      error:
        `The iterations value ${iterations} is more than the maximum ${mechanism.iterationsMax} for ${mechanismName}`,
    };
  }
  const decode = (key: string): Uint8Array | null | { error: string } => {
    const value = fields.get(key);
    if (value === undefined) return null;
    try {
      return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    } catch {
      return { error: `The ${key} value of the ${mechanismName} SCRAM argument is not base64` };
    }
  };
  const salt = decode("salt");
  if (salt !== null && "error" in salt) return salt;
  const saltedPassword = decode("saltedpassword");
  if (saltedPassword !== null && "error" in saltedPassword) return saltedPassword;
  const password = fields.get("password") ?? null;
  if (password === null && saltedPassword === null) {
    return {
      error:
        `The ${mechanismName} SCRAM argument needs a password (or KIP-900's saltedpassword and salt)`,
    };
  }
  if (password !== null && saltedPassword !== null) {
    return {
      error: `The ${mechanismName} SCRAM argument gives both password and saltedpassword; give one`,
    };
  }
  if (saltedPassword !== null && salt === null) {
    return { error: `The ${mechanismName} SCRAM argument gives saltedpassword without its salt` };
  }
  return {
    mechanism,
    name: fields.get("name") ?? null,
    password,
    salt: salt as Uint8Array | null,
    saltedPassword: saltedPassword as Uint8Array | null,
    iterations,
  };
}

/** Splits on commas outside double quotes. */
function splitFields(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  if (current.trim() !== "") parts.push(current);
  return parts;
}
