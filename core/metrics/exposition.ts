/**
 * Prometheus text exposition format (version 0.0.4): metric families in, the text `/metrics`
 * serves out. Pure; the HTTP listener (`node/http_server.ts`) gathers the values at scrape time.
 *
 * @module
 */

/** A Prometheus metric type this encoder writes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One sample: label values by label name, and the value. */
export interface MetricSample {
  /** Histograms only: which of the family's series this sample is. */
  suffix?: "_bucket" | "_sum" | "_count";
  labels?: Readonly<Record<string, string | number>>;
  value: number;
}

/** One metric family: a name, its HELP text, its type and its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly MetricSample[];
}

/** The Content-Type Prometheus expects for this format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Escapes a label value: backslash, double quote and line feed, as the format requires.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./exposition.ts";
 * escapeLabelValue('a"b\\c'); // 'a\\"b\\\\c'
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes only backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Go's float formatting as Prometheus parses it: NaN, +Inf, -Inf, or a decimal number. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: MetricSample["labels"]): string {
  if (labels === undefined) return "";
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const parts = entries.map(([name, value]) => {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new RangeError(`Invalid Prometheus label name ${JSON.stringify(name)}`);
    }
    return `${name}="${escapeLabelValue(String(value))}"`;
  });
  return `{${parts.join(",")}}`;
}

/**
 * Encodes metric families as Prometheus text: a HELP and a TYPE line per family, then one line
 * per sample, and a final line feed. Families with no samples still get their HELP and TYPE.
 * Throws a `RangeError` on an invalid metric or label name (a programming error), or on a name
 * used by two families.
 *
 * @example
 * ```ts
 * import { encodeMetrics } from "./exposition.ts";
 * encodeMetrics([{
 *   name: "kafka_server_brokertopicmetrics_messagesin_total",
 *   help: "Messages appended",
 *   type: "counter",
 *   samples: [{ value: 3 }, { labels: { topic: "orders" }, value: 3 }],
 * }]);
 * // # HELP kafka_server_brokertopicmetrics_messagesin_total Messages appended
 * // # TYPE kafka_server_brokertopicmetrics_messagesin_total counter
 * // kafka_server_brokertopicmetrics_messagesin_total 3
 * // kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} 3
 * ```
 */
export function encodeMetrics(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) {
      throw new RangeError(`Invalid Prometheus metric name ${JSON.stringify(family.name)}`);
    }
    if (seen.has(family.name)) {
      throw new RangeError(`Metric family ${family.name} is encoded twice`);
    }
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      if ((sample.suffix !== undefined) !== (family.type === "histogram")) {
        throw new RangeError(`Metric ${family.name}: only histogram samples carry a suffix`);
      }
      const name = family.name + (sample.suffix ?? "");
      lines.push(`${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}
