/**
 * InitProducerId (v0-v5) for idempotent producers.
 *
 * Without a transactional id Kafka's `TransactionCoordinator.handleInitProducerId` always hands
 * out a fresh producer id with epoch 0, ignoring a given producerId/epoch (idempotent producers
 * bump their epoch locally, KIP-360, and ask for a new id only when that is exhausted); we do the
 * same, taking ids from blocks of 1000 the controller allocates (AllocateProducerIds, KIP-730). A
 * block that cannot be had answers COORDINATOR_LOAD_IN_PROGRESS, which clients retry (what
 * Kafka's `RPCProducerIdManager` answers).
 *
 * A transactional id goes to the transaction coordinator (`TransactionService`, the broker's
 * `node/txn_manager.ts`): epochs, fencing, KIP-360 bumps. Clients before v4 (KIP-588) get
 * INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED.
 *
 * @module
 */
import type { ApiHandler } from "../dispatcher.ts";
import { KafkaError } from "../protocol/errors.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { InitProducerIdRequest } from "../protocol/generated/init_producer_id_request.ts";
import {
  createInitProducerIdResponse,
  type InitProducerIdResponse,
} from "../protocol/generated/init_producer_id_response.ts";
import type { ReplicaAccess } from "./replica_access.ts";
import type { TransactionService } from "./transaction_service.ts";
import { fencedErrorFor } from "./transactions.ts";

/** The first InitProducerId version that knows PRODUCER_FENCED (KIP-588). */
const PRODUCER_FENCED_SINCE = 4;

/**
 * The InitProducerId handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.INIT_PRODUCER_ID, initProducerIdHandler(replicaManager, txnManager));
 * ```
 */
export function initProducerIdHandler(
  replicas: ReplicaAccess,
  transactions: TransactionService | null = null,
): ApiHandler<InitProducerIdRequest, InitProducerIdResponse> {
  return {
    minVersion: 0,
    maxVersion: 5,
    handle: async (request, context) => {
      const failed = (errorCode: number) =>
        createInitProducerIdResponse({ errorCode, producerId: -1n, producerEpoch: -1 });
      // Kafka's TransactionCoordinator.handleInitProducerId: an empty id is INVALID_REQUEST.
      if (request.transactionalId === "") return failed(ErrorCode.INVALID_REQUEST);
      if (request.transactionalId !== null) {
        // Without a coordinator (tests of the partition side alone) nothing can serve the id.
        if (transactions === null) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        const result = await transactions.initProducerId({
          transactionalId: request.transactionalId,
          transactionTimeoutMs: request.transactionTimeoutMs,
          producerId: context.apiVersion >= 3 ? request.producerId : -1n,
          producerEpoch: context.apiVersion >= 3 ? request.producerEpoch : -1,
        });
        return createInitProducerIdResponse({
          ...result,
          errorCode: fencedErrorFor(result.errorCode, context.apiVersion, PRODUCER_FENCED_SINCE),
        });
      }
      try {
        const producerId = await replicas.allocateProducerId();
        return createInitProducerIdResponse({
          errorCode: ErrorCode.NONE,
          producerId,
          producerEpoch: 0,
        });
      } catch (error) {
        const detail = error instanceof KafkaError ? `error ${error.code}` : String(error);
        replicas.ctx.logger.warn(`Cannot allocate a producer id: ${detail}`);
        return failed(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      }
    },
  };
}
