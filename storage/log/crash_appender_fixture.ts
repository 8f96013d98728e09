/**
 * Test fixture run as a child process by `file_log_crash_test.ts`: appends batches forever with a
 * few appends in flight and prints `ack <baseOffset> <lastOffset>` for each acknowledged one,
 * until the parent kills it with SIGKILL.
 *
 * Usage: `deno run -A crash_appender_fixture.ts <partition dir> <segmentBytes>`
 *
 * @module
 */
import { FileLog } from "./file_log.ts";
import { logConfig } from "./log_config.ts";
import { makeBatch } from "./test_batches.ts";

const [dir, segmentBytes] = Deno.args;
if (dir === undefined) throw new Error("Usage: crash_appender_fixture.ts <dir> [segmentBytes]");
const log = await FileLog.open({
  dir,
  config: logConfig({ segmentBytes: Number(segmentBytes ?? 65536), indexIntervalBytes: 1024 }),
  warn: () => {},
});
const encoder = new TextEncoder();
const IN_FLIGHT = 4;
const APPENDS_MAX = 1_000_000;
let started = 0;

async function appender(): Promise<void> {
  while (started < APPENDS_MAX) {
    const n = started++;
    const result = await log.append(
      makeBatch({ records: 1 + (n % 5), valueBytes: 50 + (n % 700), fill: n & 0xff }),
      { leaderEpoch: Math.floor(n / 500), nowMs: Date.now() },
    );
    await Deno.stdout.write(encoder.encode(`ack ${result.baseOffset} ${result.lastOffset}\n`));
  }
}

await Promise.all(Array.from({ length: IN_FLIGHT }, appender));
