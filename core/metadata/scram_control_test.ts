// KIP-554 AlterUserScramCredentials / DescribeUserScramCredentials as Kafka's ScramControlManager
// and broker answer them.
import { deepEqual, equal } from "node:assert/strict";
import { applyRecords, EMPTY_IMAGE } from "./image.ts";
import {
  alterUserScramCredentials,
  deriveUpsertionKeys,
  describeUserScramCredentials,
} from "./scram_control.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { createAlterUserScramCredentialsRequest } from "../../net/protocol/generated/alter_user_scram_credentials_request.ts";
import { saltedPassword, SCRAM_MECHANISMS, scramCredential } from "../security/scram.ts";

const sha256 = SCRAM_MECHANISMS.get("SCRAM-SHA-256")!;
const salt = new TextEncoder().encode("0123456789abcdef");

async function upsert(name: string, mechanism = 1, iterations = 4096) {
  const m = [...SCRAM_MECHANISMS.values()].find((x) => x.type === mechanism) ?? sha256;
  return {
    name,
    mechanism,
    iterations,
    salt,
    saltedPassword: await saltedPassword(m, `${name}-secret`, salt, Math.max(1, iterations)),
    _unknownTaggedFields: [],
  };
}

async function alter(
  image = EMPTY_IMAGE,
  init: Parameters<typeof createAlterUserScramCredentialsRequest>[0],
) {
  const request = createAlterUserScramCredentialsRequest(init);
  return alterUserScramCredentials(image, request, await deriveUpsertionKeys(request));
}

Deno.test("an upsertion becomes a UserScramCredentialRecord whose keys are the password's, never the password", async () => {
  const { records, response } = await alter(EMPTY_IMAGE, { upsertions: [await upsert("alice")] });
  deepEqual(response.results.map((r) => [r.user, r.errorCode]), [["alice", ErrorCode.NONE]]);
  equal(records.length, 1);
  const expected = await scramCredential(sha256, "alice-secret", salt, 4096);
  const data = records[0]!.data as {
    storedKey: Uint8Array;
    serverKey: Uint8Array;
    iterations: number;
  };
  deepEqual([data.storedKey, data.serverKey, data.iterations], [
    expected.storedKey,
    expected.serverKey,
    4096,
  ]);
});

Deno.test("describe lists mechanisms and iterations per user, and names users without credentials", async () => {
  const { records } = await alter(EMPTY_IMAGE, {
    upsertions: [await upsert("alice"), await upsert("alice", 2, 8192), await upsert("bob")],
  });
  const image = applyRecords(EMPTY_IMAGE, records);
  const all = describeUserScramCredentials(image, { users: null, _unknownTaggedFields: [] });
  deepEqual(
    all.results.map((r) => [r.user, r.credentialInfos.map((c) => [c.mechanism, c.iterations])]),
    [["alice", [[1, 4096], [2, 8192]]], ["bob", [[1, 4096]]]],
  );
  const some = describeUserScramCredentials(image, {
    users: [
      { name: "carol", _unknownTaggedFields: [] },
      { name: "bob", _unknownTaggedFields: [] },
      {
        name: "bob",
        _unknownTaggedFields: [],
      },
    ],
    _unknownTaggedFields: [],
  });
  deepEqual(some.results.map((r) => [r.user, r.errorCode, r.errorMessage]), [
    [
      "carol",
      ErrorCode.RESOURCE_NOT_FOUND,
      "Attempt to describe a user credential that does not exist: carol",
    ],
    [
      "bob",
      ErrorCode.DUPLICATE_RESOURCE,
      "Cannot describe SCRAM credentials for the same user twice in a single request: bob",
    ],
  ]);
});

Deno.test("a deletion removes the credential, and deleting a missing one is RESOURCE_NOT_FOUND", async () => {
  const image = applyRecords(
    EMPTY_IMAGE,
    (await alter(EMPTY_IMAGE, { upsertions: [await upsert("alice")] })).records,
  );
  const deleted = await alter(image, {
    deletions: [{ name: "alice", mechanism: 1, _unknownTaggedFields: [] }, {
      name: "bob",
      mechanism: 1,
      _unknownTaggedFields: [],
    }],
  });
  deepEqual(deleted.response.results.map((r) => [r.user, r.errorCode, r.errorMessage]), [
    ["alice", ErrorCode.NONE, null],
    [
      "bob",
      ErrorCode.RESOURCE_NOT_FOUND,
      "Attempt to delete a user credential that does not exist",
    ],
  ]);
  equal(applyRecords(image, deleted.records).scramCredentials.size, 0);
});

Deno.test("bad upsertions are refused per user with Kafka's codes, and the user's other changes are not applied", async () => {
  const { records, response } = await alter(EMPTY_IMAGE, {
    upsertions: [
      await upsert("few", 1, 100),
      await upsert("many", 1, 20000),
      await upsert("odd", 7),
      await upsert("twice"),
      await upsert("twice"),
      await upsert("ok", 2),
    ],
  });
  deepEqual(response.results.map((r) => [r.user, r.errorCode, r.errorMessage]), [
    ["few", ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations"],
    ["many", ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations"],
    ["odd", ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"],
    [
      "twice",
      ErrorCode.DUPLICATE_RESOURCE,
      "A user credential cannot be altered twice in the same request",
    ],
    ["ok", ErrorCode.NONE, null],
  ]);
  deepEqual(records.map((r) => (r.data as { name: string }).name), ["ok"]);
});
