import assert from "node:assert/strict";
import { decodeBatch } from "../../net/protocol/records.ts";
import { FileLog } from "./file_log.ts";
import { logConfig } from "./log_config.ts";
import { batchOffsets } from "./test_batches.ts";

const FIXTURE = new URL("./crash_appender_fixture.ts", import.meta.url).pathname;
const ACKS_BEFORE_KILL = 1500;

/** Runs the appender until it acknowledged `acks` appends, kills it, returns the acked ranges. */
async function appendThenKill(dir: string, acks: number): Promise<Map<number, number>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", FIXTURE, dir, "65536"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const acked = new Map<number, number>();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (let reads = 0; reads < 1_000_000 && acked.size < acks; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const [, base, last] = line.split(" ");
      acked.set(Number(base), Number(last));
    }
  }
  child.kill("SIGKILL");
  await reader.cancel();
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  return acked;
}

Deno.test("every acknowledged append survives kill -9 of the writing process", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/crash-0`;
    const acked = await appendThenKill(dir, ACKS_BEFORE_KILL);
    assert.ok(acked.size >= ACKS_BEFORE_KILL, `only ${acked.size} acks`);
    const log = await FileLog.open({
      dir,
      config: logConfig({ segmentBytes: 65536, indexIntervalBytes: 1024 }),
      recoveryPoint: 0,
      warn: () => {},
    });
    const stored = new Map<number, number>();
    for (let offset = 0, i = 0; offset < log.logEndOffset && i < 100_000; i++) {
      const { records } = await log.read(offset, { maxBytes: 1 << 20 });
      let pos = 0;
      for (const { base, last } of batchOffsets(records)) {
        const size = 12 + new DataView(records.buffer, records.byteOffset).getInt32(pos + 8);
        decodeBatch(records.subarray(pos, pos + size)); // throws on a bad CRC or record
        stored.set(base, last);
        pos += size;
        offset = last + 1;
      }
    }
    for (const [base, last] of acked) assert.equal(stored.get(base), last, `acked ${base} lost`);
    assert.ok(log.segmentCount > 1, "the run crossed segment rolls");
    await log.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
