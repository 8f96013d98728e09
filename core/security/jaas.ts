/**
 * Kafka's `sasl.jaas.config` values: one or more JAAS login modules, each
 * `<class> <flag> key=value ... ;` (Kafka's JaasConfig). Values may be quoted ("..." with `\`
 * escapes) or bare words.
 *
 * @module
 */

/** One login module of a JAAS config. */
export interface JaasLoginModule {
  /** The class name, e.g. `org.apache.kafka.common.security.plain.PlainLoginModule`. */
  loginModule: string;
  controlFlag: "required" | "requisite" | "sufficient" | "optional";
  options: Map<string, string>;
}

/** Kafka's PLAIN login module. */
export const PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule";
/** Kafka's SCRAM login module. */
export const SCRAM_LOGIN_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule";

const FLAGS = ["required", "requisite", "sufficient", "optional"] as const;

/**
 * Parses a `sasl.jaas.config` value. Returns the login modules, or an error sentence saying what
 * is wrong (never echoing the value, which holds passwords).
 *
 * @example
 * ```ts
 * import { parseJaasConfig } from "./jaas.ts";
 * const parsed = parseJaasConfig(
 *   'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="s3cret" user_alice="a";',
 * );
 * "error" in parsed ? parsed.error : parsed[0]!.options.get("user_alice"); // "a"
 * ```
 */
export function parseJaasConfig(text: string): JaasLoginModule[] | { error: string } {
  const tokens = tokenize(text);
  if ("error" in tokens) return tokens;
  const modules: JaasLoginModule[] = [];
  let i = 0;
  while (i < tokens.length) {
    const name = tokens[i++]!;
    if (name.kind !== "word") return { error: "a login module class name is expected first" };
    const flag = tokens[i++];
    if (flag === undefined || flag.kind !== "word" || !FLAGS.includes(flag.text as never)) {
      return {
        error:
          `login module ${name.text} has no control flag (required, requisite, sufficient or optional)`,
      };
    }
    const options = new Map<string, string>();
    while (true) {
      const t = tokens[i++];
      if (t === undefined) return { error: `login module ${name.text} does not end with ';'` };
      if (t.kind === "semicolon") break;
      const eq = tokens[i++];
      const value = tokens[i++];
      if (
        t.kind !== "word" || eq?.kind !== "equals" || value === undefined ||
        value.kind === "equals" || value.kind === "semicolon"
      ) {
        return { error: `login module ${name.text} has an option that is not key=value` };
      }
      options.set(t.text, value.text);
    }
    modules.push({
      loginModule: name.text,
      controlFlag: flag.text as JaasLoginModule["controlFlag"],
      options,
    });
  }
  if (modules.length === 0) return { error: "it names no login module" };
  return modules;
}

type Token =
  | { kind: "word"; text: string }
  | { kind: "quoted"; text: string }
  | { kind: "equals"; text: "=" }
  | { kind: "semicolon"; text: ";" };

function tokenize(text: string): Token[] | { error: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "=") {
      tokens.push({ kind: "equals", text: "=" });
      i++;
    } else if (c === ";") {
      tokens.push({ kind: "semicolon", text: ";" });
      i++;
    } else if (c === '"' || c === "'") {
      let value = "";
      i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i++];
      }
      if (i >= text.length) return { error: "a quoted value is not closed" };
      i++;
      tokens.push({ kind: "quoted", text: value });
    } else {
      const start = i;
      while (i < text.length && !/[\s=;"']/.test(text[i]!)) i++;
      tokens.push({ kind: "word", text: text.slice(start, i) });
    }
  }
  return tokens;
}
