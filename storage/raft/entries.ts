/**
 * Raft log entries as Kafka record batches (the `__cluster_metadata-0` format): one record per
 * entry, consecutive entries of one epoch and kind (data or control) in one batch whose partition
 * leader epoch is that epoch; control batches hold LeaderChange, KRaftVersion and Voters records.
 * Used by the metadata log on disk and by the raft RPCs on the wire alike.
 *
 * @module
 */

import { batchesIn } from "../../net/protocol/record_batch.ts";
import {
  ControlRecordType,
  decodeBatch,
  decodeControlKey,
  encodeBatch,
  encodeControlKey,
  type Record as BatchRecord,
} from "../../net/protocol/records.ts";
import { Reader } from "../../net/protocol/reader.ts";
import { Writer } from "../../net/protocol/writer.ts";
import {
  createLeaderChangeMessage,
  createVoter,
  readLeaderChangeMessage,
  writeLeaderChangeMessage,
} from "../../net/protocol/generated/leader_change_message.ts";
import { readVotersRecord, writeVotersRecord } from "../../net/protocol/generated/voters_record.ts";
import {
  createKRaftVersionRecord,
  readKRaftVersionRecord,
  writeKRaftVersionRecord,
} from "../../net/protocol/generated/k_raft_version_record.ts";
import type { ControlRecord, LogEntry } from "../../core/raft/types.ts";
import { votersOf, votersRecordOf } from "./snapshot_file.ts";

function encodeControlValue(control: ControlRecord): { type: number; value: Uint8Array } {
  const w = new Writer(64);
  if (control.type === "leaderChange") {
    writeLeaderChangeMessage(
      w,
      0,
      createLeaderChangeMessage({
        version: 0,
        leaderId: control.leaderId,
        voters: control.voters.map((voterId) => createVoter({ voterId })),
        grantingVoters: control.grantingVoters.map((voterId) => createVoter({ voterId })),
      }),
    );
    return { type: ControlRecordType.LEADER_CHANGE, value: w.finish() };
  }
  if (control.type === "kraftVersion") {
    writeKRaftVersionRecord(
      w,
      0,
      createKRaftVersionRecord({ version: 0, kRaftVersion: control.kraftVersion }),
    );
    return { type: ControlRecordType.KRAFT_VERSION, value: w.finish() };
  }
  writeVotersRecord(w, 0, votersRecordOf(control.voters));
  return { type: ControlRecordType.KRAFT_VOTERS, value: w.finish() };
}

function decodeControl(record: BatchRecord): ControlRecord | undefined {
  if (record.key === null || record.value === null) return undefined;
  const { type } = decodeControlKey(record.key);
  if (type === ControlRecordType.LEADER_CHANGE) {
    const m = readLeaderChangeMessage(new Reader(record.value), 0);
    return {
      type: "leaderChange",
      leaderId: m.leaderId,
      voters: m.voters.map((v) => v.voterId),
      grantingVoters: m.grantingVoters.map((v) => v.voterId),
    };
  }
  if (type === ControlRecordType.KRAFT_VOTERS) {
    const m = readVotersRecord(new Reader(record.value), 0);
    return { type: "voters", voters: votersOf(m) };
  }
  if (type === ControlRecordType.KRAFT_VERSION) {
    const m = readKRaftVersionRecord(new Reader(record.value), 0);
    return { type: "kraftVersion", kraftVersion: m.kRaftVersion };
  }
  return undefined; // snapshot header/footer: nothing the core needs
}

/**
 * Encodes raft entries as Kafka record batches: consecutive entries of one epoch and one kind
 * (data or control) share a batch whose partition leader epoch is that epoch.
 */
export function encodeEntries(entries: readonly LogEntry[], nowMs: number): Uint8Array[] {
  const batches: Uint8Array[] = [];
  let i = 0;
  while (i < entries.length) {
    const first = entries[i]!;
    const control = first.control !== undefined;
    const records: BatchRecord[] = [];
    let j = i;
    while (
      j < entries.length && entries[j]!.epoch === first.epoch &&
      (entries[j]!.control !== undefined) === control &&
      entries[j]!.offset === first.offset + (j - i)
    ) {
      const entry = entries[j]!;
      if (entry.control) {
        const { type, value } = encodeControlValue(entry.control);
        records.push({
          offsetDelta: j - i,
          timestampDelta: 0,
          key: encodeControlKey(type),
          value,
          headers: [],
        });
      } else {
        records.push({
          offsetDelta: j - i,
          timestampDelta: 0,
          key: null,
          value: entry.payload,
          headers: [],
        });
      }
      j++;
    }
    batches.push(encodeBatch({
      baseOffset: first.offset,
      records,
      baseTimestamp: nowMs,
      partitionLeaderEpoch: first.epoch,
      control,
    }));
    i = j;
  }
  return batches;
}

/** Decodes the raft entries held in a buffer of whole record batches. */
export function decodeEntries(bytes: Uint8Array): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    const { header, records } = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
    const control = (header.attributes & 0x20) !== 0;
    for (const record of records) {
      const entry: LogEntry = {
        offset: header.baseOffset + record.offsetDelta,
        epoch: header.partitionLeaderEpoch,
        payload: control ? new Uint8Array(0) : (record.value ?? new Uint8Array(0)).slice(),
      };
      if (control) {
        const decoded = decodeControl(record);
        if (decoded) entry.control = decoded;
      }
      entries.push(entry);
    }
  }
  return entries;
}
