/**
 * Tells the active controller which log directory holds each replica of this broker (JBOD in
 * KRaft, KIP-858; Kafka's `AssignmentsManager`): assignments are queued, sent together in one
 * AssignReplicasToDirs after a short delay, and retried with a backoff until the controller
 * accepted them or they are no longer needed (the image already shows the directory, or the
 * replica left this broker).
 *
 * @module
 */

import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode, errorName } from "../net/protocol/generated/errors.ts";
import {
  createAssignReplicasToDirsRequest,
  createDirectoryData,
  createPartitionData,
  createTopicData,
  type DirectoryData,
} from "../net/protocol/generated/assign_replicas_to_dirs_request.ts";
import type { AssignReplicasToDirsResponse } from "../net/protocol/generated/assign_replicas_to_dirs_response.ts";
import type { Logger } from "../core/log.ts";

/** The line to the controller, as `ControllerChannel` offers it. */
export interface AssignmentChannel {
  send<T>(
    apiKey: number,
    body: Record<string, unknown>,
    options?: { timeoutMs?: number; version?: number },
  ): Promise<T>;
}

/** One replica's directory. */
export interface DirectoryAssignment {
  readonly topicId: string;
  readonly partition: number;
  /** The directory id (meta.properties `directory.id`) of the log dir holding the replica. */
  readonly directoryId: string;
}

/** Options of {@link DirectoryAssignments}. */
export interface DirectoryAssignmentsOptions {
  nodeId: number;
  brokerEpoch: () => bigint;
  controller: AssignmentChannel;
  logger: Logger;
  /** False once the assignment is no longer needed (shown by the image, or the replica left). */
  stillNeeded: (assignment: DirectoryAssignment) => boolean;
  /** Pause that gathers assignments into one request (default 50 ms). */
  batchDelayMs?: number;
  /** Pause before a failed request is retried (default 1 s). */
  retryBackoffMs?: number;
  /** Partitions in one request at most (default 2 000, Kafka's bound). */
  partitionsPerRequestMax?: number;
  /** How long one request may take (default 10 s). */
  requestTimeoutMs?: number;
}

/**
 * The queue of directory assignments still to be accepted by the controller.
 *
 * @example
 * ```ts ignore
 * const assignments = new DirectoryAssignments({ nodeId, brokerEpoch, controller, logger, stillNeeded });
 * assignments.assign({ topicId, partition: 0, directoryId });
 * await assignments.idle(); // sent and answered
 * assignments.close();
 * ```
 */
export class DirectoryAssignments {
  readonly #options: DirectoryAssignmentsOptions;
  /** Wanted assignments by `topicId:partition` (the latest wins). */
  readonly #pending = new Map<string, DirectoryAssignment>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | null = null;
  /** Pause before the next request: 0 after a success, the backoff after a failure. */
  #retryDelayMs = 0;
  #closed = false;

  constructor(options: DirectoryAssignmentsOptions) {
    this.#options = options;
  }

  /** Assignments not yet accepted. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Queues an assignment (replacing an earlier one of the same replica). */
  assign(assignment: DirectoryAssignment): void {
    if (this.#closed) return;
    const key = `${assignment.topicId}:${assignment.partition}`;
    const queued = this.#pending.get(key);
    if (queued?.directoryId === assignment.directoryId) return;
    this.#pending.set(key, assignment);
    this.#schedule(this.#options.batchDelayMs ?? 50);
  }

  /** Resolves once nothing is queued or being sent (bounded by `timeoutMs`). */
  async idle(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // Bounded by the deadline.
    while (Date.now() < deadline) {
      if (this.#pending.size === 0 && this.#sending === null) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  /** Stops sending; queued assignments are dropped (the next start places replicas again). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#pending.clear();
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer !== undefined || this.#sending !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sending = this.#send().finally(() => {
        this.#sending = null;
        if (this.#pending.size > 0) this.#schedule(this.#retryDelayMs);
      });
    }, delayMs);
  }

  async #send(): Promise<void> {
    const { stillNeeded, logger } = this.#options;
    for (const [key, a] of this.#pending) if (!stillNeeded(a)) this.#pending.delete(key);
    const batch = [...this.#pending.values()].slice(
      0,
      this.#options.partitionsPerRequestMax ?? 2000,
    );
    if (batch.length === 0) return;
    const epoch = this.#options.brokerEpoch();
    if (epoch < 0n) {
      this.#retryDelayMs = this.#options.retryBackoffMs ?? 1_000;
      return;
    }
    let response: AssignReplicasToDirsResponse;
    try {
      response = await this.#options.controller.send<AssignReplicasToDirsResponse>(
        ApiKey.ASSIGN_REPLICAS_TO_DIRS,
        createAssignReplicasToDirsRequest({
          brokerId: this.#options.nodeId,
          brokerEpoch: epoch,
          directories: requestDirectories(batch),
        }) as unknown as Record<string, unknown>,
        { timeoutMs: this.#options.requestTimeoutMs ?? 10_000, version: 0 },
      );
    } catch (error) {
      logger.warn(`AssignReplicasToDirs failed, retrying: ${(error as Error).message}`);
      this.#retryDelayMs = this.#options.retryBackoffMs ?? 1_000;
      return;
    }
    if (response.errorCode !== ErrorCode.NONE) {
      logger.warn(`AssignReplicasToDirs answered ${errorName(response.errorCode)}, retrying`);
      this.#retryDelayMs = this.#options.retryBackoffMs ?? 1_000;
      return;
    }
    this.#retryDelayMs = 0;
    for (const d of response.directories) {
      for (const t of d.topics) {
        for (const p of t.partitions) {
          const key = `${t.topicId}:${p.partitionIndex}`;
          // Answered for another directory than wanted now: the newer assignment still goes.
          if (this.#pending.get(key)?.directoryId !== d.id) continue;
          if (p.errorCode !== ErrorCode.NONE) {
            logger.warn(
              `The controller refused to place ${t.topicId}-${p.partitionIndex} in directory ${d.id}: ${
                errorName(p.errorCode)
              }`,
            );
          }
          // Accepted, or refused for good (the topic or the replica is gone).
          this.#pending.delete(key);
        }
      }
    }
  }
}

/** The request's directories -> topics -> partitions. */
function requestDirectories(batch: readonly DirectoryAssignment[]): DirectoryData[] {
  const dirs = new Map<string, Map<string, number[]>>();
  for (const a of batch) {
    const topics = dirs.get(a.directoryId) ?? new Map<string, number[]>();
    dirs.set(a.directoryId, topics);
    const partitions = topics.get(a.topicId) ?? [];
    topics.set(a.topicId, partitions);
    partitions.push(a.partition);
  }
  return [...dirs].map(([id, topics]) =>
    createDirectoryData({
      id,
      topics: [...topics].map(([topicId, partitions]) =>
        createTopicData({
          topicId,
          partitions: partitions.map((partitionIndex) => createPartitionData({ partitionIndex })),
        })
      ),
    })
  );
}
