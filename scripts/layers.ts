/**
 * The dependency arrows between the repository's layers, read from the import statements of
 * every non-test `.ts` file. `deno task layers` prints the matrix that `docs/architecture.md`
 * shows; `tests/layering_test.ts` fails when an import points up the order below.
 *
 * Order, bottom first: `net/protocol` (the generated codecs, record batches and error codes: the
 * vocabulary every layer may use), `core` (pure state machines), `storage` (files), `net`
 * (sockets, framing, the Kafka client), `net/handlers` (request handlers), `node` (roles composed
 * with real I/O), then `cli`, `mod.ts`, `main.ts`, `tests` and `scripts` (benchmarks and the local
 * cluster reuse the test harnesses) at the top.
 *
 * @module
 */

import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Layers, bottom first: a file may import its own layer and the ones before it. */
export const LAYER_ORDER = [
  "net/protocol",
  "core",
  "storage",
  "net",
  "net/client",
  "net/handlers",
  "node",
  "cli",
  "mod.ts",
  "main.ts",
  "tests",
  "scripts",
] as const;

/** One layer name. */
export type Layer = typeof LAYER_ORDER[number];

/** The layer of a repository-relative path, or null for files outside every layer. */
export function layerOf(path: string): Layer | null {
  const parts = path.split("/");
  if (parts[0] === "net") {
    const sub = `net/${parts[1]}`;
    if (sub === "net/protocol" || sub === "net/client" || sub === "net/handlers") return sub;
    return "net";
  }
  const top = parts[0] as Layer;
  return (LAYER_ORDER as readonly string[]).includes(top) ? top : null;
}

/** One import between two files of different layers. */
export interface LayerImport {
  from: string;
  to: string;
  fromLayer: Layer;
  toLayer: Layer;
}

const SKIP_DIRS = new Set(["node_modules", ".git", "kafka-spec", "data", ".ci"]);
const IMPORT_PATTERN = /(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g;

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      if (!SKIP_DIRS.has(entry.name)) yield* sourceFiles(join(dir, entry.name));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      yield join(dir, entry.name);
    }
  }
}

/**
 * Every import that crosses layers.
 *
 * @example
 * ```ts ignore
 * const imports = await crossLayerImports();
 * ```
 */
export async function crossLayerImports(root = REPO_ROOT): Promise<LayerImport[]> {
  const out: LayerImport[] = [];
  for await (const file of sourceFiles(root)) {
    const from = relative(root, file);
    const fromLayer = layerOf(from);
    if (fromLayer === null) continue;
    const text = await Deno.readTextFile(file);
    for (const match of text.matchAll(IMPORT_PATTERN)) {
      const to = relative(root, normalize(join(dirname(file), match[1]!)));
      const toLayer = layerOf(to);
      if (toLayer === null || toLayer === fromLayer) continue;
      out.push({ from, to, fromLayer, toLayer });
    }
  }
  return out.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** True when `imp` points to a layer above its own. */
export function pointsUp(imp: LayerImport): boolean {
  return LAYER_ORDER.indexOf(imp.toLayer) > LAYER_ORDER.indexOf(imp.fromLayer);
}

if (import.meta.main) {
  const imports = await crossLayerImports();
  const counts = new Map<string, number>();
  for (const imp of imports) {
    const key = `${imp.fromLayer} -> ${imp.toLayer}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  console.log("| from | to | imports |\n| --- | --- | ---: |");
  for (const [key, n] of [...counts].sort()) {
    const [from, to] = key.split(" -> ");
    const up = LAYER_ORDER.indexOf(to as Layer) > LAYER_ORDER.indexOf(from as Layer);
    console.log(`| ${from} | ${to}${up ? " (up)" : ""} | ${n} |`);
  }
}
