/**
 * `transactions`: Kafka's `kafka-transactions.sh` (TransactionsCommand): `list` (ListTransactions
 * on every broker), `describe --transactional-id` (DescribeTransactions at the id's coordinator),
 * `describe-producers --topic --partition [--broker-id]` (DescribeProducers at the leader or the
 * given replica) and `abort --topic --partition` with `--start-offset`, or with `--producer-id`,
 * `--producer-epoch` and `--coordinator-epoch` (an ABORT marker written by WriteTxnMarkers to the
 * partition's leader, as Kafka's Admin.abortTransaction). Output is Kafka's: tab-separated,
 * space-padded tables; failures are one `Failed to ...: <reason>.` line and exit code 1.
 * `find-hanging` (DescribeProducers, ListTransactions, DescribeTransactions) lists open
 * transactions on partitions that their coordinator does not count as its own.
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode, errorMessage } from "../net/protocol/generated/errors.ts";
import type { DescribeProducersResponse } from "../net/protocol/generated/describe_producers_response.ts";
import type { DescribeTransactionsResponse } from "../net/protocol/generated/describe_transactions_response.ts";
import type { ListTransactionsResponse } from "../net/protocol/generated/list_transactions_response.ts";
import type { WriteTxnMarkersResponse } from "../net/protocol/generated/write_txn_markers_response.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  failureMessage,
  intFlag,
  loadProperties,
  negativeValues,
  requireBootstrap,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts transactions --bootstrap-server <host:port> <command> [options]

Analyze and recover the transactional state of producers (kafka-transactions.sh).

Commands:
  list                              List the transactions of every coordinator.
  describe --transactional-id <id>  Describe the state of an active transactional id.
  describe-producers --topic <t> --partition <p> [--broker-id <id>]
                                    Describe the active producers of a partition.
  abort --topic <t> --partition <p> (--start-offset <o> |
        --producer-id <id> --producer-epoch <e> --coordinator-epoch <c>)
                                    Abort a hanging transaction on a partition.
  find-hanging (--topic <t> [--partition <p>] | --broker-id <id>)
        [--max-transaction-timeout <minutes, default 15>]
                                    Find open transactions no coordinator will end.

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --command-config <file>         A client properties file.
  -h, --help                      Show this help.`;

const FLAGS = {
  ...CLIENT_FLAGS,
  "transactional-id": { type: "string" },
  "topic": { type: "string" },
  "partition": { type: "string" },
  "broker-id": { type: "string" },
  "start-offset": { type: "string" },
  "producer-id": { type: "string" },
  "producer-epoch": { type: "string" },
  "coordinator-epoch": { type: "string" },
  "max-transaction-timeout": { type: "string" },
} as const;

/** The flags each command accepts besides the client ones. */
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  "list": [],
  "describe": ["transactional-id"],
  "describe-producers": ["topic", "partition", "broker-id"],
  "abort": [
    "topic",
    "partition",
    "start-offset",
    "producer-id",
    "producer-epoch",
    "coordinator-epoch",
  ],
  "find-hanging": ["topic", "partition", "broker-id", "max-transaction-timeout"],
};

/** `transactions`: the registry entry. */
export const transactionsCommand: Subcommand = {
  name: "transactions",
  summary: "List, describe and abort transactions (kafka-transactions.sh).",
  usage: USAGE,
  run: runTransactions,
};

/**
 * Kafka's `prettyPrintTable`: every cell padded to its column's width and followed by a tab.
 *
 * @example
 * ```ts
 * import { prettyTable } from "./transactions.ts";
 * prettyTable(["A", "Bee"], [["xyz", "1"]]); // ["A  \tBee\t", "xyz\t1  \t"]
 * ```
 */
export function prettyTable(headers: readonly string[], rows: readonly string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c.padEnd(widths[i]!) + "\t").join("");
  return [line(headers), ...rows.map(line)];
}

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

/** An integer flag that is present. */
function int(command: string, flag: string, value: string): number {
  return intFlag(`transactions ${command}`, `--${flag}`, value)!;
}

/**
 * A failure printed as Kafka's `printErrorAndExit`: with a cause, `<what>: <reason>. Enable debug
 * logging for additional detail.`; without one, just the message.
 */
class ToolFailure extends Error {
  constructor(message: string, cause?: unknown) {
    super(
      cause === undefined
        ? message
        : `${message}: ${
          reasonOf(cause).replace(/\.$/, "")
        }. Enable debug logging for additional detail.`,
    );
  }
}

/** A partition-level error of a response, as a KafkaError with the server's message. */
function partitionError(code: number, serverMessage: string | null): KafkaError {
  return new KafkaError(code, serverMessage ?? "");
}

async function runTransactions(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags("transactions", negativeValues(args), FLAGS, true);
  const command = positionals[0];
  if (command === undefined) {
    throw new UsageError(
      "transactions: a command is required: list, describe, describe-producers, abort or find-hanging",
    );
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `transactions: unexpected argument ${positionals[1]} (see 'transactions --help')`,
    );
  }
  const allowed = COMMAND_FLAGS[command];
  if (allowed === undefined) {
    throw new UsageError(
      `transactions: unknown command ${command}: use list, describe, describe-producers, abort or find-hanging`,
    );
  }
  for (const flag of Object.keys(values)) {
    if (flag in CLIENT_FLAGS || allowed.includes(flag)) continue;
    throw new UsageError(`transactions ${command}: unknown option --${flag}`);
  }
  const bootstrap = requireBootstrap("transactions", values["bootstrap-server"]);
  const admin = new Admin(clientOptions(bootstrap, await loadProperties(values["command-config"])));
  try {
    switch (command) {
      case "list":
        return await list(admin, io);
      case "describe":
        return await describe(admin, io, values);
      case "describe-producers":
        return await describeProducers(admin, io, values);
      case "find-hanging":
        return await findHanging(admin, io, values);
      default:
        return await abort(admin, io, values);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(error instanceof ToolFailure ? error.message : failureMessage(error));
    return 1;
  } finally {
    admin.close();
  }
}

async function list(admin: Admin, io: CliIo): Promise<number> {
  const rows: string[][] = [];
  try {
    await admin.cluster.retrying(() => admin.cluster.refreshMetadata([]));
    for (const broker of [...admin.cluster.brokers].sort((a, b) => a.nodeId - b.nodeId)) {
      const r = await admin.cluster.retrying(async () => {
        const conn = await admin.cluster.connectionTo(broker.nodeId);
        const response = await conn.send<ListTransactionsResponse>(
          ApiKey.LIST_TRANSACTIONS,
          { stateFilters: [], producerIdFilters: [] },
          { version: conn.versionFor(ApiKey.LIST_TRANSACTIONS, 1) },
        );
        if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, "");
        return response;
      });
      for (const t of r.transactionStates) {
        rows.push([
          t.transactionalId,
          String(broker.nodeId),
          String(t.producerId),
          t.transactionState,
        ]);
      }
    }
  } catch (error) {
    throw new ToolFailure("Failed to list transactions", error);
  }
  for (
    const line of prettyTable(
      ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
      rows,
    )
  ) {
    io.out(line);
  }
  return 0;
}

function reasonOf(error: unknown): string {
  if (error instanceof KafkaError && error.message === "") return errorMessage(error.code);
  return failureMessage(error);
}

async function describe(admin: Admin, io: CliIo, values: Values): Promise<number> {
  const transactionalId = values["transactional-id"];
  if (transactionalId === undefined) {
    throw new UsageError("transactions describe: argument --transactional-id is required");
  }
  const what = `Failed to describe transaction state of transactional-id \`${transactionalId}\``;
  let state: DescribeTransactionsResponse["transactionStates"][number];
  let coordinatorId: number;
  try {
    [coordinatorId, state] = await admin.cluster.retrying(async () => {
      const nodeId = await admin.cluster.coordinatorFor(transactionalId, 1);
      const conn = await admin.cluster.connectionTo(nodeId);
      const r = await conn.send<DescribeTransactionsResponse>(
        ApiKey.DESCRIBE_TRANSACTIONS,
        { transactionalIds: [transactionalId] },
        { version: 0 },
      );
      const s = r.transactionStates[0];
      if (s === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "");
      if (s.errorCode !== ErrorCode.NONE) throw new KafkaError(s.errorCode, "");
      return [nodeId, s] as const;
    });
  } catch (error) {
    throw new ToolFailure(what, error);
  }
  const startMs = Number(state.transactionStartTimeMs);
  const started = startMs >= 0;
  const row = [
    String(coordinatorId),
    transactionalId,
    String(state.producerId),
    String(state.producerEpoch),
    state.transactionState,
    String(state.transactionTimeoutMs),
    started ? String(startMs) : "None",
    started ? String(Date.now() - startMs) : "None",
    state.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)).join(","),
  ];
  const headers = [
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
  ];
  for (const line of prettyTable(headers, [row])) io.out(line);
  return 0;
}

function topicPartition(command: string, values: Values): { topic: string; partition: number } {
  const topic = values.topic;
  if (topic === undefined) {
    throw new UsageError(`transactions ${command}: argument --topic is required`);
  }
  if (values.partition === undefined) {
    throw new UsageError(`transactions ${command}: argument --partition is required`);
  }
  return { topic, partition: int(command, "partition", values.partition) };
}

async function producersOf(
  admin: Admin,
  tp: { topic: string; partition: number },
  brokerId: number | null,
) {
  return await admin.cluster.retrying(async () => {
    const nodeId = brokerId ?? await admin.cluster.leaderFor(tp.topic, tp.partition);
    const conn = await admin.cluster.connectionTo(nodeId);
    const r = await conn.send<DescribeProducersResponse>(ApiKey.DESCRIBE_PRODUCERS, {
      topics: [{ name: tp.topic, partitionIndexes: [tp.partition], _unknownTaggedFields: [] }],
    }, { version: 0 });
    const p = r.topics[0]?.partitions[0];
    if (p === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "");
    if (p.errorCode !== ErrorCode.NONE) throw partitionError(p.errorCode, p.errorMessage);
    return p.activeProducers;
  });
}

async function describeProducers(admin: Admin, io: CliIo, values: Values): Promise<number> {
  const tp = topicPartition("describe-producers", values);
  const brokerId = values["broker-id"] === undefined
    ? null
    : int("describe-producers", "broker-id", values["broker-id"]);
  let producers;
  try {
    producers = await producersOf(admin, tp, brokerId);
  } catch (error) {
    const where = brokerId === null ? "leader" : `broker ${brokerId}`;
    throw new ToolFailure(
      `Failed to describe producers for partition ${tp.topic}-${tp.partition} on ${where}`,
      error,
    );
  }
  const rows = producers.map((p) => [
    String(p.producerId),
    String(p.producerEpoch),
    String(p.coordinatorEpoch),
    String(p.lastSequence),
    String(p.lastTimestamp),
    p.currentTxnStartOffset < 0n ? "None" : String(p.currentTxnStartOffset),
  ]);
  const headers = [
    "ProducerId",
    "ProducerEpoch",
    "LatestCoordinatorEpoch",
    "LastSequence",
    "LastTimestamp",
    "CurrentTransactionStartOffset",
  ];
  for (const line of prettyTable(headers, rows)) io.out(line);
  return 0;
}

async function abort(admin: Admin, _io: CliIo, values: Values): Promise<number> {
  const tp = topicPartition("abort", values);
  const name = `${tp.topic}-${tp.partition}`;
  let spec: { producerId: bigint; producerEpoch: number; coordinatorEpoch: number };
  if (values["start-offset"] !== undefined) {
    const startOffset = BigInt(int("abort", "start-offset", values["start-offset"]));
    let producers;
    try {
      producers = await producersOf(admin, tp, null);
    } catch (error) {
      throw new ToolFailure(`Failed to validate producer state for partition ${name}`, error);
    }
    const found = producers.find((p) => p.currentTxnStartOffset === startOffset);
    if (found === undefined) {
      throw new ToolFailure(
        `Could not find any open transactions starting at offset ${startOffset} on partition ${name}`,
      );
    }
    spec = {
      producerId: found.producerId,
      producerEpoch: found.producerEpoch,
      coordinatorEpoch: Math.max(found.coordinatorEpoch, 0),
    };
  } else if (values["producer-id"] !== undefined) {
    if (values["producer-epoch"] === undefined) {
      throw new ToolFailure("Missing required argument --producer-epoch");
    }
    if (values["coordinator-epoch"] === undefined) {
      throw new ToolFailure("Missing required argument --coordinator-epoch");
    }
    spec = {
      producerId: BigInt(int("abort", "producer-id", values["producer-id"])),
      producerEpoch: int("abort", "producer-epoch", values["producer-epoch"]),
      // Kafka: a hanging transaction of a new producer id reports -1; 0 is below any leader epoch.
      coordinatorEpoch: Math.max(int("abort", "coordinator-epoch", values["coordinator-epoch"]), 0),
    };
  } else {
    throw new ToolFailure(
      "The transaction to abort must be identified either with --start-offset (for newer " +
        "brokers) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)",
    );
  }
  try {
    await admin.cluster.retrying(async () => {
      const leader = await admin.cluster.leaderFor(tp.topic, tp.partition);
      const conn = await admin.cluster.connectionTo(leader);
      const r = await conn.send<WriteTxnMarkersResponse>(ApiKey.WRITE_TXN_MARKERS, {
        markers: [{
          producerId: spec.producerId,
          producerEpoch: spec.producerEpoch,
          transactionResult: false,
          topics: [{ name: tp.topic, partitionIndexes: [tp.partition], _unknownTaggedFields: [] }],
          coordinatorEpoch: spec.coordinatorEpoch,
          _unknownTaggedFields: [],
        }],
      }, { version: conn.versionFor(ApiKey.WRITE_TXN_MARKERS, 1) });
      const code = r.markers[0]?.topics[0]?.partitions[0]?.errorCode ??
        ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== ErrorCode.NONE) throw new KafkaError(code, "");
    });
  } catch (error) {
    throw new ToolFailure(
      `Failed to abort transaction AbortTransactionSpec(topicPartition=${name}, ` +
        `producerId=${spec.producerId}, producerEpoch=${spec.producerEpoch}, ` +
        `coordinatorEpoch=${spec.coordinatorEpoch})`,
      error,
    );
  }
  return 0;
}

/** An open transaction on a partition, as DescribeProducers reports it. */
interface OpenTransaction {
  topic: string;
  partition: number;
  producer: DescribeProducersResponse["topics"][number]["partitions"][number]["activeProducers"][
    number
  ];
}

/**
 * Kafka's FindHangingTransactionsCommand: the partitions to search (a topic, one partition, or
 * every replica of a broker), their open transactions older than `--max-transaction-timeout`, and
 * among those the ones whose producer id no coordinator lists, or whose coordinator's transaction
 * does not include the partition: nothing will ever write their marker.
 */
async function findHanging(admin: Admin, io: CliIo, values: Values): Promise<number> {
  const topic = values.topic;
  const brokerId = values["broker-id"] === undefined
    ? null
    : int("find-hanging", "broker-id", values["broker-id"]);
  if (topic === undefined && brokerId === null) {
    throw new ToolFailure(
      "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search",
    );
  }
  if (values.partition !== undefined && topic === undefined) {
    throw new ToolFailure("The --partition argument requires --topic to be provided");
  }
  const timeoutMinutes = values["max-transaction-timeout"] === undefined
    ? 15
    : int("find-hanging", "max-transaction-timeout", values["max-transaction-timeout"]);
  const maxTransactionTimeoutMs = timeoutMinutes * 60_000;
  const partitions = await partitionsToSearch(admin, topic, values.partition, brokerId);

  const candidates: OpenTransaction[] = [];
  const nowMs = Date.now();
  for (const tp of partitions) {
    let producers;
    try {
      producers = await producersOf(admin, tp, brokerId);
    } catch (error) {
      const on = brokerId === null ? "Optional.empty" : `Optional[${brokerId}]`;
      throw new ToolFailure(
        `Failed to describe producers for ${partitions.length} partitions on broker ${on}`,
        error,
      );
    }
    for (const producer of producers) {
      if (producer.currentTxnStartOffset < 0n) continue;
      if (nowMs - Number(producer.lastTimestamp) > maxTransactionTimeoutMs) {
        candidates.push({ ...tp, producer });
      }
    }
  }

  const hanging: OpenTransaction[] = [];
  if (candidates.length > 0) {
    const producerIds = [...new Set(candidates.map((c) => c.producer.producerId))];
    const transactionalIds = await lookupTransactionalIds(admin, producerIds);
    for (const candidate of candidates) {
      const transactionalId = transactionalIds.get(candidate.producer.producerId);
      if (transactionalId === undefined) {
        hanging.push(candidate);
        continue;
      }
      const partitionsInTxn = await transactionPartitions(admin, transactionalId);
      if (!partitionsInTxn.has(`${candidate.topic}-${candidate.partition}`)) {
        hanging.push(candidate);
      }
    }
  }
  const headers = [
    "Topic",
    "Partition",
    "ProducerId",
    "ProducerEpoch",
    "CoordinatorEpoch",
    "StartOffset",
    "LastTimestamp",
    "Duration(min)",
  ];
  const rows = hanging.map((h) => [
    h.topic,
    String(h.partition),
    String(h.producer.producerId),
    String(h.producer.producerEpoch),
    String(h.producer.coordinatorEpoch),
    String(h.producer.currentTxnStartOffset),
    String(h.producer.lastTimestamp),
    String(Math.floor((nowMs - Number(h.producer.lastTimestamp)) / 60_000)),
  ]);
  for (const line of prettyTable(headers, rows)) io.out(line);
  return 0;
}

/** The partitions find-hanging looks at: one, a topic's, or every replica of a broker. */
async function partitionsToSearch(
  admin: Admin,
  topic: string | undefined,
  partition: string | undefined,
  brokerId: number | null,
): Promise<{ topic: string; partition: number }[]> {
  if (topic !== undefined && partition !== undefined) {
    return [{ topic, partition: int("find-hanging", "partition", partition) }];
  }
  let topics: string[];
  try {
    topics = topic !== undefined ? [topic] : await admin.listTopics({ includeInternal: true });
  } catch (error) {
    throw new ToolFailure("Failed to list topics", error);
  }
  try {
    const described = await admin.describeTopics(topics);
    return described.flatMap((d) =>
      d.partitions
        .filter((p) => brokerId === null || p.replicas.includes(brokerId))
        .map((p) => ({ topic: d.name, partition: p.partition }))
    );
  } catch (error) {
    throw new ToolFailure(`Failed to describe ${topics.length} topics`, error);
  }
}

/** Producer id -> transactional id, from ListTransactions on every broker. */
async function lookupTransactionalIds(
  admin: Admin,
  producerIds: bigint[],
): Promise<Map<bigint, string>> {
  const found = new Map<bigint, string>();
  try {
    await admin.cluster.retrying(() => admin.cluster.refreshMetadata([]));
    for (const broker of admin.cluster.brokers) {
      const r = await admin.cluster.retrying(async () => {
        const conn = await admin.cluster.connectionTo(broker.nodeId);
        const response = await conn.send<ListTransactionsResponse>(
          ApiKey.LIST_TRANSACTIONS,
          { stateFilters: [], producerIdFilters: producerIds },
          { version: conn.versionFor(ApiKey.LIST_TRANSACTIONS, 1) },
        );
        if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, "");
        return response;
      });
      for (const t of r.transactionStates) found.set(t.producerId, t.transactionalId);
    }
  } catch (error) {
    throw new ToolFailure("Failed to list transactions", error);
  }
  return found;
}

/** The `topic-partition`s of a transactional id's current transaction (none if it is unknown). */
async function transactionPartitions(admin: Admin, transactionalId: string): Promise<Set<string>> {
  try {
    return await admin.cluster.retrying(async () => {
      const nodeId = await admin.cluster.coordinatorFor(transactionalId, 1);
      const conn = await admin.cluster.connectionTo(nodeId);
      const r = await conn.send<DescribeTransactionsResponse>(
        ApiKey.DESCRIBE_TRANSACTIONS,
        { transactionalIds: [transactionalId] },
        { version: 0 },
      );
      const s = r.transactionStates[0];
      if (s?.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) return new Set<string>();
      if (s === undefined || s.errorCode !== ErrorCode.NONE) {
        throw new KafkaError(s?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, "");
      }
      return new Set(s.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)));
    });
  } catch (error) {
    throw new ToolFailure("Failed to describe 1 transactions", error);
  }
}
