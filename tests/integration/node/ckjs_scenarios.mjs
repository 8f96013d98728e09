// Scenarios run with /usr/bin/node and @confluentinc/kafka-javascript (librdkafka 2.15) against a
// kraftling node. Usage: node ckjs_scenarios.mjs <scenario> <bootstrap>
// Prints one JSON line with what happened; the Deno test (librdkafka_current_test.ts) judges it.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ckjs = require("@confluentinc/kafka-javascript");
const { Kafka, logLevel } = ckjs.KafkaJS;

const [scenario, bootstrap] = process.argv.slice(2);
/** Bound on every wait, in milliseconds. */
const WAIT_MS = 45_000;

const kafka = new Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: logLevel.ERROR } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, done) {
  const deadline = Date.now() + WAIT_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function createTopic(topic, numPartitions) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

/** Idempotent, acks=all: `count` records numbered from `from`, round-robin over partitions. */
async function produce(topic, from, count, numPartitions, codec = "none") {
  const producer = kafka.producer({
    kafkaJS: { idempotent: true, acks: -1 },
    "compression.type": codec,
  });
  await producer.connect();
  try {
    const messages = [];
    for (let i = from; i < from + count; i++) {
      messages.push({ partition: i % numPartitions, key: `k${i}`, value: String(i) });
    }
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** A consumer that records what it reads and (unless told not to) commits each next offset. */
async function startConsumer(groupId, protocol, subscription, commit = true) {
  const config = {
    kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
    "group.protocol": protocol,
  };
  if (protocol === "classic") {
    config.kafkaJS.sessionTimeout = 10_000;
    config.kafkaJS.heartbeatInterval = 500;
  }
  const consumer = kafka.consumer(config);
  const seen = [];
  await consumer.connect();
  await consumer.subscribe(subscription);
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      seen.push({
        topic,
        partition,
        offset: Number(message.offset),
        value: message.value.toString(),
      });
      if (!commit) return;
      await consumer.commitOffsets([
        { topic, partition, offset: String(Number(message.offset) + 1) },
      ]);
    },
  });
  return { consumer, seen };
}

/** Distinct values read: a record read just before its partition moves may be read again. */
const distinct = (records) => new Set(records.map((r) => r.value)).size;

const partitionsOf = (c) =>
  c.consumer.assignment().map((tp) => `${tp.topic}:${tp.partition}`).sort();

async function kip848() {
  const topic = "ckjs-848";
  await createTopic(topic, 4);
  await produce(topic, 0, 40, 4);
  const a = await startConsumer("g-848", "consumer", { topics: [topic] });
  const b = await startConsumer("g-848", "consumer", { topics: [topic] });
  await until(
    "two members splitting four partitions and reading 40 records",
    () =>
      partitionsOf(a).length === 2 && partitionsOf(b).length === 2 &&
      distinct([...a.seen, ...b.seen]) >= 40,
  );
  const split = { a: partitionsOf(a), b: partitionsOf(b) };
  const firstValues = [...a.seen, ...b.seen].map((r) => Number(r.value)).sort((x, y) => x - y);
  await b.consumer.disconnect(); // a member leaving: its partitions move to the other
  await until(
    "the remaining member owning all four partitions",
    () => partitionsOf(a).length === 4,
  );
  const afterLeave = partitionsOf(a);
  await a.consumer.disconnect();
  await produce(topic, 40, 8, 4);
  const c = await startConsumer("g-848", "consumer", { topics: [topic] });
  await until("the new member reading the 8 new records", () => c.seen.length >= 8);
  await sleep(1000); // anything re-delivered would show up now
  const resumed = c.seen.map((r) => Number(r.value)).sort((x, y) => x - y);
  await c.consumer.disconnect();
  return { split, firstValues, afterLeave, resumed };
}

async function regex() {
  await createTopic("rx-one", 2);
  await produce("rx-one", 0, 4, 2);
  await createTopic("other", 1);
  await produce("other", 100, 2, 1);
  const d = await startConsumer("g-regex", "consumer", { topics: [/^rx-.*/] });
  await until("the regex member reading rx-one", () => d.seen.length >= 4);
  await createTopic("rx-two", 1);
  await produce("rx-two", 10, 3, 1);
  await until("the regex member picking up rx-two", () => d.seen.length >= 7);
  await sleep(500);
  const topics = [...new Set(d.seen.map((r) => r.topic))].sort();
  const assignment = partitionsOf(d);
  await d.consumer.disconnect();
  return { topics, assignment, count: d.seen.length };
}

async function classic() {
  const topic = "ckjs-classic";
  await createTopic(topic, 4);
  await produce(topic, 0, 40, 4);
  const a = await startConsumer("g-classic", "classic", { topics: [topic] });
  const b = await startConsumer("g-classic", "classic", { topics: [topic] });
  await until(
    "two classic members splitting four partitions and reading 40 records",
    () =>
      partitionsOf(a).length === 2 && partitionsOf(b).length === 2 &&
      distinct([...a.seen, ...b.seen]) >= 40,
  );
  const split = { a: partitionsOf(a), b: partitionsOf(b) };
  const values = [...a.seen, ...b.seen].map((r) => Number(r.value)).sort((x, y) => x - y);
  await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
  return { split, values };
}

async function idempotence() {
  const topic = "ckjs-idem";
  await createTopic(topic, 2);
  await produce(topic, 0, 2000, 2);
  const c = await startConsumer("g-idem", "consumer", { topics: [topic] });
  await until("2000 records", () => c.seen.length >= 2000);
  await sleep(500);
  const ordered = [0, 1].every((p) => {
    const values = c.seen.filter((r) => r.partition === p).map((r) => Number(r.value));
    return values.every((v, i) => i === 0 || v > values[i - 1]);
  });
  await c.consumer.disconnect();
  return { count: c.seen.length, distinct: new Set(c.seen.map((r) => r.value)).size, ordered };
}

/**
 * One librdkafka member of group g-mixed on topic "mixed" (4 partitions, 40 records, made by the
 * test) while the test runs one of its own consumers in the same group: reads until it owns 2
 * partitions and has read them to the end, then stays a moment so the other member converges too.
 */
async function mixed() {
  // No commits on either side: whoever ends up with a partition reads it from the start.
  const m = await startConsumer("g-mixed", "consumer", { topics: ["mixed"] }, false);
  const readAll = () => {
    const mine = new Set(partitionsOf(m));
    return m.seen.filter((r) => mine.has(`${r.topic}:${r.partition}`)).length >= 20;
  };
  await until(
    "owning 2 of the 4 partitions and reading them",
    () => partitionsOf(m).length === 2 && readAll(),
  );
  await sleep(3000);
  const assignment = partitionsOf(m);
  const mine = new Set(assignment);
  const values = m.seen.filter((r) => mine.has(`${r.topic}:${r.partition}`))
    .map((r) => Number(r.value)).sort((x, y) => x - y);
  await m.consumer.disconnect();
  return { assignment, values };
}

/** Ten records with each of Kafka's codecs, read back by one consumer. */
async function codecs() {
  const names = ["gzip", "snappy", "lz4", "zstd"];
  for (const [i, codec] of names.entries()) {
    await createTopic(`codec-${codec}`, 1);
    await produce(`codec-${codec}`, i * 10, 10, 1, codec);
  }
  const c = await startConsumer("g-codecs", "consumer", { topics: names.map((n) => `codec-${n}`) });
  await until("40 records in four codecs", () => c.seen.length >= 40);
  const values = c.seen.map((r) => Number(r.value)).sort((x, y) => x - y);
  await c.consumer.disconnect();
  return { values };
}

/**
 * KIP-848 online migration with librdkafka on both sides: two classic members (group.protocol
 * classic) share "migrate" (4 partitions); a KIP-848 member (group.protocol consumer) joins, so the
 * group becomes a consumer group with classic members; all three converge on disjoint partitions
 * and read new records; the KIP-848 member leaves, so the group goes back to classic and the two
 * classic members share every partition again. Everyone commits, so nothing is lost.
 */
async function migration() {
  const topic = "migrate";
  await createTopic(topic, 4);
  await produce(topic, 0, 40, 4);
  const a = await startConsumer("g-migrate", "classic", { topics: [topic] });
  const b = await startConsumer("g-migrate", "classic", { topics: [topic] });
  // c joins later; `all` reads it through the holder so it can be defined first.
  const joined = { c: undefined };
  const all = () => [...a.seen, ...b.seen, ...(joined.c?.seen ?? [])];
  await until(
    "two classic members splitting four partitions and reading 40 records",
    () => partitionsOf(a).length === 2 && partitionsOf(b).length === 2 && distinct(all()) >= 40,
  );
  const classicSplit = { a: partitionsOf(a), b: partitionsOf(b) };
  const c = await startConsumer("g-migrate", "consumer", { topics: [topic] });
  joined.c = c;
  let cConnected = true;
  const disjoint = () => {
    const owned = [...partitionsOf(a), ...partitionsOf(b), ...(cConnected ? partitionsOf(c) : [])];
    return new Set(owned).size === owned.length ? owned.length : -1;
  };
  await until(
    "the KIP-848 member and both classic members each owning a share of the four partitions",
    () =>
      partitionsOf(c).length >= 1 && partitionsOf(a).length >= 1 && partitionsOf(b).length >= 1 &&
      disjoint() === 4,
  );
  const mixedSplit = { a: partitionsOf(a), b: partitionsOf(b), c: partitionsOf(c) };
  await produce(topic, 40, 40, 4);
  await until("80 records read by the three members", () => distinct(all()) >= 80);
  const cRead = c.seen.length;
  await c.consumer.disconnect();
  cConnected = false;
  await until(
    "the two classic members owning all four partitions again",
    () => partitionsOf(a).length + partitionsOf(b).length === 4 && disjoint() === 4,
  );
  const afterSplit = { a: partitionsOf(a), b: partitionsOf(b) };
  await produce(topic, 80, 20, 4);
  await until("100 records read", () => distinct(all()) >= 100);
  await sleep(500);
  const values = [...new Set(all().map((r) => Number(r.value)))].sort((x, y) => x - y);
  await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()]);
  return { classicSplit, mixedSplit, afterSplit, cRead, values };
}

const scenarios = { kip848, regex, classic, idempotence, mixed, codecs, migration };
const timer = setTimeout(() => {
  console.error(`scenario ${scenario} did not finish in 120 s`);
  process.exit(3);
}, 120_000);
try {
  if (scenario === "version") {
    console.log(JSON.stringify({ librdkafka: ckjs.librdkafkaVersion }));
  } else {
    const run = scenarios[scenario];
    if (run === undefined) throw new Error(`unknown scenario ${scenario}`);
    console.log(JSON.stringify(await run()));
  }
  clearTimeout(timer);
  process.exit(0);
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
