/**
 * Helpers for tests that build values of Kafka's message schemas (`scripts/gen_protocol.ts` reads
 * them): the struct definitions a schema names, and whether a field is on the wire at a version.
 * The codec round-trip test fills every field with distinct values; the live request fuzz test
 * fills them at random.
 *
 * @module
 */
import { type FieldSpec, inRange, parseRange, type SchemaSpec, structOf } from "./gen_protocol.ts";

/**
 * Every struct a schema defines (common structs and nested ones), by type name.
 *
 * @example
 * ```ts
 * import { loadSchemas, SPEC_DIR } from "./gen_protocol.ts";
 * import { structTable } from "./schema_values.ts";
 * const metadata = loadSchemas(SPEC_DIR).find((s) => s.spec.name === "MetadataRequest")!.spec;
 * structTable(metadata).has("MetadataRequestTopic"); // true
 * ```
 */
export function structTable(spec: SchemaSpec): Map<string, FieldSpec[]> {
  const out = new Map<string, FieldSpec[]>();
  for (const c of spec.commonStructs ?? []) out.set(c.name, c.fields);
  const visit = (fields: FieldSpec[]) => {
    for (const f of fields) {
      const s = structOf(f.type);
      if (s !== undefined && f.fields) out.set(s, f.fields);
      if (f.fields) visit(f.fields);
    }
  };
  visit(spec.fields);
  return out;
}

/**
 * Whether field `f` is encoded at `version` (`flexible`: the version uses tagged fields); an
 * absent field keeps its default.
 *
 * @example
 * ```ts
 * import { fieldPresentAt } from "./schema_values.ts";
 * fieldPresentAt({ name: "TopicId", type: "uuid", versions: "10+" }, 9, true); // false
 * ```
 */
export function fieldPresentAt(f: FieldSpec, version: number, flexible: boolean): boolean {
  if (!inRange(parseRange(f.versions), version)) return false;
  if (f.tag !== undefined) return flexible && inRange(parseRange(f.taggedVersions), version);
  return true;
}
