/**
 * Which errors mean a log directory has failed (Kafka's `LogDirFailureChannel`: any
 * `IOException` on a log, its checkpoints or its indexes takes the whole directory offline,
 * KIP-112). Only what the operating system says about the disk counts: a refused request
 * (`LogError` with OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE, ...) or a broken invariant does not.
 *
 * @module
 */
import { LogError, LogErrorCode } from "./log_error.ts";

/**
 * errno codes that mean the directory or its disk is unusable: an I/O error, a full or
 * read-only file system, a vanished or replaced directory, lost permissions, a stale handle.
 */
export const STORAGE_FAILURE_CODES: ReadonlySet<string> = new Set([
  "EIO",
  "ENOSPC",
  "EDQUOT",
  "EROFS",
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EACCES",
  "EPERM",
  "EBADF",
  "ESTALE",
  "ENXIO",
  "ENODEV",
]);

/** Causes followed at most, so a cyclic `cause` chain cannot loop. */
const CAUSE_DEPTH_MAX = 8;

/**
 * True when `error` (or an error in its `cause` chain) is the operating system failing a file
 * operation with one of {@link STORAGE_FAILURE_CODES}.
 *
 * @example
 * ```ts
 * import { isStorageFailure } from "./log_dir_failure.ts";
 * try {
 *   await Deno.writeFile("/no/such/dir/file", new Uint8Array(1));
 * } catch (error) {
 *   isStorageFailure(error); // true (ENOENT)
 * }
 * isStorageFailure(new Error("bad request")); // false
 * ```
 */
export function isStorageFailure(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && STORAGE_FAILURE_CODES.has(code)) return true;
    // A LogError's code is a Kafka error code; only KAFKA_STORAGE_ERROR may wrap a disk error.
    if (e instanceof LogError && e.code !== LogErrorCode.KAFKA_STORAGE_ERROR) return false;
    e = e.cause;
  }
  return false;
}

/** Told once per directory, the first time it fails. */
export type LogDirFailureListener = (logDir: string, error: Error) => void;

/**
 * The directories that have failed, in this process (Kafka's `LogDirFailureChannel`): the first
 * failure of a directory is passed on once; later ones are ignored.
 *
 * @example
 * ```ts
 * import { LogDirFailureChannel } from "./log_dir_failure.ts";
 * const channel = new LogDirFailureChannel((dir, error) => console.log(dir, error.message));
 * channel.maybeFail("/data/a", Object.assign(new Error("Input/output error"), { code: "EIO" }));
 * channel.isOffline("/data/a"); // true
 * ```
 */
export class LogDirFailureChannel {
  readonly #offline = new Set<string>();
  readonly #listener: LogDirFailureListener;

  constructor(listener: LogDirFailureListener) {
    this.#listener = listener;
  }

  /** Marks `logDir` offline when `error` is a storage failure; true when it did so now. */
  maybeFail(logDir: string, error: unknown): boolean {
    if (this.#offline.has(logDir) || !isStorageFailure(error)) return false;
    this.#offline.add(logDir);
    this.#listener(logDir, error as Error);
    return true;
  }

  /** Marks `logDir` offline whatever the error (e.g. unreadable at start-up); true when new. */
  markOffline(logDir: string, error: Error): boolean {
    if (this.#offline.has(logDir)) return false;
    this.#offline.add(logDir);
    this.#listener(logDir, error);
    return true;
  }

  isOffline(logDir: string): boolean {
    return this.#offline.has(logDir);
  }

  /** The failed directories, in the order they failed. */
  offlineDirs(): string[] {
    return [...this.#offline];
  }
}
