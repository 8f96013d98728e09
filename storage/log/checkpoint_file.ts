/**
 * Kafka's small text checkpoint files, read and written byte-compatibly:
 *
 * - offset checkpoints (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`):
 *   `0\n<count>\n<topic> <partition> <offset>\n...`
 * - `leader-epoch-checkpoint`: `0\n<count>\n<epoch> <startOffset>\n...`
 * - `partition.metadata`: `version: 0\ntopic_id: <uuid>\n`
 *
 * Parsers throw {@link CheckpointFormatError} naming the file and line; callers decide whether to
 * rebuild or fail.
 *
 * @module
 */
import { readTextIfExists, writeFileAtomic } from "../fs.ts";

/** A checkpoint file whose content does not parse. */
export class CheckpointFormatError extends Error {
  override name = "CheckpointFormatError";
}

const encoder = new TextEncoder();

function parseLines(text: string, filePath: string, fieldsPerLine: number): string[][] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const fail = (why: string): never => {
    throw new CheckpointFormatError(`Cannot parse checkpoint ${filePath}: ${why}.`);
  };
  if (lines[0]?.trim() !== "0") fail(`version line is "${lines[0] ?? ""}", expected 0`);
  const count = Number(lines[1]?.trim());
  if (!Number.isSafeInteger(count) || count < 0) fail(`count line is "${lines[1] ?? ""}"`);
  if (lines.length - 2 !== count) {
    fail(`count says ${count} entries but ${lines.length - 2} follow`);
  }
  return lines.slice(2).map((line, i) => {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== fieldsPerLine) fail(`line ${i + 3} "${line}" is malformed`);
    return fields;
  });
}

function parseSafeInt(text: string, filePath: string): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new CheckpointFormatError(
      `Cannot parse checkpoint ${filePath}: "${text}" is no integer.`,
    );
  }
  return value;
}

/** `"<topic>-<partition>"`, the key and directory name of a partition. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Reads an offset checkpoint into a map keyed by `<topic>-<partition>`; a missing file is empty.
 *
 * @example
 * ```ts
 * import { readOffsetCheckpoint } from "./checkpoint_file.ts";
 * const dir = await Deno.makeTempDir();
 * const offsets = await readOffsetCheckpoint(`${dir}/recovery-point-offset-checkpoint`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readOffsetCheckpoint(filePath: string): Promise<Map<string, number>> {
  const text = await readTextIfExists(filePath);
  const offsets = new Map<string, number>();
  if (text === null) return offsets;
  for (const [topic, partition, offset] of parseLines(text, filePath, 3)) {
    offsets.set(
      partitionKey(topic!, parseSafeInt(partition!, filePath)),
      parseSafeInt(offset!, filePath),
    );
  }
  return offsets;
}

/** One line of an offset checkpoint. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/**
 * Atomically replaces an offset checkpoint.
 *
 * @example
 * ```ts
 * import { writeOffsetCheckpoint } from "./checkpoint_file.ts";
 * const dir = await Deno.makeTempDir();
 * await writeOffsetCheckpoint(`${dir}/log-start-offset-checkpoint`, [{ topic: "t", partition: 0, offset: 5 }]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeOffsetCheckpoint(
  filePath: string,
  entries: PartitionOffset[],
): Promise<void> {
  const lines = entries.map((e) => `${e.topic} ${e.partition} ${e.offset}\n`);
  await writeFileAtomic(filePath, encoder.encode(`0\n${entries.length}\n${lines.join("")}`));
}

/** One leader epoch and the first offset written in it. */
export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** Parses `leader-epoch-checkpoint` text. */
export function parseLeaderEpochCheckpoint(text: string, filePath: string): EpochEntry[] {
  return parseLines(text, filePath, 2).map(([epoch, offset]) => ({
    epoch: parseSafeInt(epoch!, filePath),
    startOffset: parseSafeInt(offset!, filePath),
  }));
}

/** Formats `leader-epoch-checkpoint` bytes. */
export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): Uint8Array {
  const lines = entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join("");
  return encoder.encode(`0\n${entries.length}\n${lines}`);
}

/**
 * Reads `partition.metadata`; null when missing.
 *
 * @example
 * ```ts
 * import { readPartitionMetadata } from "./checkpoint_file.ts";
 * const dir = await Deno.makeTempDir();
 * const topicId = await readPartitionMetadata(`${dir}/partition.metadata`); // null
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readPartitionMetadata(filePath: string): Promise<string | null> {
  const text = await readTextIfExists(filePath);
  if (text === null) return null;
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (fields.get("version") !== "0" || !fields.get("topic_id")) {
    throw new CheckpointFormatError(
      `Cannot parse ${filePath}: expected "version: 0" and a topic_id line.`,
    );
  }
  return fields.get("topic_id")!;
}

/** Atomically writes `partition.metadata`. */
export async function writePartitionMetadata(filePath: string, topicId: string): Promise<void> {
  await writeFileAtomic(filePath, encoder.encode(`version: 0\ntopic_id: ${topicId}\n`));
}
