/**
 * `delete-records`: Kafka's `kafka-delete-records.sh` (DeleteRecordsCommand): deletes records
 * before the offsets of a JSON file `{"partitions":[{"topic":"t","partition":0,"offset":5}],"version":1}`
 * (offset -1: up to the high watermark).
 *
 * @module
 */

import { Admin } from "../net/client/admin.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import {
  CLIENT_FLAGS,
  clientOptions,
  loadProperties,
  negativeValues,
  requireBootstrap,
  runTool,
} from "./common.ts";

const USAGE =
  `Usage: deno run -A main.ts delete-records --bootstrap-server <host:port> --offset-json-file <file>

Delete records of partitions up to given offsets (kafka-delete-records.sh).

Options:
  --bootstrap-server <host:port>  The Kafka server to connect to. Required.
  --offset-json-file <file>       {"partitions":[{"topic":"foo","partition":1,"offset":1}],"version":1}
                                  Required.
  --command-config <file>         A client properties file.
  -h, --help                      Show this help.`;

const FLAGS = { ...CLIENT_FLAGS, "offset-json-file": { type: "string" } } as const;

/** `delete-records`: the registry entry. */
export const deleteRecordsCommand: Subcommand = {
  name: "delete-records",
  summary: "Delete records before given offsets (kafka-delete-records.sh).",
  usage: USAGE,
  run: runDeleteRecords,
};

/**
 * Parses Kafka's offset JSON file; duplicates and malformed entries are one-line errors.
 *
 * @example
 * ```ts
 * import { parseOffsetJson } from "./delete_records.ts";
 * parseOffsetJson('{"partitions":[{"topic":"t","partition":0,"offset":3}],"version":1}');
 * // [{ topic: "t", partition: 0, offset: 3 }]
 * ```
 */
export function parseOffsetJson(
  text: string,
): { topic: string; partition: number; offset: number }[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `delete-records: The offset json file is not valid JSON: ${(e as Error).message}`,
    );
  }
  const partitions = (json as { partitions?: unknown })?.partitions;
  if (!Array.isArray(partitions)) {
    throw new UsageError('delete-records: Missing "partitions" array in the offset json file');
  }
  const out = partitions.map((p, i) => {
    const { topic, partition, offset } = (p ?? {}) as Record<string, unknown>;
    if (
      typeof topic !== "string" || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)
    ) {
      throw new UsageError(
        `delete-records: Entry ${i} of the offset json file needs "topic", "partition" and "offset"`,
      );
    }
    return { topic, partition: partition as number, offset: offset as number };
  });
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const p of out) {
    const key = `${p.topic}-${p.partition}`;
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  if (duplicates.size > 0) {
    throw new UsageError(
      `delete-records: Offset json file contains duplicate topic partitions: ${
        [...duplicates].join(",")
      }`,
    );
  }
  return out;
}

async function runDeleteRecords(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags("delete-records", negativeValues(args), FLAGS);
  const bootstrap = requireBootstrap("delete-records", values["bootstrap-server"]);
  const path = values["offset-json-file"];
  if (path === undefined) {
    throw new UsageError("delete-records: missing required option --offset-json-file");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`delete-records: Cannot read ${path}: ${(e as Error).message}`);
  }
  const requests = parseOffsetJson(text);
  return await runTool(io, "Error: ", async () => {
    const admin = new Admin(
      clientOptions(bootstrap, await loadProperties(values["command-config"])),
    );
    try {
      io.out("Executing records delete operation");
      const results = await admin.deleteRecords(requests);
      io.out("Records delete operation completed:");
      for (const r of results) {
        io.out(
          r.error === undefined
            ? `partition: ${r.topic}-${r.partition}\tlow_watermark: ${r.lowWatermark}`
            : `partition: ${r.topic}-${r.partition}\terror: ${r.error.message}`,
        );
      }
      return 0;
    } finally {
      admin.close();
    }
  });
}
