/**
 * Codec throughput: CRC32C, each compression codec, and v2 batch decode+encode, with a raw
 * memory-copy baseline measured in the same run.
 *
 * Run standalone: `deno run -A scripts/bench/codec_bench.ts`.
 *
 * @module
 */
import { crc32c } from "../../net/protocol/crc32c.ts";
import { compress, decompress } from "../../net/protocol/compression.ts";
import { decodeBatch, encodeBatch, type Record } from "../../net/protocol/records.ts";

const DATA_BYTES = 4 * 1024 * 1024;
const RECORD_BYTES = 1024;
/** Each measurement repeats until this much time has passed (bounded by ITERATIONS_MAX). */
const MEASURE_MS = 300;
const ITERATIONS_MAX = 10_000;
const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"];

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"];

/** A 1 KiB JSON-ish record with some entropy (ids, hex nonce, word salad), deterministic. */
function jsonRecordValue(i: number): Uint8Array {
  let x = (i * 2654435761) >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  const nonce = Array.from({ length: 4 }, () => next().toString(16).padStart(8, "0")).join("");
  const words: string[] = [];
  for (let w = 0; w < 200; w++) words.push(WORDS[next() % WORDS.length]!);
  const text = JSON.stringify({
    id: i,
    user: `user-${next() % 100_000}`,
    event: ["click", "view", "buy", "scroll"][i % 4],
    amount: next() % 100_000,
    nonce,
    note: words.join(" "),
  });
  return new TextEncoder().encode(text.padEnd(RECORD_BYTES, " ").slice(0, RECORD_BYTES));
}

function makeRecords(count: number): Record[] {
  return Array.from({ length: count }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: i,
    key: new TextEncoder().encode(`key-${i}`),
    value: jsonRecordValue(i),
    headers: [],
  }));
}

/** Runs `fn` repeatedly for about MEASURE_MS and returns MB/s over `bytesPerRun`. */
function throughput(bytesPerRun: number, fn: () => void): number {
  fn(); // warm up
  let runs = 0;
  const started = performance.now();
  let elapsedMs = 0;
  while (runs < ITERATIONS_MAX && elapsedMs < MEASURE_MS) {
    fn();
    runs++;
    elapsedMs = performance.now() - started;
  }
  return (bytesPerRun * runs) / (elapsedMs / 1000) / 1e6;
}

const fmt = (mbPerS: number) => mbPerS.toFixed(mbPerS < 10 ? 1 : 0);

/**
 * Measures the codecs and returns a markdown table.
 *
 * @example
 * ```ts
 * console.log(await runCodecBench());
 * ```
 */
export function runCodecBench(): Promise<string> {
  const count = Math.floor(DATA_BYTES / RECORD_BYTES);
  const data = new Uint8Array(DATA_BYTES);
  for (let i = 0; i < count; i++) data.set(jsonRecordValue(i), i * RECORD_BYTES);
  const rows: string[] = [
    "| operation | input | MB/s (uncompressed bytes) | ratio |",
    "| --- | --- | ---: | ---: |",
  ];
  const copyTarget = new Uint8Array(DATA_BYTES);
  rows.push(
    `| baseline Uint8Array.set copy | 4 MiB | ${
      fmt(throughput(DATA_BYTES, () => copyTarget.set(data)))
    } | |`,
  );
  rows.push(`| crc32c | 4 MiB | ${fmt(throughput(DATA_BYTES, () => crc32c(data)))} | |`);
  const small = data.subarray(0, 200);
  rows.push(
    `| crc32c (200-byte inputs) | 200 B | ${fmt(throughput(200, () => crc32c(small)))} | |`,
  );
  for (let codec = 1; codec <= 4; codec++) {
    const packed = compress(codec, data);
    const ratio = (data.length / packed.length).toFixed(2);
    const name = CODEC_NAMES[codec];
    rows.push(
      `| ${name} compress | 4 MiB JSON-like | ${
        fmt(throughput(DATA_BYTES, () => compress(codec, data)))
      } | ${ratio} |`,
    );
    rows.push(
      `| ${name} decompress | 4 MiB JSON-like | ${
        fmt(throughput(DATA_BYTES, () => decompress(codec, packed)))
      } | |`,
    );
  }
  const records = makeRecords(1000);
  const recordBytes = 1000 * RECORD_BYTES;
  for (const codec of [0, 3, 4]) {
    const batch = encodeBatch({ baseOffset: 0, records, compression: codec });
    const mbps = throughput(recordBytes, () => {
      const { records: back } = decodeBatch(batch);
      encodeBatch({ baseOffset: 0, records: back, compression: codec });
    });
    rows.push(
      `| batch decode+encode, 1000 x 1 KiB records | ${CODEC_NAMES[codec]} | ${fmt(mbps)} | |`,
    );
  }
  return Promise.resolve(rows.join("\n"));
}

if (import.meta.main) {
  console.log(await runCodecBench());
}
