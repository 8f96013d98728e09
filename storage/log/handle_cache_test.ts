import assert from "node:assert/strict";
import { HandleCache } from "./handle_cache.ts";
import { FileLog } from "./file_log.ts";
import { logConfig } from "./log_config.ts";
import { batchOffsets, makeBatch } from "./test_batches.ts";

const NOW_MS = 1_700_000_000_000;
const quiet = () => {};

async function withDir(body: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Descriptors this process holds (Linux), or null elsewhere. */
/**
 * Descriptors this process holds on files under `root` (null when /proc is absent). Counting only
 * the test's own directory keeps the count exact while other tests run in parallel workers.
 */
function openDescriptors(root: string): number | null {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/fd")];
  } catch {
    return null;
  }
  let count = 0;
  for (const e of entries) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith(root)) count++;
    } catch { /* closed meanwhile */ }
  }
  return count;
}

const RW = { read: true, append: true, create: true };

Deno.test("the cache keeps at most handlesMax idle handles, closing the least recently used", async () => {
  await withDir((root) => {
    const cache = new HandleCache(2);
    const files = ["a", "b", "c"].map((name) => cache.file(`${root}/${name}`, RW));
    for (const file of files) file.use((f) => f.writeSync(new Uint8Array([1])));
    assert.equal(cache.openCount, 2);
    assert.deepEqual(files.map((f) => f.isOpen), [false, true, true]);
    files[1]!.use(() => {});
    files[0]!.use((f) => assert.equal(f.statSync().size, 1, "reopened without truncating"));
    assert.deepEqual(files.map((f) => f.isOpen), [true, true, false]);
    for (const file of files) file.close();
    assert.equal(cache.openCount, 0);
    return Promise.resolve();
  });
});

Deno.test("a pinned handle is not evicted while an fsync is in flight", async () => {
  await withDir(async (root) => {
    const cache = new HandleCache(1);
    const slow = cache.file(`${root}/slow`, RW);
    const other = cache.file(`${root}/other`, RW);
    const syncing = slow.useAsync(async (f) => {
      other.use((o) => o.writeSync(new Uint8Array([2])));
      await f.syncData();
      return f.statSync().size;
    });
    assert.ok(slow.isOpen && other.isOpen, "both open: one pinned, one idle");
    assert.equal(await syncing, 0);
    assert.equal(cache.openCount, 1);
    slow.close();
    other.close();
  });
});

Deno.test("a closed file refuses further use instead of recreating it", async () => {
  await withDir(async (root) => {
    const file = new HandleCache().file(`${root}/gone`, RW);
    file.use(() => {});
    file.close();
    await Deno.remove(`${root}/gone`);
    assert.throws(() => file.use(() => {}), Deno.errors.BadResource);
    await assert.rejects(Deno.stat(`${root}/gone`), Deno.errors.NotFound);
  });
});

Deno.test("compaction, retention and reads work when every file use evicts another", async () => {
  await withDir(async (root) => {
    const cache = new HandleCache(1);
    const config = logConfig({
      segmentBytes: 1000,
      indexIntervalBytes: 100,
      cleanupPolicy: { compact: true, delete: true },
      retentionBytes: 4000,
    });
    const log = await FileLog.open({ dir: `${root}/c-0`, config, warn: quiet, handleCache: cache });
    for (let round = 0; round < 30; round++) {
      const batch = makeBatch({ keys: ["k0", "k1", "k2"], valueBytes: 40, fill: round });
      await log.append(batch, { leaderEpoch: 0, nowMs: NOW_MS });
    }
    assert.ok(log.segmentCount > 3);
    const result = await log.compact({ nowMs: NOW_MS });
    assert.ok(result.recordsRemoved > 0);
    await log.deleteOldSegments({ nowMs: NOW_MS });
    await log.truncateTo(log.logEndOffset - 2);
    const ends: number[] = [];
    for (let offset = log.logStartOffset; offset < log.logEndOffset;) {
      const { records } = await log.read(offset, { maxBytes: 1 << 20 });
      for (const { last } of batchOffsets(records)) ends.push(last);
      offset = ends.at(-1)! + 1;
    }
    assert.equal(ends.at(-1), log.logEndOffset - 1);
    assert.ok(cache.openCount <= 1);
    await log.close();
    assert.equal(cache.openCount, 0);
  });
});

Deno.test("idle file logs hold no descriptors beyond the cache bound", async () => {
  if (openDescriptors("/") === null) return; // not Linux
  await withDir(async (root) => {
    const cache = new HandleCache(8);
    const config = logConfig({ segmentBytes: 300 });
    const logs: FileLog[] = [];
    for (let p = 0; p < 100; p++) {
      const log = await FileLog.open({
        dir: `${root}/t-${p}`,
        config,
        warn: quiet,
        handleCache: cache,
      });
      for (let i = 0; i < 3; i++) {
        await log.append(makeBatch({ valueBytes: 200 }), { leaderEpoch: 0, nowMs: NOW_MS });
      }
      logs.push(log);
    }
    assert.ok(logs[0]!.segmentCount > 1, "old segments exist");
    const held = openDescriptors(root)!;
    assert.ok(held <= cache.handlesMax, `${held} descriptors held for 100 logs`);
    await Promise.all(logs.map((log) => log.close()));
  });
});
