import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { isStorageFailure, LogDirFailureChannel } from "./log_dir_failure.ts";
import { LogError, LogErrorCode } from "./log_error.ts";

async function errorOf(operation: () => Promise<unknown>): Promise<unknown> {
  try {
    await operation();
  } catch (error) {
    return error;
  }
  throw new Error("the operation did not fail");
}

Deno.test("the operating system failing a file operation is a storage failure (KIP-112)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/file`;
    await Deno.writeTextFile(file, "x");
    // A directory that vanished, or was replaced by a file.
    assertEquals(
      isStorageFailure(await errorOf(() => Deno.writeTextFile(`${dir}/gone/f`, ""))),
      true,
    );
    assertEquals(isStorageFailure(await errorOf(() => Deno.writeTextFile(`${file}/f`, ""))), true);
    const eio = Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });
    const enospc = Object.assign(new Error("No space left on device"), { code: "ENOSPC" });
    const erofs = Object.assign(new Error("Read-only file system"), { code: "EROFS" });
    for (const e of [eio, enospc, erofs]) assertEquals(isStorageFailure(e), true);
    // The log's own wrapping of an earlier disk error still counts.
    const wrapped = new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, "Log failed earlier", {
      cause: eio,
    });
    assertEquals(isStorageFailure(wrapped), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refused requests and broken invariants are not storage failures", () => {
  assertEquals(isStorageFailure(new LogError(LogErrorCode.OFFSET_OUT_OF_RANGE, "beyond")), false);
  assertEquals(isStorageFailure(new LogError(LogErrorCode.CORRUPT_MESSAGE, "bad crc")), false);
  // A KAFKA_STORAGE_ERROR without a disk error behind it (e.g. a foreign topic id) is not one.
  assertEquals(isStorageFailure(new LogError(LogErrorCode.KAFKA_STORAGE_ERROR, "topic id")), false);
  assertEquals(isStorageFailure(new Error("assertion failed")), false);
  assertEquals(isStorageFailure("EIO"), false);
});

Deno.test("a directory fails once: the listener hears of it the first time only", () => {
  const heard: string[] = [];
  const channel = new LogDirFailureChannel((dir) => heard.push(dir));
  const eio = Object.assign(new Error("Input/output error"), { code: "EIO" });
  assertEquals(channel.maybeFail("/data/a", new Error("not a disk error")), false);
  assertEquals(channel.maybeFail("/data/a", eio), true);
  assertEquals(channel.maybeFail("/data/a", eio), false);
  assertEquals(channel.maybeFail("/data/b", eio), true);
  assertEquals(heard, ["/data/a", "/data/b"]);
  assertEquals(channel.offlineDirs(), ["/data/a", "/data/b"]);
  assertEquals([channel.isOffline("/data/a"), channel.isOffline("/data/c")], [true, false]);
});
