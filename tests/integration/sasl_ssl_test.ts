// SASL over TLS against real clients, as a team puts it in front of real data: one node with a
// SASL_SSL listener offering PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (certificates made by openssl at
// run time) beside a PLAINTEXT one. kcat and confluent-kafka (librdkafka) produce and consume with
// each mechanism, kafka-python and KafkaJS with SCRAM; a wrong password, an unknown user, a
// plaintext client on the TLS port and a TLS client on the plaintext port each fail with the
// client's normal error while the node keeps serving everyone else, and no password reaches the log.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { freePort, hasCommand, hasPythonModule, startNode } from "./harness.ts";
import { makeServerCertificates } from "./certificates.ts";
import { checkCommand, runCommand } from "./commands.ts";

const noOpenssl = !hasCommand("openssl");
const noKcat = !hasCommand("kcat");
const noConfluent = !hasPythonModule("confluent_kafka");
const noKafkaPython = !hasPythonModule("kafka");
if (noOpenssl) console.warn("sasl_ssl_test: skipped (openssl is not installed)");
if (noKcat) console.warn("sasl_ssl_test: kcat steps skipped (kcat not installed)");
if (noConfluent) {
  console.warn("sasl_ssl_test: confluent-kafka steps skipped (python3-confluent-kafka)");
}
if (noKafkaPython) console.warn("sasl_ssl_test: kafka-python steps skipped (python3-kafka)");

const PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
  'username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob-secret";';

/** Every mechanism with a user that may log in with it. */
const LOGINS: Array<[mechanism: string, user: string, password: string]> = [
  ["SCRAM-SHA-256", "alice", "alice-secret"],
  ["SCRAM-SHA-512", "alice", "alice-secret"],
  ["PLAIN", "bob", "bob-secret"],
];

const CONFLUENT_ROUND_TRIP = `
import sys, json
from confluent_kafka import Producer, Consumer
bootstrap, ca, mechanism, user, password, topic = sys.argv[1:7]
sasl = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL", "ssl.ca.location": ca,
        "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}
p = Producer(dict(sasl, acks="all", **{"enable.idempotence": True}))
acked = []
for i in range(50):
    p.produce(topic, value=b"v%d" % i, callback=lambda e, m: acked.append(e is None))
p.flush(30)
c = Consumer(dict(sasl, **{"group.id": "sasl-ssl-" + mechanism, "auto.offset.reset": "earliest"}))
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

const CONFLUENT_REFUSED = `
import sys, json
from confluent_kafka.admin import AdminClient
bootstrap, ca, mechanism, user, password = sys.argv[1:6]
errors = []
a = AdminClient({"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL",
                 "ssl.ca.location": ca, "sasl.mechanism": mechanism, "sasl.username": user,
                 "sasl.password": password, "error_cb": lambda e: errors.append(str(e))})
try:
    a.list_topics(timeout=5)
    errors.append("LISTED")
except Exception as e:
    errors.append(str(e))
print(json.dumps({"errors": errors}))
`;

const KAFKA_PYTHON_ROUND_TRIP = `
import sys, json
from kafka import KafkaProducer, KafkaConsumer
bootstrap, ca, mechanism, user, password, topic = sys.argv[1:7]
sasl = dict(bootstrap_servers=bootstrap, security_protocol="SASL_SSL", ssl_cafile=ca,
            sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
p = KafkaProducer(acks="all", **sasl)
futures = [p.send(topic, b"kp%d" % i) for i in range(30)]
acked = sum(1 for f in futures if f.get(timeout=30) is not None)
p.close()
c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                  group_id="kp-sasl-ssl-" + mechanism, **sasl)
got = [m.value.decode() for m in c]
c.close()
print(json.dumps({"acked": acked, "consumed": len(got)}))
`;

const KAFKA_PYTHON_REFUSED = `
import sys, json
from kafka import KafkaProducer
bootstrap, ca, mechanism = sys.argv[1:4]
try:
    KafkaProducer(bootstrap_servers=bootstrap, security_protocol="SASL_SSL", ssl_cafile=ca,
                  sasl_mechanism=mechanism, sasl_plain_username="alice",
                  sasl_plain_password="wrong-pw-7q", request_timeout_ms=5000,
                  api_version_auto_timeout_ms=5000)
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
    "a SASL_SSL listener serves kcat, confluent-kafka, kafka-python and KafkaJS with PLAIN and SCRAM over TLS and refuses wrong logins and wrong transports alone",
  ignore: noOpenssl,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const certs = await makeServerCertificates();
    const plainPort = freePort();
    const saslSslPort = freePort();
    const controllerPort = freePort();
    const node = await startNode({
      props: {
        "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
        "listeners":
          `PLAINTEXT://127.0.0.1:${plainPort},SASL_SSL://127.0.0.1:${saslSslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
        "advertised.listeners":
          `PLAINTEXT://127.0.0.1:${plainPort},SASL_SSL://127.0.0.1:${saslSslPort}`,
        "listener.security.protocol.map":
          "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": certs.keyStorePath,
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
      },
      formatArgs: [
        "--add-scram",
        "SCRAM-SHA-256=[name=alice,password=alice-secret]",
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=8192]",
      ],
    });
    const bootstrap = `127.0.0.1:${saslSslPort}`;
    const kcat = (mechanism: string, user: string, password: string) => [
      "-b",
      bootstrap,
      "-X",
      "security.protocol=SASL_SSL",
      "-X",
      `ssl.ca.location=${certs.caPath}`,
      "-X",
      `sasl.mechanism=${mechanism}`,
      "-X",
      `sasl.username=${user}`,
      "-X",
      `sasl.password=${password}`,
    ];
    try {
      await t.step({
        name: "kcat produces and consumes with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN",
        ignore: noKcat,
        fn: async () => {
          for (const [mechanism, user, password] of LOGINS) {
            const topic = `sasl-ssl-kcat-${mechanism}`;
            const lines = Array.from({ length: 20 }, (_, i) => `${mechanism}-${i}`);
            await checkCommand("kcat", [...kcat(mechanism, user, password), "-P", "-t", topic], {
              stdin: lines.join("\n") + "\n",
            });
            const out = await checkCommand("kcat", [
              ...kcat(mechanism, user, password),
              "-C",
              "-t",
              topic,
              "-o",
              "beginning",
              "-e",
              "-q",
            ]);
            assertEquals(out.trim().split("\n"), lines, mechanism);
          }
        },
      });

      await t.step({
        name: "confluent-kafka produces idempotently and consumes in a group with every mechanism",
        ignore: noConfluent,
        fn: async () => {
          for (const [mechanism, user, password] of LOGINS) {
            assertEquals(
              await python(CONFLUENT_ROUND_TRIP, [
                bootstrap,
                certs.caPath,
                mechanism,
                user,
                password,
                `sasl-ssl-ck-${mechanism}`,
              ]),
              { acked: 50, consumed: 50 },
              mechanism,
            );
          }
        },
      });

      await t.step({
        name: "kafka-python produces and consumes with SCRAM-SHA-256 and SCRAM-SHA-512",
        ignore: noKafkaPython,
        fn: async () => {
          for (const [mechanism, user, password] of LOGINS.slice(0, 2)) {
            assertEquals(
              await python(KAFKA_PYTHON_ROUND_TRIP, [
                bootstrap,
                certs.caPath,
                mechanism,
                user,
                password,
                `sasl-ssl-kp-${mechanism}`,
              ]),
              { acked: 30, consumed: 30 },
              mechanism,
            );
          }
        },
      });

      await t.step("KafkaJS produces and consumes with SCRAM-SHA-512 over TLS", async () => {
        const ca = await Deno.readTextFile(certs.caPath);
        const kafka = new Kafka({
          brokers: [bootstrap],
          clientId: "kafkajs-sasl-ssl",
          logLevel: logLevel.NOTHING,
          ssl: { ca: [ca] },
          sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" },
          retry: { retries: 2 },
        });
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({
          topic: "sasl-ssl-kafkajs",
          messages: [{ value: "k1" }, { value: "k2" }, { value: "k3" }],
        });
        await producer.disconnect();
        const consumer = kafka.consumer({ groupId: "kafkajs-sasl-ssl" });
        await consumer.connect();
        await consumer.subscribe({ topic: "sasl-ssl-kafkajs", fromBeginning: true });
        const got: string[] = [];
        await consumer.run({
          eachMessage: ({ message }) => {
            got.push(String(message.value));
            return Promise.resolve();
          },
        });
        const deadline = Date.now() + 30_000;
        while (got.length < 3 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await consumer.disconnect();
        assertEquals(got, ["k1", "k2", "k3"]);
      });

      await t.step({
        name: "kcat with a wrong password or an unknown user gets librdkafka's SASL error",
        ignore: noKcat,
        fn: async () => {
          for (
            const [mechanism, user, password] of [
              ["SCRAM-SHA-256", "alice", "wrong-pw-7q"],
              ["SCRAM-SHA-512", "mallory", "alice-secret"],
              ["PLAIN", "bob", "wrong-pw-7q"],
              ["PLAIN", "mallory", "bob-secret"],
            ]
          ) {
            const out = await runCommand("kcat", [
              ...kcat(mechanism!, user!, password!),
              "-L",
              "-m",
              "3",
            ], { timeoutMs: 30_000 });
            ok(out.code !== 0, `kcat logged in as ${user} with ${mechanism}`);
            ok(out.stderr.includes("SASL authentication error"), out.stderr);
          }
        },
      });

      await t.step({
        name: "confluent-kafka with a wrong SCRAM-SHA-512 password reports invalid credentials",
        ignore: noConfluent,
        fn: async () => {
          const out = await runCommand("/usr/bin/python3", [
            "-c",
            CONFLUENT_REFUSED,
            bootstrap,
            certs.caPath,
            "SCRAM-SHA-512",
            "alice",
            "wrong-pw-7q",
          ], { timeoutMs: 60_000 });
          const text = out.stdout + out.stderr;
          ok(!text.includes("LISTED"), text);
          ok(
            text.includes(
              "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            ),
            text,
          );
        },
      });

      await t.step({
        name: "kafka-python with a wrong password fails instead of connecting",
        ignore: noKafkaPython,
        fn: async () => {
          const { error } = await python(KAFKA_PYTHON_REFUSED, [
            bootstrap,
            certs.caPath,
            "SCRAM-SHA-256",
          ]) as { error: string | null };
          ok(error !== null, "kafka-python connected with a wrong password");
        },
      });

      await t.step({
        name:
          "a plaintext SASL client on the TLS port and a TLS client on the plaintext port both fail",
        ignore: noKcat,
        fn: async () => {
          const plainOnTls = await runCommand("kcat", [
            "-b",
            bootstrap,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanism=PLAIN",
            "-X",
            "sasl.username=bob",
            "-X",
            "sasl.password=bob-secret",
            "-L",
            "-m",
            "3",
          ], { timeoutMs: 30_000 });
          ok(plainOnTls.code !== 0, `SASL_PLAINTEXT kcat on the TLS port succeeded`);
          const tlsOnPlain = await runCommand("kcat", [
            "-b",
            `127.0.0.1:${plainPort}`,
            "-X",
            "security.protocol=SSL",
            "-X",
            `ssl.ca.location=${certs.caPath}`,
            "-L",
            "-m",
            "3",
          ], { timeoutMs: 30_000 });
          ok(tlsOnPlain.code !== 0, `TLS kcat on the plaintext port succeeded`);
        },
      });

      await t.step({
        name: "after every refusal the node still serves both listeners",
        ignore: noKcat,
        fn: async () => {
          const [mechanism, user, password] = LOGINS[0]!;
          const out = await checkCommand("kcat", [
            ...kcat(mechanism, user, password),
            "-C",
            "-t",
            `sasl-ssl-kcat-${mechanism}`,
            "-o",
            "beginning",
            "-e",
            "-q",
          ]);
          assertEquals(out.trim().split("\n").length, 20);
          const plain = await checkCommand("kcat", ["-b", `127.0.0.1:${plainPort}`, "-L"]);
          ok(plain.includes("sasl-ssl-kcat-PLAIN"), plain);
        },
      });

      await t.step("no password reached the node's log", () => {
        const logs = node.logs();
        for (const secret of ["alice-secret", "bob-secret", "admin-secret", "wrong-pw-7q"]) {
          ok(!logs.includes(secret), `the node's log holds ${secret}`);
        }
      });
    } finally {
      await node.stop();
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});
