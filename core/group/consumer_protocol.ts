import { Reader } from "../../net/protocol/reader.ts";
import { Writer } from "../../net/protocol/writer.ts";
import { readConsumerProtocolSubscription } from "../../net/protocol/generated/consumer_protocol_subscription.ts";
import {
  createConsumerProtocolAssignment,
  createTopicPartition,
  readConsumerProtocolAssignment,
  writeConsumerProtocolAssignment,
} from "../../net/protocol/generated/consumer_protocol_assignment.ts";

/**
 * Reads the topic names from a ConsumerProtocolSubscription (the JoinGroup metadata of protocol
 * type "consumer"): int16 version, then an int32-counted array of int16-length strings. Every
 * version starts with that prefix, so later fields are ignored. Returns null when the bytes do not
 * hold that prefix.
 *
 * @example
 * ```ts
 * import { encodeSubscriptionTopics, readSubscriptionTopics } from "./consumer_protocol.ts";
 * readSubscriptionTopics(encodeSubscriptionTopics(["orders"])); // ["orders"]
 * ```
 */
export function readSubscriptionTopics(bytes: Uint8Array): string[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 6) return null;
  const version = view.getInt16(0);
  if (version < 0) return null;
  const count = view.getInt32(2);
  if (count < 0 || count > bytes.byteLength) return null;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const topics: string[] = [];
  let position = 6;
  for (let i = 0; i < count; i++) {
    if (position + 2 > bytes.byteLength) return null;
    const length = view.getInt16(position);
    position += 2;
    if (length < 0 || position + length > bytes.byteLength) return null;
    try {
      topics.push(decoder.decode(bytes.subarray(position, position + length)));
    } catch {
      return null;
    }
    position += length;
  }
  return topics;
}

/**
 * Writes a version-0 ConsumerProtocolSubscription holding only `topics` (tests and tools).
 *
 * @example
 * ```ts
 * import { encodeSubscriptionTopics } from "./consumer_protocol.ts";
 * const metadata = encodeSubscriptionTopics(["orders", "payments"]);
 * ```
 */
export function encodeSubscriptionTopics(topics: string[], version = 0): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = topics.map((topic) => encoder.encode(topic));
  // int16 version, int32 count, topics, then an empty userData (int32 -1) as v0 carries.
  const sizeBytes = 2 + 4 + encoded.reduce((sum, topic) => sum + 2 + topic.length, 0) + 4;
  const bytes = new Uint8Array(sizeBytes);
  const view = new DataView(bytes.buffer);
  view.setInt16(0, version);
  view.setInt32(2, encoded.length);
  let position = 6;
  for (const topic of encoded) {
    view.setInt16(position, topic.length);
    bytes.set(topic, position + 2);
    position += 2 + topic.length;
  }
  view.setInt32(position, -1);
  return bytes;
}

/** A ConsumerProtocolSubscription decoded whole (the JoinGroup metadata of protocol type "consumer"). */
export interface ConsumerSubscription {
  /** The schema version the member wrote (0-3); its assignment is answered in the same one. */
  version: number;
  topics: string[];
  /** v1+: the partitions the member still owns (cooperative rebalancing); empty before v1. */
  ownedPartitions: { topic: string; partitions: number[] }[];
  rackId: string | null;
}

/**
 * Decodes a version-prefixed ConsumerProtocolSubscription with the generated codec. Versions above
 * 3 are read as 3 (every version only appends fields). Returns null for bytes that do not hold one.
 *
 * @example
 * ```ts
 * import { decodeConsumerSubscription, encodeSubscriptionTopics } from "./consumer_protocol.ts";
 * decodeConsumerSubscription(encodeSubscriptionTopics(["orders"]))?.topics; // ["orders"]
 * ```
 */
export function decodeConsumerSubscription(bytes: Uint8Array): ConsumerSubscription | null {
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) return null;
    const s = readConsumerProtocolSubscription(r, Math.min(version, 3));
    return {
      version,
      topics: s.topics,
      ownedPartitions: s.ownedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions })),
      rackId: s.rackId,
    };
  } catch {
    return null;
  }
}

/**
 * Decodes a version-prefixed ConsumerProtocolAssignment to partitions by topic name; null for
 * bytes that do not hold one. An empty byte array (a member not yet assigned) is an empty map.
 *
 * @example
 * ```ts
 * import { decodeConsumerAssignment, encodeConsumerAssignment } from "./consumer_protocol.ts";
 * decodeConsumerAssignment(encodeConsumerAssignment(new Map([["t", [0]]]), 0)); // Map { "t" => [0] }
 * ```
 */
export function decodeConsumerAssignment(bytes: Uint8Array): Map<string, number[]> | null {
  if (bytes.byteLength === 0) return new Map();
  try {
    const r = new Reader(bytes);
    const version = r.int16();
    if (version < 0) return null;
    const a = readConsumerProtocolAssignment(r, Math.min(version, 3));
    const out = new Map<string, number[]>();
    for (const t of a.assignedPartitions) {
      out.set(t.topic, [...(out.get(t.topic) ?? []), ...t.partitions]);
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Encodes partitions by topic name as a ConsumerProtocolAssignment of `version` (the version of
 * the member's subscription, as Kafka answers; capped at the highest the schema knows).
 *
 * @example
 * ```ts
 * import { encodeConsumerAssignment } from "./consumer_protocol.ts";
 * encodeConsumerAssignment(new Map([["orders", [0, 1]]]), 1).byteLength; // 32
 * ```
 */
export function encodeConsumerAssignment(
  partitionsByTopic: ReadonlyMap<string, readonly number[]>,
  version: number,
): Uint8Array {
  const v = Math.max(0, Math.min(version, 3));
  const w = new Writer(64);
  w.int16(v);
  writeConsumerProtocolAssignment(
    w,
    v,
    createConsumerProtocolAssignment({
      assignedPartitions: [...partitionsByTopic].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
        .map(([topic, partitions]) =>
          createTopicPartition({ topic, partitions: [...partitions].sort((a, b) => a - b) })
        ),
      userData: null,
    }),
  );
  return w.finish();
}
