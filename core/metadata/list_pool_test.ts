import assert from "node:assert/strict";
import { EMPTY_LIST, ListPool, sharePartitionLists } from "./list_pool.ts";
import { applyRecords, EMPTY_IMAGE, imageToRecords } from "./image.ts";
import { makeRecord, METADATA_VERSION_FEATURE, RecordType } from "./records.ts";
import { createFeatureLevelRecord } from "../../net/protocol/generated/feature_level_record.ts";
import { createPartitionRecord } from "../../net/protocol/generated/partition_record.ts";
import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";

const TOPIC_ID = "q1Sh-9_ISia_fV4lGz8fqw";

Deno.test("equal lists share one frozen copy and the caller's array stays its own", () => {
  const pool = new ListPool();
  const mine = [1, 2, 3];
  const shared = pool.share(mine);
  assert.notEqual(shared, mine);
  assert.ok(Object.isFrozen(shared));
  assert.ok(!Object.isFrozen(mine));
  assert.equal(pool.share([1, 2, 3]), shared);
  assert.notEqual(pool.share([1, 2]), shared);
  assert.equal(pool.share(["a", "b"]), pool.share(["a", "b"]));
  assert.equal(pool.share([]), EMPTY_LIST);
});

Deno.test("a frozen list is already immutable and comes back as it is", () => {
  const frozen = Object.freeze([4, 5]);
  assert.equal(new ListPool().share(frozen), frozen);
});

Deno.test("a full pool starts over, and lists it handed out keep their contents", () => {
  const pool = new ListPool(4);
  const first = pool.share([1, 2, 3]);
  const second = pool.share([7, 8]); // 3 + 2 nodes exceed the bound of 4: the pool starts over
  assert.deepEqual(first, [1, 2, 3]);
  assert.deepEqual(second, [7, 8]);
  assert.equal(pool.share([7, 8]), second);
  assert.notEqual(pool.share([1, 2, 3]), first);
});

Deno.test("a decoded PartitionRecord gets shared lists and keeps its values", () => {
  const record = sharePartitionLists(makeRecord(
    RecordType.PARTITION,
    1,
    createPartitionRecord({ topicId: TOPIC_ID, replicas: [1, 2], isr: [1, 2] }),
  ));
  assert.equal(record.type, RecordType.PARTITION);
  if (record.type !== RecordType.PARTITION) return;
  assert.deepEqual(record.data.replicas, [1, 2]);
  assert.equal(record.data.replicas, record.data.isr);
  assert.equal(record.data.removingReplicas, EMPTY_LIST);
  assert.ok(Object.isFrozen(record.data.replicas));
});

Deno.test("partitions of an image share their replica, ISR and directory lists", () => {
  const partition = (partitionId: number, replicas: number[]) =>
    makeRecord(
      RecordType.PARTITION,
      0,
      createPartitionRecord({
        partitionId,
        topicId: TOPIC_ID,
        replicas: [...replicas],
        isr: [...replicas],
        leader: replicas[0]!,
      }),
    );
  const image = applyRecords(EMPTY_IMAGE, [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({ name: METADATA_VERSION_FEATURE, featureLevel: 7 }),
    ),
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "a", topicId: TOPIC_ID })),
    partition(0, [1, 2]),
    partition(1, [1, 2]),
  ]);
  const [p0, p1] = [...image.topics.byId.get(TOPIC_ID)!.partitions.values()];
  assert.equal(p0!.replicas, p1!.replicas);
  assert.equal(p0!.isr, p0!.replicas);
  assert.equal(p0!.directories, p1!.directories);
  // The snapshot records of the image rebuild an equal image.
  assert.deepEqual(applyRecords(EMPTY_IMAGE, imageToRecords(image)), image);
});
