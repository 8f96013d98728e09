/**
 * Record batches as librdkafka writes them, with every compression codec, decode with our own
 * record-batch code (CRC checked on append by the broker, records decompressed by our consumer).
 */

import assert from "node:assert/strict";
import { hasCommand, startNode } from "./harness.ts";
import { Consumer } from "../../net/client/consumer.ts";

const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const COUNT = 300;

Deno.test({
  name:
    "kcat batches in every codec decode with our record-batch code, keys, values and headers intact",
  ignore: !hasCommand("kcat"),
  fn: async () => {
    const node = await startNode();
    try {
      for (const codec of CODECS) {
        const topic = `codec-${codec}`;
        const lines = Array.from(
          { length: COUNT },
          (_, i) => `key-${i}\tvalue-${i}-${"x".repeat(i % 50)}`,
        );
        const producer = new Deno.Command("kcat", {
          args: [
            "-P",
            "-b",
            node.bootstrap,
            "-t",
            topic,
            "-z",
            codec,
            "-K",
            "\t",
            "-H",
            `codec=${codec}`,
          ],
          stdin: "piped",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const writer = producer.stdin.getWriter();
        await writer.write(new TextEncoder().encode(lines.join("\n") + "\n"));
        await writer.close();
        const status = await producer.output();
        assert.equal(status.code, 0, new TextDecoder().decode(status.stderr) + node.logs());

        const consumer = new Consumer({ bootstrapServers: node.bootstrap });
        consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
        const seen: string[] = [];
        const decoder = new TextDecoder();
        // Bounded: at most 50 polls.
        for (let i = 0; i < 50 && seen.length < COUNT; i++) {
          for (const record of await consumer.poll({ timeoutMs: 500 })) {
            assert.equal(record.offset, seen.length, `${codec}: offsets are contiguous`);
            assert.deepEqual(
              record.headers.map((h) => [h.key, h.value && decoder.decode(h.value)]),
              [["codec", codec]],
            );
            seen.push(`${decoder.decode(record.key!)}\t${decoder.decode(record.value!)}`);
          }
        }
        await consumer.close();
        assert.deepEqual(seen, lines, `${codec}: every record decodes as kcat wrote it`);
      }
    } finally {
      await node.stop();
    }
  },
});
