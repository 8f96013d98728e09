/**
 * Running client commands (kcat, /usr/bin/python3 scripts) from the integration tests: bounded in
 * time, with optional stdin, Python kept from writing `__pycache__` into the source tree.
 *
 * @module
 */

/** How long one client command may run before it is killed, in milliseconds. */
export const COMMAND_TIMEOUT_MS = 60_000;

/** What a finished command printed. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  stdin?: string;
  timeoutMs?: number;
  cwd?: string;
  /** Extra environment variables (e.g. NODE_PATH). */
  env?: Record<string, string>;
}

/**
 * Runs a command to completion (killed after `timeoutMs`) with optional stdin.
 *
 * @example
 * ```ts ignore
 * const out = await runCommand("kcat", ["-L", "-b", bootstrap]);
 * ```
 */
export async function runCommand(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<CommandOutput> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: { PYTHONDONTWRITEBYTECODE: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Runs a command and returns its stdout; throws with its stderr when it fails.
 *
 * @example
 * ```ts ignore
 * const metadata = await checkCommand("kcat", ["-L", "-b", bootstrap]);
 * ```
 */
export async function checkCommand(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<string> {
  const out = await runCommand(command, args, options);
  if (out.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${out.code}:\n${out.stderr}`);
  }
  return out.stdout;
}
