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

/** How log lines are written: Kafka-style text, or one JSON object per line. */
export type LogFormat = "text" | "json";

/** One log event, as the sink formats it. */
export interface LogEvent {
  /** When it happened, as the line shows it (local `yyyy-MM-dd HH:mm:ss,SSS` or ISO 8601). */
  time: string;
  level: LogLevel;
  component: string;
  message: string;
}

/**
 * Formats one event as a line (without the line feed): `[time] LEVEL [component] message` like
 * Kafka's log4j pattern, or a JSON object with `time`, `level`, `logger` and `message` keys that
 * log shippers (Loki, Elasticsearch, CloudWatch) parse without a grok rule. Messages may hold
 * quotes and line feeds; JSON escapes them, so one event is always one line.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./log.ts";
 * const event = { time: "2024-01-01T00:00:00.000Z", level: "info" as const, component: "Broker id=1", message: "Started" };
 * formatLogLine(event, "json");
 * // '{"time":"2024-01-01T00:00:00.000Z","level":"INFO","logger":"Broker id=1","message":"Started"}'
 * formatLogLine(event, "text"); // "[2024-01-01T00:00:00.000Z] INFO [Broker id=1] Started"
 * ```
 */
export function formatLogLine(event: LogEvent, format: LogFormat): string {
  const level = event.level.toUpperCase();
  if (format === "json") {
    return JSON.stringify({
      time: event.time,
      level,
      logger: event.component,
      message: event.message,
    });
  }
  return `[${event.time}] ${level} [${event.component}] ${event.message}`;
}
