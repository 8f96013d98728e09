/**
 * `metadata-shell`: Kafka's `kafka-metadata-shell.sh`, the KRaft debugging tool. Loads the
 * metadata image from a snapshot file (`--snapshot`) or from a metadata log directory
 * (`--directory`: the latest snapshot plus the log after it) and browses it as a file tree
 * (`ls`, `cd`, `cat`, `tree`, `find`, ...; see `metadata_shell_tree.ts`), interactively from stdin
 * or one command given after the flags.
 *
 * The directory is only read: no `.lock` is taken, nothing is recovered or truncated, so it works
 * on a running node. A batch that does not decode at the end of the newest segment is a write in
 * progress and is left out (with a note on stderr); anywhere else it is an error. Like Kafka's
 * shell, every record on disk is applied, including a tail the quorum may not have committed yet.
 *
 * @module
 */

import { basename, join } from "node:path";
import { applyRecords, EMPTY_IMAGE, type MetadataImage } from "../core/metadata/image.ts";
import type { MetadataRecord } from "../core/metadata/records.ts";
import { batchesIn, CONTROL_FLAG_MASK } from "../net/protocol/record_batch.ts";
import { decodeBatch } from "../net/protocol/records.ts";
import {
  decodeSnapshot,
  listSnapshotFiles,
  parseSnapshotFileName,
  snapshotFileName,
} from "../storage/raft/snapshot_file.ts";
import { decodeMetadataRecord } from "../node/metadata_state.ts";
import { METADATA_PARTITION_DIR } from "../node/metadata_log.ts";
import { type CliIo, parseFlags, type Subcommand, UsageError } from "./command.ts";
import { stdinLines } from "./common.ts";
import { imageTree, type Provenance, SHELL_COMMANDS, ShellSession } from "./metadata_shell_tree.ts";

const WHERE = "metadata-shell";

const USAGE =
  `Usage: deno run -A main.ts metadata-shell (--snapshot <file> | --directory <dir>) [command...]

Browse the KRaft metadata image as a file tree (kafka-metadata-shell.sh). Without a command,
reads commands from stdin (a '>> ' prompt when stdin is a terminal); with one, runs it and exits
(exit code 1 when it printed an error).

Options:
  -s, --snapshot <file>     A metadata snapshot (.checkpoint) or a metadata log segment (.log).
  -d, --directory <dir>     A metadata log directory (__cluster_metadata-0, or the directory that
                            holds it): the latest snapshot plus the log after it. Read-only: works
                            on a running node's directory.
  -h, --help                Show this help.

Commands:
${SHELL_COMMANDS.map(([c, d]) => `  ${c.padEnd(24)}  ${d}`).join("\n")}

Examples:
  deno run -A main.ts metadata-shell --directory /tmp/kraft-combined-logs ls /image/topics/byName
  deno run -A main.ts metadata-shell --directory /tmp/kraft-combined-logs cat /image/topics/byName/orders/0`;

const FLAGS = {
  snapshot: { type: "string", short: "s" },
  directory: { type: "string", short: "d" },
} as const;

/** `metadata-shell`: the registry entry. */
export const metadataShellCommand: Subcommand = {
  name: WHERE,
  summary: "Browse the KRaft metadata image as a file tree (kafka-metadata-shell.sh).",
  usage: USAGE,
  run: runMetadataShell,
};

/** A metadata image loaded from disk, and where it came from. */
export interface LoadedImage {
  image: MetadataImage;
  provenance: Provenance;
  /** Notes for stderr (e.g. a batch being written that was left out). */
  notes: string[];
}

/** Applies records in slices, so a failing record names its offset. */
class ImageBuilder {
  image: MetadataImage = EMPTY_IMAGE;
  provenance: Provenance = {
    lastContainedOffset: -1,
    lastContainedEpoch: -1,
    lastContainedLogTimeMs: -1,
  };

  apply(records: MetadataRecord[], where: string): void {
    try {
      this.image = applyRecords(this.image, records);
    } catch (error) {
      throw new Error(`Cannot apply the records of ${where}: ${(error as Error).message}`);
    }
  }
}

/**
 * Decodes and applies the data batches of a log segment's bytes from `fromOffset` on. A batch
 * that does not decode ends the read when `tornTailAllowed` (a write in progress), else throws.
 */
function applySegment(
  builder: ImageBuilder,
  bytes: Uint8Array,
  options: { name: string; fromOffset: number; tornTailAllowed: boolean; notes: string[] },
): void {
  let consumed = 0;
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    let batch;
    try {
      batch = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
    } catch (error) {
      const message = `${options.name} at position ${pos}: ${(error as Error).message}`;
      if (!options.tornTailAllowed) throw new Error(`Cannot read ${message}`);
      options.notes.push(`Left out a batch being written in ${message}`);
      return;
    }
    consumed = pos + sizeBytes;
    const { header, records } = batch;
    if ((header.attributes & CONTROL_FLAG_MASK) !== 0) continue;
    const decoded: MetadataRecord[] = [];
    let lastOffset = -1;
    for (const record of records) {
      const offset = header.baseOffset + record.offsetDelta;
      if (offset < options.fromOffset || record.value === null) continue;
      decoded.push(decodeMetadataRecord(record.value));
      lastOffset = offset;
    }
    if (decoded.length === 0) continue;
    builder.apply(decoded, `${options.name} at offset ${header.baseOffset}`);
    builder.provenance = {
      lastContainedOffset: lastOffset,
      lastContainedEpoch: header.partitionLeaderEpoch,
      lastContainedLogTimeMs: header.maxTimestamp,
    };
  }
  if (consumed < bytes.length) {
    // batchesIn stops at a batch that runs past the end of the file: a write in progress.
    options.notes.push(
      `Left out ${bytes.length - consumed} bytes of a partial batch at the end of ${options.name}`,
    );
  }
}

/**
 * Loads a snapshot file (`.checkpoint`) or, like Kafka's SnapshotFileReader, any file of metadata
 * record batches (a `.log` segment).
 *
 * @example
 * ```ts ignore
 * const { image } = await loadSnapshotPath("/tmp/kraft/__cluster_metadata-0/00000000000000000042-0000000001.checkpoint");
 * ```
 */
export async function loadSnapshotPath(path: string): Promise<LoadedImage> {
  const bytes = await Deno.readFile(path);
  const builder = new ImageBuilder();
  const notes: string[] = [];
  const name = basename(path);
  if (!name.endsWith(".checkpoint")) {
    applySegment(builder, bytes, { name, fromOffset: 0, tornTailAllowed: true, notes });
    return { image: builder.image, provenance: builder.provenance, notes };
  }
  const contents = decodeSnapshot(bytes);
  builder.apply(contents.payloads.map(decodeMetadataRecord), name);
  const id = parseSnapshotFileName(name)?.id;
  builder.provenance = {
    lastContainedOffset: id === undefined ? -1 : id.offset - 1,
    lastContainedEpoch: id?.epoch ?? -1,
    lastContainedLogTimeMs: contents.lastContainedLogTimestampMs,
  };
  return { image: builder.image, provenance: builder.provenance, notes };
}

/**
 * The log starts after the snapshot read: on a running node, a newer snapshot and the log
 * cleaning after it came between listing and reading, so reading again finds the newer snapshot.
 */
class LogGapError extends Error {
  override name = "LogGapError";
}

/** How many times a directory is re-read when a running node removed a file under us. */
const DIRECTORY_LOAD_ATTEMPTS_MAX = 3;

/**
 * Loads a metadata log directory: the latest complete snapshot, then every record of the log
 * segments at and after its end offset. Read-only and lock-free, so a running node's directory
 * works; when the node deletes a file between listing and reading, the load starts over.
 *
 * @example
 * ```ts ignore
 * const { image } = await loadMetadataDirectory("/tmp/kraft-combined-logs/__cluster_metadata-0");
 * ```
 */
export async function loadMetadataDirectory(path: string): Promise<LoadedImage> {
  const dir = await metadataPartitionDir(path);
  for (let attempt = 1;; attempt++) {
    try {
      return await loadDirectoryOnce(dir);
    } catch (error) {
      const retryable = error instanceof Deno.errors.NotFound || error instanceof LogGapError;
      if (!retryable || attempt >= DIRECTORY_LOAD_ATTEMPTS_MAX) {
        throw error;
      }
    }
  }
}

/** The `__cluster_metadata-0` directory: `path` itself, or its child of that name. */
async function metadataPartitionDir(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isDirectory) throw new UsageError(`${WHERE}: ${path} is not a directory`);
  if (basename(path) === METADATA_PARTITION_DIR) return path;
  const child = join(path, METADATA_PARTITION_DIR);
  const childInfo = await Deno.stat(child).catch(() => null);
  return childInfo?.isDirectory ? child : path;
}

async function loadDirectoryOnce(dir: string): Promise<LoadedImage> {
  const snapshots = (await listSnapshotFiles(dir))
    .filter((s) => s.kind === "complete" && s.id.offset > 0)
    .sort((a, b) => b.id.offset - a.id.offset || b.id.epoch - a.id.epoch);
  const segments: { name: string; baseOffset: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(\d{20})\.log$/.exec(entry.name);
    if (entry.isFile && match !== null) {
      segments.push({ name: entry.name, baseOffset: Number(match[1]) });
    }
  }
  segments.sort((a, b) => a.baseOffset - b.baseOffset);
  if (snapshots.length === 0 && segments.length === 0) {
    throw new Error(`${dir} holds no metadata snapshot and no log segment`);
  }
  const latest = snapshots[0];
  const loaded = latest === undefined
    ? { image: EMPTY_IMAGE, provenance: new ImageBuilder().provenance, notes: [] as string[] }
    : await loadSnapshotPath(join(dir, snapshotFileName(latest.id)));
  const fromOffset = latest?.id.offset ?? 0;
  const first = segments[0];
  if (first !== undefined && first.baseOffset > fromOffset) {
    throw new LogGapError(
      `the log in ${dir} starts at offset ${first.baseOffset}, after the latest snapshot's end ` +
        `offset ${fromOffset}: records are missing`,
    );
  }
  const builder = new ImageBuilder();
  builder.image = loaded.image;
  builder.provenance = loaded.provenance;
  const notes = [...loaded.notes];
  segments.forEach((segment, i) => {
    const next = segments[i + 1];
    if (next !== undefined && next.baseOffset <= fromOffset) segment.name = "";
  });
  for (const [i, segment] of segments.entries()) {
    if (segment.name === "") continue; // wholly before the snapshot
    const bytes = await Deno.readFile(join(dir, segment.name));
    applySegment(builder, bytes, {
      name: segment.name,
      fromOffset,
      tornTailAllowed: i === segments.length - 1,
      notes,
    });
  }
  return { image: builder.image, provenance: builder.provenance, notes };
}

/** Splits `[flags...] [command...]`: flags (and their values) up to the first other word. */
function splitArgs(args: string[]): { flags: string[]; command: string[] } {
  const withValue = new Set(["--snapshot", "-s", "--directory", "-d"]);
  let i = 0;
  while (i < args.length && args[i]!.startsWith("-")) {
    if (args[i] === "--") return { flags: args.slice(0, i), command: args.slice(i + 1) };
    i += withValue.has(args[i]!) ? 2 : 1;
  }
  return { flags: args.slice(0, Math.min(i, args.length)), command: args.slice(i) };
}

/** What `runMetadataShell` reads commands from; tests pass their own. */
export interface ShellInput {
  lines: AsyncIterable<string>;
  /** Print a `>> ` prompt before each line (stdin is a terminal). */
  prompt?: (text: string) => void;
}

function terminalInput(): ShellInput {
  const encoder = new TextEncoder();
  return {
    lines: stdinLines(),
    prompt: Deno.stdin.isTerminal()
      ? (text) => void Deno.stdout.writeSync(encoder.encode(text))
      : undefined,
  };
}

/**
 * Runs `metadata-shell` with its arguments: loads the image, then runs the one-shot command or
 * the interactive loop over `input` (stdin by default).
 *
 * @example
 * ```ts ignore
 * await runMetadataShell(["--directory", dir, "ls", "/image/topics/byName"], consoleIo);
 * ```
 */
export async function runMetadataShell(
  args: string[],
  io: CliIo,
  input: ShellInput = terminalInput(),
): Promise<number> {
  const { flags, command } = splitArgs(args);
  const { values } = parseFlags(WHERE, flags, FLAGS);
  if ((values.snapshot === undefined) === (values.directory === undefined)) {
    throw new UsageError(`${WHERE}: exactly one of --snapshot and --directory is required`);
  }
  let loaded: LoadedImage;
  try {
    loaded = values.snapshot !== undefined
      ? await loadSnapshotPath(values.snapshot)
      : await loadMetadataDirectory(values.directory!);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const path = values.snapshot ?? values.directory!;
    const message = error instanceof Deno.errors.NotFound
      ? `cannot read ${path}: no such file or directory`
      : (error as Error).message.split("\n")[0];
    io.err(`${WHERE}: ${message}`);
    return 1;
  }
  loaded.notes.forEach((note) => io.err(`${WHERE}: ${note}`));
  const shell = new ShellSession(imageTree(loaded.image, loaded.provenance), io);
  if (command.length > 0) {
    shell.run(command.map(quoteWord).join(" "));
    return shell.errors > 0 ? 1 : 0;
  }
  const lines = input.lines[Symbol.asyncIterator]();
  while (!shell.exited) {
    input.prompt?.(">> ");
    const next = await lines.next();
    if (next.done) break;
    shell.run(next.value);
  }
  await lines.return?.();
  return 0;
}

/** Quotes a command-line word so the shell's word splitting gives it back unchanged. */
function quoteWord(word: string): string {
  return /^[^\s'"\\]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}
