import assert from "node:assert/strict";
import { crossLayerImports, pointsUp } from "../scripts/layers.ts";

/**
 * Upward arrows that exist today and are known: request handlers still import the replica
 * manager's types from `node/` (`Partition`, `ReplicaAccess`, `BrokerContext`, fetch sessions).
 * The next layering step moves those interfaces down to `net/handlers/` (owned by the handlers,
 * implemented in `node/`) and empties this list.
 */
const KNOWN_UPWARD = new Set(["net/handlers -> node"]);

Deno.test("no import points up the layer order, beyond the known handler -> node arrow", async () => {
  const upward = (await crossLayerImports()).filter(pointsUp);
  const unknown = upward.filter((imp) => !KNOWN_UPWARD.has(`${imp.fromLayer} -> ${imp.toLayer}`));
  assert.deepEqual(
    unknown.map((imp) => `${imp.from} imports ${imp.to}`),
    [],
    "an import points up: move the shared piece down, or own an interface in the lower layer",
  );
  for (const known of KNOWN_UPWARD) {
    assert.ok(
      upward.some((imp) => `${imp.fromLayer} -> ${imp.toLayer}` === known),
      `${known} no longer exists: remove it from KNOWN_UPWARD`,
    );
  }
});

Deno.test("core/ touches no OS: no Deno APIs, timers, clocks or randomness", async () => {
  const offenders: string[] = [];
  const pattern = /\bDeno\.|\bsetTimeout\(|\bsetInterval\(|\bDate\.now\(|\bMath\.random\(/;
  for await (const file of walkTs(new URL("../core/", import.meta.url))) {
    const text = await Deno.readTextFile(file);
    // Doc examples may show how a caller feeds time in; only code lines count.
    const code = text.split("\n").filter((line) => !/^\s*(\*|\/\/)/.test(line));
    if (code.some((line) => pattern.test(line))) offenders.push(file.pathname);
  }
  assert.deepEqual(offenders, []);
});

async function* walkTs(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walkTs(url);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield url;
  }
}
