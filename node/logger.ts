/**
 * A leveled line logger on stderr: one line per event that matters, with a timestamp and a
 * component name, like Kafka's `[2024-01-01 00:00:00,000] INFO [RaftManager id=1] ...`, or with
 * `KRAFTLING_LOG_FORMAT=json` one JSON object per line (`core/log.ts`'s `formatLogLine`).
 *
 * @module
 */

import { formatLogLine, type LogFormat, type Logger, type LogLevel } from "../core/log.ts";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function timestamp(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${
    pad(d.getMinutes())
  }:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

/**
 * Creates a logger writing `[time] LEVEL [component] message` lines to stderr, or JSON lines
 * with an ISO-8601 UTC time when `format` (default: from `KRAFTLING_LOG_FORMAT`) is json.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const log = createLogger("Broker id=1", "info");
 * log.info("Started");
 * ```
 */
export function createLogger(
  component: string,
  level: LogLevel = "info",
  format: LogFormat = logFormatFromEnv(),
): Logger {
  const min = RANK[level];
  const encoder = new TextEncoder();
  const write = (lvl: LogLevel, message: string) => {
    if (RANK[lvl] < min) return;
    const time = format === "json" ? new Date().toISOString() : timestamp();
    const line = formatLogLine({ time, level: lvl, component, message }, format) + "\n";
    try {
      Deno.stderr.writeSync(encoder.encode(line));
    } catch { /* stderr closed: nowhere left to log */ }
  };
  return {
    debug: (m) => write("debug", m),
    info: (m) => write("info", m),
    warn: (m) => write("warn", m),
    error: (m) => write("error", m),
  };
}

/** The level from KRAFTLING_LOG_LEVEL (debug, info, warn, error), default info. */
export function logLevelFromEnv(): LogLevel {
  const value = Deno.env.get("KRAFTLING_LOG_LEVEL")?.toLowerCase();
  return value === "debug" || value === "warn" || value === "error" ? value : "info";
}

/** The format from KRAFTLING_LOG_FORMAT (text, json), default text. */
export function logFormatFromEnv(): LogFormat {
  try {
    return Deno.env.get("KRAFTLING_LOG_FORMAT")?.toLowerCase() === "json" ? "json" : "text";
  } catch {
    return "text"; // no --allow-env: the default
  }
}
