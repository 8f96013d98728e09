// ssl.key.password: an SSL listener whose PEM key store holds an ENCRYPTED PRIVATE KEY (PKCS#8
// PBES2, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it) serves kcat; a wrong password stops
// the start with one line naming the key.
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, runMain, startNode } from "./harness.ts";
import { checkCommand, runCommand } from "./commands.ts";
import { makeServerCertificates } from "./certificates.ts";

Deno.test({
  name: "an encrypted key store with ssl.key.password serves TLS; a wrong password is one line",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeServerCertificates();
    const encryptedKey = join(certs.dir, "server.enc.key");
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
      "pass:key-secret",
    ]); // deno-fmt-ignore
    const store = join(certs.dir, "server.enc.pem");
    await Deno.writeTextFile(
      store,
      (await Deno.readTextFile(encryptedKey)) +
        (await Deno.readTextFile(join(certs.dir, "server.crt"))),
    );
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
