// SSL controller listeners: three controllers elect a leader and replicate the metadata log over
// TLS, and a broker registers, heartbeats and forwards CreateTopics to them over TLS; the
// controller port speaks only TLS (a plaintext client gets no Kafka answer from it). With
// `ssl.client.auth=required` on the controller listener every node presents the controller
// listener's key store, and a client without a certificate is refused.
import assert from "node:assert/strict";
import { startCluster } from "./cluster_harness.ts";
import { makeServerCertificates } from "./certificates.ts";
import { runCommand } from "./commands.ts";
import { Admin } from "../../net/client/admin.ts";
import { Producer } from "../../net/client/producer.ts";
import { KafkaConnection } from "../../net/connection.ts";

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

Deno.test({
  name:
    "controllers requiring client certificates (ssl.client.auth=required) get one from every node, and refuse a client without",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const certs = await makeServerCertificates();
    const cluster = await startCluster({
      controllers: 3,
      brokers: 1,
      props: {
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
        "listener.name.controller.ssl.keystore.location": certs.keyStorePath,
        "listener.name.controller.ssl.truststore.location": certs.caPath,
        "listener.name.controller.ssl.client.auth": "required",
      },
    });
    try {
      // The broker registered (over the controller channel) and CreateTopics is forwarded to the
      // controllers, who elected a leader over raft connections: all of them presented certificates.
      const admin = new Admin({ bootstrapServers: cluster.bootstrapServers });
      const producer = new Producer({ bootstrapServers: cluster.bootstrapServers });
      try {
        await admin.createTopics([{ name: "over-mtls", numPartitions: 1, replicationFactor: 1 }]);
        const sent = await producer.send({ topic: "over-mtls", value: "hello" });
        assert.equal(sent.offset, 0);
      } finally {
        await producer.close();
        admin.close();
      }
      const port = Number(
        /CONTROLLER:\/\/127\.0\.0\.1:(\d+)/.exec(
          await Deno.readTextFile(`${cluster.controllers[0]!.dir}/server.properties`),
        )?.[1],
      );
      const caCerts = [await Deno.readTextFile(certs.caPath)];
      const withCert = await KafkaConnection.connect("127.0.0.1", port, {
        tls: { caCerts, cert: certs.chainPem, key: certs.keyPem },
        requestTimeoutMs: 10_000,
      });
      assert.ok(withCert.versions.size > 0, "no ApiVersions answer with a certificate");
      withCert.close();
      const without = await KafkaConnection.connect("127.0.0.1", port, {
        tls: { caCerts },
        requestTimeoutMs: 10_000,
      }).then((c) => {
        c.close();
        return null;
      }, (e: Error) => e);
      assert.ok(without !== null, "a client without a certificate got an ApiVersions answer");
      // The refused client cost nothing: the quorum still serves the broker.
      const again = new Admin({ bootstrapServers: cluster.bootstrapServers });
      try {
        await again.createTopics([{
          name: "after-refusal",
          numPartitions: 1,
          replicationFactor: 1,
        }]);
      } finally {
        again.close();
      }
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
