/**
 * Test fixture: opens `<count>` file logs under `<dir>` (all open at once), appends one batch to
 * each, reads every one back, and prints one JSON line `{ logs, verified, descriptors }`
 * (descriptors held by the process with every log open, from `/proc/self/fd`). Run by
 * `many_logs_test.ts` under a lowered `ulimit -n`.
 *
 * Usage: `deno run -A many_logs_fixture.ts <dir> <count>`
 *
 * @module
 */
import assert from "node:assert/strict";
import { decodeBatch } from "../../net/protocol/records.ts";
import { FileLog } from "./file_log.ts";
import { makeBatch } from "./test_batches.ts";

const OPEN_CONCURRENCY = 32;

async function openAndAppend(dir: string, p: number): Promise<FileLog> {
  const log = await FileLog.open({ dir: `${dir}/many-${p}`, warn: () => {} });
  await log.append(makeBatch({ valueBytes: 100, fill: p % 256 }), {
    leaderEpoch: 0,
    nowMs: Date.now(),
  });
  return log;
}

async function main(dir: string, count: number): Promise<void> {
  const logs: FileLog[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const p = next++;
      logs[p] = await openAndAppend(dir, p);
    }
  };
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
  const descriptors = [...Deno.readDirSync("/proc/self/fd")].length;
  let verified = 0;
  for (const [p, log] of logs.entries()) {
    const { records } = await log.read(0, { maxBytes: 1 << 20 });
    assert.ok(records.length > 61, `log ${p} reads back empty`);
    const value = decodeBatch(records).records[0]?.value;
    assert.equal(value?.[0], p % 256, `log ${p} reads back another log's bytes`);
    verified++;
  }
  await Promise.all(logs.map((log) => log.close()));
  console.log(JSON.stringify({ logs: count, verified, descriptors }));
}

await main(Deno.args[0]!, Number(Deno.args[1]));
