/**
 * Crash-safe file helpers shared by `storage/`: every file that is replaced (checkpoints, epoch
 * caches, metadata files) goes through {@link writeFileAtomic}, so a reader after a crash sees
 * either the old or the new content, never a mix.
 *
 * @module
 */
import * as path from "node:path";

/**
 * fsyncs a directory so that entries created, renamed or removed in it survive a crash. On Linux a
 * directory opens with `{ read: true }`; platforms that refuse are tolerated.
 *
 * @example
 * ```ts
 * import { syncDir } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await syncDir(dir);
 * await Deno.remove(dir);
 * ```
 */
export async function syncDir(dirPath: string): Promise<void> {
  let dir: Deno.FsFile;
  try {
    dir = await Deno.open(dirPath, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw error;
    return; // platforms that cannot open directories
  }
  try {
    await dir.sync();
  } catch {
    // some file systems reject fsync on a directory; nothing more we can do
  } finally {
    dir.close();
  }
}

/** Writes all of `bytes` at the file's current position (Deno may write partially). */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    written += file.writeSync(bytes.subarray(written));
  }
}

/** Reads exactly `into.length` bytes from `position`, or fewer at end of file; returns the count. */
export function readAtSync(file: Deno.FsFile, position: number, into: Uint8Array): number {
  file.seekSync(position, Deno.SeekMode.Start);
  let read = 0;
  while (read < into.length) {
    const n = file.readSync(into.subarray(read));
    if (n === null || n === 0) break;
    read += n;
  }
  return read;
}

/**
 * Reads up to `into.length` bytes of `filePath` from `position` without blocking the event loop:
 * a handle of its own (so no other reader's or writer's file position is touched), and every
 * open, seek and read runs on Deno's blocking-I/O threads. Returns the count read (fewer at the
 * end of the file).
 *
 * @example
 * ```ts ignore
 * const n = await readAtAsync("/data/t-0/00000000000000000000.log", 4096, new Uint8Array(1024));
 * ```
 */
export async function readAtAsync(
  filePath: string,
  position: number,
  into: Uint8Array,
): Promise<number> {
  using file = await Deno.open(filePath, { read: true });
  await file.seek(position, Deno.SeekMode.Start);
  let read = 0;
  while (read < into.length) {
    const n = await file.read(into.subarray(read));
    if (n === null || n === 0) break;
    read += n;
  }
  return read;
}

/**
 * Replaces `filePath` with `bytes` atomically and durably: write `<file>.tmp`, fsync it, rename it
 * over the target, fsync the directory.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/checkpoint`, new TextEncoder().encode("0\n0\n"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(filePath: string, bytes: Uint8Array): Promise<void> {
  const tmpPath = `${filePath}.tmp`;
  const file = await Deno.open(tmpPath, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    await Deno.rename(tmpPath, filePath);
  } catch (error) {
    await Deno.remove(tmpPath).catch(() => {});
    throw error;
  }
  await syncDir(path.dirname(filePath));
}

/** Reads a whole file as text, or `null` when it does not exist. */
export async function readTextIfExists(filePath: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(filePath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Removes a file if it exists; returns whether it did. */
export async function removeIfExists(filePath: string): Promise<boolean> {
  try {
    await Deno.remove(filePath);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
