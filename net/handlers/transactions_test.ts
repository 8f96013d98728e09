import assert from "node:assert/strict";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createTxnOffsetCommitRequest,
  createTxnOffsetCommitRequestPartition,
  createTxnOffsetCommitRequestTopic,
} from "../protocol/generated/txn_offset_commit_request.ts";
import type { TxnOffsetCommitInput } from "../../core/group/types.ts";
import type { RequestContext } from "../dispatcher.ts";
import { txnOffsetCommitHandler } from "./transactions.ts";

Deno.test("TxnOffsetCommit answers INVALID_REQUEST for offsets beyond 2^53 and unknown topics apart, one entry per topic", async () => {
  const commits: TxnOffsetCommitInput[] = [];
  const handler = txnOffsetCommitHandler({
    topicExists: (name) => name === "orders",
    txnOffsetCommit: (input) => {
      commits.push(input);
      return Promise.resolve({
        topics: input.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })),
        })),
      });
    },
  });
  const response = await handler.handle(
    createTxnOffsetCommitRequest({
      transactionalId: "tx",
      groupId: "g",
      producerId: 5n,
      producerEpoch: 0,
      topics: [
        createTxnOffsetCommitRequestTopic({
          name: "orders",
          partitions: [
            createTxnOffsetCommitRequestPartition({ partitionIndex: 0, committedOffset: 3n }),
            createTxnOffsetCommitRequestPartition({
              partitionIndex: 1,
              committedOffset: 9223372036854775807n,
            }),
          ],
        }),
        createTxnOffsetCommitRequestTopic({
          name: "nope",
          partitions: [createTxnOffsetCommitRequestPartition({ partitionIndex: 0 })],
        }),
      ],
    }),
    { apiVersion: 3 } as RequestContext,
  );
  assert.deepEqual(
    response!.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
    [
      ["orders", [[0, 0], [1, ErrorCode.INVALID_REQUEST]]],
      ["nope", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ],
  );
  assert.deepEqual(
    commits.map((c) => c.topics.map((t) => t.partitions.map((p) => p.committedOffset))),
    [[[3]]],
  );
});
