// SASL_PLAINTEXT listeners against real clients: kcat and confluent-kafka (librdkafka 2.0,
// SaslHandshake v1 + SaslAuthenticate), librdkafka 2.15 (@confluentinc/kafka-javascript), KafkaJS,
// and kafka-python (SaslHandshake v0, then bare tokens) produce and consume with PLAIN (users from
// the listener's PlainLoginModule) and SCRAM-SHA-256/512 (users bootstrapped with
// `storage format --add-scram`, KIP-900, and added with `configs --entity-type users`, KIP-554);
// a wrong password fails with the client's normal authentication error and never reaches a log,
// an unauthenticated request closes only its own connection, and the PLAINTEXT listener beside it
// keeps serving.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { freePort, hasCommand, hasPythonModule, startNode, type TestNode } from "./harness.ts";
import { checkCommand, runCommand } from "./commands.ts";
import { startCluster } from "./cluster_harness.ts";
import { Kafka, logLevel } from "kafkajs";
import { join } from "node:path";
import { REPO_ROOT, runMain } from "./harness.ts";
import { ConnectionError, KafkaConnection } from "../../net/connection.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { SaslHandshakeResponse } from "../../net/protocol/generated/sasl_handshake_response.ts";
import type { SaslAuthenticateResponse } from "../../net/protocol/generated/sasl_authenticate_response.ts";

const noKcat = !hasCommand("kcat");
const noConfluent = !hasPythonModule("confluent_kafka");
const noKafkaPython = !hasPythonModule("kafka");
const CKJS_DIR = Deno.env.get("KRAFTLING_CKJS_DIR") ?? "/var/cache/kraftling-ckjs";
const noCkjs =
  !exists(join(CKJS_DIR, "node_modules/@confluentinc/kafka-javascript/build/Release")) ||
  !exists("/usr/bin/node");
if (noKcat) console.warn("sasl_test: kcat tests skipped (kcat not installed)");
if (noCkjs) console.warn(`sasl_test: librdkafka 2.15 test skipped (not built in ${CKJS_DIR})`);

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
if (noConfluent) console.warn("sasl_test: confluent-kafka tests skipped (python3-confluent-kafka)");
if (noKafkaPython) console.warn("sasl_test: kafka-python tests skipped (python3-kafka)");

const PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob-secret";';

/** A combined node with a PLAINTEXT and a SASL_PLAINTEXT listener; alice is a SCRAM user. */
async function startSaslNode(extra: Record<string, string> = {}): Promise<{
  node: TestNode;
  saslPort: number;
  plainPort: number;
}> {
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
      "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
      "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
      ...extra,
    },
    formatArgs: [
      "--add-scram",
      "SCRAM-SHA-256=[name=alice,password=alice-secret]",
      "--add-scram",
      "SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=8192]",
    ],
  });
  return { node, saslPort, plainPort };
}

const kcatSasl = (port: number, mechanism: string, user: string, password: string) => [
  "-b",
  `127.0.0.1:${port}`,
  "-X",
  "security.protocol=SASL_PLAINTEXT",
  "-X",
  `sasl.mechanism=${mechanism}`,
  "-X",
  `sasl.username=${user}`,
  "-X",
  `sasl.password=${password}`,
];

const CONFLUENT_ROUND_TRIP = `
import sys, json
from confluent_kafka import Producer, Consumer
bootstrap, mechanism, user, password, topic = sys.argv[1:6]
sasl = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}
p = Producer(dict(sasl, acks="all"))
acked = []
for i in range(50):
    p.produce(topic, value=b"v%d" % i, callback=lambda e, m: acked.append(e is None))
p.flush(30)
c = Consumer(dict(sasl, **{"group.id": "sasl-group-" + mechanism, "auto.offset.reset": "earliest"}))
c.subscribe([topic])
got = []
for _ in range(100):
    m = c.poll(1.0)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
    if len(got) >= 50:
        break
c.close()
print(json.dumps({"acked": sum(acked), "consumed": len(got)}))
`;

const CONFLUENT_WRONG_PASSWORD = `
import sys, json
from confluent_kafka.admin import AdminClient
bootstrap, mechanism = sys.argv[1:3]
errors = []
a = AdminClient({"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
                 "sasl.mechanism": mechanism, "sasl.username": "alice", "sasl.password": "wrong",
                 "error_cb": lambda e: errors.append(str(e))})
try:
    a.list_topics(timeout=5)
except Exception as e:
    errors.append(str(e))
print(json.dumps({"errors": errors}))
`;

const KAFKA_PYTHON_ROUND_TRIP = `
import sys, json
from kafka import KafkaProducer, KafkaConsumer
bootstrap, mechanism, user, password, topic = sys.argv[1:6]
sasl = dict(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
p = KafkaProducer(acks="all", **sasl)
futures = [p.send(topic, b"kp%d" % i) for i in range(30)]
acked = sum(1 for f in futures if f.get(timeout=30) is not None)
p.close()
c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                  group_id="kp-sasl-" + mechanism, **sasl)
got = [m.value.decode() for m in c]
c.close()
print(json.dumps({"acked": acked, "consumed": len(got)}))
`;

const KAFKA_PYTHON_WRONG_PASSWORD = `
import sys, json
from kafka import KafkaProducer
bootstrap, mechanism = sys.argv[1:3]
try:
    KafkaProducer(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism=mechanism, sasl_plain_username="alice",
                  sasl_plain_password="wrong", request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
    print(json.dumps({"error": None}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
`;

async function python(script: string, args: string[]): Promise<Record<string, unknown>> {
  const out = await checkCommand("/usr/bin/python3", ["-c", script, ...args], {
    timeoutMs: 90_000,
  });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

Deno.test({
  name:
    "a SASL_PLAINTEXT listener serves kcat, librdkafka, KafkaJS, kafka-python and the CLI with PLAIN and SCRAM",
  ignore: noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const { node, saslPort, plainPort } = await startSaslNode();
    try {
      await t.step(
        "kcat produces with PLAIN and reads back with SCRAM-SHA-256 and SCRAM-SHA-512",
        async () => {
          const values = Array.from({ length: 20 }, (_, i) => `sasl-${i}`);
          await checkCommand(
            "kcat",
            [...kcatSasl(saslPort, "PLAIN", "bob", "bob-secret"), "-P", "-t", "sasl-kcat"],
            { stdin: values.join("\n") + "\n" },
          );
          for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"]) {
            const out = await checkCommand("kcat", [
              ...kcatSasl(saslPort, mechanism, "alice", "alice-secret"),
              "-C",
              "-t",
              "sasl-kcat",
              "-o",
              "beginning",
              "-e",
              "-q",
            ]);
            assertEquals(out.trim().split("\n"), values, mechanism);
          }
        },
      );

      await t.step(
        "kcat with a wrong password or an unknown user fails with SASL_AUTHENTICATION_FAILED's message",
        async () => {
          const cases: [string, string, string][] = [
            ["PLAIN", "bob", "Authentication failed: Invalid username or password"],
            [
              "SCRAM-SHA-256",
              "alice",
              "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
            ],
            [
              "SCRAM-SHA-512",
              "mallory",
              "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            ],
          ];
          for (const [mechanism, user, message] of cases) {
            const out = await runCommand("kcat", [
              ...kcatSasl(saslPort, mechanism, user, "wrong-password"),
              "-L",
              "-m",
              "3",
            ], { timeoutMs: 30_000 });
            ok(out.code !== 0, `kcat ${mechanism} ${user} succeeded with a wrong password`);
            ok(out.stderr.includes(`SASL authentication error: ${message}`), out.stderr);
          }
          ok(!node.logs().includes("wrong-password"), "a password reached the node's log");
        },
      );

      await t.step(
        "the PLAINTEXT listener beside it still serves without authentication",
        async () => {
          const out = await checkCommand("kcat", [
            "-b",
            `127.0.0.1:${plainPort}`,
            "-C",
            "-t",
            "sasl-kcat",
            "-o",
            "beginning",
            "-e",
            "-q",
          ]);
          assertEquals(out.trim().split("\n").length, 20);
        },
      );

      await t.step({
        name: "confluent-kafka produces and consumes with SCRAM-SHA-512 and PLAIN",
        ignore: noConfluent,
        fn: async () => {
          for (
            const [mechanism, user, password] of [
              ["SCRAM-SHA-512", "alice", "alice-secret"],
              ["PLAIN", "admin", "admin-secret"],
            ]
          ) {
            assertEquals(
              await python(CONFLUENT_ROUND_TRIP, [
                `127.0.0.1:${saslPort}`,
                mechanism!,
                user!,
                password!,
                `sasl-ck-${mechanism}`,
              ]),
              { acked: 50, consumed: 50 },
            );
          }
        },
      });

      await t.step({
        name: "confluent-kafka with a wrong SCRAM password reports the authentication failure",
        ignore: noConfluent,
        fn: async () => {
          // librdkafka logs the broker's SASL_AUTHENTICATION_FAILED message and gives up.
          const out = await runCommand("/usr/bin/python3", [
            "-c",
            CONFLUENT_WRONG_PASSWORD,
            `127.0.0.1:${saslPort}`,
            "SCRAM-SHA-256",
          ], { timeoutMs: 60_000 });
          ok(
            (out.stdout + out.stderr).includes(
              "SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
            ),
            out.stdout + out.stderr,
          );
        },
      });

      await t.step({
        name:
          "kafka-python (SaslHandshake v0, bare tokens) produces and consumes with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN",
        ignore: noKafkaPython,
        fn: async () => {
          for (
            const [mechanism, user, password] of [
              ["SCRAM-SHA-256", "alice", "alice-secret"],
              ["SCRAM-SHA-512", "alice", "alice-secret"],
              ["PLAIN", "bob", "bob-secret"],
            ]
          ) {
            assertEquals(
              await python(KAFKA_PYTHON_ROUND_TRIP, [
                `127.0.0.1:${saslPort}`,
                mechanism!,
                user!,
                password!,
                `sasl-kp-${mechanism}`,
              ]),
              { acked: 30, consumed: 30 },
              mechanism,
            );
          }
        },
      });

      await t.step(
        "KafkaJS produces and consumes with SCRAM-SHA-256 and is refused with a wrong password",
        async () => {
          const kafka = (password: string) =>
            new Kafka({
              brokers: [`127.0.0.1:${saslPort}`],
              clientId: "kafkajs-sasl",
              logLevel: logLevel.NOTHING,
              sasl: { mechanism: "scram-sha-256", username: "alice", password },
              retry: { retries: 0 },
            });
          const producer = kafka("alice-secret").producer();
          await producer.connect();
          await producer.send({
            topic: "sasl-kafkajs",
            messages: [{ value: "k1" }, { value: "k2" }],
          });
          await producer.disconnect();
          const consumer = kafka("alice-secret").consumer({ groupId: "kafkajs-sasl" });
          await consumer.connect();
          await consumer.subscribe({ topic: "sasl-kafkajs", fromBeginning: true });
          const got: string[] = [];
          await consumer.run({
            eachMessage: ({ message }) => {
              got.push(String(message.value));
              return Promise.resolve();
            },
          });
          const deadline = Date.now() + 30_000;
          while (got.length < 2 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 100));
          }
          await consumer.disconnect();
          assertEquals(got, ["k1", "k2"]);
          const wrong = kafka("nope").admin();
          const error = await wrong.connect().then(() => null, (e: Error) => e);
          await wrong.disconnect();
          ok(error !== null, "KafkaJS connected with a wrong password");
          ok(
            /SASL SCRAM SHA256 authentication failed|SASL_AUTHENTICATION_FAILED|Authentication failed/
              .test(String(error)),
            String(error),
          );
        },
      );

      await t.step({
        name:
          "librdkafka 2.15 (@confluentinc/kafka-javascript) produces and consumes with SCRAM-SHA-512 and PLAIN",
        ignore: noCkjs,
        fn: async () => {
          const script = join(REPO_ROOT, "tests/integration/node/sasl_ckjs.mjs");
          const run = async (mechanism: string, user: string, password: string) => {
            const out = await checkCommand("/usr/bin/node", [
              script,
              `127.0.0.1:${saslPort}`,
              mechanism,
              user,
              password,
              `sasl-ckjs-${mechanism}`,
            ], { env: { NODE_PATH: join(CKJS_DIR, "node_modules") }, timeoutMs: 90_000 });
            return JSON.parse(out.trim().split("\n").at(-1)!);
          };
          const scram = await run("SCRAM-SHA-512", "alice", "alice-secret");
          assertEquals(scram.consumed, ["a", "b", "c"], JSON.stringify(scram));
          const plain = await run("PLAIN", "bob", "bob-secret");
          assertEquals(plain.consumed, ["a", "b", "c"], JSON.stringify(plain));
        },
      });

      await t.step(
        "the CLI connects with --command-config, adds a SCRAM user with configs, and the user can log in",
        async () => {
          const config = join(node.dataDir, "client.properties");
          await Deno.writeTextFile(
            config,
            [
              "security.protocol=SASL_PLAINTEXT",
              "sasl.mechanism=SCRAM-SHA-256",
              'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";',
            ].join("\n") + "\n",
          );
          const cli = (...args: string[]) =>
            runMain([
              "configs",
              "--bootstrap-server",
              `127.0.0.1:${saslPort}`,
              "--command-config",
              config,
              ...args,
            ]);
          const added = await cli(
            "--alter",
            "--entity-type",
            "users",
            "--entity-name",
            "dave",
            "--add-config",
            "SCRAM-SHA-512=[iterations=8192,password=dave-secret],SCRAM-SHA-256=[password=dave-secret]",
          );
          assertEquals([added.code, added.stdout.trim()], [
            0,
            "Completed updating config for user dave.",
          ], added.stderr);
          let described = "";
          for (let i = 0; i < 50 && !described.includes("'dave'"); i++) {
            described = (await cli("--describe", "--entity-type", "users")).stdout;
          }
          ok(
            described.includes(
              "SCRAM credential configs for user-principal 'dave' are SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192",
            ),
            described,
          );
          ok(
            described.includes(
              "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192",
            ),
            described,
          );
          await checkCommand("kcat", [
            ...kcatSasl(saslPort, "SCRAM-SHA-512", "dave", "dave-secret"),
            "-L",
          ]);
          const deleted = await cli(
            "--alter",
            "--entity-type",
            "users",
            "--entity-name",
            "dave",
            "--delete-config",
            "SCRAM-SHA-512",
          );
          assertEquals(deleted.code, 0, deleted.stderr);
          let refused = false;
          for (let i = 0; i < 20 && !refused; i++) {
            const out = await runCommand("kcat", [
              ...kcatSasl(saslPort, "SCRAM-SHA-512", "dave", "dave-secret"),
              "-L",
              "-m",
              "2",
            ], { timeoutMs: 30_000 });
            refused = out.code !== 0;
          }
          ok(refused, "dave still logs in with SCRAM-SHA-512 after --delete-config");
          const bad = await cli(
            "--alter",
            "--entity-type",
            "users",
            "--entity-name",
            "dave",
            "--add-config",
            "SCRAM-SHA-256=[iterations=100,password=dave-secret]",
          );
          ok(bad.code !== 0, "configs accepted 100 iterations");
          ok(!(bad.stdout + bad.stderr).includes("dave-secret"), bad.stdout + bad.stderr);
          ok(!node.logs().includes("dave-secret"), "a password reached the node's log");
          const topics = await runMain([
            "topics",
            "--bootstrap-server",
            `127.0.0.1:${saslPort}`,
            "--command-config",
            config,
            "--list",
          ]);
          ok(topics.stdout.includes("sasl-kcat"), topics.stdout + topics.stderr);
          // The JAAS config holds PLAIN's passwords: DescribeConfigs shows it as sensitive, no value.
          const broker = await cli("--describe", "--broker", "1", "--all");
          ok(
            broker.stdout.includes(
              "listener.name.sasl_plaintext.plain.sasl.jaas.config=null sensitive=true",
            ),
            broker.stdout,
          );
          ok(!broker.stdout.includes("-secret"), "configs --describe showed a password");
        },
      );

      await t.step({
        name: "kafka-python with a wrong password fails instead of connecting",
        ignore: noKafkaPython,
        fn: async () => {
          for (const mechanism of ["PLAIN", "SCRAM-SHA-256"]) {
            const { error } = await python(KAFKA_PYTHON_WRONG_PASSWORD, [
              `127.0.0.1:${saslPort}`,
              mechanism,
            ]) as { error: string | null };
            ok(error !== null, `kafka-python connected with a wrong ${mechanism} password`);
          }
        },
      });
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name:
    "before authentication a SASL listener answers only ApiVersions, SaslHandshake and SaslAuthenticate",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const { node, saslPort } = await startSaslNode();
    const connect = () =>
      KafkaConnection.connect("127.0.0.1", saslPort, { requestTimeoutMs: 10_000 });
    try {
      await t.step(
        "ApiVersions is answered and advertises SaslHandshake and SaslAuthenticate",
        async () => {
          const conn = await connect();
          ok(conn.versions.has(ApiKey.SASL_HANDSHAKE));
          assertEquals(conn.versions.get(ApiKey.SASL_AUTHENTICATE)?.max, 2);
          conn.close();
        },
      );

      await t.step(
        "a Metadata request before authentication closes the connection unanswered",
        async () => {
          const conn = await connect();
          let error: unknown;
          try {
            await conn.send(ApiKey.METADATA, { topics: null }, { version: 12 });
          } catch (e) {
            error = e;
          }
          ok(error instanceof ConnectionError, String(error));
        },
      );

      await t.step(
        "a mechanism that is not enabled is answered UNSUPPORTED_SASL_MECHANISM with the enabled ones, then closed",
        async () => {
          const conn = await connect();
          const response = await conn.send<SaslHandshakeResponse>(
            ApiKey.SASL_HANDSHAKE,
            { mechanism: "GSSAPI" },
            { version: 1 },
          );
          assertEquals(response.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
          assertEquals(response.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
          const closed = await conn.send(ApiKey.API_VERSIONS, {}, { version: 0 }).then(
            () => false,
            (e) => e instanceof ConnectionError,
          );
          ok(closed, "the connection stayed open after UNSUPPORTED_SASL_MECHANISM");
        },
      );

      await t.step(
        "a wrong PLAIN password is answered SASL_AUTHENTICATION_FAILED with Kafka's message, then closed",
        async () => {
          const conn = await connect();
          await conn.send(ApiKey.SASL_HANDSHAKE, { mechanism: "PLAIN" }, { version: 1 });
          const response = await conn.send<SaslAuthenticateResponse>(
            ApiKey.SASL_AUTHENTICATE,
            { authBytes: new TextEncoder().encode("\0bob\0nope") },
            { version: 2 },
          );
          assertEquals(response.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
          assertEquals(
            response.errorMessage,
            "Authentication failed: Invalid username or password",
          );
          const closed = await conn.send(ApiKey.METADATA, { topics: null }, { version: 12 }).then(
            () => false,
            (e) => e instanceof ConnectionError,
          );
          ok(closed, "the connection stayed open after a failed authentication");
        },
      );

      await t.step("malformed SASL frames close only their own connection", async () => {
        const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
        const frame = (body: Uint8Array) => {
          const out = new Uint8Array(4 + body.length);
          new DataView(out.buffer).setInt32(0, body.length);
          out.set(body, 4);
          return out;
        };
        const mechanism = [0, 13, ...new TextEncoder().encode("SCRAM-SHA-256")];
        // SaslHandshake v1 / v0 headers (api key 17, correlation id 1, client id ""), then the mechanism.
        const handshakeV1 = [0, 17, 0, 1, 0, 0, 0, 1, 0, 0, ...mechanism];
        const handshakeV0 = [0, 17, 0, 0, 0, 0, 0, 1, 0, 0, ...mechanism];
        // SaslAuthenticate v1 (api key 36, correlation id 2, client id ""), then int32-sized bytes.
        const authenticate = (
          token: Uint8Array,
        ) => [0, 36, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, token.length, ...token];
        // Garbage instead of a request, a truncated SaslHandshake, and garbage SCRAM tokens, in a
        // SaslAuthenticate request and bare after a v0 handshake.
        const cases: Uint8Array[][] = [
          [frame(random(64))],
          [frame(new Uint8Array([0, 17, 0, 1, 0, 0]))],
          [frame(new Uint8Array(handshakeV1)), frame(new Uint8Array(authenticate(random(40))))],
          [frame(new Uint8Array(handshakeV0)), frame(random(40))],
        ];
        for (const frames of cases) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: saslPort });
          for (const f of frames) await conn.write(f).catch(() => 0);
          // Read until the node closes the connection (answers, if any, come first).
          const buffer = new Uint8Array(4096);
          const deadline = Date.now() + 10_000;
          let closed = false;
          while (!closed && Date.now() < deadline) {
            const n = await conn.read(buffer).catch(() => null);
            closed = n === null;
          }
          conn.close();
          ok(closed, "the node kept a connection open after a malformed SASL frame");
        }
        const conn = await connect();
        await conn.send(ApiKey.SASL_HANDSHAKE, { mechanism: "PLAIN" }, { version: 1 });
        const auth = await conn.send<SaslAuthenticateResponse>(
          ApiKey.SASL_AUTHENTICATE,
          { authBytes: new TextEncoder().encode("\0bob\0bob-secret") },
          { version: 2 },
        );
        assertEquals(auth.errorCode, ErrorCode.NONE);
        conn.close();
      });

      await t.step(
        "after PLAIN succeeds, Metadata is served and a second SaslAuthenticate is ILLEGAL_SASL_STATE",
        async () => {
          const conn = await connect();
          await conn.send(ApiKey.SASL_HANDSHAKE, { mechanism: "PLAIN" }, { version: 1 });
          const auth = await conn.send<SaslAuthenticateResponse>(
            ApiKey.SASL_AUTHENTICATE,
            { authBytes: new TextEncoder().encode("\0bob\0bob-secret") },
            { version: 2 },
          );
          assertEquals(auth.errorCode, ErrorCode.NONE);
          assertEquals(auth.sessionLifetimeMs, 0n);
          const metadata = await conn.send<{ brokers: unknown[] }>(
            ApiKey.METADATA,
            { topics: null },
            { version: 12 },
          );
          assertEquals(metadata.brokers.length, 1);
          const again = await conn.send<SaslAuthenticateResponse>(
            ApiKey.SASL_AUTHENTICATE,
            { authBytes: new Uint8Array(0) },
            { version: 2 },
          );
          assertEquals(again.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
          conn.close();
        },
      );
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name:
    "brokers replicate to each other over a SASL_PLAINTEXT inter-broker listener, logging in with SCRAM-SHA-512",
  ignore: noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The harness names each broker's one listener PLAINTEXT; mapping that name to SASL_PLAINTEXT
    // makes it the SASL inter-broker (and client) listener. The broker user is bootstrapped.
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      brokerProps: {
        "listener.security.protocol.map": "PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.plaintext.scram-sha-512.sasl.jaas.config":
          'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";',
      },
      props: { "default.replication.factor": "2", "min.insync.replicas": "2" },
      formatArgs: [
        "--add-scram",
        "SCRAM-SHA-512=[name=broker,password=broker-secret]",
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=alice-secret]",
      ],
    });
    try {
      const kcat = (port: number) => kcatSasl(port, "SCRAM-SHA-512", "alice", "alice-secret");
      // acks=all with min.insync.replicas=2 is answered only once the follower fetched over SASL.
      await checkCommand(
        "kcat",
        [...kcat(cluster.brokers[0]!.port), "-X", "acks=all", "-P", "-t", "sasl-replicated"],
        { stdin: "r1\nr2\nr3\n" },
      );
      for (const b of cluster.brokers) {
        const out = await checkCommand("kcat", [
          ...kcat(b.port),
          "-C",
          "-t",
          "sasl-replicated",
          "-o",
          "beginning",
          "-e",
          "-q",
        ]);
        assertEquals(out.trim().split("\n"), ["r1", "r2", "r3"]);
      }
      const metadata = await checkCommand("kcat", [
        ...kcat(cluster.brokers[0]!.port),
        "-L",
        "-t",
        "sasl-replicated",
      ]);
      ok(/replicas: \d+,\d+, isrs: \d+,\d+/.test(metadata), metadata);
      for (const n of cluster.nodes) {
        ok(!n.logs().includes("broker-secret"), `node ${n.nodeId} logged a password`);
      }
    } catch (error) {
      for (const n of cluster.nodes) console.error(`--- node ${n.nodeId}\n${n.logs()}`);
      throw error;
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name:
    "the StandardAuthorizer sees the SASL principal: alice may produce and consume by ACL, bob is refused",
  ignore: noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The PLAINTEXT listener (brokers and controllers talk there too) is User:ANONYMOUS, made a
    // super user so the node and the acls tool keep working while everyone else needs ACLs.
    const { node, saslPort, plainPort } = await startSaslNode({
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "super.users": "User:ANONYMOUS",
      "allow.everyone.if.no.acl.found": "false",
    });
    try {
      const acls = (...args: string[]) =>
        runMain(["acls", "--bootstrap-server", `127.0.0.1:${plainPort}`, "--add", ...args]);
      for (
        const args of [
          ["--allow-principal", "User:alice", "--producer", "--topic", "sasl-acl"],
          ["--allow-principal", "User:alice", "--consumer", "--topic", "sasl-acl", "--group", "g"],
        ]
      ) {
        const out = await acls(...args);
        assertEquals(out.code, 0, out.stderr);
      }
      const alice = kcatSasl(saslPort, "SCRAM-SHA-256", "alice", "alice-secret");
      const bob = kcatSasl(saslPort, "PLAIN", "bob", "bob-secret");
      let produced = false;
      for (let i = 0; i < 20 && !produced; i++) {
        const out = await runCommand("kcat", [...alice, "-P", "-t", "sasl-acl"], {
          stdin: "a1\na2\n",
          timeoutMs: 30_000,
        });
        produced = out.code === 0;
        if (!produced) await new Promise((r) => setTimeout(r, 250));
      }
      ok(produced, "alice could not produce with a WRITE ACL");
      const read = await checkCommand("kcat", [
        ...alice,
        "-G",
        "g",
        "-X",
        "auto.offset.reset=earliest",
        "-e",
        "-q",
        "sasl-acl",
      ]);
      assertEquals(read.trim().split("\n"), ["a1", "a2"]);
      const refused = await runCommand("kcat", [...bob, "-P", "-t", "sasl-acl"], {
        stdin: "b1\n",
        timeoutMs: 30_000,
      });
      ok(refused.code !== 0, "bob produced without an ACL");
      ok(/[Aa]uthoriz/.test(refused.stderr), refused.stderr);
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name:
    "KIP-368: with connections.max.reauth.ms our client re-authenticates in place, and a session left to expire is closed",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const { node, saslPort } = await startSaslNode({
      "listener.name.sasl_plaintext.connections.max.reauth.ms": "2000",
    });
    try {
      await t.step("a SCRAM connection keeps serving for three session lifetimes", async () => {
        const conn = await KafkaConnection.connect("127.0.0.1", saslPort, {
          sasl: { mechanism: "SCRAM-SHA-512", username: "alice", password: "alice-secret" },
        });
        try {
          for (let i = 0; i < 12; i++) {
            await new Promise((r) => setTimeout(r, 500));
            const metadata = await conn.send<{ brokers: unknown[] }>(
              ApiKey.METADATA,
              { topics: null },
              { version: 12 },
            );
            assertEquals(metadata.brokers.length, 1);
          }
          ok(!conn.closed, "the connection was closed although it re-authenticated");
        } finally {
          conn.close();
        }
      });

      await t.step(
        "a client that does not re-authenticate is closed on its first request after the session",
        async () => {
          const conn = await KafkaConnection.connect("127.0.0.1", saslPort);
          await conn.send(ApiKey.SASL_HANDSHAKE, { mechanism: "PLAIN" }, { version: 1 });
          const auth = await conn.send<SaslAuthenticateResponse>(
            ApiKey.SASL_AUTHENTICATE,
            { authBytes: new TextEncoder().encode("\0bob\0bob-secret") },
            { version: 2 },
          );
          assertEquals(auth.sessionLifetimeMs, 2000n);
          await new Promise((r) => setTimeout(r, 2_500));
          const closed = await conn.send(ApiKey.METADATA, { topics: null }, { version: 12 }).then(
            () => false,
            (e) => e instanceof ConnectionError,
          );
          ok(closed, "the broker served a request after the session expired");
        },
      );
    } finally {
      await node.stop();
    }
  },
});

Deno.test({
  name:
    "a SASL_PLAINTEXT controller listener: three controllers and a broker log in with PLAIN, anonymous requests are closed",
  ignore: noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const cluster = await startCluster({
      controllers: 3,
      brokers: 1,
      props: {
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
          'org.apache.kafka.common.security.plain.PlainLoginModule required username="ctl" password="ctl-secret" user_ctl="ctl-secret";',
      },
    });
    try {
      const controller = cluster.controllers[0]!;
      const broker = cluster.brokers[0]!;
      await t.step("the broker registered over SASL and serves produce and consume", async () => {
        await checkCommand("kcat", ["-b", `127.0.0.1:${broker.port}`, "-P", "-t", "ctl-sasl"], {
          stdin: "c1\nc2\n",
        });
        const out = await checkCommand("kcat", [
          "-b",
          `127.0.0.1:${broker.port}`,
          "-C",
          "-t",
          "ctl-sasl",
          "-o",
          "beginning",
          "-e",
          "-q",
        ]);
        assertEquals(out.trim().split("\n"), ["c1", "c2"]);
      });

      await t.step("a request to the controller without SASL closes the connection", async () => {
        const conn = await KafkaConnection.connect("127.0.0.1", controller.port);
        const closed = await conn.send(ApiKey.DESCRIBE_QUORUM, { topics: [] }, { version: 0 }).then(
          () => false,
          (e) => e instanceof ConnectionError,
        );
        ok(closed, "the controller answered an unauthenticated DescribeQuorum");
      });

      await t.step(
        "metadata-quorum --bootstrap-controller logs in with --command-config",
        async () => {
          const config = join(cluster.root, "controller-client.properties");
          await Deno.writeTextFile(
            config,
            [
              "security.protocol=SASL_PLAINTEXT",
              "sasl.mechanism=PLAIN",
              'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="ctl" password="ctl-secret";',
            ].join("\n") + "\n",
          );
          const out = await runMain([
            "metadata-quorum",
            "--bootstrap-controller",
            `127.0.0.1:${controller.port}`,
            "--command-config",
            config,
            "describe",
            "--status",
          ]);
          assertEquals(out.code, 0, out.stderr);
          // Three voters agreed on a leader over SASL (Vote, BeginQuorumEpoch, Fetch).
          const voters = /CurrentVoters:.*$/m.exec(out.stdout)?.[0] ?? "";
          assertEquals((voters.match(/"id":/g) ?? []).length, 3, out.stdout);
          ok(/LeaderId:\s*\d+/.test(out.stdout), out.stdout);
        },
      );
      for (const n of cluster.nodes) {
        ok(!n.logs().includes("ctl-secret"), `node ${n.nodeId} logged a password`);
      }
    } catch (error) {
      for (const n of cluster.nodes) console.error(`--- node ${n.nodeId}\n${n.logs()}`);
      throw error;
    } finally {
      await cluster.stop();
    }
  },
});
