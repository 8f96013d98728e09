/**
 * `console-consumer`: Kafka's `kafka-console-consumer.sh` (ConsoleConsumer with its
 * DefaultMessageFormatter): prints records to stdout and "Processed a total of N messages" to
 * stderr at the end.
 *
 * @module
 */

import {
  Consumer,
  type ConsumerOptions,
  type ConsumerRecord,
  type StartOffset,
} from "../net/client/consumer.ts";
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
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts console-consumer --bootstrap-server <host:port> --topic <topic> [options]

Read data from Kafka topics and write it to standard output (kafka-console-consumer.sh).

Options:
  --bootstrap-server <host:port>   The Kafka server to connect to. Required.
  --topic <topic>                  The topic to consume. Required.
  --from-beginning                 Start with the earliest message when there is no committed offset.
  --group <group>                  The consumer group id.
  --partition <n>                  Consume only this partition.
  --offset <earliest|latest|n>     Where to start in --partition (default latest).
  --max-messages <n>               Exit after this many messages.
  --timeout-ms <ms>                Exit when no message arrives for this long.
  --isolation-level <level>        read_uncommitted (default) or read_committed.
  --property <key=value>           Formatter properties: print.key, print.timestamp, print.headers,
                                   print.partition, print.offset, print.value, key.separator,
                                   line.separator, headers.separator, null.literal. Repeatable.
  --consumer-property <key=value>  A consumer property (group.id, auto.offset.reset, client.id).
                                   Repeatable.
  --consumer.config <file>         A consumer properties file.
  --command-config <file>          Same as --consumer.config.
  -h, --help                       Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "topic": { type: "string" },
  "from-beginning": { type: "boolean" },
  "group": { type: "string" },
  "partition": { type: "string" },
  "offset": { type: "string" },
  "max-messages": { type: "string" },
  "timeout-ms": { type: "string" },
  "isolation-level": { type: "string" },
  "property": { type: "string", multiple: true },
  "consumer-property": { type: "string", multiple: true },
  "consumer.config": { type: "string" },
  "skip-message-on-error": { type: "boolean" },
} as const;

/** `console-consumer`: the registry entry. */
export const consoleConsumerCommand: Subcommand = {
  name: "console-consumer",
  summary: "Print records of a topic to standard output (kafka-console-consumer.sh).",
  usage: USAGE,
  run: runConsoleConsumer,
};

/** DefaultMessageFormatter settings. */
export interface FormatterOptions {
  printTimestamp: boolean;
  printKey: boolean;
  printValue: boolean;
  printHeaders: boolean;
  printPartition: boolean;
  printOffset: boolean;
  keySeparator: string;
  lineSeparator: string;
  headersSeparator: string;
  nullLiteral: string;
}

/**
 * Formatter settings from `--property` values, with Kafka's defaults.
 *
 * @example
 * ```ts
 * import { formatterOptions } from "./console_consumer.ts";
 * formatterOptions(new Map([["print.key", "true"]])).printKey; // true
 * ```
 */
export function formatterOptions(props: ReadonlyMap<string, string>): FormatterOptions {
  const bool = (key: string, fallback: boolean) => {
    const v = props.get(key);
    return v === undefined ? fallback : v.trim().toLowerCase() === "true";
  };
  return {
    printTimestamp: bool("print.timestamp", false),
    printKey: bool("print.key", false),
    printValue: bool("print.value", true),
    printHeaders: bool("print.headers", false),
    printPartition: bool("print.partition", false),
    printOffset: bool("print.offset", false),
    keySeparator: props.get("key.separator") ?? "\t",
    lineSeparator: props.get("line.separator") ?? "\n",
    headersSeparator: props.get("headers.separator") ?? ",",
    nullLiteral: props.get("null.literal") ?? "null",
  };
}

const decoder = new TextDecoder();

/**
 * Formats one record as DefaultMessageFormatter.writeTo does, without the final line separator.
 *
 * @example
 * ```ts
 * import { formatRecord, formatterOptions } from "./console_consumer.ts";
 * const o = formatterOptions(new Map([["print.key", "true"]]));
 * formatRecord({
 *   topic: "t", partition: 0, offset: 0, timestamp: 1, timestampType: "CreateTime", leaderEpoch: 0,
 *   key: new TextEncoder().encode("k"), value: new TextEncoder().encode("v"), headers: [],
 * }, o); // "k\tv"
 * ```
 */
export function formatRecord(r: ConsumerRecord, o: FormatterOptions): string {
  const text = (b: Uint8Array | null) => (b === null ? o.nullLiteral : decoder.decode(b));
  const fields: string[] = [];
  if (o.printTimestamp) fields.push(`${r.timestampType}:${r.timestamp}`);
  if (o.printPartition) fields.push(`Partition:${r.partition}`);
  if (o.printOffset) fields.push(`Offset:${r.offset}`);
  if (o.printHeaders) {
    fields.push(
      r.headers.length === 0
        ? "NO_HEADERS"
        : r.headers.map((h) => `${h.key}:${text(h.value)}`).join(o.headersSeparator),
    );
  }
  if (o.printKey) fields.push(text(r.key));
  if (o.printValue) fields.push(text(r.value));
  return fields.join(o.keySeparator);
}

/** The parsed command line of `console-consumer`. */
export interface ConsoleConsumerArgs {
  bootstrapServer: string;
  topic: string;
  group?: string;
  partition?: number;
  offset?: StartOffset;
  fromBeginning: boolean;
  maxMessages?: number;
  timeoutMs?: number;
  isolationLevel: "read_uncommitted" | "read_committed";
  formatter: FormatterOptions;
  consumerProps: Map<string, string>;
  configPath?: string;
}

/**
 * Parses and checks a `console-consumer` command line as ConsoleConsumerOptions does.
 *
 * @example
 * ```ts
 * import { parseConsoleConsumerArgs } from "./console_consumer.ts";
 * parseConsoleConsumerArgs(["--bootstrap-server", "b:9092", "--topic", "t", "--from-beginning"]).fromBeginning; // true
 * ```
 */
export function parseConsoleConsumerArgs(args: string[]): ConsoleConsumerArgs {
  const { values } = parseFlags("console-consumer", negativeValues(args), FLAGS);
  const bootstrapServer = requireBootstrap("console-consumer", values["bootstrap-server"]);
  const topic = values.topic;
  if (topic === undefined) {
    throw new UsageError("console-consumer: missing required option --topic");
  }
  const consumerProps = parseKeyValues("console-consumer", values["consumer-property"]);
  const partition = intFlag("console-consumer", "--partition", values.partition);
  const offsetText = values.offset;
  if (offsetText !== undefined && partition === undefined) {
    throw new UsageError("console-consumer: The partition is required when offset is specified.");
  }
  if (offsetText !== undefined && values["from-beginning"]) {
    throw new UsageError(
      "console-consumer: Options from-beginning and offset cannot be specified together.",
    );
  }
  let offset: StartOffset | undefined;
  if (offsetText !== undefined) {
    const lower = offsetText.toLowerCase();
    if (lower === "earliest" || lower === "latest") offset = lower;
    else {
      const n = Number(offsetText);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw new UsageError(
          `console-consumer: The provided offset value '${offsetText}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.`,
        );
      }
      offset = n;
    }
  }
  const isolation = values["isolation-level"] ?? consumerProps.get("isolation.level") ??
    "read_uncommitted";
  if (isolation !== "read_uncommitted" && isolation !== "read_committed") {
    throw new UsageError(`console-consumer: invalid isolation level ${isolation}`);
  }
  const group = values.group ?? consumerProps.get("group.id");
  if (
    values.group !== undefined && consumerProps.has("group.id") &&
    consumerProps.get("group.id") !== values.group
  ) {
    throw new UsageError(
      "console-consumer: The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match.",
    );
  }
  return {
    bootstrapServer,
    topic,
    group,
    partition,
    offset,
    fromBeginning: values["from-beginning"] ?? false,
    maxMessages: intFlag("console-consumer", "--max-messages", values["max-messages"]),
    timeoutMs: intFlag("console-consumer", "--timeout-ms", values["timeout-ms"]),
    isolationLevel: isolation,
    formatter: formatterOptions(parseKeyValues("console-consumer", values.property)),
    consumerProps,
    configPath: values["consumer.config"] ?? values["command-config"],
  };
}

async function runConsoleConsumer(args: string[], io: CliIo): Promise<number> {
  const a = parseConsoleConsumerArgs(args);
  let processed = 0;
  let stopping = false;
  const onSignal = () => {
    stopping = true;
  };
  Deno.addSignalListener("SIGINT", onSignal);
  let consumer: Consumer | undefined;
  let exitCode = 0;
  try {
    const props = await decryptClientKeyStore(
      new Map([...(await loadProperties(a.configPath)), ...a.consumerProps]),
    );
    const reset = props.get("auto.offset.reset") as ConsumerOptions["autoOffsetReset"];
    consumer = new Consumer({
      ...clientOptions(a.bootstrapServer, props),
      groupId: a.group,
      autoOffsetReset: a.fromBeginning ? "earliest" : reset ?? "latest",
      isolationLevel: a.isolationLevel,
      autoCommit: (props.get("enable.auto.commit") ?? "true") === "true",
    });
    await startConsumer(consumer, a);
    let lastRecordMs = Date.now();
    while (!stopping && (a.maxMessages === undefined || processed < a.maxMessages)) {
      const records = await consumer.poll({ timeoutMs: Math.min(a.timeoutMs ?? 1000, 1000) });
      for (const r of records) {
        if (a.maxMessages !== undefined && processed >= a.maxMessages) break;
        io.out(formatRecord(r, a.formatter));
        processed++;
        // Commit only what was printed when --max-messages stops mid-batch.
        if (a.group !== undefined) consumer.seek(r.topic, r.partition, r.offset + 1);
      }
      if (records.length > 0) lastRecordMs = Date.now();
      else if (a.timeoutMs !== undefined && Date.now() - lastRecordMs >= a.timeoutMs) {
        io.err(
          "[" + new Date().toISOString() +
            "] ERROR Error processing message, terminating consumer process:  (org.apache.kafka.tools.consumer.ConsoleConsumer) org.apache.kafka.common.errors.TimeoutException",
        );
        break;
      }
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(
      `ERROR Error processing message, terminating consumer process: ${failureMessage(error)}`,
    );
    exitCode = 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await consumer?.close().catch(() => {});
    io.err(`Processed a total of ${processed} messages`);
  }
  return exitCode;
}

async function startConsumer(consumer: Consumer, a: ConsoleConsumerArgs): Promise<void> {
  if (a.partition !== undefined) {
    const offset = a.offset ?? (a.fromBeginning ? "earliest" : "latest");
    consumer.assign([{ topic: a.topic, partition: a.partition, offset }]);
    return;
  }
  if (a.group !== undefined) {
    consumer.subscribe([a.topic]);
    return;
  }
  const topic = await consumer.admin.cluster.retrying(() => consumer.admin.cluster.topic(a.topic));
  consumer.assign(topic.partitions.map((p) => ({
    topic: a.topic,
    partition: p.partition,
    offset: a.fromBeginning ? "earliest" as const : "latest" as const,
  })));
}
