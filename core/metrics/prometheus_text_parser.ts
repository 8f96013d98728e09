/**
 * A small strict parser of the Prometheus text exposition format (0.0.4), for tests: it refuses
 * what Prometheus would refuse (bad names, bad escapes, a sample before its TYPE, a family split
 * in two, duplicate series, a missing final line feed) instead of guessing.
 *
 * @module
 */

/** One parsed sample. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One parsed family. */
export interface ParsedFamily {
  name: string;
  help: string | null;
  type: string | null;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: number): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new SyntaxError(`line ${line}: invalid value ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Parses `{a="x",b="y"}` at the start of `rest`; returns the labels and what follows. */
function parseLabels(rest: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  if (!rest.startsWith("{")) return { labels, rest };
  let i = 1;
  while (rest[i] !== "}") {
    const name = LABEL_NAME.exec(rest.slice(i))?.[0];
    if (name === undefined) throw new SyntaxError(`line ${line}: invalid label name`);
    if (name in labels) throw new SyntaxError(`line ${line}: label ${name} given twice`);
    i += name.length;
    if (rest.slice(i, i + 2) !== '="') throw new SyntaxError(`line ${line}: expected ="`);
    i += 2;
    let value = "";
    for (;;) {
      const c = rest[i];
      if (c === undefined) throw new SyntaxError(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const e = rest[i + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new SyntaxError(`line ${line}: invalid escape \\${e}`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++;
    if (rest[i] === ",") i++;
    else if (rest[i] !== "}") throw new SyntaxError(`line ${line}: expected , or }`);
  }
  return { labels, rest: rest.slice(i + 1) };
}

/**
 * Parses exposition text into families; throws a `SyntaxError` naming the line on any violation.
 *
 * @example
 * ```ts
 * import { parsePrometheusText } from "./prometheus_text_parser.ts";
 * parsePrometheusText("# TYPE up gauge\nup 1\n")[0]?.samples[0]?.value; // 1
 * ```
 */
export function parsePrometheusText(text: string): ParsedFamily[] {
  if (text !== "" && !text.endsWith("\n")) throw new SyntaxError("the text must end with \\n");
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  let current: ParsedFamily | null = null;
  const family = (name: string, line: number): ParsedFamily => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new SyntaxError(`line ${line}: family ${name} is split`);
    current = { name, help: null, type: null, samples: [] };
    families.set(name, current);
    return current;
  };
  text.split("\n").slice(0, -1).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (METRIC_NAME.exec(name)?.[0] !== name) {
        throw new SyntaxError(`line ${line}: invalid metric name ${name}`);
      }
      const f = family(name, line);
      if (kind === "HELP") {
        if (f.help !== null) throw new SyntaxError(`line ${line}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) {
          throw new SyntaxError(`line ${line}: invalid escape in HELP`);
        }
        f.help = rest.replace(/\\(\\|n)/g, (_, e) => e === "n" ? "\n" : "\\");
      } else {
        if (f.type !== null || f.samples.length > 0) {
          throw new SyntaxError(`line ${line}: TYPE for ${name} must come once, before samples`);
        }
        if (!TYPES.has(rest)) throw new SyntaxError(`line ${line}: unknown type ${rest}`);
        f.type = rest;
      }
      return;
    }
    if (raw.startsWith("#")) return;
    const name = METRIC_NAME.exec(raw)?.[0];
    if (name === undefined) throw new SyntaxError(`line ${line}: invalid metric name`);
    const { labels, rest } = parseLabels(raw.slice(name.length), line);
    const fields = rest.trim().split(/ +/);
    if (!rest.startsWith(" ") || fields.length < 1 || fields.length > 2) {
      throw new SyntaxError(`line ${line}: expected one space, a value and an optional timestamp`);
    }
    const value = parseValue(fields[0]!, line);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) throw new SyntaxError(`line ${line}: duplicate series ${key}`);
    series.add(key);
    const c = current as ParsedFamily | null;
    const histogramPart = c?.type === "histogram" &&
      HISTOGRAM_SUFFIXES.some((suffix) => name === c.name + suffix);
    if (histogramPart) c!.samples.push({ name, labels, value });
    else family(name, line).samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return [...families.values()];
}

const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];

/**
 * A histogram's series, per label set: `le` buckets that never decrease as `le` grows, a `+Inf`
 * bucket equal to `_count`, and a `_sum`, as Prometheus requires of a classic histogram.
 */
function checkHistogram(f: ParsedFamily): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === f.name + "_bucket") {
      if (le === undefined) throw new SyntaxError(`histogram ${f.name}: a bucket without le`);
      entry.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === f.name + "_sum") entry.sum = s.value;
    else if (s.name === f.name + "_count") entry.count = s.value;
    else throw new SyntaxError(`histogram ${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, { buckets, sum, count }] of series) {
    buckets.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < buckets.length; i++) {
      if (buckets[i]![1] < buckets[i - 1]![1]) {
        throw new SyntaxError(`histogram ${f.name}${key}: bucket counts decrease`);
      }
    }
    const inf = buckets.at(-1);
    if (inf === undefined || inf[0] !== Infinity) {
      throw new SyntaxError(`histogram ${f.name}${key}: no +Inf bucket`);
    }
    if (count === undefined || sum === undefined) {
      throw new SyntaxError(`histogram ${f.name}${key}: _sum or _count missing`);
    }
    if (inf[1] !== count) {
      throw new SyntaxError(`histogram ${f.name}${key}: +Inf bucket ${inf[1]} != _count ${count}`);
    }
  }
}
