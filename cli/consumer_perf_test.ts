/**
 * `consumer-perf-test`: Kafka's `kafka-consumer-perf-test.sh` (ConsumerPerformance): consumes
 * `--messages` records as a group member and prints Kafka's comma-separated summary.
 *
 * @module
 */

import { Consumer } from "../net/client/consumer.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  fixed,
  intFlag,
  loadProperties,
  negativeValues,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts consumer-perf-test --bootstrap-server <host:port> --topic <topic> --messages <n> [options]

Measure consumer throughput (kafka-consumer-perf-test.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --topic <topic>                 The topic to consume. Required.
  --messages <n>                  How many messages to consume. Required.
  --group <group>                 The group id (default perf-consumer-<random>).
  --from-latest                   Start at the end instead of the beginning.
  --timeout <ms>                  Longest wait between records (default 10000).
  --fetch-size <bytes>            Bytes fetched per partition per request (default 1048576).
  --hide-header                   Print the numbers without the header line.
  --consumer.config <file>        A consumer properties file.
  --command-config <file>         Same as --consumer.config.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "topic": { type: "string" },
  "messages": { type: "string" },
  "group": { type: "string" },
  "from-latest": { type: "boolean" },
  "timeout": { type: "string" },
  "fetch-size": { type: "string" },
  "hide-header": { type: "boolean" },
  "show-detailed-stats": { type: "boolean" },
  "reporting-interval": { type: "string" },
  "print-metrics": { type: "boolean" },
  "consumer.config": { type: "string" },
} as const;

/** `consumer-perf-test`: the registry entry. */
export const consumerPerfTestCommand: Subcommand = {
  name: "consumer-perf-test",
  summary: "Measure consumer throughput (kafka-consumer-perf-test.sh).",
  usage: USAGE,
  run: runConsumerPerfTest,
};

/** ConsumerPerformance's header line. */
export const PERF_HEADER =
  "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

/**
 * Formats a time as ConsumerPerformance's default `yyyy-MM-dd HH:mm:ss:SSS` (local time).
 *
 * @example
 * ```ts
 * import { formatPerfDate } from "./consumer_perf_test.ts";
 * formatPerfDate(new Date(2024, 0, 2, 3, 4, 5, 6).getTime()); // "2024-01-02 03:04:05:006"
 * ```
 */
export function formatPerfDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

/**
 * The summary line: start, end, MB, MB/s, messages, messages/s, rebalance ms, fetch ms, fetch MB/s,
 * fetch messages/s.
 *
 * @example
 * ```ts
 * import { formatPerfLine } from "./consumer_perf_test.ts";
 * formatPerfLine({ startMs: 0, endMs: 1000, bytes: 1048576, messages: 10, rebalanceMs: 0 });
 * ```
 */
export function formatPerfLine(
  s: { startMs: number; endMs: number; bytes: number; messages: number; rebalanceMs: number },
): string {
  const elapsedSec = (s.endMs - s.startMs) / 1000;
  const mb = s.bytes / (1024 * 1024);
  const fetchMs = s.endMs - s.startMs - s.rebalanceMs;
  return [
    formatPerfDate(s.startMs),
    formatPerfDate(s.endMs),
    fixed(mb, 4),
    fixed(mb / elapsedSec, 4),
    String(s.messages),
    fixed(s.messages / elapsedSec, 4),
    String(s.rebalanceMs),
    String(fetchMs),
    fixed(mb / (fetchMs / 1000), 4),
    fixed(s.messages / (fetchMs / 1000), 4),
  ].join(", ");
}

async function runConsumerPerfTest(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags("consumer-perf-test", negativeValues(args), FLAGS);
  const where = "consumer-perf-test";
  const bootstrap = requireBootstrap(where, values["bootstrap-server"]);
  const topic = values.topic;
  if (topic === undefined) throw new UsageError(`${where}: missing required option --topic`);
  const messages = intFlag(where, "--messages", values.messages);
  if (messages === undefined || messages <= 0) {
    throw new UsageError(`${where}: missing required option --messages (a positive number)`);
  }
  const timeoutMs = intFlag(where, "--timeout", values.timeout) ?? 10_000;
  const configPath = values["consumer.config"] ?? values["command-config"];
  return await runTool(io, "ERROR ", async () => {
    const props = await loadProperties(configPath);
    const consumer = new Consumer({
      ...clientOptions(bootstrap, props),
      groupId: values.group ?? props.get("group.id") ??
        `perf-consumer-${Math.floor(Math.random() * 100_000)}`,
      autoOffsetReset: values["from-latest"] ? "latest" : "earliest",
      maxPartitionFetchBytes: intFlag(where, "--fetch-size", values["fetch-size"]),
    });
    let count = 0;
    let bytes = 0;
    const startMs = Date.now();
    let rebalanceMs = 0;
    let lastRecordMs = Date.now();
    let endMs = startMs;
    try {
      // As ConsumerPerformance's rebalance listener: the join ends when partitions are assigned,
      // before the first fetch (whose bytes count, so its time must count too).
      let joined = false;
      consumer.subscribe([topic], {
        onPartitionsAssigned: () => {
          if (!joined) rebalanceMs = Date.now() - startMs;
          joined = true;
        },
      });
      while (count < messages) {
        const records = await consumer.poll({ timeoutMs: 1000 });
        for (const r of records) {
          count++;
          bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
        }
        if (records.length > 0) lastRecordMs = Date.now();
        else if (Date.now() - lastRecordMs > timeoutMs) {
          io.err(
            `WARNING: Exiting before consuming the expected number of messages: timeout (${timeoutMs} ms) exceeded. You can use the --timeout option to increase the timeout.`,
          );
          break;
        }
      }
      // Taken before close, as ConsumerPerformance does: leaving the group is not consuming.
      endMs = Date.now();
    } finally {
      await consumer.close().catch(() => {});
    }
    if (!values["hide-header"]) io.out(PERF_HEADER);
    io.out(formatPerfLine({ startMs, endMs, bytes, messages: count, rebalanceMs }));
    return 0;
  });
}
