// "A malformed request never takes a node down": every API version a node advertises, on its
// broker and its controller listener, gets requests that decode but carry values a client would
// rarely send (empty and over-long names, -1 and 2^31-1 and Long.MAX_VALUE, nulls, random bytes,
// absent and repeated entries). Each gets an answer or loses its own connection; the node keeps
// serving and logs no ERROR (an answer it cannot encode, an append it cannot write). The first
// run found four: Metadata answers no version could encode, offsets and retention times that
// overflowed int64 in `__consumer_offsets`, and a CreateTopics of 2^31-1 partitions that left the
// node answering nothing. A failing seed replays exactly.
import assert from "node:assert/strict";
import {
  arrayElement,
  fieldDefault,
  type FieldSpec,
  inRange,
  isStructType,
  loadSchemas,
  parseRange,
  type SchemaSpec,
  SPEC_DIR,
} from "../../scripts/gen_protocol.ts";
import { fieldPresentAt, structTable } from "../../scripts/schema_values.ts";
import { KafkaConnection } from "../../net/connection.ts";
import { API_TABLE, ApiKey } from "../../net/protocol/generated/api_table.ts";
import { uuidFromBytes } from "../../net/protocol/uuid.ts";
import { Admin } from "../../net/client/admin.ts";
import { startNode } from "./harness.ts";
import { SeededRandom } from "../../core/random.ts";

const SEED = 6;
/** Requests per advertised API version. */
const VARIANTS = 4;
/** An answer slower than this counts as a hang (long polls, waits on absent members). */
const REQUEST_TIMEOUT_MS = 2_500;
/** After this many hangs an API's remaining versions are skipped, to bound the test. */
const HANGS_PER_API_MAX = 2;

/** Random values for the fields of one schema at one version. */
class RandomRequest {
  readonly #random: () => number;
  readonly #spec: SchemaSpec;
  readonly #structs: Map<string, FieldSpec[]>;
  readonly #version: number;
  readonly #flexible: boolean;

  constructor(random: () => number, spec: SchemaSpec, version: number) {
    this.#random = random;
    this.#spec = spec;
    this.#structs = structTable(spec);
    this.#version = version;
    this.#flexible = inRange(parseRange(spec.flexibleVersions), version);
  }

  body(): Record<string, unknown> {
    return this.#struct(this.#spec.name, true);
  }

  #pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.#random() * values.length)]!;
  }

  #scalar(type: string): unknown {
    switch (type) {
      case "bool":
        return this.#random() < 0.5;
      case "int8":
        return this.#pick([0, -1, 1, 127, -128]);
      case "int16":
        return this.#pick([0, -1, 1, 3, 32767, -32768]);
      case "uint16":
        return this.#pick([0, 1, 65535]);
      case "int32":
        return this.#pick([0, -1, 1, 1000, 1 << 20, 2147483647, -2147483648]);
      case "uint32":
        return this.#pick([0, 1, 4294967295]);
      case "int64":
        return this.#pick([0n, -1n, 1n, 1000n, 9223372036854775807n, -9223372036854775808n]);
      case "float64":
        return this.#pick([0, -1, 1e308, Number.NaN]);
      case "string":
        return this.#pick(["t", "", "no-such", "__consumer_offsets", "x".repeat(300)]);
      case "uuid":
        return uuidFromBytes(new Uint8Array(16).map(() => Math.floor(this.#random() * 256)));
      case "bytes":
      case "records":
        return new Uint8Array(Math.floor(this.#random() * 80)).map(() =>
          Math.floor(this.#random() * 256)
        );
    }
    throw new Error(`not a scalar: ${type}`);
  }

  #default(f: FieldSpec): unknown {
    const d = fieldDefault(f);
    if (d === "empty") return arrayElement(f.type) !== undefined ? [] : new Uint8Array(0);
    if (d === "struct") return this.#struct(f.type, false);
    return d;
  }

  #field(f: FieldSpec): unknown {
    if (!fieldPresentAt(f, this.#version, this.#flexible)) return this.#default(f);
    if (inRange(parseRange(f.nullableVersions), this.#version) && this.#random() < 0.2) {
      return null;
    }
    const element = arrayElement(f.type);
    if (element !== undefined) {
      return Array.from(
        { length: this.#pick([0, 1, 1, 2, 3]) },
        () => isStructType(element) ? this.#struct(element, true) : this.#scalar(element),
      );
    }
    if (isStructType(f.type)) return this.#struct(f.type, true);
    return this.#random() < 0.2 ? this.#default(f) : this.#scalar(f.type);
  }

  #struct(name: string, fill: boolean): Record<string, unknown> {
    const fields = name === this.#spec.name ? this.#spec.fields : this.#structs.get(name)!;
    const out: Record<string, unknown> = { _unknownTaggedFields: [] };
    for (const f of fields) {
      out[f.name[0]!.toLowerCase() + f.name.slice(1)] = fill ? this.#field(f) : this.#default(f);
    }
    return out;
  }
}

async function serves(port: number): Promise<boolean> {
  try {
    const conn = await KafkaConnection.connect("127.0.0.1", port, { requestTimeoutMs: 5_000 });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "random requests of every advertised api version get answers and never take the node down",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const seeded = new SeededRandom(SEED);
    const random = () => seeded.next();
    const requestSpecs = new Map<number, SchemaSpec>();
    for (const { spec } of loadSchemas(SPEC_DIR)) {
      if (spec.type === "request") requestSpecs.set(spec.apiKey!, spec);
    }
    const node = await startNode();
    let sent = 0;
    let answered = 0;
    try {
      const admin = new Admin({ bootstrapServers: node.bootstrap });
      await admin.createTopics([{ name: "t", numPartitions: 2, replicationFactor: 1 }]);
      admin.close();
      for (const port of [node.brokerPort, node.controllerPort]) {
        const probe = await KafkaConnection.connect("127.0.0.1", port);
        const advertised = [...probe.versions.entries()];
        probe.close();
        for (const [apiKey, range] of advertised) {
          const spec = requestSpecs.get(apiKey)!;
          let hangs = 0;
          for (let version = range.min; version <= range.max; version++) {
            for (let i = 0; i < VARIANTS && hangs < HANGS_PER_API_MAX; i++) {
              const body = new RandomRequest(random, spec, version).body();
              if (apiKey === ApiKey.PRODUCE) body.acks = -1; // acks=0 is never answered
              sent++;
              let conn: KafkaConnection | null = null;
              try {
                conn = await KafkaConnection.connect("127.0.0.1", port, {
                  skipApiVersions: true,
                  requestTimeoutMs: REQUEST_TIMEOUT_MS,
                });
                await conn.send(apiKey, body, { version });
                answered++;
              } catch (error) {
                // Refusing a request by closing its connection is allowed; hanging is bounded.
                if (/timed out/.test((error as Error).message)) hangs++;
              } finally {
                conn?.close();
              }
            }
          }
          const name = API_TABLE.get(apiKey)!.name;
          assert.ok(await serves(node.brokerPort), `the node stopped serving after ${name}`);
        }
      }
      const errors = node.logs().split("\n").filter((line) => / ERROR /.test(line));
      assert.deepEqual(errors, [], "the node logged errors");
      assert.ok(sent > 500 && answered > sent * 0.9, `${answered} of ${sent} answered`);
    } finally {
      await node.stop();
    }
  },
});
