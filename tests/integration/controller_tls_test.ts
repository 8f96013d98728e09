// SSL controller listeners: three controllers elect a leader and replicate the metadata log over
// TLS, and a broker registers, heartbeats and forwards CreateTopics to them over TLS; the
// controller port speaks only TLS (a plaintext client gets no Kafka answer from it).
import assert from "node:assert/strict";
import { startCluster } from "./cluster_harness.ts";
import { makeServerCertificates } from "./certificates.ts";
import { runCommand } from "./commands.ts";
import { Admin } from "../../net/client/admin.ts";
import { Producer } from "../../net/client/producer.ts";

Deno.test({
  name: "a quorum and a broker talk over SSL controller listeners",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeServerCertificates();
    const cluster = await startCluster({
      controllers: 3,
      brokers: 1,
      props: {
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": certs.keyStorePath,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": certs.caPath,
      },
    });
    try {
      const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
      const producer = new Producer({ bootstrapServers: cluster.bootstrapServers });
      try {
        await admin.createTopics([{ name: "over-tls", numPartitions: 1, replicationFactor: 1 }]);
        const sent = await producer.send({ topic: "over-tls", value: "hello" });
        assert.equal(sent.offset, 0);
      } finally {
        await producer.close();
        admin.close();
      }
      // The controllers' port is TLS: openssl completes a verified handshake with it.
      const port = /CONTROLLER:\/\/127\.0\.0\.1:(\d+)/.exec(
        await Deno.readTextFile(`${cluster.controllers[0]!.dir}/server.properties`),
      )?.[1];
      assert.ok(port !== undefined);
      const handshake = await runCommand(
        "openssl",
        ["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", certs.caPath],
        { stdin: "" },
      );
      assert.match(handshake.stdout, /Verify return code: 0 \(ok\)/);
    } catch (error) {
      for (const n of [...cluster.controllers, ...cluster.brokers]) {
        console.error(`--- node ${n.nodeId}\n${n.logs().slice(-3000)}`);
      }
      throw error;
    } finally {
      await cluster.stop();
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
