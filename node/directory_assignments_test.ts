import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { silentLogger } from "../core/log.ts";
import type { AssignReplicasToDirsRequest } from "../net/protocol/generated/assign_replicas_to_dirs_request.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { type DirectoryAssignment, DirectoryAssignments } from "./directory_assignments.ts";

const TOPIC = "q1Sh-9_ISia_fV4lGz8fqw";
const DIR_A = "ZGlyLWEtMDAwMDAwMDAwMA";
const DIR_B = "ZGlyLWItMDAwMDAwMDAwMA";

/** A controller answering each request with `answer(request)` (or throwing). */
function assignmentsWith(
  answer: (request: AssignReplicasToDirsRequest) => number | Error,
  stillNeeded: (a: DirectoryAssignment) => boolean = () => true,
) {
  const requests: AssignReplicasToDirsRequest[] = [];
  const assignments = new DirectoryAssignments({
    nodeId: 1,
    brokerEpoch: () => 7n,
    logger: silentLogger,
    stillNeeded,
    batchDelayMs: 5,
    retryBackoffMs: 20,
    controller: {
      send: <T>(_apiKey: number, body: Record<string, unknown>) => {
        const request = body as unknown as AssignReplicasToDirsRequest;
        requests.push(request);
        const outcome = answer(request);
        if (outcome instanceof Error) return Promise.reject(outcome);
        return Promise.resolve({
          errorCode: 0,
          directories: request.directories.map((d) => ({
            id: d.id,
            topics: d.topics.map((t) => ({
              topicId: t.topicId,
              partitions: t.partitions.map((p) => ({
                partitionIndex: p.partitionIndex,
                errorCode: outcome,
              })),
            })),
          })),
        } as unknown as T);
      },
    },
  });
  return { assignments, requests };
}

/** `directory id -> partitions` of one request. */
function placed(request: AssignReplicasToDirsRequest): Record<string, number[]> {
  return Object.fromEntries(request.directories.map((d) => [
    d.id,
    d.topics.flatMap((t) => t.partitions.map((p) => p.partitionIndex)),
  ]));
}

Deno.test("assignments made together leave in one request, grouped by directory (KIP-858)", async () => {
  const { assignments, requests } = assignmentsWith(() => ErrorCode.NONE);
  assignments.assign({ topicId: TOPIC, partition: 0, directoryId: DIR_A });
  assignments.assign({ topicId: TOPIC, partition: 1, directoryId: DIR_B });
  assignments.assign({ topicId: TOPIC, partition: 2, directoryId: DIR_A });
  assert(await assignments.idle(2_000));
  assertEquals(requests.length, 1);
  assertEquals([requests[0]!.brokerId, requests[0]!.brokerEpoch], [1, 7n]);
  assertEquals(placed(requests[0]!), { [DIR_A]: [0, 2], [DIR_B]: [1] });
  assignments.close();
});

Deno.test("a failed request is retried until the controller accepts it", async () => {
  let calls = 0;
  const { assignments, requests } = assignmentsWith(() =>
    ++calls < 3 ? new Error("The controller did not answer") : ErrorCode.NONE
  );
  assignments.assign({ topicId: TOPIC, partition: 0, directoryId: DIR_A });
  assert(await assignments.idle(2_000));
  assertEquals(requests.length, 3);
  assertEquals(assignments.pendingCount, 0);
  assignments.close();
});

Deno.test("an assignment no longer needed, or refused for good, is dropped", async () => {
  const { assignments, requests } = assignmentsWith(
    () => ErrorCode.UNKNOWN_TOPIC_ID,
    (a) => a.partition !== 9,
  );
  assignments.assign({ topicId: TOPIC, partition: 9, directoryId: DIR_A });
  assignments.assign({ topicId: TOPIC, partition: 0, directoryId: DIR_A });
  assert(await assignments.idle(2_000));
  assertEquals(requests.map(placed), [{ [DIR_A]: [0] }]);
  assertEquals(assignments.pendingCount, 0);
  assignments.close();
});
