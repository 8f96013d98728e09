import { deepEqual as assertEquals } from "node:assert/strict";
import {
  decodeMetadataRecord,
  encodeMetadataRecord,
  imagePayloads,
  MetadataState,
} from "./metadata_state.ts";
import { applyRecords, EMPTY_IMAGE, imageToRecords } from "../core/metadata/image.ts";
import { createConfigRecord } from "../net/protocol/generated/config_record.ts";
import { createPartitionRecord } from "../net/protocol/generated/partition_record.ts";
import { makeRecord, RecordType } from "../core/metadata/records.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import { createFeatureLevelRecord } from "../net/protocol/generated/feature_level_record.ts";
import type { Logger } from "../core/log.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const TOPIC_A = "q1Sh-9_ISia_fV4lGz8fqw";

function featureEntryRecord(level: number) {
  return makeRecord(
    RecordType.FEATURE_LEVEL,
    0,
    createFeatureLevelRecord({ name: "metadata.version", featureLevel: level }),
  );
}

function featureEntry(offset: number, level: number) {
  const record = {
    type: 12 as const,
    version: 0,
    data: createFeatureLevelRecord({ name: "metadata.version", featureLevel: level }),
  };
  return { offset, epoch: 1, payload: encodeMetadataRecord(record) };
}

Deno.test("settled waits for the work listeners started for the applied images", async () => {
  const state = new MetadataState(quiet);
  const events: string[] = [];
  let finish!: () => void;
  state.subscribe(() =>
    new Promise<void>((resolve) => (finish = resolve)).then(() => {
      events.push("listener done");
    })
  );
  state.applyEntries([featureEntry(0, 21)]);
  const settled = state.settled().then(() => events.push("settled"));
  await Promise.resolve();
  assertEquals(events, []);
  finish();
  await settled;
  assertEquals(events, ["listener done", "settled"]);
});

Deno.test("settled resolves at once when no listener has work in flight", async () => {
  const state = new MetadataState(quiet);
  state.subscribe(() => {});
  state.applyEntries([featureEntry(0, 21)]);
  await state.settled();
  assertEquals(state.appliedOffset, 0);
});

Deno.test("a listener whose work fails is logged and does not block settled", async () => {
  const errors: string[] = [];
  const logger: Logger = { ...quiet, error: (line: string) => void errors.push(line) };
  const state = new MetadataState(logger);
  state.subscribe(() => Promise.reject(new Error("disk gone")));
  state.applyEntries([featureEntry(0, 21)]);
  await state.settled();
  assertEquals(errors.length, 1);
});

Deno.test("encoded payloads stay intact while many more records are encoded after them", () => {
  const record = (i: number) =>
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: `topic-${i}`.padEnd(200, "x") }));
  // Enough bytes to fill several of the slabs payloads are carved from, and one large payload.
  const payloads = Array.from({ length: 2000 }, (_, i) => encodeMetadataRecord(record(i)));
  const large = makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "y".repeat(20_000) }));
  const largePayload = encodeMetadataRecord(large);
  for (const [i, payload] of payloads.entries()) {
    assertEquals(decodeMetadataRecord(payload), record(i));
  }
  assertEquals(decodeMetadataRecord(largePayload), large);
});

Deno.test("image payloads are imageToRecords' records, encoded lazily in the same order", () => {
  const image = applyRecords(EMPTY_IMAGE, [
    featureEntryRecord(21),
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "a", topicId: TOPIC_A })),
    makeRecord(
      RecordType.PARTITION,
      0,
      createPartitionRecord({ topicId: TOPIC_A, partitionId: 0, replicas: [1], isr: [1] }),
    ),
    makeRecord(
      RecordType.CONFIG,
      0,
      createConfigRecord({ resourceType: 2, resourceName: "a", name: "retention.ms", value: "1" }),
    ),
  ]);
  const expected = imageToRecords(image).map((r) => [...encodeMetadataRecord(r)]);
  assertEquals([...imagePayloads(image)].map((p) => [...p]), expected);
});

Deno.test("a snapshot loaded from payloads in slices gives the image of its records", async () => {
  const state = new MetadataState(quiet);
  const changes: boolean[] = [];
  state.subscribe((_image, records, _previous, change) => {
    changes.push(change.snapshot && records.length === 0);
  });
  const records = [
    featureEntryRecord(21),
    ...Array.from({ length: 20_000 }, (_, i) =>
      makeRecord(
        RecordType.TOPIC,
        0,
        createTopicRecord({ name: `t${i}`, topicId: `${String(i).padStart(21, "A")}A` }),
      )),
  ];
  await state.loadSnapshotPayloads(records.map((r) => encodeMetadataRecord(r)), 41);
  assertEquals(state.image.topics.byName.size, 20_000);
  assertEquals(state.image, applyRecords(EMPTY_IMAGE, records));
  assertEquals(state.appliedOffset, 41);
  assertEquals(changes, [true]);
});
