/**
 * Regular expressions for KIP-848 topic subscriptions (ConsumerGroupHeartbeat v1
 * `SubscribedTopicRegex`), resolved on the coordinator against the topic names of the metadata
 * image. Kafka compiles them with RE2/J, whose matching time is linear in the input; a JavaScript
 * `RegExp` backtracks, and `(a+)+$` against 28 letters already takes over a minute, which a client
 * could use to stall the broker. So the pattern is parsed here (RE2 syntax, the subset below) and
 * run as a Thompson NFA: time O(pattern × name), no backtracking.
 *
 * Supported (RE2 syntax): literals and escaped punctuation, `.`, `[...]` / `[^...]` classes with
 * ranges, `\d \D \w \W \s \S` (also inside classes), POSIX `[[:alpha:]]`-style classes, `\pL` /
 * `\p{Greek}` (Unicode properties, as JavaScript knows them), `\t \n \r \f \v \a \x41 \x{263a}`,
 * groups `(re)`, `(?:re)`, `(?P<name>re)`, `(?<name>re)`, flags `(?i)`, `(?s)`, `(?m)`, `(?U)`
 * (also `(?i:re)` and `(?-i)`), alternation, `* + ? {n} {n,} {n,m}` and their lazy forms, and the
 * assertions `^ $ \A \z \b \B`. Like RE2 it rejects backreferences, lookaround and possessive
 * quantifiers, and repeat counts above 1000. Matching is whole-name, as Kafka's
 * `Pattern.matcher(topic).matches()`.
 *
 * @example
 * ```ts
 * import { compileTopicRegex } from "./topic_regex.ts";
 * const compiled = compileTopicRegex("orders-(eu|us)-\\d+");
 * if (!compiled.ok) throw new Error(compiled.error);
 * compiled.regex.matches("orders-eu-7"); // true
 * compiled.regex.matches("orders-eu-7x"); // false (whole name)
 * compileTopicRegex("(a").ok; // false: "missing closing )"
 * ```
 *
 * @module
 */

/** RE2's bound on `{n,m}` counts. */
export const REPEAT_COUNT_MAX = 1000;
/** Bound on the compiled program, so that nested repeats cannot blow up memory. */
export const PROGRAM_STATES_MAX = 5_000;

type CharTest = (c: string) => boolean;

type Node =
  | { kind: "char"; test: CharTest }
  | { kind: "empty" }
  | { kind: "assert"; test: (s: string, i: number) => boolean }
  | { kind: "concat"; items: Node[] }
  | { kind: "alt"; items: Node[] }
  | { kind: "repeat"; node: Node; min: number; max: number }; // max -1: unbounded

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
}

type Escape = { char: string } | { set: string; negated: boolean };

const CHAR_ESCAPES: Record<string, string> = {
  t: "\t",
  n: "\n",
  r: "\r",
  f: "\f",
  v: "\v",
  a: "\x07",
  "0": "\0",
};

class SyntaxError_ extends Error {}

function fail(message: string): never {
  throw new SyntaxError_(message);
}

const PERL_CLASSES: Record<string, string> = {
  d: "0-9",
  w: "0-9A-Za-z_",
  s: "\\t\\n\\f\\r ",
};

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7f",
  blank: "\\t ",
  cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const isWordChar = (c: string | undefined) => c !== undefined && /^[0-9A-Za-z_]$/.test(c);

/** A one-character test from JavaScript class syntax; safe: it never matches more than one char. */
function classTest(jsClass: string, flags: Flags): CharTest {
  const re = new RegExp(`^${jsClass}$`, flags.i ? "iu" : "u");
  return (c) => re.test(c);
}

function escapeForClass(c: string): string {
  return /[\\\]\[^\-]/.test(c) ? `\\${c}` : c;
}

/** A recursive-descent parser for the RE2 subset documented in the module comment. */
class Parser {
  #pos = 0;
  #flags: Flags = { i: false, s: false, m: false };

  constructor(readonly source: string) {}

  parse(): Node {
    const node = this.#alternation();
    if (this.#pos < this.source.length) fail(`unexpected ) at offset ${this.#pos}`);
    return node;
  }

  #peek(offset = 0): string | undefined {
    return this.source[this.#pos + offset];
  }

  #alternation(): Node {
    const saved = { ...this.#flags };
    const items = [this.#concatenation()];
    while (this.#peek() === "|") {
      this.#pos++;
      items.push(this.#concatenation());
    }
    this.#flags = saved;
    return items.length === 1 ? items[0]! : { kind: "alt", items };
  }

  #concatenation(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.#peek();
      if (c === undefined || c === "|" || c === ")") break;
      const atom = this.#atom();
      if (atom === null) continue; // a flag group such as (?i) changes flags and matches nothing
      items.push(this.#quantified(atom));
    }
    return items.length === 1 ? items[0]! : { kind: "concat", items };
  }

  #quantified(atom: Node): Node {
    const c = this.#peek();
    let min: number;
    let max: number;
    if (c === "*") [min, max] = [0, -1];
    else if (c === "+") [min, max] = [1, -1];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.#pos));
      if (m === null) return atom; // RE2 reads a brace that is not a repeat as a literal
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
      if (min > REPEAT_COUNT_MAX || max > REPEAT_COUNT_MAX || (max !== -1 && max < min)) {
        fail(`invalid repeat count ${m[0]}`);
      }
      this.#pos += m[0].length - 1;
    } else return atom;
    this.#pos++;
    if (this.#peek() === "?") this.#pos++; // lazy: the same set of matches
    const next = this.#peek();
    if (next === "*" || next === "+" || next === "?" || (next === "{" && this.#isRepeatBrace())) {
      fail(`bad repetition operator: ${this.source.slice(this.#pos - 1, this.#pos + 1)}`);
    }
    // A repeated assertion either must hold (min > 0) or is optional.
    if (atom.kind === "assert" || atom.kind === "empty") return min > 0 ? atom : { kind: "empty" };
    return { kind: "repeat", node: atom, min, max };
  }

  #isRepeatBrace(): boolean {
    return /^\{\d+(,\d*)?\}/.test(this.source.slice(this.#pos));
  }

  #atom(): Node | null {
    const c = String.fromCodePoint(this.source.codePointAt(this.#pos)!);
    this.#pos += c.length;
    switch (c) {
      case "(":
        return this.#group();
      case "[":
        return { kind: "char", test: this.#bracket() };
      case ".": {
        const dotAll = this.#flags.s;
        return { kind: "char", test: (ch) => dotAll || ch !== "\n" };
      }
      case "^": {
        const multiline = this.#flags.m;
        return { kind: "assert", test: (s, i) => i === 0 || (multiline && s[i - 1] === "\n") };
      }
      case "$": {
        const multiline = this.#flags.m;
        return {
          kind: "assert",
          test: (s, i) => i === s.length || (multiline && s[i] === "\n"),
        };
      }
      case "\\":
        return this.#escape();
      case "*":
      case "+":
      case "?":
        return fail(`missing argument to repetition operator: ${c}`);
      default:
        if (c === "{" && /^\{\d+(,\d*)?\}/.test(this.source.slice(this.#pos - 1))) {
          fail("missing argument to repetition operator: {");
        }
        return { kind: "char", test: this.#literal(c) };
    }
  }

  #literal(c: string): CharTest {
    if (!this.#flags.i) return (ch) => ch === c;
    const lower = c.toLowerCase();
    return (ch) => ch.toLowerCase() === lower;
  }

  #group(): Node | null {
    if (this.#peek() !== "?") return this.#groupBody();
    const rest = this.source.slice(this.#pos);
    const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named !== null) {
      this.#pos += named[0].length;
      return this.#groupBody();
    }
    if (/^\?(=|!|<=|<!)/.test(rest)) fail("invalid or unsupported Perl syntax: lookaround");
    const flags = /^\?([imsU]*)(?:-([imsU]*))?(:|\))/.exec(rest);
    if (flags === null || (flags[1] === "" && flags[2] === undefined && flags[3] === ")")) {
      fail(`invalid or unsupported Perl syntax: (${rest.slice(0, 3)}`);
    }
    this.#pos += flags[0].length;
    const next = { ...this.#flags };
    for (const f of flags[1] ?? "") if (f !== "U") next[f as keyof Flags] = true;
    for (const f of flags[2] ?? "") if (f !== "U") next[f as keyof Flags] = false;
    if (flags[3] === ")") {
      this.#flags = next; // until the end of the enclosing group
      return null;
    }
    const saved = this.#flags;
    this.#flags = next;
    const body = this.#groupBody();
    this.#flags = saved;
    return body;
  }

  #groupBody(): Node {
    const node = this.#alternation();
    if (this.#peek() !== ")") fail("missing closing )");
    this.#pos++;
    return node;
  }

  /** `\x` outside a class: a character test, an assertion, or an error. */
  #escape(): Node {
    const c = this.source[this.#pos];
    if (c === "A" || c === "z" || c === "b" || c === "B") {
      this.#pos++;
      if (c === "A") return { kind: "assert", test: (_s, i) => i === 0 };
      if (c === "z") return { kind: "assert", test: (s, i) => i === s.length };
      const want = c === "b";
      return {
        kind: "assert",
        test: (s, i) => (isWordChar(s[i - 1]) !== isWordChar(s[i])) === want,
      };
    }
    const e = this.#readEscape();
    if ("char" in e) return { kind: "char", test: this.#literal(e.char) };
    return { kind: "char", test: classTest(`[${e.negated ? "^" : ""}${e.set}]`, this.#flags) };
  }

  /** The escape after a backslash: one character, or a set in JavaScript class syntax. */
  #readEscape(): Escape {
    const c = this.source[this.#pos++];
    if (c === undefined) fail("trailing backslash at end of expression");
    const perl = PERL_CLASSES[c.toLowerCase()];
    if (perl !== undefined) return { set: perl, negated: c !== c.toLowerCase() };
    const named = CHAR_ESCAPES[c];
    if (named !== undefined) return { char: named };
    if (c === "x") return { char: this.#hexEscape() };
    if (c === "p" || c === "P") return { set: this.#unicodeClass(c === "P"), negated: false };
    if (/[1-9]/.test(c)) fail(`invalid escape sequence: \\${c} (backreferences are not supported)`);
    if (/[A-Za-z0-9]/.test(c)) fail(`invalid escape sequence: \\${c}`);
    return { char: c };
  }

  #hexEscape(): string {
    const rest = this.source.slice(this.#pos);
    const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(rest) ?? /^([0-9A-Fa-f]{2})/.exec(rest);
    if (m === null) fail("invalid escape sequence: \\x");
    this.#pos += m[0].length;
    const code = parseInt(m[1]!, 16);
    if (code > 0x10ffff) fail(`invalid escape sequence: \\x${m[0]}`);
    return String.fromCodePoint(code);
  }

  /** `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL` as JavaScript class content. */
  #unicodeClass(negated: boolean): string {
    const rest = this.source.slice(this.#pos);
    const m = /^\{(\^?)([A-Za-z_]+)\}/.exec(rest) ?? /^()([A-Za-z])/.exec(rest);
    if (m === null) fail("invalid character class range: \\p");
    this.#pos += m[0].length;
    const text = `\\${negated !== (m[1] === "^") ? "P" : "p"}{${m[2]}}`;
    try {
      new RegExp(`[${text}]`, "u");
    } catch {
      fail(`invalid character class range: ${text}`);
    }
    return text;
  }

  /** `[...]` after the `[`: a one-character test. */
  #bracket(): CharTest {
    let negated = false;
    if (this.#peek() === "^") {
      negated = true;
      this.#pos++;
    }
    const positive: string[] = [];
    const complements: string[] = []; // \D, \W, \S, [:^alpha:] inside a class
    let first = true;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) fail("missing closing ]");
      if (c === "]" && !first) {
        this.#pos++;
        break;
      }
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.source.slice(this.#pos));
      if (posix !== null) {
        const set = POSIX_CLASSES[posix[2]!];
        if (set === undefined) fail(`invalid character class range: ${posix[0]}`);
        this.#pos += posix[0].length;
        (posix[1] === "^" ? complements : positive).push(set);
        continue;
      }
      const lo = this.#classMember();
      if (typeof lo !== "string") {
        (lo.negated ? complements : positive).push(lo.set);
        continue;
      }
      if (this.#peek() === "-" && this.#peek(1) !== "]" && this.#peek(1) !== undefined) {
        this.#pos++;
        const hi = this.#classMember();
        if (typeof hi !== "string") fail("invalid character class range: a range ends in a class");
        if (hi.codePointAt(0)! < lo.codePointAt(0)!) {
          fail(`invalid character class range: ${lo}-${hi}`);
        }
        positive.push(`${escapeForClass(lo)}-${escapeForClass(hi)}`);
      } else positive.push(escapeForClass(lo));
    }
    const flags = this.#flags;
    const tests: CharTest[] = [];
    if (positive.length > 0) tests.push(classTest(`[${positive.join("")}]`, flags));
    for (const set of complements) tests.push(classTest(`[^${set}]`, flags));
    return (ch) => tests.some((t) => t(ch)) !== negated;
  }

  /** One member of a class: a character, or a set. */
  #classMember(): string | { set: string; negated: boolean } {
    const c = String.fromCodePoint(this.source.codePointAt(this.#pos)!);
    this.#pos += c.length;
    if (c !== "\\") return c;
    const e = this.#readEscape();
    return "char" in e ? e.char : e;
  }
}

// ------------------------------------------------------------------ the NFA

type State =
  | { op: "char"; test: CharTest; next: number }
  | { op: "split"; a: number; b: number }
  | { op: "jump"; next: number }
  | { op: "assert"; test: (s: string, i: number) => boolean; next: number }
  | { op: "match" };

class Compiler {
  readonly states: State[] = [];

  #add(state: State): number {
    if (this.states.length >= PROGRAM_STATES_MAX) {
      fail(`expression too large (over ${PROGRAM_STATES_MAX} states after expanding repeats)`);
    }
    this.states.push(state);
    return this.states.length - 1;
  }

  /** Emits `node` so that it continues at state `next`; returns the state it starts at. */
  emit(node: Node, next: number): number {
    switch (node.kind) {
      case "empty":
        return next;
      case "char":
        return this.#add({ op: "char", test: node.test, next });
      case "assert":
        return this.#add({ op: "assert", test: node.test, next });
      case "concat": {
        let start = next;
        for (let i = node.items.length - 1; i >= 0; i--) start = this.emit(node.items[i]!, start);
        return start;
      }
      case "alt": {
        const starts = node.items.map((item) => this.emit(item, next));
        let start = starts[starts.length - 1]!;
        for (let i = starts.length - 2; i >= 0; i--) {
          start = this.#add({ op: "split", a: starts[i]!, b: start });
        }
        return start;
      }
      case "repeat":
        return this.#repeat(node.node, node.min, node.max, next);
    }
  }

  #repeat(node: Node, min: number, max: number, next: number): number {
    let tail: number;
    if (max === -1) {
      // x*: a loop state that either enters x (which jumps back) or leaves.
      const loop = this.#add({ op: "split", a: -1, b: next });
      const body = this.emit(node, loop);
      (this.states[loop] as { a: number }).a = body;
      tail = loop;
    } else {
      tail = next;
      for (let i = 0; i < max - min; i++) {
        const body = this.emit(node, tail);
        tail = this.#add({ op: "split", a: body, b: next });
      }
    }
    for (let i = 0; i < min; i++) tail = this.emit(node, tail);
    return tail;
  }
}

/** A compiled topic regex. */
export interface TopicRegex {
  readonly source: string;
  /** True when the whole of `name` matches (Kafka: `Pattern.matcher(name).matches()`). */
  matches(name: string): boolean;
}

/** The result of {@link compileTopicRegex}: the regex, or the syntax error in one sentence. */
export type CompiledTopicRegex =
  | { ok: true; regex: TopicRegex }
  | { ok: false; error: string };

function addState(
  states: State[],
  set: Set<number>,
  pc: number,
  s: string,
  i: number,
): void {
  const stack = [pc];
  while (stack.length > 0) {
    const at = stack.pop()!;
    if (set.has(at)) continue;
    set.add(at);
    const st = states[at]!;
    if (st.op === "jump") stack.push(st.next);
    else if (st.op === "split") stack.push(st.b, st.a);
    else if (st.op === "assert" && st.test(s, i)) stack.push(st.next);
  }
}

function run(states: State[], start: number, s: string): boolean {
  const chars = [...s];
  let current = new Set<number>();
  addState(states, current, start, s, 0);
  // Assertions see string offsets; keep them in step with the code-point walk.
  let offset = 0;
  for (const ch of chars) {
    const next = new Set<number>();
    const after = offset + ch.length;
    for (const pc of current) {
      const st = states[pc]!;
      if (st.op === "char" && st.test(ch)) addState(states, next, st.next, s, after);
    }
    current = next;
    offset = after;
    if (current.size === 0) return false;
  }
  for (const pc of current) if (states[pc]!.op === "match") return true;
  return false;
}

/**
 * Compiles a topic regex (RE2 syntax subset, see the module comment) into a linear-time matcher,
 * or explains in one sentence why it is not valid.
 */
export function compileTopicRegex(source: string): CompiledTopicRegex {
  try {
    const ast = new Parser(source).parse();
    const compiler = new Compiler();
    const match = compiler.states.length;
    compiler.states.push({ op: "match" });
    const start = compiler.emit(ast, match);
    const states = compiler.states;
    return { ok: true, regex: { source, matches: (name) => run(states, start, name) } };
  } catch (error) {
    if (error instanceof SyntaxError_) return { ok: false, error: error.message };
    throw error;
  }
}
