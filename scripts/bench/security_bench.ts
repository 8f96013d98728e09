/**
 * What security costs (issue #12): produce (acks=1) and consume throughput of librdkafka
 * (`load_gen.py`) through one node's PLAINTEXT listener, beside its SSL and SASL_SSL (SCRAM-SHA-256)
 * listeners, in the same run. Certificates are made by openssl at run time.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { freePort, startNode } from "../../tests/integration/harness.ts";
import { makeServerCertificates } from "../../tests/integration/certificates.ts";
import { Admin } from "../../net/client/admin.ts";

const LOAD_GEN = fileURLToPath(new URL("./load_gen.py", import.meta.url));
const RECORD_BYTES = 1024;

async function loadGen(args: string[], config: Record<string, string>) {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [LOAD_GEN, ...args],
    env: { KRAFTLING_LOAD_GEN_CONFIG: JSON.stringify(config) },
  }).output();
  if (out.code !== 0) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as Record<
    string,
    number
  >;
}

/**
 * Runs the comparison and returns its Markdown table (`deno task bench security`).
 *
 * @example
 * ```ts ignore
 * console.log(await runSecurityBench({ records: 100_000 }));
 * ```
 */
export async function runSecurityBench(options: { records?: number } = {}): Promise<string> {
  const records = options.records ?? 200_000;
  const certs = await makeServerCertificates();
  const [plainPort, sslPort, saslPort, controllerPort] = [
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ];
  const node = await startNode({
    props: {
      "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
      "listeners":
        `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},SASL_SSL://127.0.0.1:${saslPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      "advertised.listeners":
        `PLAINTEXT://127.0.0.1:${plainPort},SSL://127.0.0.1:${sslPort},SASL_SSL://127.0.0.1:${saslPort}`,
      "listener.security.protocol.map":
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
      "inter.broker.listener.name": "PLAINTEXT",
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": certs.keyStorePath,
      "sasl.enabled.mechanisms": "SCRAM-SHA-256",
    },
    formatArgs: ["--add-scram", "SCRAM-SHA-256=[name=bench,password=bench-secret]"],
  });
  const cases: [string, string, Record<string, string>][] = [
    ["PLAINTEXT (baseline)", `127.0.0.1:${plainPort}`, {}],
    ["SSL", `127.0.0.1:${sslPort}`, {
      "security.protocol": "SSL",
      "ssl.ca.location": certs.caPath,
    }],
    ["SASL_SSL, SCRAM-SHA-256", `127.0.0.1:${saslPort}`, {
      "security.protocol": "SASL_SSL",
      "ssl.ca.location": certs.caPath,
      "sasl.mechanism": "SCRAM-SHA-256",
      "sasl.username": "bench",
      "sasl.password": "bench-secret",
    }],
  ];
  const rows: string[] = [];
  try {
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${plainPort}` });
    try {
      for (let i = 0; i < cases.length; i++) {
        await admin.createTopics([{ name: `sec-${i}`, numPartitions: 4, replicationFactor: 1 }]);
      }
    } finally {
      admin.close();
    }
    let base: { produce: number; consume: number } | undefined;
    for (const [i, [name, bootstrap, config]] of cases.entries()) {
      const topic = `sec-${i}`;
      const produced = await loadGen(
        ["produce", bootstrap, topic, String(records), String(RECORD_BYTES), "1"],
        config,
      );
      const consumed = await loadGen(["consume", bootstrap, topic, String(records)], config);
      const mb = (recordsPerSecond: number) => (recordsPerSecond * RECORD_BYTES) / 1048576;
      if ((produced.errors ?? 0) > 0) {
        throw new Error(`${name}: ${produced.errors} delivery errors`);
      }
      const produce = mb(produced.records! / produced.seconds!);
      const consume = mb(consumed.records! / consumed.seconds!);
      base ??= { produce, consume };
      rows.push(
        `| ${name} | ${produce.toFixed(0)} (${(produce / base.produce).toFixed(2)}) | ${
          consume.toFixed(0)
        } (${(consume / base.consume).toFixed(2)}) |`,
      );
    }
  } finally {
    await node.stop();
    await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
  }
  return [
    `${records} records of ${RECORD_BYTES} B, 4 partitions, librdkafka, one node; MB/s (ratio to PLAINTEXT)\n`,
    "| listener | produce acks=1 | consume |",
    "| --- | ---: | ---: |",
    ...rows,
  ].join("\n");
}

if (import.meta.main) {
  console.log(await runSecurityBench({ records: Number(Deno.args[0] ?? 200_000) }));
}
