import { strict as assert } from "node:assert";
import { appendErrorToResponseError, GroupErrorCode } from "./error_codes.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";

// The generated ErrorCode table comes from Kafka's errors.tsv; core/ pins its own copy to stay
// free of the protocol layer, so the two must agree.
Deno.test("the pinned group error codes match the generated Kafka error codes", () => {
  const codes: Record<string, number> = ErrorCode;
  for (const [name, code] of Object.entries(GroupErrorCode)) {
    assert.equal(codes[name], code, `${name} should be ${codes[name]}.`);
  }
});

Deno.test("append failures read as coordinator failures, as Kafka maps them", () => {
  const E = GroupErrorCode;
  assert.equal(
    appendErrorToResponseError(E.NOT_ENOUGH_REPLICAS, "offsets"),
    E.COORDINATOR_NOT_AVAILABLE,
  );
  assert.equal(appendErrorToResponseError(E.KAFKA_STORAGE_ERROR, "group"), E.NOT_COORDINATOR);
  assert.equal(
    appendErrorToResponseError(E.MESSAGE_TOO_LARGE, "offsets"),
    E.INVALID_COMMIT_OFFSET_SIZE,
  );
  assert.equal(appendErrorToResponseError(E.MESSAGE_TOO_LARGE, "group"), E.UNKNOWN_SERVER_ERROR);
});
