/**
 * Runs `load_gen.py` (librdkafka through confluent-kafka under /usr/bin/python3) for the
 * benchmarks: one bounded child process per call, its last stdout line parsed as JSON.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The load generator script beside this file. */
export const LOAD_GEN = fileURLToPath(new URL("./load_gen.py", import.meta.url));

/** How long one load generator run may take before it is killed, in milliseconds. */
const LOAD_GEN_TIMEOUT_MS = 240_000;

/** Options of {@link loadGen}. */
export interface LoadGenOptions {
  /** Extra environment of the child, e.g. KRAFTLING_LOAD_GEN_CONFIG. */
  env?: Record<string, string>;
  /** Kill the child after this long (default {@link LOAD_GEN_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Runs the load generator with `args` and returns what it printed last; throws when it fails,
 * is killed for taking too long, or reports delivery errors.
 *
 * @example
 * ```ts ignore
 * const r = await loadGen(["consume", "127.0.0.1:9092", "orders", "1000"]);
 * console.log(r.bytes! / r.seconds!);
 * ```
 */
export async function loadGen(
  args: string[],
  options: LoadGenOptions = {},
): Promise<Record<string, number>> {
  const timeoutMs = options.timeoutMs ?? LOAD_GEN_TIMEOUT_MS;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [LOAD_GEN, ...args],
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(
      `Load generator ${args[0]} failed with code ${out.code} (killed after ${timeoutMs} ms ` +
        `if signalled): ${decoder.decode(out.stderr).trim().split("\n").at(-1)}`,
    );
  }
  const result = JSON.parse(decoder.decode(out.stdout).trim().split("\n").at(-1)!);
  if ((result.errors ?? 0) > 0) {
    throw new Error(`Load generator ${args[0]} saw ${result.errors} delivery errors`);
  }
  return result;
}
