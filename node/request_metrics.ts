/**
 * What the node measures around each Kafka request: latency per API (Kafka's RequestMetrics
 * TotalTimeMs, here from the frame's arrival to its response being ready, as a histogram) and
 * bytes in and out per listener (socket-server-metrics incoming/outgoing-byte-total). Plus the
 * event loop's delay, sampled by a timer, since one slow callback stalls every listener.
 *
 * @module
 */

import type { ChunkedFrameHandler } from "../net/server.ts";
import { Histogram, LATENCY_BUCKETS_MS } from "../core/metrics/histogram.ts";
import type { ProcessStats } from "./node_metrics.ts";

/** Request latency and network bytes, added to by {@link RequestMetrics.instrument}. */
export class RequestMetrics {
  /** Latency in milliseconds per api key. */
  readonly latencyMs = new Map<number, Histogram>();
  /** Request frame bytes (with their 4-byte size) per listener. */
  readonly bytesIn = new Map<string, number>();
  /** Response frame bytes per listener. */
  readonly bytesOut = new Map<string, number>();

  /**
   * Wraps a listener's frame handler so every request is timed and its bytes counted; a request
   * that fails (the connection closes) is timed too.
   *
   * @example
   * ```ts ignore
   * const handler = metrics.instrument("PLAINTEXT", (frame, info) => dispatcher.handleFrameChunks(frame, info));
   * ```
   */
  instrument(listenerName: string, handler: ChunkedFrameHandler): ChunkedFrameHandler {
    return async (frame, info) => {
      const startMs = performance.now();
      const apiKey = frame.length >= 2 ? (frame[0]! << 8) | frame[1]! : -1;
      this.bytesIn.set(listenerName, (this.bytesIn.get(listenerName) ?? 0) + frame.length + 4);
      try {
        const response = await handler(frame, info);
        let sizeBytes = 0;
        if (response instanceof Uint8Array) sizeBytes = response.length;
        else if (response !== null) { for (const chunk of response) sizeBytes += chunk.length; }
        this.bytesOut.set(listenerName, (this.bytesOut.get(listenerName) ?? 0) + sizeBytes);
        return response;
      } finally {
        let h = this.latencyMs.get(apiKey);
        if (h === undefined) {
          h = new Histogram(LATENCY_BUCKETS_MS);
          this.latencyMs.set(apiKey, h);
        }
        h.observe(performance.now() - startMs);
      }
    };
  }
}

/** How often the event loop's delay is sampled. */
export const EVENT_LOOP_SAMPLE_INTERVAL_MS = 100;
/** Upper bounds in seconds for event-loop delay (a timer firing late). */
export const EVENT_LOOP_BUCKETS_SECONDS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

/** A timer that measures how late it fires: the event loop's delay. */
export interface EventLoopMonitor {
  readonly delaySeconds: Histogram;
  /** The last sample's delay in seconds. */
  readonly lastDelaySeconds: number;
  stop(): void;
}

/**
 * Starts sampling the event loop's delay every {@link EVENT_LOOP_SAMPLE_INTERVAL_MS}; the timer is
 * unref'd so it never keeps a process alive.
 *
 * @example
 * ```ts ignore
 * const monitor = startEventLoopMonitor();
 * monitor.stop();
 * ```
 */
export function startEventLoopMonitor(): EventLoopMonitor {
  const delaySeconds = new Histogram(EVENT_LOOP_BUCKETS_SECONDS);
  let last = 0;
  let expectedMs = performance.now() + EVENT_LOOP_SAMPLE_INTERVAL_MS;
  const timer = setInterval(() => {
    const nowMs = performance.now();
    last = Math.max(0, nowMs - expectedMs) / 1000;
    delaySeconds.observe(last);
    expectedMs = nowMs + EVENT_LOOP_SAMPLE_INTERVAL_MS;
  }, EVENT_LOOP_SAMPLE_INTERVAL_MS);
  Deno.unrefTimer(timer);
  return {
    delaySeconds,
    get lastDelaySeconds() {
      return last;
    },
    stop: () => clearInterval(timer),
  };
}

/** Linux's USER_HZ: `/proc/self/stat` counts CPU time in these ticks (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time and open descriptors from `/proc/self` (null where it is absent, as on macOS), and
 * the start time from the performance clock's origin.
 *
 * @example
 * ```ts ignore
 * readProcessStats().cpuSeconds; // e.g. 1.42
 * ```
 */
export function readProcessStats(): ProcessStats {
  let cpuSeconds: number | null = null;
  let openFds: number | null = null;
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isFinite(ticks)) cpuSeconds = ticks / CLOCK_TICKS_PER_SECOND;
  } catch { /* no procfs */ }
  try {
    openFds = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) openFds++;
  } catch {
    openFds = null;
  }
  return { cpuSeconds, openFds, startTimeSeconds: performance.timeOrigin / 1000 };
}
