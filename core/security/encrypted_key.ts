/**
 * Decrypts a PEM `ENCRYPTED PRIVATE KEY` (PKCS#8 EncryptedPrivateKeyInfo with PBES2: PBKDF2 over
 * HMAC-SHA1/SHA-224/SHA-256/SHA-384/SHA-512 and AES-128/192/256-CBC, what `openssl pkcs8 -topk8`
 * and Java's keytool write) with `ssl.key.password`, into the plain `PRIVATE KEY` PEM a TLS listener
 * needs. WebCrypto does the cryptography; this module reads the ASN.1 around it.
 *
 * @example
 * ```ts ignore
 * const plainPem = await decryptPrivateKeyPem(encryptedPem, "key-secret");
 * ```
 *
 * @module
 */

/** Why a key cannot be decrypted (wrong password, an unsupported scheme, bad data). */
export class KeyDecryptionError extends Error {}

const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacSha1: "1.2.840.113549.2.7",
  hmacSha224: "1.2.840.113549.2.8",
  hmacSha256: "1.2.840.113549.2.9",
  hmacSha384: "1.2.840.113549.2.10",
  hmacSha512: "1.2.840.113549.2.11",
  aes128Cbc: "2.16.840.1.101.3.4.1.2",
  aes192Cbc: "2.16.840.1.101.3.4.1.22",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
} as const;

const PRF_HASH: Record<string, string> = {
  [OID.hmacSha1]: "SHA-1",
  [OID.hmacSha224]: "SHA-224",
  [OID.hmacSha256]: "SHA-256",
  [OID.hmacSha384]: "SHA-384",
  [OID.hmacSha512]: "SHA-512",
};

const AES_KEY_BYTES: Record<string, number> = {
  [OID.aes128Cbc]: 16,
  [OID.aes192Cbc]: 24,
  [OID.aes256Cbc]: 32,
};

/** One DER element: its tag, and where its contents lie. */
interface Der {
  tag: number;
  start: number;
  end: number;
}

function readDer(bytes: Uint8Array, at: number): Der & { next: number } {
  if (at + 2 > bytes.length) throw new KeyDecryptionError("Truncated key data");
  const tag = bytes[at]!;
  let length = bytes[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > bytes.length) {
      throw new KeyDecryptionError("Bad length in key data");
    }
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new KeyDecryptionError("Truncated key data");
  return { tag, start, end, next: end };
}

/** The children of a SEQUENCE. */
function children(bytes: Uint8Array, parent: Der): Der[] {
  if (parent.tag !== 0x30) throw new KeyDecryptionError("Expected a SEQUENCE in key data");
  const out: Der[] = [];
  for (let at = parent.start; at < parent.end;) {
    const d = readDer(bytes, at);
    out.push(d);
    at = d.next;
  }
  return out;
}

function oid(bytes: Uint8Array, d: Der): string {
  if (d.tag !== 0x06) throw new KeyDecryptionError("Expected an OBJECT IDENTIFIER in key data");
  const body = bytes.subarray(d.start, d.end);
  const parts = [Math.floor(body[0]! / 40), body[0]! % 40];
  let value = 0;
  for (let i = 1; i < body.length; i++) {
    value = value * 128 + (body[i]! & 0x7f);
    if ((body[i]! & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

function integer(bytes: Uint8Array, d: Der): number {
  if (d.tag !== 0x02) throw new KeyDecryptionError("Expected an INTEGER in key data");
  let value = 0;
  for (let i = d.start; i < d.end; i++) value = value * 256 + bytes[i]!;
  return value;
}

function octets(bytes: Uint8Array, d: Der): Uint8Array<ArrayBuffer> {
  if (d.tag !== 0x04) throw new KeyDecryptionError("Expected an OCTET STRING in key data");
  return new Uint8Array(bytes.subarray(d.start, d.end));
}

function pemBody(pem: string, label: string): Uint8Array | null {
  const match = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (match === null) return null;
  const base64 = match[1]!.replace(/\s+/g, "");
  const binary = atob(base64);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function toPem(der: Uint8Array, label: string): string {
  let binary = "";
  for (const b of der) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** True when `pem` holds an encrypted private key (PKCS#8 or OpenSSL's legacy form). */
export function isEncryptedKeyPem(pem: string): boolean {
  return pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
    /Proc-Type:\s*4,\s*ENCRYPTED/.test(pem);
}

/**
 * The plain PKCS#8 `PRIVATE KEY` PEM of an `ENCRYPTED PRIVATE KEY` PEM. Throws
 * {@link KeyDecryptionError} for a wrong password, OpenSSL's legacy encrypted format, or a scheme
 * other than PBES2 with PBKDF2 and AES-CBC.
 */
export async function decryptPrivateKeyPem(pem: string, password: string): Promise<string> {
  if (/Proc-Type:\s*4,\s*ENCRYPTED/.test(pem)) {
    throw new KeyDecryptionError(
      "the key is in OpenSSL's legacy encrypted format; convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
    );
  }
  const der = pemBody(pem, "ENCRYPTED PRIVATE KEY");
  if (der === null) throw new KeyDecryptionError("no ENCRYPTED PRIVATE KEY block");
  const [algorithm, encrypted] = children(der, readDer(der, 0));
  if (algorithm === undefined || encrypted === undefined) {
    throw new KeyDecryptionError("Bad EncryptedPrivateKeyInfo");
  }
  const [schemeOid, schemeParams] = children(der, algorithm);
  if (oid(der, schemeOid!) !== OID.pbes2) {
    throw new KeyDecryptionError(
      "only PBES2 (PBKDF2 + AES-CBC) encrypted keys are supported; convert with `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
    );
  }
  const [kdf, cipher] = children(der, schemeParams!);
  const [kdfOid, kdfParams] = children(der, kdf!);
  if (oid(der, kdfOid!) !== OID.pbkdf2) throw new KeyDecryptionError("only PBKDF2 is supported");
  const kdfFields = children(der, kdfParams!);
  const salt = octets(der, kdfFields[0]!);
  const iterations = integer(der, kdfFields[1]!);
  let hash = "SHA-1";
  for (const field of kdfFields.slice(2)) {
    if (field.tag === 0x30) {
      const prf = oid(der, children(der, field)[0]!);
      const name = PRF_HASH[prf];
      if (name === undefined) throw new KeyDecryptionError(`unsupported PBKDF2 PRF ${prf}`);
      hash = name;
    }
  }
  const [cipherOid, ivDer] = children(der, cipher!);
  const cipherName = oid(der, cipherOid!);
  const keyBytes = AES_KEY_BYTES[cipherName];
  if (keyBytes === undefined) {
    throw new KeyDecryptionError(`unsupported cipher ${cipherName}: only AES-CBC is supported`);
  }
  const iv = octets(der, ivDer!);
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", salt, iterations, hash },
    base,
    keyBytes * 8,
  );
  const key = await crypto.subtle.importKey("raw", bits, "AES-CBC", false, ["decrypt"]);
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: "AES-CBC", iv }, key, octets(der, encrypted));
  } catch {
    throw new KeyDecryptionError("the key cannot be decrypted: is ssl.key.password right?");
  }
  const plainDer = new Uint8Array(plain);
  try {
    readDer(plainDer, 0); // a wrong password that happens to pass the padding check
  } catch {
    throw new KeyDecryptionError("the key cannot be decrypted: is ssl.key.password right?");
  }
  return toPem(plainDer, "PRIVATE KEY");
}
