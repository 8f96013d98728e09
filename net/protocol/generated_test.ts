// Practice 5 (STYLE.md): generated code fails the build when regeneration would change it.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generate, SPEC_DIR } from "../../scripts/gen_protocol.ts";

const here = dirname(fileURLToPath(import.meta.url));
const committedDir = join(here, "generated");

function listTs(dir: string): string[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".ts")).map((e) =>
    e.name
  ).sort();
}

Deno.test({
  name: "the committed generated codecs match a fresh regeneration from the schemas",
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "kraftling_gen_" });
    try {
      await generate(SPEC_DIR, tmp);
      const fresh = listTs(tmp);
      assert.deepEqual(listTs(committedDir), fresh, "the set of generated files differs");
      const stale: string[] = [];
      for (const name of fresh) {
        const a = Deno.readTextFileSync(join(tmp, name));
        const b = Deno.readTextFileSync(join(committedDir, name));
        if (a !== b) stale.push(name);
      }
      assert.deepEqual(stale, [], "run `deno task gen` to regenerate these files");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "regeneration is deterministic",
  async fn() {
    const a = await Deno.makeTempDir({ prefix: "kraftling_gen_a_" });
    const b = await Deno.makeTempDir({ prefix: "kraftling_gen_b_" });
    try {
      await generate(SPEC_DIR, a);
      await generate(SPEC_DIR, b);
      for (const name of listTs(a)) {
        assert.equal(
          Deno.readTextFileSync(join(a, name)),
          Deno.readTextFileSync(join(b, name)),
          name,
        );
      }
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
});
