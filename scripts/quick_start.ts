/**
 * `deno task start`: the quick start. Formats `./data` on first use (a new cluster id, a combined
 * broker + controller node) and starts it on 127.0.0.1:9092 (clients) / 9093 (controller), with
 * metrics and health over HTTP on 127.0.0.1:8080.
 * An existing `./data` is started as is; `server-start` itself never formats.
 *
 * @module
 */

import { runCli } from "../cli/mod.ts";
import { randomUuid } from "../net/protocol/uuid.ts";
import { parseProperties } from "../core/config/properties.ts";

const CONFIG = "config/quick-start.properties";
const DATA_DIR = "./data";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

if (!(await exists(DATA_DIR))) {
  const clusterId = randomUuid();
  const code = await runCli(["storage", "format", "-t", clusterId, "-c", CONFIG]);
  if (code !== 0) Deno.exit(code);
  console.log(`Formatted ${Deno.realPathSync(DATA_DIR)} for new cluster ${clusterId}.`);
} else {
  console.log(`Starting the existing cluster in ${Deno.realPathSync(DATA_DIR)}.`);
}
console.log("Clients connect to 127.0.0.1:9092. Try:");
console.log(
  "  echo hello | kcat -P -b 127.0.0.1:9092 -t quickstart && kcat -C -b 127.0.0.1:9092 -t quickstart -e",
);
const httpListener = parseProperties(await Deno.readTextFile(CONFIG)).get(
  "kraftling.http.listener",
);
if (httpListener !== undefined) {
  console.log(
    `Metrics at http://${httpListener}/metrics, health at http://${httpListener}/healthz and /readyz.`,
  );
}
console.log("Stop with Ctrl-C.");
Deno.exit(await runCli(["server-start", CONFIG]));
