import type { Random } from "../random.ts";

/** Makes a member id for a joining client (Kafka: `clientId-UUID` or `groupInstanceId-UUID`). */
export type MemberIdGenerator = (clientId: string, groupInstanceId: string | null) => string;

/**
 * A {@link MemberIdGenerator} drawing Kafka-style random UUIDs (version 4 layout) from an injected
 * seeded generator, so a simulation replays the same member ids.
 *
 * @example
 * ```ts
 * import { SeededRandom } from "../random.ts";
 * import { randomMemberIdGenerator } from "./member_id.ts";
 * const generate = randomMemberIdGenerator(new SeededRandom(7));
 * generate("consumer-1", null); // "consumer-1-1b4e28ba-2fa1-41d2-883f-0016d3cca427"-like
 * ```
 */
export function randomMemberIdGenerator(random: Random): MemberIdGenerator {
  return (clientId, groupInstanceId) => {
    const bytes: number[] = [];
    for (let i = 0; i < 16; i++) bytes.push(random.intBelow(256));
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.map((byte) => byte.toString(16).padStart(2, "0")).join("");
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${
      hex.slice(16, 20)
    }-${hex.slice(20)}`;
    return `${groupInstanceId ?? clientId}-${uuid}`;
  };
}
