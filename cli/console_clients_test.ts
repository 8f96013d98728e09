import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { lineReaderOptions, parseLine, producerOptions } from "./console_producer.ts";
import { formatRecord, formatterOptions, parseConsoleConsumerArgs } from "./console_consumer.ts";
import type { ConsumerRecord } from "../net/client/consumer.ts";

const B = ["--bootstrap-server", "127.0.0.1:9092"];
const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("a plain line is a value with no key", () => {
  assertEquals(parseLine("hello\tworld", 1, lineReaderOptions(new Map())), {
    key: null,
    value: "hello\tworld",
    headers: [],
  });
});

Deno.test("parse.key splits at key.separator and fails without it", () => {
  const o = lineReaderOptions(new Map([["parse.key", "true"], ["key.separator", ":"]]));
  assertEquals(parseLine("k:v:w", 1, o), { key: "k", value: "v:w", headers: [] });
  assertThrows(
    () => parseLine("novalue", 7, o),
    /No key separator found on line number 7: 'novalue'/,
  );
});

Deno.test("parse.headers reads key:value pairs before the headers delimiter", () => {
  const o = lineReaderOptions(
    new Map([["parse.headers", "true"], ["parse.key", "true"], ["null.marker", "NULL"]]),
  );
  const parsed = parseLine("a:1,b:NULL\tNULL\tvalue", 1, o);
  assertEquals(parsed.key, null);
  assertEquals(parsed.value, "value");
  assertEquals(parsed.headers, [{ key: "a", value: enc("1") }, { key: "b", value: null }]);
});

Deno.test("explicit acks and codec flags win over producer properties", () => {
  const props = new Map([["acks", "1"], ["compression.type", "gzip"], ["linger.ms", "7"]]);
  assertEquals(producerOptions("b:9092", props, {}).acks, 1);
  assertEquals(producerOptions("b:9092", props, { acks: "all", compression: "lz4" }).acks, -1);
  assertEquals(producerOptions("b:9092", props, { compression: "lz4" }).compression, "lz4");
  assertEquals(producerOptions("b:9092", props, {}).lingerMs, 7);
  assertThrows(() => producerOptions("b:9092", new Map(), { acks: "2" }), /acks/);
  assertThrows(() => producerOptions("b:9092", new Map(), { compression: "brotli" }), /codec/);
});

const record: ConsumerRecord = {
  topic: "t",
  partition: 2,
  offset: 41,
  timestamp: 1700000000000,
  timestampType: "CreateTime",
  key: enc("k"),
  value: enc("v"),
  headers: [{ key: "h1", value: enc("x") }, { key: "h2", value: null }],
  leaderEpoch: 0,
};

Deno.test("the formatter prints fields in Kafka's order with key.separator", () => {
  const all = formatterOptions(
    new Map([
      ["print.timestamp", "true"],
      ["print.partition", "true"],
      ["print.offset", "true"],
      ["print.headers", "true"],
      ["print.key", "true"],
      ["key.separator", " | "],
    ]),
  );
  assertEquals(
    formatRecord(record, all),
    "CreateTime:1700000000000 | Partition:2 | Offset:41 | h1:x,h2:null | k | v",
  );
  assertEquals(formatRecord(record, formatterOptions(new Map())), "v");
  assertEquals(
    formatRecord(
      { ...record, headers: [], key: null },
      formatterOptions(new Map([["print.headers", "true"], ["print.key", "true"]])),
    ),
    "NO_HEADERS\tnull\tv",
  );
});

Deno.test("console-consumer checks offset, partition and from-beginning together", () => {
  assertThrows(
    () => parseConsoleConsumerArgs([...B, "--topic", "t", "--offset", "3"]),
    /partition is required/,
  );
  assertThrows(
    () =>
      parseConsoleConsumerArgs([
        ...B,
        "--topic",
        "t",
        "--partition",
        "0",
        "--offset",
        "3",
        "--from-beginning",
      ]),
    /cannot be specified together/,
  );
  assertThrows(
    () => parseConsoleConsumerArgs([...B, "--topic", "t", "--partition", "0", "--offset", "x"]),
    /incorrect/,
  );
  const a = parseConsoleConsumerArgs([
    ...B,
    "--topic",
    "t",
    "--partition",
    "0",
    "--offset",
    "earliest",
    "--max-messages",
    "5",
  ]);
  assertEquals([a.partition, a.offset, a.maxMessages], [0, "earliest", 5]);
  assertThrows(() => parseConsoleConsumerArgs(["--topic", "t"]), /bootstrap-server/);
});
