/**
 * The logging interface every role uses. `core/` only calls it; `node/logger.ts` writes the lines.
 *
 * @example
 * ```ts
 * import type { Logger } from "./log.ts";
 * function elect(logger: Logger) {
 *   logger.info("Became leader in epoch 3");
 * }
 * ```
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Log levels from most to least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
