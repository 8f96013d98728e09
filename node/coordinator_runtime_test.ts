import assert from "node:assert/strict";
import { silentLogger } from "../core/log.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import { EMPTY_IMAGE } from "../core/metadata/image.ts";
import {
  CoordinatorRuntime,
  type CoordinatorSlot,
  InternalTopicCreation,
  partitionForGroup,
} from "./coordinator_runtime.ts";

/** A coordinator with one settable deadline; its tick returns "fired at <now>". */
class FakeCoordinator {
  deadlineMs: number | null = null;
  nextDeadlineMs(): number | null {
    return this.deadlineMs;
  }
  tick(nowMs: number): string[] {
    this.deadlineMs = null;
    return [`fired at ${nowMs}`];
  }
}

type Slot = CoordinatorSlot<FakeCoordinator>;

function setup(options: { loadAttemptsMax?: number } = {}) {
  let nowMs = 1_000;
  const ran: string[] = [];
  const runtime = new CoordinatorRuntime<string, FakeCoordinator, Slot>({
    topic: "__consumer_offsets",
    broker: {
      logger: silentLogger,
      nodeId: 1,
      metadata: { image: EMPTY_IMAGE },
      controller: { send: () => Promise.reject(new Error("no controller in this test")) },
    },
    nowMs: () => nowMs,
    partitionCount: () => 4,
    runEffects: (slot, effects) => ran.push(...effects.map((e) => `${slot.partition}: ${e}`)),
    loadReadBytes: 100,
    loadRetryBackoffMs: 1,
    loadAttemptsMax: options.loadAttemptsMax ?? 3,
  });
  const slot = (partition: number): Slot => {
    const s: Slot = { partition, state: "loading", coordinator: new FakeCoordinator() };
    runtime.slots.set(partition, s);
    return s;
  };
  return { runtime, ran, slot, setNow: (ms: number) => (nowMs = ms) };
}

Deno.test("routing answers Kafka's coordinator errors until the key's partition is loaded here", () => {
  const { runtime, slot } = setup();
  const key = "billing";
  const partition = partitionForGroup(key, 4);
  assert.equal(runtime.route(key).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  runtime.start();
  assert.equal(runtime.route(key).errorCode, ErrorCode.NOT_COORDINATOR);
  const s = slot(partition);
  assert.equal(runtime.route(key).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  s.state = "active";
  assert.equal(runtime.route(key).slot, s);
  runtime.close();
  assert.equal(runtime.route(key).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
});

Deno.test("FindCoordinator asks for the topic while it does not exist and answers COORDINATOR_NOT_AVAILABLE", () => {
  const { runtime } = setup();
  runtime.start();
  let asked = 0;
  const location = runtime.locate("billing", "PLAINTEXT", () => asked++);
  assert.equal(location.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(location.nodeId, -1);
  assert.equal(asked, 1);
  runtime.close();
  assert.equal(
    runtime.locate("billing", "PLAINTEXT", () => asked++).errorCode,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
  );
  assert.equal(asked, 1, "a closed runtime asks for nothing");
});

Deno.test("a failed load is retried, and given up after the last attempt", async () => {
  const { runtime, slot } = setup({ loadAttemptsMax: 3 });
  runtime.start();
  const s = slot(1);
  let reads = 0;
  const loaded = new Promise<number>((resolve) => {
    void runtime.load(s, {
      read: () => (++reads < 3 ? Promise.reject(new Error("disk")) : Promise.resolve(reads)),
      onLoaded: (_slot, n) => resolve(n),
      giveUp: () => resolve(-1),
    });
  });
  assert.equal(await loaded, 3, "loaded on the third attempt");
  const t = slot(2);
  const gaveUp = new Promise<number>((resolve) => {
    void runtime.load(t, {
      read: () => Promise.reject(new Error("disk")),
      onLoaded: () => resolve(0),
      giveUp: (partition) => resolve(partition),
    });
  });
  assert.equal(await gaveUp, 2);
  runtime.close();
});

Deno.test("readPartition reads chunks to the high watermark and refuses a read that makes no progress", async () => {
  const { runtime, slot } = setup();
  const s = slot(0);
  const offsets: number[] = [];
  const records = await runtime.readPartition(
    s,
    (_partition, offset) => {
      offsets.push(offset);
      return Promise.resolve({ records: new Uint8Array(0), highWatermark: 3 });
    },
    (_chunk, offset) => ({ records: [offset], nextOffset: offset + 1 }),
  );
  assert.deepEqual(records, [0, 1, 2]);
  assert.deepEqual(offsets, [0, 1, 2, 3]);
  await assert.rejects(
    runtime.readPartition(
      s,
      () => Promise.resolve({ records: new Uint8Array(0), highWatermark: 3 }),
      (_chunk, offset) => ({ records: [], nextOffset: offset }),
    ),
    /no batch below the high watermark/,
  );
});

Deno.test("tick fires the deadlines that are due, of active slots only, and the timer fires them too", async () => {
  const { runtime, ran, slot, setNow } = setup();
  runtime.start();
  const active = slot(0);
  active.state = "active";
  const loading = slot(1);
  active.coordinator.deadlineMs = 1_500;
  loading.coordinator.deadlineMs = 1_000;
  runtime.tick();
  assert.deepEqual(ran, [], "nothing due yet; a loading slot is not ticked");
  setNow(1_500);
  runtime.tick();
  assert.deepEqual(ran, ["0: fired at 1500"]);
  // The timer: a deadline already due fires without a manual tick.
  active.coordinator.deadlineMs = 1_500;
  runtime.scheduleTick(true);
  for (let i = 0; i < 100 && ran.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(ran, ["0: fired at 1500", "0: fired at 1500"]);
  runtime.close();
});

Deno.test("an internal topic is created once, and not before enough brokers are live", async () => {
  const brokers = new Map<number, { fenced: boolean; inControlledShutdown: boolean }>([
    [1, { fenced: false, inControlledShutdown: false }],
  ]);
  const image = {
    ...EMPTY_IMAGE,
    cluster: { ...EMPTY_IMAGE.cluster, brokers },
  } as unknown as typeof EMPTY_IMAGE;
  const warnings: string[] = [];
  const sent: unknown[] = [];
  let answer!: () => void;
  const topic = new InternalTopicCreation("__consumer_offsets", {
    logger: { ...silentLogger, warn: (line: string) => warnings.push(line) },
    image: () => image,
    controller: {
      send: <T>(_apiKey: number, body: Record<string, unknown>) => {
        sent.push(body);
        return new Promise<T>((resolve) => {
          answer = () =>
            resolve({ topics: [{ name: "__consumer_offsets", errorCode: 0 }] } as unknown as T);
        });
      },
    },
  });
  const spec = {
    numPartitions: 50,
    replicationFactor: 2,
    replicationFactorKey: "offsets.topic.replication.factor",
    configs: { "cleanup.policy": "compact" },
  };
  topic.ensure(spec);
  topic.ensure(spec);
  assert.equal(sent.length, 0, "one live broker: no topic with replication factor 2");
  assert.equal(warnings.length, 1, "the reason is logged once, not per FindCoordinator");
  assert.match(warnings[0]!, /offsets.topic.replication.factor is 2 but 1 broker/);
  brokers.set(2, { fenced: false, inControlledShutdown: false });
  topic.ensure(spec);
  topic.ensure(spec); // joins the creation in flight
  assert.equal(sent.length, 1);
  const settled = topic.settled();
  answer();
  await settled;
  topic.ensure(spec); // a later call may ask again (the controller answers TOPIC_ALREADY_EXISTS)
  assert.equal(sent.length, 2);
  answer();
  await topic.settled();
});
