import { strict as assert } from "node:assert";
import { alterClientQuotas, quotaEntityMatches } from "./quota_control.ts";
import { EMPTY_IMAGE } from "./image.ts";
import { createAlterClientQuotasRequest } from "../../net/protocol/generated/alter_client_quotas_request.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";

function alter(
  entity: [string, string | null][],
  ops: [string, number, boolean][],
  validateOnly = false,
) {
  return alterClientQuotas(
    EMPTY_IMAGE,
    createAlterClientQuotasRequest({
      validateOnly,
      entries: [{
        entity: entity.map(([entityType, entityName]) => ({
          entityType,
          entityName,
          _unknownTaggedFields: [],
        })),
        ops: ops.map(([key, value, remove]) => ({ key, value, remove, _unknownTaggedFields: [] })),
        _unknownTaggedFields: [],
      }],
    }),
  );
}

Deno.test("valid quotas become ClientQuotaRecords; removals too; validateOnly writes nothing", () => {
  const set = alter([["user", "alice"], ["client-id", null]], [[
    "producer_byte_rate",
    1024,
    false,
  ]]);
  assert.equal(set.response.entries[0]!.errorCode, ErrorCode.NONE);
  assert.equal(set.records.length, 1);
  const removed = alter([["client-id", "x"]], [["consumer_byte_rate", 0, true]]);
  assert.equal((removed.records[0]!.data as { remove: boolean }).remove, true);
  assert.equal(alter([["user", "a"]], [["request_percentage", 50, false]], true).records.length, 0);
});

Deno.test("quotas Kafka or kraftling would refuse are INVALID_REQUEST with the reason", () => {
  const refused = (
    entity: [string, string | null][],
    ops: [string, number, boolean][],
    why: RegExp,
  ) => {
    const r = alter(entity, ops);
    assert.equal(r.response.entries[0]!.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(r.response.entries[0]!.errorMessage ?? "", why);
    assert.equal(r.records.length, 0);
  };
  refused(
    [["group", "g"]],
    [["producer_byte_rate", 1, false]],
    /Unhandled client quota entity type/,
  );
  refused([["user", "a"], ["user", "b"]], [["producer_byte_rate", 1, false]], /Duplicate user/);
  refused(
    [["ip", "1.2.3.4"], ["user", "a"]],
    [["connection_creation_rate", 1, false]],
    /ip cannot be combined/,
  );
  refused([["user", "a"]], [["connection_creation_rate", 1, false]], /Invalid configuration key/);
  refused([["user", "a"]], [["producer_byte_rate", -5, false]], /positive/);
  refused([["user", "a"]], [["producer_byte_rate", 1.5, false]], /whole number/);
});

Deno.test("describe filters match exact names, defaults and any, strictly or not", () => {
  const entity = [{ entityType: "user", entityName: "alice" }, {
    entityType: "client-id",
    entityName: null,
  }];
  assert.ok(
    quotaEntityMatches(entity, [{ entityType: "user", matchType: 0, match: "alice" }], false),
  );
  assert.ok(
    !quotaEntityMatches(entity, [{ entityType: "user", matchType: 0, match: "alice" }], true),
  );
  assert.ok(
    quotaEntityMatches(entity, [{ entityType: "client-id", matchType: 1, match: null }], false),
  );
  assert.ok(quotaEntityMatches(entity, [{ entityType: "user", matchType: 2, match: null }, {
    entityType: "client-id",
    matchType: 2,
    match: null,
  }], true));
  assert.ok(
    !quotaEntityMatches(entity, [{ entityType: "user", matchType: 1, match: null }], false),
  );
});
