// Our Consumer against a real node: fetches sent ahead of decoding, and the rebalance listener.
import assert from "node:assert/strict";
import { startNode } from "./harness.ts";
import { Admin } from "../../net/client/admin.ts";
import { Consumer, type ConsumerRecord } from "../../net/client/consumer.ts";
import { Producer } from "../../net/client/producer.ts";

async function fill(bootstrap: string, topic: string, partitions: number, count: number) {
  const admin = new Admin({ bootstrapServers: bootstrap });
  try {
    await admin.createTopics([{ name: topic, numPartitions: partitions, replicationFactor: 1 }]);
  } finally {
    admin.close();
  }
  const producer = new Producer({ bootstrapServers: bootstrap });
  try {
    // Awaited in small groups, so the log holds many batches (each fetch below takes one or two).
    for (let start = 0; start < count; start += 20) {
      const sends = [];
      for (let i = start; i < Math.min(start + 20, count); i++) {
        sends.push(producer.send({ topic, partition: i % partitions, value: String(i) }));
      }
      await Promise.all(sends);
    }
  } finally {
    await producer.close();
  }
}

/** Polls until `count` records arrived or `rounds` polls returned nothing. */
async function pollAll(consumer: Consumer, count: number, rounds = 20): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for (let empty = 0; out.length < count && empty < rounds;) {
    const records = await consumer.poll({ timeoutMs: 500 });
    if (records.length === 0) empty++;
    out.push(...records);
  }
  return out;
}

Deno.test({
  name: "a seek drops what was fetched ahead: the next poll starts at the sought offset",
  async fn() {
    const node = await startNode();
    try {
      await fill(node.bootstrap, "ahead", 1, 400);
      // Small fetches, so the first poll leaves most records behind and sends the next fetch
      // ahead before returning.
      const consumer = new Consumer({
        bootstrapServers: node.bootstrap,
        maxPartitionFetchBytes: 64,
      });
      try {
        consumer.assign([{ topic: "ahead", partition: 0, offset: "earliest" }]);
        const first = await pollAll(consumer, 1);
        assert.ok(first.length > 0 && first.length < 400, `first poll got ${first.length}`);
        consumer.seek("ahead", 0, 3);
        const rest = await pollAll(consumer, 397);
        assert.equal(rest[0]?.offset, 3);
        assert.deepEqual(
          rest.map((r) => r.offset),
          Array.from({ length: 397 }, (_, i) => i + 3),
        );
        assert.deepEqual(
          rest.map((r) => new TextDecoder().decode(r.value!)),
          Array.from({ length: 397 }, (_, i) => String(i + 3)),
        );
      } finally {
        await consumer.close();
      }
    } finally {
      await node.stop();
    }
  },
});

for (const groupProtocol of ["classic", "consumer"] as const) {
  Deno.test({
    name: `a ${groupProtocol} group member hears of its partitions before it reads any of them`,
    async fn() {
      const node = await startNode();
      try {
        await fill(node.bootstrap, "listened", 2, 100);
        const consumer = new Consumer({
          bootstrapServers: node.bootstrap,
          groupId: `listener-${groupProtocol}`,
          groupProtocol,
          autoOffsetReset: "earliest",
        });
        const read: ConsumerRecord[] = [];
        const told: { partitions: number[]; readBefore: number }[] = [];
        try {
          consumer.subscribe(["listened"], {
            onPartitionsAssigned: (partitions) =>
              told.push({
                partitions: partitions.map((p) => p.partition).sort(),
                readBefore: read.length,
              }),
          });
          read.push(...await pollAll(consumer, 100, 40));
        } finally {
          await consumer.close();
        }
        assert.equal(read.length, 100);
        assert.deepEqual(told.flatMap((t) => t.partitions).sort(), [0, 1]);
        assert.equal(told[0]?.readBefore, 0);
      } finally {
        await node.stop();
      }
    },
  });
}
