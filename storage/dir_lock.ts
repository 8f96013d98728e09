/**
 * Exclusive `.lock` files in log directories, as Kafka takes them: two processes must never run
 * on one directory (both would append to the same logs and the same `quorum-state`).
 *
 * @module
 */

import { join } from "node:path";

/** The lock file Kafka keeps in every log directory. */
export const LOCK_FILE = ".lock";

/** Thrown when another process holds a directory's lock. */
export class DirectoryLockedError extends Error {
  override name = "DirectoryLockedError";
}

/** Held locks; `release()` drops them all. */
export interface DirectoryLocks {
  release(): void;
}

/**
 * Takes an exclusive, non-blocking lock on `<dir>/.lock` for every directory, or throws a
 * one-line {@link DirectoryLockedError} naming the directory already in use. Locks are released
 * by the OS when the process dies, so a kill -9 never leaves a directory locked.
 *
 * @example
 * ```ts
 * import { lockDirectories } from "./dir_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const locks = await lockDirectories([dir]);
 * locks.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockDirectories(dirs: readonly string[]): Promise<DirectoryLocks> {
  const files: Deno.FsFile[] = [];
  const release = () => {
    for (const file of files) {
      try {
        file.close(); // closing drops the flock
      } catch { /* already closed */ }
    }
    files.length = 0;
  };
  try {
    for (const dir of new Set(dirs)) {
      const file = await Deno.open(join(dir, LOCK_FILE), { read: true, write: true, create: true });
      files.push(file);
      if (!(await tryLock(file))) {
        throw new DirectoryLockedError(
          `Failed to acquire lock on file ${LOCK_FILE} in ${dir}: another kraftling (or Kafka) process is using this directory`,
        );
      }
    }
  } catch (error) {
    release();
    throw error;
  }
  return { release };
}

/** A non-blocking exclusive lock: a blocking `lock()` raced against a short timer. */
async function tryLock(file: Deno.FsFile): Promise<boolean> {
  // Deno.FsFile.lock blocks until the lock is free; lockSync with a probe child would be heavier.
  // Racing it against a timer keeps start-up bounded; a lock still pending when we give up is
  // released with the file handle.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const acquired = file.lock(true).then(() => true, () => false);
  const timedOut = new Promise<boolean>((
    resolve,
  ) => (timer = setTimeout(() => resolve(false), 500)));
  const result = await Promise.race([acquired, timedOut]);
  clearTimeout(timer);
  return result;
}
