import assert from "node:assert/strict";
import { crossLayerImports, pointsUp } from "../scripts/layers.ts";

Deno.test("no import points up the layer order (protocol < core < storage < net < handlers < node < cli)", async () => {
  // A layer that needs something from a higher one owns an interface for it, and the higher one
  // implements it (as the request handlers' ReplicaAccess / HostedPartition / BrokerView).
  const upward = (await crossLayerImports()).filter(pointsUp);
  assert.deepEqual(
    upward.map((imp) => `${imp.from} imports ${imp.to}`),
    [],
    "an import points up: move the shared piece down, or own an interface in the lower layer",
  );
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
