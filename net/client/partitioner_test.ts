import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { murmur2, partitionForKey } from "./partitioner.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

// Expected values from Kafka's UtilsTest.testMurmur2.
Deno.test("murmur2 matches the Java client's hashes", () => {
  const cases: [Uint8Array, number][] = [
    [bytes("21"), -973932308],
    [bytes("foobar"), -790332482],
    [bytes("a-little-bit-long-string"), -985981536],
    [bytes("a-little-bit-longer-string"), -1486304829],
    [bytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971],
    [new Uint8Array([0x61, 0x62, 0x63]), 479470107],
  ];
  for (const [data, expected] of cases) assertEquals(murmur2(data), expected);
});

Deno.test("a key always maps to the same partition within range", () => {
  for (let i = 0; i < 100; i++) {
    const p = partitionForKey(bytes(`key-${i}`), 7);
    assertEquals(p >= 0 && p < 7, true);
    assertEquals(partitionForKey(bytes(`key-${i}`), 7), p);
  }
});
