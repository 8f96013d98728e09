import { strict as assert } from "node:assert";
import { appendErrorToResponseError, GroupErrorCode } from "./error_codes.ts";

Deno.test("the pinned group error codes match errors.tsv", async () => {
  const tsv = await Deno.readTextFile(
    new URL("../../../shared/kafka-spec/errors.tsv", import.meta.url),
  );
  const codes = new Map(
    tsv.trim().split("\n").slice(1).map((line) => {
      const [code, name] = line.split("\t");
      return [name!, Number(code)];
    }),
  );
  for (const [name, code] of Object.entries(GroupErrorCode)) {
    assert.equal(codes.get(name), code, `${name} should be ${codes.get(name)}.`);
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
