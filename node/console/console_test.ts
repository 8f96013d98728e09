// The console's handlers against a fake node: what each page shows, that every name and record
// byte is escaped, that bad input gets a 4xx and that changes are same-origin POST forms going
// through the broker's own request handlers (the fake `call` records them). Issue #14.
import assert from "node:assert/strict";
import { type ConsoleBroker, type ConsoleSource, handleConsoleRequest } from "./console.ts";
import type { MetadataImage } from "../../core/metadata/image.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode } from "../../net/protocol/generated/errors.ts";
import { encodeBatch } from "../../net/protocol/records.ts";
import type { DescribeQuorumResponse } from "../../net/protocol/generated/describe_quorum_response.ts";

const BASE = "http://127.0.0.1:8080";
const SCRIPT = "<script>alert(1)</script>";
const utf8 = (s: string) => new TextEncoder().encode(s);

function partition(leader: number, replicas: number[], isr: number[]) {
  return { leader, leaderEpoch: 2, replicas, isr, partitionEpoch: 0 };
}

function fakeImage(): MetadataImage {
  const topics = [
    {
      name: "orders",
      id: "id-orders",
      partitions: new Map([[0, partition(1, [1, 2], [1])], [1, partition(1, [1, 2], [1, 2])]]),
    },
    { name: SCRIPT, id: "id-evil", partitions: new Map([[0, partition(1, [1], [1])]]) },
  ];
  const byName = new Map(topics.map((t) => [t.name, t]));
  const broker = (id: number, fenced: boolean) => ({
    id,
    epoch: 7,
    endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092 + id }],
    rack: null,
    fenced,
    inControlledShutdown: false,
  });
  return {
    topics: { byName, byId: new Map(topics.map((t) => [t.id, t])) },
    cluster: {
      brokers: new Map([[1, broker(1, false)], [2, broker(2, true)]]),
      controllers: new Map(),
    },
    configs: new Map([["2:orders", new Map([["retention.ms", "1000"]])]]),
  } as unknown as MetadataImage;
}

interface Call {
  apiKey: number;
  body: Record<string, unknown>;
}

function fakeBroker(calls: Call[], answers: Partial<Record<number, unknown>> = {}): ConsoleBroker {
  return {
    hostedPartition: (topic, p) =>
      topic === "orders"
        ? {
          isLeader: true,
          logStartOffset: 0,
          highWatermark: p === 0 ? 10 : 4,
          log: { sizeBytes: 2048 },
        }
        : undefined,
    groups: {
      listGroups: () => ({
        errorCode: 0,
        groups: [
          {
            groupId: "billing",
            protocolType: "consumer",
            groupState: "Empty",
            groupType: "classic",
          },
          { groupId: SCRIPT, protocolType: "consumer", groupState: "Empty", groupType: "classic" },
        ],
      }),
      describeGroups: (ids) =>
        ids.map((groupId) => ({
          errorCode: 0,
          groupId,
          groupState: "Empty",
          protocolType: "consumer",
          protocolData: "",
          members: [],
        })),
      offsetFetch: ({ groupId }) => ({
        groupId,
        errorCode: 0,
        topics: groupId === "billing"
          ? [{
            name: "orders",
            partitions: [{
              partitionIndex: 0,
              committedOffset: 4,
              committedLeaderEpoch: -1,
              metadata: "",
              errorCode: 0,
            }],
          }]
          : [],
      }),
    },
    call: <Res>(apiKey: number, _version: number, body: Record<string, unknown>) => {
      calls.push({ apiKey, body });
      return Promise.resolve(answers[apiKey] as Res);
    },
    throughput: () => ({ messagesIn: 3, bytesIn: 30, bytesOut: 60 }),
  };
}

function fakeSource(
  broker?: ConsoleBroker,
  describeQuorum: DescribeQuorumResponse | null = null,
): ConsoleSource {
  return {
    nodeId: 1,
    clusterId: "cluster-A",
    roles: broker === undefined ? ["controller"] : ["broker", "controller"],
    image: fakeImage,
    raft: { leaderId: 1, epoch: 5, highWatermark: 99 },
    voterIds: () => [1, 3],
    describeQuorum: () => describeQuorum,
    broker,
    nowMs: () => 1_000_000,
  };
}

async function get(source: ConsoleSource, path: string): Promise<{ status: number; body: string }> {
  const response = await handleConsoleRequest(new Request(BASE + path), source);
  assert.ok(response !== null, `no console route for ${path}`);
  return { status: response.status, body: await response.text() };
}

function post(
  source: ConsoleSource,
  path: string,
  form: Record<string, string>,
  headers: Record<string, string> = { origin: BASE },
) {
  return handleConsoleRequest(
    new Request(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    }),
    source,
  ) as Promise<Response>;
}

Deno.test("the overview names brokers, topics and groups with their lag and says what is wrong", async () => {
  const { status, body } = await get(fakeSource(fakeBroker([])), "/");
  assert.equal(status, 200);
  assert.match(body, /Cluster cluster-A/);
  assert.match(body, /<a href="\/topics\/orders">orders<\/a>/);
  assert.match(body, /<a href="\/groups\/billing">billing<\/a>.*<td class="num warn">6<\/td>/s);
  // orders-0's ISR lacks broker 2, and broker 2 is fenced.
  assert.match(body, /1 under-replicated partition; .*1 fenced broker; 1 consumer group with lag/);
  assert.match(body, /Leader <strong>node 1<\/strong>, epoch 5/);
});

Deno.test("the overview shows quorum lag from DescribeQuorum on the leader", async () => {
  const voter = (replicaId: number, logEndOffset: bigint) => ({
    replicaId,
    replicaDirectoryId: "",
    logEndOffset,
    lastFetchTimestamp: 999_000n,
    lastCaughtUpTimestamp: 999_500n,
    _unknownTaggedFields: [],
  });
  const described = {
    topics: [{
      partitions: [{
        leaderId: 1,
        leaderEpoch: 5,
        highWatermark: 120n,
        currentVoters: [voter(1, 120n), voter(3, 100n)],
        observers: [voter(2, 120n)],
      }],
    }],
  } as unknown as DescribeQuorumResponse;
  const { body } = await get(fakeSource(fakeBroker([]), described), "/");
  assert.match(
    body,
    /<td>3<\/td><td>voter<\/td><td class="num">100<\/td><td class="num warn">20<\/td><td class="num">500 ms ago<\/td>/,
  );
  assert.match(body, /<td>2<\/td><td>observer<\/td>/);
  assert.match(body, /1 quorum member behind/);
});

Deno.test("names and record contents are escaped: a <script> shows as text", async () => {
  const overview = await get(fakeSource(fakeBroker([])), "/");
  assert.ok(!overview.body.includes(SCRIPT));
  assert.match(overview.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(overview.body, /href="\/topics\/%3Cscript%3Ealert\(1\)%3C%2Fscript%3E"/);

  const batch = encodeBatch({
    baseOffset: 3,
    baseTimestamp: 1_700_000_000_000,
    records: [{
      offsetDelta: 0,
      timestampDelta: 0,
      key: utf8("k\"'&"),
      value: utf8(SCRIPT),
      headers: [{ key: SCRIPT, value: utf8("<b>") }],
    }],
  });
  const fetch = {
    errorCode: 0,
    responses: [{ partitions: [{ errorCode: 0, highWatermark: 10n, records: batch }] }],
  };
  const source = fakeSource(fakeBroker([], { [ApiKey.FETCH]: fetch }));
  const records = await get(source, "/topics/orders/records?offset=3");
  assert.equal(records.status, 200);
  assert.ok(!records.body.includes(SCRIPT), "a raw <script> reached the page");
  assert.match(records.body, /<pre>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/pre>/);
  assert.match(records.body, /<pre>k&quot;&#39;&amp;<\/pre>/);
  assert.match(
    records.body,
    /<strong>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/strong>: &lt;b&gt;/,
  );
  assert.match(records.body, /2023-11-14T22:13:20\.000Z/);
  assert.match(records.body, /Next records from offset 4/);
  const hex = await get(source, "/topics/orders/records?offset=3&format=hex");
  assert.match(hex.body, /3c 73 63 72 69 70 74 3e/);
});

Deno.test("the records page asks Fetch through the broker's handlers from the offset given", async () => {
  const calls: Call[] = [];
  const fetch = {
    errorCode: 0,
    responses: [{ partitions: [{ errorCode: 0, highWatermark: 0n, records: null }] }],
  };
  await get(
    fakeSource(fakeBroker(calls, { [ApiKey.FETCH]: fetch })),
    "/topics/orders/records?partition=1&offset=7&count=5",
  );
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.apiKey, ApiKey.FETCH);
  const topics = calls[0]!.body.topics as {
    topic: string;
    partitions: { partition: number; fetchOffset: bigint }[];
  }[];
  assert.equal(topics[0]!.topic, "orders");
  assert.deepEqual([topics[0]!.partitions[0]!.partition, topics[0]!.partitions[0]!.fetchOffset], [
    1,
    7n,
  ]);
});

Deno.test("records from a time look the offset up with ListOffsets first", async () => {
  const calls: Call[] = [];
  const listed = { topics: [{ partitions: [{ errorCode: 0, offset: 2n, timestamp: 5n }] }] };
  const fetch = {
    errorCode: 0,
    responses: [{ partitions: [{ errorCode: 0, highWatermark: 0n, records: null }] }],
  };
  const source = fakeSource(
    fakeBroker(calls, { [ApiKey.LIST_OFFSETS]: listed, [ApiKey.FETCH]: fetch }),
  );
  await get(source, "/topics/orders/records?from=timestamp&timestamp=2024-01-01T00:00:00Z");
  assert.deepEqual(calls.map((c) => c.apiKey), [ApiKey.LIST_OFFSETS, ApiKey.FETCH]);
  const asked = (calls[0]!.body.topics as { partitions: { timestamp: bigint }[] }[])[0]!
    .partitions[0]!;
  assert.equal(asked.timestamp, BigInt(Date.parse("2024-01-01T00:00:00Z")));
});

Deno.test("bad input gets a 4xx: unknown topic, bad numbers, bad format, bad time, bad escapes", async () => {
  const source = fakeSource(fakeBroker([]));
  assert.equal((await get(source, "/topics/nope")).status, 404);
  assert.equal((await get(source, "/topics/orders/records?partition=9")).status, 400);
  assert.equal((await get(source, "/topics/orders/records?count=100000")).status, 400);
  assert.equal((await get(source, "/topics/orders/records?offset=abc")).status, 400);
  assert.equal((await get(source, "/topics/orders/records?format=xml")).status, 400);
  assert.equal(
    (await get(source, "/topics/orders/records?from=timestamp&timestamp=soon")).status,
    400,
  );
  // Digits beyond 2^53 are no time ListOffsets can carry (it used to answer 500).
  assert.equal(
    (await get(source, "/topics/orders/records?from=timestamp&timestamp=99999999999999999999"))
      .status,
    400,
  );
  assert.equal((await get(source, "/topics/%E0%A4%A")).status, 400);
  assert.equal((await get(source, "/groups/unknown")).status, 404);
  assert.equal(await handleConsoleRequest(new Request(BASE + "/nowhere"), source), null);
  const put = await handleConsoleRequest(new Request(BASE + "/", { method: "PUT" }), source);
  assert.equal(put?.status, 405);
  assert.equal(put?.headers.get("allow"), "GET, HEAD");
  assert.equal(
    (await handleConsoleRequest(
      new Request(BASE + "/topics/orders/delete", { method: "DELETE" }),
      source,
    ))?.status,
    405,
  );
});

Deno.test("a POST from another origin, or without Origin and Sec-Fetch-Site, is refused with 403", async () => {
  const calls: Call[] = [];
  const source = fakeSource(fakeBroker(calls));
  assert.equal(
    (await post(source, "/topics", { name: "x" }, { origin: "http://evil.example" })).status,
    403,
  );
  assert.equal((await post(source, "/topics", { name: "x" }, {})).status, 403);
  assert.equal(
    (await post(source, "/topics", { name: "x" }, { "sec-fetch-site": "cross-site" })).status,
    403,
  );
  const json = await handleConsoleRequest(
    new Request(BASE + "/topics", {
      method: "POST",
      headers: { origin: BASE, "content-type": "application/json" },
      body: "{}",
    }),
    source,
  );
  assert.equal(json?.status, 415);
  assert.equal(calls.length, 0);
});

Deno.test("creating a topic sends CreateTopics with the form's values and reports the outcome", async () => {
  const calls: Call[] = [];
  const created = {
    topics: [{
      name: "payments",
      errorCode: 0,
      errorMessage: null,
      numPartitions: 3,
      replicationFactor: 1,
    }],
  };
  const source = fakeSource(fakeBroker(calls, { [ApiKey.CREATE_TOPICS]: created }));
  const response = await post(source, "/topics", {
    name: "payments",
    partitions: "3",
    replicationFactor: "",
    configs: "cleanup.policy=compact\n",
  });
  assert.equal(response.status, 201);
  assert.match(await response.text(), /Created topic payments with 3 partitions/);
  const topic = (calls[0]!.body.topics as Record<string, unknown>[])[0]!;
  assert.equal(calls[0]!.apiKey, ApiKey.CREATE_TOPICS);
  assert.equal(topic.name, "payments");
  assert.equal(topic.numPartitions, 3);
  assert.equal(topic.replicationFactor, -1);
  assert.deepEqual(
    (topic.configs as { name: string; value: string }[]).map((c) => [c.name, c.value]),
    [["cleanup.policy", "compact"]],
  );
});

Deno.test("a refused creation shows the Kafka error with its HTTP status and keeps the form's values", async () => {
  const exists = {
    topics: [{
      name: "orders",
      errorCode: ErrorCode.TOPIC_ALREADY_EXISTS,
      errorMessage: "Topic 'orders' already exists.",
    }],
  };
  const source = fakeSource(fakeBroker([], { [ApiKey.CREATE_TOPICS]: exists }));
  const response = await post(source, "/topics", { name: "orders", partitions: "1" });
  assert.equal(response.status, 409);
  const body = await response.text();
  assert.match(body, /TOPIC_ALREADY_EXISTS: Topic &#39;orders&#39; already exists\./);
  assert.match(body, /name="name"[^>]*value="orders"/);
  const bad = await post(source, "/topics", { name: "x", partitions: "-4" });
  assert.equal(bad.status, 400);
});

Deno.test("deleting a topic needs its name typed again; then DeleteTopics is sent", async () => {
  const calls: Call[] = [];
  const deleted = { responses: [{ name: "orders", errorCode: 0, errorMessage: null }] };
  const source = fakeSource(fakeBroker(calls, { [ApiKey.DELETE_TOPICS]: deleted }));
  const form = await get(source, "/topics");
  assert.match(form.body, /<form class="inline" method="post" action="\/topics">/);
  const confirm = await get(source, "/topics/orders/delete");
  assert.match(confirm.body, /Type the topic name to confirm/);
  const mismatch = await post(source, "/topics/orders/delete", { confirm: "order" });
  assert.equal(mismatch.status, 400);
  assert.equal(calls.length, 0);
  const done = await post(source, "/topics/orders/delete", { confirm: "orders" });
  assert.equal(done.status, 200);
  assert.equal(calls[0]!.apiKey, ApiKey.DELETE_TOPICS);
  assert.equal((calls[0]!.body.topics as { name: string }[])[0]!.name, "orders");
});

Deno.test("adding partitions sends CreatePartitions and refuses a count that does not grow", async () => {
  const calls: Call[] = [];
  const grown = { results: [{ name: "orders", errorCode: 0, errorMessage: null }] };
  const source = fakeSource(fakeBroker(calls, { [ApiKey.CREATE_PARTITIONS]: grown }));
  assert.equal((await post(source, "/topics/orders/partitions", { count: "2" })).status, 400);
  assert.equal((await post(source, "/topics/orders/partitions", { count: "5" })).status, 200);
  assert.equal((calls[0]!.body.topics as { count: number }[])[0]!.count, 5);
});

Deno.test("the topic page shows partitions, ISR, sizes and configs", async () => {
  const { body } = await get(fakeSource(fakeBroker([])), "/topics/orders");
  assert.match(body, /<td class="warn">1 \(under-replicated\)<\/td>/);
  assert.match(body, /<code>retention\.ms<\/code><\/td><td><code>1000<\/code>/);
  assert.match(body, /2\.0 KiB/);
  assert.match(body, /action="\/topics\/orders\/partitions"/);
});

Deno.test("an offset reset previews first and commits only when executed", async () => {
  const calls: Call[] = [];
  const earliest = {
    topics: [{
      partitions: [{ partitionIndex: 0, errorCode: 0, offset: 0n }, {
        partitionIndex: 1,
        errorCode: 0,
        offset: 0n,
      }],
    }],
  };
  const committed = {
    topics: [{
      partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 0 }],
    }],
  };
  const source = fakeSource(
    fakeBroker(calls, { [ApiKey.LIST_OFFSETS]: earliest, [ApiKey.OFFSET_COMMIT]: committed }),
  );
  const group = await get(source, "/groups/billing");
  assert.match(
    group.body,
    /<td class="num">4<\/td><td class="num">10<\/td><td class="num warn">6<\/td>/,
  );
  const dry = await post(source, "/groups/billing/reset", {
    topic: "orders",
    strategy: "to-earliest",
    mode: "dry-run",
  });
  assert.equal(dry.status, 200);
  const dryBody = await dry.text();
  assert.match(dryBody, /Dry run: nothing changed yet/);
  assert.match(
    dryBody,
    /<td class="num">0<\/td><td class="num">4<\/td><td class="num">0<\/td><td class="ok">would commit<\/td>/,
  );
  assert.match(dryBody, /value="execute"/);
  assert.deepEqual(calls.map((c) => c.apiKey), [ApiKey.LIST_OFFSETS]);
  const run = await post(source, "/groups/billing/reset", {
    topic: "orders",
    strategy: "to-earliest",
    mode: "execute",
  });
  assert.equal(run.status, 200);
  assert.match(await run.text(), /Reset done/);
  const commit = calls.find((c) => c.apiKey === ApiKey.OFFSET_COMMIT)!;
  assert.equal(commit.body.groupId, "billing");
  assert.equal(commit.body.generationIdOrMemberEpoch, -1);
  const bad = await post(source, "/groups/billing/reset", { topic: "orders", strategy: "to-moon" });
  assert.equal(bad.status, 400);
});

Deno.test("a reset the coordinator refuses (the group is active) answers 409 with the error", async () => {
  const latest = {
    topics: [{
      partitions: [{ partitionIndex: 0, errorCode: 0, offset: 10n }, {
        partitionIndex: 1,
        errorCode: 0,
        offset: 4n,
      }],
    }],
  };
  const refused = {
    topics: [{
      partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }, {
        partitionIndex: 1,
        errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      }],
    }],
  };
  const source = fakeSource(
    fakeBroker([], { [ApiKey.LIST_OFFSETS]: latest, [ApiKey.OFFSET_COMMIT]: refused }),
  );
  const run = await post(source, "/groups/billing/reset", {
    topic: "orders",
    strategy: "to-latest",
    mode: "execute",
  });
  assert.equal(run.status, 409);
  assert.match(await run.text(), /UNKNOWN_MEMBER_ID/);
});

Deno.test("a controller-only node shows the quorum and says where topics and groups are", async () => {
  const source = fakeSource(undefined);
  const { status, body } = await get(source, "/");
  assert.equal(status, 200);
  assert.match(body, /Metadata quorum/);
  assert.match(body, /This node is a controller only/);
  assert.ok(!body.includes("/console.js"), "no throughput chart without a broker");
  const records = await get(source, "/topics/orders/records");
  assert.equal(records.status, 404);
  assert.match(records.body, /controller only/);
});

Deno.test("pages forbid inline script and framing, and the assets are served", async () => {
  const source = fakeSource(fakeBroker([]));
  const response = await handleConsoleRequest(new Request(BASE + "/"), source);
  const csp = response?.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  await response?.body?.cancel();
  assert.match((await get(source, "/console.css")).body, /outline/);
  assert.match((await get(source, "/console.js")).body, /api\/throughput/);
  const counters = JSON.parse((await get(source, "/api/throughput")).body);
  assert.deepEqual(counters, { timeMs: 1_000_000, messagesIn: 3, bytesIn: 30, bytesOut: 60 });
});

Deno.test("a KIP-848 group's members and assignments come from ConsumerGroupDescribe", async () => {
  const broker = fakeBroker([]);
  broker.groups.listGroups = () => ({
    errorCode: 0,
    groups: [{
      groupId: "next-gen",
      protocolType: "consumer",
      groupState: "Stable",
      groupType: "consumer",
    }],
  });
  broker.groups.consumerGroupDescribe = (ids) =>
    ids.map((groupId) => ({
      errorCode: 0,
      errorMessage: null,
      groupId,
      groupState: "Stable",
      groupEpoch: 3,
      assignmentEpoch: 3,
      assignorName: "uniform",
      authorizedOperations: 0,
      members: [{
        memberId: "m-1",
        instanceId: null,
        rackId: null,
        memberEpoch: 3,
        clientId: "<client>",
        clientHost: "/10.0.0.1",
        subscribedTopicNames: ["orders"],
        subscribedTopicRegex: null,
        assignment: {
          topicPartitions: [{
            topicId: "id-orders",
            topicName: "orders",
            partitions: [0, 1],
            _unknownTaggedFields: [],
          }],
          _unknownTaggedFields: [],
        },
        targetAssignment: { topicPartitions: [], _unknownTaggedFields: [] },
        memberType: 1,
        _unknownTaggedFields: [],
      }],
      _unknownTaggedFields: [],
    }));
  const source = fakeSource(broker);
  const { body } = await get(source, "/groups/next-gen");
  assert.match(body, /protocol consumer uniform/);
  assert.match(
    body,
    /<td><code>m-1<\/code><\/td><td>&lt;client&gt;<\/td><td>\/10\.0\.0\.1<\/td><td>orders-0, orders-1<\/td>/,
  );
  const overview = await get(source, "/");
  assert.match(overview.body, /<td>Stable<\/td><td>consumer<\/td><td class="num">1<\/td>/);
});
