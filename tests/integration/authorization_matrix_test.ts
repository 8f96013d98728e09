// The authorization matrix against a real node (issue #12): for each API a client sends, a SASL
// user without the ACL Kafka requires is refused with Kafka's error code, and the same call goes
// through once that ACL is added with the `acls` subcommand (kafka-acls.sh flags). Every case has
// its own resource, so an ACL granted for one case cannot let another pass. The rule-by-rule matrix
// over every API key lives beside the guard (net/handlers/authorization_test.ts); this test shows
// the same answers reach real connections, through the metadata log, from the CLI.
import assert from "node:assert/strict";
import { freePort, runMain, startNode } from "./harness.ts";
import { Admin, ResourceType } from "../../net/client/admin.ts";
import { Producer } from "../../net/client/producer.ts";
import { Consumer } from "../../net/client/consumer.ts";
import { KafkaError } from "../../net/protocol/errors.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;

/** The Kafka error code a call failed with, or null when it succeeded. */
async function outcome(call: () => Promise<unknown>): Promise<number | null> {
  try {
    await call();
    return null;
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    // Clients wrap a refusal met during a retry loop; the Kafka error is the cause.
    const cause = (error as Error).cause;
    if (cause instanceof KafkaError) return cause.code;
    throw error;
  }
}

/** Throws the first per-partition error of a listOffsets/deleteRecords answer. */
function firstError(results: readonly { error?: KafkaError }[]): void {
  const failed = results.find((r) => r.error !== undefined);
  if (failed !== undefined) throw failed.error;
}

interface MatrixCase {
  api: string;
  /** `acls --add --allow-principal User:bob` flags that grant exactly what the call needs. */
  grant: string[];
  /** The codes Kafka answers without the grant (the first check a client meets decides). */
  refused: number[];
  call: () => Promise<unknown>;
}

Deno.test({
  name:
    "each API refuses a SASL user without the ACL Kafka requires and serves it once the acls tool adds that ACL",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
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
          'username="admin" password="admin-secret" user_bob="bob-secret";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        // The node itself and this test's administrator use PLAINTEXT, as User:ANONYMOUS.
        "super.users": "User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
      },
    });
    const plain = `127.0.0.1:${plainPort}`;
    const bobOptions = {
      bootstrapServers: `127.0.0.1:${saslPort}`,
      sasl: { mechanism: "PLAIN" as const, username: "bob", password: "bob-secret" },
      retries: 0,
    };
    const admin = new Admin({ bootstrapServers: plain });
    const bob = new Admin(bobOptions);
    const closers: (() => Promise<void> | void)[] = [() => admin.close(), () => bob.close()];
    try {
      const topics = [
        "mx-describe",
        "mx-produce",
        "mx-list",
        "mx-dc",
        "mx-ac",
        "mx-cp",
        "mx-dr",
        "mx-del",
        "mx-read",
      ];
      await admin.createTopics(
        topics.map((name) => ({ name, numPartitions: 1, replicationFactor: 1 })),
      );
      const seed = new Producer({ bootstrapServers: plain });
      await seed.send({ topic: "mx-read", value: "r0" });
      await seed.send({ topic: "mx-dr", value: "d0" });
      await seed.close();
      // Groups with committed offsets, for the group cases.
      for (const group of ["mx-g-describe", "mx-g-offsets"]) {
        await admin.alterConsumerGroupOffsets(group, [{
          topic: "mx-read",
          partition: 0,
          offset: 1,
        }]);
      }

      const cases: MatrixCase[] = [
        {
          api: "Metadata (describe a topic)",
          grant: ["--operation", "Describe", "--topic", "mx-describe"],
          refused: [TOPIC_DENIED],
          call: () => bob.describeTopics(["mx-describe"]),
        },
        {
          api: "CreateTopics",
          grant: ["--operation", "Create", "--topic", "mx-created"],
          refused: [TOPIC_DENIED],
          call: () =>
            bob.createTopics([{ name: "mx-created", numPartitions: 1, replicationFactor: 1 }]),
        },
        {
          api: "Produce (idempotent)",
          grant: ["--producer", "--topic", "mx-produce"],
          refused: [TOPIC_DENIED, CLUSTER_DENIED],
          call: async () => {
            const producer = new Producer(bobOptions);
            try {
              await producer.send({ topic: "mx-produce", value: "p" });
            } finally {
              await producer.close();
            }
          },
        },
        {
          api: "ListOffsets",
          grant: ["--operation", "Describe", "--topic", "mx-list"],
          refused: [TOPIC_DENIED],
          call: async () =>
            firstError(await bob.listOffsets([{ topic: "mx-list", partition: 0, spec: "latest" }])),
        },
        {
          api: "DescribeConfigs (topic)",
          grant: ["--operation", "DescribeConfigs", "--topic", "mx-dc"],
          refused: [TOPIC_DENIED],
          call: () => bob.describeConfigs([{ type: ResourceType.TOPIC, name: "mx-dc" }]),
        },
        {
          api: "IncrementalAlterConfigs (topic)",
          grant: ["--operation", "AlterConfigs", "--topic", "mx-ac"],
          refused: [TOPIC_DENIED],
          call: () =>
            bob.alterConfigs([{
              type: ResourceType.TOPIC,
              name: "mx-ac",
              set: { "retention.ms": "3600000" },
            }]),
        },
        {
          api: "CreatePartitions",
          grant: ["--operation", "Alter", "--topic", "mx-cp"],
          refused: [TOPIC_DENIED],
          call: () => bob.createPartitions([{ topic: "mx-cp", count: 2 }]),
        },
        {
          api: "DeleteRecords",
          grant: ["--operation", "Delete", "--topic", "mx-dr"],
          refused: [TOPIC_DENIED],
          call: async () =>
            firstError(await bob.deleteRecords([{ topic: "mx-dr", partition: 0, offset: 1 }])),
        },
        {
          api: "DeleteTopics",
          grant: ["--operation", "Delete", "--topic", "mx-del"],
          refused: [TOPIC_DENIED],
          call: () => bob.deleteTopics(["mx-del"]),
        },
        {
          api: "FindCoordinator/JoinGroup/SyncGroup/OffsetCommit/Fetch (a consumer in a group)",
          grant: ["--consumer", "--topic", "mx-read", "--group", "mx-g-consume"],
          refused: [GROUP_DENIED],
          call: async () => {
            const consumer = new Consumer({
              ...bobOptions,
              groupId: "mx-g-consume",
              autoOffsetReset: "earliest",
            });
            try {
              consumer.subscribe(["mx-read"]);
              const deadline = Date.now() + 20_000;
              let got = 0;
              while (got === 0 && Date.now() < deadline) {
                got += (await consumer.poll({ timeoutMs: 500 })).length;
              }
              assert.equal(got, 1, "the consumer read nothing");
              await consumer.commit();
            } finally {
              await consumer.close();
            }
          },
        },
        {
          api: "DescribeGroups",
          grant: ["--operation", "Describe", "--group", "mx-g-describe"],
          refused: [GROUP_DENIED],
          call: () => bob.describeGroups(["mx-g-describe"]),
        },
        {
          api: "OffsetFetch",
          grant: [
            "--operation",
            "Describe",
            "--group",
            "mx-g-offsets",
            "--topic",
            "mx-read",
          ],
          refused: [GROUP_DENIED],
          call: async () => {
            const offsets = await bob.listConsumerGroupOffsets("mx-g-offsets");
            assert.equal(offsets.find((o) => o.topic === "mx-read")?.offset, 1);
          },
        },
        {
          api: "DescribeClientQuotas",
          grant: ["--operation", "DescribeConfigs", "--cluster"],
          refused: [CLUSTER_DENIED],
          call: () => bob.describeClientQuotas([]),
        },
        {
          api: "AlterClientQuotas",
          grant: ["--operation", "AlterConfigs", "--cluster"],
          refused: [CLUSTER_DENIED],
          call: () =>
            bob.alterClientQuotas(
              [{ entityType: "client-id", entityName: "mx" }],
              new Map([["producer_byte_rate", 1_000_000]]),
            ),
        },
        {
          api: "DescribeAcls",
          grant: ["--operation", "Describe", "--cluster"],
          refused: [CLUSTER_DENIED],
          call: () =>
            bob.describeAcls({
              resourceType: 1, // ANY
              resourceName: null,
              patternType: 1, // ANY
              principal: null,
              host: null,
              operation: 1, // ANY
              permissionType: 1, // ANY
            }),
        },
        {
          api: "CreateAcls",
          grant: ["--operation", "Alter", "--cluster"],
          refused: [CLUSTER_DENIED],
          call: () =>
            bob.createAcls([{
              resourceType: 2,
              resourceName: "mx-by-bob",
              patternType: 3,
              principal: "User:carol",
              host: "*",
              operation: 3,
              permissionType: 3,
            }]),
        },
      ];

      for (const c of cases) {
        await t.step(c.api, async () => {
          const before = await outcome(c.call);
          assert.ok(
            before !== null && c.refused.includes(before),
            `${c.api} without an ACL answered ${before} (want one of ${c.refused.join(", ")})`,
          );
          const added = await runMain([
            "acls",
            "--bootstrap-server",
            plain,
            "--add",
            "--allow-principal",
            "User:bob",
            ...c.grant,
          ]);
          assert.equal(added.code, 0, added.stderr + added.stdout);
          // The ACL reaches the authorizer through the metadata log: allow a moment.
          let after: number | null = before;
          for (let i = 0; i < 50 && after !== null; i++) {
            after = await outcome(c.call);
            if (after !== null) await new Promise((r) => setTimeout(r, 100));
          }
          assert.equal(after, null, `${c.api} still refused (${after}) after acls --add`);
        });
      }
    } finally {
      for (const close of closers) await close();
      await node.stop();
    }
  },
});
