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
