/**
 * `producer-perf-test`: Kafka's `kafka-producer-perf-test.sh` (ProducerPerformance): sends
 * `--num-records` records of `--record-size` bytes at up to `--throughput` records/s, printing a
 * progress line every 5 s and a summary with latency percentiles.
 *
 * @module
 */

import { Producer } from "../net/client/producer.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  decryptClientKeyStore,
  failureMessage,
  fixed,
  intFlag,
  loadProperties,
  negativeValues,
  parseKeyValues,
  runTool,
  takeMultiValueFlag,
} from "./common.ts";
import { producerOptions } from "./console_producer.ts";

const USAGE = `Usage: deno run -A main.ts producer-perf-test --topic <topic> --num-records <n>
         (--record-size <bytes> | --payload-file <file>) --throughput <records/s>
         (--producer-props <k=v> [k=v ...] | --producer.config <file> | --bootstrap-server <host:port>)

Measure producer throughput and latency (kafka-producer-perf-test.sh).

Options:
  --topic <topic>                  The topic to produce to. Required.
  --num-records <n>                How many records to send. Required.
  --record-size <bytes>            The size of each record.
  --payload-file <file>            Records are lines of this file, picked at random.
  --throughput <n>                 Records per second at most; -1 for no limit. Required.
  --producer-props <k=v> [k=v ...] Producer properties (bootstrap.servers, acks, linger.ms, ...).
  --producer.config <file>         A producer properties file.
  --bootstrap-server <host:port>   Overrides bootstrap.servers.
  --command-config <file>          Same as --producer.config.
  -h, --help                       Show this help.`;

const FLAGS = {
  "bootstrap-server": { type: "string" },
  "command-config": { type: "string" },
  "topic": { type: "string" },
  "num-records": { type: "string" },
  "record-size": { type: "string" },
  "payload-file": { type: "string" },
  "payload-delimiter": { type: "string" },
  "throughput": { type: "string" },
  "producer.config": { type: "string" },
  "print-metrics": { type: "boolean" },
} as const;

/** `producer-perf-test`: the registry entry. */
export const producerPerfTestCommand: Subcommand = {
  name: "producer-perf-test",
  summary: "Measure producer throughput and latency (kafka-producer-perf-test.sh).",
  usage: USAGE,
  run: runProducerPerfTest,
};

/** ProducerPerformance.Stats: totals, a 5 s reporting window and sampled latencies. */
export class PerfStats {
  readonly #startMs: number;
  readonly #latencies: number[] = [];
  readonly #sampling: number;
  readonly #reportingIntervalMs: number;
  #iteration = 0;
  count = 0;
  bytes = 0;
  maxLatencyMs = 0;
  totalLatencyMs = 0;
  #windowCount = 0;
  #windowMax = 0;
  #windowTotal = 0;
  #windowBytes = 0;
  #windowStartMs: number;

  constructor(numRecords: number, nowMs: number, reportingIntervalMs = 5000) {
    this.#startMs = nowMs;
    this.#windowStartMs = nowMs;
    this.#sampling = Math.max(1, Math.floor(numRecords / Math.min(numRecords, 500_000)));
    this.#reportingIntervalMs = reportingIntervalMs;
  }

  /** Records one acknowledged send; returns a progress line when a window closes. */
  record(latencyMs: number, bytes: number, nowMs: number): string | undefined {
    this.count++;
    this.bytes += bytes;
    this.totalLatencyMs += latencyMs;
    this.maxLatencyMs = Math.max(this.maxLatencyMs, latencyMs);
    this.#windowCount++;
    this.#windowBytes += bytes;
    this.#windowTotal += latencyMs;
    this.#windowMax = Math.max(this.#windowMax, latencyMs);
    if (this.#iteration++ % this.#sampling === 0) this.#latencies.push(latencyMs);
    if (nowMs - this.#windowStartMs < this.#reportingIntervalMs) return undefined;
    const line = this.windowLine(nowMs);
    this.#windowStartMs = nowMs;
    this.#windowCount =
      this.#windowMax =
      this.#windowTotal =
      this.#windowBytes =
        0;
    return line;
  }

  /** `N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency.` */
  windowLine(nowMs: number): string {
    const elapsedMs = Math.max(1, nowMs - this.#windowStartMs);
    return `${this.#windowCount} records sent, ${
      fixed((1000 * this.#windowCount) / elapsedMs, 1)
    } records/sec (${fixed((1000 * this.#windowBytes) / elapsedMs / (1024 * 1024), 2)} MB/sec), ${
      fixed(this.#windowTotal / this.#windowCount, 1)
    } ms avg latency, ${fixed(this.#windowMax, 1)} ms max latency.`;
  }

  /** The final summary line with the 50th/95th/99th/99.9th latency percentiles. */
  totalLine(nowMs: number): string {
    const elapsedMs = Math.max(1, nowMs - this.#startMs);
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const pct = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return `${this.count} records sent, ${fixed((1000 * this.count) / elapsedMs, 6)} records/sec (${
      fixed((1000 * this.bytes) / elapsedMs / (1024 * 1024), 2)
    } MB/sec), ${fixed(this.totalLatencyMs / this.count, 2)} ms avg latency, ${
      fixed(this.maxLatencyMs, 2)
    } ms max latency, ${pct(0.5)} ms 50th, ${pct(0.95)} ms 95th, ${pct(0.99)} ms 99th, ${
      pct(0.999)
    } ms 99.9th.`;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runProducerPerfTest(argv: string[], io: CliIo): Promise<number> {
  const { values: propsList, rest } = takeMultiValueFlag(argv, "--producer-props");
  const { values } = parseFlags("producer-perf-test", negativeValues(rest), FLAGS);
  const where = "producer-perf-test";
  const topic = values.topic;
  const numRecords = intFlag(where, "--num-records", values["num-records"]);
  const throughput = Number(values.throughput);
  if (topic === undefined) throw new UsageError(`${where}: missing required option --topic`);
  if (numRecords === undefined || numRecords <= 0) {
    throw new UsageError(`${where}: --num-records should be greater than zero`);
  }
  if (values.throughput === undefined || Number.isNaN(throughput)) {
    throw new UsageError(`${where}: missing required option --throughput`);
  }
  const recordSize = intFlag(where, "--record-size", values["record-size"]);
  if ((recordSize === undefined) === (values["payload-file"] === undefined)) {
    throw new UsageError(`${where}: exactly one of --record-size and --payload-file is required`);
  }
  if (recordSize !== undefined && recordSize <= 0) {
    throw new UsageError(`${where}: --record-size should be greater than zero`);
  }
  const configPath = values["producer.config"] ?? values["command-config"];
  if (
    propsList === undefined && configPath === undefined && values["bootstrap-server"] === undefined
  ) {
    throw new UsageError(
      `${where}: Either --producer-props or --producer.config must be specified.`,
    );
  }
  const props = await decryptClientKeyStore(
    new Map([
      ...(await loadProperties(configPath)),
      ...parseKeyValues(where, propsList ?? []),
    ]),
  );
  const bootstrap = values["bootstrap-server"] ?? props.get("bootstrap.servers");
  if (bootstrap === undefined) {
    throw new UsageError(
      `${where}: missing required option --bootstrap-server (or bootstrap.servers)`,
    );
  }
  let payloads: Uint8Array[];
  if (values["payload-file"] !== undefined) {
    const delimiter = values["payload-delimiter"] ?? "\n";
    const text = await Deno.readTextFile(values["payload-file"]).catch((e) => {
      throw new UsageError(`${where}: Cannot read ${values["payload-file"]}: ${e.message}`);
    });
    payloads = text.split(delimiter).filter((l) => l !== "").map((l) =>
      new TextEncoder().encode(l)
    );
    if (payloads.length === 0) throw new UsageError(`${where}: File is empty`);
  } else {
    const payload = new Uint8Array(recordSize!);
    for (let i = 0; i < payload.length; i++) payload[i] = 65 + Math.floor(Math.random() * 26);
    payloads = [payload];
  }
  return await runTool(io, "ERROR ", async () => {
    const producer = new Producer(producerOptions(bootstrap, props, {}));
    const stats = new PerfStats(numRecords, Date.now());
    let failures = 0;
    const startMs = Date.now();
    // Kafka's perf test bounds what waits by buffer.memory (32 MiB); so does this loop.
    const bufferBytes = Number(props.get("buffer.memory") ?? 33_554_432);
    try {
      for (let i = 0; i < numRecords; i++) {
        const value =
          payloads[payloads.length === 1 ? 0 : Math.floor(Math.random() * payloads.length)]!;
        const sendMs = Date.now();
        producer.produce({ topic, value }, (error) => {
          if (error !== null) {
            if (failures++ === 0) io.err(`ERROR ${failureMessage(error)}`);
            return;
          }
          const now = Date.now();
          const line = stats.record(now - sendMs, value.length, now);
          if (line !== undefined) io.out(line);
        });
        if (producer.bufferedBytes >= bufferBytes) await producer.whenBufferedBelow(bufferBytes);
        if (throughput > 0) {
          const aheadMs = ((i + 1) * 1000) / throughput - (Date.now() - startMs);
          if (aheadMs > 0) await sleep(aheadMs);
        }
      }
      await producer.flush();
    } finally {
      await producer.close().catch(() => {});
    }
    if (stats.count > 0) io.out(stats.totalLine(Date.now()));
    return failures > 0 ? 1 : 0;
  });
}
