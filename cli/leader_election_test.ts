import assert from "node:assert/strict";
import { UsageError } from "./command.ts";
import { javaException, parseElectionJson, parseLeaderElectionArgs } from "./leader_election.ts";

const B = ["--bootstrap-server", "127.0.0.1:9092"];

Deno.test("leader-election needs a bootstrap server and an election type", () => {
  // LeaderElectionCommandOptions.validate
  assert.throws(
    () => parseLeaderElectionArgs(["--all-topic-partitions"]),
    /Missing required option\(s\): bootstrap-server, election-type/,
  );
  assert.throws(
    () => parseLeaderElectionArgs([...B, "--election-type", "sideways", "--all-topic-partitions"]),
    /must be one of \[PREFERRED, UNCLEAN\]/,
  );
  const parsed = parseLeaderElectionArgs([
    ...B,
    "--election-type",
    "UNCLEAN",
    "--all-topic-partitions",
  ]);
  assert.equal(parsed.electionType, "unclean");
  assert.equal(parsed.partitions, null);
});

Deno.test("leader-election takes exactly one of --topic, --all-topic-partitions and --path-to-json-file", () => {
  const E = [...B, "--election-type", "preferred"];
  assert.throws(() => parseLeaderElectionArgs(E), /One and only one of the following options/);
  assert.throws(
    () =>
      parseLeaderElectionArgs([...E, "--topic", "t", "--partition", "0", "--all-topic-partitions"]),
    /One and only one/,
  );
  assert.throws(
    () => parseLeaderElectionArgs([...E, "--topic", "t"]),
    /Missing required option\(s\): partition/,
  );
  assert.throws(
    () => parseLeaderElectionArgs([...E, "--all-topic-partitions", "--partition", "1"]),
    /Option partition is only allowed if topic is used/,
  );
  assert.throws(
    () => parseLeaderElectionArgs([...E, "--topic", "t", "--partition", "x"]),
    UsageError,
  );
  assert.deepEqual(
    parseLeaderElectionArgs([...E, "--topic", "t", "--partition", "2"]).partitions,
    [{ topic: "t", partition: 2 }],
  );
  assert.equal(parseLeaderElectionArgs([...E, "--path-to-json-file", "f.json"]).jsonFile, "f.json");
});

Deno.test("the election JSON file is read as Kafka reads it, duplicates refused", () => {
  assert.deepEqual(
    parseElectionJson(
      '{"partitions": [{"topic": "a", "partition": 1}, {"topic": "b", "partition": 0}]}',
    ),
    [{ topic: "a", partition: 1 }, { topic: "b", partition: 0 }],
  );
  assert.throws(() => parseElectionJson(""), /Replica election data is empty/);
  assert.throws(() => parseElectionJson("{}"), /missing "partitions" field/);
  assert.throws(() => parseElectionJson("{nope"), /not valid JSON/);
  assert.throws(() => parseElectionJson('{"partitions": [{"topic": "a"}]}'), /Entry 0/);
  assert.throws(
    () =>
      parseElectionJson(
        '{"partitions": [{"topic": "a", "partition": 1}, {"topic": "a", "partition": 1}]}',
      ),
    /contains duplicate partitions: \[a-1\]/,
  );
});

Deno.test("failures are printed as the Java exceptions Kafka's tool prints", () => {
  assert.equal(
    javaException(83, "Eligible topic partition leaders are not available."),
    "org.apache.kafka.common.errors.EligibleLeadersNotAvailableException: Eligible topic partition leaders are not available.",
  );
  assert.equal(
    javaException(3, "No such topic as nope"),
    "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: No such topic as nope",
  );
});
