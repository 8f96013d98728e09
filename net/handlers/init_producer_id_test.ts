import { deepEqual as assertEquals } from "node:assert/strict";
import { initProducerIdHandler } from "./init_producer_id.ts";
import { createInitProducerIdRequest } from "../protocol/generated/init_producer_id_request.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { RequestContext } from "../dispatcher.ts";
import type { ReplicaAccess } from "../../node/replica_access.ts";

let next = 1000n;
const replicas = { allocateProducerId: () => Promise.resolve(next++) } as unknown as ReplicaAccess;
const context = { apiVersion: 4 } as RequestContext;
const handler = initProducerIdHandler(replicas);

async function answer(transactionalId: string | null) {
  const res = await handler.handle(createInitProducerIdRequest({ transactionalId }), context);
  return [res!.errorCode, res!.producerId, res!.producerEpoch];
}

Deno.test("an idempotent producer gets a fresh producer id with epoch 0", async () => {
  assertEquals(await answer(null), [ErrorCode.NONE, 1000n, 0]);
});

Deno.test("a transactional id is refused with an error clients treat as fatal", async () => {
  assertEquals(await answer("tx-1"), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1n, -1]);
});

Deno.test("an empty transactional id is an invalid request, as in Kafka's coordinator", async () => {
  assertEquals(await answer(""), [ErrorCode.INVALID_REQUEST, -1n, -1]);
});
