import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  type AbortedTxn,
  decodeAbortedTxns,
  encodeAbortedTxns,
  TransactionIndex,
  TXN_INDEX_ENTRY_BYTES,
  txnIndexPath,
} from "./transaction_index.ts";

function aborted(producerId: number, firstOffset: number, lastOffset: number): AbortedTxn {
  return { producerId, firstOffset, lastOffset, lastStableOffset: lastOffset + 1 };
}

const quiet = () => {};

Deno.test("an entry is 34 bytes in Kafka's layout: version 0, producer id, first, last, LSO", () => {
  const bytes = encodeAbortedTxns([{
    producerId: 0x0102,
    firstOffset: 3,
    lastOffset: 4,
    lastStableOffset: 5,
  }]);
  assertEquals(bytes.length, TXN_INDEX_ENTRY_BYTES);
  assertEquals([...bytes.subarray(0, 2)], [0, 0]);
  assertEquals([...bytes.subarray(8, 10)], [0x01, 0x02]);
  assertEquals(bytes[17], 3);
  assertEquals(bytes[25], 4);
  assertEquals(bytes[33], 5);
});

Deno.test("entries decode as encoded, a torn tail is reported and another version refused", () => {
  const entries = [aborted(7, 0, 4), aborted(8, 2, 9)];
  const bytes = encodeAbortedTxns(entries);
  assertEquals(decodeAbortedTxns(bytes), { entries, trailingBytes: 0 });
  assertEquals(decodeAbortedTxns(bytes.subarray(0, 40)), {
    entries: entries.slice(0, 1),
    trailingBytes: 6,
  });
  const bad = bytes.slice();
  bad[1] = 1;
  assertThrows(() => decodeAbortedTxns(bad), /version 1/);
});

Deno.test("an aborted transaction is written to the file of the segment holding its marker", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const index = await TransactionIndex.open(dir, [0, 100], quiet);
    await index.append(aborted(7, 10, 50), [0, 100]);
    await index.append(aborted(8, 90, 120), [0, 100]);
    assertEquals(decodeAbortedTxns(await Deno.readFile(txnIndexPath(dir, 0))).entries, [
      aborted(7, 10, 50),
    ]);
    assertEquals(decodeAbortedTxns(await Deno.readFile(txnIndexPath(dir, 100))).entries, [
      aborted(8, 90, 120),
    ]);
    const reopened = await TransactionIndex.open(dir, [0, 100], quiet);
    assertEquals(reopened.entries, [aborted(7, 10, 50), aborted(8, 90, 120)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fetch range gets the aborted transactions overlapping it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const index = await TransactionIndex.open(dir, [0], quiet);
    await index.append(aborted(1, 0, 5), [0]);
    await index.append(aborted(2, 3, 12), [0]);
    await index.append(aborted(3, 20, 25), [0]);
    // Kafka's collectAbortedTransactions: marker at or after the start, first record before the end.
    assertEquals(index.collect(6, 20), [{ producerId: 2, firstOffset: 3 }]);
    assertEquals(index.collect(0, 4), [
      { producerId: 1, firstOffset: 0 },
      { producerId: 2, firstOffset: 3 },
    ]);
    assertEquals(index.collect(26, 40), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("truncation drops entries whose marker it removed, from memory and file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const index = await TransactionIndex.open(dir, [0], quiet);
    await index.append(aborted(1, 0, 5), [0]);
    await index.append(aborted(2, 6, 9), [0]);
    index.truncateFrom(8, [0]);
    assertEquals(index.entries, [aborted(1, 0, 5)]);
    const reopened = await TransactionIndex.open(dir, [0], quiet);
    assertEquals(reopened.entries, [aborted(1, 0, 5)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recovery drops entries past the log end, adds replayed ones, rewrites torn files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bytes = encodeAbortedTxns([aborted(1, 0, 5), aborted(2, 6, 30)]);
    await Deno.writeFile(txnIndexPath(dir, 0), bytes.subarray(0, TXN_INDEX_ENTRY_BYTES + 3));
    const warnings: string[] = [];
    const index = await TransactionIndex.open(dir, [0], (line) => warnings.push(line));
    assertEquals(warnings.length, 1);
    await index.recover([aborted(3, 7, 9), aborted(4, 11, 40)], {
      logEndOffset: 20,
      segmentBases: [0],
    });
    assertEquals(index.entries, [aborted(1, 0, 5), aborted(3, 7, 9)]);
    const reopened = await TransactionIndex.open(dir, [0], quiet);
    assertEquals(reopened.entries, [aborted(1, 0, 5), aborted(3, 7, 9)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
