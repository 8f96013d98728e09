import assert, { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import {
  filterTopics,
  formatTopicDescription,
  parseTopicsArgs,
  REPLICATION_REPORTS,
  replicationFactorOf,
  reportSelects,
} from "./topics.ts";
import { UsageError } from "./command.ts";

const B = ["--bootstrap-server", "127.0.0.1:9092"];

Deno.test("topics needs exactly one action and a bootstrap server", () => {
  assertThrows(() => parseTopicsArgs([...B]), UsageError);
  assertThrows(() => parseTopicsArgs([...B, "--list", "--describe"]), UsageError);
  assertThrows(() => parseTopicsArgs(["--list"]), /missing required option --bootstrap-server/);
});

Deno.test("topics --create collects repeatable --config and numeric flags", () => {
  const a = parseTopicsArgs([
    ...B,
    "--create",
    "--topic",
    "t",
    "--partitions",
    "3",
    "--replication-factor",
    "1",
    "--config",
    "retention.ms=1000",
    "--config",
    "cleanup.policy=compact",
    "--if-not-exists",
  ]);
  assertEquals(a.action, "create");
  assertEquals(a.partitions, 3);
  assertEquals(a.replicationFactor, 1);
  assertEquals([...a.configs], [["retention.ms", "1000"], ["cleanup.policy", "compact"]]);
  assertEquals(a.ifNotExists, true);
});

Deno.test("topics rejects bad partition counts and alter without partitions", () => {
  assertThrows(
    () => parseTopicsArgs([...B, "--create", "--topic", "t", "--partitions", "0"]),
    /greater than 0/,
  );
  assertThrows(() => parseTopicsArgs([...B, "--alter", "--topic", "t"]), /--partitions/);
  assertThrows(() => parseTopicsArgs([...B, "--create"]), /needs --topic/);
  assertThrows(
    () => parseTopicsArgs([...B, "--create", "--topic", "t", "--partitions", "x"]),
    /integer/,
  );
});

Deno.test("describe prints Kafka's topic line and per-partition lines", () => {
  const lines = formatTopicDescription({
    name: "orders",
    topicId: "xJv2bEa5Q6mbxM0Qd7bKdg",
    isInternal: false,
    partitions: [
      {
        partition: 0,
        leader: 1,
        replicas: [1, 2],
        isr: [1, 2],
        elr: [],
        lastKnownElr: [],
        offline: [],
      },
      {
        partition: 1,
        leader: -1,
        replicas: [2, 1],
        isr: [],
        elr: null,
        lastKnownElr: null,
        offline: [2, 1],
      },
    ],
  }, [
    {
      name: "retention.ms",
      value: "1000",
      source: 1,
      isDefault: false,
      readOnly: false,
      sensitive: false,
      synonyms: [],
    },
    {
      name: "segment.bytes",
      value: "1073741824",
      source: 5,
      isDefault: true,
      readOnly: false,
      sensitive: false,
      synonyms: [],
    },
  ]);
  assertEquals(lines, [
    "Topic: orders\tTopicId: xJv2bEa5Q6mbxM0Qd7bKdg\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: retention.ms=1000",
    "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tElr: \tLastKnownElr: ",
    "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,1\tIsr: \tElr: N/A\tLastKnownElr: N/A",
  ]);
});

Deno.test("--topic is a whole-name regular expression and --exclude-internal hides internal topics", () => {
  const all = ["__consumer_offsets", "orders", "orders-dlq", "payments"];
  assertEquals(filterTopics(all, "orders", false), ["orders"]);
  assertEquals(filterTopics(all, "orders.*", false), ["orders", "orders-dlq"]);
  assertEquals(filterTopics(all, "orders,payments", false), ["orders", "payments"]);
  assertEquals(filterTopics(all, undefined, true), ["orders", "orders-dlq", "payments"]);
});

Deno.test("the replication reports go with --describe only, one at a time", () => {
  assert.equal(
    parseTopicsArgs([...B, "--describe", "--under-replicated-partitions"]).report,
    "under-replicated-partitions",
  );
  assertThrows(
    () => parseTopicsArgs([...B, "--list", "--unavailable-partitions"]),
    /--unavailable-partitions can only be used with --describe/,
  );
  assertThrows(
    () =>
      parseTopicsArgs([
        ...B,
        "--describe",
        "--at-min-isr-partitions",
        "--under-min-isr-partitions",
      ]),
    /can't be used with/,
  );
});

Deno.test("each replication report selects the partitions TopicCommand does", () => {
  // TopicCommand.PartitionDescription: isUnderReplicated, isUnderMinIsr, isAtMinIsrPartitions,
  // hasUnavailablePartitions.
  const part = (leader: number, isr: number[]) => ({
    partition: 0,
    leader,
    replicas: [1, 2, 3],
    isr,
    elr: null,
    lastKnownElr: null,
    offline: [],
  });
  const cluster = { minIsr: 2, liveBrokers: new Set([1, 2]) };
  const selected = (p: ReturnType<typeof part>) =>
    REPLICATION_REPORTS.filter((r) => reportSelects(r, p, cluster));
  assert.deepEqual(selected(part(1, [1, 2, 3])), []);
  assert.deepEqual(selected(part(1, [1, 2])), [
    "under-replicated-partitions",
    "at-min-isr-partitions",
  ]);
  assert.deepEqual(selected(part(1, [1])), [
    "under-replicated-partitions",
    "under-min-isr-partitions",
  ]);
  assert.deepEqual(selected(part(-1, [3, 1, 2])), [
    "under-min-isr-partitions",
    "unavailable-partitions",
  ]);
  assert.deepEqual(selected(part(3, [3, 1, 2])), ["unavailable-partitions"]); // 3 is not live
});

Deno.test("a partition being reassigned shows its adding and removing replicas, and the target RF", () => {
  // TopicCommand.PartitionDescription.printDescription and getReplicationFactor
  const moving = {
    topic: "t",
    partition: 0,
    replicas: [3, 4, 1, 2],
    addingReplicas: [3, 4],
    removingReplicas: [1, 2],
  };
  const p = {
    partition: 0,
    leader: 1,
    replicas: [3, 4, 1, 2],
    isr: [1, 2],
    elr: null,
    lastKnownElr: null,
    offline: [],
  };
  const lines = formatTopicDescription(
    { name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAA", isInternal: false, partitions: [p] },
    [],
    new Map([["t-0", moving]]),
  );
  assert.equal(
    lines[0],
    "Topic: t\tPartitionCount: 1\tReplicationFactor: 2\tConfigs: ",
  );
  assert.equal(
    lines[1],
    "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 3,4,1,2\tIsr: 1,2" +
      "\tAdding Replicas: 3,4\tRemoving Replicas: 1,2\tElr: N/A\tLastKnownElr: N/A",
  );
  // Two in sync out of a target of two: not under-replicated while the move runs.
  const cluster = { minIsr: 1, liveBrokers: new Set([1, 2, 3, 4]), reassignment: moving };
  assert.equal(reportSelects("under-replicated-partitions", p, cluster), false);
  assert.equal(replicationFactorOf(p, undefined), 4);
});
