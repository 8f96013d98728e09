/**
 * Java `.properties` files, read exactly as `java.util.Properties.load` reads them and written as
 * `Properties.store` writes them. Pure: strings in, strings out.
 *
 * @module
 */

/** Thrown for input `Properties.load` rejects (a malformed `\uXXXX` escape). */
export class PropertiesSyntaxError extends Error {
  override name = "PropertiesSyntaxError";
}

const isBlank = (c: string) => c === " " || c === "\t" || c === "\f";
const isEol = (c: string) => c === "\n" || c === "\r";

/**
 * Splits the text into logical lines as Java's `Properties.LineReader` does: skips blank and
 * comment lines (`#` or `!` first after leading whitespace), joins a line ending in an odd number
 * of backslashes with the next one (dropping the backslash and the next line's leading
 * whitespace). Each returned line still holds its escapes.
 */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  let skipWhiteSpace = true; // at the start of a natural line
  let appendedLineBegin = false; // at the start of a continuation line
  let isNewLine = true;
  let isCommentLine = false;
  let precedingBackslash = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (skipWhiteSpace) {
      if (isBlank(c)) continue;
      if (!appendedLineBegin && isEol(c)) continue;
      skipWhiteSpace = false;
      appendedLineBegin = false;
    }
    if (isNewLine) {
      isNewLine = false;
      if (c === "#" || c === "!") {
        isCommentLine = true;
      }
    }
    if (isCommentLine) {
      // A comment runs to the end of its natural line; a trailing backslash does not continue it.
      if (isEol(c)) {
        isCommentLine = false;
        isNewLine = true;
        skipWhiteSpace = true;
        line = "";
      }
      continue;
    }
    if (!isEol(c)) {
      line += c;
      precedingBackslash = c === "\\" ? !precedingBackslash : false;
      continue;
    }
    // End of a natural line.
    if (c === "\r" && text[i + 1] === "\n") i++;
    if (line.length === 0) {
      isNewLine = true;
      skipWhiteSpace = true;
      continue;
    }
    if (precedingBackslash) {
      line = line.slice(0, -1);
      precedingBackslash = false;
      skipWhiteSpace = true;
      appendedLineBegin = true;
      continue;
    }
    lines.push(line);
    line = "";
    isNewLine = true;
    skipWhiteSpace = true;
  }
  if (line.length > 0 && !isCommentLine) {
    lines.push(precedingBackslash ? line.slice(0, -1) : line);
  }
  return lines;
}

/** Resolves `\t \n \r \f \uXXXX` and drops the backslash before any other character. */
function unescape(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    i++;
    if (i >= s.length) break; // a lone trailing backslash (only reachable at end of input)
    const e = s[i]!;
    if (e === "u") {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new PropertiesSyntaxError(
          `Malformed \\uxxxx encoding: \\u${hex} is not four hex digits`,
        );
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else if (e === "t") out += "\t";
    else if (e === "n") out += "\n";
    else if (e === "r") out += "\r";
    else if (e === "f") out += "\f";
    else out += e;
  }
  return out;
}

/** Splits one logical line into its (still escaped) key and value, as `Properties.load0` does. */
function splitKeyValue(line: string): [string, string] {
  let keyLen = 0;
  let valueStart = line.length;
  let hasSeparator = false;
  let precedingBackslash = false;
  for (; keyLen < line.length; keyLen++) {
    const c = line[keyLen]!;
    if ((c === "=" || c === ":") && !precedingBackslash) {
      valueStart = keyLen + 1;
      hasSeparator = true;
      break;
    }
    if (isBlank(c) && !precedingBackslash) {
      valueStart = keyLen + 1;
      break;
    }
    precedingBackslash = c === "\\" ? !precedingBackslash : false;
  }
  for (; valueStart < line.length; valueStart++) {
    const c = line[valueStart]!;
    if (isBlank(c)) continue;
    if (!hasSeparator && (c === "=" || c === ":")) {
      hasSeparator = true;
      continue;
    }
    break;
  }
  return [line.slice(0, keyLen), line.slice(valueStart)];
}

/**
 * Parses the text of a `.properties` file exactly as `java.util.Properties.load(Reader)` does.
 * Later keys override earlier ones; the map keeps first-appearance order.
 *
 * @example
 * ```ts
 * import { parseProperties } from "./properties.ts";
 * const props = parseProperties("# a comment\nnode.id=1\nlog.dirs = /tmp/a,\\\n   /tmp/b\n");
 * props.get("log.dirs"); // "/tmp/a,/tmp/b"
 * ```
 */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of logicalLines(text)) {
    const [key, value] = splitKeyValue(line);
    props.set(unescape(key), unescape(value));
  }
  return props;
}

/**
 * Decodes file bytes as ISO-8859-1, the charset `Properties.load(InputStream)` uses (Kafka loads
 * `server.properties` that way). Unlike `TextDecoder("latin1")`, which is windows-1252, every
 * byte maps to the code point of the same value.
 *
 * @example
 * ```ts
 * import { decodeLatin1 } from "./properties.ts";
 * decodeLatin1(new Uint8Array([0x61, 0xe9])); // "aé"
 * ```
 */
export function decodeLatin1(bytes: Uint8Array): string {
  let out = "";
  const chunkBytes = 8192;
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    out += String.fromCharCode(...bytes.subarray(i, i + chunkBytes));
  }
  return out;
}

function escapeForStore(s: string, isKey: boolean): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = s.charCodeAt(i);
    if (c === " ") out += i === 0 || isKey ? "\\ " : " ";
    else if (c === "\t") out += "\\t";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\f") out += "\\f";
    else if (c === "\\" || c === "=" || c === ":" || c === "#" || c === "!") out += "\\" + c;
    else if (code < 0x20 || code > 0x7e) {
      out += "\\u" + code.toString(16).toUpperCase().padStart(4, "0");
    } else out += c;
  }
  return out;
}

/**
 * Formats entries as `Properties.store` does: each comment line prefixed with `#`, then one
 * `key=value` line per entry, escaped so that `parseProperties` reads back the same map.
 *
 * @example
 * ```ts
 * import { formatProperties, parseProperties } from "./properties.ts";
 * const text = formatProperties(new Map([["a b", "x=y"]]), { comments: [""] });
 * // "#\na\\ b=x\\=y\n"
 * parseProperties(text).get("a b"); // "x=y"
 * ```
 */
export function formatProperties(
  entries: ReadonlyMap<string, string>,
  options: { comments?: readonly string[] } = {},
): string {
  let out = "";
  for (const comment of options.comments ?? []) out += `#${comment}\n`;
  for (const [key, value] of entries) {
    out += `${escapeForStore(key, true)}=${escapeForStore(value, false)}\n`;
  }
  return out;
}
