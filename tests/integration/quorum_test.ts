/**
 * A real multi-process KRaft cluster on loopback: three controller-only processes (the voters)
 * and one broker-only process (an observer of `__cluster_metadata`), each `deno run -A main.ts
 * server-start` on a formatted temp directory and free ports. Checks election, failover after
 * kill -9 of the active controller, that no acknowledged topic is lost, and that the killed
 * controller rejoins (KIP-500, KIP-595).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { freePort, REPO_ROOT, runMain } from "./harness.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { DescribeQuorumResponse } from "../../net/protocol/generated/describe_quorum_response.ts";

/** How long a process may take to log that it started, in milliseconds. */
const START_TIMEOUT_MS = 60_000;
/** How long an election (or failover) may take, in milliseconds. */
const ELECTION_TIMEOUT_MS = 30_000;

/** The node composition refuses multi-voter quorums until the raft transport is wired in. */
const WIRED = !Deno.readTextFileSync(join(REPO_ROOT, "node", "node.ts"))
  .includes("only a single-voter quorum is supported yet");

interface ClusterProcess {
  readonly nodeId: number;
  readonly dir: string;
  logs(): string;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function spawnable(nodeId: number, dir: string, propertiesPath: string): ClusterProcess {
  let child: Deno.ChildProcess | null = null;
  let output = "";
  let pump: Promise<void> = Promise.resolve();
  let incarnation = 0;
  const marker = `Kafka node ${nodeId} started`;
  const waitExit = async () => {
    if (child === null) return;
    await child.status;
    await pump;
    child = null;
  };
  return {
    nodeId,
    dir,
    logs: () => output,
    async start() {
      incarnation++;
      const process = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(REPO_ROOT, "main.ts"), "server-start", propertiesPath],
        cwd: REPO_ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      child = process;
      const decoder = new TextDecoder();
      let started!: () => void;
      const startedPromise = new Promise<void>((resolve) => (started = resolve));
      const seenBefore = output.split(marker).length - 1;
      const read = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) {
          output += decoder.decode(chunk, { stream: true });
          if (output.split(marker).length - 1 > seenBefore) started();
        }
      };
      pump = Promise.all([read(process.stdout), read(process.stderr)]).then(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = process.status.then((s) => {
        throw new Error(`node ${nodeId} exited with code ${s.code} before starting:\n${output}`);
      });
      try {
        await Promise.race([
          startedPromise,
          exited,
          new Promise((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new Error(
                    `node ${nodeId} (incarnation ${incarnation}) did not start within ${START_TIMEOUT_MS} ms:\n${output}`,
                  ),
                ),
              START_TIMEOUT_MS,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        exited.catch(() => {});
      }
    },
    async kill() {
      try {
        child?.kill("SIGKILL");
      } catch { /* already exited */ }
      await waitExit();
    },
    async stop() {
      try {
        child?.kill("SIGTERM");
      } catch { /* already exited */ }
      const timer = setTimeout(() => {
        try {
          child?.kill("SIGKILL");
        } catch { /* already exited */ }
      }, 15_000);
      await waitExit();
      clearTimeout(timer);
    },
  };
}

async function writeProps(path: string, props: Record<string, string>): Promise<void> {
  await Deno.writeTextFile(
    path,
    Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
  );
}

/** DescribeQuorum asked of one controller; null when it cannot be reached. */
async function describeQuorum(port: number): Promise<DescribeQuorumResponse | null> {
  let conn: KafkaConnection | null = null;
  try {
    conn = await KafkaConnection.connect("127.0.0.1", port, {
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
    });
    return await conn.send<DescribeQuorumResponse>(ApiKey.DESCRIBE_QUORUM, {
      topics: [{
        topicName: "__cluster_metadata",
        partitions: [{ partitionIndex: 0, _unknownTaggedFields: [] }],
        _unknownTaggedFields: [],
      }],
    });
  } catch {
    return null;
  } finally {
    conn?.close();
  }
}

/** Polls the controllers until one reports itself leader (other than `not`); returns its id. */
async function waitForLeader(
  ports: ReadonlyMap<number, number>,
  options: { not?: number } = {},
): Promise<number> {
  const deadline = Date.now() + ELECTION_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const [nodeId, port] of ports) {
      if (nodeId === options.not) continue;
      const partition = (await describeQuorum(port))?.topics[0]?.partitions[0];
      if (partition?.errorCode === ErrorCode.NONE && partition.leaderId === nodeId) return nodeId;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`No controller became leader within ${ELECTION_TIMEOUT_MS} ms`);
}

/** Retries `fn` (bounded by `timeoutMs`) while the cluster fails over. */
async function retrying<T>(fn: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`${what} did not succeed within ${timeoutMs} ms: ${lastError}`);
}

Deno.test({
  name: "three controllers and a broker elect, fail over after kill -9, lose no topic, and rejoin",
  ignore: !WIRED,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "kraftling-quorum-" });
    const controllerPorts = new Map([1, 2, 3].map((id) => [id, freePort()]));
    const brokerPort = freePort();
    const voters = [...controllerPorts].map(([id, port]) => `${id}@127.0.0.1:${port}`).join(",");
    const common = {
      "controller.quorum.voters": voters,
      "controller.listener.names": "CONTROLLER",
      "controller.quorum.election.timeout.ms": "500",
      "controller.quorum.fetch.timeout.ms": "1000",
      "offsets.topic.replication.factor": "1",
      "offsets.topic.num.partitions": "4",
    };
    const clusterId = (await runMain(["storage", "random-uuid"])).stdout.trim();
    const processes = new Map<number, ClusterProcess>();
    for (const nodeId of [1, 2, 3, 4]) {
      const dir = join(root, `node-${nodeId}`);
      await Deno.mkdir(dir, { recursive: true });
      const props: Record<string, string> = nodeId === 4
        ? {
          ...common,
          "process.roles": "broker",
          "node.id": "4",
          "listeners": `PLAINTEXT://127.0.0.1:${brokerPort}`,
          "advertised.listeners": `PLAINTEXT://127.0.0.1:${brokerPort}`,
          "log.dirs": join(dir, "logs"),
        }
        : {
          ...common,
          "process.roles": "controller",
          "node.id": `${nodeId}`,
          "listeners": `CONTROLLER://127.0.0.1:${controllerPorts.get(nodeId)}`,
          "log.dirs": join(dir, "logs"),
        };
      const path = join(dir, "server.properties");
      await writeProps(path, props);
      const format = await runMain(["storage", "format", "-t", clusterId, "-c", path]);
      assert.equal(format.code, 0, format.stderr);
      processes.set(nodeId, spawnable(nodeId, dir, path));
    }
    const kafka = new Kafka({
      clientId: "kraftling-quorum-test",
      brokers: [`127.0.0.1:${brokerPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    const admin = kafka.admin();
    try {
      await Promise.all([...processes.values()].map((p) => p.start()));
      const first = await waitForLeader(controllerPorts);

      await admin.connect();
      await retrying(
        () => admin.createTopics({ topics: [{ topic: "alpha", numPartitions: 2 }] }),
        30_000,
        "creating alpha",
      );
      assert.deepEqual((await admin.listTopics()).sort(), ["alpha"]);

      // kill -9 the active controller: the survivors elect a new one (KIP-595).
      await processes.get(first)!.kill();
      const second = await waitForLeader(controllerPorts, { not: first });
      assert.notEqual(second, first);
      await retrying(
        () => admin.createTopics({ topics: [{ topic: "beta", numPartitions: 1 }] }),
        30_000,
        "creating beta after failover",
      );
      const topics = await retrying(
        async () => {
          const names = (await admin.listTopics()).sort();
          assert.deepEqual(names, ["alpha", "beta"]);
          return names;
        },
        15_000,
        "listing alpha and beta",
      );
      assert.deepEqual(topics, ["alpha", "beta"]);

      // The killed controller restarts and catches up as a follower of the new leader.
      await processes.get(first)!.start();
      await retrying(
        async () => {
          const leader = (await describeQuorum(controllerPorts.get(second)!))!.topics[0]!
            .partitions[0]!;
          const rejoined = leader.currentVoters.find((v) => v.replicaId === first);
          assert.ok(rejoined && rejoined.logEndOffset >= leader.highWatermark);
          const follower = (await describeQuorum(controllerPorts.get(first)!))!.topics[0]!
            .partitions[0]!;
          assert.equal(follower.leaderId, second);
        },
        30_000,
        `node ${first} rejoining`,
      );
      const described = await admin.fetchTopicMetadata({ topics: ["alpha", "beta"] });
      assert.deepEqual(described.topics.map((t) => t.partitions.length).sort(), [1, 2]);
    } catch (error) {
      for (const p of processes.values()) {
        console.error(`---- node ${p.nodeId} ----\n${p.logs().slice(-4000)}`);
      }
      throw error;
    } finally {
      await admin.disconnect().catch(() => {});
      // Stop the broker first so its controlled shutdown finds a controller.
      await processes.get(4)?.stop();
      await Promise.all([1, 2, 3].map((id) => processes.get(id)?.stop()));
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

if (!WIRED) {
  console.warn(
    "quorum_test: skipped: node/node.ts still refuses multi-voter quorums (checkSupportedTopology); wire node/raft_transport.ts in first",
  );
}
