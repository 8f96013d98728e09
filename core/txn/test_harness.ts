/**
 * A test driver for {@link TransactionCoordinator}: a durable log of the records it appended,
 * collected responses and markers, and helpers that settle appends.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { TransactionCoordinator } from "./transaction_coordinator.ts";
import type {
  MarkerRequest,
  TxnCoordinatorConfig,
  TxnEffect,
  TxnLogRecord,
  TxnResponse,
} from "./types.ts";

/** One request's handle: its name, for assertions. */
export type Handle = string;

/**
 * Drives a coordinator: appends stay pending until `settle` (or `autoSettle`), responses and
 * markers are recorded.
 *
 * @example
 * ```ts
 * import { TxnHarness } from "./test_harness.ts";
 * const h = new TxnHarness();
 * h.init("r1", "app", 1000n);
 * h.response("r1"); // { errorCode: 0, producerId: 1000n, producerEpoch: 0 }
 * ```
 */
export class TxnHarness {
  coordinator: TransactionCoordinator<Handle>;
  /** Durable records, in append order. */
  readonly log: TxnLogRecord[] = [];
  readonly responses = new Map<Handle, TxnResponse>();
  markers: MarkerRequest[] = [];
  /** Appends not yet settled, in issue order. */
  pendingAppends: { appendId: number; record: TxnLogRecord }[] = [];
  autoSettle = true;
  nowMs = 0;
  readonly config: Partial<TxnCoordinatorConfig>;

  constructor(config: Partial<TxnCoordinatorConfig> = {}) {
    this.config = config;
    this.coordinator = new TransactionCoordinator<Handle>({ config });
  }

  run(effects: TxnEffect<Handle>[]): void {
    for (const effect of effects) {
      if (effect.type === "respond") {
        assert(!this.responses.has(effect.handle), `${effect.handle} was answered twice.`);
        this.responses.set(effect.handle, effect.response);
      } else if (effect.type === "sendMarkers") {
        this.markers.push(effect.markers);
      } else {
        this.pendingAppends.push({ appendId: effect.appendId, record: effect.record });
      }
    }
    if (this.autoSettle) this.settleAll();
  }

  /** Settles the oldest pending append with `errorCode` (0: durable). */
  settle(errorCode = 0): void {
    const next = this.pendingAppends.shift();
    assert(next !== undefined, "No append is pending.");
    if (errorCode === 0) this.log.push(next.record);
    this.run(this.coordinator.appendComplete(next.appendId, this.nowMs, errorCode));
  }

  settleAll(): void {
    while (this.pendingAppends.length > 0) this.settle();
  }

  init(
    handle: Handle,
    transactionalId: string,
    newProducerId: bigint | null,
    options: { timeoutMs?: number; producerId?: bigint; producerEpoch?: number } = {},
  ): void {
    this.run(this.coordinator.initProducerId(handle, {
      transactionalId,
      transactionTimeoutMs: options.timeoutMs ?? 60_000,
      producerId: options.producerId ?? -1n,
      producerEpoch: options.producerEpoch ?? -1,
      newProducerId,
    }, this.nowMs));
  }

  add(
    handle: Handle,
    transactionalId: string,
    producer: { producerId: bigint; producerEpoch: number },
    partitions: { topic: string; partitions: number[] }[],
  ): void {
    this.run(
      this.coordinator.addPartitions(
        handle,
        { transactionalId, ...producer, partitions },
        this.nowMs,
      ),
    );
  }

  end(
    handle: Handle,
    transactionalId: string,
    producer: { producerId: bigint; producerEpoch: number },
    committed: boolean,
  ): void {
    this.run(
      this.coordinator.endTxn(handle, { transactionalId, ...producer, committed }, this.nowMs),
    );
  }

  /** Reports every marker request sent so far written, and forgets them. */
  ackMarkers(): void {
    const markers = this.markers;
    this.markers = [];
    for (const m of markers) {
      this.run(
        this.coordinator.markersWritten(
          m.transactionalId,
          m.producerId,
          m.producerEpoch,
          this.nowMs,
        ),
      );
    }
  }

  tick(nowMs: number): void {
    this.nowMs = nowMs;
    this.run(this.coordinator.tick(nowMs));
  }

  /** Fails over: a new coordinator loads the durable log (pending appends are lost). */
  failover(): void {
    this.run(this.coordinator.unload());
    this.pendingAppends = [];
    this.markers = [];
    this.coordinator = new TransactionCoordinator<Handle>({ config: this.config });
    this.run(this.coordinator.load(this.log, this.nowMs));
  }

  response(handle: Handle): TxnResponse {
    const response = this.responses.get(handle);
    assert(response !== undefined, `${handle} was not answered.`);
    return response;
  }

  errorOf(handle: Handle): number {
    return this.response(handle).errorCode;
  }

  /** The producer id and epoch InitProducerId `handle` was answered with. */
  producer(handle: Handle): { producerId: bigint; producerEpoch: number } {
    const r = this.response(handle);
    assert.equal(r.errorCode, 0, `${handle} failed with error ${r.errorCode}.`);
    return { producerId: r.producerId, producerEpoch: r.producerEpoch };
  }

  lastRecord(): TxnLogRecord {
    const last = this.log.at(-1);
    assert(last !== undefined, "Nothing was appended.");
    return last;
  }
}
