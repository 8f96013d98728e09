/**
 * FindCoordinator v0-v5 (KafkaApis.handleFindCoordinatorRequest). v0-v3 look up one `key` and
 * answer in the top-level fields (Kafka's `Node.noNode()` on error, error message "NONE" on
 * success); v4+ look up every `coordinatorKeys` entry and answer one `coordinators` row each
 * (KIP-699). Key type 1 (TRANSACTION) is answered by the transaction coordinator's service when
 * one is given. v6 (KIP-932 share groups) is not served.
 *
 * @module
 */

import type { ApiHandler, Dispatcher, RequestContext } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode, errorMessage } from "../protocol/generated/errors.ts";
import type { FindCoordinatorRequest } from "../protocol/generated/find_coordinator_request.ts";
import {
  createCoordinator,
  createFindCoordinatorResponse,
  type FindCoordinatorResponse,
} from "../protocol/generated/find_coordinator_response.ts";
import {
  CoordinatorKeyType,
  type CoordinatorLocation,
  type GroupService,
} from "./group_service.ts";
import type { TransactionService } from "./transaction_service.ts";

/** The FindCoordinator versions served. */
export const FIND_COORDINATOR_VERSIONS = { min: 0, max: 5 } as const;

function legacyResponse(location: CoordinatorLocation): FindCoordinatorResponse {
  if (location.errorCode !== ErrorCode.NONE) {
    return createFindCoordinatorResponse({
      errorCode: location.errorCode,
      errorMessage: location.errorMessage ?? errorMessage(location.errorCode),
      nodeId: -1,
      host: "",
      port: -1,
    });
  }
  return createFindCoordinatorResponse({
    errorCode: ErrorCode.NONE,
    errorMessage: "NONE",
    nodeId: location.nodeId,
    host: location.host,
    port: location.port,
  });
}

/**
 * Answers one FindCoordinator request.
 *
 * @example
 * ```ts ignore
 * const response = findCoordinator(service, request, context);
 * ```
 */
export function findCoordinator(
  service: GroupService,
  request: FindCoordinatorRequest,
  context: Pick<RequestContext, "apiVersion" | "listenerName">,
  transactions: TransactionService | null = null,
): FindCoordinatorResponse {
  const keyType = context.apiVersion >= 1 ? request.keyType : 0;
  const locate = (key: string) =>
    keyType === CoordinatorKeyType.TRANSACTION && transactions !== null
      ? transactions.findTransactionCoordinator(key, context.listenerName)
      : service.findCoordinator(keyType, key, context.listenerName);
  if (context.apiVersion < 4) return legacyResponse(locate(request.key));
  return createFindCoordinatorResponse({
    coordinators: request.coordinatorKeys.map((key) => {
      const location = locate(key);
      return createCoordinator({ key, ...location });
    }),
  });
}

/**
 * The FindCoordinator handler for a {@link Dispatcher}.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.FIND_COORDINATOR, findCoordinatorHandler(groupManager));
 * ```
 */
export function findCoordinatorHandler(
  service: GroupService,
  transactions: TransactionService | null = null,
): ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> {
  return {
    minVersion: FIND_COORDINATOR_VERSIONS.min,
    maxVersion: FIND_COORDINATOR_VERSIONS.max,
    handle: (request, context) => findCoordinator(service, request, context, transactions),
  };
}

/**
 * Registers FindCoordinator on `dispatcher`.
 *
 * @example
 * ```ts ignore
 * registerFindCoordinator(dispatcher, groupManager, txnManager);
 * ```
 */
export function registerFindCoordinator(
  dispatcher: Dispatcher,
  service: GroupService,
  transactions: TransactionService | null = null,
): void {
  dispatcher.register(ApiKey.FIND_COORDINATOR, findCoordinatorHandler(service, transactions));
}
