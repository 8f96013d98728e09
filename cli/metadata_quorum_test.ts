import assert from "node:assert/strict";
import { createReplicaState } from "../net/protocol/generated/describe_quorum_response.ts";
import {
  formatReplication,
  formatStatus,
  newControllerFrom,
  prettyTable,
  type QuorumStatus,
} from "./metadata_quorum.ts";
import { runCli } from "./mod.ts";

function status(): QuorumStatus {
  const r = (id: number, leo: number, caughtUp: number) =>
    createReplicaState({
      replicaId: id,
      replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
      logEndOffset: BigInt(leo),
      lastFetchTimestamp: BigInt(caughtUp),
      lastCaughtUpTimestamp: BigInt(caughtUp),
    });
  return {
    clusterId: "MkU3OEVBNTcwNTJENDM2Qk",
    leaderId: 2,
    leaderEpoch: 7,
    highWatermark: 120,
    voters: [r(1, 120, 1000), r(2, 125, 1500), r(3, 110, 900)],
    observers: [r(4, 125, 1400)],
    endpoints: new Map([
      [1, ["CONTROLLER://127.0.0.1:9093"]],
      [2, ["CONTROLLER://127.0.0.1:9094"]],
      [3, ["CONTROLLER://127.0.0.1:9095"]],
    ]),
  };
}

Deno.test("describe --status prints Kafka 3.9's lines", () => {
  assert.deepEqual(formatStatus(status()), [
    "ClusterId:              MkU3OEVBNTcwNTJENDM2Qk",
    "LeaderId:               2",
    "LeaderEpoch:            7",
    "HighWatermark:          120",
    "MaxFollowerLag:         15",
    "MaxFollowerLagTimeMs:   600",
    'CurrentVoters:          [{"id": 1, "endpoints": ["CONTROLLER://127.0.0.1:9093"]}, {"id": 2, "endpoints": ["CONTROLLER://127.0.0.1:9094"]}, {"id": 3, "endpoints": ["CONTROLLER://127.0.0.1:9095"]}]',
    'CurrentObservers:       [{"id": 4}]',
  ]);
});

Deno.test("describe --replication lists the leader, followers, then observers", () => {
  const lines = formatReplication(status());
  assert.equal(
    lines[0],
    "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t",
  );
  assert.deepEqual(lines.slice(1).map((l) => l.split("\t").map((c) => c.trim())), [
    ["2", "AAAAAAAAAAAAAAAAAAAAAA", "125", "0", "1500", "1500", "Leader", ""],
    ["1", "AAAAAAAAAAAAAAAAAAAAAA", "120", "5", "1000", "1000", "Follower", ""],
    ["3", "AAAAAAAAAAAAAAAAAAAAAA", "110", "15", "900", "900", "Follower", ""],
    ["4", "AAAAAAAAAAAAAAAAAAAAAA", "125", "0", "1400", "1400", "Observer", ""],
  ]);
  const human = formatReplication(status(), true, 2000);
  assert.match(human[1]!, /\t500 ms ago\s*\t500 ms ago\s*\tLeader/);
});

Deno.test("prettyTable pads every cell and ends each with a tab", () => {
  assert.deepEqual(prettyTable(["A", "Bee"], [["10", "x"]]), ["A \tBee\t", "10\tx  \t"]);
});

Deno.test("add-controller and remove-controller check their flags before any request (KIP-853)", async () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l) };
  const b = ["--bootstrap-controller", "127.0.0.1:1"];
  assert.equal(await runCli(["metadata-quorum", ...b, "add-controller"], io), 1);
  assert.match(err.at(-1)!, /You must supply the configuration file of the controller/);
  assert.equal(await runCli(["metadata-quorum", ...b, "remove-controller", "-i", "2"], io), 1);
  assert.match(err.at(-1)!, /--controller-id and --controller-directory-id are required/);
  // Kafka documents both forms: through a broker the request is sent (here to no one).
  const viaBroker = ["--bootstrap-server", "127.0.0.1:1"];
  const remove = ["remove-controller", "-i", "2", "-d", "AAAAAAAAAAAAAAAAAAAAAA"];
  assert.equal(await runCli(["metadata-quorum", ...viaBroker, ...remove], io), 1);
  assert.match(err.at(-1)!, /^Cannot connect to 127\.0\.0\.1:1: /);
});

Deno.test("add-controller reads node.id, the controller listener and the directory id of the new controller", async () => {
  // KIP-853: kafka-metadata-quorum.sh add-controller --command-config <controller.properties>
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/controller.properties`;
    await Deno.writeTextFile(
      path,
      [
        "process.roles=controller",
        "node.id=7",
        "controller.listener.names=CONTROLLER",
        "listeners=CONTROLLER://127.0.0.1:9097",
        "controller.quorum.bootstrap.servers=127.0.0.1:9093",
        `log.dirs=${dir}/data`,
      ].join("\n"),
    );
    await Deno.mkdir(`${dir}/data`);
    await Deno.writeTextFile(
      `${dir}/data/meta.properties`,
      "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\nnode.id=7\ndirectory.id=b7tCfPnxRpOmQVrWcIAyJw\n",
    );
    const { controller, clusterId } = await newControllerFrom(path);
    assert.deepEqual(controller, {
      nodeId: 7,
      directoryId: "b7tCfPnxRpOmQVrWcIAyJw",
      listeners: [{ name: "CONTROLLER", host: "127.0.0.1", port: 9097 }],
    });
    assert.equal(clusterId, "MkU3OEVBNTcwNTJENDM2Qg");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("describe needs exactly one of --status and --replication and one bootstrap flag", async () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l) };
  const b = ["--bootstrap-server", "127.0.0.1:1"];
  assert.equal(await runCli(["metadata-quorum", ...b, "describe"], io), 1);
  assert.match(err.at(-1)!, /One of --status or --replication must be specified/);
  assert.equal(
    await runCli(["metadata-quorum", ...b, "describe", "--status", "--replication"], io),
    1,
  );
  assert.match(err.at(-1)!, /Only one of --status or --replication/);
  assert.equal(
    await runCli(
      ["metadata-quorum", ...b, "--bootstrap-controller", "x:1", "describe", "--status"],
      io,
    ),
    1,
  );
  assert.match(err.at(-1)!, /cannot be used together/);
  assert.equal(await runCli(["metadata-quorum", "describe", "--status"], io), 1);
  assert.match(err.at(-1)!, /one of --bootstrap-server or --bootstrap-controller is required/);
});
