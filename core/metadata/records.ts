/**
 * `__cluster_metadata` records (KIP-631) as the generated `{ type, version, data }` union, plus
 * the record versions the controller writes at each metadata.version.
 *
 * @module
 */

import {
  type MetadataRecord,
  MetadataRecordType,
} from "../../net/protocol/generated/metadata_records.ts";

export type { MetadataRecord };

/** Record type ids (the schemas' `apiKey`); the generated `MetadataRecordType`. */
export const RecordType = MetadataRecordType;

/** A known record type id. */
export type RecordTypeId = MetadataRecord["type"];

/** One record of a given type. */
export type TypedRecord<T extends RecordTypeId> = Extract<MetadataRecord, { type: T }>;

/**
 * Builds a typed record.
 *
 * @example
 * ```ts
 * import { makeRecord, RecordType } from "./records.ts";
 * import { createTopicRecord } from "../../net/protocol/generated/topic_record.ts";
 * const r = makeRecord(RecordType.TOPIC, 0, createTopicRecord({ name: "foo" }));
 * ```
 */
export function makeRecord<T extends RecordTypeId>(
  type: T,
  version: number,
  data: TypedRecord<T>["data"],
): MetadataRecord {
  return { type, version, data } as MetadataRecord;
}

/** The `metadata.version` feature name. */
export const METADATA_VERSION_FEATURE = "metadata.version";
/** The `kraft.version` feature name (managed by the Raft layer, KIP-853). */
export const KRAFT_VERSION_FEATURE = "kraft.version";
/** The `eligible.leader.replicas.version` feature name (KIP-966, Kafka 4.0). */
export const ELR_VERSION_FEATURE = "eligible.leader.replicas.version";

/** metadata.version feature levels the controller's behaviour depends on (MetadataVersion.java). */
export const MetadataVersion = {
  /** 3.0-IV1, the first KRaft metadata.version. */
  IBP_3_0_IV1: 1,
  /** 3.2-IV0: leader recovery state after an unclean election (KIP-704). */
  IBP_3_2_IV0: 3,
  /** 3.3-IV3: InControlledShutdown in broker registrations (KIP-841). */
  IBP_3_3_IV3: 7,
  /** 3.4-IV0: ZK migration (KIP-866): RegisterBrokerRecord v2. */
  IBP_3_4_IV0: 8,
  /** 3.6-IV0: no leader epoch bump when the controller shrinks the ISR (KAFKA-15021). */
  IBP_3_6_IV0: 12,
  /** 3.6-IV1: metadata transactions (KIP-868). */
  IBP_3_6_IV1: 13,
  /** 3.7-IV0: controller registration (KIP-919). */
  IBP_3_7_IV0: 15,
  /** 3.7-IV2: JBOD in KRaft (KIP-858): directories in partition records. */
  IBP_3_7_IV2: 17,
  /** 3.9-IV0, the latest production level of Kafka 3.9. */
  IBP_3_9_IV0: 21,
} as const;

/** The record versions the controller writes at a given metadata.version. */
export interface RecordVersions {
  readonly registerBroker: number;
  readonly brokerRegistrationChange: number;
  readonly partition: number;
  readonly partitionChange: number;
}

/**
 * The record versions to write at metadata.version `level` (as MetadataVersion's
 * `registerBrokerRecordVersion()`, `partitionRecordVersion()` and friends, without ELR).
 *
 * @example
 * ```ts
 * import { recordVersionsFor } from "./records.ts";
 * recordVersionsFor(21).partition; // 1 (directories, KIP-858)
 * ```
 */
export function recordVersionsFor(level: number): RecordVersions {
  const jbod = level >= MetadataVersion.IBP_3_7_IV2;
  return {
    registerBroker: jbod
      ? 3
      : level >= MetadataVersion.IBP_3_4_IV0
      ? 2
      : level >= MetadataVersion.IBP_3_3_IV3
      ? 1
      : 0,
    brokerRegistrationChange: jbod ? 2 : level >= MetadataVersion.IBP_3_3_IV3 ? 1 : 0,
    partition: jbod ? 1 : 0,
    partitionChange: jbod ? 1 : 0,
  };
}
