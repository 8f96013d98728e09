/**
 * The process's open files limit (`ulimit -n`), read from `/proc/self/limits` on Linux, so a node
 * can warn at start when the limit is low for the partitions it hosts. Elsewhere the limit is
 * unknown (`null`) and no warning is given.
 *
 * Partition logs hold no descriptor while idle (see `log/handle_cache.ts`): what a node needs is
 * the handle cache's bound, one descriptor per partition whose append awaits its fsync, the client
 * and raft sockets, and a reserve for checkpoints and snapshots.
 *
 * @module
 */
import { HANDLES_MAX_DEFAULT } from "./log/handle_cache.ts";

/** Descriptors kept for sockets, checkpoints, snapshots and the runtime itself. */
export const DESCRIPTORS_RESERVE = 1024;

/** Soft and hard `Max open files`; `Infinity` for "unlimited". */
export interface OpenFilesLimit {
  softLimit: number;
  hardLimit: number;
}

/**
 * Parses the `Max open files` line of a `/proc/<pid>/limits` text, or null when absent.
 *
 * @example
 * ```ts
 * import { parseOpenFilesLimit } from "./fd_limit.ts";
 * const text = "Max open files            1024                 524288               files\n";
 * console.log(parseOpenFilesLimit(text)); // { softLimit: 1024, hardLimit: 524288 }
 * ```
 */
export function parseOpenFilesLimit(limitsText: string): OpenFilesLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limitsText);
  if (m === null) return null;
  const value = (s: string) => s === "unlimited" ? Infinity : Number(s);
  return { softLimit: value(m[1]!), hardLimit: value(m[2]!) };
}

/**
 * This process's open files limit, or null where `/proc/self/limits` does not exist (not Linux)
 * or cannot be read.
 *
 * @example
 * ```ts
 * import { readOpenFilesLimit } from "./fd_limit.ts";
 * const limit = readOpenFilesLimit();
 * if (limit !== null) console.log(`ulimit -n is ${limit.softLimit}`);
 * ```
 */
export function readOpenFilesLimit(): OpenFilesLimit | null {
  if (Deno.build.os !== "linux") return null;
  try {
    return parseOpenFilesLimit(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return null;
  }
}

/** Descriptors a node hosting `partitions` partition logs may need at peak. */
export function descriptorsNeeded(
  partitions: number,
  handlesMax: number = HANDLES_MAX_DEFAULT,
): number {
  return handlesMax + partitions + DESCRIPTORS_RESERVE;
}

/**
 * The one-line warning to log at start when the soft limit is below {@link descriptorsNeeded}, or
 * null when it is enough (or unknown).
 *
 * @example
 * ```ts
 * import { openFilesLimitWarning } from "./fd_limit.ts";
 * const limit = { softLimit: 1024, hardLimit: 4096 };
 * const line = openFilesLimitWarning({ partitions: 20_000, limit });
 * if (line !== null) console.warn(line);
 * ```
 */
export function openFilesLimitWarning(
  options: { partitions: number; limit?: OpenFilesLimit | null; handlesMax?: number },
): string | null {
  const limit = options.limit === undefined ? readOpenFilesLimit() : options.limit;
  if (limit === null) return null;
  const needed = descriptorsNeeded(options.partitions, options.handlesMax);
  if (limit.softLimit >= needed) return null;
  return `Open files limit ${limit.softLimit} is low for ${options.partitions} partitions ` +
    `(up to ${needed} descriptors may be needed); raise ulimit -n.`;
}
