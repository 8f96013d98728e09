/**
 * Bounded waiting for the integration tests: every wait has a deadline and says what it waited for.
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Retries `fn` every 250 ms until it succeeds or `timeoutMs` passes; then throws naming `what`
 * and the last error.
 *
 * @example
 * ```ts ignore
 * await eventually("the ISR to grow back", 30_000, async () => assert.equal(isr().length, 3));
 * ```
 */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (error) {
      last = error;
      await sleep(250);
    }
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms: ${(last as Error)?.message}`);
}
