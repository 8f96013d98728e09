// Golden wire fixtures from real clients: KafkaJS (in process) and kcat (librdkafka, if
// installed) connect to a throwaway listener; their ApiVersions and Metadata request frames must
// decode with our codecs and re-encode byte for byte.
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { FrameSplitter } from "../net/protocol/frame.ts";
import {
  readRequestHeader,
  writeRequestHeader,
  writeResponseHeader,
} from "../net/protocol/header.ts";
import { API_TABLE, ApiKey } from "../net/protocol/generated/api_table.ts";
import {
  createApiVersion,
  createApiVersionsResponse,
  writeApiVersionsResponse,
} from "../net/protocol/generated/api_versions_response.ts";
import {
  createMetadataResponse,
  createMetadataResponseBroker,
  writeMetadataResponse,
} from "../net/protocol/generated/metadata_response.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { Reader } from "../net/protocol/reader.ts";
import { Writer } from "../net/protocol/writer.ts";

interface Captured {
  apiKey: number;
  apiVersion: number;
  frame: Uint8Array;
}

/** A listener that answers ApiVersions and Metadata minimally and records request frames. */
class FakeBroker {
  readonly listener: Deno.TcpListener;
  readonly captured: Captured[] = [];
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #done: Promise<void>;

  constructor() {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#done = this.#acceptLoop();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  async #acceptLoop(): Promise<void> {
    const handlers: Promise<void>[] = [];
    try {
      for await (const conn of this.listener) {
        this.#conns.add(conn);
        handlers.push(this.#serve(conn).finally(() => this.#conns.delete(conn)));
      }
    } catch {
      // listener closed
    }
    await Promise.allSettled(handlers);
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const splitter = new FrameSplitter({ frameBytesMax: 1 << 20 });
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let reads = 0; reads < 1000; reads++) {
        const n = await conn.read(buf);
        if (n === null) return;
        for (const frame of splitter.push(buf.subarray(0, n))) {
          const response = this.#answer(frame);
          if (response) await writeAll(conn, response);
        }
      }
    } catch {
      // connection closed by the client or by close()
    } finally {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  #answer(frame: Uint8Array): Uint8Array | undefined {
    const r = new Reader(frame);
    const { header, supported } = readRequestHeader(r);
    const { requestApiKey: apiKey, requestApiVersion: apiVersion } = header;
    this.captured.push({ apiKey, apiVersion, frame });
    const w = new Writer();
    const at = w.reserveSizePrefix();
    writeResponseHeader(w, { apiKey, apiVersion, correlationId: header.correlationId });
    if (apiKey === ApiKey.API_VERSIONS) {
      const apiKeys = [...API_TABLE.values()].map((api) =>
        createApiVersion({
          apiKey: api.apiKey,
          minVersion: api.minVersion,
          maxVersion: api.maxVersion,
        })
      );
      const body = supported
        ? createApiVersionsResponse({ apiKeys })
        : createApiVersionsResponse({ errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys });
      writeApiVersionsResponse(w, supported ? apiVersion : 0, body);
    } else if (apiKey === ApiKey.METADATA) {
      writeMetadataResponse(
        w,
        apiVersion,
        createMetadataResponse({
          brokers: [
            createMetadataResponseBroker({ nodeId: 0, host: "127.0.0.1", port: this.port }),
          ],
          clusterId: "golden-test-cluster",
          controllerId: 0,
        }),
      );
    } else {
      return undefined;
    }
    w.patchSizePrefix(at);
    return w.finish();
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await this.#done;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  for (let i = 0; at < bytes.length && i < 10_000; i++) at += await conn.write(bytes.subarray(at));
}

/** Decodes a request frame with the api table and re-encodes it; returns the re-encoded bytes. */
function reencode(frame: Uint8Array): Uint8Array {
  const r = new Reader(frame);
  const { header } = readRequestHeader(r);
  const api = API_TABLE.get(header.requestApiKey)!;
  const body = api.readRequest(r, header.requestApiVersion);
  assert.equal(r.remaining, 0, `${api.name}: bytes left over`);
  const w = new Writer();
  writeRequestHeader(w, header);
  api.writeRequest(w, header.requestApiVersion, body as never);
  return w.finish();
}

const testdataDir = new URL("./testdata/golden_frames/", import.meta.url);

/** With KRAFTLING_UPDATE_GOLDEN=1, saves the first frame of each (api, version) as a fixture. */
function saveFixtures(captured: Captured[], client: string): void {
  if (Deno.env.get("KRAFTLING_UPDATE_GOLDEN") !== "1") return;
  Deno.mkdirSync(testdataDir, { recursive: true });
  for (const c of captured) {
    const name = `${client}_${API_TABLE.get(c.apiKey)!.name}_v${c.apiVersion}.bin`;
    Deno.writeFileSync(new URL(name, testdataDir), c.frame);
  }
}

function checkCaptured(captured: Captured[], client: string): void {
  saveFixtures(captured, client);
  for (const apiKey of [ApiKey.API_VERSIONS, ApiKey.METADATA]) {
    const frames = captured.filter((c) => c.apiKey === apiKey);
    assert.ok(frames.length > 0, `${client} sent no request with api key ${apiKey}`);
    for (const c of frames) {
      assert.deepEqual(reencode(c.frame), c.frame, `${client} api ${apiKey} v${c.apiVersion}`);
    }
  }
}

Deno.test({
  name: "KafkaJS ApiVersions and Metadata request frames decode and re-encode byte for byte",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const broker = new FakeBroker();
    const kafka = new Kafka({
      clientId: "golden-kafkajs",
      brokers: [`127.0.0.1:${broker.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 3000,
      requestTimeout: 3000,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [] });
    } finally {
      await admin.disconnect().catch(() => {});
      await broker.close();
    }
    checkCaptured(broker.captured, "KafkaJS");
  },
});

async function findKcat(): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const path = `${dir}/kcat`;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

const kcat = await findKcat();
if (kcat === undefined) console.log("Skipping the kcat golden frames: kcat is not installed.");

Deno.test({
  name:
    "kcat (librdkafka) ApiVersions and Metadata request frames decode and re-encode byte for byte",
  ignore: kcat === undefined,
  async fn() {
    const broker = new FakeBroker();
    const child = new Deno.Command(kcat!, {
      args: ["-L", "-b", `127.0.0.1:${broker.port}`, "-m", "5"],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, 15_000);
    try {
      const out = await child.output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.ok(stdout.includes("1 brokers"), `kcat output: ${stdout}`);
    } finally {
      clearTimeout(timer);
      await broker.close();
    }
    checkCaptured(broker.captured, "kcat");
  },
});

Deno.test("saved golden request frames decode and re-encode byte for byte", () => {
  let count = 0;
  for (const entry of Deno.readDirSync(testdataDir)) {
    if (!entry.name.endsWith(".bin")) continue;
    const frame = Deno.readFileSync(new URL(entry.name, testdataDir));
    assert.deepEqual(reencode(frame), frame, entry.name);
    count++;
  }
  assert.ok(count >= 4, `only ${count} fixtures in ${testdataDir}`);
});
