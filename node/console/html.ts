/**
 * HTML that cannot be injected into: the {@link markup} tag (not named `html`, which deno fmt would reflow) escapes every interpolated value
 * unless it is already {@link SafeHtml} (another `markup` fragment). Record keys and values, topic
 * and group names all reach the page through it, so a value holding `<script>` shows as text.
 *
 * @module
 */

/** A fragment of HTML that is safe to include as is. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for an HTML element or a quoted attribute value.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * escapeHtml(`<script>alert("x")</script>`); // "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** What may be interpolated: text and numbers are escaped; arrays are joined; null is empty. */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * A template tag building {@link SafeHtml}: literal parts are kept, interpolations escaped.
 *
 * @example
 * ```ts
 * import { markup } from "./html.ts";
 * const name = "<b>";
 * markup`<td>${name}</td>`.text; // "<td>&lt;b&gt;</td>"
 * ```
 */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/**
 * A path segment for a link: topic and group names may hold `/`, `?`, `#` or spaces.
 *
 * @example
 * ```ts
 * import { pathSegment } from "./html.ts";
 * pathSegment("a/b c"); // "a%2Fb%20c"
 * ```
 */
export function pathSegment(name: string): string {
  return encodeURIComponent(name);
}
