/**
 * DescribeLogDirs (v0-v4): every `log.dirs` entry with the partitions it holds (all, or those
 * asked for), their sizes, their offsetLag (a follower: how far its log end is behind the leader's
 * high watermark as its last fetch saw it; a leader: 0), and from v4 the
 * volume's total and usable bytes (`statfs`; -1 when unavailable). A failed directory (KIP-112)
 * is listed with KAFKA_STORAGE_ERROR and no partitions, as Kafka lists it.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import type { ApiHandler } from "../dispatcher.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import type { DescribeLogDirsRequest } from "../protocol/generated/describe_log_dirs_request.ts";
import {
  createDescribeLogDirsPartition,
  createDescribeLogDirsResponse,
  createDescribeLogDirsResult,
  createDescribeLogDirsTopic,
  type DescribeLogDirsResponse,
  type DescribeLogDirsTopic,
} from "../protocol/generated/describe_log_dirs_response.ts";
import type { HostedPartition as Partition } from "./replica_access.ts";
import type { ReplicaAccess } from "./replica_access.ts";

/**
 * The DescribeLogDirs handler.
 *
 * @example
 * ```ts ignore
 * dispatcher.register(ApiKey.DESCRIBE_LOG_DIRS, describeLogDirsHandler(replicaManager));
 * ```
 */
export function describeLogDirsHandler(
  replicas: ReplicaAccess,
): ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> {
  return {
    minVersion: 0,
    maxVersion: 4,
    handle: async (request) => {
      const wanted = request.topics === null
        ? null
        : new Set(request.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}:${p}`)));
      const results = await Promise.all(
        replicas.logDirs().map(async ({ dir, partitions, offline }) => {
          // Kafka answers a failed directory with KAFKA_STORAGE_ERROR and nothing in it.
          if (offline === true) {
            return createDescribeLogDirsResult({
              errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
              logDir: dir,
              topics: [],
              totalBytes: -1n,
              usableBytes: -1n,
            });
          }
          const space = await volumeBytes(dir);
          const chosen = partitions.filter((p) =>
            wanted === null || wanted.has(`${p.topic}:${p.partition}`)
          );
          return createDescribeLogDirsResult({
            errorCode: ErrorCode.NONE,
            logDir: dir,
            topics: byTopic(chosen, (p) => replicas.followerLag(p)),
            totalBytes: space.totalBytes,
            usableBytes: space.usableBytes,
          });
        }),
      );
      return createDescribeLogDirsResponse({
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        results,
      });
    },
  };
}

function byTopic(
  partitions: readonly Partition[],
  lagOf: (p: Partition) => number,
): DescribeLogDirsTopic[] {
  const topics = new Map<string, DescribeLogDirsTopic>();
  for (const p of partitions) {
    let t = topics.get(p.topic);
    if (t === undefined) {
      t = createDescribeLogDirsTopic({ name: p.topic, partitions: [] });
      topics.set(p.topic, t);
    }
    t.partitions.push(createDescribeLogDirsPartition({
      partitionIndex: p.partition,
      partitionSize: BigInt(p.log.sizeBytes),
      offsetLag: BigInt(Math.max(0, lagOf(p))),
      isFutureKey: false,
    }));
  }
  return [...topics.values()];
}

async function volumeBytes(dir: string): Promise<{ totalBytes: bigint; usableBytes: bigint }> {
  try {
    const s = await statfs(dir, { bigint: true });
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}
