import assert from "node:assert/strict";
import { decodeBatch, encodeBatch } from "../../net/protocol/records.ts";
import { FileLog } from "./file_log.ts";
import { IoThrottle } from "./io_throttle.ts";
import { logConfig } from "./log_config.ts";
import { batchOffsets, makeBatch } from "./test_batches.ts";
import { decodeAbortedTxns, encodeAbortedTxns, txnIndexPath } from "./transaction_index.ts";

const DAY_MS = 86_400_000;
const CONFIG = logConfig({
  segmentBytes: 2000,
  cleanupPolicy: { compact: true, delete: false },
  deleteRetentionMs: DAY_MS,
});
const decoder = new TextDecoder();

interface Seen {
  offset: number;
  key: string;
  value: number | null;
}

/** Every record in the log, decoded. */
async function records(log: FileLog): Promise<Seen[]> {
  const out: Seen[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 10_000 && offset < log.logEndOffset; i++) {
    const { records: bytes } = await log.read(offset, { maxBytes: 1 << 20 });
    if (bytes.length === 0) break;
    let pos = 0;
    for (const { last } of batchOffsets(bytes)) {
      const size = 12 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(pos + 8);
      const { header, records } = decodeBatch(bytes.subarray(pos, pos + size));
      for (const r of records) {
        out.push({
          offset: header.baseOffset + r.offsetDelta,
          key: decoder.decode(r.key!),
          value: r.value === null ? null : r.value[0]!,
        });
      }
      pos += size;
      offset = last + 1;
    }
  }
  return out;
}

/** Writes `rounds` updates of keys k0..k9 (value = round), 5 keys per batch. */
async function writeUpdates(log: FileLog, rounds: number, timestampMs: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const half of [0, 5]) {
      const keys = [0, 1, 2, 3, 4].map((i) => `k${i + half}`);
      await log.append(makeBatch({ keys, valueBytes: 40, fill: round, timestampMs }), {
        leaderEpoch: 0,
        nowMs: timestampMs,
      });
    }
  }
}

function test(name: string, body: (root: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const root = await Deno.makeTempDir();
    try {
      await body(root);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

test("compaction keeps the latest record per key and preserves offsets", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await writeUpdates(log, 20, 1000);
  const before = await records(log);
  const end = log.logEndOffset;
  const result = await log.compact({ nowMs: 2000 });
  assert.ok(result.segmentsCleaned > 0 && result.recordsRemoved > 0);
  assert.ok(result.bytesAfter < result.bytesBefore);
  assert.equal(log.logEndOffset, end);
  const after = await records(log);
  const byOffset = new Map(before.map((r) => [r.offset, r]));
  for (const r of after) assert.deepEqual(byOffset.get(r.offset), r, "offsets keep their records");
  const latest = new Map<string, number>();
  for (const r of before) latest.set(r.key, r.offset);
  for (const [key, offset] of latest) {
    assert.ok(after.some((r) => r.offset === offset), `latest ${key} kept`);
  }
  const activeBase = log.segmentBaseOffsets().at(-1)!;
  const cleanedKeys = after.filter((r) => r.offset < activeBase).map((r) => r.key);
  assert.equal(
    new Set(cleanedKeys).size,
    cleanedKeys.length,
    "one record per key below the active segment",
  );
  await log.close();
  const reopened = await FileLog.open({
    dir: `${root}/c-0`,
    config: CONFIG,
    recoveryPoint: 0,
    warn: () => {},
  });
  assert.deepEqual(await records(reopened), after);
  await reopened.close();
});

test("tombstones survive delete.retention.ms and are dropped after it", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await log.append(makeBatch({ keys: ["gone"], timestampMs: 1000 }), {
    leaderEpoch: 0,
    nowMs: 1000,
  });
  await writeUpdates(log, 3, 1000);
  await log.append(makeBatch({ keys: ["gone"], tombstones: [true], timestampMs: 1000 }), {
    leaderEpoch: 0,
    nowMs: 1000,
  });
  await writeUpdates(log, 10, 5000);
  await log.compact({ nowMs: 2000 });
  let all = await records(log);
  assert.ok(
    all.some((r) => r.key === "gone" && r.value === null),
    "tombstone kept within the retention",
  );
  assert.equal(all.filter((r) => r.key === "gone").length, 1, "the value it deletes is gone");
  await log.compact({ nowMs: 1000 + 2 * DAY_MS });
  all = await records(log);
  assert.ok(!all.some((r) => r.value === null), "tombstone dropped after the retention");
  await log.close();
});

test("appends and reads go on while compaction runs", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await writeUpdates(log, 100, 1000);
  const compaction = log.compact({ nowMs: 2000 });
  const appended = await log.append(makeBatch({ keys: ["late"] }), { leaderEpoch: 0, nowMs: 2000 });
  const read = await log.read(appended.baseOffset, { maxBytes: 100 });
  assert.equal(read.firstOffset, appended.baseOffset);
  await compaction;
  assert.ok((await records(log)).some((r) => r.key === "late"));
  await log.close();
});

test("a bounded offset map cleans part of the log and leaves the rest for later", async (root) => {
  const warnings: string[] = [];
  const log = await FileLog.open({
    dir: `${root}/c-0`,
    config: CONFIG,
    warn: (w) => warnings.push(w),
  });
  for (let i = 0; i < 60; i++) {
    await log.append(makeBatch({ keys: [`unique-${i}`, "hot"], valueBytes: 40 }), {
      leaderEpoch: 0,
      nowMs: 1,
    });
  }
  const result = await log.compact({ nowMs: 2, offsetMapBytesMax: 20 * 80 });
  assert.ok(warnings.some((w) => w.includes("Offset map")));
  assert.ok(result.recordsRemoved > 0);
  const all = await records(log);
  assert.equal(all.filter((r) => r.key.startsWith("unique")).length, 60);
  await log.close();
});

test("a crash after the swap file was written is completed on open", async (root) => {
  const config = CONFIG;
  const plain = await FileLog.open({ dir: `${root}/a-0`, config, warn: () => {} });
  await writeUpdates(plain, 20, 1000);
  const original = await records(plain);
  await plain.close();
  await Deno.mkdir(`${root}/b-0`);
  for await (const e of Deno.readDir(`${root}/a-0`)) {
    await Deno.copyFile(`${root}/a-0/${e.name}`, `${root}/b-0/${e.name}`);
  }
  const compacted = await FileLog.open({ dir: `${root}/b-0`, config, warn: () => {} });
  await compacted.compact({ nowMs: 2000 });
  const [firstBase, boundary] = compacted.segmentBaseOffsets() as [number, number];
  const expected = [
    ...(await records(compacted)).filter((r) => r.offset < boundary),
    ...original.filter((r) => r.offset >= boundary),
  ];
  await compacted.close();
  const stem = String(firstBase).padStart(20, "0");
  await Deno.copyFile(`${root}/b-0/${stem}.log`, `${root}/a-0/${stem}.log.swap`);
  await Deno.writeFile(`${root}/a-0/${stem}.index.swap`, new Uint8Array(3));
  const warnings: string[] = [];
  const recovered = await FileLog.open({
    dir: `${root}/a-0`,
    config,
    warn: (w) => warnings.push(w),
  });
  assert.ok(warnings.some((w) => w.includes("interrupted swap")), warnings.join("\n"));
  assert.deepEqual(await records(recovered), expected);
  await recovered.close();
});

test("a log without the compact policy is left alone", async (root) => {
  const log = await FileLog.open({
    dir: `${root}/c-0`,
    config: logConfig({ segmentBytes: 2000 }),
    warn: () => {},
  });
  await writeUpdates(log, 10, 1000);
  const result = await log.compact({ nowMs: 2000 });
  assert.equal(result.segmentsCleaned, 0);
  await log.close();
});

/** Headers of every batch holding `key`, with each such record's absolute timestamp. */
async function batchesWithKey(log: FileLog, key: string) {
  const out: { attributes: number; baseTimestamp: number; timestamps: number[] }[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 10_000 && offset < log.logEndOffset; i++) {
    const { records: bytes } = await log.read(offset, { maxBytes: 1 << 20 });
    if (bytes.length === 0) break;
    let pos = 0;
    for (const { last } of batchOffsets(bytes)) {
      const size = 12 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(pos + 8);
      const { header, records } = decodeBatch(bytes.subarray(pos, pos + size));
      const mine = records.filter((r) => r.key !== null && decoder.decode(r.key) === key);
      if (mine.length > 0) {
        out.push({
          attributes: header.attributes,
          baseTimestamp: header.baseTimestamp,
          timestamps: mine.map((r) => header.baseTimestamp + r.timestampDelta),
        });
      }
      pos += size;
      offset = last + 1;
    }
  }
  return out;
}

// KIP-534: the window starts at the cleaning pass that first sees the tombstone, not at the
// segment's timestamps, so an old tombstone is not dropped by the first pass.
test("an old tombstone gets a delete horizon from the first pass and is dropped only after it", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await log.append(makeBatch({ keys: ["gone"], timestampMs: 1000 }), { leaderEpoch: 0, nowMs: 1 });
  await writeUpdates(log, 3, 1000);
  await log.append(makeBatch({ keys: ["gone"], tombstones: [true], timestampMs: 1000 }), {
    leaderEpoch: 0,
    nowMs: 1000,
  });
  await writeUpdates(log, 10, 5000);
  const firstPassMs = 1000 + 10 * DAY_MS;
  await log.compact({ nowMs: firstPassMs });
  const [stamped, ...others] = await batchesWithKey(log, "gone");
  assert.equal(others.length, 0, "the value it deletes is gone");
  assert.ok(stamped, "the tombstone survives the first pass that sees it");
  assert.equal(stamped.attributes & 0x40, 0x40, "deleteHorizonSet attribute bit");
  assert.equal(stamped.baseTimestamp, firstPassMs + DAY_MS, "base timestamp holds the horizon");
  assert.deepEqual(stamped.timestamps, [1000], "the record keeps its own timestamp");
  await log.compact({ nowMs: firstPassMs + DAY_MS - 1 });
  assert.equal((await batchesWithKey(log, "gone")).length, 1, "kept until the horizon");
  await log.close();
  const reopened = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await reopened.compact({ nowMs: firstPassMs + DAY_MS });
  assert.equal((await batchesWithKey(reopened, "gone")).length, 0, "dropped at the horizon");
  await reopened.close();
});

test("segments written by the cleaner have their .index and .timeindex, so a reopen rebuilds nothing", async (root) => {
  const config = logConfig({
    segmentBytes: 20_000,
    indexIntervalBytes: 500,
    cleanupPolicy: { compact: true, delete: false },
  });
  const dir = `${root}/c-0`;
  const log = await FileLog.open({ dir, config, warn: () => {} });
  for (let round = 0; round < 40; round++) {
    const keys = [0, 1, 2, 3, 4].map((i) => `k${(round * 5 + i) % 150}`);
    await log.append(makeBatch({ keys, valueBytes: 40, fill: round, timestampMs: 1000 + round }), {
      leaderEpoch: 0,
      nowMs: 1000,
    });
  }
  await writeUpdates(log, 60, 2000);
  const byTimeBefore = log.offsetForTimestamp(1020);
  const result = await log.compact({ nowMs: 3000 });
  assert.ok(result.segmentsCleaned > 0 && result.recordsRemoved > 0);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.ok(!names.some((n) => /\.(cleaned|swap)$/.test(n)), names.join(" "));
  const cleanedBase = String(log.segmentBaseOffsets()[0]).padStart(20, "0");
  const indexBytes = Deno.statSync(`${dir}/${cleanedBase}.index`).size;
  const timeIndexBytes = Deno.statSync(`${dir}/${cleanedBase}.timeindex`).size;
  assert.ok(indexBytes > 0 && indexBytes % 8 === 0, `.index of ${indexBytes} bytes`);
  assert.ok(timeIndexBytes > 0 && timeIndexBytes % 12 === 0, `.timeindex of ${timeIndexBytes}`);
  const after = await records(log);
  const seek = await log.read(after[Math.floor(after.length / 2)]!.offset, { maxBytes: 1 });
  assert.ok(seek.records.length > 0, "reads through the new index work");
  assert.deepEqual(
    log.offsetForTimestamp(1020),
    byTimeBefore,
    "time lookups use the new .timeindex",
  );
  await log.close();
  const warnings: string[] = [];
  const reopened = await FileLog.open({
    dir,
    config,
    hadCleanShutdown: true,
    warn: (w) => warnings.push(w),
  });
  assert.deepEqual(warnings, [], "no index is rebuilt");
  assert.deepEqual(await records(reopened), after);
  await reopened.close();
});

test("a cleaned segment smaller than index.interval.bytes still has its (empty) .index file", async (root) => {
  const dir = `${root}/c-0`;
  const log = await FileLog.open({ dir, config: CONFIG, warn: () => {} });
  await writeUpdates(log, 20, 1000);
  await log.compact({ nowMs: 2000 });
  const stems = log.segmentBaseOffsets().slice(0, -1).map((b) => String(b).padStart(20, "0"));
  const cleanedBase = stems.find((stem) => Deno.statSync(`${dir}/${stem}.log`).size > 0)!;
  assert.ok(cleanedBase !== undefined, "a cleaned segment kept records");
  assert.equal(Deno.statSync(`${dir}/${cleanedBase}.index`).size, 0);
  assert.equal(Deno.statSync(`${dir}/${cleanedBase}.timeindex`).size, 12, "the final entry");
  await log.close();
  const warnings: string[] = [];
  const reopened = await FileLog.open({ dir, config: CONFIG, warn: (w) => warnings.push(w) });
  assert.deepEqual(warnings, [], "no index is rebuilt");
  await reopened.close();
});

test("compaction carries the aborted-transaction entries of the segments it cleans", async (root) => {
  const log = await FileLog.open({ dir: `${root}/t-0`, config: CONFIG, warn: () => {} });
  await writeUpdates(log, 20, 1000);
  const [first, second] = log.segmentBaseOffsets() as [number, number];
  const entry = (base: number) => ({
    producerId: 7,
    firstOffset: base,
    lastOffset: base + 1,
    lastStableOffset: base + 2,
  });
  await Deno.writeFile(txnIndexPath(log.dir, first), encodeAbortedTxns([entry(first)]));
  await Deno.writeFile(txnIndexPath(log.dir, second), encodeAbortedTxns([entry(second)]));
  const result = await log.compact({ nowMs: 2000 });
  assert.ok(result.segmentsCleaned >= 2);
  await log.close();
  // Whether the cleaner merged the two segments or not, their entries are still beside them.
  const reopened = await FileLog.open({ dir: `${root}/t-0`, config: CONFIG, warn: () => {} });
  const entries = [];
  for (const base of reopened.segmentBaseOffsets()) {
    try {
      entries.push(
        ...decodeAbortedTxns(await Deno.readFile(txnIndexPath(reopened.dir, base))).entries,
      );
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  assert.deepEqual(entries, [entry(first), entry(second)]);
  await reopened.close();
});

/** A transactional batch of one record tx -> [fill x 40] from `producerId`. */
const txn = (producerId: number, fill: number) =>
  encodeBatch({
    baseOffset: 0,
    baseTimestamp: 1000,
    producerId,
    producerEpoch: 0,
    baseSequence: 0,
    transactional: true,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: new TextEncoder().encode("tx"),
      value: new Uint8Array(40).fill(fill),
      headers: [],
    }],
  });

test("aborted transactions never shadow a committed value and the cleaner stops at the LSO", async (root) => {
  const log = await FileLog.open({ dir: `${root}/x-0`, config: CONFIG, warn: () => {} });
  const append = (bytes: Uint8Array) => log.append(bytes, { leaderEpoch: 0, nowMs: 1000 });
  await append(makeBatch({ keys: ["tx"], valueBytes: 40, fill: 1, timestampMs: 1000 })); // 0
  await append(txn(7, 2)); // 1: its transaction aborted (the ABORT marker is not written here)
  await writeUpdates(log, 20, 1000); // other keys, enough segments to clean
  log.cleanerLimits = () => ({
    endOffset: log.logEndOffset,
    abortedTransactions: [{ producerId: 7, firstOffset: 1, lastOffset: 2 }],
  });
  await log.compact({ nowMs: 2000 });
  const tx = (await records(log)).filter((r) => r.key === "tx");
  // The aborted value neither survives nor shadows the committed one before it.
  assert.deepEqual(tx.map((r) => [r.offset, r.value]), [[0, 1]]);

  const held = await FileLog.open({ dir: `${root}/y-0`, config: CONFIG, warn: () => {} });
  await held.append(makeBatch({ keys: ["tx"], valueBytes: 40, fill: 1, timestampMs: 1000 }), {
    leaderEpoch: 0,
    nowMs: 1000,
  });
  await held.append(txn(8, 3), { leaderEpoch: 0, nowMs: 1000 });
  await writeUpdates(held, 20, 1000);
  held.cleanerLimits = () => ({ endOffset: 1, abortedTransactions: [] });
  const result = await held.compact({ nowMs: 2000 });
  // The open transaction at offset 1 holds the LSO: no segment lies wholly below it.
  assert.equal(result.segmentsCleaned, 0);
  await log.close();
  await held.close();
});

/** Appends one batch of distinct keys `prefix-0..n-1` (padding the log without shadowing keys). */
async function writeDistinct(log: FileLog, prefix: string, n: number, timestampMs: number) {
  for (let i = 0; i < n; i++) {
    await log.append(makeBatch({ keys: [`${prefix}-${i}`], valueBytes: 40, timestampMs }), {
      leaderEpoch: 0,
      nowMs: timestampMs,
    });
  }
}

test("a cleaned log is not cleaned again until its dirty share passes min.cleanable.dirty.ratio", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await writeUpdates(log, 20, 1000);
  await writeDistinct(log, "pad", 40, 1000);
  const first = await log.compact({ nowMs: 2000 });
  assert.ok(first.segmentsCleaned > 0, "a new log is all dirty");
  const cleanedUpTo = log.firstDirtyOffset;
  assert.ok(cleanedUpTo > 0);
  assert.deepEqual(await log.compact({ nowMs: 3000 }), {
    segmentsCleaned: 0,
    recordsRemoved: 0,
    bytesBefore: 0,
    bytesAfter: 0,
  }, "nothing dirty: not even read");
  // A little new data (a small share of the log) waits ...
  await writeUpdates(log, 1, 4000);
  await writeDistinct(log, "tail", 8, 4000);
  assert.equal((await log.compact({ nowMs: 5000 })).segmentsCleaned, 0, "below the ratio");
  const withOld = await records(log);
  assert.ok(withOld.filter((r) => r.key === "k0").length >= 2, "k0 still has its older value");
  // ... until the dirty share passes the ratio: then the clean part loses what the dirty part
  // updated, and the dirty section starts after the cleaned range.
  await writeUpdates(log, 12, 6000);
  await writeDistinct(log, "more", 30, 6000);
  const second = await log.compact({ nowMs: 7000 });
  assert.ok(second.recordsRemoved > 0);
  assert.ok(log.firstDirtyOffset > cleanedUpTo);
  const after = await records(log);
  const k0 = after.filter((r) => r.key === "k0");
  assert.equal(k0.length, 1, "one k0 left");
  assert.equal(k0[0]!.value, 11, "the latest round");
  assert.equal(after.filter((r) => r.key.startsWith("pad-")).length, 40, "unique keys stay");
  await log.close();
});

test("max.compaction.lag.ms cleans a log whose dirty records waited that long, whatever the ratio", async (root) => {
  const config = logConfig({ ...CONFIG, minCleanableDirtyRatio: 0.99, maxCompactionLagMs: 60_000 });
  const log = await FileLog.open({ dir: `${root}/c-0`, config, warn: () => {} });
  await writeUpdates(log, 20, 1000);
  await writeDistinct(log, "pad", 40, 1000);
  await log.compact({ nowMs: 2000 }); // everything dirty: ratio 1 > 0.99
  await writeUpdates(log, 2, 10_000);
  await writeDistinct(log, "tail", 30, 10_000);
  assert.equal((await log.compact({ nowMs: 20_000 })).segmentsCleaned, 0, "not waited long");
  const late = await log.compact({ nowMs: 10_000 + 60_001 });
  assert.ok(late.segmentsCleaned > 0 && late.recordsRemoved > 0, JSON.stringify(late));
  await log.close();
});

test("a compacted log's active segment rolls by max.compaction.lag.ms", async (root) => {
  const config = logConfig({ ...CONFIG, segmentBytes: 1 << 20, maxCompactionLagMs: 1_000 });
  const log = await FileLog.open({ dir: `${root}/c-0`, config, warn: () => {} });
  await writeDistinct(log, "a", 1, 1_000);
  await writeDistinct(log, "b", 1, 1_500);
  assert.equal(log.segmentCount, 1);
  await writeDistinct(log, "c", 1, 2_001);
  assert.equal(log.segmentCount, 2, "the first batch waited more than 1 s");
  await log.close();
});

test("a passed delete horizon has the log cleaned again with nothing dirty, dropping the tombstone", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await log.append(makeBatch({ keys: ["gone"], timestampMs: 1000 }), { leaderEpoch: 0, nowMs: 1 });
  await log.append(makeBatch({ keys: ["gone"], tombstones: [true], timestampMs: 1000 }), {
    leaderEpoch: 0,
    nowMs: 1000,
  });
  await writeUpdates(log, 10, 5000);
  await log.compact({ nowMs: 10_000 });
  assert.equal((await batchesWithKey(log, "gone")).length, 1, "the tombstone, stamped");
  assert.equal((await log.compact({ nowMs: 10_000 + DAY_MS - 1 })).segmentsCleaned, 0);
  const due = await log.compact({ nowMs: 10_000 + DAY_MS });
  assert.ok(due.segmentsCleaned > 0, "the horizon makes it due");
  assert.equal((await batchesWithKey(log, "gone")).length, 0);
  assert.equal((await log.compact({ nowMs: 10_000 + 2 * DAY_MS })).segmentsCleaned, 0);
  await log.close();
});

test("log.cleaner.io.max.bytes.per.second: a cleaning's reads and writes go through its throttle", async (root) => {
  const log = await FileLog.open({ dir: `${root}/c-0`, config: CONFIG, warn: () => {} });
  await writeUpdates(log, 100, 1000);
  const bytes = log.sizeBytes;
  // A clock that moves 1 ms per observed batch: the cleaning looks much faster than 20 kB/s.
  let nowMs = 0;
  let sleptMs = 0;
  const throttle = new IoThrottle(20_000, {
    nowMs: () => ++nowMs,
    sleep: (ms) => {
      sleptMs += ms;
      nowMs += ms;
      return Promise.resolve();
    },
  });
  const result = await log.compact({ nowMs: 2000, ioThrottle: throttle });
  assert.ok(result.recordsRemoved > 0);
  // The map pass and the rewrite each read the log (and the rewrite writes what is kept): more
  // than one pass's worth of time at 20 kB/s (the last interval of each is not slept off).
  assert.ok(sleptMs >= (bytes / 20_000) * 1000 * 1.2, `slept ${sleptMs} ms for ${bytes} bytes`);
  await log.close();
});
