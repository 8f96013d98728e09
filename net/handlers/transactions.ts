/**
 * The transactional producer's coordinator APIs (KafkaApis in Kafka 3.9): AddPartitionsToTxn
 * v0-v5 (v0-v3 the client form, v4+ batched with KIP-890 `verifyOnly`),
 * AddOffsetsToTxn v0-v4 and EndTxn v0-v4. Clients older than KIP-588 (AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn below v2) do not know PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH
 * instead, as Kafka answers them.
 *
 * @module
 */

import type { ApiHandler, Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { committableOffset } from "./groups.ts";
import type { AddPartitionsToTxnRequest } from "../protocol/generated/add_partitions_to_txn_request.ts";
import {
  type AddPartitionsToTxnResponse,
  createAddPartitionsToTxnPartitionResult,
  createAddPartitionsToTxnResponse,
  createAddPartitionsToTxnResult,
  createAddPartitionsToTxnTopicResult,
} from "../protocol/generated/add_partitions_to_txn_response.ts";
import type { AddOffsetsToTxnRequest } from "../protocol/generated/add_offsets_to_txn_request.ts";
import {
  type AddOffsetsToTxnResponse,
  createAddOffsetsToTxnResponse,
} from "../protocol/generated/add_offsets_to_txn_response.ts";
import type { EndTxnRequest } from "../protocol/generated/end_txn_request.ts";
import {
  createEndTxnResponse,
  type EndTxnResponse,
} from "../protocol/generated/end_txn_response.ts";
import type { TxnOffsetCommitRequest } from "../protocol/generated/txn_offset_commit_request.ts";
import {
  createTxnOffsetCommitResponse,
  type TxnOffsetCommitResponse,
} from "../protocol/generated/txn_offset_commit_response.ts";
import type { OffsetCommitResult, TxnOffsetCommitInput } from "../../core/group/types.ts";
import type { DescribeTransactionsRequest } from "../protocol/generated/describe_transactions_request.ts";
import {
  createDescribeTransactionsResponse,
  createTopicData,
  createTransactionState as createDescribedTransaction,
  type DescribeTransactionsResponse,
} from "../protocol/generated/describe_transactions_response.ts";
import type { ListTransactionsRequest } from "../protocol/generated/list_transactions_request.ts";
import {
  createListTransactionsResponse,
  createTransactionState as createListedTransaction,
  type ListTransactionsResponse,
} from "../protocol/generated/list_transactions_response.ts";
import type { TransactionService, TxnPartitionErrors } from "./transaction_service.ts";

/** What TxnOffsetCommit needs from the group coordination (`node/group_manager.ts`). */
export interface TxnOffsetCommitService {
  topicExists(name: string): boolean;
  txnOffsetCommit(input: TxnOffsetCommitInput): Promise<OffsetCommitResult>;
}

/** The first version of each api that knows PRODUCER_FENCED (KIP-588). */
const PRODUCER_FENCED_SINCE = 2;

/**
 * PRODUCER_FENCED for clients that know it, INVALID_PRODUCER_EPOCH for older ones (KIP-588).
 *
 * @example
 * ```ts
 * import { fencedErrorFor } from "./transactions.ts";
 * fencedErrorFor(90, 1, 2); // 47, INVALID_PRODUCER_EPOCH
 * ```
 */
export function fencedErrorFor(errorCode: number, apiVersion: number, knownSince: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < knownSince
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}

/**
 * The AddPartitionsToTxn handler: v0-v3, one transaction (the client form); v4-v5, a batch of
 * transactions (`resultsByTransaction`), each either added or, with `verifyOnly` (KIP-890 part 1,
 * sent by partition leaders), only checked.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.ADD_PARTITIONS_TO_TXN, addPartitionsToTxnHandler(txnManager));
 * ```
 */
export function addPartitionsToTxnHandler(
  service: TransactionService,
): ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> {
  const topicResults = (results: TxnPartitionErrors[], apiVersion: number) =>
    results.map((t) =>
      createAddPartitionsToTxnTopicResult({
        name: t.topic,
        resultsByPartition: t.partitions.map((p) =>
          createAddPartitionsToTxnPartitionResult({
            partitionIndex: p.partition,
            partitionErrorCode: fencedErrorFor(p.errorCode, apiVersion, PRODUCER_FENCED_SINCE),
          })
        ),
      })
    );
  return {
    minVersion: 0,
    maxVersion: 5,
    handle: async (request, context) => {
      if (context.apiVersion < 4) {
        const results = await service.addPartitions({
          transactionalId: request.v3AndBelowTransactionalId,
          producerId: request.v3AndBelowProducerId,
          producerEpoch: request.v3AndBelowProducerEpoch,
          topics: request.v3AndBelowTopics.map((t) => ({
            topic: t.name,
            partitions: t.partitions,
          })),
        });
        return createAddPartitionsToTxnResponse({
          resultsByTopicV3AndBelow: topicResults(results, context.apiVersion),
        });
      }
      const resultsByTransaction = await Promise.all(request.transactions.map(async (txn) => {
        const input = {
          transactionalId: txn.transactionalId,
          producerId: txn.producerId,
          producerEpoch: txn.producerEpoch,
          topics: txn.topics.map((t) => ({ topic: t.name, partitions: t.partitions })),
        };
        const results = txn.verifyOnly
          ? service.verifyPartitions(input)
          : await service.addPartitions(input);
        return createAddPartitionsToTxnResult({
          transactionalId: txn.transactionalId,
          topicResults: topicResults(results, context.apiVersion),
        });
      }));
      return createAddPartitionsToTxnResponse({ resultsByTransaction });
    },
  };
}

/**
 * The AddOffsetsToTxn handler: adds the group's `__consumer_offsets` partition to the
 * transaction, so its TxnOffsetCommit gets a marker.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.ADD_OFFSETS_TO_TXN, addOffsetsToTxnHandler(txnManager));
 * ```
 */
export function addOffsetsToTxnHandler(
  service: TransactionService,
): ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> {
  return {
    minVersion: 0,
    maxVersion: 4,
    handle: async (request, context) => {
      const errorCode = await service.addOffsets({
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        groupId: request.groupId,
      });
      return createAddOffsetsToTxnResponse({
        errorCode: fencedErrorFor(errorCode, context.apiVersion, PRODUCER_FENCED_SINCE),
      });
    },
  };
}

/**
 * The EndTxn handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.END_TXN, endTxnHandler(txnManager));
 * ```
 */
export function endTxnHandler(
  service: TransactionService,
): ApiHandler<EndTxnRequest, EndTxnResponse> {
  return {
    minVersion: 0,
    maxVersion: 4,
    handle: async (request, context) => {
      const errorCode = await service.endTxn({
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        committed: request.committed,
      });
      return createEndTxnResponse({
        errorCode: fencedErrorFor(errorCode, context.apiVersion, PRODUCER_FENCED_SINCE),
      });
    },
  };
}

/**
 * The TxnOffsetCommit handler (v0-v4): offsets of unknown topics are UNKNOWN_TOPIC_OR_PARTITION,
 * the rest go to the group coordinator, which holds them until the transaction's marker.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.TXN_OFFSET_COMMIT, txnOffsetCommitHandler(groupManager));
 * ```
 */
export function txnOffsetCommitHandler(
  groups: TxnOffsetCommitService,
): ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> {
  return {
    minVersion: 0,
    maxVersion: 4,
    handle: async (request, context) => {
      // Offsets no log can reach (see committableOffset) are INVALID_REQUEST, not stored rounded.
      const known = request.topics.filter((t) => groups.topicExists(t.name)).map((t) => ({
        ...t,
        partitions: t.partitions.filter((p) => committableOffset(p.committedOffset)),
      })).filter((t) => t.partitions.length > 0);
      const v3 = context.apiVersion >= 3;
      const result = known.length === 0 ? { topics: [] } : await groups.txnOffsetCommit({
        groupId: request.groupId,
        transactionalId: request.transactionalId,
        producerId: request.producerId,
        producerEpoch: request.producerEpoch,
        generationId: v3 ? request.generationId : -1,
        memberId: v3 ? request.memberId : "",
        groupInstanceId: v3 ? request.groupInstanceId : null,
        topics: known.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            committedOffset: Number(p.committedOffset),
            committedLeaderEpoch: context.apiVersion >= 2 ? p.committedLeaderEpoch : -1,
            committedMetadata: p.committedMetadata,
          })),
        })),
      });
      const codes = new Map<string, number>();
      for (const t of result.topics) {
        for (const p of t.partitions) codes.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
      }
      // One entry per requested topic, in the request's order.
      return createTxnOffsetCommitResponse({
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: !groups.topicExists(t.name)
              ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
              : !committableOffset(p.committedOffset)
              ? ErrorCode.INVALID_REQUEST
              : codes.get(`${t.name}\u0000${p.partitionIndex}`) ??
                ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            _unknownTaggedFields: [],
          })),
          _unknownTaggedFields: [],
        })),
      });
    },
  };
}

/**
 * The DescribeTransactions handler (v0, KIP-664): each id's state from its coordinator, or
 * NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / TRANSACTIONAL_ID_NOT_FOUND.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.DESCRIBE_TRANSACTIONS, describeTransactionsHandler(txnManager));
 * ```
 */
export function describeTransactionsHandler(
  service: TransactionService,
): ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse> {
  return {
    minVersion: 0,
    maxVersion: 0,
    handle: (request) =>
      createDescribeTransactionsResponse({
        transactionStates: request.transactionalIds.map((transactionalId) => {
          const { errorCode, view } = service.describeTransaction(transactionalId);
          if (view === null) {
            return createDescribedTransaction({ errorCode, transactionalId, producerId: -1n });
          }
          return createDescribedTransaction({
            errorCode,
            transactionalId,
            transactionState: view.state,
            transactionTimeoutMs: view.transactionTimeoutMs,
            transactionStartTimeMs: BigInt(view.startTimestampMs),
            producerId: view.producerId,
            producerEpoch: view.producerEpoch,
            topics: view.partitions.map((t) =>
              createTopicData({ topic: t.topic, partitions: t.partitions })
            ),
          });
        }),
      }),
  };
}

/**
 * The ListTransactions handler (v0-v1, KIP-664; v1 adds the duration filter of KIP-994).
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.LIST_TRANSACTIONS, listTransactionsHandler(txnManager));
 * ```
 */
export function listTransactionsHandler(
  service: TransactionService,
): ApiHandler<ListTransactionsRequest, ListTransactionsResponse> {
  return {
    minVersion: 0,
    maxVersion: 1,
    handle: (request, context) => {
      const result = service.listTransactions({
        states: request.stateFilters,
        producerIds: request.producerIdFilters,
        durationFilterMs: context.apiVersion >= 1 ? Number(request.durationFilter) : -1,
      });
      return createListTransactionsResponse({
        errorCode: result.errorCode,
        unknownStateFilters: result.unknownStates,
        transactionStates: result.views.map((v) =>
          createListedTransaction({
            transactionalId: v.transactionalId,
            producerId: v.producerId,
            transactionState: v.state,
          })
        ),
      });
    },
  };
}

/**
 * Registers AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, DescribeTransactions and
 * ListTransactions on `dispatcher`.
 *
 * @example
 * ```ts ignore
 * registerTransactionHandlers(dispatcher, txnManager);
 * ```
 */
export function registerTransactionHandlers(
  dispatcher: Dispatcher,
  service: TransactionService,
): void {
  dispatcher.register(ApiKey.ADD_PARTITIONS_TO_TXN, addPartitionsToTxnHandler(service));
  dispatcher.register(ApiKey.ADD_OFFSETS_TO_TXN, addOffsetsToTxnHandler(service));
  dispatcher.register(ApiKey.END_TXN, endTxnHandler(service));
  dispatcher.register(ApiKey.DESCRIBE_TRANSACTIONS, describeTransactionsHandler(service));
  dispatcher.register(ApiKey.LIST_TRANSACTIONS, listTransactionsHandler(service));
}
