/**
 * How the records browser shows bytes: as text (UTF-8), as JSON (pretty-printed when it parses)
 * or as hex. Long values are cut at {@link SHOWN_BYTES_MAX} and say so.
 *
 * @module
 */

/** The ways a key, value or header value can be shown. */
export const RECORD_FORMATS = ["text", "json", "hex"] as const;
/** One of {@link RECORD_FORMATS}. */
export type RecordFormat = typeof RECORD_FORMATS[number];

/** Bytes of one key or value shown on the page; the rest is counted, not shown. */
export const SHOWN_BYTES_MAX = 4096;

const decoder = new TextDecoder("utf-8", { fatal: false });

function hex(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(
      [...bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" "),
    );
  }
  return lines.join("\n");
}

/**
 * Shows `bytes` in `format`; null bytes (a null key or a tombstone) show as `null`. JSON that does
 * not parse is shown as text with a note (without it when `quiet`: keys and headers are often
 * plain strings beside JSON values), never hidden.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./record_format.ts";
 * formatBytes(new TextEncoder().encode('{"a":1}'), "json"); // '{\n  "a": 1\n}'
 * formatBytes(new Uint8Array([0, 255]), "hex"); // "00 ff"
 * ```
 */
export function formatBytes(
  bytes: Uint8Array | null,
  format: RecordFormat,
  options: { quiet?: boolean } = {},
): string {
  if (bytes === null) return "null";
  const shown = bytes.subarray(0, SHOWN_BYTES_MAX);
  const cut = bytes.length > SHOWN_BYTES_MAX
    ? `\n… ${bytes.length - SHOWN_BYTES_MAX} more bytes not shown`
    : "";
  if (format === "hex") return hex(shown) + cut;
  const text = decoder.decode(shown);
  if (format === "json" && cut === "") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return options.quiet ? text : `${text}\n(not JSON)`;
    }
  }
  return text + cut;
}
