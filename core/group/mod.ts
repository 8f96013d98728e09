/**
 * Kafka's classic consumer group coordinator as a pure state machine: requests and `tick(nowMs)`
 * in, `append`/`respond` effects out.
 *
 * @example
 * ```ts
 * import { GroupCoordinator, randomMemberIdGenerator } from "./mod.ts";
 * import { SeededRandom } from "../random.ts";
 * const coordinator = new GroupCoordinator<number>({
 *   generateMemberId: randomMemberIdGenerator(new SeededRandom(1)),
 *   config: { groupInitialRebalanceDelayMs: 0 },
 * });
 * coordinator.tick(1000);
 * ```
 */
export {
  GroupCoordinator,
  type GroupCoordinatorOptions,
  type GroupView,
} from "./group_coordinator.ts";
export { type GroupState } from "./classic_group.ts";
export { appendErrorToResponseError, GroupErrorCode } from "./error_codes.ts";
export { encodeSubscriptionTopics, readSubscriptionTopics } from "./consumer_protocol.ts";
export { type MemberIdGenerator, randomMemberIdGenerator } from "./member_id.ts";
export * from "./types.ts";
