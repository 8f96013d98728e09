/**
 * The web console served at `/` by the node's HTTP listener: it reads the node's own state (the
 * metadata image, the raft status, the hosted partitions, the group coordinator) and acts through
 * the broker's own request handlers ({@link InProcessCall}). Reads are GET; every change is a
 * same-origin POST form, so another site cannot make a visitor's browser change the cluster.
 *
 * @module
 */

import {
  ConfigResourceType,
  type MetadataImage,
  resourceConfigs,
} from "../../core/metadata/image.ts";
import type { GroupService } from "../../net/handlers/group_service.ts";
import type { ConsumerGroupService } from "../../net/handlers/consumer_group.ts";
import type { DescribeQuorumResponse } from "../../net/protocol/generated/describe_quorum_response.ts";
import { ApiKey } from "../../net/protocol/generated/api_table.ts";
import { ErrorCode, errorMessage, errorName } from "../../net/protocol/generated/errors.ts";
import type { CreateTopicsResponse } from "../../net/protocol/generated/create_topics_response.ts";
import type { CreatePartitionsResponse } from "../../net/protocol/generated/create_partitions_response.ts";
import type { DeleteTopicsResponse } from "../../net/protocol/generated/delete_topics_response.ts";
import type { ListOffsetsResponse } from "../../net/protocol/generated/list_offsets_response.ts";
import type { FetchResponse } from "../../net/protocol/generated/fetch_response.ts";
import type { OffsetCommitResponse } from "../../net/protocol/generated/offset_commit_response.ts";
import {
  createCreatableTopic,
  createCreatableTopicConfig,
} from "../../net/protocol/generated/create_topics_request.ts";
import { createCreatePartitionsTopic } from "../../net/protocol/generated/create_partitions_request.ts";
import { createDeleteTopicState } from "../../net/protocol/generated/delete_topics_request.ts";
import {
  createListOffsetsPartition,
  createListOffsetsTopic,
} from "../../net/protocol/generated/list_offsets_request.ts";
import {
  createFetchPartition,
  createFetchTopic,
} from "../../net/protocol/generated/fetch_request.ts";
import {
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
} from "../../net/protocol/generated/offset_commit_request.ts";
import { decodeBatch } from "../../net/protocol/records.ts";
import {
  batchesIn,
  CONTROL_FLAG_MASK,
  magicAt,
  TIMESTAMP_TYPE_MASK,
} from "../../net/protocol/record_batch.ts";
import { decodeAssignment } from "../../net/client/admin.ts";
import type { InProcessCall } from "./in_process.ts";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets.ts";
import type { SafeHtml } from "./html.ts";
import { formatBytes, RECORD_FORMATS, type RecordFormat } from "./record_format.ts";
import {
  type GroupSummaryView,
  type GroupView,
  type OverviewView,
  type QuorumView,
  type RecordsQuery,
  type RecordView,
  renderCreateTopic,
  renderDeleteTopic,
  renderGroup,
  renderMessage,
  renderOverview,
  renderRecords,
  renderTopic,
  RESET_STRATEGIES,
  type ResetView,
  type TopicView,
} from "./views.ts";

/** What one hosted partition tells the console. */
export interface ConsolePartition {
  readonly isLeader: boolean;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly log: { readonly sizeBytes: number };
}

/** The broker role's state, absent on a controller-only node. */
export interface ConsoleBroker {
  hostedPartition(topic: string, partition: number): ConsolePartition | undefined;
  groups:
    & Pick<GroupService, "listGroups" | "describeGroups" | "offsetFetch">
    & Partial<Pick<ConsumerGroupService, "consumerGroupDescribe">>;
  /** Requests through the broker's own handlers. */
  call: InProcessCall;
  /** Cumulative produce and fetch counters (the BrokerTopicStats totals). */
  throughput(): { messagesIn: number; bytesIn: number; bytesOut: number };
  /** The last known high watermark of a partition another broker leads (for lag), if any. */
  remoteEndOffset?: (topic: string, partition: number) => number | undefined;
  /** Groups other brokers coordinate, with their lag (refreshed in the background). */
  remoteGroups?: () => readonly {
    groupId: string;
    state: string;
    protocolType: string;
    totalLag: number | null;
  }[];
}

/** Everything the console reads. */
export interface ConsoleSource {
  nodeId: number;
  clusterId: string;
  roles: string[];
  image(): MetadataImage;
  raft: { readonly leaderId: number; readonly epoch: number; readonly highWatermark: number };
  voterIds(): number[];
  /** The quorum's progress as DescribeQuorum tells it; null when this node does not lead. */
  describeQuorum(): DescribeQuorumResponse | null;
  broker?: ConsoleBroker;
  nowMs(): number;
}

/** Form bodies over this many bytes are refused with 413. */
export const CONSOLE_FORM_BYTES_MAX = 16 * 1024;
/** Records one page shows at most. */
export const RECORDS_PER_PAGE_MAX = 500;
/** Bytes one records page fetches at most. */
export const RECORDS_FETCH_BYTES_MAX = 1024 * 1024;
/** How long an admin call from the console may take. */
const ADMIN_TIMEOUT_MS = 30_000;
/** Highest partition count the form accepts, as a bound on a typo. */
const PARTITIONS_MAX = 10_000;

const HTML_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  // Only this origin's stylesheet and script; no framing (clickjacking), no inline script.
  "content-security-policy":
    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

function page(status: number, body: SafeHtml): Response {
  return new Response(body.text, { status, headers: HTML_HEADERS });
}

function plain(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** A bad request from the visitor: answered with its status and one line. */
class ConsoleError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Answers one console request, or null when the path is not the console's (the listener's 404).
 * Bad input gets 400, a wrong method 405, a cross-site POST 403; never an exception.
 *
 * @example
 * ```ts ignore
 * const response = await handleConsoleRequest(new Request("http://127.0.0.1:8080/"), source);
 * ```
 */
export async function handleConsoleRequest(
  request: Request,
  source: ConsoleSource,
): Promise<Response | null> {
  const url = new URL(request.url);
  let segments: string[];
  try {
    segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return plain(400, "The path is not valid percent-encoding");
  }
  const route = matchRoute(segments);
  if (route === null) return null;
  const method = request.method === "HEAD" ? "GET" : request.method;
  if (!route.methods.includes(method)) {
    return plain(405, `Method ${request.method} not allowed`, {
      allow: route.methods.join(", ").replace("GET", "GET, HEAD"),
    });
  }
  try {
    if (method === "POST") {
      const form = await readForm(request);
      return await route.post!(source, form);
    }
    return await route.get!(source, url.searchParams);
  } catch (error) {
    if (error instanceof ConsoleError) return plain(error.status, error.message);
    throw error;
  }
}

/**
 * True when `request`'s path is one the console serves (whatever the method), so the listener
 * can answer 503 rather than 404 while the node is starting.
 *
 * @example
 * ```ts
 * import { consoleServes } from "./console.ts";
 * consoleServes(new Request("http://127.0.0.1:8080/topics/orders")); // true
 * consoleServes(new Request("http://127.0.0.1:8080/console")); // false
 * ```
 */
export function consoleServes(request: Request): boolean {
  try {
    const segments = new URL(request.url).pathname.split("/").slice(1).map(decodeURIComponent);
    return matchRoute(segments) !== null;
  } catch {
    return false;
  }
}

interface Route {
  methods: string[];
  get?: (source: ConsoleSource, query: URLSearchParams) => Promise<Response> | Response;
  post?: (source: ConsoleSource, form: URLSearchParams) => Promise<Response>;
}

function matchRoute(s: string[]): Route | null {
  const [a, b, c, ...rest] = s;
  if (s.length === 1 && a === "") return { methods: ["GET"], get: overview };
  if (s.length === 1 && a === "console.css") {
    return { methods: ["GET"], get: () => asset(CONSOLE_CSS, "text/css") };
  }
  if (s.length === 1 && a === "console.js") {
    return { methods: ["GET"], get: () => asset(CONSOLE_JS, "text/javascript") };
  }
  if (s.length === 2 && a === "api" && b === "throughput") {
    return { methods: ["GET"], get: throughput };
  }
  if (a === "topics") {
    // GET /topics is the create form and POST /topics creates: /topics/<any name> stays a topic.
    if (s.length === 1) {
      return {
        methods: ["GET", "POST"],
        get: (src) => {
          need(src);
          return page(200, renderCreateTopic(null));
        },
        post: createTopic,
      };
    }
    if (b === undefined || b === "" || rest.length > 0) return null;
    if (c === undefined) return { methods: ["GET"], get: (src) => topicPage(src, b) };
    if (c === "records") return { methods: ["GET"], get: (src, q) => recordsPage(src, b, q) };
    if (c === "partitions") {
      return {
        methods: ["POST"],
        post: (src, f) => addPartitions(src, b, f),
      };
    }
    if (c === "delete") {
      return {
        methods: ["GET", "POST"],
        get: (src) => page(200, renderDeleteTopic(knownTopic(src, b).name, null)),
        post: (src, f) => deleteTopic(src, b, f),
      };
    }
    return null;
  }
  if (a === "groups" && b !== undefined && b !== "" && rest.length === 0) {
    if (c === undefined) return { methods: ["GET"], get: (src) => groupPage(src, b, null) };
    if (c === "reset") return { methods: ["POST"], post: (src, f) => resetOffsets(src, b, f) };
  }
  return null;
}

function asset(text: string, type: string): Response {
  return new Response(text, {
    headers: { "content-type": `${type}; charset=utf-8`, "cache-control": "max-age=300" },
  });
}

/**
 * A POST must come from this origin: its `Origin` header (which browsers always send on a POST)
 * must name the host it was sent to, or, without Origin, `Sec-Fetch-Site` must say same-origin.
 * A form body only (no JSON: a cross-site "simple" request cannot set that, but we need not care).
 */
async function readForm(request: Request): Promise<URLSearchParams> {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  const origin = request.headers.get("origin");
  const site = request.headers.get("sec-fetch-site");
  const sameOrigin = origin !== null
    ? origin === `http://${host}` || origin === `https://${host}`
    : site === "same-origin";
  if (!sameOrigin) {
    throw new ConsoleError(
      403,
      "Cross-origin POST refused: the console accepts forms from its own pages only",
    );
  }
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new ConsoleError(415, "Forms must be sent as application/x-www-form-urlencoded");
  }
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.length > CONSOLE_FORM_BYTES_MAX) {
    throw new ConsoleError(413, `Form bodies over ${CONSOLE_FORM_BYTES_MAX} bytes are refused`);
  }
  return new URLSearchParams(new TextDecoder().decode(body));
}

function need(source: ConsoleSource): ConsoleBroker {
  if (source.broker === undefined) {
    throw new ConsoleError(
      404,
      "This node is a controller only: topics, records and groups are served by the brokers' consoles",
    );
  }
  return source.broker;
}

function knownTopic(source: ConsoleSource, name: string) {
  const topic = source.image().topics.byName.get(name);
  if (topic === undefined) throw new ConsoleError(404, `Topic ${name} does not exist`);
  return topic;
}

/** An integer form or query field within bounds; absent gives `fallback` (when given). */
function intField(
  params: URLSearchParams,
  name: string,
  bounds: { min: number; max: number; fallback?: number },
): number {
  const raw = params.get(name)?.trim() ?? "";
  if (raw === "" && bounds.fallback !== undefined) return bounds.fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConsoleError(400, `${name} must be an integer, not "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ConsoleError(400, `${name} must be between ${bounds.min} and ${bounds.max}`);
  }
  return value;
}

/** The HTTP status of a Kafka error code answered to a console action. */
function statusOf(code: number): number {
  if (code === ErrorCode.TOPIC_ALREADY_EXISTS) return 409;
  if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || code === ErrorCode.GROUP_ID_NOT_FOUND) {
    return 404;
  }
  if (
    code === ErrorCode.NOT_CONTROLLER || code === ErrorCode.REQUEST_TIMED_OUT ||
    code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.NOT_COORDINATOR ||
    code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
  ) return 503;
  if (
    code === ErrorCode.TOPIC_AUTHORIZATION_FAILED ||
    code === ErrorCode.GROUP_AUTHORIZATION_FAILED ||
    code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED
  ) return 403;
  return 400;
}

function kafkaMessage(code: number, message: string | null | undefined): string {
  return `${errorName(code)}: ${message || errorMessage(code)}`;
}

// ---- overview ----

function quorumView(source: ConsoleSource): QuorumView {
  const raft = source.raft;
  const described = source.describeQuorum();
  const partition = described?.topics[0]?.partitions[0];
  const now = source.nowMs();
  if (partition === undefined || partition.currentVoters.length === 0) {
    const voters = source.voterIds();
    return {
      leaderId: raft.leaderId,
      epoch: raft.epoch,
      highWatermark: raft.highWatermark,
      fromLeader: false,
      members: voters.map((id) => ({
        id,
        role: id === raft.leaderId ? "leader" : "voter",
        logEndOffset: -1,
        lagRecords: null,
        lastCaughtUpAgoMs: null,
      })),
    };
  }
  const leaderEnd = Number(
    partition.currentVoters.find((v) => v.replicaId === partition.leaderId)?.logEndOffset ?? -1n,
  );
  const member =
    (role: "voter" | "observer") =>
    (v: { replicaId: number; logEndOffset: bigint; lastCaughtUpTimestamp: bigint }) => ({
      id: v.replicaId,
      role: v.replicaId === partition.leaderId ? "leader" as const : role,
      logEndOffset: Number(v.logEndOffset),
      lagRecords: v.logEndOffset < 0n || leaderEnd < 0
        ? null
        : Math.max(0, leaderEnd - Number(v.logEndOffset)),
      lastCaughtUpAgoMs: v.lastCaughtUpTimestamp < 0n
        ? null
        : Math.max(0, now - Number(v.lastCaughtUpTimestamp)),
    });
  return {
    leaderId: partition.leaderId,
    epoch: partition.leaderEpoch,
    highWatermark: Number(partition.highWatermark),
    fromLeader: true,
    members: [
      ...partition.currentVoters.map(member("voter")),
      ...partition.observers.map(member("observer")),
    ],
  };
}

/** Lag per committed partition of a group (the leader's high watermark, here or fetched). */
function groupOffsets(broker: ConsoleBroker, groupId: string) {
  const fetched = broker.groups.offsetFetch({ groupId, topics: null, requireStable: false });
  const rows = [];
  for (const topic of fetched.topics) {
    for (const p of topic.partitions) {
      if (p.committedOffset < 0) continue;
      const hosted = broker.hostedPartition(topic.name, p.partitionIndex);
      const endOffset = hosted?.isLeader
        ? hosted.highWatermark
        : broker.remoteEndOffset?.(topic.name, p.partitionIndex) ?? null;
      rows.push({
        topic: topic.name,
        partition: p.partitionIndex,
        committed: p.committedOffset,
        endOffset,
        lag: endOffset === null ? null : Math.max(0, endOffset - p.committedOffset),
      });
    }
  }
  return rows.sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
  );
}

/**
 * The overview's data, gathered from the node's state.
 *
 * @example
 * ```ts ignore
 * overviewView(source).topics.map((t) => t.name);
 * ```
 */
export function overviewView(source: ConsoleSource): OverviewView {
  const image = source.image();
  const broker = source.broker;
  const topics = [...image.topics.byName.values()].map((t) => {
    let underReplicated = 0;
    let offline = 0;
    let size: number | null = null;
    let rf = 0;
    for (const [index, p] of t.partitions) {
      rf = Math.max(rf, p.replicas.length);
      if (p.isr.length < p.replicas.length) underReplicated++;
      if (p.leader < 0) offline++;
      const hosted = broker?.hostedPartition(t.name, index);
      if (hosted !== undefined) size = (size ?? 0) + hosted.log.sizeBytes;
    }
    return {
      name: t.name,
      partitions: t.partitions.size,
      replicationFactor: rf,
      underReplicated,
      offline,
      sizeBytes: size,
    };
  }).sort((a, b) => a.name < b.name ? -1 : 1);
  let groups: GroupSummaryView[] | null = null;
  if (broker !== undefined) {
    const listed = broker.groups.listGroups({ statesFilter: [] }).groups;
    groups = listed.map((g) => {
      const offsets = groupOffsets(broker, g.groupId);
      const known = offsets.filter((o) => o.lag !== null);
      return {
        groupId: g.groupId,
        state: g.groupState,
        protocolType: g.protocolType,
        members: groupMembers(broker, g.groupId, g.groupType).members.length,
        totalLag: known.length === 0 ? null : known.reduce((n, o) => n + o.lag!, 0),
      };
    });
    for (const r of broker.remoteGroups?.() ?? []) {
      groups.push({ ...r, members: null, remote: true });
    }
    groups.sort((a, b) => a.groupId < b.groupId ? -1 : 1);
  }
  const brokerIds = [...image.cluster.brokers.keys()].sort((a, b) => a - b);
  return {
    clusterId: source.clusterId,
    nodeId: source.nodeId,
    roles: source.roles,
    quorum: quorumView(source),
    brokers: brokerIds.map((id) => {
      const b = image.cluster.brokers.get(id)!;
      return {
        id,
        epoch: b.epoch,
        endpoints: b.endpoints.map((e) => `${e.name} ${e.host}:${e.port}`),
        rack: b.rack,
        fenced: b.fenced,
        inControlledShutdown: b.inControlledShutdown,
      };
    }),
    controllerIds: source.voterIds(),
    topics,
    groups,
    groupsNote: groups === null || brokerIds.length <= 1
      ? null
      : "Groups other brokers coordinate, and the lag of partitions other brokers lead, are refreshed every 10 s; a group's page is on its coordinator's console.",
  };
}

function overview(source: ConsoleSource): Response {
  return page(200, renderOverview(overviewView(source)));
}

function throughput(source: ConsoleSource): Response {
  const counters = source.broker?.throughput() ?? { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
  return new Response(JSON.stringify({ timeMs: source.nowMs(), ...counters }), {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

// ---- topics ----

function topicPage(source: ConsoleSource, name: string): Response {
  const topic = knownTopic(source, name);
  const configs = resourceConfigs(source.image(), ConfigResourceType.TOPIC, name);
  const view: TopicView = {
    name,
    id: topic.id,
    partitions: [...topic.partitions].sort(([a], [b]) => a - b).map(([index, p]) => {
      const hosted = source.broker?.hostedPartition(name, index);
      return {
        partition: index,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        logStartOffset: hosted?.logStartOffset ?? null,
        highWatermark: hosted?.highWatermark ?? null,
        sizeBytes: hosted?.log.sizeBytes ?? null,
      };
    }),
    configs: [...configs].sort(([a], [b]) => a < b ? -1 : 1),
  };
  return page(200, renderTopic(view));
}

async function createTopic(source: ConsoleSource, form: URLSearchParams): Promise<Response> {
  const broker = need(source);
  const values = Object.fromEntries(
    ["name", "partitions", "replicationFactor", "configs"].map((k) => [k, form.get(k) ?? ""]),
  );
  const fail = (status: number, message: string) =>
    page(status, renderCreateTopic(message, values));
  const name = values.name!.trim();
  if (name === "") return fail(400, "A topic needs a name.");
  let partitions: number;
  let replicationFactor: number;
  const configs: { name: string; value: string }[] = [];
  try {
    partitions = intField(form, "partitions", { min: 1, max: PARTITIONS_MAX, fallback: -1 });
    replicationFactor = intField(form, "replicationFactor", { min: 1, max: 32767, fallback: -1 });
    for (const line of values.configs!.split(/\r?\n/)) {
      if (line.trim() === "") continue;
      const eq = line.indexOf("=");
      if (eq <= 0) throw new ConsoleError(400, `Config line "${line}" is not key=value`);
      configs.push({ name: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
    }
  } catch (error) {
    if (error instanceof ConsoleError) return fail(error.status, error.message);
    throw error;
  }
  const response = await broker.call<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, 7, {
    topics: [createCreatableTopic({
      name,
      numPartitions: partitions,
      replicationFactor,
      configs: configs.map((c) => createCreatableTopicConfig(c)),
    })],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  });
  const result = response.topics[0];
  if (result === undefined) return fail(502, "The controller answered without a result.");
  if (result.errorCode !== ErrorCode.NONE) {
    return fail(statusOf(result.errorCode), kafkaMessage(result.errorCode, result.errorMessage));
  }
  return page(
    201,
    renderMessage(
      "Topic created",
      `Created topic ${name} with ${result.numPartitions} partitions and replication factor ${result.replicationFactor}.`,
      `/topics/${encodeURIComponent(name)}`,
    ),
  );
}

async function addPartitions(
  source: ConsoleSource,
  name: string,
  form: URLSearchParams,
): Promise<Response> {
  const broker = need(source);
  const topic = knownTopic(source, name);
  const count = intField(form, "count", { min: topic.partitions.size + 1, max: PARTITIONS_MAX });
  const response = await broker.call<CreatePartitionsResponse>(ApiKey.CREATE_PARTITIONS, 3, {
    topics: [createCreatePartitionsTopic({ name, count, assignments: null })],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  });
  const result = response.results[0];
  if (result !== undefined && result.errorCode !== ErrorCode.NONE) {
    throw new ConsoleError(
      statusOf(result.errorCode),
      kafkaMessage(result.errorCode, result.errorMessage),
    );
  }
  return page(
    200,
    renderMessage(
      "Partitions added",
      `Topic ${name} now has ${count} partitions.`,
      `/topics/${encodeURIComponent(name)}`,
    ),
  );
}

async function deleteTopic(
  source: ConsoleSource,
  name: string,
  form: URLSearchParams,
): Promise<Response> {
  const broker = need(source);
  knownTopic(source, name);
  if (form.get("confirm") !== name) {
    return page(
      400,
      renderDeleteTopic(name, "The name typed does not match: nothing was deleted."),
    );
  }
  const response = await broker.call<DeleteTopicsResponse>(ApiKey.DELETE_TOPICS, 6, {
    topics: [createDeleteTopicState({ name })],
    timeoutMs: ADMIN_TIMEOUT_MS,
  });
  const result = response.responses[0];
  if (result !== undefined && result.errorCode !== ErrorCode.NONE) {
    throw new ConsoleError(
      statusOf(result.errorCode),
      kafkaMessage(result.errorCode, result.errorMessage),
    );
  }
  return page(200, renderMessage("Topic deleted", `Deleted topic ${name}.`, "/"));
}

// ---- records ----

/**
 * A time typed as epoch milliseconds or an ISO-8601 date; null when neither, or when the digits
 * are beyond 2^53 (ListOffsets would get a timestamp no int64 holds).
 */
function parseTime(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed);
    return Number.isSafeInteger(ms) ? ms : null;
  }
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? null : ms;
}

function recordsQuery(q: URLSearchParams, partitions: number): RecordsQuery {
  const from = q.get("from") ?? "offset";
  if (from !== "offset" && from !== "timestamp") {
    throw new ConsoleError(400, `from must be offset or timestamp, not "${from}"`);
  }
  const format = (q.get("format") ?? "text") as RecordFormat;
  if (!RECORD_FORMATS.includes(format)) {
    throw new ConsoleError(400, `format must be one of ${RECORD_FORMATS.join(", ")}`);
  }
  return {
    partition: intField(q, "partition", { min: 0, max: partitions - 1, fallback: 0 }),
    from,
    offset: intField(q, "offset", { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    timestamp: q.get("timestamp") ?? "",
    count: intField(q, "count", { min: 1, max: RECORDS_PER_PAGE_MAX, fallback: 20 }),
    format,
  };
}

async function recordsPage(
  source: ConsoleSource,
  name: string,
  q: URLSearchParams,
): Promise<Response> {
  const broker = need(source);
  const topic = knownTopic(source, name);
  const query = recordsQuery(q, topic.partitions.size);
  const view = { topic: name, partitions: topic.partitions.size, query, nextOffset: null };
  let offset = query.offset;
  if (query.from === "timestamp") {
    const ms = parseTime(query.timestamp);
    if (ms === null) {
      throw new ConsoleError(
        400,
        `"${query.timestamp}" is neither epoch milliseconds nor ISO 8601`,
      );
    }
    const listed = await broker.call<ListOffsetsResponse>(ApiKey.LIST_OFFSETS, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [createListOffsetsTopic({
        name,
        partitions: [createListOffsetsPartition({
          partitionIndex: query.partition,
          currentLeaderEpoch: -1,
          timestamp: BigInt(ms),
        })],
      })],
    });
    const p = listed.topics[0]?.partitions[0];
    if (p === undefined || p.errorCode !== ErrorCode.NONE) {
      const code = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      return page(
        200,
        renderRecords({
          ...view,
          records: [],
          error: readError(source, name, query.partition, code),
        }),
      );
    }
    if (p.offset < 0n) {
      return page(
        200,
        renderRecords({ ...view, records: [], error: "No record at or after that time." }),
      );
    }
    offset = Number(p.offset);
  }
  const { records, error, nextOffset } = await readRecords(broker, name, query, offset);
  return page(
    200,
    renderRecords({
      ...view,
      records,
      error: error === null ? null : readError(source, name, query.partition, error),
      nextOffset,
    }),
  );
}

function readError(source: ConsoleSource, topic: string, partition: number, code: number): string {
  if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
    const leader = source.image().topics.byName.get(topic)?.partitions.get(partition)?.leader;
    return `This node does not lead partition ${partition} (its leader is node ${
      leader ?? -1
    }): open that broker's console to read it.`;
  }
  return kafkaMessage(code, null);
}

async function readRecords(
  broker: ConsoleBroker,
  topic: string,
  query: RecordsQuery,
  offset: number,
): Promise<{ records: RecordView[]; error: number | null; nextOffset: number | null }> {
  const response = await broker.call<FetchResponse>(ApiKey.FETCH, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: RECORDS_FETCH_BYTES_MAX,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [createFetchTopic({
      topic,
      partitions: [createFetchPartition({
        partition: query.partition,
        currentLeaderEpoch: -1,
        fetchOffset: BigInt(offset),
        lastFetchedEpoch: -1,
        logStartOffset: -1n,
        partitionMaxBytes: RECORDS_FETCH_BYTES_MAX,
      })],
    })],
    forgottenTopicsData: [],
    rackId: "",
  });
  const p = response.responses[0]?.partitions[0];
  if (response.errorCode !== ErrorCode.NONE) {
    return { records: [], error: response.errorCode, nextOffset: null };
  }
  if (p === undefined) {
    return { records: [], error: ErrorCode.UNKNOWN_SERVER_ERROR, nextOffset: null };
  }
  if (p.errorCode !== ErrorCode.NONE) return { records: [], error: p.errorCode, nextOffset: null };
  const records: RecordView[] = [];
  const bytes = p.records ?? new Uint8Array(0);
  let last = offset - 1;
  for (const { pos, sizeBytes } of batchesIn(bytes)) {
    if (records.length >= query.count) break;
    if (magicAt(bytes, pos) !== 2) continue;
    const { header, records: batch } = decodeBatch(bytes.subarray(pos, pos + sizeBytes));
    if ((header.attributes & CONTROL_FLAG_MASK) !== 0) continue;
    const logAppend = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
    for (const r of batch) {
      const at = header.baseOffset + r.offsetDelta;
      if (at < offset || records.length >= query.count) continue;
      last = at;
      records.push({
        offset: at,
        timestamp: logAppend ? header.maxTimestamp : header.baseTimestamp + r.timestampDelta,
        timestampType: logAppend ? "LogAppendTime" : "CreateTime",
        key: formatBytes(r.key, query.format, { quiet: true }),
        value: formatBytes(r.value, query.format),
        headers: r.headers.map((h) => [h.key, formatBytes(h.value, query.format, { quiet: true })]),
      });
    }
  }
  const highWatermark = Number(p.highWatermark);
  return {
    records,
    error: null,
    nextOffset: records.length > 0 && last + 1 < highWatermark ? last + 1 : null,
  };
}

// ---- groups ----

/**
 * A group's members with their assignments and its protocol: DescribeGroups for classic groups,
 * ConsumerGroupDescribe for KIP-848 ones (whose members the classic describe does not hold).
 */
function groupMembers(broker: ConsoleBroker, groupId: string, groupType: string) {
  const describeConsumer = broker.groups.consumerGroupDescribe;
  if (groupType === "consumer" && describeConsumer !== undefined) {
    const described = describeConsumer.call(broker.groups, [groupId])[0];
    return {
      protocol: described?.assignorName ?? "",
      members: (described?.members ?? []).map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment.topicPartitions.flatMap((tp) =>
          tp.partitions.map((p) => `${tp.topicName}-${p}`)
        ),
      })),
    };
  }
  const described = broker.groups.describeGroups([groupId])[0];
  return {
    protocol: described?.protocolData ?? "",
    members: (described?.members ?? []).map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: decodeAssignment(m.memberAssignment).map((a) => `${a.topic}-${a.partition}`),
    })),
  };
}

function groupView(broker: ConsoleBroker, groupId: string, reset: ResetView | null): GroupView {
  const listed = broker.groups.listGroups({ statesFilter: [] }).groups.find((g) =>
    g.groupId === groupId
  );
  if (listed === undefined) {
    throw new ConsoleError(
      404,
      `Group ${groupId} is not coordinated by this broker or does not exist`,
    );
  }
  const { protocol, members } = groupMembers(broker, groupId, listed.groupType);
  const offsets = groupOffsets(broker, groupId);
  return {
    groupId,
    state: listed.groupState,
    protocolType: listed.protocolType,
    protocol,
    members,
    offsets,
    topics: [...new Set(offsets.map((o) => o.topic))],
    reset,
  };
}

function groupPage(source: ConsoleSource, groupId: string, reset: ResetView | null): Response {
  return page(200, renderGroup(groupView(need(source), groupId, reset)));
}

const SPEC_TIMESTAMPS = { "to-earliest": -2n, "to-latest": -1n } as const;

/**
 * Offset reset, as `kafka-consumer-groups --reset-offsets`: a dry run computes the targets
 * (ListOffsets through the broker's handlers) and changes nothing; `mode=execute` commits them
 * with OffsetCommit at generation -1, which the coordinator accepts only while the group has no
 * members (an active group answers with its error, shown per partition).
 */
async function resetOffsets(
  source: ConsoleSource,
  groupId: string,
  form: URLSearchParams,
): Promise<Response> {
  const broker = need(source);
  const current = groupView(broker, groupId, null);
  const topicName = form.get("topic") ?? "";
  const topic = knownTopic(source, topicName);
  const strategy = form.get("strategy") ?? "";
  if (!(RESET_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new ConsoleError(400, `strategy must be one of ${RESET_STRATEGIES.join(", ")}`);
  }
  const mode = form.get("mode") ?? "dry-run";
  if (mode !== "dry-run" && mode !== "execute") {
    throw new ConsoleError(400, `mode must be dry-run or execute, not "${mode}"`);
  }
  const value = (form.get("value") ?? "").trim();
  const partitions = [...topic.partitions.keys()].sort((a, b) => a - b);
  const targets = await resetTargets(broker, topicName, partitions, strategy, value);
  const committed = new Map(
    current.offsets.filter((o) => o.topic === topicName).map((o) => [o.partition, o.committed]),
  );
  const rows = partitions.map((partition) => ({
    partition,
    current: committed.get(partition) ?? null,
    target: targets.get(partition)?.offset ?? -1,
    error: targets.get(partition)?.error ?? null,
  }));
  if (mode === "execute" && rows.every((r) => r.error === null)) {
    const response = await broker.call<OffsetCommitResponse>(ApiKey.OFFSET_COMMIT, 9, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      groupInstanceId: null,
      retentionTimeMs: -1n,
      topics: [createOffsetCommitRequestTopic({
        name: topicName,
        partitions: rows.map((r) =>
          createOffsetCommitRequestPartition({
            partitionIndex: r.partition,
            committedOffset: BigInt(r.target),
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: "",
          })
        ),
      })],
    });
    const codes = new Map(
      (response.topics[0]?.partitions ?? []).map((p) => [p.partitionIndex, p.errorCode]),
    );
    for (const r of rows) {
      const code = codes.get(r.partition) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (code !== ErrorCode.NONE) r.error = kafkaMessage(code, null);
    }
  }
  const reset: ResetView = {
    executed: mode === "execute",
    topic: topicName,
    strategy,
    value,
    rows,
  };
  const failed = rows.some((r) => r.error !== null);
  const view = groupView(broker, groupId, reset);
  return page(mode === "execute" && failed ? 409 : 200, renderGroup(view));
}

async function resetTargets(
  broker: ConsoleBroker,
  topic: string,
  partitions: number[],
  strategy: string,
  value: string,
): Promise<Map<number, { offset: number; error: string | null }>> {
  let timestamp: bigint;
  if (strategy === "to-offset") {
    if (!/^\d+$/.test(value)) {
      throw new ConsoleError(400, `to-offset needs an offset, not "${value}"`);
    }
    timestamp = -2n; // asked only to clamp the offset into the log's range
  } else if (strategy === "to-datetime") {
    const ms = parseTime(value);
    if (ms === null) {
      throw new ConsoleError(400, `"${value}" is neither epoch milliseconds nor ISO 8601`);
    }
    timestamp = BigInt(ms);
  } else {
    timestamp = SPEC_TIMESTAMPS[strategy as keyof typeof SPEC_TIMESTAMPS];
  }
  const ask = async (ts: bigint) => {
    const r = await broker.call<ListOffsetsResponse>(ApiKey.LIST_OFFSETS, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [createListOffsetsTopic({
        name: topic,
        partitions: partitions.map((partitionIndex) =>
          createListOffsetsPartition({ partitionIndex, currentLeaderEpoch: -1, timestamp: ts })
        ),
      })],
    });
    return new Map((r.topics[0]?.partitions ?? []).map((p) => [p.partitionIndex, p]));
  };
  const found = await ask(timestamp);
  const latest = strategy === "to-offset" || strategy === "to-datetime" ? await ask(-1n) : found;
  const out = new Map<number, { offset: number; error: string | null }>();
  for (const partition of partitions) {
    const p = found.get(partition);
    const end = latest.get(partition);
    if (p === undefined || p.errorCode !== ErrorCode.NONE) {
      const code = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      out.set(partition, { offset: -1, error: kafkaMessage(code, null) });
      continue;
    }
    let offset = Number(p.offset);
    if (strategy === "to-offset") {
      // Like the Kafka tool: an offset outside the log is clamped to its start or end.
      offset = Math.min(Math.max(Number(value), Number(p.offset)), Number(end?.offset ?? p.offset));
    } else if (strategy === "to-datetime" && offset < 0) {
      offset = Number(end?.offset ?? 0); // no record at or after the time: the end
    }
    out.set(partition, { offset, error: null });
  }
  return out;
}
