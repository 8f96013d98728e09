// A KafkaServer listener that asks for client certificates (served by node:tls): the principal of
// each connection comes from its certificate, `requested` serves clients without one anonymously,
// an untrusted or unmappable certificate loses only its own connection, and large frames pass both
// ways through the adapter's bounded buffering.
import assert from "node:assert/strict";
import { join } from "node:path";
import { silentLogger } from "../core/log.ts";
import { certificateSubjectDn } from "../core/config/ssl_principal.ts";
import { encodeFrame } from "./protocol/frame.ts";
import { KafkaServer } from "./server.ts";

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

interface Pem {
  cert: string;
  key: string;
}

/** A CA, a server certificate for 127.0.0.1, and client certificates (all X.509 v3). */
async function makePki(dir: string) {
  const ca = async (name: string): Promise<Pem> => {
    await openssl([
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
      join(dir, `${name}.key`),
      "-out",
      join(dir, `${name}.crt`),
    ]); // deno-fmt-ignore
    return {
      cert: await Deno.readTextFile(join(dir, `${name}.crt`)),
      key: await Deno.readTextFile(join(dir, `${name}.key`)),
    };
  };
  const issue = async (issuer: string, name: string, subject: string, ext: string) => {
    const p = (s: string) => join(dir, `${name}.${s}`);
    await Deno.writeTextFile(p("ext"), ext);
    await openssl([
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
    await openssl([
      "x509", "-req", "-days", "1", "-in", p("csr"), "-CA", join(dir, `${issuer}.crt`),
      "-CAkey", join(dir, `${issuer}.key`), "-CAcreateserial", "-extfile", p("ext"), "-out", p("crt"),
    ]); // deno-fmt-ignore
    return { cert: await Deno.readTextFile(p("crt")), key: await Deno.readTextFile(p("key")) };
  };
  const client = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
  const root = await ca("ca");
  await ca("rogue");
  return {
    ca: root,
    server: await issue(
      "ca",
      "server",
      "/CN=localhost",
      "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    ),
    alice: await issue("ca", "alice", "/O=acme/CN=alice", client),
    nobody: await issue("ca", "nobody", "/O=acme/CN=nobody", client),
    mallory: await issue("rogue", "mallory", "/O=acme/CN=mallory", client),
  };
}

type Pki = Awaited<ReturnType<typeof makePki>>;

/** A server answering every frame with its connection's principal and the frame's length. */
async function startServer(pki: Pki, mode: "requested" | "required"): Promise<KafkaServer> {
  const server = new KafkaServer({
    listenerName: "SSL",
    hostname: "127.0.0.1",
    port: 0,
    logger: silentLogger,
    frameBytesMax: 8 << 20,
    // A frame of 9 bytes asks for a 6 MiB answer (the write path); others are answered with
    // the principal and the frame's length.
    handler: (frame, info) =>
      Promise.resolve(
        frame.length === 9 ? encodeFrame(new Uint8Array(6 << 20).fill(5)) : encodeFrame(
          new TextEncoder().encode(`${info.principal ?? "ANONYMOUS"} ${frame.length}`),
        ),
      ),
    tls: {
      key: pki.server.key,
      cert: pki.server.cert,
      clientAuth: {
        mode,
        caCerts: [pki.ca.cert],
        principalOf: (der) => {
          const dn = certificateSubjectDn(der);
          return dn.includes("CN=nobody")
            ? { error: `no rule for ${dn}` }
            : { principal: `User:${dn}` };
        },
      },
    },
  });
  server.start();
  // node:tls binds a moment after `bind()` released the port it claimed: wait until it accepts.
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: server.port })).close();
      return server;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error("the node:tls listener never started accepting");
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(out.subarray(filled)).catch(() => null);
    if (got === null) return null;
    filled += got;
  }
  return out;
}

/** Sends one frame of `bodyBytes` bytes and returns the answer, or null when the connection closed. */
async function ask(
  server: KafkaServer,
  pki: Pki,
  who: Pem | undefined,
  bodyBytes = 8,
): Promise<string | null> {
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: server.port,
      caCerts: [pki.ca.cert],
      ...(who === undefined ? {} : { cert: who.cert, key: who.key }),
    });
  } catch {
    return null;
  }
  try {
    const frame = encodeFrame(new Uint8Array(bodyBytes).fill(7));
    for (let written = 0; written < frame.length;) {
      const n = await conn.write(frame.subarray(written)).catch(() => null);
      if (n === null) break;
      written += n;
    }
    const size = await readExactly(conn, 4);
    if (size === null) return null;
    const length = new DataView(size.buffer).getInt32(0);
    const body = await readExactly(conn, length);
    return body === null ? null : new TextDecoder().decode(body);
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

const hasOpenssl = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "ssl.client.auth=requested: a certificate names the principal, no certificate is anonymous",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir();
    const pki = await makePki(dir);
    const server = await startServer(pki, "requested");
    try {
      assert.equal(await ask(server, pki, pki.alice), "User:CN=alice,O=acme 8");
      assert.equal(await ask(server, pki, undefined), "ANONYMOUS 8");
      assert.equal(
        await ask(server, pki, pki.mallory),
        null,
        "an untrusted certificate is refused",
      );
      assert.equal(await ask(server, pki, pki.nobody), null, "an unmappable principal is refused");
      assert.equal(await ask(server, pki, pki.alice), "User:CN=alice,O=acme 8", "still serving");
    } finally {
      await server.stop(0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ssl.client.auth=required refuses a client without a certificate and keeps serving others",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir();
    const pki = await makePki(dir);
    const server = await startServer(pki, "required");
    try {
      assert.equal(await ask(server, pki, undefined), null);
      assert.equal(await ask(server, pki, pki.mallory), null);
      assert.equal(await ask(server, pki, pki.alice), "User:CN=alice,O=acme 8");
    } finally {
      await server.stop(0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a 6 MiB frame passes through the mutual-TLS connection whole",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir();
    const pki = await makePki(dir);
    const server = await startServer(pki, "required");
    try {
      assert.equal(await ask(server, pki, pki.alice, 6 << 20), `User:CN=alice,O=acme ${6 << 20}`);
    } finally {
      await server.stop(0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a 6 MiB answer reaches a slow reader whole, and one that leaves mid-answer frees its connection",
  ignore: !hasOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir();
    const pki = await makePki(dir);
    const server = await startServer(pki, "required");
    const connect = () =>
      Deno.connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [pki.ca.cert],
        cert: pki.alice.cert,
        key: pki.alice.key,
      });
    try {
      const slow = await connect();
      await slow.write(encodeFrame(new Uint8Array(9)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const size = await readExactly(slow, 4);
      assert.equal(new DataView(size!.buffer).getInt32(0), 6 << 20);
      const body = await readExactly(slow, 6 << 20);
      assert.ok(body !== null && body.every((b) => b === 5), "the answer arrived whole");
      slow.close();

      const leaver = await connect();
      await leaver.write(encodeFrame(new Uint8Array(9)));
      await readExactly(leaver, 1024);
      leaver.close();
      const deadline = Date.now() + 10_000;
      while (server.connectionCount > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(server.connectionCount, 0, "a connection whose client left is still held");
      assert.equal(await ask(server, pki, pki.alice), "User:CN=alice,O=acme 8");
    } finally {
      await server.stop(0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
