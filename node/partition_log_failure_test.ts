// The partition's failure hook (KIP-112): a failed log operation is passed to the replica manager,
// which decides whether its log directory failed; the operation still fails for its caller.
import { deepStrictEqual as assertEquals, rejects as assertRejects } from "node:assert/strict";
import type { PartitionRegistration } from "../core/metadata/image.ts";
import { silentLogger } from "../core/log.ts";
import { encodeBatch } from "../net/protocol/records.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { FileLog } from "../storage/log/file_log.ts";
import { Partition } from "./partition.ts";

const LEADER: PartitionRegistration = {
  replicas: [1, 2],
  isr: [1, 2],
  removingReplicas: [],
  addingReplicas: [],
  directories: [],
  leader: 1,
  leaderRecoveryState: 0,
  leaderEpoch: 1,
  partitionEpoch: 1,
  eligibleLeaderReplicas: [],
  lastKnownElr: [],
};

function batch(): Uint8Array {
  return encodeBatch({
    baseOffset: 0,
    baseTimestamp: 1_000,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: null,
      value: new Uint8Array(4),
      headers: [],
    }],
  });
}

const eio = () => Object.assign(new Error("Input/output error (os error 5)"), { code: "EIO" });

Deno.test("a failed append or read reaches the failure hook and still fails for its caller", async () => {
  const dir = await Deno.makeTempDir();
  const log = await FileLog.open({ dir: `${dir}/t-0`, warn: () => {} });
  const failures: unknown[] = [];
  const p = new Partition({
    topic: "t",
    partition: 0,
    topicId: "q1Sh-9_ISia_fV4lGz8fqw",
    log,
    logDir: dir,
    nodeId: 1,
    logger: silentLogger,
    onLogFailure: (failed, error) => {
      assertEquals(failed, p);
      failures.push(error);
    },
  });
  try {
    p.setRegistration(LEADER);
    await p.appendFromClient(batch(), "client");
    assertEquals(failures, []);
    // The disk starts failing.
    log.append = () => Promise.reject(eio());
    log.read = () => Promise.reject(eio());
    await assertRejects(() => p.appendFromClient(batch(), "client"), /Input\/output error/);
    await assertRejects(
      () => p.read(0, { maxBytes: 1 << 20, minOneMessage: true, isolationLevel: 0 }),
      /Input\/output error/,
    );
    assertEquals(failures.length, 2);
    // An acks=all append waiting when the directory is given up learns why.
    log.append = FileLog.prototype.append.bind(log);
    await p.appendFromClient(batch(), "client");
    const waiting = p.waitForReplication(p.logEndOffset, 10_000);
    p.close(ErrorCode.KAFKA_STORAGE_ERROR);
    assertEquals(await waiting, ErrorCode.KAFKA_STORAGE_ERROR);
    // Once closed, failures are expected (the log is going away): no report.
    await assertRejects(() =>
      p.read(0, { maxBytes: 1 << 20, minOneMessage: true, isolationLevel: 0 })
    );
    assertEquals(failures.length, 2);
  } finally {
    log.closeAbruptly();
    await Deno.remove(dir, { recursive: true });
  }
});
