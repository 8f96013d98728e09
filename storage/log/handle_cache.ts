/**
 * A bounded cache of open file handles, so that the number of descriptors a broker holds does not
 * grow with its partitions and segments (Kafka keeps every segment open and needs `ulimit -n` in
 * the hundreds of thousands; we keep at most {@link HandleCache.handlesMax} idle handles).
 *
 * A file is named by a {@link CachedFile}: it opens its handle on first use and the cache closes
 * the least recently used idle handle when more than `handlesMax` are open. A handle is pinned
 * while in use ({@link CachedFile.use} for synchronous I/O, {@link CachedFile.useAsync} across an
 * `await` such as fsync) and is never evicted while pinned, so the open count may exceed the bound
 * by the handles in use at that moment. A file that is deleted or renamed must be
 * {@link CachedFile.close}d first; after that every use throws `Deno.errors.BadResource`.
 *
 * On failure: an open that fails with EMFILE closes every idle handle and retries once; the
 * second failure is thrown as is.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Idle handles kept open by the process-wide cache.
 *
 * @example
 * ```ts
 * import { HANDLES_MAX_DEFAULT, HandleCache } from "./handle_cache.ts";
 * const cache = new HandleCache(HANDLES_MAX_DEFAULT / 2);
 * ```
 */
export const HANDLES_MAX_DEFAULT = 512;

/**
 * Whether `error` is the OS refusing an open for too many descriptors (EMFILE / ENFILE).
 *
 * @example
 * ```ts
 * import { isTooManyOpenFiles } from "./handle_cache.ts";
 * const error = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
 * console.log(isTooManyOpenFiles(error)); // true
 * ```
 */
export function isTooManyOpenFiles(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/**
 * The cache: an LRU of idle open handles.
 *
 * @example
 * ```ts
 * import { HandleCache } from "./handle_cache.ts";
 * const dir = await Deno.makeTempDir();
 * const cache = new HandleCache(2);
 * const file = cache.file(`${dir}/a.log`, { read: true, append: true, create: true });
 * file.use((f) => f.writeSync(new Uint8Array([1, 2, 3])));
 * console.log(cache.openCount); // 1
 * file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class HandleCache {
  readonly handlesMax: number;
  /** Idle open files, least recently used first (Map keeps insertion order). */
  #idle = new Map<CachedFile, true>();
  #open = 0;

  constructor(handlesMax = HANDLES_MAX_DEFAULT) {
    assert(Number.isSafeInteger(handlesMax) && handlesMax >= 1, `bad handlesMax ${handlesMax}`);
    this.handlesMax = handlesMax;
  }

  /** Names a file; nothing is opened until its first use. */
  file(filePath: string, openOptions: Deno.OpenOptions): CachedFile {
    return new CachedFile(this, filePath, openOptions);
  }

  /** Handles open right now (idle and pinned). */
  get openCount(): number {
    return this.#open;
  }

  /** Idle handles open right now. */
  get idleCount(): number {
    return this.#idle.size;
  }

  /** For {@link CachedFile}: opens a handle, making room once if out of descriptors. */
  openFor(filePath: string, openOptions: Deno.OpenOptions): Deno.FsFile {
    let handle: Deno.FsFile;
    try {
      handle = Deno.openSync(filePath, openOptions);
    } catch (error) {
      if (!isTooManyOpenFiles(error) || this.#idle.size === 0) throw error;
      this.#evictDownTo(0);
      handle = Deno.openSync(filePath, openOptions);
    }
    this.#open++;
    return handle;
  }

  /** For {@link CachedFile}: the handle is in use and leaves the idle list. */
  markBusy(file: CachedFile): void {
    this.#idle.delete(file);
  }

  /** For {@link CachedFile}: the handle is idle, most recently used; the oldest may go. */
  markIdle(file: CachedFile): void {
    this.#idle.delete(file);
    this.#idle.set(file, true);
    this.#evictDownTo(this.handlesMax);
  }

  /** For {@link CachedFile}: its handle was closed for good. */
  forget(file: CachedFile): void {
    if (this.#idle.delete(file) || file.isOpen) this.#open--;
  }

  #evictDownTo(idleMax: number): void {
    for (const file of this.#idle.keys()) {
      if (this.#idle.size <= idleMax) return;
      this.#idle.delete(file);
      file.evict();
      this.#open--;
    }
  }
}

/**
 * One file whose handle lives in a {@link HandleCache}.
 *
 * @example
 * ```ts
 * import { HandleCache } from "./handle_cache.ts";
 * const dir = await Deno.makeTempDir();
 * const file = new HandleCache().file(`${dir}/x.index`, { read: true, write: true, create: true });
 * const size = file.use((f) => f.statSync().size);
 * await file.useAsync((f) => f.syncData());
 * file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class CachedFile {
  readonly path: string;
  #cache: HandleCache;
  #openOptions: Deno.OpenOptions;
  #handle: Deno.FsFile | null = null;
  #pins = 0;
  #opened = false;
  #closed = false;

  constructor(cache: HandleCache, filePath: string, openOptions: Deno.OpenOptions) {
    this.path = filePath;
    this.#cache = cache;
    this.#openOptions = openOptions;
  }

  get isOpen(): boolean {
    return this.#handle !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs synchronous I/O on the handle (opened if needed, pinned meanwhile). */
  use<T>(body: (file: Deno.FsFile) => T): T {
    const handle = this.#pin();
    try {
      return body(handle);
    } finally {
      this.#unpin();
    }
  }

  /** Runs asynchronous I/O on the handle; it stays pinned until the promise settles. */
  async useAsync<T>(body: (file: Deno.FsFile) => Promise<T>): Promise<T> {
    const handle = this.#pin();
    try {
      return await body(handle);
    } finally {
      this.#unpin();
    }
  }

  /** Pins the handle until {@link release} (opened if needed); pairs with exactly one release. */
  hold(): void {
    this.#pin();
  }

  /** Ends one {@link hold}. */
  release(): void {
    if (this.#closed) return;
    this.#unpin();
  }

  /**
   * Closes the handle for good (before the file is deleted or renamed). A pinned handle is closed
   * too: an fsync in flight then fails with `BadResource`, which callers treat as "deleted".
   */
  close(): void {
    if (this.#closed) return;
    this.#cache.forget(this);
    this.#closed = true;
    this.#handle?.close();
    this.#handle = null;
  }

  /** Called by the cache only: the idle handle is closed to make room. */
  evict(): void {
    assert(this.#pins === 0, `evicting pinned handle of ${this.path}`);
    this.#handle?.close();
    this.#handle = null;
  }

  #pin(): Deno.FsFile {
    if (this.#closed) throw new Deno.errors.BadResource(`${this.path} is closed`);
    if (this.#handle === null) {
      // Later opens must find the file: only the first one may create it.
      const options = this.#opened ? { ...this.#openOptions, create: false } : this.#openOptions;
      this.#handle = this.#cache.openFor(this.path, options);
      this.#opened = true;
    } else if (this.#pins === 0) {
      this.#cache.markBusy(this);
    }
    this.#pins++;
    return this.#handle;
  }

  #unpin(): void {
    assert(this.#pins > 0);
    this.#pins--;
    if (this.#pins === 0 && this.#handle !== null) this.#cache.markIdle(this);
  }
}

/**
 * The cache every file log uses unless given its own.
 *
 * @example
 * ```ts
 * import { sharedHandleCache } from "./handle_cache.ts";
 * console.log(sharedHandleCache.openCount <= sharedHandleCache.handlesMax); // true when idle
 * ```
 */
export const sharedHandleCache: HandleCache = new HandleCache();
