import assert from "node:assert/strict";
import { createApiVersionsResponse } from "../net/protocol/generated/api_versions_response.ts";
import { formatFeatures, levelText, parseFeatureLevel, requestedUpdates } from "./features.ts";
import { UsageError } from "./command.ts";
import { runCli } from "./mod.ts";

Deno.test("features describe prints Kafka's tab-separated line per supported feature, sorted", () => {
  const r = createApiVersionsResponse({
    supportedFeatures: [
      { name: "metadata.version", minVersion: 1, maxVersion: 21, _unknownTaggedFields: [] },
      { name: "kraft.version", minVersion: 0, maxVersion: 1, _unknownTaggedFields: [] },
    ],
    finalizedFeaturesEpoch: 42n,
    finalizedFeatures: [
      {
        name: "metadata.version",
        minVersionLevel: 21,
        maxVersionLevel: 21,
        _unknownTaggedFields: [],
      },
    ],
  });
  assert.deepEqual(formatFeatures(r), [
    "Feature: kraft.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 0\tEpoch: 42",
    "Feature: metadata.version\tSupportedMinVersion: 3.0-IV1\tSupportedMaxVersion: 3.9-IV0\tFinalizedVersionLevel: 3.9-IV0\tEpoch: 42",
  ]);
  const noEpoch = createApiVersionsResponse({
    supportedFeatures: r.supportedFeatures,
    finalizedFeaturesEpoch: -1n,
  });
  assert.match(formatFeatures(noEpoch)[1]!, /FinalizedVersionLevel: UNKNOWN 0\tEpoch: -$/);
  assert.equal(levelText("group.version", 1), "1");
});

Deno.test("upgrade takes --metadata as a release and --feature as name=level", () => {
  assert.deepEqual(
    [...requestedUpdates("upgrade", { metadata: "3.7", feature: ["group.version=1"] })],
    [["metadata.version", 19], ["group.version", 1]],
  );
  assert.deepEqual([...requestedUpdates("disable", { feature: ["group.version"] })], [[
    "group.version",
    0,
  ]]);
  assert.deepEqual(parseFeatureLevel(" kraft.version = 1 "), ["kraft.version", 1]);
});

Deno.test("bad feature arguments are Kafka's one-line errors", () => {
  assert.throws(() => parseFeatureLevel("kraft.version"), /equals sign not found/);
  assert.throws(() => parseFeatureLevel("kraft.version=x"), /unable to parse x as a short/);
  assert.throws(
    () => requestedUpdates("upgrade", { metadata: "2.8" }),
    (e: Error) =>
      e instanceof UsageError &&
      /^Unsupported metadata version 2.8\. Supported metadata versions are 3.3-IV0, .*, 3.9-IV0$/
        .test(e.message),
  );
  assert.throws(
    () => requestedUpdates("downgrade", {}),
    /You must specify at least one feature to downgrade/,
  );
  assert.throws(
    () => requestedUpdates("upgrade", { metadata: "3.9", feature: ["metadata.version=21"] }),
    /Feature metadata.version was specified more than once/,
  );
});

Deno.test("features needs a command and exactly one bootstrap flag", async () => {
  const err: string[] = [];
  const io = { out: () => {}, err: (l: string) => err.push(l) };
  assert.equal(await runCli(["features", "--bootstrap-server", "127.0.0.1:1"], io), 1);
  assert.match(err.at(-1)!, /a command is required/);
  assert.equal(await runCli(["features", "describe"], io), 1);
  assert.match(err.at(-1)!, /one of --bootstrap-server or --bootstrap-controller is required/);
  assert.equal(await runCli(["features", "--bootstrap-server", "127.0.0.1:1", "explode"], io), 1);
  assert.match(err.at(-1)!, /unknown command explode/);
});
