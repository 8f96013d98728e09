/**
 * The node's metadata image, built only by applying committed `__cluster_metadata` records, and
 * the publisher that tells the roles when it changed.
 *
 * @module
 */

import {
  applyRecords,
  EMPTY_IMAGE,
  imageToRecords,
  MetadataDelta,
  type MetadataImage,
  metadataVersion,
  partitionRecord,
  type TopicImage,
} from "../core/metadata/image.ts";
import { makeRecord, RecordType, recordVersionsFor } from "../core/metadata/records.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import { sharePartitionLists } from "../core/metadata/list_pool.ts";
import type { LogEntry } from "../core/raft/types.ts";
import { Reader } from "../net/protocol/reader.ts";
import { Writer } from "../net/protocol/writer.ts";
import {
  type MetadataRecord,
  readMetadataRecord,
  writeMetadataRecord,
} from "../net/protocol/generated/metadata_records.ts";
import type { Logger } from "../core/log.ts";

/** The writer every {@link encodeMetadataRecord} reuses (encoding is synchronous). */
const scratch = new Writer(4096);
/** Encoded payloads are copied into slabs of this size: one buffer per ~500 records, not each. */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsedBytes = 0;

/**
 * Serializes a metadata record as a raft entry payload (frame version, type, version, body).
 * Small payloads are views into a shared slab (snapshotting 1M partitions allocates ~2k buffers,
 * not 2M): read-only, and `payload.buffer` is not the payload alone.
 */
export function encodeMetadataRecord(record: MetadataRecord): Uint8Array {
  scratch.reset();
  writeMetadataRecord(scratch, record);
  const bytes = scratch.view();
  if (bytes.length > SLAB_BYTES / 8) return bytes.slice();
  if (slabUsedBytes + bytes.length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsedBytes = 0;
  }
  const payload = slab.subarray(slabUsedBytes, slabUsedBytes + bytes.length);
  payload.set(bytes);
  slabUsedBytes += bytes.length;
  return payload;
}

/**
 * Decodes a raft entry payload into a metadata record. A PartitionRecord's lists come back shared
 * and frozen (`sharePartitionLists`), so a decoded 1M-partition snapshot holds a few lists.
 */
export function decodeMetadataRecord(payload: Uint8Array): MetadataRecord {
  return sharePartitionLists(readMetadataRecord(new Reader(payload)));
}

/** Which topics one change of the image touched (from the {@link MetadataDelta} that made it). */
export interface ImageChange {
  /** True when a snapshot replaced the whole image: anything may have changed. */
  readonly snapshot: boolean;
  /** Ids of topics created or changed (empty for a snapshot). */
  readonly changedTopicIds: ReadonlySet<string>;
  /** Ids of topics removed, with their last image (empty for a snapshot). */
  readonly deletedTopics: ReadonlyMap<string, TopicImage>;
}

const SNAPSHOT_CHANGE: ImageChange = Object.freeze({
  snapshot: true,
  changedTopicIds: new Set<string>(),
  deletedTopics: new Map<string, TopicImage>(),
});

/**
 * The records of `image` as raft entry payloads, in {@link imageToRecords}'s order, encoded one
 * at a time as they are pulled: a snapshot writer holds one batch of them, not millions. Images
 * are immutable, so the image captured when this is called is what the payloads describe, however
 * long the pulling takes.
 *
 * @example
 * ```ts ignore
 * const payloads = imagePayloads(state.image); // captures the image; encodes nothing yet
 * for (const payload of payloads) write(payload);
 * ```
 */
export function* imagePayloads(image: MetadataImage): Generator<Uint8Array> {
  // Everything but the topics is small: take it from imageToRecords of the image without them,
  // and put the topics where imageToRecords puts them (after features, brokers, controllers).
  const others = imageToRecords({ ...image, topics: EMPTY_IMAGE.topics });
  const head = image.features.size + image.cluster.brokers.size +
    image.cluster.controllers.size;
  for (let i = 0; i < head; i++) yield encodeMetadataRecord(others[i]!);
  const partitionVersion = recordVersionsFor(metadataVersion(image)).partition;
  for (const t of image.topics.byId.values()) {
    const topic = createTopicRecord({ name: t.name, topicId: t.id });
    yield encodeMetadataRecord(makeRecord(RecordType.TOPIC, 0, topic));
    for (const [partitionId, p] of t.partitions) {
      yield encodeMetadataRecord(partitionRecord(t.id, partitionId, p, partitionVersion));
    }
  }
  for (let i = head; i < others.length; i++) yield encodeMetadataRecord(others[i]!);
}

/** Records decoded and applied between yields to the event loop while a snapshot loads. */
const SNAPSHOT_LOAD_SLICE_RECORDS = 8192;

/** Called after each change of the image with the records that made it. */
export type ImageListener = (
  image: MetadataImage,
  records: readonly MetadataRecord[],
  previous: MetadataImage,
  change: ImageChange,
) => void | Promise<void>;

/** Bound on the rounds {@link MetadataState.settled} waits while listeners keep starting work. */
const SETTLE_ROUNDS_MAX = 100;

/**
 * The latest applied image and the offset it reflects.
 *
 * @example
 * ```ts ignore
 * const state = new MetadataState(logger);
 * state.subscribe((image) => console.log(image.topics.byName.size));
 * state.applyEntries(entries);
 * ```
 */
export class MetadataState {
  #image: MetadataImage = EMPTY_IMAGE;
  /** Offset of the last applied entry, -1 before any. */
  #appliedOffset = -1;
  #listeners: ImageListener[] = [];
  #offsetWaiters: { offset: number; resolve: () => void }[] = [];
  /** Work listeners started for applied images and have not finished (opening logs, ...). */
  #listenerWork = new Set<Promise<void>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get image(): MetadataImage {
    return this.#image;
  }

  /** Offset of the last applied entry (-1 before any). */
  get appliedOffset(): number {
    return this.#appliedOffset;
  }

  subscribe(listener: ImageListener): void {
    this.#listeners.push(listener);
  }

  /** Applies committed raft entries in order; control entries only move the offset. */
  applyEntries(entries: readonly LogEntry[]): void {
    const records: MetadataRecord[] = [];
    for (const entry of entries) {
      if (entry.control === undefined && entry.payload.length > 0) {
        records.push(decodeMetadataRecord(entry.payload));
      }
    }
    const last = entries.at(-1);
    if (last) this.#appliedOffset = last.offset;
    if (records.length > 0) {
      const previous = this.#image;
      const delta = new MetadataDelta(previous);
      for (const record of records) delta.replay(record);
      this.#image = delta.apply();
      this.#publish(records, previous, {
        snapshot: false,
        changedTopicIds: delta.changedTopicIds,
        deletedTopics: delta.deletedTopics,
      });
    }
    if (this.#offsetWaiters.length > 0) {
      const ready = this.#offsetWaiters.filter((w) => w.offset <= this.#appliedOffset);
      this.#offsetWaiters = this.#offsetWaiters.filter((w) => w.offset > this.#appliedOffset);
      for (const w of ready) w.resolve();
    }
  }

  /**
   * Replaces the image with a snapshot's (KIP-630: at startup, or installed from the leader):
   * the image built from `records` alone, as of the entry at `lastOffset`. Listeners see the
   * snapshot's records with the image they replace.
   */
  loadSnapshot(records: readonly MetadataRecord[], lastOffset: number): void {
    const previous = this.#image;
    this.#image = applyRecords(EMPTY_IMAGE, records);
    this.#appliedOffset = lastOffset;
    this.#publish(records, previous, SNAPSHOT_CHANGE);
    const ready = this.#offsetWaiters.filter((w) => w.offset <= lastOffset);
    this.#offsetWaiters = this.#offsetWaiters.filter((w) => w.offset > lastOffset);
    for (const w of ready) w.resolve();
  }

  #publish(
    records: readonly MetadataRecord[],
    previous: MetadataImage,
    change: ImageChange,
  ): void {
    for (const listener of this.#listeners) {
      try {
        const work = listener(this.#image, records, previous, change);
        if (work instanceof Promise) this.#track(work);
      } catch (error) {
        this.#logger.error(`Metadata listener failed: ${(error as Error).stack ?? error}`);
      }
    }
  }

  /**
   * Replaces the image with a snapshot's, like {@link loadSnapshot}, from its payloads: decoded
   * and applied {@link SNAPSHOT_LOAD_SLICE_RECORDS} at a time with the event loop running in
   * between, never holding all the decoded records. The image changes once, at the end; the
   * caller applies no entries meanwhile (the raft loop awaits this). Listeners see no records,
   * only `change.snapshot`.
   */
  async loadSnapshotPayloads(payloads: readonly Uint8Array[], lastOffset: number): Promise<void> {
    const delta = new MetadataDelta(EMPTY_IMAGE);
    // Bounded by the payloads; each slice ends with one macrotask yield.
    for (let start = 0; start < payloads.length; start += SNAPSHOT_LOAD_SLICE_RECORDS) {
      const end = Math.min(payloads.length, start + SNAPSHOT_LOAD_SLICE_RECORDS);
      for (let i = start; i < end; i++) delta.replay(decodeMetadataRecord(payloads[i]!));
      if (end < payloads.length) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const previous = this.#image;
    this.#image = delta.apply();
    this.#appliedOffset = lastOffset;
    this.#publish([], previous, SNAPSHOT_CHANGE);
    const ready = this.#offsetWaiters.filter((w) => w.offset <= lastOffset);
    this.#offsetWaiters = this.#offsetWaiters.filter((w) => w.offset > lastOffset);
    for (const w of ready) w.resolve();
  }

  /** Remembers work a listener started until it ends (failures are logged, not thrown). */
  #track(work: Promise<void>): void {
    const tracked = work.catch((error) =>
      this.#logger.error(`Metadata listener failed: ${(error as Error).stack ?? error}`)
    ).finally(() => this.#listenerWork.delete(tracked));
    this.#listenerWork.add(tracked);
  }

  /**
   * Resolves once every listener has finished acting on the images applied so far (e.g. the
   * replica manager has opened the partitions an image assigns here), so a response that follows
   * a metadata change never names a leader that cannot serve yet.
   */
  async settled(): Promise<void> {
    for (let round = 0; round < SETTLE_ROUNDS_MAX && this.#listenerWork.size > 0; round++) {
      await Promise.all([...this.#listenerWork]);
    }
  }

  /** Resolves once the entry at `offset` has been applied. */
  waitForOffset(offset: number): Promise<void> {
    if (offset <= this.#appliedOffset) return Promise.resolve();
    return new Promise((resolve) => this.#offsetWaiters.push({ offset, resolve }));
  }
}
