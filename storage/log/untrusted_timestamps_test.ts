// Segments written before client batches were validated (issue 16) may hold batches whose header
// max timestamp is -1 although their records carry real timestamps. Recovery rebuilds the time
// index from the records and ListOffsets by time reads the records of such batches.
import assert from "node:assert/strict";
import { encodeBatch } from "../../net/protocol/records.ts";
import { FileLog } from "./file_log.ts";
import { logConfig } from "./log_config.ts";

const BASE_MS = 1_700_000_000_000;
const CONFIG = logConfig({ indexIntervalBytes: 1 });

/** A Sarama-style batch of 3 records at BASE_MS + first, + first + 10, + first + 20; header max -1. */
function lyingBatch(firstMs: number, codec: number): Uint8Array {
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: BASE_MS + firstMs,
    maxTimestamp: -1,
    compression: codec,
    records: [0, 10, 20].map((d, i) => ({
      offsetDelta: i,
      timestampDelta: d,
      key: null,
      value: new Uint8Array(50).fill(i),
      headers: [],
    })),
  });
}

for (const codec of [0, 1, 2, 3, 4]) {
  Deno.test(`recovery rebuilds the time index of pre-fix batches from their records (codec ${codec})`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const written = await FileLog.open({ dir, config: CONFIG, warn: () => {} });
      for (let i = 0; i < 4; i++) {
        await written.append(lyingBatch(i * 100, codec), { leaderEpoch: 0, nowMs: BASE_MS });
      }
      // The log stores what it is given (the partition validates client batches first), so these
      // are segments as the broker wrote them before the fix: nothing is found by time.
      assert.equal(written.offsetForTimestamp(BASE_MS + 205), null);
      assert.equal(written.maxTimestampAndOffset(), null);
      written.closeAbruptly();

      const recovered = await FileLog.open({
        dir,
        config: CONFIG,
        warn: () => {},
        hadCleanShutdown: false,
        recoveryPoint: 0,
      });
      try {
        assert.deepEqual(recovered.maxTimestampAndOffset(), {
          timestamp: BASE_MS + 320,
          offset: 11,
          leaderEpoch: 0,
        });
        // Kafka's answer: the first record whose timestamp is >= the target.
        assert.deepEqual(
          [205, 0, 320].map((t) => recovered.offsetForTimestamp(BASE_MS + t)?.offset),
          [7, 0, 11],
        );
        assert.equal(recovered.offsetForTimestamp(BASE_MS + 321), null);
      } finally {
        await recovered.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a cleanly closed log rebuilds a deleted time index from the records", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const written = await FileLog.open({ dir, config: CONFIG, warn: () => {} });
    for (let i = 0; i < 3; i++) {
      await written.append(lyingBatch(i * 100, 4), { leaderEpoch: 0, nowMs: BASE_MS });
    }
    await written.close();
    await Deno.remove(`${dir}/00000000000000000000.timeindex`);
    const reopened = await FileLog.open({
      dir,
      config: CONFIG,
      warn: () => {},
      hadCleanShutdown: true,
      recoveryPoint: Number.MAX_SAFE_INTEGER,
    });
    try {
      assert.equal(reopened.offsetForTimestamp(BASE_MS + 105)?.offset, 4);
      assert.equal(reopened.maxTimestampAndOffset()?.timestamp, BASE_MS + 220);
    } finally {
      await reopened.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
