/**
 * SCRAM credentials in the metadata log (KIP-554), as Kafka's ScramControlManager keeps them:
 * AlterUserScramCredentials turns upsertions into UserScramCredentialRecords and deletions into
 * RemoveUserScramCredentialRecords; DescribeUserScramCredentials answers from the image with the
 * mechanism and iterations only, never a salt or key.
 *
 * The salted password arrives from the client (Kafka's admin salts and iterates it); StoredKey
 * and ServerKey are derived from it before the controller runs (`deriveUpsertionKeys`, WebCrypto
 * is asynchronous) so the controller step itself stays a pure function of image and request.
 *
 * @module
 */

import type { MetadataImage } from "./image.ts";
import type { ControllerResult } from "./controller_context.ts";
import { makeRecord, RecordType } from "./records.ts";
import type { MetadataRecord } from "../../net/protocol/generated/metadata_records.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import type { AlterUserScramCredentialsRequest } from "../../net/protocol/generated/alter_user_scram_credentials_request.ts";
import {
  type AlterUserScramCredentialsResponse,
  createAlterUserScramCredentialsResponse,
} from "../../net/protocol/generated/alter_user_scram_credentials_response.ts";
import type { DescribeUserScramCredentialsRequest } from "../../net/protocol/generated/describe_user_scram_credentials_request.ts";
import {
  createDescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsResponse,
} from "../../net/protocol/generated/describe_user_scram_credentials_response.ts";
import { createUserScramCredentialRecord } from "../../net/protocol/generated/user_scram_credential_record.ts";
import { createRemoveUserScramCredentialRecord } from "../../net/protocol/generated/remove_user_scram_credential_record.ts";
import {
  credentialFromSaltedPassword,
  type ScramCredential,
  scramMechanismByType,
} from "../security/scram.ts";

/** StoredKey and ServerKey of each upsertion, by its index in the request (absent: unusable). */
export type UpsertionKeys = ReadonlyMap<number, ScramCredential>;

/**
 * Derives the credential of every upsertion whose mechanism is known (the others are answered
 * UNSUPPORTED_SASL_MECHANISM by {@link alterUserScramCredentials}).
 *
 * @example
 * ```ts ignore
 * const keys = await deriveUpsertionKeys(request);
 * const { records, response } = alterUserScramCredentials(image, request, keys);
 * ```
 */
export async function deriveUpsertionKeys(
  request: AlterUserScramCredentialsRequest,
): Promise<UpsertionKeys> {
  const keys = new Map<number, ScramCredential>();
  for (const [i, u] of request.upsertions.entries()) {
    const mechanism = scramMechanismByType(u.mechanism);
    if (mechanism === undefined || u.saltedPassword.length === 0) continue;
    keys.set(
      i,
      await credentialFromSaltedPassword(mechanism, u.saltedPassword, u.salt, u.iterations),
    );
  }
  return keys;
}

function credentialExists(image: MetadataImage, name: string, mechanism: number): boolean {
  for (const c of image.scramCredentials.values()) {
    if (c.name === name && c.mechanism === mechanism) return true;
  }
  return false;
}

type UserOutcome = { records: MetadataRecord[] } | { errorCode: number; errorMessage: string };

/**
 * Handles AlterUserScramCredentials: every user's changes apply together or not at all, and the
 * response has one result per user, as Kafka's controller answers.
 *
 * @example
 * ```ts ignore
 * const { records, response } = alterUserScramCredentials(image, request, await deriveUpsertionKeys(request));
 * ```
 */
export function alterUserScramCredentials(
  image: MetadataImage,
  request: AlterUserScramCredentialsRequest,
  keys: UpsertionKeys,
): ControllerResult<AlterUserScramCredentialsResponse> {
  const users: string[] = [];
  const outcomes = new Map<string, UserOutcome>();
  const seen = new Set<string>();
  const fail = (user: string, errorCode: number, errorMessage: string) => {
    if (!outcomes.has(user) || "records" in outcomes.get(user)!) {
      outcomes.set(user, { errorCode, errorMessage });
    }
  };
  const add = (user: string, record: MetadataRecord) => {
    const outcome = outcomes.get(user);
    if (outcome === undefined) outcomes.set(user, { records: [record] });
    else if ("records" in outcome) outcome.records.push(record);
  };
  const note = (user: string, mechanism: number): boolean => {
    if (!users.includes(user)) users.push(user);
    const key = `${mechanism}:${user}`;
    if (seen.has(key)) {
      fail(
        user,
        ErrorCode.DUPLICATE_RESOURCE,
        "A user credential cannot be altered twice in the same request",
      );
      return false;
    }
    seen.add(key);
    if (user === "") {
      fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
      return false;
    }
    if (scramMechanismByType(mechanism) === undefined) {
      fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism");
      return false;
    }
    return true;
  };
  for (const d of request.deletions) {
    if (!note(d.name, d.mechanism)) continue;
    if (!credentialExists(image, d.name, d.mechanism)) {
      fail(
        d.name,
        ErrorCode.RESOURCE_NOT_FOUND,
        "Attempt to delete a user credential that does not exist",
      );
      continue;
    }
    add(
      d.name,
      makeRecord(
        RecordType.REMOVE_USER_SCRAM_CREDENTIAL,
        0,
        createRemoveUserScramCredentialRecord({ name: d.name, mechanism: d.mechanism }),
      ),
    );
  }
  for (const [i, u] of request.upsertions.entries()) {
    if (!note(u.name, u.mechanism)) continue;
    const mechanism = scramMechanismByType(u.mechanism)!;
    if (u.iterations < mechanism.iterationsMin) {
      fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations");
      continue;
    }
    if (u.iterations > mechanism.iterationsMax) {
      fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations");
      continue;
    }
    const credential = keys.get(i);
    if (credential === undefined || u.salt.length === 0) {
      fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Salt and salted password must not be empty");
      continue;
    }
    add(
      u.name,
      makeRecord(
        RecordType.USER_SCRAM_CREDENTIAL,
        0,
        createUserScramCredentialRecord({ name: u.name, mechanism: u.mechanism, ...credential }),
      ),
    );
  }
  const records: MetadataRecord[] = [];
  const results = users.map((user) => {
    const outcome = outcomes.get(user)!;
    if ("records" in outcome) {
      records.push(...outcome.records);
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, _unknownTaggedFields: [] };
    }
    return { user, ...outcome, _unknownTaggedFields: [] };
  });
  return { records, response: createAlterUserScramCredentialsResponse({ results }) };
}

/**
 * Handles DescribeUserScramCredentials from the image: all users with credentials when `users`
 * is null or empty; RESOURCE_NOT_FOUND for a named user without any, DUPLICATE_RESOURCE for a
 * user named twice (Kafka's messages).
 *
 * @example
 * ```ts ignore
 * const response = describeUserScramCredentials(image, { users: null, _unknownTaggedFields: [] });
 * ```
 */
export function describeUserScramCredentials(
  image: MetadataImage,
  request: DescribeUserScramCredentialsRequest,
): DescribeUserScramCredentialsResponse {
  const byUser = new Map<string, { mechanism: number; iterations: number }[]>();
  for (const c of image.scramCredentials.values()) {
    const list = byUser.get(c.name) ?? [];
    list.push({ mechanism: c.mechanism, iterations: c.iterations });
    byUser.set(c.name, list);
  }
  const infos = (user: string) =>
    (byUser.get(user) ?? []).sort((a, b) => a.mechanism - b.mechanism)
      .map((i) => ({ ...i, _unknownTaggedFields: [] }));
  const wanted = request.users ?? [];
  if (wanted.length === 0) {
    const results = [...byUser.keys()].sort().map((user) => ({
      user,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      credentialInfos: infos(user),
      _unknownTaggedFields: [],
    }));
    return createDescribeUserScramCredentialsResponse({ results });
  }
  const counts = new Map<string, number>();
  for (const u of wanted) counts.set(u.name, (counts.get(u.name) ?? 0) + 1);
  const results = [...counts.keys()].map((user) => {
    const base = {
      user,
      credentialInfos: [] as ReturnType<typeof infos>,
      _unknownTaggedFields: [],
    };
    if (counts.get(user)! > 1) {
      return {
        ...base,
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage:
          `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
      };
    }
    if (!byUser.has(user)) {
      return {
        ...base,
        errorCode: ErrorCode.RESOURCE_NOT_FOUND,
        errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
      };
    }
    return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: infos(user) };
  });
  return createDescribeUserScramCredentialsResponse({ results });
}
