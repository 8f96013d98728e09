import assert from "node:assert/strict";
import { escapeHtml, markup, pathSegment, SafeHtml } from "./html.ts";
import { formatBytes, SHOWN_BYTES_MAX } from "./record_format.ts";

Deno.test("escapeHtml escapes the five characters that can break out of text or an attribute", () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
  );
});

Deno.test("the markup tag escapes interpolations but keeps nested fragments", () => {
  const evil = `"><script>alert(1)</script>`;
  const cell = markup`<td title="${evil}">${evil}</td>`;
  assert.equal(
    cell.text,
    '<td title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>',
  );
  assert.equal(markup`<tr>${[cell, cell]}</tr>`.text, `<tr>${cell.text}${cell.text}</tr>`);
  assert.equal(markup`${null}${undefined}${false}${0}`.text, "0");
  assert.equal(markup`${new SafeHtml("<br>")}`.text, "<br>");
});

Deno.test("path segments are percent-encoded so a name cannot add path parts or a query", () => {
  assert.equal(pathSegment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
});

Deno.test("bytes show as text, pretty JSON or hex; null as null; long values are cut and say so", () => {
  const bytes = new TextEncoder().encode('{"a":[1,2]}');
  assert.equal(formatBytes(bytes, "text"), '{"a":[1,2]}');
  assert.equal(formatBytes(bytes, "json"), '{\n  "a": [\n    1,\n    2\n  ]\n}');
  assert.equal(formatBytes(new TextEncoder().encode("nope"), "json"), "nope\n(not JSON)");
  assert.equal(formatBytes(new TextEncoder().encode("nope"), "json", { quiet: true }), "nope");
  assert.equal(formatBytes(new Uint8Array([0, 15, 255]), "hex"), "00 0f ff");
  assert.equal(formatBytes(null, "hex"), "null");
  const long = formatBytes(new Uint8Array(SHOWN_BYTES_MAX + 10).fill(65), "text");
  assert.match(long, /… 10 more bytes not shown$/);
});
