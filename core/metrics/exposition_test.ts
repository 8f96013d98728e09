import assert from "node:assert/strict";
import { encodeMetrics, escapeLabelValue, type MetricFamily } from "./exposition.ts";
import { parsePrometheusText } from "./prometheus_text_parser.ts";

const MESSAGES_IN: MetricFamily = {
  name: "kafka_server_brokertopicmetrics_messagesin_total",
  help: "Messages appended",
  type: "counter",
  samples: [{ value: 7 }, { labels: { topic: "orders" }, value: 7 }],
};

Deno.test("each family gets one HELP and one TYPE line before its samples, and the text ends with a line feed", () => {
  assert.equal(
    encodeMetrics([MESSAGES_IN]),
    [
      "# HELP kafka_server_brokertopicmetrics_messagesin_total Messages appended",
      "# TYPE kafka_server_brokertopicmetrics_messagesin_total counter",
      "kafka_server_brokertopicmetrics_messagesin_total 7",
      'kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} 7',
      "",
    ].join("\n"),
  );
});

Deno.test("label values escape backslash, double quote and line feed, and parse back unchanged", () => {
  const awkward = 'C:\\dir "quoted"\nnext line';
  assert.equal(escapeLabelValue(awkward), 'C:\\\\dir \\"quoted\\"\\nnext line');
  const text = encodeMetrics([{
    name: "kafka_consumergroup_lag",
    help: "Lag with a \\ backslash\nand a line feed",
    type: "gauge",
    samples: [{ labels: { consumergroup: awkward, topic: "t", partition: 0 }, value: 3 }],
  }]);
  const [family] = parsePrometheusText(text);
  assert.equal(family?.help, "Lag with a \\ backslash\nand a line feed");
  assert.equal(family?.type, "gauge");
  assert.deepEqual(family?.samples, [{
    name: "kafka_consumergroup_lag",
    labels: { consumergroup: awkward, topic: "t", partition: "0" },
    value: 3,
  }]);
});

Deno.test("NaN and infinities are written as Prometheus spells them", () => {
  const text = encodeMetrics([{
    name: "odd",
    help: "odd values",
    type: "gauge",
    samples: [
      { labels: { v: "nan" }, value: NaN },
      { labels: { v: "inf" }, value: Infinity },
      { labels: { v: "-inf" }, value: -Infinity },
      { labels: { v: "frac" }, value: 0.25 },
    ],
  }]);
  assert.match(text, /^odd\{v="nan"\} NaN$/m);
  assert.match(text, /^odd\{v="inf"\} \+Inf$/m);
  assert.match(text, /^odd\{v="-inf"\} -Inf$/m);
  const values = parsePrometheusText(text)[0]!.samples.map((s) => s.value);
  assert.ok(Number.isNaN(values[0]));
  assert.deepEqual(values.slice(1), [Infinity, -Infinity, 0.25]);
});

Deno.test("a family with no samples still has its HELP and TYPE, and nothing at all encodes to empty text", () => {
  assert.equal(encodeMetrics([]), "");
  const [family] = parsePrometheusText(encodeMetrics([{ ...MESSAGES_IN, samples: [] }]));
  assert.equal(family?.type, "counter");
  assert.deepEqual(family?.samples, []);
});

Deno.test("invalid metric or label names and a family encoded twice are refused", () => {
  assert.throws(() => encodeMetrics([{ ...MESSAGES_IN, name: "kafka-server" }]), RangeError);
  assert.throws(
    () =>
      encodeMetrics([{ ...MESSAGES_IN, samples: [{ labels: { "topic-name": "x" }, value: 1 }] }]),
    RangeError,
  );
  assert.throws(
    () => encodeMetrics([{ ...MESSAGES_IN, samples: [{ labels: { __name__: "x" }, value: 1 }] }]),
    RangeError,
  );
  assert.throws(() => encodeMetrics([MESSAGES_IN, MESSAGES_IN]), /encoded twice/);
});

Deno.test("the strict test parser refuses what Prometheus refuses", () => {
  const bad = [
    "up 1", // no final line feed
    'up{a="x\\q"} 1\n', // unknown escape
    "# TYPE up gauge\nup 1\nother 2\nup 3\n", // family split in two
    "up 1\n# TYPE up gauge\n", // TYPE after a sample
    "up one\n", // not a number
    'up{a="1",a="2"} 1\n', // label given twice
    "up 1\nup 2\n", // duplicate series
    "# TYPE up meter\n", // unknown type
  ];
  for (const text of bad) assert.throws(() => parsePrometheusText(text), SyntaxError, text);
});
