// TxnManager over an in-memory __transaction_state with a fake marker channel: topic creation
// on first FindCoordinator (Kafka's replication-factor rule), routing by Java hashCode, the
// commit path (PrepareCommit durable, markers with the coordinator epoch, CompleteCommit after
// their acknowledgement), a new leader finishing a prepared commit, and partition checks.
import assert from "node:assert/strict";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  RecordType,
} from "../core/metadata/records.ts";
import { createFeatureLevelRecord } from "../net/protocol/generated/feature_level_record.ts";
import {
  createBrokerEndpoint,
  createRegisterBrokerRecord,
} from "../net/protocol/generated/register_broker_record.ts";
import { createTopicRecord } from "../net/protocol/generated/topic_record.ts";
import { createPartitionRecord } from "../net/protocol/generated/partition_record.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import type { BrokerContext } from "./broker_context.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import { encodeMetadataRecord, MetadataState } from "./metadata_state.ts";
import { MemoryGroupLogStore } from "./group_memory_log_store.ts";
import { TRANSACTION_STATE_TOPIC, type TxnLogStore, TxnManager } from "./txn_manager.ts";
import type { MarkerJob } from "./txn_marker_channel.ts";
import { decodeTxnRecordBatches } from "./txn_records.ts";
import type { TxnLogValue } from "../core/txn/types.ts";

const PARTITIONS = 3;
const COORDINATOR_EPOCH = 7;

function topicRecords(name: string, topicId: string, count: number, leader: number) {
  return [
    makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name, topicId })),
    ...Array.from({ length: count }, (_, partitionId) =>
      makeRecord(
        RecordType.PARTITION,
        0,
        createPartitionRecord({ topicId, partitionId, replicas: [leader], isr: [leader], leader }),
      )),
  ];
}

function brokerRecord(id: number): MetadataRecord {
  return makeRecord(
    RecordType.REGISTER_BROKER,
    1,
    createRegisterBrokerRecord({
      brokerId: id,
      brokerEpoch: 10n,
      incarnationId: "AAAAAAAAAAAAAAAAAAAAAg",
      endPoints: [createBrokerEndpoint({ name: "PLAINTEXT", host: `broker${id}`, port: 9092 })],
      fenced: false,
    }),
  );
}

class Harness {
  readonly metadata = new MetadataState(silentLogger);
  readonly memory = new MemoryGroupLogStore();
  readonly store: TxnLogStore;
  readonly createTopicsCalls: Record<string, unknown>[] = [];
  readonly jobs: MarkerJob[] = [];
  cancelled = 0;
  nowMs = 1_000_000;
  #offset = 0;
  #nextPid = 5000n;
  readonly ctx: BrokerContext;

  constructor(replicationFactor = "1") {
    const config = parseServerConfig(
      new Map([
        ["process.roles", "broker,controller"],
        ["node.id", "1"],
        ["controller.quorum.voters", "1@localhost:9093"],
        ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
        ["controller.listener.names", "CONTROLLER"],
        ["transaction.state.log.num.partitions", String(PARTITIONS)],
        ["transaction.state.log.replication.factor", replicationFactor],
      ]),
    ).config;
    const controller = {
      send: (apiKey: number, body: Record<string, unknown>) => {
        assert.equal(apiKey, ApiKey.CREATE_TOPICS);
        this.createTopicsCalls.push(body);
        return Promise.resolve({ topics: [{ name: TRANSACTION_STATE_TOPIC, errorCode: 0 }] });
      },
    } as unknown as ControllerChannel;
    this.ctx = {
      config,
      logger: silentLogger,
      nodeId: 1,
      clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
      metadata: this.metadata,
      controller,
      brokerEpoch: () => 10n,
    };
    const m = this.memory;
    this.store = {
      append: (p, b) => m.append(p, b),
      read: (p, o, n) => m.read(p, o, n),
      onLeaderChange: (l) => m.onLeaderChange(l),
      ledPartitions: () => m.ledPartitions(),
      leaderEpoch: () => COORDINATOR_EPOCH,
    };
    this.apply([
      makeRecord(
        RecordType.FEATURE_LEVEL,
        0,
        createFeatureLevelRecord({ name: METADATA_VERSION_FEATURE, featureLevel: 21 }),
      ),
      brokerRecord(1),
      brokerRecord(2),
      ...topicRecords("orders", "q1Sh-9_ISia_fV4lGz8fqw", 2, 1),
    ]);
  }

  apply(records: MetadataRecord[]): void {
    this.metadata.applyEntries(records.map((r) => ({
      offset: this.#offset++,
      epoch: 1,
      payload: encodeMetadataRecord(r),
    })));
  }

  createStateTopic(): void {
    this.apply(topicRecords(TRANSACTION_STATE_TOPIC, "AAAAAAAAAAAAAAAAAAAAAQ", PARTITIONS, 1));
  }

  manager(): TxnManager {
    return new TxnManager(this.ctx, this.store, {
      allocateProducerId: () => Promise.resolve(this.#nextPid++),
      offsetsPartitionFor: () => 0,
    }, {
      nowMs: () => this.nowMs,
      markers: {
        send: (job) => {
          this.jobs.push(job);
          return { cancel: () => this.cancelled++ };
        },
        close: () => {},
      },
    });
  }

  leadAll(isLeader: boolean): void {
    for (let p = 0; p < PARTITIONS; p++) this.memory.setLeader(p, isLeader);
  }

  async states(manager: TxnManager, id: string): Promise<TxnLogValue["state"][]> {
    const { records } = await this.memory.read(manager.partitionFor(id), 0, 1 << 20);
    return decodeTxnRecordBatches(records, 0, Infinity).records
      .filter((r) => r.transactionalId === id)
      .map((r) => r.value!.state);
  }
}

async function loaded(manager: TxnManager): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ([...manager.partitionStates().values()].every((s) => s === "active")) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.fail("The transaction coordinators did not load within 100 turns.");
}

async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("__transaction_state is created on first use with Kafka's topic configs", async () => {
  const h = new Harness("2");
  const manager = h.manager();
  manager.start();
  try {
    const location = manager.findTransactionCoordinator("app", "PLAINTEXT");
    assert.equal(location.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await manager.topicCreation();
    const topics = h.createTopicsCalls[0]!.topics as {
      name: string;
      numPartitions: number;
      replicationFactor: number;
      configs: { name: string; value: string }[];
    }[];
    assert.deepEqual(
      [topics[0]!.name, topics[0]!.numPartitions, topics[0]!.replicationFactor],
      [TRANSACTION_STATE_TOPIC, PARTITIONS, 2],
    );
    assert.deepEqual(
      Object.fromEntries(topics[0]!.configs.map((c) => [c.name, c.value])),
      {
        "cleanup.policy": "compact",
        "compression.type": "uncompressed",
        "unclean.leader.election.enable": "false",
        "min.insync.replicas": "2",
        "segment.bytes": "104857600",
      },
    );
  } finally {
    manager.close();
  }
});

Deno.test("the topic is not created while fewer brokers are live than its replication factor", async () => {
  const h = new Harness("3");
  const manager = h.manager();
  manager.start();
  try {
    const location = manager.findTransactionCoordinator("app", "PLAINTEXT");
    assert.equal(location.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await manager.topicCreation();
    assert.equal(h.createTopicsCalls.length, 0);
  } finally {
    manager.close();
  }
});

Deno.test("a commit is durable before EndTxn answers and complete once its markers are written", async () => {
  const h = new Harness();
  h.createStateTopic();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  try {
    const location = manager.findTransactionCoordinator("app", "PLAINTEXT");
    assert.deepEqual([location.errorCode, location.nodeId, location.host], [0, 1, "broker1"]);
    const init = await manager.initProducerId({
      transactionalId: "app",
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.deepEqual(init, { errorCode: 0, producerId: 5000n, producerEpoch: 0 });
    const producer = { transactionalId: "app", producerId: 5000n, producerEpoch: 0 };
    const added = await manager.addPartitions({
      ...producer,
      topics: [{ topic: "orders", partitions: [1] }],
    });
    assert.deepEqual(added, [{ topic: "orders", partitions: [{ partition: 1, errorCode: 0 }] }]);
    assert.equal(await manager.endTxn({ ...producer, committed: true }), ErrorCode.NONE);
    assert.deepEqual(await h.states(manager, "app"), ["Empty", "Ongoing", "PrepareCommit"]);
    assert.equal(h.jobs.length, 1);
    assert.equal(h.jobs[0]!.coordinatorEpoch, COORDINATOR_EPOCH);
    assert.deepEqual(h.jobs[0]!.markers.partitions, [{ topic: "orders", partitions: [1] }]);
    h.jobs[0]!.done();
    await turns();
    assert.deepEqual(await h.states(manager, "app"), [
      "Empty",
      "Ongoing",
      "PrepareCommit",
      "CompleteCommit",
    ]);
  } finally {
    manager.close();
  }
});

Deno.test("a new leader of the partition finishes a commit that was prepared but not completed", async () => {
  const h = new Harness();
  h.createStateTopic();
  const first = h.manager();
  first.start();
  h.leadAll(true);
  await loaded(first);
  const producer = { transactionalId: "app", producerId: 5000n, producerEpoch: 0 };
  await first.initProducerId({ ...producer, transactionTimeoutMs: 60_000, producerId: -1n });
  await first.addPartitions({ ...producer, topics: [{ topic: "orders", partitions: [0, 1] }] });
  await first.endTxn({ ...producer, committed: true });
  h.leadAll(false);
  assert.equal(h.cancelled, 1, "the old coordinator stops sending markers");
  first.close();

  const second = h.manager();
  second.start();
  h.leadAll(true);
  await loaded(second);
  try {
    assert.equal(h.jobs.length, 2);
    assert.deepEqual(h.jobs[1]!.markers, {
      transactionalId: "app",
      producerId: 5000n,
      producerEpoch: 0,
      committed: true,
      partitions: [{ topic: "orders", partitions: [0, 1] }],
    });
    h.jobs[1]!.done();
    await turns();
    assert.equal((await h.states(second, "app")).at(-1), "CompleteCommit");
  } finally {
    second.close();
  }
});

Deno.test("partitions unknown to the metadata fail AddPartitionsToTxn before the coordinator", async () => {
  const h = new Harness();
  h.createStateTopic();
  const manager = h.manager();
  manager.start();
  h.leadAll(true);
  await loaded(manager);
  try {
    const result = await manager.addPartitions({
      transactionalId: "app",
      producerId: 1n,
      producerEpoch: 0,
      topics: [{ topic: "orders", partitions: [0, 9] }],
    });
    assert.deepEqual(result, [{
      topic: "orders",
      partitions: [
        { partition: 0, errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED },
        { partition: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      ],
    }]);
  } finally {
    manager.close();
  }
});

Deno.test("requests for partitions this broker does not lead are NOT_COORDINATOR", async () => {
  const h = new Harness();
  h.createStateTopic();
  const manager = h.manager();
  manager.start();
  try {
    const init = await manager.initProducerId({
      transactionalId: "app",
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    });
    assert.equal(init.errorCode, ErrorCode.NOT_COORDINATOR);
  } finally {
    manager.close();
  }
});
