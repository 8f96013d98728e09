// A misspelled config key is named in the warning or error it causes (issue #11).
import { equal, throws } from "node:assert/strict";
import { ConfigError } from "./config_def.ts";
import { editDistance, mentionsKey, suggestKey } from "./key_suggestion.ts";
import { parseServerConfig } from "./server_config.ts";

const BASE: [string, string][] = [
  ["process.roles", "broker,controller"],
  ["node.id", "1"],
  ["controller.quorum.voters", "1@localhost:9093"],
  ["controller.listener.names", "CONTROLLER"],
  ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
];

function propsWith(changes: Record<string, string | null>): Map<string, string> {
  const props = new Map(BASE);
  for (const [k, v] of Object.entries(changes)) v === null ? props.delete(k) : props.set(k, v);
  return props;
}

Deno.test("edit distance counts insertions, deletions and substitutions, and stops past its bound", () => {
  equal(editDistance("listners", "listeners"), 1);
  equal(editDistance("num.partition", "num.partitions"), 1);
  equal(editDistance("lsiteners", "listeners"), 2);
  equal(editDistance("kitten", "sitting"), 3);
  equal(editDistance("", "abc"), 3);
  equal(editDistance("a", "abcdef", 2), 3, "beyond the bound it answers bound + 1");
});

Deno.test("a key one or two edits from a known key is taken for its typo; short or distant keys are not", () => {
  const known = ["listeners", "log.dirs", "node.id"];
  equal(suggestKey("listners", known), "listeners");
  equal(suggestKey("log.dir5", known), "log.dirs");
  equal(suggestKey("lsiteners", known), "listeners", "a transposition is two edits");
  equal(suggestKey("listenerz.x", known), null);
  equal(suggestKey("nod", known), null, "three characters: two edits would match too much");
});

Deno.test("a key is mentioned only as a whole key, not inside a longer dotted one", () => {
  equal(mentionsKey("CONTROLLER is not in listeners (PLAINTEXT://:9092)", "listeners"), true);
  equal(mentionsKey("advertised.listeners is empty", "listeners"), false);
  equal(mentionsKey("listeners.x is empty", "listeners"), false);
  equal(mentionsKey("set listeners.", "listeners"), true);
});

Deno.test("the unknown-key warning names the known key a typo is near", () => {
  const { warnings } = parseServerConfig(propsWith({ "num.partition": "3" }));
  equal(
    warnings.join("\n"),
    "The configuration 'num.partition' was supplied but isn't a known config. " +
      "Did you mean 'num.partitions'?",
  );
  const far = parseServerConfig(propsWith({ "my.app.setting": "1" })).warnings;
  equal(
    far.join("\n"),
    "The configuration 'my.app.setting' was supplied but isn't a known config.",
  );
});

Deno.test("a misspelled 'listeners' is named in the error the missing listeners cause", () => {
  const props = propsWith({ listeners: null, listners: "PLAINTEXT://:9092,CONTROLLER://:9093" });
  throws(() => parseServerConfig(props), (error: ConfigError) => {
    equal(error instanceof ConfigError, true);
    equal(error.key, "controller.listener.names");
    equal(
      error.message,
      "controller.listener.names entry CONTROLLER is not in listeners (PLAINTEXT://:9092) " +
        "(the configuration 'listners' was supplied: did you mean 'listeners'?)",
    );
    return true;
  });
});

Deno.test("a misspelled key the error is about is named too, and an error with no typo is unchanged", () => {
  const props = propsWith({
    "controller.listener.names": null,
    "controler.listener.names": "CONTROLLER",
  });
  throws(
    () => parseServerConfig(props),
    /must not be empty in KRaft mode.*\(the configuration 'controler\.listener\.names' was supplied: did you mean 'controller\.listener\.names'\?\)$/,
  );
  throws(
    () => parseServerConfig(propsWith({ "controller.listener.names": null })),
    (error: ConfigError) => error instanceof ConfigError && !error.message.includes("did you mean"),
  );
});
