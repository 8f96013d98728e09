/**
 * Test certificates made by openssl at run time (no private key is committed): a CA and a server
 * certificate for 127.0.0.1/localhost signed by it, written as Kafka's PEM key store file.
 *
 * @example
 * ```ts ignore
 * const certs = await makeServerCertificates();
 * props["ssl.keystore.location"] = certs.keyStorePath;
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { checkCommand } from "./commands.ts";

/** Paths and PEM text of a test CA and server certificate. */
export interface ServerCertificates {
  dir: string;
  /** The CA certificate (a trust store). */
  caPath: string;
  /** Private key + server certificate + CA: Kafka's PEM key store file. */
  keyStorePath: string;
  /** The server's private key, PEM. */
  keyPem: string;
  /** The server certificate then the CA, PEM. */
  chainPem: string;
}

/** Makes a CA and a server certificate (X.509 v3) in a new temp directory. */
export async function makeServerCertificates(): Promise<ServerCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "kraftling-certs-" });
  const p = (name: string) => join(dir, name);
  await checkCommand("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=kraftling-test-ca",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
  ]); // deno-fmt-ignore
  await checkCommand("openssl", [
    "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
    "-keyout", p("server.key"), "-out", p("server.csr"),
  ]); // deno-fmt-ignore
  await Deno.writeTextFile(p("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await checkCommand("openssl", [
    "x509",
    "-req",
    "-days",
    "1",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-extfile",
    p("ext.cnf"),
    "-out",
    p("server.crt"),
  ]); // deno-fmt-ignore
  const keyPem = await Deno.readTextFile(p("server.key"));
  const chainPem = (await Deno.readTextFile(p("server.crt"))) +
    (await Deno.readTextFile(p("ca.pem")));
  await Deno.writeTextFile(p("server.pem"), keyPem + chainPem);
  return { dir, caPath: p("ca.pem"), keyStorePath: p("server.pem"), keyPem, chainPem };
}
