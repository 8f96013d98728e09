// Expected values follow java.util.Properties.load (Java 9+ LineReader/loadConvert).
import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  decodeLatin1,
  formatProperties,
  parseProperties,
  PropertiesSyntaxError,
} from "./properties.ts";

const parse = (text: string) => Object.fromEntries(parseProperties(text));

Deno.test("the three separators and surrounding whitespace all split key from value", () => {
  assertEquals(parse("a=1\nb:2\nc 3\nd\t4\ne = 5\nf : 6\ng  =  7"), {
    a: "1",
    b: "2",
    c: "3",
    d: "4",
    e: "5",
    f: "6",
    g: "7",
  });
});

Deno.test("whitespace before an equals sign is absorbed as the separator", () => {
  // "key = = v": the first '=' after whitespace is the separator, the second belongs to the value.
  assertEquals(parse("key = = v"), { key: "= v" });
  assertEquals(parse("key  :x"), { key: "x" });
});

Deno.test("only the first unescaped separator splits; later ones stay in the value", () => {
  assertEquals(parse("url=http://h:9092/a=b"), { url: "http://h:9092/a=b" });
});

Deno.test("comments start with # or ! after leading whitespace, anywhere else they are text", () => {
  assertEquals(parse("# c\n  ! also\n\t#x=1\na=#not comment\nb=1 # trailing"), {
    a: "#not comment",
    b: "1 # trailing",
  });
});

Deno.test("a comment line ending in a backslash does not continue", () => {
  assertEquals(parse("# comment \\\na=1"), { a: "1" });
});

Deno.test("a key alone has an empty value, and an empty key is possible", () => {
  assertEquals(parse("lonely\n=v\n:w"), { lonely: "", "": "w" });
});

Deno.test("trailing whitespace of a value is kept, leading is dropped", () => {
  assertEquals(parse("a =   x  \t"), { a: "x  \t" });
});

Deno.test("line continuation joins lines and skips the next line's leading whitespace", () => {
  assertEquals(parse("log.dirs=/a,\\\n     /b,\\\n\t/c\nnext=1"), {
    "log.dirs": "/a,/b,/c",
    next: "1",
  });
});

Deno.test("an even number of trailing backslashes is an escaped backslash, not a continuation", () => {
  assertEquals(parse("a=x\\\\\nb=y"), { a: "x\\", b: "y" });
  assertEquals(parse("a=x\\\\\\\ny"), { a: "x\\y" });
});

Deno.test("a continuation line starting with # is text, not a comment", () => {
  assertEquals(parse("a=1\\\n  #2"), { a: "1#2" });
});

Deno.test("an empty line after a continuation ends the logical line", () => {
  assertEquals(parse("a=1\\\n\nb=2"), { a: "1", b: "2" });
  assertEquals(parse("a=1\\\n   \nb=2"), { a: "1", b: "2" });
});

Deno.test("a trailing backslash at end of input is dropped", () => {
  assertEquals(parse("a=1\\"), { a: "1" });
});

Deno.test("CR, LF and CRLF all end lines, and CRLF continuation works", () => {
  assertEquals(parse("a=1\r\nb=2\rc=3\nd=4\\\r\n  5"), { a: "1", b: "2", c: "3", d: "45" });
});

Deno.test("escapes resolve in keys and values; unknown escapes drop the backslash", () => {
  assertEquals(parse("k\\ey\\ with\\:colon\\=eq = a\\tb\\nc\\rd\\fe\\\\f\\qg"), {
    "key with:colon=eq": "a\tb\nc\rd\fe\\fqg",
  });
});

Deno.test("unicode escapes decode, and a malformed one is an error", () => {
  assertEquals(parse("greeting=caf\\u00e9 \\u2603"), { greeting: "café ☃" });
  assertThrows(() => parseProperties("a=\\u12G4"), PropertiesSyntaxError);
  assertThrows(() => parseProperties("a=\\u12"), PropertiesSyntaxError);
});

Deno.test("later keys override earlier ones", () => {
  assertEquals(parse("a=1\nb=2\na=3"), { a: "3", b: "2" });
});

Deno.test("form feed counts as whitespace", () => {
  assertEquals(parse("\f a\fb"), { a: "b" });
});

Deno.test("ISO-8859-1 decoding maps every byte to the same code point", () => {
  assertEquals(decodeLatin1(new Uint8Array([0x61, 0x80, 0xe9, 0xff])), "a\u0080\u00e9\u00ff");
});

Deno.test("formatted properties read back to the same map", () => {
  const entries = new Map([
    ["plain", "value"],
    ["with space", " leading and = : # ! \\ \t\n"],
    ["unicode", "café ☃"],
    ["#key", "!v"],
  ]);
  const text = formatProperties(entries, { comments: [""] });
  assertEquals(text.startsWith("#\n"), true);
  assertEquals(parseProperties(text), entries);
});
