import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { PartitionRegistration } from "../../core/metadata/image.ts";
import { silentLogger } from "../../core/log.ts";
import { Partition } from "../../node/partition.ts";
import type { ReplicaAccess, TxnMarkerWritten } from "./replica_access.ts";
import { FileLog } from "../../storage/log/file_log.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createWritableTxnMarker,
  createWritableTxnMarkerTopic,
  createWriteTxnMarkersRequest,
} from "../protocol/generated/write_txn_markers_request.ts";
import type { WriteTxnMarkersResponse } from "../protocol/generated/write_txn_markers_response.ts";
import type { RequestContext } from "../dispatcher.ts";
import { writeTxnMarkersHandler } from "./write_txn_markers.ts";

const LEADER: PartitionRegistration = {
  replicas: [1],
  isr: [1],
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

/** A replica manager of one led partition per topic; `notified` collects the hook's calls. */
async function fakeReplicas(dir: string, topics: string[], onMarker?: () => void) {
  const partitions = new Map<string, Partition>();
  for (const topic of topics) {
    const log = await FileLog.open({ dir: `${dir}/${topic}-0`, warn: () => {} });
    const p = new Partition({
      topic,
      partition: 0,
      topicId: "AAAAAAAAAAAAAAAAAAAAAQ",
      log,
      logDir: dir,
      nodeId: 1,
      logger: silentLogger,
    });
    await p.loadProducerState();
    p.setRegistration(LEADER);
    partitions.set(topic, p);
  }
  const notified: TxnMarkerWritten[] = [];
  const replicas = {
    ctx: { logger: silentLogger },
    leaderPartition: (topic: string, partition: number) => {
      const p = partition === 0 ? partitions.get(topic) : undefined;
      return p === undefined
        ? { partition: null, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
        : { partition: p, errorCode: 0 };
    },
    notifyTxnMarker: (marker: TxnMarkerWritten) => {
      onMarker?.();
      notified.push(marker);
      return Promise.resolve();
    },
  } as unknown as ReplicaAccess;
  const close = async () => {
    for (const p of partitions.values()) await p.log.close();
  };
  return { replicas, partitions, notified, close };
}

function request(topics: string[], commit: boolean, producerEpoch = 0) {
  return createWriteTxnMarkersRequest({
    markers: [createWritableTxnMarker({
      producerId: 7n,
      producerEpoch,
      transactionResult: commit,
      coordinatorEpoch: 2,
      topics: topics.map((name) => createWritableTxnMarkerTopic({ name, partitionIndexes: [0] })),
    })],
  });
}

const ctx = { apiVersion: 1 } as RequestContext;

function errors(response: WriteTxnMarkersResponse | null): [string, number][] {
  return response!.markers[0]!.topics.map((t) => [t.name, t.partitions[0]!.errorCode]);
}

Deno.test("a marker is appended per partition and only __consumer_offsets tells the group coordinator", async () => {
  const dir = await Deno.makeTempDir();
  const f = await fakeReplicas(dir, ["orders", "__consumer_offsets"]);
  try {
    const handler = writeTxnMarkersHandler(f.replicas);
    const response = await handler.handle(
      request(["orders", "__consumer_offsets", "gone"], true),
      ctx,
    );
    assertEquals(errors(response), [
      ["orders", 0],
      ["__consumer_offsets", 0],
      ["gone", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    assertEquals(f.partitions.get("orders")!.logEndOffset, 1);
    assertEquals(f.notified, [{
      topic: "__consumer_offsets",
      partition: 0,
      producerId: 7,
      commit: true,
    }]);
  } finally {
    await f.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stale producer epoch is INVALID_PRODUCER_EPOCH and a failing hook is the partition's error", async () => {
  const dir = await Deno.makeTempDir();
  let fail = false;
  const f = await fakeReplicas(dir, ["orders", "__consumer_offsets"], () => {
    if (fail) throw new KafkaError(ErrorCode.NOT_COORDINATOR, "moved");
  });
  try {
    const handler = writeTxnMarkersHandler(f.replicas);
    assertEquals(errors(await handler.handle(request(["orders"], false, 3), ctx)), [["orders", 0]]);
    assertEquals(errors(await handler.handle(request(["orders"], false, 2), ctx)), [
      ["orders", ErrorCode.INVALID_PRODUCER_EPOCH],
    ]);
    fail = true;
    assertEquals(errors(await handler.handle(request(["__consumer_offsets"], true, 3), ctx)), [
      ["__consumer_offsets", ErrorCode.NOT_COORDINATOR],
    ]);
  } finally {
    await f.close();
    await Deno.remove(dir, { recursive: true });
  }
});
