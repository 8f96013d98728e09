// ssl.key.password: an SSL listener whose PEM key store holds an ENCRYPTED PRIVATE KEY (PKCS#8
// PBES2, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it) serves kcat; a wrong password stops
// the start with one line naming the key. The CLI's own key store may be encrypted too: with
// `ssl.key.password` in `--command-config` it presents the decrypted key to a listener requiring
// client certificates, and a wrong password is one line that does not repeat it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, runMain, startNode } from "./harness.ts";
import { checkCommand, runCommand } from "./commands.ts";
import { makeServerCertificates, type ServerCertificates } from "./certificates.ts";

/**
 * A PEM key store holding the server key encrypted with `password` (PKCS#8 PBES2, as
 * `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it) and the certificate chain.
 */
async function encryptedKeyStore(
  certs: ServerCertificates,
  name: string,
  password: string,
): Promise<string> {
  const encryptedKey = join(certs.dir, `${name}.enc.key`);
  await checkCommand("openssl", [
    "pkcs8",
    "-topk8",
    "-v2",
    "aes-256-cbc",
    "-in",
    join(certs.dir, "server.key"),
    "-out",
    encryptedKey,
    "-passout",
    `pass:${password}`,
  ]); // deno-fmt-ignore
  const store = join(certs.dir, `${name}.enc.pem`);
  await Deno.writeTextFile(store, (await Deno.readTextFile(encryptedKey)) + certs.chainPem);
  return store;
}

Deno.test({
  name: "an encrypted key store with ssl.key.password serves TLS; a wrong password is one line",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeServerCertificates();
    const store = await encryptedKeyStore(certs, "server", "key-secret");
    const plainPort = freePort();
    const sslPort = freePort();
    const controllerPort = freePort();
    const props = (password: string) => ({
      "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
      "listeners":
        `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort}`,
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name": "PLAINTEXT",
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": store,
      "ssl.key.password": password,
    });
    try {
      const node = await startNode({ props: props("key-secret") });
      try {
        const ssl = [
          "-b",
          `127.0.0.1:${sslPort}`,
          "-X",
          "security.protocol=ssl",
          "-X",
          `ssl.ca.location=${certs.caPath}`,
        ];
        const produced = await runCommand("kcat", [...ssl, "-P", "-t", "enc"], {
          stdin: "over-tls\n",
        });
        assert.equal(produced.code, 0, produced.stderr);
        const read = await runCommand("kcat", [...ssl, "-C", "-t", "enc", "-o", "beginning", "-e"]);
        assert.match(read.stdout, /over-tls/);
      } finally {
        await node.stop();
      }
      // A wrong password: server-start fails at once, in one line, without the password.
      const dir = await Deno.makeTempDir({ prefix: "kraftling-enc-" });
      try {
        const path = join(dir, "server.properties");
        const all = {
          "process.roles": "broker,controller",
          "node.id": "1",
          "controller.listener.names": "CONTROLLER",
          "log.dirs": join(dir, "logs"),
          ...props("not-the-password"),
        };
        await Deno.writeTextFile(
          path,
          Object.entries(all).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
        );
        const id = (await runMain(["storage", "random-uuid"])).stdout.trim();
        await runMain(["storage", "format", "-t", id, "-c", path]);
        const out = await runMain(["server-start", path], { timeoutMs: 30_000 });
        assert.notEqual(out.code, 0);
        assert.match(out.stderr, /ssl\.key\.password cannot decrypt the key of listener SSL/);
        assert.doesNotMatch(out.stderr + out.stdout, /not-the-password/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    } finally {
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the CLI presents an encrypted client key store with ssl.key.password to a listener requiring certificates",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeServerCertificates();
    const clientStore = await encryptedKeyStore(certs, "client", "client-key-secret");
    const plainPort = freePort();
    const sslPort = freePort();
    const controllerPort = freePort();
    const node = await startNode({
      props: {
        "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
        "listeners":
          `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
        "advertised.listeners": `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort}`,
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "ssl.keystore.location": certs.keyStorePath,
        "ssl.truststore.location": certs.caPath,
        "listener.name.ssl.ssl.client.auth": "required",
      },
    });
    const config = (lines: string[]) => {
      const path = join(certs.dir, `client-${crypto.randomUUID()}.properties`);
      Deno.writeTextFileSync(path, lines.join("\n") + "\n");
      return path;
    };
    const base = ["security.protocol=SSL", `ssl.truststore.location=${certs.caPath}`];
    const topics = (configPath: string, ...args: string[]) =>
      runMain([
        "topics",
        "--bootstrap-server",
        `127.0.0.1:${sslPort}`,
        "--command-config",
        configPath,
        ...args,
      ], { timeoutMs: 60_000 });
    try {
      const good = config([
        ...base,
        `ssl.keystore.location=${clientStore}`,
        "ssl.key.password=client-key-secret",
      ]);
      const created = await topics(good, "--create", "--topic", "enc-client", "--partitions", "1");
      assert.equal(created.code, 0, created.stderr);
      const listed = await topics(good, "--list");
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /enc-client/);

      const wrong = await topics(
        config([...base, `ssl.keystore.location=${clientStore}`, "ssl.key.password=nope-pw-5k"]),
        "--list",
      );
      assert.notEqual(wrong.code, 0);
      assert.match(
        wrong.stderr,
        /ssl\.key\.password cannot decrypt the key in ssl\.keystore\.location/,
      );
      assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
      assert.doesNotMatch(wrong.stdout + wrong.stderr, /nope-pw-5k/);

      const missing = await topics(
        config([...base, `ssl.keystore.location=${clientStore}`]),
        "--list",
      );
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /encrypted private key; set ssl\.key\.password/);

      // Without any certificate the listener refuses the client.
      const none = await topics(config(base), "--list");
      assert.notEqual(none.code, 0, none.stdout);
    } finally {
      await node.stop();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
