// KIP-848 regex subscriptions are compiled with RE2/J in Kafka; these check our RE2-syntax subset
// and its linear-time matcher.
import assert from "node:assert/strict";
import { compileTopicRegex, REPEAT_COUNT_MAX } from "./topic_regex.ts";

function matcher(source: string): (name: string) => boolean {
  const compiled = compileTopicRegex(source);
  if (!compiled.ok) throw new Error(`${source}: ${compiled.error}`);
  return compiled.regex.matches;
}

function errorOf(source: string): string {
  const compiled = compileTopicRegex(source);
  assert.equal(compiled.ok, false, `${source} should be rejected`);
  return compiled.ok ? "" : compiled.error;
}

Deno.test("a regex matches whole topic names only, as Pattern.matches() does", () => {
  const m = matcher("orders-.*");
  assert.equal(m("orders-eu"), true);
  assert.equal(m("orders-"), true);
  assert.equal(m("old-orders-eu"), false);
  assert.equal(matcher("a")("ab"), false);
  assert.equal(matcher("")(""), true);
  assert.equal(matcher("")("a"), false);
});

Deno.test("alternation, groups and quantifiers follow RE2", () => {
  const m = matcher("(orders|payments)-(?:eu|us)-\\d{2,3}");
  assert.equal(m("orders-eu-12"), true);
  assert.equal(m("payments-us-123"), true);
  assert.equal(m("payments-us-1234"), false);
  assert.equal(m("payments-us-1"), false);
  assert.equal(matcher("a+b?c*")("aaac"), true);
  assert.equal(matcher("a+b?c*")("bc"), false);
  assert.equal(matcher("x{3}")("xxx"), true);
  assert.equal(matcher("x{3}")("xx"), false);
  assert.equal(matcher("x{2,}")("xxxxxx"), true);
  assert.equal(matcher("a*?b+?")("aab"), true); // lazy forms accept the same names
  assert.equal(matcher("(?P<region>eu|us)-t")("eu-t"), true);
  assert.equal(matcher("(?<region>eu|us)-t")("us-t"), true);
  assert.equal(matcher("(a*)*b")("aaab"), true);
  assert.equal(matcher("a{,2}")("a{,2}"), true); // not a repeat: literal, as in RE2
});

Deno.test("classes, escapes and POSIX classes follow RE2", () => {
  assert.equal(matcher("[a-c]+")("abcab"), true);
  assert.equal(matcher("[^a-c]+")("xyz"), true);
  assert.equal(matcher("[^a-c]+")("xaz"), false);
  assert.equal(matcher("[\\d.]+")("1.2"), true);
  assert.equal(matcher("[\\D]+")("ab"), true);
  assert.equal(matcher("[\\D]+")("a1"), false);
  assert.equal(matcher("\\w+\\.\\w+")("a_1.b"), true);
  assert.equal(matcher("\\W")("-"), true);
  assert.equal(matcher("[[:alpha:]]+")("abc"), true);
  assert.equal(matcher("[[:^digit:]]+")("ab"), true);
  assert.equal(matcher("[[:^digit:]]+")("a1"), false);
  assert.equal(matcher("[-a]+")("-a-"), true);
  assert.equal(matcher("[a-]+")("a-"), true);
  assert.equal(matcher("[]a]+")("]a"), true);
  assert.equal(matcher("\\x41\\x{42}")("AB"), true);
  assert.equal(matcher("\\pL+")("abc"), true);
  assert.equal(matcher("\\p{L}+")("ab1"), false);
  assert.equal(matcher("a.c")("a-c"), true);
  assert.equal(matcher("a\\.c")("a-c"), false);
});

Deno.test("flags and assertions follow RE2", () => {
  assert.equal(matcher("(?i)orders")("ORDERS"), true);
  assert.equal(matcher("(?i:or)ders")("ORders"), true);
  assert.equal(matcher("(?i:or)ders")("ORDERS"), false);
  assert.equal(matcher("(?i)[a-c]+")("ABC"), true);
  assert.equal(matcher("^orders$")("orders"), true);
  assert.equal(matcher("\\Aorders\\z")("orders"), true);
  assert.equal(matcher("a\\bb")("ab"), false);
  assert.equal(matcher("a\\b-b")("a-b"), true);
  assert.equal(matcher("a\\Bb")("ab"), true);
});

Deno.test("invalid regexes are rejected with RE2's reasons", () => {
  assert.match(errorOf("(a"), /missing closing \)/);
  assert.match(errorOf("a)"), /unexpected \)/);
  assert.match(errorOf("[a"), /missing closing \]/);
  assert.match(errorOf("*a"), /missing argument to repetition operator/);
  assert.match(errorOf("a**"), /bad repetition operator/);
  assert.match(errorOf("[z-a]"), /invalid character class range/);
  assert.match(errorOf("(a)\\1"), /backreferences are not supported/);
  assert.match(errorOf("a(?=b)"), /lookaround/);
  assert.match(errorOf("\\q"), /invalid escape sequence/);
  assert.match(errorOf("a\\"), /trailing backslash/);
  assert.match(errorOf(`a{${REPEAT_COUNT_MAX + 1}}`), /invalid repeat count/);
  assert.match(errorOf("[[:nope:]]"), /invalid character class range/);
  assert.match(errorOf("\\p{Nope}"), /invalid character class range/);
  assert.match(errorOf("(a{1000}){1000}"), /too large/);
});

Deno.test("matching takes linear time where a backtracking engine takes minutes", () => {
  // JavaScript's RegExp needs ~80 s for this pair; RE2 semantics make it instant.
  const m = matcher("(a+)+$");
  const startedMs = performance.now();
  assert.equal(m("a".repeat(200) + "b"), false);
  assert.equal(matcher("(a|aa)*c")("a".repeat(249)), false);
  assert.ok(performance.now() - startedMs < 1000, "matching took over a second");
});
