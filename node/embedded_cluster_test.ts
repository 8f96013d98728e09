// The embedded cluster runs real nodes in this process; Deno's op and resource sanitizers stay on,
// so a socket, timer or file left open after close() fails these tests.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { tmpdir } from "node:os";
import { Admin } from "../net/client/admin.ts";
import { Producer } from "../net/client/producer.ts";
import { Consumer } from "../net/client/consumer.ts";
import { startCluster } from "./embedded_cluster.ts";

function portIsFree(address: string): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: Number(address.split(":")[1]) }).close();
    return true;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function embeddedRoots(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(tmpdir())) {
    if (entry.name.startsWith("kraftling-embedded-")) names.push(entry.name);
  }
  return names.sort();
}

Deno.test("startCluster() with no options is one combined node that serves clients, and await using removes it", async () => {
  let dir = "";
  let addresses: string[] = [];
  {
    await using cluster = await startCluster();
    dir = cluster.dir;
    deepEqual(cluster.nodes.map((n) => [n.nodeId, n.role]), [[1, "combined"]]);
    addresses = [cluster.nodes[0]!.brokerAddress!, cluster.nodes[0]!.controllerAddress!];
    equal(cluster.bootstrapServers, addresses[0]);
    const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
    await admin.createTopics([{ name: "orders", numPartitions: 2, replicationFactor: 1 }]);
    admin.close();
    const producer = new Producer({ bootstrapServers: cluster.bootstrapServers, acks: -1 });
    const sent = await producer.send({ topic: "orders", key: "k", value: "v" });
    equal(sent.offset, 0n);
    await producer.close();
  }
  ok(!(await exists(dir)), `${dir} was left behind`);
  for (const address of addresses) ok(portIsFree(address), `${address} is still bound`);
});

Deno.test("node ids follow deno task cluster, and fault injection names only nodes of the right role", async () => {
  const cluster = await startCluster({ controllers: 2, brokers: 2 });
  try {
    deepEqual(cluster.nodes.map((n) => `${n.role}-${n.nodeId}`), [
      "controller-1",
      "controller-2",
      "broker-3",
      "broker-4",
    ]);
    equal(cluster.bootstrapServers.split(",").length, 2);
    equal(cluster.bootstrapControllers.split(",").length, 2);
    await rejects(
      cluster.stopBroker(1),
      /Node 1 is not a broker of this cluster \(brokers: 3, 4\)/,
    );
    await rejects(cluster.stopController(3), /Node 3 is not a controller/);
    await cluster.stopController(2);
    equal(cluster.nodes.find((n) => n.nodeId === 2)!.running, false);
    ok(portIsFree(cluster.nodes[1]!.controllerAddress!), "a stopped controller frees its port");
    await cluster.startController(2);
    equal(cluster.nodes.find((n) => n.nodeId === 2)!.running, true);
  } finally {
    await cluster.close();
  }
  await cluster.close(); // a second close is harmless
  await rejects(cluster.stopBroker(3), /closed/);
});

Deno.test("a stopped broker comes back on its old port with its data, and serves it as leader", async () => {
  await using cluster = await startCluster({ controllers: 1, brokers: 2 });
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
  const isrOf = async () => (await admin.describeTopics(["kept"]))[0]!.partitions[0]!.isr;
  try {
    await admin.createTopics([{ name: "kept", numPartitions: 1, replicationFactor: 2 }]);
    const producer = new Producer({ bootstrapServers: cluster.bootstrapServers, acks: -1 });
    await producer.send({ topic: "kept", value: "before" });
    await producer.close();
    const address = cluster.nodes.find((n) => n.nodeId === 3)!.brokerAddress!;
    await cluster.stopBroker(3);
    ok(portIsFree(address), "a stopped broker frees its port");
    await cluster.startBroker(3);
    ok(!portIsFree(address), "the restarted broker listens on its old port");
    const deadline = Date.now() + 15_000;
    while (!(await isrOf()).includes(3)) {
      ok(Date.now() < deadline, "broker 3 did not rejoin the ISR within 15 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // With broker 2 gone, only broker 3's own log can answer.
    await cluster.stopBroker(2);
    const consumer = new Consumer({ bootstrapServers: address });
    try {
      consumer.assign([{ topic: "kept", partition: 0, offset: "earliest" }]);
      let values: string[] = [];
      while (values.length === 0) {
        ok(Date.now() < deadline, "broker 3 served nothing within 15 s");
        const records = await consumer.poll({ timeoutMs: 500 });
        values = records.map((r) => new TextDecoder().decode(r.value!));
      }
      deepEqual(values, ["before"]);
    } finally {
      await consumer.close();
    }
  } finally {
    admin.close();
  }
});

Deno.test("startCluster refuses bad counts and config in one line and leaves no directory", async () => {
  const before = await embeddedRoots();
  await rejects(
    startCluster({ controllers: 0, brokers: 1 }),
    /startCluster: controllers must be an integer from 1 to 32, got 0/,
  );
  await rejects(startCluster({ brokers: 1.5 }), /brokers must be an integer/);
  await rejects(
    startCluster({ overrides: { "num.partitions": "many" } }),
    /num\.partitions/,
  );
  deepEqual(await embeddedRoots(), before);
});
