// Encrypted PKCS#8 keys as `openssl pkcs8 -topk8 -v2 <cipher>` writes them, made at test time.
import { strict as assert } from "node:assert";
import { decryptPrivateKeyPem, isEncryptedKeyPem, KeyDecryptionError } from "./encrypted_key.ts";

async function openssl(args: string[], stdin?: string): Promise<void> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("PBES2 keys decrypt to the key they were made from (AES-256/SHA-256, AES-128/SHA-512)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      `${dir}/k.pem`,
    ]);
    const plain = await Deno.readTextFile(`${dir}/k.pem`);
    for (
      const extra of [["-v2", "aes-256-cbc"], ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"]]
    ) {
      await openssl([
        "pkcs8",
        "-topk8",
        ...extra,
        "-in",
        `${dir}/k.pem`,
        "-out",
        `${dir}/e.pem`,
        "-passout",
        "pass:key-secret",
      ]); // deno-fmt-ignore
      const encrypted = await Deno.readTextFile(`${dir}/e.pem`);
      assert.ok(isEncryptedKeyPem(encrypted));
      const decrypted = await decryptPrivateKeyPem(encrypted, "key-secret");
      assert.equal(decrypted.replace(/\s+/g, ""), plain.replace(/\s+/g, ""), extra.join(" "));
      await assert.rejects(decryptPrivateKeyPem(encrypted, "wrong"), KeyDecryptionError);
    }
    assert.ok(!isEncryptedKeyPem(plain));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("OpenSSL's legacy encrypted PEM is refused with how to convert it", async () => {
  const legacy =
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
  assert.ok(isEncryptedKeyPem(legacy));
  await assert.rejects(decryptPrivateKeyPem(legacy, "x"), /openssl pkcs8 -topk8/);
});
