/**
 * DescribeAcls, CreateAcls and DeleteAcls on a broker: DescribeAcls reads the ACLs of the metadata
 * image this broker has applied; CreateAcls and DeleteAcls go to the active controller, which
 * writes them to the metadata log. Without an authorizer (`authorizer.class.name` unset) every
 * one answers SECURITY_DISABLED, as Kafka does.
 *
 * @example
 * ```ts ignore
 * registerAclApis(dispatcher, { enabled: true, acls: () => image.acls.values(), forward });
 * ```
 *
 * @module
 */

import type { Dispatcher } from "../dispatcher.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import { KafkaError } from "../protocol/errors.ts";
import type { DescribeAclsRequest } from "../protocol/generated/describe_acls_request.ts";
import {
  createAclDescription,
  createDescribeAclsResource,
  createDescribeAclsResponse,
  type DescribeAclsResponse,
} from "../protocol/generated/describe_acls_response.ts";
import type { CreateAclsRequest } from "../protocol/generated/create_acls_request.ts";
import {
  createAclCreationResult,
  type CreateAclsResponse,
  createCreateAclsResponse,
} from "../protocol/generated/create_acls_response.ts";
import type { DeleteAclsRequest } from "../protocol/generated/delete_acls_request.ts";
import {
  createDeleteAclsFilterResult,
  createDeleteAclsResponse,
  type DeleteAclsResponse,
} from "../protocol/generated/delete_acls_response.ts";
import { type AclBinding, matchesFilter } from "../../core/security/acl.ts";

/** What the ACL APIs need from the broker. */
export interface AclApiContext {
  /** True when an authorizer is configured. */
  enabled: boolean;
  /** The ACLs of the applied metadata image. */
  acls(): Iterable<AclBinding>;
  /** Sends a request to the active controller and resolves with its response. */
  forward(apiKey: number, request: unknown, version: number): Promise<unknown>;
}

const DISABLED_MESSAGE = "No Authorizer is configured.";

/** DescribeAcls from the image: ACLs grouped by resource pattern. */
export function describeAcls(
  request: DescribeAclsRequest,
  acls: Iterable<AclBinding>,
): DescribeAclsResponse {
  const filter = {
    resourceType: request.resourceTypeFilter,
    resourceName: request.resourceNameFilter,
    patternType: request.patternTypeFilter,
    principal: request.principalFilter,
    host: request.hostFilter,
    operation: request.operation,
    permissionType: request.permissionType,
  };
  if (
    filter.resourceType === 0 || filter.patternType === 0 || filter.operation === 0 ||
    filter.permissionType === 0
  ) {
    return createDescribeAclsResponse({
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: "A filter cannot hold UNKNOWN codes",
    });
  }
  const byResource = new Map<
    string,
    { type: number; name: string; pattern: number; acls: AclBinding[] }
  >();
  for (const a of acls) {
    if (!matchesFilter(filter, a)) continue;
    const key = `${a.resourceType}\u0000${a.patternType}\u0000${a.resourceName}`;
    let entry = byResource.get(key);
    if (entry === undefined) {
      byResource.set(
        key,
        entry = { type: a.resourceType, name: a.resourceName, pattern: a.patternType, acls: [] },
      );
    }
    entry.acls.push(a);
  }
  return createDescribeAclsResponse({
    resources: [...byResource.values()].map((r) =>
      createDescribeAclsResource({
        resourceType: r.type,
        resourceName: r.name,
        patternType: r.pattern,
        acls: r.acls.map((a) =>
          createAclDescription({
            principal: a.principal,
            host: a.host,
            operation: a.operation,
            permissionType: a.permissionType,
          })
        ),
      })
    ),
  });
}

/**
 * Registers DescribeAcls (v0-3) alone: controllers answer it too (KIP-919 admin clients).
 *
 * @example
 * ```ts ignore
 * registerDescribeAcls(dispatcher, { enabled: true, acls: () => image.acls.values() });
 * ```
 */
export function registerDescribeAcls(
  dispatcher: Dispatcher,
  ctx: Pick<AclApiContext, "enabled" | "acls">,
): void {
  dispatcher.register<DescribeAclsRequest, DescribeAclsResponse>(ApiKey.DESCRIBE_ACLS, {
    minVersion: 0,
    maxVersion: 3,
    handle: (request) =>
      ctx.enabled ? describeAcls(request, ctx.acls()) : createDescribeAclsResponse({
        errorCode: ErrorCode.SECURITY_DISABLED,
        errorMessage: DISABLED_MESSAGE,
      }),
  });
}

/**
 * Registers DescribeAcls, CreateAcls and DeleteAcls (v0-3).
 *
 * @example
 * ```ts ignore
 * registerAclApis(dispatcher, ctx);
 * ```
 */
export function registerAclApis(dispatcher: Dispatcher, ctx: AclApiContext): void {
  registerDescribeAcls(dispatcher, ctx);
  const failure = (error: unknown) =>
    error instanceof KafkaError
      ? { code: error.code, message: error.message }
      : { code: ErrorCode.REQUEST_TIMED_OUT, message: (error as Error).message };
  dispatcher.register<CreateAclsRequest, CreateAclsResponse>(ApiKey.CREATE_ACLS, {
    minVersion: 0,
    maxVersion: 3,
    handle: async (request, context) => {
      const answer = (errorCode: number, errorMessage: string) =>
        createCreateAclsResponse({
          results: request.creations.map(() =>
            createAclCreationResult({ errorCode, errorMessage })
          ),
        });
      if (!ctx.enabled) return answer(ErrorCode.SECURITY_DISABLED, DISABLED_MESSAGE);
      try {
        return await ctx.forward(
          ApiKey.CREATE_ACLS,
          request,
          context.apiVersion,
        ) as CreateAclsResponse;
      } catch (error) {
        const { code, message } = failure(error);
        return answer(code, message);
      }
    },
  });
  dispatcher.register<DeleteAclsRequest, DeleteAclsResponse>(ApiKey.DELETE_ACLS, {
    minVersion: 0,
    maxVersion: 3,
    handle: async (request, context) => {
      const answer = (errorCode: number, errorMessage: string) =>
        createDeleteAclsResponse({
          filterResults: request.filters.map(() =>
            createDeleteAclsFilterResult({ errorCode, errorMessage })
          ),
        });
      if (!ctx.enabled) return answer(ErrorCode.SECURITY_DISABLED, DISABLED_MESSAGE);
      try {
        return await ctx.forward(
          ApiKey.DELETE_ACLS,
          request,
          context.apiVersion,
        ) as DeleteAclsResponse;
      } catch (error) {
        const { code, message } = failure(error);
        return answer(code, message);
      }
    },
  });
}
