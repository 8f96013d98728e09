import assert from "node:assert/strict";
import {
  checkExecuteTargets,
  formatReassignmentJson,
  formatReassignments,
  parseGenerateArgs,
  parseReassignArgs,
  parseReassignmentJson,
  throttlesOf,
} from "./reassign_partitions.ts";

const B = ["--bootstrap-server", "127.0.0.1:9092"];

Deno.test("reassign-partitions takes one action with its required and permitted options", () => {
  // ReassignPartitionsCommand.validateAndParseArgs
  assert.throws(() => parseReassignArgs([...B]), /exactly one action: --generate, --execute/);
  assert.throws(() => parseReassignArgs(["--list"]), /Please specify --bootstrap-server/);
  assert.throws(
    () => parseReassignArgs([...B, "--execute"]),
    /Missing required argument "\[reassignment-json-file\]"/,
  );
  assert.throws(
    () => parseReassignArgs([...B, "--generate", "--topics-to-move-json-file", "t.json"]),
    /Missing required argument "\[broker-list\]"/,
  );
  assert.throws(
    () => parseReassignArgs([...B, "--verify", "--reassignment-json-file", "f", "--additional"]),
    /Option "\[additional\]" can't be used with action "\[verify\]"/,
  );
  assert.equal(
    parseReassignArgs([...B, "--execute", "--reassignment-json-file", "f", "--throttle", "1000"])
      .throttle,
    1000,
  );
  assert.equal(
    parseReassignArgs([...B, "--execute", "--reassignment-json-file", "f"]).throttle,
    null,
  );
  assert.throws(
    () =>
      parseReassignArgs([
        ...B,
        "--execute",
        "--reassignment-json-file",
        "f",
        "--replica-alter-log-dirs-throttle",
        "1000",
      ]),
    /does not move replicas between log directories/,
  );
  const a = parseReassignArgs([...B, "--execute", "--reassignment-json-file", "f", "--additional"]);
  assert.deepEqual([a.action, a.additional, a.reassignmentJsonFile], ["execute", true, "f"]);
  assert.equal(parseReassignArgs([...B, "--list"]).action, "list");
});

Deno.test("the reassignment JSON file is read as Kafka reads it", () => {
  assert.deepEqual(
    parseReassignmentJson(
      '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3],"log_dirs":["any","any"]}]}',
    ),
    [{ topic: "t", partition: 0, replicas: [2, 3] }],
  );
  assert.deepEqual(parseReassignmentJson('{"version":1}'), []);
  assert.throws(
    () => parseReassignmentJson('{"version":2,"partitions":[]}'),
    /Not supported version field value 2/,
  );
  assert.throws(() => parseReassignmentJson("{"), /not valid JSON/);
  assert.throws(
    () =>
      parseReassignmentJson(
        '{"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["any","any"]}]}',
      ),
    /Size of replicas list \[1\] is different from size of log dirs list \[any, any\] for partition t-0/,
  );
  assert.throws(
    () =>
      parseReassignmentJson(
        '{"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/d"]}]}',
      ),
    /not supported/,
  );
});

Deno.test("an --execute file with no, empty or repeated entries is refused", () => {
  assert.throws(() => checkExecuteTargets([]), /Partition reassignment list cannot be empty/);
  assert.throws(
    () => checkExecuteTargets([{ topic: "t", partition: 0, replicas: [] }]),
    /Partition replica list cannot be empty/,
  );
  assert.throws(
    () =>
      checkExecuteTargets([
        { topic: "t", partition: 0, replicas: [1] },
        { topic: "t", partition: 0, replicas: [2] },
      ]),
    /contains duplicate topic partitions: t-0/,
  );
  assert.throws(
    () => checkExecuteTargets([{ topic: "t", partition: 1, replicas: [1, 2, 1] }]),
    /may not contain duplicate entries: t-1 contains multiple entries for 1/,
  );
});

Deno.test("--generate's topics file and broker list refuse duplicates", () => {
  assert.deepEqual(
    parseGenerateArgs('{"topics":[{"topic":"a"},{"topic":"b"}],"version":1}', "3,1"),
    {
      brokers: [3, 1],
      topics: ["a", "b"],
    },
  );
  assert.throws(
    () => parseGenerateArgs('{"topics":[]}', "1,1"),
    /Broker list contains duplicate entries: \[1\]/,
  );
  assert.throws(
    () => parseGenerateArgs('{"topics":[{"topic":"a"},{"topic":"a"}]}', "1"),
    /List of topics to reassign contains duplicate entries: \[a\]/,
  );
  assert.throws(() => parseGenerateArgs('{"topics":[]}', "1,x"), /Invalid broker id 'x'/);
});

Deno.test("JSON and --list output are Kafka's", () => {
  assert.equal(
    formatReassignmentJson([
      { topic: "b", partition: 0, replicas: [1] },
      { topic: "a", partition: 1, replicas: [2, 3] },
      { topic: "a", partition: 0, replicas: [3, 2] },
    ]),
    '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[3,2],"log_dirs":["any","any"]},' +
      '{"topic":"a","partition":1,"replicas":[2,3],"log_dirs":["any","any"]},' +
      '{"topic":"b","partition":0,"replicas":[1],"log_dirs":["any"]}]}',
  );
  assert.equal(
    formatReassignments([
      { topic: "t", partition: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] },
      { topic: "s", partition: 2, replicas: [2, 1], addingReplicas: [], removingReplicas: [1] },
    ]),
    "Current partition reassignments:\ns-2: replicas: 2,1. removing: 1.\n" +
      "t-0: replicas: 2,3,1. adding: 3. removing: 1.",
  );
  assert.equal(formatReassignments([]), "No partition reassignments found.");
});

Deno.test("--throttle marks the current replicas as leaders and the added ones as followers, as Kafka", () => {
  const t = throttlesOf(
    [
      { topic: "orders", partition: 1, replicas: [3, 4] },
      { topic: "orders", partition: 0, replicas: [1, 2, 4] },
      { topic: "audit", partition: 0, replicas: [1] },
    ],
    [
      { topic: "orders", partition: 0, replicas: [1, 2, 3] },
      { topic: "orders", partition: 1, replicas: [1, 2] },
      { topic: "audit", partition: 0, replicas: [1] },
    ],
  );
  assert.deepEqual(Object.fromEntries(t.leader), { audit: "0:1", orders: "0:1,0:2,0:3,1:1,1:2" });
  assert.deepEqual(Object.fromEntries(t.follower), { audit: "", orders: "0:4,1:3,1:4" });
  assert.deepEqual([...t.brokers].sort(), [1, 2, 3, 4]);
});
