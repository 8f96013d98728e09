// SSL listeners against real clients: kcat and confluent-kafka (librdkafka) produce and consume over
// TLS with a CA and server certificate made by openssl at test time (no private key is committed);
// a plaintext client and TLS garbage on the SSL port lose only their own connection; key stores
// given as PEM text in the config; two brokers replicating over an SSL inter-broker listener; a
// SASL_SSL listener with SCRAM; JKS refused at startup with one line.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { freePort, hasCommand, hasPythonModule, runMain, startNode } from "./harness.ts";
import { startCluster } from "./cluster_harness.ts";
import { makeServerCertificates, type ServerCertificates } from "./certificates.ts";
import { checkCommand, type CommandOutput, runCommand } from "./commands.ts";

const noOpenssl = !hasCommand("openssl");
const noKcat = !hasCommand("kcat");
const noPython = !hasPythonModule("confluent_kafka");
if (noOpenssl) console.warn("tls_test: skipped (openssl is not installed)");
if (noKcat) console.warn("tls_test: kcat tests skipped (kcat not installed)");
if (noPython) {
  console.warn("tls_test: confluent-kafka test skipped (python3-confluent-kafka missing)");
}

/** Runs a command (bounded, see `commands.ts`). */
function run(
  command: string,
  args: string[],
  options: { stdin?: string; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  return runCommand(command, args, { ...options });
}

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
function check(command: string, args: string[], stdin?: string): Promise<string> {
  return checkCommand(command, args, { stdin });
}

type Certificates = ServerCertificates;
/** A CA and a server certificate for 127.0.0.1/localhost, made by openssl at run time. */
const makeCertificates = makeServerCertificates;

/** Props for a combined node with a PLAINTEXT and an SSL broker listener on fresh ports. */
function sslNodeProps(ssl: Record<string, string>) {
  const plainPort = freePort();
  const sslPort = freePort();
  const controllerPort = freePort();
  return {
    plainPort,
    sslPort,
    props: {
      "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
      "listeners":
        `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort}`,
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name": "PLAINTEXT",
      ...ssl,
    },
  };
}

const kcatSsl = (port: number, caPath: string) => [
  "-b",
  `127.0.0.1:${port}`,
  "-X",
  "security.protocol=ssl",
  "-X",
  `ssl.ca.location=${caPath}`,
];

const PYTHON_ROUND_TRIP = `
import sys, json
from confluent_kafka import Producer, Consumer
bootstrap, ca, topic = sys.argv[1], sys.argv[2], sys.argv[3]
tls = {"bootstrap.servers": bootstrap, "security.protocol": "SSL", "ssl.ca.location": ca}
p = Producer(dict(tls, acks="all"))
acked = []
for i in range(50):
    p.produce(topic, value=b"v%d" % i, callback=lambda e, m: acked.append(e is None))
p.flush(30)
c = Consumer(dict(tls, **{"group.id": "tls-group", "auto.offset.reset": "earliest"}))
c.subscribe([topic])
got = []
for _ in range(100):
    m = c.poll(1.0)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
    if len(got) >= 50:
        break
c.close()
print(json.dumps({"acked": sum(acked), "consumed": got}))
`;

Deno.test({
  name: "an SSL listener serves kcat and confluent-kafka over TLS and shrugs off plaintext clients",
  ignore: noOpenssl || noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const certs = await makeCertificates();
    const { plainPort, sslPort, props } = sslNodeProps({
      "listener.name.ssl.ssl.keystore.type": "PEM",
      "listener.name.ssl.ssl.keystore.location": certs.keyStorePath,
    });
    const node = await startNode({ props });
    try {
      await t.step("kcat produces 100 records over SSL and reads them back", async () => {
        const values = Array.from({ length: 100 }, (_, i) => `tls-${i}`);
        await check(
          "kcat",
          [...kcatSsl(sslPort, certs.caPath), "-P", "-t", "tls-kcat"],
          values.join("\n") + "\n",
        );
        const out = await check("kcat", [
          ...kcatSsl(sslPort, certs.caPath),
          "-C",
          "-t",
          "tls-kcat",
          "-o",
          "beginning",
          "-e",
          "-q",
        ]);
        assertEquals(out.trim().split("\n"), values);
      });

      await t.step("the metadata a TLS client gets names the SSL listener", async () => {
        const out = await check("kcat", [...kcatSsl(sslPort, certs.caPath), "-L"]);
        ok(out.includes(`ssl://127.0.0.1:${sslPort}`), out);
        ok(out.includes(`broker 1 at 127.0.0.1:${sslPort}`), out);
      });

      await t.step("the broker registers its SSL listener with security protocol SSL", async () => {
        const out = await runMain([
          "metadata-shell",
          "--directory",
          join(node.dataDir, "logs"),
          "cat",
          "/image/cluster/brokers/1",
        ]);
        ok(
          out.stdout.includes("listenerName='SSL', securityProtocol=SSL"),
          out.stdout + out.stderr,
        );
        ok(
          out.stdout.includes("listenerName='PLAINTEXT', securityProtocol=PLAINTEXT"),
          out.stdout + out.stderr,
        );
      });

      await t.step("a plaintext client on the SSL port fails", async () => {
        const out = await run("kcat", ["-b", `127.0.0.1:${sslPort}`, "-L", "-m", "3"], {
          timeoutMs: 20_000,
        });
        ok(out.code !== 0, `plaintext kcat on the TLS port succeeded:\n${out.stdout}`);
      });

      await t.step("TLS garbage closes that connection only", async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: sslPort });
        // A TLS record header claiming a handshake, followed by bytes that are no ClientHello.
        const garbage = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff);
        garbage.set([0x16, 0x03, 0x01, 0x00, 0x40]);
        await conn.write(garbage).catch(() => 0);
        const buf = new Uint8Array(1024);
        let closed = false;
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timedOut = new Promise<"timeout">((resolve) => {
            timer = setTimeout(() => resolve("timeout"), deadline - Date.now());
          });
          const n = await Promise.race([conn.read(buf).catch(() => null), timedOut]);
          clearTimeout(timer);
          if (n === "timeout") break;
          if (n === null) {
            closed = true;
            break;
          }
        }
        try {
          conn.close();
        } catch { /* closed by the node */ }
        ok(closed, "the node kept a connection that sent TLS garbage open");
      });

      await t.step("after both, the node still serves TLS and plaintext clients", async () => {
        const out = await check("kcat", [
          ...kcatSsl(sslPort, certs.caPath),
          "-C",
          "-t",
          "tls-kcat",
          "-o",
          "beginning",
          "-e",
          "-q",
        ]);
        assertEquals(out.trim().split("\n").length, 100);
        const plain = await check("kcat", [
          "-b",
          `127.0.0.1:${plainPort}`,
          "-C",
          "-t",
          "tls-kcat",
          "-o",
          "-1",
          "-e",
          "-q",
        ]);
        assertEquals(plain.trim(), "tls-99");
      });

      await t.step({
        name: "confluent-kafka produces 50 records over SSL and consumes them in a group",
        ignore: noPython,
        fn: async () => {
          const out = await check("/usr/bin/python3", [
            "-c",
            PYTHON_ROUND_TRIP,
            `127.0.0.1:${sslPort}`,
            certs.caPath,
            "tls-python",
          ]);
          const result = JSON.parse(out.trim().split("\n").at(-1)!);
          assertEquals(result, {
            acked: 50,
            consumed: Array.from({ length: 50 }, (_, i) => `v${i}`),
          });
        },
      });
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      await node.stop();
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "a key store given as PEM text in ssl.keystore.key and ssl.keystore.certificate.chain serves TLS",
  ignore: noOpenssl || noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeCertificates();
    // Kafka's PEM-in-config form: each PEM folded onto one line.
    const oneLine = (pem: string) => pem.replace(/\s*\n\s*/g, " ").trim();
    const { sslPort, props } = sslNodeProps({
      "ssl.keystore.type": "PEM",
      "ssl.keystore.key": oneLine(certs.keyPem),
      "ssl.keystore.certificate.chain": oneLine(certs.chainPem),
    });
    const node = await startNode({ props });
    try {
      await check("kcat", [...kcatSsl(sslPort, certs.caPath), "-P", "-t", "tls-inline"], "x\n");
      const out = await check("kcat", [
        ...kcatSsl(sslPort, certs.caPath),
        "-C",
        "-t",
        "tls-inline",
        "-o",
        "beginning",
        "-e",
        "-q",
      ]);
      assertEquals(out.trim(), "x");
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      await node.stop();
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});

/** server-start's exit code and stderr for a combined node with these extra props. */
async function serverStartError(extra: Record<string, string>): Promise<CommandOutput> {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-tls-config-" });
  try {
    const { props } = sslNodeProps(extra);
    const all: Record<string, string> = {
      "process.roles": "broker,controller",
      "node.id": "1",
      "controller.listener.names": "CONTROLLER",
      "log.dirs": join(dir, "logs"),
      ...props,
    };
    const path = join(dir, "server.properties");
    await Deno.writeTextFile(
      path,
      Object.entries(all).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
    );
    // Formatting fails on its own for config errors; server-start must still say why in one line.
    const id = (await runMain(["storage", "random-uuid"])).stdout.trim();
    await runMain(["storage", "format", "-t", id, "-c", path]);
    const out = await runMain(["server-start", path], { timeoutMs: 30_000 });
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("server-start refuses a JKS key store with one line naming the key and suggesting PEM", async () => {
  const out = await serverStartError({
    "ssl.keystore.type": "JKS",
    "ssl.keystore.location": "/etc/kafka/server.keystore.jks",
  });
  ok(out.code !== 0, "server-start accepted a JKS key store");
  const lines = out.stderr.trim().split("\n");
  assertEquals(lines.length, 1, out.stderr);
  ok(lines[0]!.includes("ssl.keystore.type is JKS"), out.stderr);
  ok(lines[0]!.includes("only PEM key stores"), out.stderr);
});

Deno.test({
  name: "a SASL_SSL listener serves kcat with SCRAM-SHA-512 over TLS and refuses a wrong password",
  ignore: noOpenssl || noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeCertificates();
    const { sslPort, props } = sslNodeProps({
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
      "listener.name.ssl.ssl.keystore.location": certs.keyStorePath,
      "listener.name.ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
    });
    const node = await startNode({
      props,
      formatArgs: ["--add-scram", "SCRAM-SHA-512=[name=alice,password=alice-secret]"],
    });
    const kcat = (password: string) => [
      ...kcatSsl(sslPort, certs.caPath),
      "-X",
      "security.protocol=sasl_ssl",
      "-X",
      "sasl.mechanism=SCRAM-SHA-512",
      "-X",
      "sasl.username=alice",
      "-X",
      `sasl.password=${password}`,
    ];
    try {
      await check("kcat", [...kcat("alice-secret"), "-P", "-t", "sasl-ssl"], "x\ny\n");
      const out = await check("kcat", [
        ...kcat("alice-secret"),
        "-C",
        "-t",
        "sasl-ssl",
        "-o",
        "beginning",
        "-e",
        "-q",
      ]);
      assertEquals(out.trim().split("\n"), ["x", "y"]);
      const wrong = await run("kcat", [...kcat("nope"), "-L", "-m", "3"], { timeoutMs: 30_000 });
      ok(wrong.code !== 0, "kcat authenticated with a wrong password");
      ok(wrong.stderr.includes("SASL authentication error"), wrong.stderr);
    } finally {
      await node.stop();
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "server-start refuses a key store file without a private key, naming the file",
  ignore: noOpenssl,
  fn: async () => {
    const certs = await makeCertificates();
    try {
      const out = await serverStartError({ "ssl.keystore.location": certs.caPath });
      ok(out.code !== 0, "server-start accepted a key store with no private key");
      const lines = out.stderr.trim().split("\n");
      assertEquals(lines.length, 1, out.stderr);
      ok(lines[0]!.includes(`ssl.keystore.location ${certs.caPath}`), out.stderr);
      ok(lines[0]!.includes("holds no private key"), out.stderr);
    } finally {
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "brokers replicate to each other over an SSL inter-broker listener, trusting the CA in ssl.truststore.location",
  ignore: noOpenssl || noKcat,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeCertificates();
    // The harness names each broker's one listener PLAINTEXT; mapping that name to SSL makes it the
    // TLS inter-broker (and client) listener.
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      brokerProps: {
        "listener.security.protocol.map": "PLAINTEXT:SSL,CONTROLLER:PLAINTEXT",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": certs.keyStorePath,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": certs.caPath,
      },
      // The controller picks an auto-created topic's replication factor.
      props: { "default.replication.factor": "2", "min.insync.replicas": "2" },
    });
    try {
      const broker = cluster.brokers[0]!;
      // acks=all with min.insync.replicas=2 is answered only once the follower fetched over TLS.
      await check(
        "kcat",
        [...kcatSsl(broker.port, certs.caPath), "-X", "acks=all", "-P", "-t", "tls-replicated"],
        "r1\nr2\nr3\n",
      );
      for (const b of cluster.brokers) {
        const out = await check("kcat", [
          ...kcatSsl(b.port, certs.caPath),
          "-C",
          "-t",
          "tls-replicated",
          "-o",
          "beginning",
          "-e",
          "-q",
        ]);
        assertEquals(out.trim().split("\n"), ["r1", "r2", "r3"]);
      }
      const metadata = await check("kcat", [
        ...kcatSsl(broker.port, certs.caPath),
        "-L",
        "-t",
        "tls-replicated",
      ]);
      ok(/replicas: \d+,\d+, isrs: \d+,\d+/.test(metadata), metadata);
    } catch (error) {
      for (const n of cluster.nodes) console.error(`--- node ${n.nodeId}\n${n.logs()}`);
      throw error;
    } finally {
      await cluster.stop();
      await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
    }
  },
});
