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
 * There is no transaction coordinator: a transactional id is answered with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, an error every client (Java, librdkafka, KafkaJS,
 * kafka-python) treats as fatal at once, instead of COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR,
 * which clients retry until their timeout. FindCoordinator names this broker for transactional
 * ids (`node/group_manager.ts`) so that clients get here and see this error.
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
import type { ReplicaAccess } from "../../node/replica_access.ts";

/**
 * The InitProducerId handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.INIT_PRODUCER_ID, initProducerIdHandler(replicaManager));
 * ```
 */
export function initProducerIdHandler(
  replicas: ReplicaAccess,
): ApiHandler<InitProducerIdRequest, InitProducerIdResponse> {
  return {
    minVersion: 0,
    maxVersion: 5,
    handle: async (request) => {
      const failed = (errorCode: number) =>
        createInitProducerIdResponse({ errorCode, producerId: -1n, producerEpoch: -1 });
      // Kafka's TransactionCoordinator.handleInitProducerId: an empty id is INVALID_REQUEST.
      if (request.transactionalId === "") return failed(ErrorCode.INVALID_REQUEST);
      if (request.transactionalId !== null) {
        return failed(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
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
