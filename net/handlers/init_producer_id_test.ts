import { deepEqual as assertEquals } from "node:assert/strict";
import { initProducerIdHandler } from "./init_producer_id.ts";
import { createInitProducerIdRequest } from "../protocol/generated/init_producer_id_request.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { RequestContext } from "../dispatcher.ts";
import type { ReplicaAccess } from "./replica_access.ts";
import type { TransactionService } from "./transaction_service.ts";

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

Deno.test("a transactional id is served by the transaction coordinator", async () => {
  const seen: unknown[] = [];
  const transactions = {
    initProducerId: (input: unknown) => {
      seen.push(input);
      return Promise.resolve({ errorCode: ErrorCode.NONE, producerId: 42n, producerEpoch: 3 });
    },
  } as unknown as TransactionService;
  const withCoordinator = initProducerIdHandler(replicas, transactions);
  const res = await withCoordinator.handle(
    createInitProducerIdRequest({
      transactionalId: "tx-1",
      transactionTimeoutMs: 60_000,
      producerId: 41n,
      producerEpoch: 2,
    }),
    context,
  );
  assertEquals([res!.errorCode, res!.producerId, res!.producerEpoch], [ErrorCode.NONE, 42n, 3]);
  assertEquals(seen, [{
    transactionalId: "tx-1",
    transactionTimeoutMs: 60_000,
    producerId: 41n,
    producerEpoch: 2,
  }]);
});

Deno.test("a client before v4 is told INVALID_PRODUCER_EPOCH where newer ones are PRODUCER_FENCED", async () => {
  const transactions = {
    initProducerId: () =>
      Promise.resolve({ errorCode: ErrorCode.PRODUCER_FENCED, producerId: -1n, producerEpoch: -1 }),
  } as unknown as TransactionService;
  const fenced = initProducerIdHandler(replicas, transactions);
  const request = createInitProducerIdRequest({ transactionalId: "tx-1" });
  const v3 = await fenced.handle(request, { apiVersion: 3 } as RequestContext);
  const v4 = await fenced.handle(request, { apiVersion: 4 } as RequestContext);
  assertEquals([v3!.errorCode, v4!.errorCode], [
    ErrorCode.INVALID_PRODUCER_EPOCH,
    ErrorCode.PRODUCER_FENCED,
  ]);
});

Deno.test("without a transaction coordinator a transactional id is COORDINATOR_NOT_AVAILABLE", async () => {
  assertEquals(await answer("tx-1"), [ErrorCode.COORDINATOR_NOT_AVAILABLE, -1n, -1]);
});

Deno.test("an empty transactional id is an invalid request, as in Kafka's coordinator", async () => {
  assertEquals(await answer(""), [ErrorCode.INVALID_REQUEST, -1n, -1]);
});
