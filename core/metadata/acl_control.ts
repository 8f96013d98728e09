/**
 * CreateAcls and DeleteAcls on the active controller (Kafka's AclControlManager): each valid new
 * ACL becomes an AccessControlEntryRecord with a fresh id (an ACL already present is not written
 * twice), and each ACL a delete filter matches a RemoveAccessControlEntryRecord. Pure: records and
 * the response come back together, as for every controller handler.
 *
 * @example
 * ```ts
 * import { createAcls } from "./acl_control.ts";
 * // const { records, response } = createAcls(image, request, ctx);
 * ```
 *
 * @module
 */

import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { CreateAclsRequest } from "../../net/protocol/generated/create_acls_request.ts";
import {
  createAclCreationResult,
  type CreateAclsResponse,
  createCreateAclsResponse,
} from "../../net/protocol/generated/create_acls_response.ts";
import type { DeleteAclsRequest } from "../../net/protocol/generated/delete_acls_request.ts";
import {
  createDeleteAclsFilterResult,
  createDeleteAclsMatchingAcl,
  createDeleteAclsResponse,
  type DeleteAclsResponse,
} from "../../net/protocol/generated/delete_acls_response.ts";
import { createAccessControlEntryRecord } from "../../net/protocol/generated/access_control_entry_record.ts";
import { createRemoveAccessControlEntryRecord } from "../../net/protocol/generated/remove_access_control_entry_record.ts";
import { uuidFromBytes, ZERO_UUID } from "../../net/protocol/uuid.ts";
import { type AclBinding, invalidAcl, matchesFilter } from "../security/acl.ts";
import type { Random } from "../random.ts";
import type { ControllerContext, ControllerResult } from "./controller_context.ts";
import type { MetadataImage } from "./image.ts";
import { makeRecord, RecordType } from "./records.ts";
import type { MetadataRecord } from "../../net/protocol/generated/metadata_records.ts";

/** Kafka's bound on the ACLs one CreateAcls or DeleteAcls may add or remove (AclControlManager). */
export const MAX_RECORDS_PER_USER_OP = 10_000;

function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return a.resourceType === b.resourceType && a.resourceName === b.resourceName &&
    a.patternType === b.patternType && a.principal === b.principal && a.host === b.host &&
    a.operation === b.operation && a.permissionType === b.permissionType;
}

function newAclId(random: Random, taken: (id: string) => boolean): string {
  const bytes = new Uint8Array(16);
  for (let attempt = 0; attempt < 100; attempt++) {
    for (let i = 0; i < 16; i++) bytes[i] = random.intBelow(256);
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const id = uuidFromBytes(bytes);
    if (id !== ZERO_UUID && !id.startsWith("-") && !taken(id)) return id;
  }
  throw new Error("Cannot generate an ACL id: the random source keeps producing taken ids");
}

/**
 * Handles CreateAcls: one result per creation, in order; INVALID_REQUEST with the reason for an
 * ACL Kafka would refuse.
 */
export function createAcls(
  image: MetadataImage,
  request: CreateAclsRequest,
  ctx: ControllerContext,
): ControllerResult<CreateAclsResponse> {
  const records: MetadataRecord[] = [];
  const added: AclBinding[] = [];
  const ids = new Set<string>();
  const tooMany = request.creations.length > MAX_RECORDS_PER_USER_OP;
  const results = request.creations.map((c) => {
    const binding: AclBinding = {
      resourceType: c.resourceType,
      resourceName: c.resourceName,
      patternType: c.resourcePatternType,
      principal: c.principal,
      host: c.host,
      operation: c.operation,
      permissionType: c.permissionType,
    };
    const invalid = tooMany
      ? `At most ${MAX_RECORDS_PER_USER_OP} ACLs may be created at once`
      : invalidAcl(binding);
    if (invalid !== null) {
      return createAclCreationResult({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: invalid,
      });
    }
    const exists = [...image.acls.values()].some((a) => sameBinding(a, binding)) ||
      added.some((a) => sameBinding(a, binding));
    if (!exists) {
      const id = newAclId(ctx.random, (id) => image.acls.has(id) || ids.has(id));
      ids.add(id);
      added.push(binding);
      records.push(
        makeRecord(
          RecordType.ACCESS_CONTROL_ENTRY,
          0,
          createAccessControlEntryRecord({ id, ...binding }),
        ),
      );
    }
    return createAclCreationResult({ errorCode: ErrorCode.NONE, errorMessage: null });
  });
  return { records, response: createCreateAclsResponse({ results }) };
}

/** Handles DeleteAcls: each filter's result lists the ACLs it removed. */
export function deleteAcls(
  image: MetadataImage,
  request: DeleteAclsRequest,
  _ctx: ControllerContext,
): ControllerResult<DeleteAclsResponse> {
  const records: MetadataRecord[] = [];
  const removed = new Set<string>();
  const filterResults = request.filters.map((f) => {
    const filter = {
      resourceType: f.resourceTypeFilter,
      resourceName: f.resourceNameFilter,
      patternType: f.patternTypeFilter,
      principal: f.principalFilter,
      host: f.hostFilter,
      operation: f.operation,
      permissionType: f.permissionType,
    };
    if (
      filter.resourceType === 0 || filter.patternType === 0 || filter.operation === 0 ||
      filter.permissionType === 0
    ) {
      return createDeleteAclsFilterResult({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: "A filter cannot hold UNKNOWN codes",
      });
    }
    const matching = [...image.acls.values()].filter((a) => matchesFilter(filter, a));
    if (removed.size + matching.length > MAX_RECORDS_PER_USER_OP) {
      return createDeleteAclsFilterResult({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `At most ${MAX_RECORDS_PER_USER_OP} ACLs may be deleted at once`,
      });
    }
    for (const a of matching) {
      if (removed.has(a.id)) continue;
      removed.add(a.id);
      records.push(
        makeRecord(
          RecordType.REMOVE_ACCESS_CONTROL_ENTRY,
          0,
          createRemoveAccessControlEntryRecord({ id: a.id }),
        ),
      );
    }
    return createDeleteAclsFilterResult({
      matchingAcls: matching.map((a) =>
        createDeleteAclsMatchingAcl({
          resourceType: a.resourceType,
          resourceName: a.resourceName,
          patternType: a.patternType,
          principal: a.principal,
          host: a.host,
          operation: a.operation,
          permissionType: a.permissionType,
        })
      ),
    });
  });
  return { records, response: createDeleteAclsResponse({ filterResults }) };
}
