/**
 * What the HTTP listener costs (issue #14): produce and consume throughput of one node with
 * `kraftling.http.listener` off, beside one with it on while `/metrics` and the console's overview
 * are fetched every second, in the same run, alternating rounds so machine noise falls on both.
 * The load is librdkafka (confluent-kafka under /usr/bin/python3, `load_gen.py`).
 *
 * `deno run -A scripts/bench/http_overhead_bench.ts [records] [rounds]` prints a Markdown table.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { freePort, startNode, type TestNode } from "../../tests/integration/harness.ts";
import { Admin } from "../../net/client/admin.ts";

const LOAD_GEN = fileURLToPath(new URL("./load_gen.py", import.meta.url));
const RECORD_BYTES = 1024;
const PARTITIONS = 4;
const SCRAPE_INTERVAL_MS = 1000;

async function python(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command("/usr/bin/python3", { args: [LOAD_GEN, ...args] }).output();
  if (out.code !== 0) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

/** Records/s produced (acks=1) and consumed on a fresh topic of `node`. */
async function measure(node: TestNode, topic: string, records: number) {
  const admin = new Admin({ bootstrapServers: node.bootstrap });
  try {
    await admin.createTopics([{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }]);
  } finally {
    admin.close();
  }
  const produced = await python([
    "produce",
    node.bootstrap,
    topic,
    String(records),
    String(RECORD_BYTES),
    "1",
  ]);
  const consumed = await python(["consume", node.bootstrap, topic, String(records)]);
  return {
    produce: records / produced.seconds!,
    consume: consumed.records! / consumed.seconds!,
  };
}

/** Fetches `/metrics` and `/` every second until stopped; counts the scrapes. */
function scrapeEverySecond(base: string): { stop(): Promise<number> } {
  let scrapes = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      for (const path of ["/metrics", "/"]) {
        const response = await fetch(base + path);
        if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
        await response.arrayBuffer();
      }
      scrapes++;
      const waitMs = SCRAPE_INTERVAL_MS - (performance.now() - started);
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return scrapes;
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * Runs the comparison and returns its Markdown table (`deno task bench http`).
 *
 * @example
 * ```ts ignore
 * console.log(await runHttpOverheadBench({ records: 50_000, rounds: 3 }));
 * ```
 */
export async function runHttpOverheadBench(
  options: { records?: number; rounds?: number } = {},
): Promise<string> {
  const records = options.records ?? 100_000;
  const rounds = options.rounds ?? 3;
  const httpPort = freePort();
  const off = await startNode();
  const on = await startNode({ props: { "kraftling.http.listener": `127.0.0.1:${httpPort}` } });
  const results = {
    off: { produce: [] as number[], consume: [] as number[] },
    on: { produce: [] as number[], consume: [] as number[] },
  };
  let scrapes = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const a = await measure(off, `bench-off-${round}`, records);
      results.off.produce.push(a.produce);
      results.off.consume.push(a.consume);
      const scraper = scrapeEverySecond(`http://127.0.0.1:${httpPort}`);
      const b = await measure(on, `bench-on-${round}`, records);
      scrapes += await scraper.stop();
      results.on.produce.push(b.produce);
      results.on.consume.push(b.consume);
    }
  } finally {
    await Promise.all([off.stop(), on.stop()]);
  }
  const row = (what: "produce" | "consume") => {
    const o = median(results.off[what]);
    const n = median(results.on[what]);
    return `| ${what} (records/s, median of ${rounds}) | ${o.toFixed(0)} | ${n.toFixed(0)} | ${
      ((n / o - 1) * 100).toFixed(1)
    }% |`;
  };
  return [
    `${records} records of ${RECORD_BYTES} B, ${PARTITIONS} partitions, ${scrapes} scrapes of /metrics and / while on\n`,
    "| load | listener off | on, scraped every 1 s | change |",
    "| --- | ---: | ---: | ---: |",
    row("produce"),
    row("consume"),
  ].join("\n");
}

if (import.meta.main) {
  console.log(
    await runHttpOverheadBench({
      records: Number(Deno.args[0] ?? 100_000),
      rounds: Number(Deno.args[1] ?? 3),
    }),
  );
}
