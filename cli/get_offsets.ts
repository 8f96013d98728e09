/**
 * `get-offsets`: Kafka's `kafka-get-offsets.sh` (GetOffsetShell): prints `topic:partition:offset`
 * for the earliest (-2), latest (-1), max-timestamp (-3) or first-at-timestamp offsets.
 *
 * @module
 */

import { Admin, type OffsetSpec } from "../net/client/admin.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  loadProperties,
  negativeValues,
  requireBootstrap,
  runTool,
} from "./common.ts";
import { filterTopics } from "./topics.ts";

const USAGE = `Usage: deno run -A main.ts get-offsets --bootstrap-server <host:port> [options]

Print offsets of topic partitions (kafka-get-offsets.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --broker-list <host:port>       Deprecated alias of --bootstrap-server.
  --command-config <file>         A client properties file.
  --topic <regex>                 Topics to look at (default: all).
  --partitions <list>             Partition ids or ranges, e.g. 0,2,5-7 (default: all).
  --time <t>                      -1 or latest (default), -2 or earliest, -3 or max-timestamp,
                                  or a timestamp in ms: the first offset at or after it.
  --exclude-internal-topics       Leave internal topics out.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "broker-list": { type: "string" },
  "topic": { type: "string" },
  "partitions": { type: "string" },
  "time": { type: "string" },
  "exclude-internal-topics": { type: "boolean" },
} as const;

/** `get-offsets`: the registry entry. */
export const getOffsetsCommand: Subcommand = {
  name: "get-offsets",
  summary: "Print partition offsets as topic:partition:offset (kafka-get-offsets.sh).",
  usage: USAGE,
  run: runGetOffsets,
};

/**
 * Parses `--time`: -1/latest, -2/earliest, -3/max-timestamp, or a timestamp.
 *
 * @example
 * ```ts
 * import { parseTime } from "./get_offsets.ts";
 * parseTime("-2"); // "earliest"
 * ```
 */
export function parseTime(text: string | undefined): OffsetSpec {
  const t = (text ?? "-1").trim().toLowerCase();
  if (t === "-1" || t === "latest") return "latest";
  if (t === "-2" || t === "earliest") return "earliest";
  if (t === "-3" || t === "max-timestamp") return "max-timestamp";
  const n = Number(t);
  if (t === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(
      `get-offsets: Malformed time argument ${text}. Please use -1 or latest / -2 or earliest / -3 or max-timestamp, or a specified long format timestamp`,
    );
  }
  return { timestamp: n };
}

/**
 * Parses `--partitions` (`0,2,5-7`) into a predicate.
 *
 * @example
 * ```ts
 * import { parsePartitions } from "./get_offsets.ts";
 * parsePartitions("0,5-7")(6); // true
 * ```
 */
export function parsePartitions(text: string | undefined): (p: number) => boolean {
  if (text === undefined || text.trim() === "") return () => true;
  const ranges = text.split(",").map((part) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) {
      throw new UsageError(
        `get-offsets: Invalid partition '${part}': use ids or ranges like 0,2,5-7`,
      );
    }
    return [Number(m[1]), Number(m[2] ?? m[1])] as const;
  });
  return (p) => ranges.some(([lo, hi]) => p >= lo && p <= hi);
}

async function runGetOffsets(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags("get-offsets", negativeValues(args), FLAGS);
  const bootstrap = requireBootstrap(
    "get-offsets",
    values["bootstrap-server"] ?? values["broker-list"],
  );
  const spec = parseTime(values.time);
  const wanted = parsePartitions(values.partitions);
  return await runTool(io, "Error occurred: ", async () => {
    const admin = new Admin(
      clientOptions(bootstrap, await loadProperties(values["command-config"])),
    );
    try {
      const topics = filterTopics(
        await admin.listTopics({ includeInternal: true }),
        values.topic,
        values["exclude-internal-topics"] ?? false,
      );
      const descriptions = await admin.describeTopics(topics);
      const requests = descriptions.flatMap((d) =>
        d.partitions.filter((p) => wanted(p.partition)).map((p) => ({
          topic: d.name,
          partition: p.partition,
          spec,
        }))
      );
      if (requests.length === 0) {
        throw new RangeError("Could not match any topic-partitions with the specified filters");
      }
      const results = await admin.listOffsets(requests);
      results.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      for (const r of results) {
        if (r.error !== undefined) continue;
        io.out(`${r.topic}:${r.partition}:${r.offset < 0 ? "" : r.offset}`);
      }
      return 0;
    } finally {
      admin.close();
    }
  });
}
