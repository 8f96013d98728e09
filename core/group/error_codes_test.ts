import { strict as assert } from "node:assert";
import { appendErrorToResponseError, GroupErrorCode } from "./error_codes.ts";

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
