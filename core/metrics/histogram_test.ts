import assert from "node:assert/strict";
import { Histogram, LATENCY_BUCKETS_MS } from "./histogram.ts";
import { encodeMetrics } from "./exposition.ts";
import { parsePrometheusText } from "./prometheus_text_parser.ts";

Deno.test("a histogram's buckets are cumulative and its +Inf bucket equals its count", () => {
  const h = new Histogram([1, 10]);
  for (const ms of [0.2, 1, 3, 10, 11, 500]) h.observe(ms);
  const byLe = Object.fromEntries(
    h.samples().filter((s) => s.suffix === "_bucket").map((s) => [s.labels!.le, s.value]),
  );
  // le is "less than or equal": 1 and 10 fall in their own bounds' buckets.
  assert.deepEqual(byLe, { "1": 2, "10": 4, "+Inf": 6 });
  assert.equal(h.count, 6);
  assert.equal(h.sum, 525.2);
});

Deno.test("a histogram encodes to text the strict parser accepts as one family", () => {
  const produce = new Histogram(LATENCY_BUCKETS_MS);
  const fetch = new Histogram(LATENCY_BUCKETS_MS);
  produce.observe(3);
  fetch.observe(499);
  fetch.observe(40_000);
  const text = encodeMetrics([{
    name: "kafka_network_requestmetrics_totaltimems",
    help: "Request latency",
    type: "histogram",
    samples: [...produce.samples({ request: "Produce" }), ...fetch.samples({ request: "Fetch" })],
  }]);
  const [family] = parsePrometheusText(text);
  assert.equal(family?.type, "histogram");
  const count = family!.samples.find((s) =>
    s.name === "kafka_network_requestmetrics_totaltimems_count" && s.labels.request === "Fetch"
  );
  assert.equal(count?.value, 2);
  assert.match(
    text,
    /kafka_network_requestmetrics_totaltimems_bucket\{request="Fetch",le="500"\} 1\n/,
  );
});

Deno.test("the parser refuses a histogram whose +Inf bucket differs from its count", () => {
  const text = [
    "# TYPE t histogram",
    't_bucket{le="1"} 1',
    't_bucket{le="+Inf"} 2',
    "t_sum 3",
    "t_count 3",
    "",
  ].join("\n");
  assert.throws(() => parsePrometheusText(text), /\+Inf bucket 2 != _count 3/);
});

Deno.test("the parser refuses decreasing buckets and a histogram without +Inf", () => {
  const decreasing = '# TYPE t histogram\nt_bucket{le="1"} 2\nt_bucket{le="2"} 1\n' +
    't_bucket{le="+Inf"} 2\nt_sum 1\nt_count 2\n';
  assert.throws(() => parsePrometheusText(decreasing), /decrease/);
  const noInf = '# TYPE t histogram\nt_bucket{le="1"} 2\nt_sum 1\nt_count 2\n';
  assert.throws(() => parsePrometheusText(noInf), /no \+Inf/);
});

Deno.test("bounds that do not increase are refused", () => {
  assert.throws(() => new Histogram([1, 1]), RangeError);
});

Deno.test("only histogram samples may carry a suffix", () => {
  assert.throws(
    () =>
      encodeMetrics([{
        name: "g",
        help: "",
        type: "gauge",
        samples: [{ suffix: "_sum", value: 1 }],
      }]),
    /only histogram samples carry a suffix/,
  );
});
