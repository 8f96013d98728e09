import { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  formatMembersTable,
  formatOffsetsTable,
  formatResetTable,
  formatStateTable,
  parseDatetime,
  parseTopicScope,
} from "./consumer_groups.ts";
import { describeHeader, formatConfigEntry, parseConfigsArgs } from "./configs.ts";
import { parsePartitions, parseTime } from "./get_offsets.ts";
import { parseOffsetJson } from "./delete_records.ts";
import { negativeValues, optionalValue, parseConfigList, takeMultiValueFlag } from "./common.ts";
import { PerfStats } from "./producer_perf_test.ts";
import { formatPerfLine, PERF_HEADER } from "./consumer_perf_test.ts";

const B = ["--bootstrap-server", "127.0.0.1:9092"];

Deno.test("the offsets table pads columns as ConsumerGroupCommand does", () => {
  const lines = formatOffsetsTable([
    {
      group: "g",
      topic: "orders",
      partition: 0,
      currentOffset: 3,
      logEndOffset: 5,
      consumerId: "consumer-1-abc",
      host: "/127.0.0.1",
      clientId: "consumer-1",
    },
    {
      group: "g",
      topic: "orders",
      partition: 1,
      currentOffset: undefined,
      logEndOffset: 2,
      consumerId: "-",
      host: "-",
      clientId: "-",
    },
  ]);
  assertEquals(lines[0], "");
  assertEquals(
    lines[1],
    "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID",
  );
  assertEquals(
    lines[2],
    "g               orders          0          3               5               2               consumer-1-abc  /127.0.0.1      consumer-1",
  );
  assertEquals(
    lines[3],
    "g               orders          1          -               2               -               -               -               -",
  );
});

Deno.test("members, state and reset tables follow Kafka's formats", () => {
  assertEquals(
    formatMembersTable("g", [{ consumerId: "c1", host: "/h", clientId: "cl", partitions: 2 }])[2],
    "g               c1              /h              cl              2               ",
  );
  assertEquals(
    formatStateTable({
      group: "g",
      coordinator: "localhost:9092  (1)",
      strategy: "range",
      state: "Stable",
      members: 1,
    })[2],
    "g               localhost:9092  (1)       range                Stable               1",
  );
  assertEquals(formatResetTable([{ group: "g", topic: "t", partition: 0, offset: 0 }]), [
    "",
    "GROUP           TOPIC           PARTITION  NEW-OFFSET",
    "g               t               0          0",
  ]);
  assertEquals(formatResetTable([]), []);
});

Deno.test("reset scopes and datetimes parse as Kafka's options", () => {
  assertEquals(parseTopicScope("t"), { topic: "t" });
  assertEquals(parseTopicScope("t:0,3"), { topic: "t", partitions: [0, 3] });
  assertThrows(() => parseTopicScope("t:a"), /invalid partitions/);
  assertEquals(parseDatetime("2024-01-01T00:00:00.000Z"), Date.UTC(2024, 0, 1));
  assertEquals(parseDatetime("2024-01-01T01:00:00.000+01:00"), Date.UTC(2024, 0, 1));
  assertThrows(() => parseDatetime("yesterday"), /yyyy-MM-dd/);
});

Deno.test("configs resolves entity shortcuts and checks alter arguments", () => {
  assertEquals(parseConfigsArgs([...B, "--describe", "--topic", "t"]).entityName, "t");
  assertEquals(
    parseConfigsArgs([...B, "--describe", "--entity-type", "brokers", "--entity-default"])
      .entityName,
    "",
  );
  const alter = parseConfigsArgs([
    ...B,
    "--alter",
    "--entity-type",
    "topics",
    "--entity-name",
    "t",
    "--add-config",
    "a=1,b=[x,y]",
    "--delete-config",
    "c",
  ]);
  assertEquals([...alter.add], [["a", "1"], ["b", "x,y"]]);
  assertEquals(alter.remove, ["c"]);
  assertThrows(
    () => parseConfigsArgs([...B, "--alter", "--topic", "t"]),
    /--add-config or --delete-config/,
  );
  assertEquals(
    parseConfigsArgs([...B, "--describe", "--entity-type", "users"]).entityType,
    "users",
  );
  assertEquals(
    parseConfigsArgs([...B, "--describe", "--entity-type", "clients"]).entityType,
    "clients",
  );
  const quota = parseConfigsArgs([
    ...B,
    "--alter",
    "--user",
    "alice",
    "--client",
    "app",
    "--add-config",
    "producer_byte_rate=1024",
  ]);
  assertEquals(quota.quotaEntity, { user: "alice", clientId: "app" });
  assertEquals(
    parseConfigsArgs([...B, "--describe", "--entity-type", "users", "--entity-default"])
      .quotaEntity,
    { user: null },
  );
  assertThrows(
    () => parseConfigsArgs([...B, "--alter", "--client", "c", "--add-config", "x_rate=1"]),
    /not a SCRAM mechanism .* or a client quota/,
  );
  assertThrows(
    () =>
      parseConfigsArgs([...B, "--alter", "--client", "c", "--add-config", "producer_byte_rate=z"]),
    /must be a number/,
  );
  assertThrows(
    () =>
      parseConfigsArgs([
        ...B,
        "--alter",
        "--user",
        "alice",
        "--add-config",
        "SCRAM-SHA-256=[password=s3cret",
      ]),
    (e: Error) => !e.message.includes("s3cret"),
  );
  assertThrows(() => parseConfigsArgs([...B, "--describe", "--broker", "x"]), /integer broker id/);
});

Deno.test("config lines and headers read like ConfigCommand's", () => {
  assertEquals(describeHeader("topics", "t", false), "Dynamic configs for topic t are:");
  assertEquals(describeHeader("brokers", "1", true), "All configs for broker 1 are:");
  assertEquals(
    describeHeader("brokers", "", false),
    "Default configs for brokers in the cluster are:",
  );
  assertEquals(
    formatConfigEntry({
      name: "retention.ms",
      value: "5",
      source: 1,
      isDefault: false,
      readOnly: false,
      sensitive: false,
      synonyms: [{ name: "retention.ms", value: "5", source: 1 }, {
        name: "log.retention.hours",
        value: "168",
        source: 5,
      }],
    }),
    "  retention.ms=5 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=5, DEFAULT_CONFIG:log.retention.hours=168}",
  );
  assertEquals(
    formatConfigEntry({
      name: "p",
      value: "s",
      source: 2,
      isDefault: false,
      readOnly: false,
      sensitive: true,
      synonyms: [],
    }),
    "  p=null sensitive=true synonyms={}",
  );
});

Deno.test("get-offsets reads --time and --partitions", () => {
  assertEquals(parseTime(undefined), "latest");
  assertEquals(parseTime("-2"), "earliest");
  assertEquals(parseTime("max-timestamp"), "max-timestamp");
  assertEquals(parseTime("1700000000000"), { timestamp: 1700000000000 });
  assertThrows(() => parseTime("-7"), /Malformed time argument/);
  const p = parsePartitions("0,3-4");
  assertEquals([0, 1, 3, 4, 5].map(p), [true, false, true, true, false]);
  assertThrows(() => parsePartitions("a"), /Invalid partition/);
});

Deno.test("delete-records reads Kafka's offset JSON and refuses duplicates", () => {
  assertEquals(
    parseOffsetJson('{"partitions":[{"topic":"t","partition":1,"offset":-1}],"version":1}'),
    [{ topic: "t", partition: 1, offset: -1 }],
  );
  assertThrows(
    () =>
      parseOffsetJson(
        '{"partitions":[{"topic":"t","partition":1,"offset":1},{"topic":"t","partition":1,"offset":2}]}',
      ),
    /duplicate topic partitions: t-1/,
  );
  assertThrows(() => parseOffsetJson("{"), /not valid JSON/);
  assertThrows(
    () => parseOffsetJson('{"partitions":[{"topic":"t"}]}'),
    /needs "topic", "partition" and "offset"/,
  );
});

Deno.test("flag helpers handle nargs, optional values, negative numbers and bracketed lists", () => {
  assertEquals(
    takeMultiValueFlag(["--producer-props", "a=1", "b=2", "--topic", "t"], "--producer-props"),
    { values: ["a=1", "b=2"], rest: ["--topic", "t"] },
  );
  assertEquals(optionalValue(["--state", "--describe"], "--state"), ["--state", "", "--describe"]);
  assertEquals(negativeValues(["--time", "-1", "--shift-by", "-2", "--x", "y"]), [
    "--time=-1",
    "--shift-by=-2",
    "--x",
    "y",
  ]);
  assertEquals([...parseConfigList("a=1,b=[x,y],c=")], [["a", "1"], ["b", "x,y"], ["c", ""]]);
  assertThrows(() => parseConfigList("a"), /key=val/);
});

Deno.test("producer-perf-test prints windows and a percentile summary", () => {
  const stats = new PerfStats(4, 0, 5000);
  assertEquals(stats.record(10, 100, 1000), undefined);
  assertEquals(stats.record(20, 100, 2000), undefined);
  assertEquals(
    stats.record(30, 100, 5000),
    "3 records sent, 0.6 records/sec (0.00 MB/sec), 20.0 ms avg latency, 30.0 ms max latency.",
  );
  stats.record(40, 100, 6000);
  assertEquals(
    stats.totalLine(10_000),
    "4 records sent, 0.400000 records/sec (0.00 MB/sec), 25.00 ms avg latency, 40.00 ms max latency, 30 ms 50th, 40 ms 95th, 40 ms 99th, 40 ms 99.9th.",
  );
});

Deno.test("consumer-perf-test prints Kafka's header and comma-separated numbers", () => {
  assertEquals(PERF_HEADER.split(", ").length, 10);
  const line = formatPerfLine({
    startMs: 0,
    endMs: 2000,
    bytes: 2 * 1024 * 1024,
    messages: 100,
    rebalanceMs: 1000,
  }).split(", ");
  assertEquals(line.slice(2), [
    "2.0000",
    "1.0000",
    "100",
    "50.0000",
    "1000",
    "1000",
    "2.0000",
    "100.0000",
  ]);
});
