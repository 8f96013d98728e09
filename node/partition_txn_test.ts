/**
 * The partition side of transactions (Kafka's UnifiedLog / ProducerStateManager / TransactionIndex
 * behaviour): the last stable offset, read_committed reads with aborted transactions, markers,
 * followers and recovery.
 */
import { deepStrictEqual as assertEquals, rejects as assertRejects } from "node:assert/strict";
import type { PartitionRegistration } from "../core/metadata/image.ts";
import { silentLogger } from "../core/log.ts";
import { KafkaError } from "../net/protocol/errors.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { encodeBatch } from "../net/protocol/records.ts";
import { FileLog } from "../storage/log/file_log.ts";
import { logConfig } from "../storage/log/log_config.ts";
import { decodeAbortedTxns, txnIndexPath } from "../storage/log/transaction_index.ts";
import { listProducerSnapshots } from "../storage/log/producer_snapshot_file.ts";
import { IsolationLevel, Partition, PRODUCER_STATE_FILE } from "./partition.ts";

const encoder = new TextEncoder();

function registration(leader: number, replicas: number[]): PartitionRegistration {
  return {
    replicas,
    isr: replicas,
    removingReplicas: [],
    addingReplicas: [],
    directories: [],
    leader,
    leaderRecoveryState: 0,
    leaderEpoch: 1,
    partitionEpoch: 1,
    eligibleLeaderReplicas: [],
    lastKnownElr: [],
  };
}

interface BatchSpec {
  producerId: number;
  epoch?: number;
  sequence: number;
  count?: number;
  transactional?: boolean;
}

function batch(spec: BatchSpec): Uint8Array {
  const count = spec.count ?? 1;
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: Date.now(),
    producerId: spec.producerId,
    producerEpoch: spec.epoch ?? 0,
    baseSequence: spec.sequence,
    transactional: spec.transactional ?? true,
    records: Array.from({ length: count }, (_, i) => ({
      offsetDelta: i,
      timestampDelta: 0,
      key: null,
      value: encoder.encode(`p${spec.producerId}-${spec.sequence + i}`),
      headers: [],
    })),
  });
}

async function openPartition(dir: string, nodeId = 1, reg = registration(1, [1])) {
  const log = await FileLog.open({ dir: `${dir}/t-0`, warn: () => {} });
  const p = new Partition({
    topic: "t",
    partition: 0,
    topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
    log,
    logDir: dir,
    nodeId,
    logger: silentLogger,
  });
  await p.loadProducerState();
  p.setRegistration(reg);
  return p;
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function marker(producerId: number, commit: boolean, producerEpoch = 0, coordinatorEpoch = 0) {
  return { producerId, producerEpoch, coordinatorEpoch, commit };
}

Deno.test("read_committed stops at an open transaction and moves past it once committed", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 1, sequence: 0, transactional: false }), "client");
    await p.appendFromClient(batch({ producerId: 2, sequence: 0, count: 2 }), "client");
    await p.appendFromClient(batch({ producerId: 1, sequence: 1, transactional: false }), "client");
    assertEquals(p.highWatermark, 4);
    assertEquals(p.lastStableOffset, 1);
    const committed = await p.read(0, {
      maxBytes: 1 << 20,
      minOneMessage: true,
      isolationLevel: IsolationLevel.READ_COMMITTED,
    });
    assertEquals(committed.lastStableOffset, 1);
    assertEquals(committed.abortedTransactions, []);
    const info = await p.appendTxnMarker(marker(2, true));
    assertEquals(info.baseOffset, 4);
    assertEquals(p.lastStableOffset, 5);
    await p.log.close();
  });
});

Deno.test("an aborted transaction is listed to read_committed fetches overlapping it, and kept in .txnindex", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 2, sequence: 0, count: 3 }), "client");
    await p.appendTxnMarker(marker(2, false));
    await p.appendFromClient(batch({ producerId: 3, sequence: 0, transactional: false }), "client");
    const options = { maxBytes: 1 << 20, minOneMessage: true };
    const committed = await p.read(0, { ...options, isolationLevel: 1 });
    assertEquals(committed.abortedTransactions, [{ producerId: 2, firstOffset: 0 }]);
    const after = await p.read(4, { ...options, isolationLevel: 1 });
    assertEquals(after.abortedTransactions, []);
    const uncommitted = await p.read(0, { ...options, isolationLevel: 0 });
    assertEquals(uncommitted.abortedTransactions, null);
    const file = await Deno.readFile(txnIndexPath(p.log.dir, 0));
    assertEquals(decodeAbortedTxns(file).entries, [
      { producerId: 2, firstOffset: 0, lastOffset: 3, lastStableOffset: 4 },
    ]);
    await p.log.close();
  });
});

Deno.test("a plain batch from a producer inside a transaction is INVALID_TXN_STATE, an old epoch INVALID_PRODUCER_EPOCH", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 2, epoch: 3, sequence: 0 }), "client");
    await assertRejects(
      async () =>
        await p.appendFromClient(
          batch({ producerId: 2, epoch: 3, sequence: 1, transactional: false }),
          "client",
        ),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_TXN_STATE,
    );
    await assertRejects(
      async () =>
        await p.appendFromClient(batch({ producerId: 2, epoch: 2, sequence: 0 }), "client"),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    assertEquals(p.logEndOffset, 1);
    await p.log.close();
  });
});

Deno.test("a marker with a stale producer or coordinator epoch is refused and leaves the log alone", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 2, epoch: 3, sequence: 0 }), "client");
    await p.appendTxnMarker(marker(2, true, 3, 5));
    await assertRejects(
      async () => await p.appendTxnMarker(marker(2, false, 2, 5)),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    await assertRejects(
      async () => await p.appendTxnMarker(marker(2, false, 3, 4)),
      (e: unknown) =>
        e instanceof KafkaError && e.code === ErrorCode.TRANSACTION_COORDINATOR_FENCED,
    );
    assertEquals(p.logEndOffset, 2);
    await p.log.close();
  });
});

Deno.test("a follower replaying the leader's batches has the same LSO and aborted index", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/l`);
    const leader = await openPartition(`${dir}/l`, 1, registration(1, [1]));
    await leader.appendFromClient(batch({ producerId: 2, sequence: 0, count: 2 }), "client");
    await leader.appendTxnMarker(marker(2, false));
    await leader.appendFromClient(batch({ producerId: 4, sequence: 0 }), "client");
    await Deno.mkdir(`${dir}/f`);
    const follower = await openPartition(`${dir}/f`, 2, registration(1, [1, 2]));
    const all = await leader.read(0, {
      maxBytes: 1 << 20,
      minOneMessage: true,
      isolationLevel: 0,
      upToLogEnd: true,
    });
    await follower.appendAsFollower(all.records, { highWatermark: 3, logStartOffset: 0 });
    assertEquals(follower.lastStableOffset, 3);
    assertEquals(follower.transactionIndex.entries, leader.transactionIndex.entries);
    await follower.followLeader({ highWatermark: 4, logStartOffset: 0 });
    assertEquals(follower.lastStableOffset, 3);
    await leader.log.close();
    await follower.log.close();
  });
});

Deno.test("a restart rebuilds open transactions and a lost .txnindex from the log", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 2, sequence: 0, count: 2 }), "client");
    await p.appendTxnMarker(marker(2, false));
    await p.appendFromClient(batch({ producerId: 3, sequence: 0 }), "client");
    await p.log.close();
    await Deno.remove(txnIndexPath(p.log.dir, 0));
    const again = await openPartition(dir);
    assertEquals(again.producers.ongoingTransactions(), [{ producerId: 3, firstOffset: 3 }]);
    assertEquals(again.transactionIndex.entries, [
      { producerId: 2, firstOffset: 0, lastOffset: 2, lastStableOffset: 3 },
    ]);
    assertEquals(
      decodeAbortedTxns(await Deno.readFile(txnIndexPath(p.log.dir, 0))).entries.length,
      1,
    );
    // Becoming leader again: the high watermark is the log end, the LSO the open transaction.
    assertEquals(again.lastStableOffset, 3);
    await again.log.close();
  });
});

Deno.test("a producer state snapshot carries open transactions across a restart", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 3, sequence: 0 }), "client");
    await p.writeProducerState();
    await p.log.close();
    const again = await openPartition(dir);
    assertEquals(again.producers.ongoingTransactions(), [{ producerId: 3, firstOffset: 0 }]);
    await again.appendTxnMarker(marker(3, true));
    assertEquals(again.lastStableOffset, 2);
    await again.log.close();
  });
});

Deno.test("markers replayed below a restored high watermark no longer hold the LSO", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 2, sequence: 0 }), "client");
    await p.writeProducerState();
    await p.appendTxnMarker(marker(2, true));
    await p.log.close();
    const log = await FileLog.open({ dir: `${dir}/t-0`, warn: () => {} });
    const again = new Partition({
      topic: "t",
      partition: 0,
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      log,
      logDir: dir,
      nodeId: 1,
      logger: silentLogger,
    });
    await again.loadProducerState();
    again.restoreHighWatermark(2);
    assertEquals(again.lastStableOffset, 2);
    await log.close();
  });
});

Deno.test("a producer-state.json of an earlier version is read once, then replaced by a .snapshot", async () => {
  await withDir(async (dir) => {
    const p = await openPartition(dir);
    await p.appendFromClient(batch({ producerId: 3, sequence: 0 }), "client");
    const legacy = JSON.stringify(p.producers.snapshot(p.logEndOffset));
    await p.log.close();
    await Deno.writeTextFile(`${p.log.dir}/${PRODUCER_STATE_FILE}`, legacy);
    const again = await openPartition(dir);
    assertEquals(again.producers.ongoingTransactions(), [{ producerId: 3, firstOffset: 0 }]);
    await again.appendTxnMarker(marker(3, true));
    await again.writeProducerState();
    assertEquals(await listProducerSnapshots(again.log.dir), [2]);
    await assertRejects(Deno.stat(`${again.log.dir}/${PRODUCER_STATE_FILE}`), Deno.errors.NotFound);
    await again.log.close();
  });
});

Deno.test("a truncated follower drops the producer snapshots past its new log end", async () => {
  await withDir(async (dir) => {
    const f = await openPartition(dir, 2, registration(1, [1, 2]));
    const records = [0, 1].map((i) => {
      const bytes = batch({ producerId: 3, sequence: i });
      new DataView(bytes.buffer).setBigInt64(0, BigInt(i)); // the leader's offsets
      return bytes;
    });
    for (const r of records) {
      await f.appendAsFollower(r, { highWatermark: 0, logStartOffset: 0 });
      await f.writeProducerState();
    }
    assertEquals(await listProducerSnapshots(f.log.dir), [1, 2]);
    await f.truncateAsFollower(1);
    assertEquals(await listProducerSnapshots(f.log.dir), [1]);
    assertEquals(f.producers.ongoingTransactions(), [{ producerId: 3, firstOffset: 0 }]);
    await f.log.close();
  });
});

Deno.test("a roll snapshots producer state, so a restart still finds a transaction segments back", async () => {
  await withDir(async (dir) => {
    const open = async () => {
      const log = await FileLog.open({
        dir: `${dir}/t-0`,
        config: logConfig({ segmentBytes: 1024 }),
        warn: () => {},
      });
      const p = new Partition({
        topic: "t",
        partition: 0,
        topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
        log,
        logDir: dir,
        nodeId: 1,
        logger: silentLogger,
      });
      await p.loadProducerState();
      p.setRegistration(registration(1, [1]));
      return p;
    };
    const p = await open();
    await p.appendFromClient(batch({ producerId: 3, sequence: 0 }), "client");
    for (let i = 0; i < 100; i++) {
      await p.appendFromClient(
        batch({ producerId: 4, sequence: i, transactional: false }),
        "client",
      );
    }
    assertEquals(p.log.segmentCount >= 4, true, `${p.log.segmentCount} segments`);
    await p.snapshotsWritten(); // the rolls wrote them; nothing else did
    assertEquals((await listProducerSnapshots(p.log.dir)).length > 0, true);
    await p.log.close();
    const again = await open();
    assertEquals(again.producers.ongoingTransactions(), [{ producerId: 3, firstOffset: 0 }]);
    assertEquals(again.lastStableOffset, 0);
    await again.log.close();
  });
});
