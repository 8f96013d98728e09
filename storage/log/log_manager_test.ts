import assert from "node:assert/strict";
import { LogManager, readCleanShutdownBrokerEpoch } from "./log_manager.ts";
import { logConfig } from "./log_config.ts";
import { makeBatch } from "./test_batches.ts";

const NOW_MS = 1_700_000_000_000;

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a log manager reopens its partitions with their checkpoints", async () => {
  await withDir(async (dir) => {
    const manager = await LogManager.open({ logDir: dir, warn: () => {} });
    for (let p = 0; p < 4; p++) {
      const log = await manager.createLog({ topic: "my-topic", partition: p }, {
        topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      });
      for (let i = 0; i <= p; i++) await log.append(makeBatch(), { leaderEpoch: 0, nowMs: NOW_MS });
    }
    await manager.get({ topic: "my-topic", partition: 3 })!.deleteRecordsBefore(2);
    await manager.close();
    assert.equal(
      await Deno.readTextFile(`${dir}/log-start-offset-checkpoint`),
      "0\n4\nmy-topic 0 0\nmy-topic 1 0\nmy-topic 2 0\nmy-topic 3 2\n",
    );
    assert.match(
      await Deno.readTextFile(`${dir}/recovery-point-offset-checkpoint`),
      /my-topic 3 4\n/,
    );
    assert.ok((await Deno.stat(`${dir}/.kafka_cleanshutdown`)).isFile);

    const again = await LogManager.open({ logDir: dir, warn: () => {} });
    assert.equal(again.all().length, 4);
    const log3 = again.get({ topic: "my-topic", partition: 3 })!;
    assert.deepEqual([log3.logStartOffset, log3.logEndOffset], [2, 4]);
    assert.equal(log3.topicId, "AAAAAAAAAAAAAAAAAAAAAQ");
    await assert.rejects(Deno.stat(`${dir}/.kafka_cleanshutdown`), Deno.errors.NotFound);
    await again.close();
  });
});

Deno.test("a log manager recovers logs fully when its checkpoints are broken", async () => {
  await withDir(async (dir) => {
    const manager = await LogManager.open({ logDir: dir, warn: () => {} });
    const log = await manager.createLog({ topic: "t", partition: 0 });
    for (let i = 0; i < 5; i++) await log.append(makeBatch(), { leaderEpoch: 0, nowMs: NOW_MS });
    await manager.close();
    await Deno.writeTextFile(`${dir}/recovery-point-offset-checkpoint`, "0\n1\nt zero 5\n");
    await Deno.writeTextFile(`${dir}/log-start-offset-checkpoint`, "7\n");
    const warnings: string[] = [];
    const again = await LogManager.open({ logDir: dir, warn: (w) => warnings.push(w) });
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.equal(again.get({ topic: "t", partition: 0 })!.logEndOffset, 5);
    await again.close();
  });
});

Deno.test("deleting a partition log renames it to -delete and removes it", async () => {
  await withDir(async (dir) => {
    const manager = await LogManager.open({ logDir: dir, warn: () => {} });
    await manager.createLog({ topic: "gone", partition: 1 });
    await Deno.mkdir(`${dir}/old-0.0123456789abcdef0123456789abcdef-delete`);
    assert.equal(await manager.deleteLog({ topic: "gone", partition: 1 }), true);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
    assert.deepEqual(names, ["old-0.0123456789abcdef0123456789abcdef-delete"]);
    await manager.close();
    const again = await LogManager.open({ logDir: dir, warn: () => {} });
    const after: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) after.push(e.name);
    assert.deepEqual(after, [], "a leftover -delete directory is removed at start");
    await again.close();
  });
});

Deno.test("background tasks apply retention and stop on close", async () => {
  await withDir(async (dir) => {
    const manager = await LogManager.open({
      logDir: dir,
      warn: () => {},
      defaultConfig: logConfig({ segmentBytes: 500, retentionMs: 1000 }),
    });
    const log = await manager.createLog({ topic: "t", partition: 0 });
    for (let i = 0; i < 4; i++) {
      await log.append(makeBatch({ valueBytes: 400, timestampMs: 1000 }), {
        leaderEpoch: 0,
        nowMs: NOW_MS,
      });
    }
    manager.startBackgroundTasks({ retentionCheckIntervalMs: 10, checkpointIntervalMs: 10 });
    for (let i = 0; i < 100 && log.segmentCount > 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(log.segmentCount, 1);
    for (let i = 0; i < 100 && log.logStartOffset < 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(log.logStartOffset, 4, "the expired active segment goes too (Kafka rolls it)");
    await manager.close();
  });
});

Deno.test("the clean shutdown marker records the broker epoch until the logs are opened again", async () => {
  // KIP-966: the next registration sends it as PreviousBrokerEpoch, proof of a clean shutdown.
  await withDir(async (dir) => {
    assert.equal(await readCleanShutdownBrokerEpoch(dir), -1n);
    const manager = await LogManager.open({ logDir: dir, warn: () => {} });
    await manager.close({ brokerEpoch: 42n });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/.kafka_cleanshutdown`)), {
      version: 0,
      brokerEpoch: 42,
    });
    assert.equal(await readCleanShutdownBrokerEpoch(dir), 42n);
    const again = await LogManager.open({ logDir: dir, warn: () => {} });
    assert.equal(await readCleanShutdownBrokerEpoch(dir), -1n, "opening consumes the marker");
    await again.close();
    assert.equal(await readCleanShutdownBrokerEpoch(dir), -1n, "a broker that never registered");
    await Deno.writeTextFile(`${dir}/.kafka_cleanshutdown`, "not json");
    assert.equal(await readCleanShutdownBrokerEpoch(dir), -1n);
  });
});

Deno.test("the cleaner checkpoint keeps where each compacted log's dirty section starts", async () => {
  await withDir(async (dir) => {
    const compacted = logConfig({
      segmentBytes: 1000,
      cleanupPolicy: { compact: true, delete: false },
    });
    const options = { logDir: dir, warn: () => {}, defaultConfig: compacted };
    const manager = await LogManager.open(options);
    const log = await manager.createLog({ topic: "state", partition: 0 });
    for (let i = 0; i < 40; i++) {
      await log.append(makeBatch({ keys: [`k${i % 4}`], valueBytes: 50 }), {
        leaderEpoch: 0,
        nowMs: NOW_MS,
      });
    }
    assert.ok(await manager.runCleaner(NOW_MS) > 0);
    const firstDirty = log.firstDirtyOffset;
    assert.ok(firstDirty > 0);
    assert.equal(
      await Deno.readTextFile(`${dir}/cleaner-offset-checkpoint`),
      `0\n1\nstate 0 ${firstDirty}\n`,
      "written after a run that cleaned",
    );
    await manager.close();
    const reopened = await LogManager.open(options);
    assert.equal(reopened.get({ topic: "state", partition: 0 })!.firstDirtyOffset, firstDirty);
    assert.equal(await reopened.runCleaner(NOW_MS), 0, "nothing dirty after the restart");
    await reopened.close();
  });
});
