// Mutual TLS (ssl.client.auth=required) against real clients: kcat presenting a client certificate
// produces and consumes, kcat without one (or with one from another CA) is refused while the node
// keeps serving; kraftling's own CLI presents ssl.keystore.location; a principal mapped from the
// certificate subject by ssl.principal.mapping.rules gets exactly what its ACLs allow; brokers
// replicate over an inter-broker listener that requires client certificates. Certificates are
// made by openssl at test time (X.509 v3: rustls refuses v1 client certificates).
import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { freePort, hasCommand, runMain, startNode } from "./harness.ts";
import { startCluster } from "./cluster_harness.ts";
import { checkCommand, runCommand } from "./commands.ts";

const noTools = !hasCommand("openssl") || !hasCommand("kcat");
if (noTools) console.warn("mtls_test: skipped (openssl or kcat is not installed)");

function check(command: string, args: string[], stdin?: string): Promise<string> {
  return checkCommand(command, args, { stdin });
}

interface Identity {
  certPath: string;
  keyPath: string;
  /** Key + certificate chain: a PEM key store (ssl.keystore.location). */
  keyStorePath: string;
}

interface Pki {
  dir: string;
  caPath: string;
  server: Identity;
  alice: Identity;
  bob: Identity;
  /** Signed by a CA the node does not trust. */
  mallory: Identity;
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await check("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    key,
    "-out",
    cert,
  ]); // deno-fmt-ignore
  return { cert, key };
}

async function issue(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  subject: string,
  extensions: string,
): Promise<Identity> {
  const p = (suffix: string) => join(dir, `${name}.${suffix}`);
  await Deno.writeTextFile(p("ext"), extensions);
  await check("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    subject,
    "-keyout",
    p("key"),
    "-out",
    p("csr"),
  ]); // deno-fmt-ignore
  await check("openssl", [
    "x509", "-req", "-days", "1", "-in", p("csr"), "-CA", ca.cert, "-CAkey", ca.key,
    "-CAcreateserial", "-extfile", p("ext"), "-out", p("crt"),
  ]); // deno-fmt-ignore
  const chain = (await Deno.readTextFile(p("crt"))) + (await Deno.readTextFile(ca.cert));
  await Deno.writeTextFile(p("pem"), (await Deno.readTextFile(p("key"))) + chain);
  return { certPath: p("crt"), keyPath: p("key"), keyStorePath: p("pem") };
}

async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-mtls-" });
  const ca = await makeCa(dir, "ca");
  const rogue = await makeCa(dir, "rogue-ca");
  const client = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
  return {
    dir,
    caPath: ca.cert,
    server: await issue(
      dir,
      ca,
      "server",
      "/CN=localhost",
      "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    ),
    alice: await issue(dir, ca, "alice", "/O=acme/OU=ops/CN=Alice", client),
    bob: await issue(dir, ca, "bob", "/O=acme/OU=ops/CN=bob", client),
    mallory: await issue(dir, rogue, "mallory", "/O=acme/OU=ops/CN=mallory", client),
  };
}

/** A combined node with a PLAINTEXT listener and an SSL listener requiring client certificates. */
function mtlsNodeProps(pki: Pki, extra: Record<string, string> = {}) {
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
      "listener.name.ssl.ssl.keystore.type": "PEM",
      "listener.name.ssl.ssl.keystore.location": pki.server.keyStorePath,
      "listener.name.ssl.ssl.truststore.location": pki.caPath,
      "listener.name.ssl.ssl.client.auth": "required",
      ...extra,
    },
  };
}

/** kcat options for the SSL listener, presenting `who`'s certificate (none when undefined). */
function kcatMtls(port: number, pki: Pki, who?: Identity): string[] {
  const args = ["-b", `127.0.0.1:${port}`, "-X", "security.protocol=ssl"];
  args.push("-X", `ssl.ca.location=${pki.caPath}`);
  if (who !== undefined) {
    args.push("-X", `ssl.certificate.location=${who.certPath}`);
    args.push("-X", `ssl.key.location=${who.keyPath}`);
  }
  return args;
}

const consumeAll = (topic: string) => ["-C", "-t", topic, "-o", "beginning", "-e", "-q"];

Deno.test({
  name:
    "an SSL listener with ssl.client.auth=required serves clients with a trusted certificate only",
  ignore: noTools,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const pki = await makePki();
    const { plainPort, sslPort, props } = mtlsNodeProps(pki);
    const node = await startNode({ props });
    try {
      await t.step("kcat with alice's certificate produces and consumes", async () => {
        const values = Array.from({ length: 50 }, (_, i) => `m-${i}`);
        await check(
          "kcat",
          [...kcatMtls(sslPort, pki, pki.alice), "-P", "-t", "mtls"],
          values.join("\n") + "\n",
        );
        const out = await check("kcat", [
          ...kcatMtls(sslPort, pki, pki.alice),
          ...consumeAll("mtls"),
        ]);
        assertEquals(out.trim().split("\n"), values);
      });

      await t.step("kcat without a client certificate is refused", async () => {
        const out = await runCommand("kcat", [...kcatMtls(sslPort, pki), "-L", "-m", "5"], {
          timeoutMs: 20_000,
        });
        ok(out.code !== 0, `kcat without a certificate got metadata:\n${out.stdout}`);
      });

      await t.step("kcat with a certificate from an untrusted CA is refused", async () => {
        const out = await runCommand(
          "kcat",
          [...kcatMtls(sslPort, pki, pki.mallory), "-L", "-m", "5"],
          { timeoutMs: 20_000 },
        );
        ok(out.code !== 0, `kcat with an untrusted certificate got metadata:\n${out.stdout}`);
      });

      await t.step(
        "kraftling's CLI presents ssl.keystore.location; without it, it is refused",
        async () => {
          const withCert = join(pki.dir, "alice.properties");
          await Deno.writeTextFile(
            withCert,
            `security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=${pki.caPath}\n` +
              `ssl.keystore.type=PEM\nssl.keystore.location=${pki.alice.keyStorePath}\n`,
          );
          const listed = await runMain([
            "topics",
            "--bootstrap-server",
            `127.0.0.1:${sslPort}`,
            "--command-config",
            withCert,
            "--list",
          ]); // deno-fmt-ignore
          assertEquals(listed.code, 0, listed.stderr);
          match(listed.stdout, /^mtls$/m);
          const withoutCert = join(pki.dir, "anonymous.properties");
          await Deno.writeTextFile(
            withoutCert,
            `security.protocol=SSL\nssl.truststore.location=${pki.caPath}\nrequest.timeout.ms=5000\nretries=0\n`,
          );
          const refused = await runMain([
            "topics",
            "--bootstrap-server",
            `127.0.0.1:${sslPort}`,
            "--command-config",
            withoutCert,
            "--list",
          ]); // deno-fmt-ignore
          ok(refused.code !== 0, `the CLI without a certificate listed topics:\n${refused.stdout}`);
        },
      );

      await t.step(
        "after the refusals the node still serves TLS and plaintext clients",
        async () => {
          const out = await check("kcat", [
            ...kcatMtls(sslPort, pki, pki.bob),
            ...consumeAll("mtls"),
          ]);
          assertEquals(out.trim().split("\n").length, 50);
          const plain = await check("kcat", [
            "-b",
            `127.0.0.1:${plainPort}`,
            "-C",
            "-t",
            "mtls",
            "-o",
            "-1",
            "-e",
            "-q",
          ]); // deno-fmt-ignore
          assertEquals(plain.trim(), "m-49");
        },
      );
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      await node.stop();
      await Deno.remove(pki.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "a certificate's principal mapped by ssl.principal.mapping.rules gets exactly its ACLs",
  ignore: noTools,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const pki = await makePki();
    const { plainPort, sslPort, props } = mtlsNodeProps(pki, {
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "allow.everyone.if.no.acl.found": "false",
      // The PLAINTEXT listener (inter-broker, the test's admin) is anonymous.
      "super.users": "User:ANONYMOUS",
      // CN=Alice,OU=ops,O=acme -> alice; anything else keeps its whole name.
      "listener.name.ssl.ssl.principal.mapping.rules": "RULE:^CN=([^,]*),OU=ops,.*$/$1/L,DEFAULT",
    });
    const node = await startNode({ props });
    const plain = `127.0.0.1:${plainPort}`;
    try {
      await check("kcat", ["-b", plain, "-P", "-t", "guarded"], "g1\ng2\n");
      const added = await runMain([
        "acls",
        "--bootstrap-server",
        plain,
        "--add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Read",
        "--operation",
        "Describe",
        "--topic",
        "guarded",
      ]); // deno-fmt-ignore
      assertEquals(added.code, 0, added.stderr + added.stdout);

      await t.step("alice's certificate (User:alice by the rule) reads the topic", async () => {
        const out = await check("kcat", [
          ...kcatMtls(sslPort, pki, pki.alice),
          ...consumeAll("guarded"),
        ]);
        assertEquals(out.trim().split("\n"), ["g1", "g2"]);
      });

      await t.step("alice may not write: her ACL allows reading only", async () => {
        const out = await runCommand(
          "kcat",
          [...kcatMtls(sslPort, pki, pki.alice), "-P", "-t", "guarded"],
          { stdin: "nope\n", timeoutMs: 30_000 },
        );
        match(out.stderr, /authorization failed/i);
      });

      await t.step("bob's certificate is refused with TOPIC_AUTHORIZATION_FAILED", async () => {
        const out = await runCommand(
          "kcat",
          [...kcatMtls(sslPort, pki, pki.bob), ...consumeAll("guarded")],
          { timeoutMs: 30_000 },
        );
        match(out.stderr, /Topic authorization failed/);
        ok(!out.stdout.includes("g1"), out.stdout);
      });

      await t.step("an ACL for bob's mapped name lets him read too", async () => {
        const addBob = await runMain([
          "acls",
          "--bootstrap-server",
          plain,
          "--add",
          "--allow-principal",
          "User:bob",
          "--operation",
          "Read",
          "--topic",
          "guarded",
        ]); // deno-fmt-ignore
        assertEquals(addBob.code, 0, addBob.stderr);
        const out = await check("kcat", [
          ...kcatMtls(sslPort, pki, pki.bob),
          ...consumeAll("guarded"),
        ]);
        assertEquals(out.trim().split("\n"), ["g1", "g2"]);
      });
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      await node.stop();
      await Deno.remove(pki.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "on a SASL_SSL listener requiring client certificates the SASL login is the principal",
  ignore: noTools,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pki = await makePki();
    const { plainPort, sslPort, props } = mtlsNodeProps(pki, {
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
      "listener.name.ssl.sasl.enabled.mechanisms": "PLAIN",
      "listener.name.ssl.plain.sasl.jaas.config":
        'org.apache.kafka.common.security.plain.PlainLoginModule required user_carol="carol-secret";',
      "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "allow.everyone.if.no.acl.found": "false",
      "super.users": "User:ANONYMOUS",
    });
    const node = await startNode({ props });
    const plain = `127.0.0.1:${plainPort}`;
    const carol = (who?: Identity) => [
      ...kcatMtls(sslPort, pki, who),
      "-X",
      "security.protocol=sasl_ssl",
      "-X",
      "sasl.mechanism=PLAIN",
      "-X",
      "sasl.username=carol",
      "-X",
      "sasl.password=carol-secret",
    ]; // deno-fmt-ignore
    try {
      await check("kcat", ["-b", plain, "-P", "-t", "carols"], "c1\n");
      const added = await runMain([
        "acls", "--bootstrap-server", plain, "--add", "--allow-principal", "User:carol",
        "--operation", "Read", "--topic", "carols",
      ]); // deno-fmt-ignore
      assertEquals(added.code, 0, added.stderr);
      // Alice's certificate has no ACL: reading works only because the principal is User:carol.
      const out = await check("kcat", [...carol(pki.alice), ...consumeAll("carols")]);
      assertEquals(out.trim(), "c1");
      const noCert = await runCommand("kcat", [...carol(), "-L", "-m", "5"], { timeoutMs: 20_000 });
      ok(noCert.code !== 0, `SASL without a client certificate got metadata:\n${noCert.stdout}`);
    } catch (error) {
      console.error(node.logs());
      throw error;
    } finally {
      await node.stop();
      await Deno.remove(pki.dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "brokers replicate over an inter-broker SSL listener that requires client certificates",
  ignore: noTools,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pki = await makePki();
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      brokerProps: {
        "listener.security.protocol.map": "PLAINTEXT:SSL,CONTROLLER:PLAINTEXT",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": pki.server.keyStorePath,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki.caPath,
        "ssl.client.auth": "required",
      },
      props: { "default.replication.factor": "2", "min.insync.replicas": "2" },
    });
    try {
      // acks=all with min.insync.replicas=2: answered only once the follower fetched over mTLS.
      await check(
        "kcat",
        [
          ...kcatMtls(cluster.brokers[0]!.port, pki, pki.alice),
          "-X",
          "acks=all",
          "-P",
          "-t",
          "rep",
        ],
        "r1\nr2\n",
      );
      for (const broker of cluster.brokers) {
        const out = await check("kcat", [
          ...kcatMtls(broker.port, pki, pki.alice),
          ...consumeAll("rep"),
        ]);
        assertEquals(out.trim().split("\n"), ["r1", "r2"]);
      }
    } finally {
      await cluster.stop();
      await Deno.remove(pki.dir, { recursive: true }).catch(() => {});
    }
  },
});
