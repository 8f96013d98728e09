// Round-trips every schema (every api key's request and response, every metadata,
// group-coordinator, transaction-coordinator, raft and data schema) at every valid version with
// values generated from the schema itself, and fuzzes every request decoder.
import assert from "node:assert/strict";
import {
  arrayElement,
  fieldDefault,
  type FieldSpec,
  inRange,
  isStructType,
  type LoadedSchema,
  loadSchemas,
  parseRange,
  type Range,
  type SchemaSpec,
  snakeCase,
  SPEC_DIR,
} from "../../scripts/gen_protocol.ts";
import { fieldPresentAt, structTable } from "../../scripts/schema_values.ts";
import { DecodeError, KafkaError } from "./errors.ts";
import { API_TABLE } from "./generated/api_table.ts";
import { CONTROL_RECORDS, METADATA_RECORDS } from "./generated/metadata_records.ts";
import { Reader } from "./reader.ts";
import { uuidFromBytes } from "./uuid.ts";
import { Writer } from "./writer.ts";
import { SeededRandom } from "../../core/random.ts";

const schemas: LoadedSchema[] = loadSchemas(SPEC_DIR);

type Codec = {
  read(r: Reader, version: number): unknown;
  write(w: Writer, version: number, m: unknown): void;
  create(): unknown;
};

async function codecOf(spec: SchemaSpec): Promise<Codec> {
  const mod = await import(`./generated/${snakeCase(spec.name)}.ts`) as Record<string, unknown>;
  const read = mod[`read${spec.name}`], write = mod[`write${spec.name}`];
  const create = mod[`create${spec.name}`];
  assert.equal(typeof read, "function");
  assert.equal(typeof write, "function");
  assert.equal(typeof create, "function");
  return { read, write, create } as Codec;
}

interface Ctx {
  spec: SchemaSpec;
  structs: Map<string, FieldSpec[]>;
  version: number;
  flexible: boolean;
  /** Set nullable fields to null instead of a value. */
  nulls: boolean;
  counter: number;
}

function presentAt(f: FieldSpec, ctx: Ctx): boolean {
  return fieldPresentAt(f, ctx.version, ctx.flexible);
}

function defaultValue(f: FieldSpec, ctx: Ctx): unknown {
  const d = fieldDefault(f);
  if (d === "empty") return arrayElement(f.type) !== undefined ? [] : new Uint8Array(0);
  if (d === "struct") return structValue(f.type, ctx, false);
  return d;
}

/** A value of a scalar type that differs from `avoid`. */
function scalarValue(type: string, ctx: Ctx, avoid: unknown): unknown {
  const n = ++ctx.counter;
  switch (type) {
    case "bool":
      return avoid === true ? false : true;
    case "int8":
      return pickNot([7 + (n % 100), -5], avoid);
    case "int16":
      return pickNot([1000 + n, -7], avoid);
    case "uint16":
      return pickNot([65000 - n, 3], avoid);
    case "int32":
    case "uint32":
      return pickNot([100000 + n, 2000000000], avoid);
    case "int64":
      return pickNot([1234567890123n + BigInt(n), -99n], avoid);
    case "float64":
      return pickNot([0.5 + n, -2.25], avoid);
    case "string":
      return pickNot([`s${n}-é€`, `t${n}`], avoid);
    case "uuid":
      return uuidFromBytes(new Uint8Array(16).map((_, i) => (i * 31 + n) & 255));
    case "bytes":
    case "records":
      return new Uint8Array([n & 255, 1, 2, 3]);
  }
  throw new Error(`not a scalar: ${type}`);
}

function pickNot<T>(candidates: T[], avoid: unknown): T {
  return candidates.find((c) => c !== avoid) ?? candidates[0]!;
}

function fieldValue(f: FieldSpec, ctx: Ctx): unknown {
  if (!presentAt(f, ctx)) return defaultValue(f, ctx);
  const nullable = inRange(parseRange(f.nullableVersions), ctx.version);
  if (nullable && ctx.nulls) return null;
  const elem = arrayElement(f.type);
  if (elem !== undefined) {
    if (isStructType(elem)) return [structValue(elem, ctx, true), structValue(elem, ctx, true)];
    return [scalarValue(elem, ctx, undefined), scalarValue(elem, ctx, undefined)];
  }
  if (isStructType(f.type)) return structValue(f.type, ctx, true);
  const d = fieldDefault(f);
  return scalarValue(f.type, ctx, d);
}

function structValue(name: string, ctx: Ctx, fill: boolean): Record<string, unknown> {
  const fields = name === ctx.spec.name ? ctx.spec.fields : ctx.structs.get(name);
  assert.ok(fields, `no struct ${name}`);
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const key = f.name[0]!.toLowerCase() + f.name.slice(1);
    out[key] = fill ? fieldValue(f, ctx) : defaultValue(f, ctx);
  }
  out._unknownTaggedFields = fill && ctx.flexible
    ? [{ tag: 10000 + (ctx.counter++ % 50), data: new Uint8Array([1, 2, 3]) }]
    : [];
  return out;
}

function versionsOf(spec: SchemaSpec): number[] {
  const r: Range = parseRange(spec.validVersions);
  const out: number[] = [];
  for (let v = r.lo; v <= r.hi; v++) out.push(v);
  return out;
}

function exampleOf(spec: SchemaSpec, version: number, nulls: boolean): Record<string, unknown> {
  const ctx: Ctx = {
    spec,
    structs: structTable(spec),
    version,
    flexible: inRange(parseRange(spec.flexibleVersions), version),
    nulls,
    counter: 0,
  };
  return structValue(spec.name, ctx, true);
}

function encode(codec: Codec, version: number, m: unknown): Uint8Array {
  const w = new Writer(64);
  codec.write(w, version, m);
  return w.finish();
}

function roundTrip(codec: Codec, version: number, m: unknown, label: string): Uint8Array {
  const bytes = encode(codec, version, m);
  const r = new Reader(bytes);
  const decoded = codec.read(r, version);
  assert.equal(r.remaining, 0, `${label}: bytes left over after decoding`);
  assert.deepStrictEqual(decoded, m, `${label}: decoded value differs`);
  assert.deepStrictEqual(encode(codec, version, decoded), bytes, `${label}: re-encoding differs`);
  return bytes;
}

Deno.test({
  name: "every schema round-trips at every valid version with non-default and null values",
  async fn(t) {
    assert.equal(schemas.length, 236);
    for (const { dir, spec } of schemas) {
      const codec = await codecOf(spec);
      await t.step(`${dir}/${spec.name}`, () => {
        for (const version of versionsOf(spec)) {
          for (const nulls of [false, true]) {
            const m = exampleOf(spec, version, nulls);
            roundTrip(codec, version, m, `${spec.name} v${version}${nulls ? " (nulls)" : ""}`);
          }
          // The defaults also round-trip.
          roundTrip(codec, version, codec.create(), `${spec.name} v${version} (defaults)`);
        }
      });
    }
  },
});

Deno.test({
  name: "a non-default value in a non-ignorable field absent at the version is an EncodeError",
  async fn() {
    let checked = 0;
    for (const { spec } of schemas) {
      const codec = await codecOf(spec);
      for (const version of versionsOf(spec)) {
        const ctx: Ctx = {
          spec,
          structs: structTable(spec),
          version,
          flexible: inRange(parseRange(spec.flexibleVersions), version),
          nulls: false,
          counter: 0,
        };
        for (const f of spec.fields) {
          if (f.ignorable || presentAt(f, ctx)) continue;
          const m = codec.create() as Record<string, unknown>;
          const key = f.name[0]!.toLowerCase() + f.name.slice(1);
          const elem = arrayElement(f.type);
          m[key] = elem !== undefined
            ? [
              isStructType(elem)
                ? structValue(elem, ctx, false)
                : scalarValue(elem, ctx, undefined),
            ]
            : isStructType(f.type)
            ? (fieldDefault(f) === null ? structValue(f.type, ctx, false) : null)
            : scalarValue(f.type, ctx, fieldDefault(f));
          if (isStructType(f.type) && m[key] === null) continue; // null is not a valid value there
          assert.throws(
            () => encode(codec, version, m),
            (e: unknown) => e instanceof Error && e.name === "EncodeError",
            `${spec.name}.${key} v${version}`,
          );
          checked++;
        }
      }
    }
    assert.ok(checked > 100, `only ${checked} cases`);
  },
});

Deno.test({
  name: "every version outside the valid range is rejected on read and write",
  async fn() {
    for (const { spec } of schemas) {
      const codec = await codecOf(spec);
      const r = parseRange(spec.validVersions);
      for (const version of [r.lo - 1, r.hi + 1]) {
        assert.throws(() => codec.read(new Reader(new Uint8Array(64)), version), KafkaError);
        assert.throws(
          () => encode(codec, version, codec.create()),
          (e: unknown) => e instanceof Error && e.name === "EncodeError",
        );
      }
    }
  },
});

Deno.test({
  name: "the api table covers every request schema with its own codecs and versions",
  async fn() {
    const requests = schemas.filter((s) => s.spec.type === "request");
    assert.equal(API_TABLE.size, requests.length);
    for (const { spec } of requests) {
      const api = API_TABLE.get(spec.apiKey!);
      assert.ok(api, spec.name);
      const codec = await codecOf(spec);
      assert.equal(api.readRequest, codec.read);
      const res = schemas.find((s) => s.spec.type === "response" && s.spec.apiKey === spec.apiKey)!;
      assert.equal(api.readResponse, (await codecOf(res.spec)).read);
      const valid = parseRange(spec.validVersions);
      assert.deepEqual([api.minVersion, api.maxVersion], [valid.lo, valid.hi]);
      assert.deepEqual(api.listeners, spec.listeners ?? []);
    }
    const fetch = API_TABLE.get(1)!;
    assert.deepEqual([fetch.name, fetch.minVersion, fetch.maxVersion, fetch.flexibleMin], [
      "Fetch",
      0,
      17,
      12,
    ]);
    assert.equal(API_TABLE.get(7)!.flexibleMin, 3);
  },
});

Deno.test({
  name: "the metadata record table maps record type ids to their schemas",
  async fn() {
    const records = schemas.filter((s) => s.spec.type === "metadata");
    assert.equal(METADATA_RECORDS.size, records.length);
    for (const { spec } of records) {
      assert.equal(METADATA_RECORDS.get(spec.apiKey!)!.read, (await codecOf(spec)).read);
    }
    assert.deepEqual([...CONTROL_RECORDS.keys()], [2, 3, 4, 5, 6]);
    assert.equal(CONTROL_RECORDS.get(2)!.name, "LeaderChangeMessage");
  },
});

Deno.test({
  name: "fuzzed request frames only ever throw DecodeError or KafkaError, in bounded time",
  async fn() {
    const seeded = new SeededRandom(20241025);
    const random = () => seeded.next();
    const started = performance.now();
    let decoded = 0, rejected = 0;
    const requests = schemas.filter((s) => s.spec.type === "request" || s.spec.type === "header");
    for (const { spec } of requests) {
      const codec = await codecOf(spec);
      for (const version of versionsOf(spec)) {
        const valid = encode(codec, version, exampleOf(spec, version, false));
        const inputs: Uint8Array[] = [];
        for (let i = 0; i < 40; i++) {
          const mutated = valid.slice();
          const flips = 1 + Math.floor(random() * 4);
          for (let j = 0; j < flips && mutated.length > 0; j++) {
            const at = Math.floor(random() * mutated.length);
            mutated[at] = random() < 0.3 ? 0xff : Math.floor(random() * 256);
          }
          inputs.push(mutated);
          inputs.push(valid.subarray(0, Math.floor(random() * valid.length)));
        }
        for (let i = 0; i < 10; i++) {
          inputs.push(
            new Uint8Array(Math.floor(random() * 64)).map(() => Math.floor(random() * 256)),
          );
        }
        for (const input of inputs) {
          try {
            codec.read(new Reader(input), version);
            decoded++;
          } catch (e) {
            if (!(e instanceof DecodeError || e instanceof KafkaError)) {
              throw new Error(`${spec.name} v${version} threw ${String(e)} on ${input}`);
            }
            rejected++;
          }
        }
      }
    }
    const elapsedMs = performance.now() - started;
    assert.ok(rejected > 1000, `only ${rejected} inputs rejected`);
    assert.ok(decoded > 0);
    assert.ok(elapsedMs < 30_000, `fuzzing took ${elapsedMs} ms`);
  },
});
