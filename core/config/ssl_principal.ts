/**
 * The principal of a mutual-TLS connection, as Kafka's DefaultKafkaPrincipalBuilder builds it: the
 * client certificate's subject in the RFC 2253 form Java's `X500Principal.getName()` gives
 * (`CN=alice,OU=ops,O=acme`: last RDN first), mapped by `ssl.principal.mapping.rules`. Pure.
 *
 * @module
 */

import { ConfigError } from "./config_def.ts";

/** One rule of `ssl.principal.mapping.rules`: DEFAULT, or a pattern, replacement and case. */
export type SslPrincipalRule =
  | { kind: "default" }
  | { kind: "rule"; pattern: string; replacement: string; caseMode: "" | "L" | "U" };

// Kafka's SslPrincipalMapper: rules separated by commas or newlines; a rule's pattern and
// replacement may hold `\/` (and any other backslash escape).
const RULE_SPLITTER =
  /\s*(DEFAULT|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?).*?|(.*?))\s*([,\n]\s*|$)/g;
const RULE_PARSER = /^(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?))$/;

/**
 * Parses `ssl.principal.mapping.rules` (Kafka's default is `DEFAULT`). Throws a one-line
 * `ConfigError` naming `key` for a rule that is not `DEFAULT` or `RULE:pattern/replacement/[LU]`,
 * or whose pattern is not a valid regular expression.
 *
 * @example
 * ```ts
 * import { parseSslPrincipalMappingRules } from "./ssl_principal.ts";
 * parseSslPrincipalMappingRules("RULE:^CN=(.*?),OU=ops.*$/$1/L,DEFAULT");
 * // [{ kind: "rule", pattern: "^CN=(.*?),OU=ops.*$", replacement: "$1", caseMode: "L" }, { kind: "default" }]
 * ```
 */
export function parseSslPrincipalMappingRules(
  value: string,
  key = "ssl.principal.mapping.rules",
): SslPrincipalRule[] {
  const texts: string[] = [];
  const trimmed = value.trim();
  if (trimmed === "") return [{ kind: "default" }];
  for (const match of trimmed.matchAll(RULE_SPLITTER)) {
    const text = match[1]!.trim();
    if (text !== "") texts.push(text);
    if (match.index! + match[0].length >= trimmed.length) break;
  }
  return texts.map((text) => {
    const parsed = RULE_PARSER.exec(text);
    if (parsed === null) {
      throw new ConfigError(
        key,
        `${key} has an invalid rule '${text}'; write RULE:pattern/replacement/ (optionally ending in L or U) or DEFAULT`,
      );
    }
    if (parsed[1] !== undefined) return { kind: "default" };
    const pattern = parsed[2]!;
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new ConfigError(
        key,
        `${key} rule '${text}' has an invalid pattern: ${(error as Error).message}`,
      );
    }
    return {
      kind: "rule",
      pattern,
      replacement: parsed[3]!,
      caseMode: parsed[4] as "" | "L" | "U",
    };
  });
}

/**
 * The name `rules` give the distinguished name `dn`: the first rule whose pattern matches all of
 * it wins (DEFAULT keeps `dn` whole); null when none applies, which Kafka treats as a failed
 * authentication.
 *
 * @example
 * ```ts
 * import { mapSslPrincipal, parseSslPrincipalMappingRules } from "./ssl_principal.ts";
 * mapSslPrincipal(parseSslPrincipalMappingRules("RULE:^CN=([^,]*),.*$/$1/U"), "CN=alice,O=acme"); // "ALICE"
 * ```
 */
export function mapSslPrincipal(rules: readonly SslPrincipalRule[], dn: string): string | null {
  for (const rule of rules) {
    if (rule.kind === "default") return dn;
    if (!new RegExp(`^(?:${rule.pattern})$`).test(dn)) continue;
    const mapped = dn.replace(new RegExp(rule.pattern, "g"), javaReplacement(rule.replacement));
    if (rule.caseMode === "L") return mapped.toLowerCase();
    if (rule.caseMode === "U") return mapped.toUpperCase();
    return mapped;
  }
  return null;
}

/** Java's replacement syntax (`\x` is a literal x) in JavaScript's (`$$` is a literal $). */
function javaReplacement(replacement: string): string {
  let out = "";
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c === "\\" && i + 1 < replacement.length) {
      const next = replacement[++i]!;
      out += next === "$" ? "$$" : next;
    } else {
      out += c;
    }
  }
  return out;
}

/** A DER element: its tag, and where its content and the whole element lie in the buffer. */
interface Der {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function readDer(bytes: Uint8Array, at: number, limit: number): Der {
  if (at + 2 > limit) throw new Error("truncated DER element");
  const tag = bytes[at]!;
  let length = bytes[at + 1]!;
  let contentStart = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > limit) {
      throw new Error("unsupported DER length");
    }
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new Error("truncated DER element");
  return { tag, start: at, contentStart, end };
}

function children(bytes: Uint8Array, parent: Der): Der[] {
  const result: Der[] = [];
  for (let at = parent.contentStart; at < parent.end;) {
    const child = readDer(bytes, at, parent.end);
    result.push(child);
    at = child.end;
  }
  return result;
}

function oidText(bytes: Uint8Array, element: Der): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = element.contentStart; i < element.end; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if ((bytes[i]! & 0x80) === 0) {
      if (parts.length === 0) {
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      } else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/** The attribute keywords Java's RFC 2253 form writes by name; others are written as OIDs. */
const KEYWORDS = new Map([
  ["2.5.4.3", "CN"],
  ["2.5.4.6", "C"],
  ["2.5.4.7", "L"],
  ["2.5.4.8", "ST"],
  ["2.5.4.9", "STREET"],
  ["2.5.4.10", "O"],
  ["2.5.4.11", "OU"],
  ["0.9.2342.19200300.100.1.25", "DC"],
  ["0.9.2342.19200300.100.1.1", "UID"],
]);

function stringValue(bytes: Uint8Array, element: Der): string | null {
  const content = bytes.subarray(element.contentStart, element.end);
  switch (element.tag) {
    case 0x0c: // UTF8String
    case 0x13: // PrintableString
    case 0x16: // IA5String
      return new TextDecoder().decode(content);
    case 0x14: // TeletexString, read as Latin-1 as Java does
      return String.fromCharCode(...content);
    case 0x1e: // BMPString
      return new TextDecoder("utf-16be").decode(content);
    default:
      return null;
  }
}

function escapeRfc2253(value: string): string {
  let out = value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith("#") || out.startsWith(" ")) out = `\\${out}`;
  if (out.endsWith(" ") && !out.endsWith("\\ ")) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The subject of a DER certificate as Java's `X500Principal.getName()` (RFC 2253) writes it,
 * which is the name Kafka gives `ssl.principal.mapping.rules`: RDNs last first, separated by
 * commas. Throws when the bytes are not an X.509 certificate.
 *
 * @example
 * ```ts ignore
 * certificateSubjectDn(peerCertificate.raw); // "CN=alice,OU=ops,O=acme"
 * ```
 */
export function certificateSubjectDn(der: Uint8Array): string {
  const certificate = readDer(der, 0, der.length);
  const tbs = children(der, certificate)[0];
  if (certificate.tag !== 0x30 || tbs === undefined || tbs.tag !== 0x30) {
    throw new Error("not an X.509 certificate");
  }
  const fields = children(der, tbs);
  // version [0] is optional; then serial, signature algorithm, issuer, validity, subject.
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (subject === undefined || subject.tag !== 0x30) throw new Error("certificate has no subject");
  const rdns = children(der, subject).map((rdn) =>
    children(der, rdn).map((ava) => {
      const [type, value] = children(der, ava);
      if (type === undefined || value === undefined) throw new Error("malformed subject name");
      const oid = oidText(der, type);
      const keyword = KEYWORDS.get(oid);
      const text = keyword === undefined ? null : stringValue(der, value);
      if (keyword === undefined || text === null) {
        return `${keyword ?? oid}=#${hex(der.subarray(value.start, value.end))}`;
      }
      return `${keyword}=${escapeRfc2253(text)}`;
    }).join("+")
  );
  return rdns.reverse().join(",");
}
