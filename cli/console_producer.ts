/**
 * `console-producer`: Kafka's `kafka-console-producer.sh` (ConsoleProducer with its
 * LineMessageReader): one record per stdin line, with optional key and headers parsing.
 *
 * @module
 */

import type { RecordHeader } from "../net/protocol/records.ts";
import { type CompressionType, Producer, type ProducerOptions } from "../net/client/producer.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  decryptClientKeyStore,
  failureMessage,
  intFlag,
  loadProperties,
  negativeValues,
  parseKeyValues,
  requireBootstrap,
  runTool,
  stdinLines,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts console-producer --bootstrap-server <host:port> --topic <topic> [options]

Read data from standard input and publish it to Kafka (kafka-console-producer.sh).

Options:
  --bootstrap-server <host:port>   The Kafka server to connect to. Required.
  --topic <topic>                  The topic to produce to. Required.
  --property <key=value>           Line reader properties: parse.key, key.separator, parse.headers,
                                   headers.delimiter, headers.separator, headers.key.separator,
                                   null.marker, ignore.error. Repeatable.
  --producer-property <key=value>  A producer property (acks, compression.type, linger.ms,
                                   batch.size, enable.idempotence, client.id). Repeatable.
  --producer.config <file>         A producer properties file.
  --command-config <file>          Same as --producer.config.
  --request-required-acks <acks>   -1/all, 1 or 0 (default -1).
  --compression-codec <codec>      none, gzip, snappy, lz4 or zstd.
  --sync                           Send each record synchronously.
  --batch-size <n>                 Records per batch when not --sync (default 16384 bytes).
  --timeout <ms>                   Linger time of a batch (default 1000).
  -h, --help                       Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "topic": { type: "string" },
  "property": { type: "string", multiple: true },
  "producer-property": { type: "string", multiple: true },
  "producer.config": { type: "string" },
  "request-required-acks": { type: "string" },
  "compression-codec": { type: "string" },
  "sync": { type: "boolean" },
  "batch-size": { type: "string" },
  "timeout": { type: "string" },
  "request-timeout-ms": { type: "string" },
  "message-send-max-retries": { type: "string" },
  "retry-backoff-ms": { type: "string" },
  "max-block-ms": { type: "string" },
} as const;

/** `console-producer`: the registry entry. */
export const consoleProducerCommand: Subcommand = {
  name: "console-producer",
  summary: "Produce records from standard input (kafka-console-producer.sh).",
  usage: USAGE,
  run: runConsoleProducer,
};

/** LineMessageReader settings. */
export interface LineReaderOptions {
  parseKey: boolean;
  keySeparator: string;
  parseHeaders: boolean;
  headersDelimiter: string;
  headersSeparator: string;
  headersKeySeparator: string;
  nullMarker?: string;
  ignoreError: boolean;
}

/**
 * LineMessageReader settings from `--property` values, with Kafka's defaults.
 *
 * @example
 * ```ts
 * import { lineReaderOptions } from "./console_producer.ts";
 * lineReaderOptions(new Map([["parse.key", "true"]])).keySeparator; // "\t"
 * ```
 */
export function lineReaderOptions(props: ReadonlyMap<string, string>): LineReaderOptions {
  const bool = (key: string) => (props.get(key) ?? "false").trim().toLowerCase() === "true";
  return {
    parseKey: bool("parse.key"),
    keySeparator: props.get("key.separator") ?? "\t",
    parseHeaders: bool("parse.headers"),
    headersDelimiter: props.get("headers.delimiter") ?? "\t",
    headersSeparator: props.get("headers.separator") ?? ",",
    headersKeySeparator: props.get("headers.key.separator") ?? ":",
    nullMarker: props.get("null.marker"),
    ignoreError: bool("ignore.error"),
  };
}

/** A line turned into a record. */
export interface ParsedLine {
  key: string | null;
  value: string | null;
  headers: RecordHeader[];
}

const encoder = new TextEncoder();

/**
 * Splits one input line as LineMessageReader does: `headers<delimiter>key<separator>value`.
 *
 * @example
 * ```ts
 * import { lineReaderOptions, parseLine } from "./console_producer.ts";
 * const o = lineReaderOptions(new Map([["parse.key", "true"], ["key.separator", ":"]]));
 * parseLine("k:v", 1, o); // { key: "k", value: "v", headers: [] }
 * ```
 */
export function parseLine(line: string, lineNumber: number, o: LineReaderOptions): ParsedLine {
  let rest = line;
  const headers: RecordHeader[] = [];
  const orNull = (s: string) => (o.nullMarker !== undefined && s === o.nullMarker ? null : s);
  if (o.parseHeaders) {
    const at = rest.indexOf(o.headersDelimiter);
    if (at < 0) {
      if (!o.ignoreError) {
        throw new UsageError(`No headers delimiter found on line number ${lineNumber}: '${line}'`);
      }
    } else {
      const text = rest.slice(0, at);
      rest = rest.slice(at + o.headersDelimiter.length);
      if (o.nullMarker === undefined || text !== o.nullMarker) {
        for (const pair of text.split(o.headersSeparator)) {
          const k = pair.indexOf(o.headersKeySeparator);
          const key = k < 0 ? pair : pair.slice(0, k);
          const value = k < 0 ? null : orNull(pair.slice(k + o.headersKeySeparator.length));
          headers.push({ key, value: value === null ? null : encoder.encode(value) });
        }
      }
    }
  }
  if (!o.parseKey) return { key: null, value: orNull(rest), headers };
  const at = rest.indexOf(o.keySeparator);
  if (at < 0) {
    if (o.ignoreError) return { key: null, value: orNull(rest), headers };
    throw new UsageError(`No key separator found on line number ${lineNumber}: '${line}'`);
  }
  return {
    key: orNull(rest.slice(0, at)),
    value: orNull(rest.slice(at + o.keySeparator.length)),
    headers,
  };
}

/**
 * Producer options from the command line: explicit flags win over `--producer-property`, which
 * wins over the config file, as ConsoleProducer merges them.
 *
 * @example
 * ```ts
 * import { producerOptions } from "./console_producer.ts";
 * producerOptions("b:9092", new Map([["acks", "1"]]), {}).acks; // 1
 * ```
 */
export function producerOptions(
  bootstrap: string,
  props: ReadonlyMap<string, string>,
  flags: { acks?: string; compression?: string; lingerMs?: number; batchSizeBytes?: number },
): ProducerOptions {
  const acksText = (flags.acks ?? props.get("acks") ?? "-1").trim().toLowerCase();
  const acks = acksText === "all" ? -1 : Number(acksText);
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    throw new UsageError(`Invalid value ${acksText} for acks: expected -1, all, 0 or 1`);
  }
  const compression = (flags.compression ?? props.get("compression.type") ?? "none").toLowerCase();
  if (!["none", "gzip", "snappy", "lz4", "zstd"].includes(compression)) {
    throw new UsageError(`Invalid compression codec ${compression}`);
  }
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    ...clientOptions(bootstrap, props),
    acks,
    compression: compression as CompressionType,
    lingerMs: flags.lingerMs ?? num(props.get("linger.ms")),
    batchSizeBytes: flags.batchSizeBytes ?? num(props.get("batch.size")),
    bufferMemoryBytes: num(props.get("buffer.memory")),
    idempotent: props.get("enable.idempotence") === "true" && acks === -1,
  };
}

async function runConsoleProducer(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags("console-producer", negativeValues(args), FLAGS);
  const bootstrap = requireBootstrap("console-producer", values["bootstrap-server"]);
  const topic = values.topic;
  if (topic === undefined) {
    throw new UsageError("console-producer: missing required option --topic");
  }
  const reader = lineReaderOptions(parseKeyValues("console-producer", values.property));
  const extra = parseKeyValues("console-producer", values["producer-property"]);
  const configPath = values["producer.config"] ?? values["command-config"];
  return await runTool(io, "ERROR ", async () => {
    const props = await decryptClientKeyStore(
      new Map([...(await loadProperties(configPath)), ...extra]),
    );
    const options = producerOptions(bootstrap, props, {
      acks: values["request-required-acks"],
      compression: values["compression-codec"],
      lingerMs: intFlag("console-producer", "--timeout", values.timeout) ?? 1000,
      batchSizeBytes: intFlag("console-producer", "--batch-size", values["batch-size"]),
    });
    const producer = new Producer(options);
    let failed = 0;
    const pending = new Set<Promise<unknown>>();
    try {
      let lineNumber = 0;
      for await (const line of stdinLines()) {
        const record = parseLine(line, ++lineNumber, reader);
        const sent = producer.send({ topic, ...record }).catch((error) => {
          failed++;
          io.err(
            `ERROR Error when sending message to topic ${topic} with key: ${
              record.key === null ? "null" : `${encoder.encode(record.key).length} bytes`
            }, value: ${
              record.value === null ? 0 : encoder.encode(record.value).length
            } bytes with error: ${failureMessage(error)}`,
          );
        });
        if (values.sync) await sent;
        else {
          pending.add(sent);
          sent.finally(() => pending.delete(sent));
          if (pending.size >= 10_000) await Promise.race(pending);
        }
      }
      await Promise.all(pending);
    } finally {
      await producer.close().catch(() => {});
    }
    return failed > 0 ? 1 : 0;
  });
}
