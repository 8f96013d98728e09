/**
 * What the group and FindCoordinator handlers need from the broker's group coordination: the
 * core coordinator's inputs and results (`core/group/types.ts`), already routed to the
 * `__consumer_offsets` partition that owns the group. Routing failures come back as error codes
 * inside the results (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE),
 * never as exceptions. `node/group_manager.ts` implements it; tests may fake it.
 *
 * @module
 */

import type {
  DeleteGroupsResult,
  DescribedGroup,
  HeartbeatInput,
  HeartbeatResult,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupInput,
  LeaveGroupResult,
  ListGroupsInput,
  ListGroupsResult,
  OffsetCommitInput,
  OffsetCommitResult,
  OffsetDeleteInput,
  OffsetDeleteResult,
  OffsetFetchInput,
  OffsetFetchResult,
  SyncGroupInput,
  SyncGroupResult,
} from "../../core/group/types.ts";

/** FindCoordinator key types (KIP-98 added TRANSACTION, KIP-932 SHARE). */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;

/** Where one coordinator key lives, or why that is not known. */
export interface CoordinatorLocation {
  errorCode: number;
  /** A human-readable reason for an error, or null. */
  errorMessage: string | null;
  /** -1, "" and -1 (Kafka's `Node.noNode()`) when errorCode is not NONE. */
  nodeId: number;
  host: string;
  port: number;
}

/**
 * The broker side of group coordination, as the request handlers see it.
 *
 * @example
 * ```ts ignore
 * const result = await service.joinGroup({ ...input, clientId: "c", clientHost: "/10.0.0.1" });
 * ```
 */
export interface GroupService {
  /** Finds the coordinator of `key` for a request that arrived on `listenerName`. */
  findCoordinator(keyType: number, key: string, listenerName: string): CoordinatorLocation;
  /** True when the metadata image has a topic with this name (offset commits check it). */
  topicExists(name: string): boolean;
  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult>;
  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult>;
  heartbeat(input: HeartbeatInput): HeartbeatResult;
  leaveGroup(input: LeaveGroupInput): Promise<LeaveGroupResult>;
  offsetCommit(input: OffsetCommitInput): Promise<OffsetCommitResult>;
  offsetFetch(input: OffsetFetchInput): OffsetFetchResult;
  offsetDelete(input: OffsetDeleteInput): Promise<OffsetDeleteResult>;
  listGroups(input: ListGroupsInput): ListGroupsResult;
  describeGroups(groupIds: string[]): DescribedGroup[];
  deleteGroups(groupIds: string[]): Promise<DeleteGroupsResult>;
}
