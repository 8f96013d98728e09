/**
 * Kafka's `metadata.version` levels (`MetadataVersion.java`, KRaft levels only) and the other
 * finalized features of 3.9 (`kraft.version`, `transaction.version`, `group.version`), plus Kafka
 * 4.0's `eligible.leader.replicas.version` (KIP-966).
 *
 * @module
 */

/** One metadata.version: its release string (`3.9-IV0`) and feature level. */
export interface MetadataVersion {
  version: string;
  featureLevel: number;
  /** False for versions Kafka 3.9 marks unstable (usable only with unstable.feature.versions.enable). */
  isProduction: boolean;
}

const LEVELS: readonly string[] = [
  "3.0-IV1",
  "3.1-IV0",
  "3.2-IV0",
  "3.3-IV0",
  "3.3-IV1",
  "3.3-IV2",
  "3.3-IV3",
  "3.4-IV0",
  "3.5-IV0",
  "3.5-IV1",
  "3.5-IV2",
  "3.6-IV0",
  "3.6-IV1",
  "3.6-IV2",
  "3.7-IV0",
  "3.7-IV1",
  "3.7-IV2",
  "3.7-IV3",
  "3.7-IV4",
  "3.8-IV0",
  "3.9-IV0",
  "4.0-IV0",
];

/** Every KRaft metadata.version, oldest first; level = index + 1. */
export const METADATA_VERSIONS: readonly MetadataVersion[] = LEVELS.map((version, i) => ({
  version,
  featureLevel: i + 1,
  isProduction: version !== "4.0-IV0",
}));

/** The feature name of metadata.version. */
export const METADATA_VERSION_FEATURE = "metadata.version";

/** Kafka 3.9's `MetadataVersion.LATEST_PRODUCTION`: 3.9-IV0, level 21. */
export const LATEST_PRODUCTION_METADATA_VERSION: MetadataVersion = METADATA_VERSIONS[20]!;

/** The oldest version a bootstrap snapshot may carry (`MINIMUM_BOOTSTRAP_VERSION`). */
export const MINIMUM_BOOTSTRAP_METADATA_VERSION: MetadataVersion = METADATA_VERSIONS[3]!;

/**
 * Resolves `3.9-IV0` or a bare release (`3.7` means its latest internal version, 3.7-IV4), as
 * `MetadataVersion.fromVersionString` does. Throws RangeError for unknown strings.
 *
 * @example
 * ```ts
 * import { metadataVersionFromString } from "./metadata_version.ts";
 * metadataVersionFromString("3.7").featureLevel; // 19
 * ```
 */
export function metadataVersionFromString(text: string): MetadataVersion {
  const exact = METADATA_VERSIONS.find((v) => v.version === text);
  if (exact !== undefined) return exact;
  const ofRelease = METADATA_VERSIONS.filter((v) => v.version.startsWith(`${text}-IV`));
  const latest = ofRelease.at(-1);
  if (latest === undefined) throw new RangeError(`Version ${text} is not a valid version`);
  return latest;
}

/**
 * Looks up a metadata.version by feature level. Throws RangeError for unknown levels.
 *
 * @example
 * ```ts
 * import { metadataVersionFromLevel } from "./metadata_version.ts";
 * metadataVersionFromLevel(21).version; // "3.9-IV0"
 * ```
 */
export function metadataVersionFromLevel(level: number): MetadataVersion {
  const v = METADATA_VERSIONS[level - 1];
  if (v === undefined) throw new RangeError(`No MetadataVersion with feature level ${level}`);
  return v;
}

/** A finalized feature other than metadata.version, with the levels Kafka 3.9 supports. */
export interface FeatureDef {
  name: string;
  maxLevel: number;
  /** The level `storage format` picks when not given (for every metadata.version 3.9 supports). */
  defaultLevel: number;
}

/**
 * The production features besides metadata.version, sorted by name: Kafka 3.9's, and Kafka 4.0's
 * `eligible.leader.replicas.version` (KIP-966). Kafka 4.0 ties that one to metadata.version
 * 4.0-IV1, which we do not have (we stop at 3.9-IV0): here it depends on no metadata.version. Its
 * default is 0, as in Kafka 4.0 (Kafka 4.1 turns it on for new clusters at 4.1's metadata.version,
 * a level we cannot reach).
 */
export const FEATURES: readonly FeatureDef[] = [
  { name: "eligible.leader.replicas.version", maxLevel: 1, defaultLevel: 0 },
  { name: "group.version", maxLevel: 1, defaultLevel: 0 },
  { name: "kraft.version", maxLevel: 1, defaultLevel: 0 },
  { name: "transaction.version", maxLevel: 2, defaultLevel: 0 },
];
