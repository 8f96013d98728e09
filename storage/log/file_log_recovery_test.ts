import assert from "node:assert/strict";
import { FileLog } from "./file_log.ts";
import { logConfig } from "./log_config.ts";
import { batchOffsets, makeBatch } from "./test_batches.ts";

const NOW_MS = 1_700_000_000_000;
const CONFIG = logConfig({ segmentBytes: 3000, indexIntervalBytes: 300 });
const SEG0 = "00000000000000000000";

/** 30 batches of 2 records over several segments, closed cleanly; returns the partition dir. */
async function writeLog(root: string): Promise<string> {
  const dir = `${root}/t-0`;
  const log = await FileLog.open({ dir, config: CONFIG, warn: () => {} });
  for (let i = 0; i < 30; i++) {
    await log.append(makeBatch({ records: 2, valueBytes: 200, timestampMs: 10_000 + i }), {
      leaderEpoch: Math.floor(i / 10),
      nowMs: NOW_MS,
    });
  }
  await log.close();
  return dir;
}

async function reopen(dir: string, clean: boolean): Promise<{ log: FileLog; warnings: string[] }> {
  const warnings: string[] = [];
  const log = await FileLog.open({
    dir,
    config: CONFIG,
    warn: (line) => warnings.push(line),
    hadCleanShutdown: clean,
    recoveryPoint: clean ? Number.MAX_SAFE_INTEGER : 0,
  });
  return { log, warnings };
}

async function segmentNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".log")) names.push(e.name);
  return names.sort();
}

/** Reads every offset from the start and checks each batch is whole and in order. */
async function assertReadable(log: FileLog): Promise<void> {
  let offset = log.logStartOffset;
  for (let i = 0; i < 10_000 && offset < log.logEndOffset; i++) {
    const { records } = await log.read(offset, { maxBytes: 1 << 20 });
    const batches = batchOffsets(records);
    assert.ok(batches.length > 0);
    assert.ok(batches[0]!.base <= offset && batches[0]!.last >= offset);
    offset = batches.at(-1)!.last + 1;
  }
  assert.equal(offset, log.logEndOffset);
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

async function lastSegment(dir: string): Promise<string> {
  return `${dir}/${(await segmentNames(dir)).at(-1)!}`;
}

for (const clean of [false, true]) {
  const how = clean ? "after a clean shutdown" : "after a crash";
  test(`garbage after the last batch is dropped ${how}`, async (root) => {
    const dir = await writeLog(root);
    const file = await Deno.open(await lastSegment(dir), { append: true });
    await file.write(new Uint8Array(100).fill(0xab));
    file.close();
    const { log, warnings } = await reopen(dir, clean);
    assert.equal(log.logEndOffset, 60);
    assert.ok(warnings.some((w) => w.includes("Dropping 100 bytes")), warnings.join("\n"));
    await assertReadable(log);
    await log.close();
  });

  test(`a half-written last batch is dropped ${how}`, async (root) => {
    const dir = await writeLog(root);
    const path = await lastSegment(dir);
    const size = (await Deno.stat(path)).size;
    await Deno.truncate(path, size - 40);
    const { log, warnings } = await reopen(dir, clean);
    assert.equal(log.logEndOffset, 58);
    assert.equal(warnings.length >= 1, true);
    const appended = await log.append(makeBatch(), { leaderEpoch: 5, nowMs: NOW_MS });
    assert.equal(appended.baseOffset, 58);
    await assertReadable(log);
    await log.close();
  });
}

test("a bad CRC mid-log truncates there and deletes later segments", async (root) => {
  const dir = await writeLog(root);
  const names = await segmentNames(dir);
  assert.ok(names.length >= 3);
  const second = `${dir}/${names[1]}`;
  const bytes = await Deno.readFile(second);
  const batchSize = 12 + new DataView(bytes.buffer).getInt32(8);
  bytes[batchSize + 100]! ^= 0xff; // inside the second batch's records
  await Deno.writeFile(second, bytes);
  const { log, warnings } = await reopen(dir, false);
  const secondBase = Number(names[1]!.slice(0, 20));
  assert.equal(log.logEndOffset, secondBase + 2);
  assert.ok(warnings.some((w) => w.includes("CRC32C")), warnings.join("\n"));
  assert.equal((await segmentNames(dir)).length, 2);
  assert.equal(log.latestEpoch(), 0);
  await assertReadable(log);
  await log.close();
});

test("a bad magic byte truncates the segment", async (root) => {
  const dir = await writeLog(root);
  const path = await lastSegment(dir);
  const bytes = await Deno.readFile(path);
  bytes[16] = 7;
  await Deno.writeFile(path, bytes);
  const { log, warnings } = await reopen(dir, false);
  assert.equal(log.logEndOffset, Number((await segmentNames(dir)).at(-1)!.slice(0, 20)));
  assert.ok(warnings.some((w) => w.includes("magic 7")));
  await log.close();
});

for (
  const [what, damage] of [
    ["truncated", (b: Uint8Array) => b.subarray(0, 5)],
    ["garbage", (b: Uint8Array) => b.map((_, i) => (i * 37) & 0xff)],
    ["longer than its segment", (b: Uint8Array) => {
      const out = new Uint8Array(b.length + 8);
      out.set(b);
      new DataView(out.buffer).setInt32(b.length, 9999);
      new DataView(out.buffer).setInt32(b.length + 4, 1 << 30);
      return out;
    }],
    ["missing", null],
  ] as const
) {
  test(`a ${what} offset index is rebuilt`, async (root) => {
    const dir = await writeLog(root);
    const path = `${dir}/${SEG0}.index`;
    const original = await Deno.readFile(path);
    if (damage === null) await Deno.remove(path);
    else await Deno.writeFile(path, damage(original));
    const { log, warnings } = await reopen(dir, true);
    assert.ok(warnings.some((w) => w.includes("Rebuilding index")), warnings.join("\n"));
    assert.deepEqual(await Deno.readFile(path), original);
    await assertReadable(log);
    await log.close();
  });
}

test("a garbage time index is rebuilt and timestamp lookups still work", async (root) => {
  const dir = await writeLog(root);
  const path = `${dir}/${SEG0}.timeindex`;
  const original = await Deno.readFile(path);
  await Deno.writeFile(path, new Uint8Array(original.length + 12).fill(0xff));
  const { log, warnings } = await reopen(dir, true);
  assert.ok(warnings.some((w) => w.includes("timeindex")));
  assert.deepEqual(await Deno.readFile(path), original);
  assert.equal(log.offsetForTimestamp(10_003)?.offset, 5, "second record of the batch at 10_002");
  await log.close();
});

test("a broken leader-epoch-checkpoint is rebuilt from the batches", async (root) => {
  const dir = await writeLog(root);
  await Deno.writeTextFile(`${dir}/leader-epoch-checkpoint`, "0\n3\n1 nonsense\n");
  const { log, warnings } = await reopen(dir, true);
  assert.ok(warnings.some((w) => w.includes("leader-epoch-checkpoint")));
  assert.deepEqual(log.epochEntries(), [
    { epoch: 0, startOffset: 0 },
    { epoch: 1, startOffset: 20 },
    { epoch: 2, startOffset: 40 },
  ]);
  await log.close();
  assert.equal(
    await Deno.readTextFile(`${dir}/leader-epoch-checkpoint`),
    "0\n3\n0 0\n1 20\n2 40\n",
  );
});

test("a missing leader-epoch-checkpoint is rebuilt too", async (root) => {
  const dir = await writeLog(root);
  await Deno.remove(`${dir}/leader-epoch-checkpoint`);
  const { log } = await reopen(dir, true);
  assert.equal(log.latestEpoch(), 2);
  await log.close();
});

test("epochs written beyond the recovered end are dropped", async (root) => {
  const dir = await writeLog(root);
  await Deno.writeTextFile(`${dir}/leader-epoch-checkpoint`, "0\n4\n0 0\n1 20\n2 40\n9 500\n");
  const { log } = await reopen(dir, false);
  assert.equal(log.latestEpoch(), 2);
  await log.close();
});

test("a broken partition.metadata is a clear error when its topic id is needed", async (root) => {
  const dir = await writeLog(root);
  await Deno.writeTextFile(
    `${dir}/partition.metadata`,
    "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n",
  );
  await assert.rejects(
    FileLog.open({ dir, config: CONFIG, topicId: "AAAAAAAAAAAAAAAAAAAAAg", warn: () => {} }),
    /belongs to topic id/,
  );
  await Deno.writeTextFile(`${dir}/partition.metadata`, "garbage");
  const warnings: string[] = [];
  const log = await FileLog.open({
    dir,
    config: CONFIG,
    topicId: "AAAAAAAAAAAAAAAAAAAAAg",
    warn: (w) => warnings.push(w),
  });
  assert.ok(warnings.some((w) => w.includes("partition.metadata")));
  assert.equal(log.topicId, "AAAAAAAAAAAAAAAAAAAAAg");
  await log.close();
});

test("leftover temp, cleaned and deleted files are removed and orphan indexes too", async (root) => {
  const dir = await writeLog(root);
  for (
    const name of ["leader-epoch-checkpoint.tmp", `${SEG0}.log.cleaned`, `${SEG0}.log.deleted`]
  ) {
    await Deno.writeFile(`${dir}/${name}`, new Uint8Array(10));
  }
  await Deno.writeFile(`${dir}/00000000000000099999.index`, new Uint8Array(8));
  const { log } = await reopen(dir, true);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.ok(
    !names.some((n) => /\.(tmp|cleaned|deleted)$/.test(n) || n.startsWith("000000000000000999")),
  );
  assert.equal(log.logEndOffset, 60);
  await log.close();
});

test("truncation survives a reopen after a crash", async (root) => {
  const dir = await writeLog(root);
  let { log } = await reopen(dir, true);
  await log.truncateTo(25);
  log.closeAbruptly();
  ({ log } = await reopen(dir, false));
  assert.equal(log.logEndOffset, 24);
  assert.equal(log.latestEpoch(), 1);
  await assertReadable(log);
  await log.close();
});
