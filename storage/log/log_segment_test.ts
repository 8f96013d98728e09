import assert from "node:assert/strict";
import { LogSegment, OffLoopReadQueue, type PlacedBatch } from "./log_segment.ts";
import { logConfig } from "./log_config.ts";
import { HandleCache } from "./handle_cache.ts";
import { makeBatch } from "./test_batches.ts";
import { readBatchHeader } from "../../net/protocol/record_batch.ts";

const NOW_MS = 1_700_000_000_000;

/** A segment at offset 0 holding one batch per entry of `valueBytes`, and the batches' bytes. */
async function segmentWith(dir: string, valueBytes: number[], indexIntervalBytes?: number) {
  const config = logConfig(indexIntervalBytes === undefined ? {} : { indexIntervalBytes });
  const segment = LogSegment.create(dir, 0, config, NOW_MS, new HandleCache(8));
  const batches: Uint8Array[] = [];
  for (const [i, size] of valueBytes.entries()) {
    const bytes = makeBatch({ baseOffset: i, valueBytes: size, fill: i });
    const h = readBatchHeader(bytes, 0);
    const placed: PlacedBatch = {
      pos: 0,
      sizeBytes: bytes.length,
      baseOffset: h.baseOffset,
      lastOffset: h.baseOffset + h.lastOffsetDelta,
      maxTimestamp: h.maxTimestamp,
    };
    segment.append(bytes, [placed], config.indexIntervalBytes);
    batches.push(bytes);
  }
  await segment.sync();
  return { segment, batches };
}

Deno.test("readBatchesAsync yields every batch whole, also across chunks and larger than one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // With 1000-byte chunks: small batches share chunks, split across them, and one is larger.
    const { segment, batches } = await segmentWith(dir, [100, 300, 700, 2500, 50, 900]);
    const seen: Uint8Array[] = [];
    for await (const { header, bytes } of segment.readBatchesAsync(1000)) {
      assert.equal(header.baseOffset, seen.length);
      seen.push(bytes.slice());
    }
    assert.deepEqual(seen, batches);
    segment.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deleteAsync frees the names at once and removes the files when it resolves", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { segment } = await segmentWith(dir, [100, 200]);
    const deleting = segment.deleteAsync();
    // The log may create a segment of the same name before the removal finishes.
    const names = async () => {
      const out: string[] = [];
      for await (const e of Deno.readDir(dir)) out.push(e.name);
      return out.sort();
    };
    assert.ok((await names()).every((n) => n.endsWith(".deleted")), "renamed synchronously");
    const again = LogSegment.create(dir, 0, logConfig({}), NOW_MS, new HandleCache(8));
    await deleting;
    assert.deepEqual(await names(), [
      "00000000000000000000.index",
      "00000000000000000000.log",
      "00000000000000000000.timeindex",
    ]);
    assert.equal(segment.closed, true);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recoverAsync rebuilds what recover does, reading off the event loop", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { segment } = await segmentWith(dir, [100, 3000, 200]);
    const expected = { next: segment.nextOffset, size: segment.sizeBytes };
    // A torn write after the last batch: both recoveries drop it.
    const file = await Deno.open(segment.logPath, { append: true });
    await file.write(new Uint8Array(30).fill(1));
    file.close();
    const seen: number[] = [];
    const recovering = segment.recoverAsync(
      logConfig({}),
      () => {},
      (b) => seen.push(b.baseOffset),
    );
    // A synchronous scan would have visited every batch before the call returned.
    assert.deepEqual(seen, [], "nothing read before the first asynchronous read completes");
    assert.equal(await recovering, 30);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.deepEqual({ next: segment.nextOffset, size: segment.sizeBytes }, expected);
    assert.equal(
      segment.recover(logConfig({}), () => {}, () => {}),
      0,
      "a second recovery finds it clean",
    );
    segment.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findBatch finds every batch, also past its small first read and across scan chunks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // One index entry for the whole segment: every lookup walks from position 0, through more
    // than the first 8 KiB read and more than one 64 KiB chunk, past batches that straddle them.
    const sizes = Array.from({ length: 400 }, (_, i) => [150, 700, 3000][i % 3]!);
    const { segment, batches } = await segmentWith(dir, sizes, 1 << 30);
    let position = 0;
    for (const [offset, bytes] of batches.entries()) {
      const found = segment.findBatch(offset);
      assert.equal(found?.baseOffset, offset);
      assert.equal(found?.position, position);
      assert.equal(found?.sizeBytes, bytes.length);
      position += bytes.length;
    }
    assert.equal(segment.findBatch(batches.length), null);
    segment.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("concurrent off-loop reads of one segment each get their own bytes; a deleted one reads null", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sizes = Array.from({ length: 30 }, (_, i) => 500 + 97 * i);
    const { segment, batches } = await segmentWith(dir, sizes);
    const positions: number[] = [];
    let at = 0;
    for (const b of batches) {
      positions.push(at);
      at += b.length;
    }
    // Every read in flight at once, interleaved with synchronous reads on the writer's handle.
    const reads = batches.map((b, i) => segment.readBytesAsync(positions[i]!, b.length));
    for (const [i, b] of batches.entries()) {
      assert.deepEqual(segment.readBytes(positions[i]!, b.length), b);
    }
    const got = await Promise.all(reads);
    for (const [i, b] of batches.entries()) assert.deepEqual(got[i], b, `batch ${i}`);
    const pending = segment.readBytesAsync(0, batches[0]!.length);
    await segment.deleteAsync();
    const afterDelete = await pending;
    assert.ok(afterDelete === null || afterDelete.length === batches[0]!.length);
    assert.equal(await segment.readBytesAsync(0, batches[0]!.length), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("off-loop reads of one log directory run one at a time, in order, past failures", async () => {
  const queue = new OffLoopReadQueue();
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const reads = Array.from({ length: 6 }, (_, i) =>
    queue.run(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      order.push(i);
      running--;
      if (i === 2) throw new Error("disk error");
      return i;
    }));
  const settled = await Promise.allSettled(reads);
  assert.equal(most, 1);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  assert.equal(settled[2]!.status, "rejected");
  assert.deepEqual(
    settled.filter((r) => r.status === "fulfilled").map((r) => r.value),
    [0, 1, 3, 4, 5],
  );
  // Idle again: the next read runs at once.
  assert.equal(await queue.run(() => Promise.resolve(7)), 7);
});
