import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ErrorCode } from "../net/protocol/generated/errors.ts";
import {
  createDescribeLogDirsPartition,
  createDescribeLogDirsResponse,
  createDescribeLogDirsResult,
  createDescribeLogDirsTopic,
} from "../net/protocol/generated/describe_log_dirs_response.ts";
import { brokerLogDirs, logDirsCommand } from "./log_dirs.ts";
import { UsageError } from "./command.ts";

const response = createDescribeLogDirsResponse({
  results: [
    createDescribeLogDirsResult({
      logDir: "/data/a",
      topics: [
        createDescribeLogDirsTopic({
          name: "orders",
          partitions: [createDescribeLogDirsPartition({
            partitionIndex: 0,
            partitionSize: 120n,
            offsetLag: 3n,
          })],
        }),
        createDescribeLogDirsTopic({
          name: "other",
          partitions: [createDescribeLogDirsPartition({ partitionIndex: 1, partitionSize: 7n })],
        }),
      ],
    }),
    createDescribeLogDirsResult({
      errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
      logDir: "/data/b",
      topics: [],
    }),
  ],
});

Deno.test("log-dirs prints each dir as kafka-log-dirs.sh does, a failed one with Kafka's exception name", () => {
  assertEquals(brokerLogDirs(2, response, null), {
    broker: 2,
    logDirs: [
      {
        partitions: [
          { partition: "orders-0", size: 120, offsetLag: 3, isFuture: false },
          { partition: "other-1", size: 7, offsetLag: 0, isFuture: false },
        ],
        error: null,
        logDir: "/data/a",
      },
      {
        partitions: [],
        error: "org.apache.kafka.common.errors.KafkaStorageException",
        logDir: "/data/b",
      },
    ],
  });
  // --topic-list keeps the partitions of those topics only.
  assertEquals(
    brokerLogDirs(2, response, new Set(["orders"])).logDirs[0]!.partitions.map((p) => p.partition),
    ["orders-0"],
  );
});

Deno.test("log-dirs needs --describe and numeric broker ids", async () => {
  const io = { out: () => {}, err: () => {} } as never;
  for (
    const args of [
      ["--bootstrap-server", "localhost:9092"],
      ["--bootstrap-server", "localhost:9092", "--describe", "--broker-list", "1,x"],
    ]
  ) {
    let refused = false;
    try {
      await logDirsCommand.run(args, io);
    } catch (error) {
      refused = error instanceof UsageError;
    }
    assertEquals(refused, true, args.join(" "));
  }
});
