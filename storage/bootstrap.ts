/**
 * The bootstrap metadata `storage format` writes, as Kafka 3.9's `Formatter` does:
 *
 * - `bootstrap.checkpoint` in every formatted directory (`BootstrapDirectory.writeBinaryFile`):
 *   one record batch (base offset 0, leader epoch 0) of framed FeatureLevelRecords, first
 *   metadata.version, then every other feature above level 0;
 * - for a dynamic quorum (`--standalone`/`--initial-controllers`), in the metadata log directory,
 *   `__cluster_metadata-0/00000000000000000000-0000000000.checkpoint`: a control batch of
 *   SnapshotHeader, KRaftVersion and Voters records, then a control batch with the SnapshotFooter.
 *
 * @module
 */

import { join } from "node:path";
import { Writer } from "../net/protocol/writer.ts";
import { encodeBatch, encodeControlKey, type Record } from "../net/protocol/records.ts";
import {
  ControlRecordType,
  type MetadataRecord,
  MetadataRecordType,
  writeMetadataRecord,
} from "../net/protocol/generated/metadata_records.ts";
import { createFeatureLevelRecord } from "../net/protocol/generated/feature_level_record.ts";
import {
  createSnapshotHeaderRecord,
  writeSnapshotHeaderRecord,
} from "../net/protocol/generated/snapshot_header_record.ts";
import {
  createSnapshotFooterRecord,
  writeSnapshotFooterRecord,
} from "../net/protocol/generated/snapshot_footer_record.ts";
import {
  createKRaftVersionRecord,
  writeKRaftVersionRecord,
} from "../net/protocol/generated/k_raft_version_record.ts";
import {
  createEndpoint,
  createKRaftVersionFeature,
  createVoter,
  createVotersRecord,
  writeVotersRecord,
} from "../net/protocol/generated/voters_record.ts";
import { syncDir, writeFileAtomic } from "./fs.ts";

/** The bootstrap file name (`BootstrapDirectory.BINARY_BOOTSTRAP_FILENAME`). */
export const BOOTSTRAP_CHECKPOINT_FILE = "bootstrap.checkpoint";
/** The metadata partition's directory name. */
export const CLUSTER_METADATA_DIR = "__cluster_metadata-0";
/** The bootstrap snapshot (`Snapshots.BOOTSTRAP_SNAPSHOT_ID`: offset 0, epoch 0). */
export const BOOTSTRAP_SNAPSHOT_FILE = "00000000000000000000-0000000000.checkpoint";

/** One initial voter of a dynamic quorum (`--initial-controllers id@host:port:directory-id`). */
export interface InitialVoter {
  nodeId: number;
  host: string;
  port: number;
  directoryId: string;
}

/** What `writeBootstrapFiles` writes into one directory. */
export interface BootstrapFiles {
  /** Finalized feature levels; must include metadata.version. Levels 0 are not written. */
  featureLevels: ReadonlyMap<string, number>;
  /** Set for the metadata directory of a dynamic quorum: writes the bootstrap snapshot. */
  dynamicQuorum?: {
    kraftVersion: number;
    voters: readonly InitialVoter[];
    /** The endpoint name in VotersRecord (the first controller.listener.names entry). */
    controllerListenerName: string;
  };
  /** Timestamp of the records (Kafka uses the wall clock at format time). */
  nowMs: number;
  /** Records after the feature levels (KIP-900's `--add-scram` UserScramCredentialRecords). */
  records?: readonly MetadataRecord[];
}

function controlRecord(
  offsetDelta: number,
  type: number,
  write: (w: Writer) => void,
): Record {
  const w = new Writer(64);
  write(w);
  return {
    offsetDelta,
    timestampDelta: 0,
    key: encodeControlKey(type),
    value: w.finish(),
    headers: [],
  };
}

/**
 * Encodes the `bootstrap.checkpoint` contents: one batch of FeatureLevelRecords.
 *
 * @example
 * ```ts
 * import { encodeBootstrapCheckpoint } from "./bootstrap.ts";
 * const bytes = encodeBootstrapCheckpoint(new Map([["metadata.version", 21]]), Date.now());
 * ```
 */
export function encodeBootstrapCheckpoint(
  featureLevels: ReadonlyMap<string, number>,
  nowMs: number,
  extraRecords: readonly MetadataRecord[] = [],
): Uint8Array {
  const metadataVersion = featureLevels.get("metadata.version");
  if (metadataVersion === undefined) {
    throw new RangeError("Cannot write bootstrap metadata without a metadata.version level");
  }
  const others = [...featureLevels].filter(([name, level]) =>
    name !== "metadata.version" && name !== "kraft.version" && level > 0
  ).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const features: [string, number][] = [["metadata.version", metadataVersion], ...others];
  const records = features.map(([name, featureLevel], i): Record => {
    const w = new Writer(64);
    writeMetadataRecord(w, {
      type: MetadataRecordType.FEATURE_LEVEL,
      version: 0,
      data: createFeatureLevelRecord({ name, featureLevel }),
    });
    return { offsetDelta: i, timestampDelta: 0, key: null, value: w.finish(), headers: [] };
  });
  // KIP-900: `--add-scram` users follow the feature levels, as Kafka's Formatter writes them.
  for (const record of extraRecords) {
    const w = new Writer(128);
    writeMetadataRecord(w, record);
    records.push({
      offsetDelta: records.length,
      timestampDelta: 0,
      key: null,
      value: w.finish(),
      headers: [],
    });
  }
  return encodeBatch({ baseOffset: 0, partitionLeaderEpoch: 0, baseTimestamp: nowMs, records });
}

/**
 * Encodes the bootstrap snapshot of a dynamic quorum: header, kraft.version and voters in one
 * control batch, then the footer in a second one (RecordsSnapshotWriter's layout).
 *
 * @example
 * ```ts
 * import { encodeBootstrapSnapshot } from "./bootstrap.ts";
 * const bytes = encodeBootstrapSnapshot({
 *   kraftVersion: 1,
 *   voters: [{ nodeId: 1, host: "localhost", port: 9093, directoryId: "b7tCfPnxRpOmQVrWcIAyJw" }],
 *   controllerListenerName: "CONTROLLER",
 * }, Date.now());
 * ```
 */
export function encodeBootstrapSnapshot(
  quorum: NonNullable<BootstrapFiles["dynamicQuorum"]>,
  nowMs: number,
): Uint8Array {
  const header = [
    controlRecord(0, ControlRecordType.SNAPSHOT_HEADER, (w) =>
      writeSnapshotHeaderRecord(
        w,
        0,
        createSnapshotHeaderRecord({ version: 0, lastContainedLogTimestamp: BigInt(nowMs) }),
      )),
  ];
  if (quorum.kraftVersion > 0) {
    header.push(controlRecord(1, ControlRecordType.KRAFT_VERSION, (w) =>
      writeKRaftVersionRecord(
        w,
        0,
        createKRaftVersionRecord({ version: 0, kRaftVersion: quorum.kraftVersion }),
      )));
    const voters = [...quorum.voters].sort((a, b) => a.nodeId - b.nodeId).map((v) =>
      createVoter({
        voterId: v.nodeId,
        voterDirectoryId: v.directoryId,
        endpoints: [
          createEndpoint({ name: quorum.controllerListenerName, host: v.host, port: v.port }),
        ],
        kRaftVersionFeature: createKRaftVersionFeature({
          minSupportedVersion: 0,
          maxSupportedVersion: 1,
        }),
      })
    );
    header.push(
      controlRecord(
        2,
        ControlRecordType.KRAFT_VOTERS,
        (w) => writeVotersRecord(w, 0, createVotersRecord({ version: 0, voters })),
      ),
    );
  }
  const common = { partitionLeaderEpoch: 0, baseTimestamp: nowMs, control: true } as const;
  const first = encodeBatch({ ...common, baseOffset: 0, records: header });
  const footer = encodeBatch({
    ...common,
    baseOffset: header.length,
    records: [
      controlRecord(
        0,
        ControlRecordType.SNAPSHOT_FOOTER,
        (w) => writeSnapshotFooterRecord(w, 0, createSnapshotFooterRecord({ version: 0 })),
      ),
    ],
  });
  const out = new Uint8Array(first.length + footer.length);
  out.set(first, 0);
  out.set(footer, first.length);
  return out;
}

/**
 * Writes the bootstrap metadata files into one (existing) log directory, each atomically and
 * durably: `bootstrap.checkpoint`, and for a dynamic quorum's metadata directory the bootstrap
 * snapshot under `__cluster_metadata-0/`.
 *
 * @example
 * ```ts
 * import { writeBootstrapFiles } from "./bootstrap.ts";
 * const dir = await Deno.makeTempDir();
 * try {
 *   await writeBootstrapFiles(dir, {
 *     featureLevels: new Map([["metadata.version", 21]]),
 *     nowMs: Date.now(),
 *   });
 *   await Deno.stat(`${dir}/bootstrap.checkpoint`);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function writeBootstrapFiles(dir: string, files: BootstrapFiles): Promise<void> {
  await writeFileAtomic(
    join(dir, BOOTSTRAP_CHECKPOINT_FILE),
    encodeBootstrapCheckpoint(files.featureLevels, files.nowMs, files.records ?? []),
  );
  if (files.dynamicQuorum !== undefined) {
    const partitionDir = join(dir, CLUSTER_METADATA_DIR);
    await Deno.mkdir(partitionDir, { recursive: true });
    await syncDir(dir);
    await writeFileAtomic(
      join(partitionDir, BOOTSTRAP_SNAPSHOT_FILE),
      encodeBootstrapSnapshot(files.dynamicQuorum, files.nowMs),
    );
  }
}
