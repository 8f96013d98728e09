import { strict as assert } from "node:assert";
import { TxnErrorCode as E } from "./error_codes.ts";
import { TxnHarness } from "./test_harness.ts";

const ORDERS = [{ topic: "orders", partitions: [0, 1] }];

function started(h: TxnHarness, id = "app") {
  h.init("init", id, 1000n);
  const producer = h.producer("init");
  h.add("add", id, producer, ORDERS);
  assert.equal(h.errorOf("add"), E.NONE);
  return producer;
}

Deno.test("a new transactional id gets a fresh producer id with epoch 0, persisted as Empty", () => {
  const h = new TxnHarness();
  assert.equal(h.coordinator.needsProducerId("app"), true);
  h.init("r1", "app", 1000n, { timeoutMs: 30_000 });
  assert.deepEqual(h.producer("r1"), { producerId: 1000n, producerEpoch: 0 });
  const v = h.lastRecord().value!;
  assert.equal(v.state, "Empty");
  assert.equal(v.transactionTimeoutMs, 30_000);
  assert.equal(v.startTimestampMs, -1);
  assert.equal(h.coordinator.needsProducerId("app"), false);
});

Deno.test("the response waits until the state record is durable", () => {
  const h = new TxnHarness();
  h.autoSettle = false;
  h.init("r1", "app", 1000n);
  assert.equal(h.responses.size, 0);
  h.init("r2", "app", null);
  assert.equal(h.errorOf("r2"), E.CONCURRENT_TRANSACTIONS);
  h.settle();
  assert.equal(h.errorOf("r1"), E.NONE);
});

Deno.test("a timeout above transaction.max.timeout.ms or not positive is INVALID_TRANSACTION_TIMEOUT", () => {
  const h = new TxnHarness({ transactionMaxTimeoutMs: 60_000 });
  h.init("big", "app", 1000n, { timeoutMs: 60_001 });
  h.init("zero", "app", 1000n, { timeoutMs: 0 });
  assert.equal(h.errorOf("big"), E.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(h.errorOf("zero"), E.INVALID_TRANSACTION_TIMEOUT);
  assert.equal(h.log.length, 0);
});

Deno.test("a second instance bumps the epoch and the first is fenced with PRODUCER_FENCED", () => {
  const h = new TxnHarness();
  h.init("first", "app", 1000n);
  h.init("second", "app", null);
  const first = h.producer("first");
  assert.deepEqual(h.producer("second"), { producerId: 1000n, producerEpoch: 1 });
  h.add("zombie-add", "app", first, ORDERS);
  h.end("zombie-end", "app", first, true);
  assert.equal(h.errorOf("zombie-add"), E.PRODUCER_FENCED);
  assert.equal(h.errorOf("zombie-end"), E.PRODUCER_FENCED);
});

Deno.test("another producer id is INVALID_PRODUCER_ID_MAPPING, an unknown id too", () => {
  const h = new TxnHarness();
  h.init("init", "app", 1000n);
  h.add("other", "app", { producerId: 7n, producerEpoch: 0 }, ORDERS);
  h.end("unknown", "nobody", { producerId: 1000n, producerEpoch: 0 }, true);
  assert.equal(h.errorOf("other"), E.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(h.errorOf("unknown"), E.INVALID_PRODUCER_ID_MAPPING);
});

Deno.test("a commit goes Ongoing, PrepareCommit (answered, markers sent), then CompleteCommit", () => {
  const h = new TxnHarness();
  h.nowMs = 100;
  const producer = started(h);
  const ongoing = h.lastRecord().value!;
  assert.equal(ongoing.state, "Ongoing");
  assert.equal(ongoing.startTimestampMs, 100);
  assert.deepEqual(ongoing.partitions, ORDERS);
  h.add("more", "app", producer, [{ topic: "audit", partitions: [3] }]);
  assert.deepEqual(h.lastRecord().value!.partitions.map((t) => t.topic), ["audit", "orders"]);
  const records = h.log.length;
  h.add("again", "app", producer, ORDERS);
  assert.equal(h.errorOf("again"), E.NONE);
  assert.equal(h.log.length, records, "partitions already in the transaction are not rewritten");

  h.end("commit", "app", producer, true);
  assert.equal(h.errorOf("commit"), E.NONE);
  assert.equal(h.lastRecord().value!.state, "PrepareCommit");
  assert.equal(h.markers.length, 1);
  assert.deepEqual(h.markers[0], {
    transactionalId: "app",
    producerId: 1000n,
    producerEpoch: 0,
    committed: true,
    partitions: [{ topic: "audit", partitions: [3] }, { topic: "orders", partitions: [0, 1] }],
  });
  h.add("during", "app", producer, ORDERS);
  assert.equal(h.errorOf("during"), E.CONCURRENT_TRANSACTIONS);
  h.ackMarkers();
  const complete = h.lastRecord().value!;
  assert.equal(complete.state, "CompleteCommit");
  assert.deepEqual(complete.partitions, []);
  assert.equal(h.coordinator.describe("app")!.state, "CompleteCommit");
});

Deno.test("EndTxn out of order is INVALID_TXN_STATE; a retried one is answered as Kafka does", () => {
  const h = new TxnHarness();
  h.init("init", "app", 1000n);
  const producer = h.producer("init");
  h.end("empty", "app", producer, true);
  assert.equal(h.errorOf("empty"), E.INVALID_TXN_STATE);
  h.add("add", "app", producer, ORDERS);
  h.end("commit", "app", producer, true);
  h.end("commit-while-preparing", "app", producer, true);
  h.end("abort-while-preparing", "app", producer, false);
  assert.equal(h.errorOf("commit-while-preparing"), E.CONCURRENT_TRANSACTIONS);
  assert.equal(h.errorOf("abort-while-preparing"), E.INVALID_TXN_STATE);
  h.ackMarkers();
  h.end("commit-retry", "app", producer, true);
  h.end("abort-after-commit", "app", producer, false);
  assert.equal(h.errorOf("commit-retry"), E.NONE);
  assert.equal(h.errorOf("abort-after-commit"), E.INVALID_TXN_STATE);
});

Deno.test("an abort sends abort markers and ends CompleteAbort", () => {
  const h = new TxnHarness();
  const producer = started(h);
  h.end("abort", "app", producer, false);
  assert.equal(h.errorOf("abort"), E.NONE);
  assert.equal(h.markers[0]!.committed, false);
  h.ackMarkers();
  assert.equal(h.lastRecord().value!.state, "CompleteAbort");
  h.end("abort-retry", "app", producer, false);
  assert.equal(h.errorOf("abort-retry"), E.NONE);
});

Deno.test("a new instance aborts the ongoing transaction of the old one with a bumped epoch", () => {
  const h = new TxnHarness();
  const old = started(h);
  h.init("new", "app", null);
  // Kafka answers CONCURRENT_TRANSACTIONS and the client retries once the abort completed.
  assert.equal(h.errorOf("new"), E.CONCURRENT_TRANSACTIONS);
  const prepared = h.lastRecord().value!;
  assert.equal(prepared.state, "PrepareAbort");
  assert.equal(prepared.producerEpoch, 1);
  assert.deepEqual(h.markers.map((m) => [m.committed, m.producerEpoch]), [[false, 1]]);
  h.end("old-commit", "app", old, true);
  assert.equal(h.errorOf("old-commit"), E.PRODUCER_FENCED);
  h.init("new-early", "app", null);
  assert.equal(h.errorOf("new-early"), E.CONCURRENT_TRANSACTIONS);
  h.ackMarkers();
  h.init("new-retry", "app", null);
  assert.deepEqual(h.producer("new-retry"), { producerId: 1000n, producerEpoch: 2 });
});

Deno.test("the describe view shows PrepareEpochFence while the fence is being written", () => {
  const h = new TxnHarness();
  started(h);
  h.autoSettle = false;
  h.init("new", "app", null);
  assert.equal(h.coordinator.describe("app")!.state, "PrepareEpochFence");
  h.settle();
  assert.equal(h.coordinator.describe("app")!.state, "PrepareAbort");
});

Deno.test("a transaction open past its timeout is aborted by the coordinator with an epoch bump", () => {
  const h = new TxnHarness();
  h.nowMs = 1000;
  h.init("init", "app", 1000n, { timeoutMs: 5000 });
  const producer = h.producer("init");
  h.add("add", "app", producer, ORDERS);
  assert.equal(h.coordinator.nextDeadlineMs(), 6001);
  h.tick(6000);
  assert.equal(h.markers.length, 0, "not yet past the timeout");
  h.tick(6001);
  assert.deepEqual(h.markers.map((m) => [m.committed, m.producerEpoch]), [[false, 1]]);
  h.ackMarkers();
  assert.equal(h.lastRecord().value!.state, "CompleteAbort");
  h.end("late-commit", "app", producer, true);
  assert.equal(h.errorOf("late-commit"), E.PRODUCER_FENCED);
});

Deno.test("an exhausted epoch rotates to a new producer id (KIP-360), a lost answer is retried", () => {
  const h = new TxnHarness();
  h.run(h.coordinator.load([{
    transactionalId: "app",
    value: {
      producerId: 1000n,
      producerEpoch: 32766,
      transactionTimeoutMs: 60_000,
      state: "CompleteCommit",
      partitions: [],
      lastUpdateTimestampMs: 0,
      startTimestampMs: 0,
    },
  }], 0));
  assert.equal(h.coordinator.needsProducerId("app"), true);
  h.init("no-id", "app", null, { producerId: 1000n, producerEpoch: 32766 });
  assert.equal(h.errorOf("no-id"), E.CONCURRENT_TRANSACTIONS);
  h.init("rotate", "app", 2000n, { producerId: 1000n, producerEpoch: 32766 });
  assert.deepEqual(h.producer("rotate"), { producerId: 2000n, producerEpoch: 0 });
  // The client never saw that answer and asks again with its old id and exhausted epoch.
  h.init("retry", "app", null, { producerId: 1000n, producerEpoch: 32766 });
  assert.deepEqual(h.producer("retry"), { producerId: 2000n, producerEpoch: 0 });
});

Deno.test("KIP-360 InitProducerId with the current epoch bumps it; a stale epoch is fenced", () => {
  const h = new TxnHarness();
  h.init("init", "app", 1000n);
  h.init("bump", "app", null, { producerId: 1000n, producerEpoch: 0 });
  assert.deepEqual(h.producer("bump"), { producerId: 1000n, producerEpoch: 1 });
  h.init("lost-answer", "app", null, { producerId: 1000n, producerEpoch: 0 });
  assert.deepEqual(h.producer("lost-answer"), { producerId: 1000n, producerEpoch: 1 });
  h.init("other-id", "app", null, { producerId: 5n, producerEpoch: 0 });
  assert.equal(h.errorOf("other-id"), E.PRODUCER_FENCED);
  h.init("bump-again", "app", null, { producerId: 1000n, producerEpoch: 1 });
  h.init("stale", "app", null, { producerId: 1000n, producerEpoch: 0 });
  assert.equal(h.errorOf("stale"), E.PRODUCER_FENCED);
});

Deno.test("an id idle for transactional.id.expiration.ms is removed with a tombstone", () => {
  const h = new TxnHarness({ transactionalIdExpirationMs: 10_000 });
  h.init("init", "app", 1000n);
  assert.equal(h.coordinator.nextDeadlineMs(), 10_000);
  h.tick(10_000);
  assert.deepEqual(h.lastRecord(), { transactionalId: "app", value: null });
  assert.equal(h.coordinator.describe("app"), null);
  assert.equal(h.coordinator.needsProducerId("app"), true);
});

Deno.test("an ongoing transaction does not expire, however long the id is idle", () => {
  const h = new TxnHarness({ transactionalIdExpirationMs: 10_000 });
  h.init("init", "app", 1000n, { timeoutMs: 900_000 });
  h.add("add", "app", h.producer("init"), ORDERS);
  h.tick(20_000);
  assert.equal(h.coordinator.describe("app")!.state, "Ongoing");
});

Deno.test("a failed state append answers the client and leaves the state unchanged", () => {
  const h = new TxnHarness();
  const producer = started(h);
  h.autoSettle = false;
  h.end("commit", "app", producer, true);
  h.settle(E.NOT_ENOUGH_REPLICAS);
  assert.equal(h.errorOf("commit"), E.COORDINATOR_NOT_AVAILABLE);
  assert.equal(h.coordinator.describe("app")!.state, "Ongoing");
  assert.equal(h.markers.length, 0);
});

Deno.test("a failed CompleteCommit write is retried after the backoff", () => {
  const h = new TxnHarness({ completeRetryBackoffMs: 500 });
  const producer = started(h);
  h.end("commit", "app", producer, true);
  h.autoSettle = false;
  h.ackMarkers();
  h.settle(E.REQUEST_TIMED_OUT);
  assert.equal(h.coordinator.describe("app")!.state, "PrepareCommit");
  assert.equal(h.coordinator.nextDeadlineMs(), 500);
  h.tick(500);
  h.settle();
  assert.equal(h.lastRecord().value!.state, "CompleteCommit");
});

Deno.test("a coordinator failover between PrepareCommit and CompleteCommit resends the commit markers", () => {
  const h = new TxnHarness();
  const producer = started(h);
  h.end("commit", "app", producer, true);
  h.failover();
  assert.deepEqual(h.markers.map((m) => [m.committed, m.producerId, m.producerEpoch]), [
    [true, 1000n, 0],
  ]);
  assert.deepEqual(h.markers[0]!.partitions, ORDERS);
  h.ackMarkers();
  assert.equal(h.lastRecord().value!.state, "CompleteCommit");
  h.init("next", "app", null);
  assert.deepEqual(h.producer("next"), { producerId: 1000n, producerEpoch: 1 });
});

Deno.test("losing the partition answers parked requests NOT_COORDINATOR", () => {
  const h = new TxnHarness();
  h.autoSettle = false;
  h.init("r1", "app", 1000n);
  h.run(h.coordinator.unload());
  assert.equal(h.errorOf("r1"), E.NOT_COORDINATOR);
  assert.deepEqual(h.coordinator.appendComplete(1, 0, 0), []);
});

Deno.test("verifyOnly tells which partitions are in the ongoing transaction (KIP-890 part 1)", () => {
  const h = new TxnHarness();
  const producer = started(h);
  const verified = h.coordinator.verifyPartitions({
    transactionalId: "app",
    ...producer,
    partitions: [{ topic: "orders", partitions: [1, 5] }],
  });
  assert.deepEqual(verified.map((v) => [v.partition, v.errorCode]), [
    [1, E.NONE],
    [5, E.TRANSACTION_ABORTABLE],
  ]);
  const fenced = h.coordinator.verifyPartitions({
    transactionalId: "app",
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch + 1,
    partitions: [{ topic: "orders", partitions: [1] }],
  });
  assert.deepEqual(fenced.map((v) => v.errorCode), [E.PRODUCER_FENCED]);
  h.end("commit", "app", producer, true);
  const preparing = h.coordinator.verifyPartitions({
    transactionalId: "app",
    ...producer,
    partitions: [{ topic: "orders", partitions: [1] }],
  });
  assert.deepEqual(preparing.map((v) => v.errorCode), [E.CONCURRENT_TRANSACTIONS]);
});
