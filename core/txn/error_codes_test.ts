import { strict as assert } from "node:assert";
import { appendErrorToTxnError, TxnErrorCode } from "./error_codes.ts";

Deno.test("a failed state append reads as a coordinator failure, as Kafka maps it", () => {
  const E = TxnErrorCode;
  assert.equal(appendErrorToTxnError(E.NOT_ENOUGH_REPLICAS), E.COORDINATOR_NOT_AVAILABLE);
  assert.equal(appendErrorToTxnError(E.REQUEST_TIMED_OUT), E.COORDINATOR_NOT_AVAILABLE);
  assert.equal(appendErrorToTxnError(E.NOT_LEADER_OR_FOLLOWER), E.NOT_COORDINATOR);
  assert.equal(appendErrorToTxnError(E.MESSAGE_TOO_LARGE), E.UNKNOWN_SERVER_ERROR);
  assert.equal(appendErrorToTxnError(E.NONE), E.NONE);
});
