import assert from "node:assert/strict";
import {
  descriptorsNeeded,
  openFilesLimitWarning,
  parseOpenFilesLimit,
  readOpenFilesLimit,
} from "./fd_limit.ts";
import { FileLog } from "./log/file_log.ts";
import { LogError, LogErrorCode } from "./log/log_error.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;

Deno.test("the open files limit is read from the Max open files line", () => {
  assert.deepEqual(parseOpenFilesLimit(LIMITS), { softLimit: 1024, hardLimit: 524288 });
  assert.deepEqual(
    parseOpenFilesLimit(
      "Max open files            unlimited            unlimited            files",
    ),
    { softLimit: Infinity, hardLimit: Infinity },
  );
  assert.equal(parseOpenFilesLimit("Max cpu time unlimited unlimited seconds\n"), null);
  const own = readOpenFilesLimit();
  if (Deno.build.os === "linux") assert.ok(own !== null && own.softLimit > 0);
  else assert.equal(own, null);
});

Deno.test("a low limit gives one warning line naming the limit and the partitions", () => {
  const limit = parseOpenFilesLimit(LIMITS)!;
  assert.equal(
    openFilesLimitWarning({ partitions: 20_000, limit }),
    `Open files limit 1024 is low for 20000 partitions (up to ${
      descriptorsNeeded(20_000)
    } descriptors may be needed); raise ulimit -n.`,
  );
  assert.equal(
    openFilesLimitWarning({ partitions: 10, limit: { ...limit, softLimit: 1e6 } }),
    null,
  );
  assert.equal(openFilesLimitWarning({ partitions: 10, limit: null }), null);
});

Deno.test("running out of descriptors while opening a log is a KAFKA_STORAGE_ERROR", async () => {
  if (Deno.build.os !== "linux") return;
  const root = await Deno.makeTempDir();
  const hog: Deno.FsFile[] = [];
  try {
    try {
      for (let i = 0; i < 1_000_000; i++) hog.push(Deno.openSync("/dev/null"));
    } catch {
      // out of descriptors: the log's files cannot be opened now
    }
    const error = await FileLog.open({ dir: `${root}/t-0`, warn: () => {} }).catch((e) => e);
    if (error instanceof FileLog) await error.close();
    assert.ok(error instanceof LogError, String(error));
    assert.equal(error.code, LogErrorCode.KAFKA_STORAGE_ERROR);
    assert.match(error.message, /^Cannot open partition log .*t-0: .*raise ulimit -n\)\.$/);
  } finally {
    for (const file of hog) file.close();
    await Deno.remove(root, { recursive: true });
  }
});
