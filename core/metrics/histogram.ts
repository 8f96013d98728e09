/**
 * A classic Prometheus histogram: fixed upper bounds, a count per bucket, a sum and a count.
 * Pure: the caller measures the durations and hands them in.
 *
 * @module
 */

import type { MetricSample } from "./exposition.ts";

/**
 * Upper bounds in milliseconds for request latency, from sub-millisecond metadata calls to the
 * 30 s a long-poll fetch or an acks=all produce may wait.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
  30000,
];

/**
 * Counts observations into buckets. The exposition's buckets are cumulative (`le` is "less than
 * or equal"); a `+Inf` bucket always closes them and equals the count.
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram([1, 10]);
 * h.observe(0.4);
 * h.observe(7);
 * h.samples({ request: "Produce" }).map((s) => `${s.suffix}${JSON.stringify(s.labels)} ${s.value}`);
 * // _bucket{"request":"Produce","le":"1"} 1, _bucket{..."le":"10"} 2, _bucket{..."le":"+Inf"} 2,
 * // _sum{"request":"Produce"} 7.4, _count{"request":"Produce"} 2
 * ```
 */
export class Histogram {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last entry is the `+Inf` bucket. */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) {
        throw new RangeError(`Histogram bounds must increase: ${bounds.join(", ")}`);
      }
    }
    this.bounds = [...bounds];
    this.#counts = new Array(bounds.length + 1).fill(0);
  }

  /** Adds one observation (negative values, from a clock step, count as 0). */
  observe(value: number): void {
    const v = value > 0 ? value : 0;
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += v;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  /** The `_bucket`, `_sum` and `_count` samples of this histogram with `labels` added. */
  samples(labels: Readonly<Record<string, string | number>> = {}): MetricSample[] {
    const out: MetricSample[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.#counts[i]!;
      out.push({ suffix: "_bucket", labels: { ...labels, le: String(bound) }, value: cumulative });
    });
    out.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: this.#count });
    out.push({ suffix: "_sum", labels, value: this.#sum });
    out.push({ suffix: "_count", labels, value: this.#count });
    return out;
  }
}
