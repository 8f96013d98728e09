/**
 * A small driver for coordinator tests: it plays the broker, appending records to an in-memory
 * `__consumer_offsets` (completing appends at once unless told to hold them) and keeping the
 * latest response per handle.
 *
 * @example
 * ```ts
 * import { Harness } from "./test_harness.ts";
 * const h = new Harness();
 * const first = h.join("a1", { memberId: "" }); // MEMBER_ID_REQUIRED
 * ```
 */
import { encodeSubscriptionTopics } from "./consumer_protocol.ts";
import { GroupCoordinator } from "./group_coordinator.ts";
import type {
  GroupCoordinatorConfig,
  GroupEffect,
  GroupRecord,
  GroupResponse,
  JoinGroupInput,
  JoinGroupProtocol,
  JoinGroupResult,
  OffsetCommitInput,
  OffsetCommitResult,
  SyncGroupInput,
  SyncGroupResult,
} from "./types.ts";

export function consumerProtocols(topics: string[], names = ["range"]): JoinGroupProtocol[] {
  return names.map((name) => ({ name, metadata: encodeSubscriptionTopics(topics) }));
}

export class Harness {
  readonly coordinator: GroupCoordinator<string>;
  nowMs = 0;
  readonly responses = new Map<string, GroupResponse>();
  /** Every record appended, in order (our stand-in for the `__consumer_offsets` partition). */
  readonly log: GroupRecord[] = [];
  holdAppends = false;
  readonly heldAppendIds: number[] = [];
  #nextId = 0;

  constructor(
    config: Partial<GroupCoordinatorConfig> = {},
    coordinator?: GroupCoordinator<string>,
  ) {
    this.coordinator = coordinator ?? new GroupCoordinator<string>({
      config,
      generateMemberId: (clientId, instanceId) => `${instanceId ?? clientId}-${this.#nextId++}`,
    });
  }

  run(effects: GroupEffect<string>[]): void {
    for (const effect of effects) {
      if (effect.type === "append") {
        this.log.push(...effect.records);
        if (this.holdAppends) this.heldAppendIds.push(effect.appendId);
        else this.run(this.coordinator.appendComplete(effect.appendId, this.nowMs));
      } else {
        const { type: _type, handle, ...response } = effect;
        this.responses.set(handle, response as GroupResponse);
      }
    }
  }

  releaseAppends(errorCode = 0): void {
    while (this.heldAppendIds.length > 0) {
      const appendId = this.heldAppendIds.shift()!;
      this.run(this.coordinator.appendComplete(appendId, this.nowMs, errorCode));
    }
  }

  advance(ms: number): void {
    this.nowMs += ms;
    this.run(this.coordinator.tick(this.nowMs));
  }

  /** The response to `handle` if there is one, left in place for a later take. */
  #peek(handle: string, api: GroupResponse["api"]) {
    const r = this.responses.get(handle);
    if (r !== undefined && r.api !== api) throw new Error(`Handle ${handle} answered ${r.api}.`);
    return r?.response;
  }

  take(handle: string): GroupResponse | undefined {
    const response = this.responses.get(handle);
    this.responses.delete(handle);
    return response;
  }

  joinResult(handle: string): JoinGroupResult | undefined {
    const r = this.take(handle);
    if (r === undefined) return undefined;
    if (r.api !== "JoinGroup") {
      throw new Error(`Handle ${handle} answered ${r.api}, not JoinGroup.`);
    }
    return r.response;
  }

  syncResult(handle: string): SyncGroupResult | undefined {
    const r = this.take(handle);
    if (r === undefined) return undefined;
    if (r.api !== "SyncGroup") {
      throw new Error(`Handle ${handle} answered ${r.api}, not SyncGroup.`);
    }
    return r.response;
  }

  commitResult(handle: string): OffsetCommitResult | undefined {
    const r = this.take(handle);
    if (r === undefined) return undefined;
    if (r.api !== "OffsetCommit") throw new Error(`Handle ${handle} answered ${r.api}.`);
    return r.response;
  }

  join(handle: string, input: Partial<JoinGroupInput>): JoinGroupResult | undefined {
    const full: JoinGroupInput = {
      apiVersion: 9,
      groupId: "g",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 30_000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: consumerProtocols(["t"]),
      clientId: "client",
      clientHost: "/127.0.0.1",
      ...input,
    };
    this.run(this.coordinator.joinGroup(handle, full, this.nowMs));
    return this.#peek(handle, "JoinGroup") as JoinGroupResult | undefined;
  }

  /** KIP-394 two-step join for a dynamic member; returns the member id (response still parked). */
  joinDynamic(handle: string, input: Partial<JoinGroupInput> = {}): string {
    const first = this.join(handle, { ...input, memberId: "" });
    if (first === undefined || first.errorCode !== 79) {
      throw new Error(`Expected MEMBER_ID_REQUIRED, got ${JSON.stringify(first)}.`);
    }
    this.take(handle);
    this.join(handle, { ...input, memberId: first.memberId });
    return first.memberId;
  }

  sync(handle: string, input: Partial<SyncGroupInput>): SyncGroupResult | undefined {
    const full: SyncGroupInput = {
      apiVersion: 5,
      groupId: "g",
      generationId: 1,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [],
      ...input,
    };
    this.run(this.coordinator.syncGroup(handle, full, this.nowMs));
    return this.#peek(handle, "SyncGroup") as SyncGroupResult | undefined;
  }

  heartbeat(memberId: string, generationId: number, groupInstanceId: string | null = null) {
    return this.coordinator.heartbeat(
      { groupId: "g", generationId, memberId, groupInstanceId },
      this.nowMs,
    ).errorCode;
  }

  commit(handle: string, input: Partial<OffsetCommitInput>): OffsetCommitResult | undefined {
    const full: OffsetCommitInput = {
      apiVersion: 8,
      groupId: "g",
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [],
      ...input,
    };
    this.run(this.coordinator.offsetCommit(handle, full, this.nowMs));
    return this.#peek(handle, "OffsetCommit") as OffsetCommitResult | undefined;
  }
}

/** One assignment byte per member, so tests can tell them apart. */
export function assignmentFor(index: number): Uint8Array {
  return new Uint8Array([index + 1]);
}
