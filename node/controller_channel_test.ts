import assert from "node:assert/strict";
import { silentLogger } from "../core/log.ts";
import { Dispatcher } from "../net/dispatcher.ts";
import { KafkaServer } from "../net/server.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { ControllerChannel, type ControllerEndpoint } from "./controller_channel.ts";
import { freeLoopbackPort } from "./quorum_node_test_support.ts";

interface FakeController {
  endpoint: ControllerEndpoint;
  server: KafkaServer;
  /** Whether it answers as the active controller. */
  active: boolean;
  requests: number;
}

/** A controller listener answering BrokerHeartbeat, NOT_CONTROLLER unless `active`. */
function fakeController(nodeId: number): FakeController {
  const port = freeLoopbackPort();
  const dispatcher = new Dispatcher({ logger: silentLogger });
  const fake: FakeController = {
    endpoint: { nodeId, host: "127.0.0.1", port },
    server: new KafkaServer({
      listenerName: "CONTROLLER",
      hostname: "127.0.0.1",
      port,
      handler: dispatcher.handleFrame,
      logger: silentLogger,
      frameBytesMax: 1024 * 1024,
    }),
    active: false,
    requests: 0,
  };
  dispatcher.register(ApiKey.BROKER_HEARTBEAT, {
    minVersion: 0,
    maxVersion: 1,
    handle: () => {
      fake.requests++;
      return {
        throttleTimeMs: 0,
        errorCode: fake.active ? ErrorCode.NONE : ErrorCode.NOT_CONTROLLER,
        isCaughtUp: true,
        isFenced: false,
        shouldShutDown: false,
        _unknownTaggedFields: [],
      };
    },
  });
  fake.server.start();
  return fake;
}

const HEARTBEAT = { brokerId: 9, brokerEpoch: 1n, currentMetadataOffset: 0n, wantFence: false };

Deno.test("the channel walks past a dead controller to the live ones and finds the active one", async () => {
  // A dead leader refuses connections at once; live non-leaders answer NOT_CONTROLLER at once.
  const controllers = [fakeController(1), fakeController(2), fakeController(3)];
  const [dead, standby, active] = controllers as [FakeController, FakeController, FakeController];
  await dead.server.stop(0);
  active.active = true;
  const channel = new ControllerChannel({
    endpoints: () => controllers.map((c) => c.endpoint),
    leaderId: () => 1, // a stale view: still the dead one
    clientId: "test",
    logger: silentLogger,
    timeoutMs: 5_000,
  });
  try {
    const startedAt = Date.now();
    const response = await channel.send<{ errorCode: number }>(ApiKey.BROKER_HEARTBEAT, HEARTBEAT);
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.ok(Date.now() - startedAt < 1_000, `took ${Date.now() - startedAt} ms`);
    assert.ok(standby.requests <= 2, `asked the standby ${standby.requests} times`);
  } finally {
    channel.close();
    for (const c of [standby, active]) await c.server.stop(0);
  }
});

Deno.test("a new leader learned during a backoff is asked at once", async () => {
  // The raft observer learns the new leader (KIP-595 Fetch answers): the channel stops waiting.
  const controllers = [fakeController(1), fakeController(2)];
  const [first, second] = controllers as [FakeController, FakeController];
  let leaderId = 1;
  const channel = new ControllerChannel({
    endpoints: () => controllers.map((c) => c.endpoint),
    leaderId: () => leaderId,
    clientId: "test",
    logger: silentLogger,
    timeoutMs: 5_000,
  });
  try {
    // Neither is active yet: the channel backs off, up to its bound, between attempts.
    const pending = channel.send<{ errorCode: number }>(ApiKey.BROKER_HEARTBEAT, HEARTBEAT);
    await new Promise((resolve) => setTimeout(resolve, 600));
    second.active = true;
    const switchedAt = Date.now();
    leaderId = 2;
    const response = await pending;
    assert.equal(response.errorCode, ErrorCode.NONE);
    assert.ok(Date.now() - switchedAt < 100, `took ${Date.now() - switchedAt} ms`);
    assert.ok(first.requests + second.requests < 40, "the channel kept its backoff bounded");
  } finally {
    channel.close();
    for (const c of controllers) await c.server.stop(0);
  }
});
