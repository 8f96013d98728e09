// Expected behaviour follows Kafka 3.9's ConfigHelper.describeConfigs (KIP-226 sources and
// synonyms, KIP-133 DescribeConfigs) and DescribeConfigsResponse.
import assert from "node:assert/strict";
import { Dispatcher } from "../dispatcher.ts";
import { Reader } from "../protocol/reader.ts";
import { Writer } from "../protocol/writer.ts";
import { createRequestHeader, readResponseHeader, writeRequestHeader } from "../protocol/header.ts";
import { ApiKey } from "../protocol/generated/api_table.ts";
import { ErrorCode } from "../protocol/generated/errors.ts";
import {
  createDescribeConfigsRequest,
  createDescribeConfigsResource,
  type DescribeConfigsRequest,
  writeDescribeConfigsRequest,
} from "../protocol/generated/describe_configs_request.ts";
import {
  type DescribeConfigsResourceResult,
  type DescribeConfigsResponse,
  readDescribeConfigsResponse,
} from "../protocol/generated/describe_configs_response.ts";
import { createConfigRecord } from "../protocol/generated/config_record.ts";
import { createTopicRecord } from "../protocol/generated/topic_record.ts";
import { createFeatureLevelRecord } from "../protocol/generated/feature_level_record.ts";
import { parseServerConfig } from "../../core/config/server_config.ts";
import { TOPIC_CONFIGS } from "../../core/config/topic_configs.ts";
import { applyRecords, ConfigResourceType, EMPTY_IMAGE } from "../../core/metadata/image.ts";
import {
  makeRecord,
  METADATA_VERSION_FEATURE,
  type MetadataRecord,
  RecordType,
} from "../../core/metadata/records.ts";
import { silentLogger } from "../../core/log.ts";
import {
  ConfigSourceId,
  describeConfigs,
  type DescribeConfigsContext,
  registerDescribeConfigs,
  staticTopicConfig,
} from "./describe_configs.ts";

const { TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS } = ConfigResourceType;
const S = ConfigSourceId;

const BASE_PROPS: [string, string][] = [
  ["process.roles", "broker,controller"],
  ["node.id", "1"],
  ["controller.quorum.voters", "1@localhost:9093"],
  ["listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"],
  ["controller.listener.names", "CONTROLLER"],
];

function config(extra: [string, string][] = []) {
  return parseServerConfig(new Map([...BASE_PROPS, ...extra])).config;
}

function configRecord(resourceType: number, resourceName: string, name: string, value: string) {
  return makeRecord(
    RecordType.CONFIG,
    0,
    createConfigRecord({ resourceType, resourceName, name, value }),
  );
}

function image(records: MetadataRecord[] = []) {
  return applyRecords(EMPTY_IMAGE, [
    makeRecord(
      RecordType.FEATURE_LEVEL,
      0,
      createFeatureLevelRecord({ name: METADATA_VERSION_FEATURE, featureLevel: 21 }),
    ),
    makeRecord(
      RecordType.TOPIC,
      0,
      createTopicRecord({ name: "orders", topicId: "q1Sh-9_ISia_fV4lGz8fqw" }),
    ),
    ...records,
  ]);
}

/** A broker 1 with some static, dynamic and topic-level settings. */
function layeredContext(): DescribeConfigsContext {
  return {
    nodeId: 1,
    config: config([
      ["log.retention.hours", "24"],
      ["log.segment.bytes", "2000000"],
      ["compression.type", " gzip"],
      ["custom.plugin.setting", "x"],
    ]),
    metadata: {
      image: image([
        configRecord(TOPIC, "orders", "cleanup.policy", "compact"),
        configRecord(BROKER, "", "log.segment.bytes", "3000000"),
        configRecord(BROKER, "1", "message.max.bytes", "5000"),
        configRecord(BROKER, "2", "message.max.bytes", "7000"),
      ]),
    },
  };
}

function request(
  resources: [number, string, string[] | null][],
  options: Partial<DescribeConfigsRequest> = {},
): DescribeConfigsRequest {
  return createDescribeConfigsRequest({
    resources: resources.map(([resourceType, resourceName, configurationKeys]) =>
      createDescribeConfigsResource({ resourceType, resourceName, configurationKeys })
    ),
    ...options,
  });
}

function configsOf(response: DescribeConfigsResponse, index = 0) {
  const result = response.results[index]!;
  assert.equal(result.errorCode, ErrorCode.NONE, result.errorMessage ?? "");
  return new Map(result.configs.map((c) => [c.name, c]));
}

function synonyms(c: DescribeConfigsResourceResult | undefined): [string, string | null, number][] {
  return c!.synonyms.map((s) => [s.name, s.value, s.source]);
}

Deno.test("a topic reports every topic config with the value and source it takes effect from", () => {
  const response = describeConfigs(
    request([[TOPIC, "orders", null]], { includeSynonyms: true }),
    { version: 4, ctx: layeredContext() },
  );
  const configs = configsOf(response);
  assert.deepEqual([...configs.keys()], [...TOPIC_CONFIGS.keys()].sort());
  const cleanup = configs.get("cleanup.policy")!;
  assert.equal(cleanup.value, "compact");
  assert.equal(cleanup.configSource, S.DYNAMIC_TOPIC_CONFIG);
  assert.equal(cleanup.configType, 7); // LIST
  assert.equal(cleanup.readOnly, false);
  assert.deepEqual(synonyms(cleanup), [
    ["cleanup.policy", "compact", S.DYNAMIC_TOPIC_CONFIG],
    ["log.cleanup.policy", "delete", S.DEFAULT_CONFIG],
  ]);
  const segment = configs.get("segment.bytes")!;
  assert.equal(segment.value, "3000000");
  assert.equal(segment.configSource, S.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.deepEqual(synonyms(segment), [
    ["log.segment.bytes", "3000000", S.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ["log.segment.bytes", "2000000", S.STATIC_BROKER_CONFIG],
    ["log.segment.bytes", "1073741824", S.DEFAULT_CONFIG],
  ]);
  // The broker's own dynamic override wins; broker 2's does not apply here.
  const maxMessage = configs.get("max.message.bytes")!;
  assert.equal(maxMessage.value, "5000");
  assert.equal(maxMessage.configSource, S.DYNAMIC_BROKER_CONFIG);
  const compression = configs.get("compression.type")!;
  assert.equal(compression.value, "gzip");
  assert.equal(compression.configSource, S.STATIC_BROKER_CONFIG);
  assert.equal(configs.get("min.insync.replicas")!.configSource, S.DEFAULT_CONFIG);
  assert.equal(configs.get("min.cleanable.dirty.ratio")!.value, "0.5");
  assert.equal(configs.get("min.cleanable.dirty.ratio")!.configType, 6); // DOUBLE
  assert.equal(configs.get("remote.storage.enable")!.configSource, S.DEFAULT_CONFIG);
  assert.deepEqual(synonyms(configs.get("remote.storage.enable")), []);
});

Deno.test("a topic's retention.ms follows log.retention.hours but, as in Kafka, reports DEFAULT_CONFIG", () => {
  // ConfigHelper.configSynonyms drops synonyms until the first one named log.retention.ms.
  const configs = configsOf(describeConfigs(
    request([[TOPIC, "orders", ["retention.ms", "segment.ms", "flush.ms"]]], {
      includeSynonyms: true,
    }),
    { version: 4, ctx: layeredContext() },
  ));
  const retention = configs.get("retention.ms")!;
  assert.equal(retention.value, "86400000");
  assert.equal(retention.configSource, S.DEFAULT_CONFIG);
  assert.deepEqual(synonyms(retention), []);
  assert.equal(configs.get("segment.ms")!.value, "604800000");
  assert.equal(configs.get("flush.ms")!.value, "9223372036854775807");
  assert.equal(configs.size, 3);
});

Deno.test("a dynamic log.retention.ms default comes before the static hours it overrides", () => {
  const ctx = layeredContext();
  const withDefault: DescribeConfigsContext = {
    ...ctx,
    metadata: { image: image([configRecord(BROKER, "", "log.retention.ms", "1000")]) },
  };
  const retention = configsOf(describeConfigs(
    request([[TOPIC, "orders", ["retention.ms"]]], { includeSynonyms: true }),
    { version: 4, ctx: withDefault },
  )).get("retention.ms")!;
  assert.equal(retention.value, "1000");
  assert.equal(retention.configSource, S.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.deepEqual(synonyms(retention), [
    ["log.retention.ms", "1000", S.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ["log.retention.hours", "24", S.STATIC_BROKER_CONFIG],
    ["log.retention.hours", "168", S.DEFAULT_CONFIG],
  ]);
});

Deno.test("synonyms are left out unless asked for, and an empty key list means every config", () => {
  const ctx = layeredContext();
  const plain = configsOf(describeConfigs(request([[TOPIC, "orders", []]]), { version: 3, ctx }));
  assert.equal(plain.size, TOPIC_CONFIGS.size);
  for (const c of plain.values()) assert.deepEqual(c.synonyms, []);
  const missingKey = configsOf(
    describeConfigs(request([[TOPIC, "orders", ["no.such.config"]]]), { version: 3, ctx }),
  );
  assert.equal(missingKey.size, 0);
});

Deno.test("a missing topic is UNKNOWN_TOPIC_OR_PARTITION and an illegal name INVALID_TOPIC_EXCEPTION", () => {
  const response = describeConfigs(
    request([[TOPIC, "nope", null], [TOPIC, "bad name", null], [TOPIC, "orders", ["preallocate"]]]),
    { version: 4, ctx: layeredContext() },
  );
  const [missing, illegal, ok] = response.results;
  assert.equal(missing!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(missing!.errorMessage, "The topic 'nope' does not exist.");
  assert.deepEqual(missing!.configs, []);
  assert.equal(missing!.resourceName, "nope");
  assert.equal(illegal!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal(ok!.errorCode, ErrorCode.NONE);
  assert.equal(ok!.configs.length, 1);
});

Deno.test("a broker reports its configs from dynamic, static and default layers with readOnly", () => {
  const configs = configsOf(describeConfigs(
    request([[BROKER, "1", null]], { includeSynonyms: true }),
    { version: 4, ctx: layeredContext() },
  ));
  const nodeId = configs.get("node.id")!;
  assert.equal(nodeId.value, "1");
  assert.equal(nodeId.configSource, S.STATIC_BROKER_CONFIG);
  assert.equal(nodeId.readOnly, true);
  assert.equal(nodeId.configType, 3); // INT
  const maxMessage = configs.get("message.max.bytes")!;
  assert.equal(maxMessage.value, "5000");
  assert.equal(maxMessage.configSource, S.DYNAMIC_BROKER_CONFIG);
  assert.equal(maxMessage.readOnly, false);
  assert.deepEqual(synonyms(maxMessage), [
    ["message.max.bytes", "5000", S.DYNAMIC_BROKER_CONFIG],
    ["message.max.bytes", "1048588", S.DEFAULT_CONFIG],
  ]);
  assert.equal(configs.get("log.segment.bytes")!.value, "3000000");
  assert.equal(configs.get("compression.type")!.value, "gzip");
  assert.equal(configs.get("num.io.threads")!.configSource, S.DEFAULT_CONFIG);
  assert.equal(configs.get("num.io.threads")!.readOnly, false);
  // A null default is reported as null.
  assert.equal(configs.get("log.retention.ms")!.value, null);
  // A key kraftling has no definition of might be a secret (KafkaConfig.maybeSensitive).
  const custom = configs.get("custom.plugin.setting")!;
  assert.equal(custom.isSensitive, true);
  assert.equal(custom.value, null);
  assert.equal(custom.configType, 0);
  assert.equal(custom.readOnly, true);
});

Deno.test("the cluster default broker resource lists only the dynamic defaults", () => {
  const response = describeConfigs(
    request([[BROKER, "", null]], { includeSynonyms: true }),
    { version: 4, ctx: layeredContext() },
  );
  const configs = configsOf(response);
  assert.deepEqual([...configs.keys()], ["log.segment.bytes"]);
  const segment = configs.get("log.segment.bytes")!;
  assert.equal(segment.value, "3000000");
  assert.equal(segment.configSource, S.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.deepEqual(synonyms(segment), [
    ["log.segment.bytes", "3000000", S.DYNAMIC_DEFAULT_BROKER_CONFIG],
  ]);
});

Deno.test("another broker's id, a non-numeric id and a bad logger resource are INVALID_REQUEST", () => {
  const response = describeConfigs(
    request([
      [BROKER, "2", null],
      [BROKER, "one", null],
      [BROKER_LOGGER, "", null],
      [BROKER_LOGGER, "2", null],
      [BROKER_LOGGER, "1", null],
      [CLIENT_METRICS, "m", null],
    ]),
    { version: 4, ctx: layeredContext() },
  );
  const [other, word, emptyLogger, otherLogger, ownLogger, metrics] = response.results;
  assert.equal(other!.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(
    other!.errorMessage,
    "Unexpected broker id, expected 1 or empty string, but received 2",
  );
  assert.equal(word!.errorMessage, "Broker id must be an integer, but it is: one");
  assert.equal(emptyLogger!.errorMessage, "Broker id must not be empty");
  assert.equal(otherLogger!.errorMessage, "Unexpected broker id, expected 1 but received 2");
  assert.equal(ownLogger!.errorCode, ErrorCode.NONE);
  assert.deepEqual(ownLogger!.configs, []);
  assert.equal(metrics!.errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal(metrics!.errorMessage, "Unsupported resource type: CLIENT_METRICS");
});

Deno.test("an unknown resource type fails every resource of the request with INVALID_REQUEST", () => {
  const response = describeConfigs(
    request([[TOPIC, "orders", null], [99, "x", null]]),
    { version: 4, ctx: layeredContext() },
  );
  assert.deepEqual(response.results.map((r) => r.errorCode), [
    ErrorCode.INVALID_REQUEST,
    ErrorCode.INVALID_REQUEST,
  ]);
  assert.deepEqual(response.results.map((r) => r.configs.length), [0, 0]);
});

async function roundTrip(
  dispatcher: Dispatcher,
  version: number,
  body: DescribeConfigsRequest,
): Promise<DescribeConfigsResponse> {
  const w = new Writer();
  writeRequestHeader(
    w,
    createRequestHeader({
      requestApiKey: ApiKey.DESCRIBE_CONFIGS,
      requestApiVersion: version,
      correlationId: 7,
      clientId: "test",
    }),
  );
  writeDescribeConfigsRequest(w, version, body);
  const frame = await dispatcher.handleFrame(w.finish(), {
    listenerName: "PLAINTEXT",
    clientHost: "127.0.0.1",
    connectionId: 1,
  });
  const r = new Reader(frame!.subarray(4));
  assert.equal(readResponseHeader(r, ApiKey.DESCRIBE_CONFIGS, version).correlationId, 7);
  return readDescribeConfigsResponse(r, version);
}

Deno.test("every version 0-4 encodes through the dispatcher, with isDefault standing in at v0", async () => {
  const dispatcher = new Dispatcher({ logger: silentLogger });
  registerDescribeConfigs(dispatcher, layeredContext());
  const range = dispatcher.advertised().find((a) => a.apiKey === ApiKey.DESCRIBE_CONFIGS)!;
  assert.deepEqual([range.minVersion, range.maxVersion], [0, 4]);
  for (let version = 0; version <= 4; version++) {
    const response = await roundTrip(
      dispatcher,
      version,
      request([[TOPIC, "orders", ["cleanup.policy", "retention.ms"]], [BROKER, "1", ["node.id"]]], {
        includeSynonyms: version >= 1,
        includeDocumentation: version >= 3,
      }),
    );
    const topic = configsOf(response, 0);
    assert.equal(topic.get("cleanup.policy")!.value, "compact");
    if (version === 0) {
      assert.equal(topic.get("cleanup.policy")!.isDefault, false);
      assert.equal(topic.get("retention.ms")!.isDefault, true);
    } else {
      assert.equal(topic.get("cleanup.policy")!.configSource, S.DYNAMIC_TOPIC_CONFIG);
      assert.equal(topic.get("cleanup.policy")!.synonyms.length, 2);
    }
    if (version >= 3) {
      assert.equal(topic.get("retention.ms")!.configType, 5); // LONG
      assert.equal(topic.get("retention.ms")!.documentation, null);
    }
    assert.equal(configsOf(response, 1).get("node.id")!.readOnly, true);
  }
});

Deno.test("a new topic's static config comes from server.properties or Kafka's default", () => {
  const cfg = config([["log.retention.minutes", "5"], ["log.cleanup.policy", "compact, delete"]]);
  assert.deepEqual(staticTopicConfig(cfg, "retention.ms"), {
    value: "300000",
    source: S.DEFAULT_CONFIG,
  });
  assert.deepEqual(staticTopicConfig(cfg, "cleanup.policy"), {
    value: "compact,delete",
    source: S.STATIC_BROKER_CONFIG,
  });
  assert.deepEqual(staticTopicConfig(cfg, "max.message.bytes"), {
    value: "1048588",
    source: S.DEFAULT_CONFIG,
  });
  assert.throws(() => staticTopicConfig(cfg, "nope"), /Unknown topic config name: nope/);
});
