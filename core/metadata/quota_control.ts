/**
 * AlterClientQuotas on the active controller (Kafka's ClientQuotaControlManager): each valid entry
 * becomes ClientQuotaRecords (`remove` for a removal), and DescribeClientQuotas' matching of
 * quota entities against filter components, shared with the brokers that answer it from their
 * image. Pure.
 *
 * @example
 * ```ts
 * import { alterClientQuotas } from "./quota_control.ts";
 * // const { records, response } = alterClientQuotas(image, request);
 * ```
 *
 * @module
 */

import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { AlterClientQuotasRequest } from "../../net/protocol/generated/alter_client_quotas_request.ts";
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasResponse,
  createEntityData,
  createEntryData,
} from "../../net/protocol/generated/alter_client_quotas_response.ts";
import { createClientQuotaRecord } from "../../net/protocol/generated/client_quota_record.ts";
import type { MetadataRecord } from "../../net/protocol/generated/metadata_records.ts";
import { CLIENT_QUOTA_KEYS, ENFORCED_QUOTA_KEYS, IP_QUOTA_KEYS } from "../quota/client_quotas.ts";
import type { ControllerResult } from "./controller_context.ts";
import type { MetadataImage } from "./image.ts";
import { makeRecord, RecordType } from "./records.ts";

/** The entity types Kafka's quotas name. */
export const QUOTA_ENTITY_TYPES = ["user", "client-id", "ip"] as const;

type Entity = readonly { entityType: string; entityName: string | null }[];

/** Why a quota entity is invalid, or null (Kafka's validateEntity). */
export function invalidQuotaEntity(entity: Entity): string | null {
  if (entity.length === 0) return "Invalid empty client quota entity";
  const types = new Set<string>();
  for (const e of entity) {
    if (!(QUOTA_ENTITY_TYPES as readonly string[]).includes(e.entityType)) {
      return `Unhandled client quota entity type: ${e.entityType}`;
    }
    if (types.has(e.entityType)) return `Duplicate ${e.entityType} in the client quota entity`;
    if (e.entityName === "") return `Empty ${e.entityType} name: use null for the default`;
    types.add(e.entityType);
  }
  if (types.has("ip") && types.size > 1) {
    return "Invalid quota entity combination: ip cannot be combined with user or client-id";
  }
  return null;
}

/** Why setting `key` to `value` on `entity` is refused, or null. */
function invalidOp(entity: Entity, key: string, value: number, remove: boolean): string | null {
  const isIp = entity.some((e) => e.entityType === "ip");
  const keys: readonly string[] = isIp ? IP_QUOTA_KEYS : CLIENT_QUOTA_KEYS;
  if (!keys.includes(key)) {
    return `Invalid configuration key ${key} for ${isIp ? "ip" : "user/client-id"} quotas`;
  }
  if (!ENFORCED_QUOTA_KEYS.has(key)) {
    return `${key} is not enforced by kraftling, so it cannot be set`;
  }
  if (remove) return null;
  if (!Number.isFinite(value) || value <= 0) return `Quota ${key} must be a positive number`;
  if (key.endsWith("_byte_rate") && !Number.isInteger(value)) {
    return `Quota ${key} must be a whole number of bytes per second`;
  }
  return null;
}

/** Handles AlterClientQuotas: one result per entry; nothing is written for a refused entry. */
export function alterClientQuotas(
  _image: MetadataImage,
  request: AlterClientQuotasRequest,
): ControllerResult<AlterClientQuotasResponse> {
  const records: MetadataRecord[] = [];
  const entries = request.entries.map((entry) => {
    const entity = entry.entity.map((e) => ({
      entityType: e.entityType,
      entityName: e.entityName,
    }));
    const answer = (errorCode: number, errorMessage: string | null) =>
      createEntryData({
        errorCode,
        errorMessage,
        entity: entity.map((e) => createEntityData(e)),
      });
    const invalidEntity = invalidQuotaEntity(entity);
    if (invalidEntity !== null) return answer(ErrorCode.INVALID_REQUEST, invalidEntity);
    const keys = new Set<string>();
    for (const op of entry.ops) {
      if (keys.has(op.key)) {
        return answer(ErrorCode.INVALID_REQUEST, `Duplicate quota key ${op.key}`);
      }
      keys.add(op.key);
      const invalid = invalidOp(entity, op.key, op.value, op.remove);
      if (invalid !== null) return answer(ErrorCode.INVALID_REQUEST, invalid);
    }
    if (!request.validateOnly) {
      for (const op of entry.ops) {
        records.push(
          makeRecord(
            RecordType.CLIENT_QUOTA,
            0,
            createClientQuotaRecord({
              entity: entity.map((e) => ({ ...e, _unknownTaggedFields: [] })),
              key: op.key,
              value: op.remove ? 0 : op.value,
              remove: op.remove,
            }),
          ),
        );
      }
    }
    return answer(ErrorCode.NONE, null);
  });
  return { records, response: createAlterClientQuotasResponse({ entries }) };
}

/** A DescribeClientQuotas filter component (matchType 0 exact, 1 default, 2 any). */
export interface QuotaFilterComponent {
  entityType: string;
  matchType: number;
  match: string | null;
}

/**
 * Whether a quota entity matches DescribeClientQuotas' components (Kafka's ClientQuotaFilter):
 * each component's type must be present and match; with `strict`, no other type may be.
 */
export function quotaEntityMatches(
  entity: Entity,
  components: readonly QuotaFilterComponent[],
  strict: boolean,
): boolean {
  for (const c of components) {
    const e = entity.find((x) => x.entityType === c.entityType);
    if (e === undefined) return false;
    if (c.matchType === 0 && e.entityName !== c.match) return false;
    if (c.matchType === 1 && e.entityName !== null) return false;
  }
  return !strict || entity.every((e) => components.some((c) => c.entityType === e.entityType));
}
