import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../core/log.ts";
import type { LogEntry } from "../core/raft/types.ts";
import { METADATA_PARTITION_DIR, MetadataLog } from "./metadata_log.ts";
import {
  encodeSnapshot,
  listSnapshotFiles,
  snapshotFileName,
  writeSnapshotFile,
} from "../storage/raft/snapshot_file.ts";

const text = new TextEncoder();

function entries(from: number, count: number, epoch: number): LogEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    offset: from + i,
    epoch,
    payload: text.encode(`record-${from + i}`.padEnd(200, ".")),
  }));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-metadata-log-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function snapshot(log: MetadataLog, offset: number, epoch: number): Promise<void> {
  const id = { offset, epoch };
  await writeSnapshotFile(
    log.dir,
    id,
    encodeSnapshot(id, {
      payloads: [text.encode(`state@${offset}`)],
      lastContainedLogTimestampMs: 0,
    }, 0),
  );
}

Deno.test("an adopted snapshot starts the raft view at its end offset, also after a restart (KIP-630)", async () => {
  await withDir(async (dir) => {
    let log = await MetadataLog.open(dir, silentLogger);
    await log.append(entries(0, 50, 1), 0);
    await snapshot(log, 30, 1);
    assert.ok(await log.adoptSnapshot({ offset: 30, epoch: 1 }, 0));
    assert.deepEqual(
      [log.startOffset(), log.endOffset(), log.latestSnapshotId()],
      [30, 50, { offset: 30, epoch: 1 }],
    );
    assert.equal(log.read(30, { maxCount: 1, maxBytes: Infinity })[0]?.offset, 30);
    assert.deepEqual(log.endOffsetForEpoch(0), { offset: 30, epoch: 0 });
    await log.close();
    log = await MetadataLog.open(dir, silentLogger);
    assert.deepEqual(
      [log.startOffset(), log.endOffset(), log.lastEpoch(), log.latestSnapshotId()],
      [30, 50, 1, { offset: 30, epoch: 1 }],
    );
    assert.deepEqual((await log.readLatestSnapshot())?.payloads, [text.encode("state@30")]);
    await log.close();
  });
});

Deno.test("a newer snapshot deletes older ones; a stale one is discarded", async () => {
  await withDir(async (dir) => {
    const log = await MetadataLog.open(dir, silentLogger);
    await log.append(entries(0, 50, 1), 0);
    await snapshot(log, 20, 1);
    await log.adoptSnapshot({ offset: 20, epoch: 1 }, 0);
    await snapshot(log, 40, 1);
    await log.adoptSnapshot({ offset: 40, epoch: 1 }, 0);
    await snapshot(log, 30, 1);
    assert.equal(await log.adoptSnapshot({ offset: 30, epoch: 1 }, 0), false);
    const ids = (await listSnapshotFiles(log.dir)).map((p) => p.id.offset);
    assert.deepEqual(ids, [40]);
    await log.close();
  });
});

Deno.test("retention deletes whole segments before the snapshot once the log is too large", async () => {
  // metadata.max.retention.bytes: only the log before the latest snapshot may go.
  await withDir(async (dir) => {
    const log = await MetadataLog.open(dir, silentLogger, {
      segmentBytes: 4096,
      retentionBytes: 0,
    });
    for (let i = 0; i < 10; i++) await log.append(entries(i * 10, 10, 1), 0);
    const before = log.fileStartOffset;
    await snapshot(log, 75, 1);
    await log.adoptSnapshot({ offset: 75, epoch: 1 }, 0);
    assert.equal(before, 0);
    assert.ok(log.fileStartOffset > 0 && log.fileStartOffset <= 75, `${log.fileStartOffset}`);
    assert.equal(log.startOffset(), 75);
    await log.close();
    const reopened = await MetadataLog.open(dir, silentLogger);
    assert.deepEqual([reopened.startOffset(), reopened.endOffset()], [75, 100]);
    await reopened.close();
  });
});

Deno.test("without retention limits the log before the snapshot stays on disk", async () => {
  await withDir(async (dir) => {
    const log = await MetadataLog.open(dir, silentLogger, { segmentBytes: 4096 });
    for (let i = 0; i < 10; i++) await log.append(entries(i * 10, 10, 1), 0);
    await snapshot(log, 75, 1);
    await log.adoptSnapshot({ offset: 75, epoch: 1 }, 0);
    assert.equal(log.fileStartOffset, 0);
    await log.close();
  });
});

Deno.test("a snapshot past the log end (fetched, then a crash) truncates the log fully at open", async () => {
  // Kafka's KafkaMetadataLog: truncateToLatestSnapshot on recovery.
  await withDir(async (dir) => {
    const log = await MetadataLog.open(dir, silentLogger);
    await log.append(entries(0, 5, 1), 0);
    await snapshot(log, 40, 3);
    await Deno.writeFile(
      join(
        dir,
        METADATA_PARTITION_DIR,
        snapshotFileName({ offset: 41, epoch: 3 }, ".checkpoint.part"),
      ),
      new Uint8Array(10),
    );
    await log.close();
    const reopened = await MetadataLog.open(dir, silentLogger);
    assert.deepEqual(
      [reopened.startOffset(), reopened.endOffset(), reopened.lastEpoch()],
      [40, 40, 3],
    );
    assert.deepEqual((await listSnapshotFiles(reopened.dir)).map((p) => p.kind), ["complete"]);
    await reopened.append(entries(40, 2, 4), 0);
    assert.equal(reopened.endOffset(), 42);
    await reopened.close();
  });
});
