// ACLs and SCRAM users are metadata records: created through one broker, every broker enforces
// them, and they survive kill -9 of every node (the metadata log replays them on restart).
import assert from "node:assert/strict";
import { startCluster } from "./cluster_harness.ts";
import { runCommand } from "./commands.ts";
import { runMain } from "./harness.ts";
import { Admin } from "../../net/client/admin.ts";

/** Topics kcat sees through one broker (Metadata hides what the principal may not describe). */
async function visibleTopics(address: string): Promise<string[]> {
  const out = await runCommand("kcat", ["-b", address, "-L", "-J"]);
  assert.equal(out.code, 0, out.stderr);
  const names = (JSON.parse(out.stdout) as { topics: { topic: string }[] }).topics.map((t) =>
    t.topic
  );
  return names.filter((n) => !n.startsWith("__")).sort();
}

Deno.test({
  name: "ACLs and SCRAM users reach every broker and survive kill -9 of every node",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      props: {
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "true",
      },
    });
    try {
      const [a, b] = cluster.brokers;
      const admin = new Admin({ bootstrapServers: a!.address });
      try {
        for (const name of ["open", "closed"]) {
          await admin.createTopics([{ name, numPartitions: 1, replicationFactor: 1 }]);
        }
        await admin.alterUserScramCredentials([{
          kind: "upsert",
          user: "alice",
          mechanism: "SCRAM-SHA-256",
          password: "alice-secret",
          iterations: 4096,
        }]);
      } finally {
        admin.close();
      }
      // Through broker A only: everyone but alice is denied describing "closed".
      const added = await runMain([
        "acls",
        "--bootstrap-server",
        a!.address,
        "--add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Describe",
        "--topic",
        "closed",
      ]); // deno-fmt-ignore
      assert.equal(added.code, 0, added.stderr);
      const deadline = Date.now() + 20_000;
      while ((await visibleTopics(b!.address)).includes("closed") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(await visibleTopics(b!.address), ["open"], "broker B enforces it");
      assert.deepEqual(await visibleTopics(a!.address), ["open"]);

      // kill -9 every node, then start them again: the ACL and the user come back from the log.
      for (const node of [...cluster.brokers, ...cluster.controllers]) await node.kill();
      for (const node of [...cluster.controllers, ...cluster.brokers]) await node.start();
      const again = Date.now() + 30_000;
      let seen: string[] = [];
      while (Date.now() < again) {
        seen = await visibleTopics(b!.address).catch(() => []);
        if (seen.includes("open")) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.deepEqual(seen, ["open"], "the ACL survived");
      const listed = await runMain(["acls", "--bootstrap-server", b!.address, "--list"]);
      assert.match(listed.stdout, /principal=User:alice, host=\*, operation=DESCRIBE/);
      const check = new Admin({ bootstrapServers: b!.address });
      try {
        const users = await check.describeUserScramCredentials(["alice"]);
        assert.equal(users[0]?.credentials[0]?.mechanism, "SCRAM-SHA-256", "the user survived");
      } finally {
        check.close();
      }
    } finally {
      await cluster.stop();
    }
  },
});
