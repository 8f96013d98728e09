// ACLs end to end on a real node with authorizer.class.name=StandardAuthorizer: the `acls`
// subcommand (kafka-acls.sh flags) adds, lists and removes ACLs; kcat and confluent-kafka
// (librdkafka) see topics hidden, produce and consume refused with Kafka's authorization errors,
// and a group denied. Connections are PLAINTEXT, so every client is User:ANONYMOUS; with
// allow.everyone.if.no.acl.found=true the cluster and unnamed resources stay open, as in Kafka.
import assert from "node:assert/strict";
import { freePort, runMain, startNode, type TestNode } from "./harness.ts";
import { runCommand } from "./commands.ts";
import { Admin } from "../../net/client/admin.ts";

async function acls(bootstrap: string, ...args: string[]) {
  const out = await runMain(["acls", "--bootstrap-server", bootstrap, ...args]);
  assert.equal(out.code, 0, `acls ${args.join(" ")} failed: ${out.stderr}${out.stdout}`);
  return out.stdout;
}

async function kcat(...args: string[]) {
  return await runCommand("kcat", args, { stdin: "" });
}

Deno.test({
  name: "ACLs hide, refuse and allow as Kafka's StandardAuthorizer, managed with the acls command",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    let node: TestNode | undefined;
    try {
      node = await startNode({
        props: {
          "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
          "allow.everyone.if.no.acl.found": "true",
        },
      });
      const b = node.bootstrap;
      const admin = new Admin({ bootstrapServers: b });
      try {
        for (const name of ["open", "secret", "pub-a", "closed"]) {
          await admin.createTopics([{ name, numPartitions: 1, replicationFactor: 1 }]);
        }
      } finally {
        admin.close();
      }

      await t.step("a topic only alice may read is hidden from others and refused", async () => {
        const added = await acls(
          b,
          "--add",
          "--allow-principal",
          "User:alice",
          "--operation",
          "Read",
          "--topic",
          "secret",
        );
        assert.match(
          added,
          /Adding ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=secret, patternType=LITERAL\)`: \n \t\(principal=User:alice, host=\*, operation=READ, permissionType=ALLOW\)/,
        );
        const listed = await kcat("-b", b, "-L");
        assert.match(listed.stdout, /topic "open"/);
        assert.doesNotMatch(listed.stdout, /topic "secret"/);
        const read = await kcat("-b", b, "-C", "-t", "secret", "-o", "beginning", "-e");
        assert.match(read.stderr, /Topic authorization failed/);
      });

      await t.step("a DENY of WRITE refuses produce with TOPIC_AUTHORIZATION_FAILED", async () => {
        await acls(
          b,
          "--add",
          "--deny-principal",
          "User:ANONYMOUS",
          "--operation",
          "Write",
          "--topic",
          "closed",
        );
        const produced = await runCommand("kcat", ["-b", b, "-P", "-t", "closed"], {
          stdin: "one\n",
        });
        assert.match(produced.stderr, /Topic authorization failed/);
      });

      await t.step("a PREFIXED ALLOW opens every topic it names", async () => {
        await acls(
          b,
          "--add",
          "--allow-principal",
          "User:ANONYMOUS",
          "--producer",
          "--consumer",
          "--topic",
          "pub-",
          "--group",
          "g-pub",
          "--resource-pattern-type",
          "prefixed",
        );
        const produced = await runCommand("kcat", ["-b", b, "-P", "-t", "pub-a"], {
          stdin: "hello\n",
        });
        assert.equal(produced.code, 0, produced.stderr);
        const read = await kcat("-b", b, "-C", "-t", "pub-a", "-o", "beginning", "-e");
        assert.match(read.stdout, /hello/);
      });

      await t.step(
        "a group denied to a consumer fails it with GROUP_AUTHORIZATION_FAILED",
        async () => {
          await acls(
            b,
            "--add",
            "--deny-principal",
            "User:ANONYMOUS",
            "--operation",
            "Read",
            "--group",
            "blocked",
          );
          const script = `
import json, sys, time
from confluent_kafka import Consumer, KafkaException
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "blocked",
              "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
c.subscribe(["open"])
error = None
deadline = time.time() + 20
while time.time() < deadline and error is None:
    m = c.poll(0.5)
    if m is not None and m.error() is not None:
        error = m.error().name()
print(json.dumps({"error": error}))
`;
          const out = await runCommand("/usr/bin/python3", ["-c", script, b], {
            timeoutMs: 40_000,
          });
          assert.equal(out.code, 0, out.stderr);
          assert.deepEqual(JSON.parse(out.stdout), { error: "GROUP_AUTHORIZATION_FAILED" });
        },
      );

      await t.step("--list shows every ACL and --remove takes them away", async () => {
        const listed = await acls(b, "--list");
        for (const name of ["secret", "closed", "pub-", "blocked"]) {
          assert.match(listed, new RegExp(`name=${name}, `));
        }
        assert.match(listed, /patternType=PREFIXED/);
        await acls(b, "--remove", "--force", "--topic", "secret");
        const after = await acls(b, "--list", "--topic", "secret");
        assert.equal(after.trim(), "");
        const read = await kcat("-b", b, "-L", "-t", "secret");
        assert.match(read.stdout, /topic "secret"/);
      });

      await t.step("bad ACLs are refused in one line", async () => {
        const bad = await runMain([
          "acls",
          "--bootstrap-server",
          b,
          "--add",
          "--allow-principal",
          "alice",
          "--topic",
          "x",
        ]);
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /Invalid principal alice/);
        const wrongOp = await runMain([
          "acls",
          "--bootstrap-server",
          b,
          "--add",
          "--allow-principal",
          "User:a",
          "--operation",
          "ClusterAction",
          "--topic",
          "x",
        ]);
        assert.equal(wrongOp.code, 1);
        assert.match(wrongOp.stderr, /only supports operations/);
      });
    } catch (error) {
      if (node !== undefined) console.error(node.logs().slice(-8000));
      throw error;
    } finally {
      await node?.stop();
    }
  },
});

Deno.test({
  name: "without an authorizer the ACL APIs answer SECURITY_DISABLED",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const node = await startNode();
    try {
      const out = await runMain(["acls", "--bootstrap-server", node.bootstrap, "--list"]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /No Authorizer is configured/);
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name: "SASL users get what their ACLs grant: alice reads and writes orders, bob is refused",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const plainPort = freePort();
    const saslPort = freePort();
    const controllerPort = freePort();
    const node = await startNode({
      props: {
        "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
        "listeners":
          `PLAINTEXT://127.0.0.1:${plainPort},SASL_PLAINTEXT://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
        "advertised.listeners":
          `PLAINTEXT://127.0.0.1:${plainPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
        "listener.security.protocol.map":
          "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config":
          "org.apache.kafka.common.security.plain.PlainLoginModule required " +
          'username="admin" password="admin-secret" user_alice="alice-secret" user_bob="bob-secret";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        // The brokers (and this test's admin) use the PLAINTEXT listener as User:ANONYMOUS.
        "super.users": "User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
      },
    });
    const sasl = (user: string) => [
      "-b",
      `127.0.0.1:${saslPort}`,
      "-X",
      "security.protocol=SASL_PLAINTEXT",
      "-X",
      "sasl.mechanism=PLAIN",
      "-X",
      `sasl.username=${user}`,
      "-X",
      `sasl.password=${user}-secret`,
    ];
    try {
      const b = `127.0.0.1:${plainPort}`;
      const admin = new Admin({ bootstrapServers: b });
      try {
        await admin.createTopics([{ name: "orders", numPartitions: 1, replicationFactor: 1 }]);
      } finally {
        admin.close();
      }
      await acls(
        b,
        "--add",
        "--allow-principal",
        "User:alice",
        "--producer",
        "--consumer",
        "--topic",
        "orders",
        "--group",
        "alice-app",
      );
      const produced = await runCommand("kcat", [...sasl("alice"), "-P", "-t", "orders"], {
        stdin: "from-alice\n",
      });
      assert.equal(produced.code, 0, produced.stderr);
      const read = await runCommand("kcat", [
        ...sasl("alice"),
        "-C",
        "-t",
        "orders",
        "-o",
        "beginning",
        "-e",
      ]);
      assert.match(read.stdout, /from-alice/);
      const bobList = await runCommand("kcat", [...sasl("bob"), "-L"]);
      assert.doesNotMatch(bobList.stdout, /topic "orders"/, "bob does not see orders");
      const bobWrite = await runCommand("kcat", [...sasl("bob"), "-P", "-t", "orders"], {
        stdin: "from-bob\n",
      });
      assert.match(bobWrite.stderr, /authorization failed/i);
    } catch (error) {
      console.error(node.logs().slice(-8000));
      throw error;
    } finally {
      await node.stop();
    }
  },
});
