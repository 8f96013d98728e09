/**
 * The console's pages as pure functions from plain view data to HTML. Every name, offset and
 * record byte goes through the escaping `markup` tag; links use {@link pathSegment}. Pages are
 * plain links, tables and POST forms: they work without JavaScript and by keyboard.
 *
 * @module
 */

import { type HtmlValue, markup, pathSegment, type SafeHtml } from "./html.ts";
import { RECORD_FORMATS, type RecordFormat } from "./record_format.ts";

/** One member of the metadata quorum as the console shows it. */
export interface QuorumMemberView {
  id: number;
  role: "leader" | "voter" | "observer";
  /** -1 when unknown (only the leader knows the others' offsets). */
  logEndOffset: number;
  /** Records behind the leader's end offset; null when unknown. */
  lagRecords: number | null;
  /** Since the member last caught up with the leader; null when unknown. */
  lastCaughtUpAgoMs: number | null;
}

/** The quorum: leader, epoch and members. */
export interface QuorumView {
  leaderId: number;
  epoch: number;
  highWatermark: number;
  /** True when this node leads and so knows every member's progress. */
  fromLeader: boolean;
  members: QuorumMemberView[];
}

/** One broker registration. */
export interface BrokerView {
  id: number;
  epoch: number;
  endpoints: string[];
  rack: string | null;
  fenced: boolean;
  inControlledShutdown: boolean;
}

/** One topic's line on the overview. */
export interface TopicSummaryView {
  name: string;
  partitions: number;
  replicationFactor: number;
  underReplicated: number;
  offline: number;
  /** Bytes of the partitions hosted here; null when none is. */
  sizeBytes: number | null;
}

/** One group's line on the overview. */
export interface GroupSummaryView {
  groupId: string;
  state: string;
  protocolType: string;
  /** Null for a group another broker coordinates (its page is on that broker's console). */
  members: number | null;
  /** Sum of the lag this broker can compute; null when it knows none. */
  totalLag: number | null;
  /** True when another broker coordinates the group. */
  remote?: boolean;
}

/** The cluster overview. */
export interface OverviewView {
  clusterId: string;
  nodeId: number;
  roles: string[];
  quorum: QuorumView;
  brokers: BrokerView[];
  controllerIds: number[];
  topics: TopicSummaryView[];
  /** Null on a controller-only node, which has no group coordinator. */
  groups: GroupSummaryView[] | null;
  /** Groups this broker does not coordinate are not listed; say so. */
  groupsNote: string | null;
}

/** One partition on the topic page. */
export interface PartitionView {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  /** Null when the partition is not hosted on this node. */
  logStartOffset: number | null;
  highWatermark: number | null;
  sizeBytes: number | null;
}

/** The topic page. */
export interface TopicView {
  name: string;
  id: string;
  partitions: PartitionView[];
  /** Configs set on the topic (others take the broker defaults). */
  configs: [string, string][];
}

/** One record on the records page, its bytes already formatted. */
export interface RecordView {
  offset: number;
  timestamp: number;
  timestampType: string;
  key: string;
  value: string;
  headers: [string, string][];
}

/** What the records form asked for. */
export interface RecordsQuery {
  partition: number;
  from: "offset" | "timestamp";
  offset: number;
  /** ISO-8601 or epoch milliseconds, as typed. */
  timestamp: string;
  count: number;
  format: RecordFormat;
}

/** The records page. */
export interface RecordsView {
  topic: string;
  partitions: number;
  query: RecordsQuery;
  records: RecordView[];
  /** Why nothing could be read (not the leader here, offset out of range), or null. */
  error: string | null;
  nextOffset: number | null;
}

/** One committed offset on the group page. */
export interface GroupOffsetView {
  topic: string;
  partition: number;
  committed: number;
  endOffset: number | null;
  lag: number | null;
}

/** One member on the group page. */
export interface GroupMemberView {
  memberId: string;
  clientId: string;
  clientHost: string;
  assignment: string[];
}

/** A reset's preview (dry run) or outcome. */
export interface ResetView {
  executed: boolean;
  topic: string;
  strategy: string;
  value: string;
  rows: { partition: number; current: number | null; target: number; error: string | null }[];
}

/** The group page. */
export interface GroupView {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberView[];
  offsets: GroupOffsetView[];
  topics: string[];
  reset: ResetView | null;
}

/** Offset reset strategies, as `kafka-consumer-groups --reset-offsets` names them. */
export const RESET_STRATEGIES = ["to-earliest", "to-latest", "to-offset", "to-datetime"] as const;

const num = (n: number | null | undefined): HtmlValue => n === null || n === undefined ? "—" : n;
const warnIf = (bad: boolean) => bad ? " warn" : "";

function bytes(n: number | null): string {
  if (n === null) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const topicHref = (name: string) => `/topics/${pathSegment(name)}`;
const groupHref = (id: string) => `/groups/${pathSegment(id)}`;

/**
 * Wraps a page body in the common document: title, stylesheet, skip link, navigation.
 *
 * @example
 * ```ts
 * import { layout } from "./views.ts";
 * import { markup } from "./html.ts";
 * layout("Overview", markup`<p>hi</p>`).text.startsWith("<!doctype html>"); // true
 * ```
 */
export function layout(
  title: string,
  body: SafeHtml,
  options: { script?: boolean } = {},
): SafeHtml {
  const script = options.script ? markup`<script src="/console.js" defer></script>` : "";
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · kraftling</title>
<link rel="stylesheet" href="/console.css">
${script}
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header><strong>kraftling</strong>
<nav aria-label="Console"><a href="/">Overview</a><a href="/topics">Create topic</a><a href="/metrics">Metrics</a></nav>
</header>
<main id="main">
${body}
</main></body></html>
`;
}

/** The answers to "is anything behind or under-replicated?", empty when nothing is. */
function problems(view: OverviewView): string[] {
  const out: string[] = [];
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const under = view.topics.reduce((n, t) => n + t.underReplicated, 0);
  const offline = view.topics.reduce((n, t) => n + t.offline, 0);
  if (under > 0) out.push(plural(under, "under-replicated partition"));
  if (offline > 0) out.push(plural(offline, "offline partition"));
  if (view.quorum.leaderId < 0) out.push("no quorum leader");
  const fenced = view.brokers.filter((b) => b.fenced).length;
  if (fenced > 0) out.push(plural(fenced, "fenced broker"));
  const lagging = view.quorum.members.filter((m) => (m.lagRecords ?? 0) > 0).length;
  if (lagging > 0) out.push(`${plural(lagging, "quorum member")} behind`);
  const behind = (view.groups ?? []).filter((g) => (g.totalLag ?? 0) > 0).length;
  if (behind > 0) out.push(`${plural(behind, "consumer group")} with lag`);
  return out;
}

function quorumTable(q: QuorumView): SafeHtml {
  const leader = q.leaderId < 0 ? "unknown" : `node ${q.leaderId}`;
  const note = q.fromLeader
    ? ""
    : markup` <span class="muted">Lag is known on the leader only.</span>`;
  const rows = q.members.map((m) => {
    const caughtUp = m.lastCaughtUpAgoMs === null
      ? "—"
      : `${Math.round(m.lastCaughtUpAgoMs)} ms ago`;
    const end = m.logEndOffset < 0 ? "—" : m.logEndOffset;
    return markup`<tr><td>${m.id}</td><td>${m.role}</td><td class="num">${end}</td><td class="num${
      warnIf((m.lagRecords ?? 0) > 0)
    }">${num(m.lagRecords)}</td><td class="num">${caughtUp}</td></tr>`;
  });
  return markup`<h2 id="quorum">Metadata quorum</h2>
<p>Leader <strong>${leader}</strong>, epoch ${q.epoch}, high watermark ${q.highWatermark}.${note}</p>
<table><thead><tr><th>Node</th><th>Role</th><th class="num">Log end offset</th><th class="num">Lag (records)</th><th class="num">Caught up</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function brokersTable(view: OverviewView): SafeHtml {
  const rows = view.brokers.map((b) => {
    const state = b.fenced ? "fenced" : b.inControlledShutdown ? "shutting down" : "running";
    return markup`<tr><td>${b.id}</td><td class="${
      b.fenced ? "warn" : "ok"
    }">${state}</td><td class="num">${b.epoch}</td><td>${b.endpoints.join(", ")}</td><td>${
      b.rack ?? "—"
    }</td></tr>`;
  });
  const table = view.brokers.length === 0
    ? markup`<p class="muted">No broker is registered.</p>`
    : markup`<table><thead><tr><th>Broker</th><th>State</th><th class="num">Epoch</th><th>Endpoints</th><th>Rack</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  const controllers = view.controllerIds.length === 0 ? "—" : view.controllerIds.join(", ");
  return markup`<h2 id="brokers">Brokers</h2>
${table}
<p>Controllers (voters): ${controllers}</p>`;
}

function topicsTable(topics: TopicSummaryView[]): SafeHtml {
  if (topics.length === 0) {
    return markup`<h2 id="topics">Topics</h2>
<p class="muted">No topics yet. <a href="/topics">Create one</a>.</p>`;
  }
  const rows = topics.map((t) =>
    markup`<tr><td><a href="${
      topicHref(t.name)
    }">${t.name}</a></td><td class="num">${t.partitions}</td><td class="num">${t.replicationFactor}</td><td class="num${
      warnIf(t.underReplicated > 0)
    }">${t.underReplicated}</td><td class="num${
      warnIf(t.offline > 0)
    }">${t.offline}</td><td class="num">${bytes(t.sizeBytes)}</td></tr>`
  );
  return markup`<h2 id="topics">Topics</h2>
<table><thead><tr><th>Topic</th><th class="num">Partitions</th><th class="num">Replication</th><th class="num">Under-replicated</th><th class="num">Offline</th><th class="num">Size here</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function groupsTable(view: OverviewView): SafeHtml {
  const heading = markup`<h2 id="groups">Consumer groups</h2>`;
  if (view.groups === null) {
    return markup`${heading}
<p class="muted">This node is a controller only: groups live on the brokers.</p>`;
  }
  const note = view.groupsNote === null ? "" : markup`<p class="muted">${view.groupsNote}</p>`;
  if (view.groups.length === 0) {
    return markup`${heading}${note}<p class="muted">No consumer groups.</p>`;
  }
  const rows = view.groups.map((g) =>
    markup`<tr><td>${
      g.remote
        ? markup`${g.groupId} <span class="muted">(another broker)</span>`
        : markup`<a href="${groupHref(g.groupId)}">${g.groupId}</a>`
    }</td><td>${g.state}</td><td>${
      g.protocolType || "—"
    }</td><td class="num">${g.members}</td><td class="num${warnIf((g.totalLag ?? 0) > 0)}">${
      num(g.totalLag)
    }</td></tr>`
  );
  return markup`${heading}${note}
<table><thead><tr><th>Group</th><th>State</th><th>Protocol</th><th class="num">Members</th><th class="num">Total lag</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function throughputChart(): SafeHtml {
  return markup`<h2 id="throughput-heading">Throughput</h2>
<svg id="throughput" class="chart" viewBox="0 0 600 100" preserveAspectRatio="none" role="img" aria-labelledby="throughput-label">
<polyline class="in" points=""></polyline><polyline class="out" points=""></polyline></svg>
<p id="throughput-label" class="muted">Produce (blue) and fetch (orange) bytes per second, drawn every 2 s by a script from <a href="/api/throughput">/api/throughput</a>.</p>`;
}

/**
 * The cluster overview: a summary line, the quorum, brokers, throughput, topics and groups.
 *
 * @example
 * ```ts ignore
 * renderOverview(view).text; // "<!doctype html>..."
 * ```
 */
export function renderOverview(view: OverviewView): SafeHtml {
  const found = problems(view);
  const summary = found.length === 0
    ? "Nothing is behind or under-replicated."
    : markup`<strong>Attention:</strong> ${found.join("; ")}.`;
  const isBroker = view.roles.includes("broker");
  const body = markup`<h1>Cluster ${view.clusterId}</h1>
<p class="muted">Served by node ${view.nodeId} (${view.roles.join(", ")}).</p>
<p id="summary" class="summary ${found.length === 0 ? "ok" : "warn"}" role="status">${summary}</p>
${quorumTable(view.quorum)}
${brokersTable(view)}
${isBroker ? throughputChart() : ""}
${topicsTable(view.topics)}
${groupsTable(view)}`;
  return layout("Overview", body, { script: isBroker });
}

function partitionRow(p: PartitionView): SafeHtml {
  const under = p.isr.length < p.replicas.length;
  return markup`<tr><td class="num">${p.partition}</td><td class="num${warnIf(p.leader < 0)}">${
    p.leader < 0 ? "none" : p.leader
  }</td><td class="num">${p.leaderEpoch}</td><td>${p.replicas.join(", ")}</td><td class="${
    under ? "warn" : ""
  }">${p.isr.join(", ")}${under ? " (under-replicated)" : ""}</td><td class="num">${
    num(p.logStartOffset)
  }</td><td class="num">${num(p.highWatermark)}</td><td class="num">${
    bytes(p.sizeBytes)
  }</td></tr>`;
}

/**
 * The topic page: partitions with leaders, ISR and sizes; configs; forms to browse records, add
 * partitions and delete.
 *
 * @example
 * ```ts ignore
 * renderTopic({ name: "orders", id: "...", partitions: [], configs: [] });
 * ```
 */
export function renderTopic(view: TopicView): SafeHtml {
  const href = topicHref(view.name);
  const configs = view.configs.length === 0
    ? markup`<p class="muted">No topic configs set: the broker defaults apply.</p>`
    : markup`<table><thead><tr><th>Config</th><th>Value</th></tr></thead><tbody>${
      view.configs.map(([k, v]) =>
        markup`<tr><td><code>${k}</code></td><td><code>${v}</code></td></tr>`
      )
    }</tbody></table>`;
  const next = view.partitions.length + 1;
  const body = markup`<h1>Topic ${view.name}</h1>
<p class="muted">Id ${view.id}. <a href="${href}/records">Browse records</a></p>
<h2>Partitions</h2>
<table id="partitions"><thead><tr><th class="num">Partition</th><th class="num">Leader</th><th class="num">Leader epoch</th><th>Replicas</th><th>ISR</th><th class="num">Log start</th><th class="num">High watermark</th><th class="num">Size here</th></tr></thead>
<tbody>${view.partitions.map(partitionRow)}</tbody></table>
<h2>Configs</h2>
${configs}
<h2>Add partitions</h2>
<form class="inline" method="post" action="${href}/partitions">
<label>New partition count <input name="count" type="number" min="${next}" value="${next}" required></label>
<button type="submit">Add partitions</button></form>
<h2>Delete</h2>
<p><a href="${href}/delete">Delete this topic…</a> (asks for confirmation)</p>`;
  return layout(`Topic ${view.name}`, body);
}

function alert(error: string | null): HtmlValue {
  return error === null ? "" : markup`<p class="summary warn" role="alert">${error}</p>`;
}

/**
 * The create-topic form, with a message from a failed attempt and the values sent.
 *
 * @example
 * ```ts ignore
 * renderCreateTopic(null);
 * ```
 */
export function renderCreateTopic(
  error: string | null,
  values: Record<string, string> = {},
): SafeHtml {
  const body = markup`<h1>Create topic</h1>
${alert(error)}
<form class="inline" method="post" action="/topics">
<label>Name <input name="name" required maxlength="249" value="${
    values.name ?? ""
  }" autofocus></label>
<label>Partitions <input name="partitions" type="number" min="1" placeholder="broker default" value="${
    values.partitions ?? ""
  }"></label>
<label>Replication factor <input name="replicationFactor" type="number" min="1" placeholder="broker default" value="${
    values.replicationFactor ?? ""
  }"></label>
<label>Configs (key=value, one per line) <textarea name="configs" rows="2" cols="30">${
    values.configs ?? ""
  }</textarea></label>
<button type="submit">Create</button></form>`;
  return layout("Create topic", body);
}

/**
 * The confirmation step before deleting a topic: the name must be typed again.
 *
 * @example
 * ```ts ignore
 * renderDeleteTopic("orders", null);
 * ```
 */
export function renderDeleteTopic(name: string, error: string | null): SafeHtml {
  const href = topicHref(name);
  const body = markup`<h1>Delete topic ${name}?</h1>
${alert(error)}
<p>Deleting removes every partition and record of <strong>${name}</strong>. This cannot be undone.</p>
<form class="inline" method="post" action="${href}/delete">
<label>Type the topic name to confirm <input name="confirm" required autocomplete="off" autofocus></label>
<button type="submit" class="danger">Delete ${name}</button>
<a href="${href}">Cancel</a></form>`;
  return layout(`Delete ${name}`, body);
}

/**
 * A short page saying what happened, with a link onwards.
 *
 * @example
 * ```ts ignore
 * renderMessage("Topic deleted", "Deleted orders.", "/");
 * ```
 */
export function renderMessage(title: string, message: string, next: string): SafeHtml {
  return layout(
    title,
    markup`<h1>${title}</h1><p role="status">${message}</p><p><a href="${next}">Continue</a></p>`,
  );
}

function options(values: readonly string[], selected: string): SafeHtml[] {
  return values.map((v) =>
    v === selected
      ? markup`<option value="${v}" selected>${v}</option>`
      : markup`<option value="${v}">${v}</option>`
  );
}

function recordRow(r: RecordView): SafeHtml {
  const headers = r.headers.map(([k, v]) => markup`<pre><strong>${k}</strong>: ${v}</pre>`);
  return markup`<tr><td class="num">${r.offset}</td><td>${
    new Date(r.timestamp).toISOString()
  } <span class="muted">${r.timestampType}</span></td><td><pre>${r.key}</pre></td><td><pre>${r.value}</pre></td><td>${headers}</td></tr>`;
}

/**
 * The records browser: a GET form (partition, from an offset or a time, count, format) and the
 * records found, keys, values and headers shown as escaped text.
 *
 * @example
 * ```ts ignore
 * renderRecords(view);
 * ```
 */
export function renderRecords(view: RecordsView): SafeHtml {
  const q = view.query;
  const href = topicHref(view.topic);
  const partitions = Array.from({ length: view.partitions }, (_, i) => String(i));
  let results: HtmlValue = "";
  if (view.records.length > 0) {
    results =
      markup`<table id="records"><thead><tr><th class="num">Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
<tbody>${view.records.map(recordRow)}</tbody></table>`;
  } else if (view.error === null) {
    results = markup`<p class="muted">No records there.</p>`;
  }
  const next = view.nextOffset === null
    ? ""
    : markup`<p><a href="${href}/records?partition=${q.partition}&amp;from=offset&amp;offset=${view.nextOffset}&amp;count=${q.count}&amp;format=${q.format}">Next records from offset ${view.nextOffset}</a></p>`;
  const body = markup`<h1>Records of <a href="${href}">${view.topic}</a></h1>
<form class="inline" method="get" action="${href}/records">
<label>Partition <select name="partition">${
    options(partitions, String(q.partition))
  }</select></label>
<label>From <select name="from">${options(["offset", "timestamp"], q.from)}</select></label>
<label>Offset <input name="offset" type="number" min="0" value="${q.offset}"></label>
<label>Time (ISO 8601 or ms) <input name="timestamp" value="${q.timestamp}" placeholder="2024-01-01T00:00:00Z"></label>
<label>Count <input name="count" type="number" min="1" max="500" value="${q.count}"></label>
<label>Show as <select name="format">${options(RECORD_FORMATS, q.format)}</select></label>
<button type="submit">Show</button></form>
${alert(view.error)}
${results}
${next}`;
  return layout(`Records of ${view.topic}`, body);
}

function resetTable(reset: ResetView): SafeHtml {
  const title = reset.executed ? "Reset done" : "Dry run: nothing changed yet";
  const rows = reset.rows.map((r) =>
    markup`<tr><td class="num">${r.partition}</td><td class="num">${
      num(r.current)
    }</td><td class="num">${r.target}</td><td class="${r.error === null ? "ok" : "warn"}">${
      r.error ?? (reset.executed ? "committed" : "would commit")
    }</td></tr>`
  );
  return markup`<h3 id="reset-result">${title}</h3>
<table id="reset"><thead><tr><th class="num">Partition</th><th class="num">Current</th><th class="num">New offset</th><th>Result</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/**
 * The group page: members with their assignments, committed offsets with lag, and the offset
 * reset form (a dry run first; its result offers to execute the same reset).
 *
 * @example
 * ```ts ignore
 * renderGroup(view);
 * ```
 */
export function renderGroup(view: GroupView): SafeHtml {
  const totalLag = view.offsets.reduce((n, o) => n + (o.lag ?? 0), 0);
  const reset = view.reset;
  const members = view.members.length === 0
    ? markup`<p class="muted">No members.</p>`
    : markup`<table><thead><tr><th>Member</th><th>Client</th><th>Host</th><th>Assignment</th></tr></thead><tbody>${
      view.members.map((m) =>
        markup`<tr><td><code>${m.memberId}</code></td><td>${m.clientId}</td><td>${m.clientHost}</td><td>${
          m.assignment.length === 0 ? "—" : m.assignment.join(", ")
        }</td></tr>`
      )
    }</tbody></table>`;
  const offsets = view.offsets.length === 0
    ? markup`<p class="muted">No committed offsets.</p>`
    : markup`<table id="offsets"><thead><tr><th>Topic</th><th class="num">Partition</th><th class="num">Committed</th><th class="num">End offset</th><th class="num">Lag</th></tr></thead><tbody>${
      view.offsets.map((o) =>
        markup`<tr><td><a href="${
          topicHref(o.topic)
        }">${o.topic}</a></td><td class="num">${o.partition}</td><td class="num">${o.committed}</td><td class="num">${
          num(o.endOffset)
        }</td><td class="num${warnIf((o.lag ?? 0) > 0)}">${num(o.lag)}</td></tr>`
      )
    }</tbody></table>`;
  const canExecute = reset !== null && !reset.executed && reset.rows.every((r) => r.error === null);
  const execute = canExecute
    ? markup`<button type="submit" name="mode" value="execute" class="danger">Execute this reset</button>`
    : "";
  const body = markup`<h1>Group ${view.groupId}</h1>
<p>State <strong>${view.state}</strong>, protocol ${
    view.protocolType || "—"
  } ${view.protocol}, total lag <strong class="${
    totalLag > 0 ? "warn" : "ok"
  }">${totalLag}</strong>.</p>
<h2>Members</h2>
${members}
<h2>Offsets and lag</h2>
<p class="muted">Partitions the group never committed are not listed; the end offsets of partitions other brokers lead are refreshed every 10 s.</p>
${offsets}
<h2>Reset offsets</h2>
<p class="muted">Like <code>kafka-consumer-groups --reset-offsets</code>: the group must have no members. Preview first.</p>
<form class="inline" method="post" action="${groupHref(view.groupId)}/reset">
<label>Topic <select name="topic">${
    options(view.topics, reset?.topic ?? view.topics[0] ?? "")
  }</select></label>
<label>Strategy <select name="strategy">${
    options(RESET_STRATEGIES, reset?.strategy ?? "to-earliest")
  }</select></label>
<label>Offset or time <input name="value" value="${
    reset?.value ?? ""
  }" placeholder="for to-offset / to-datetime"></label>
<button type="submit" name="mode" value="dry-run">Preview (dry run)</button>
${execute}
</form>
${reset === null ? "" : resetTable(reset)}`;
  return layout(`Group ${view.groupId}`, body);
}
