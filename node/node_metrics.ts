/**
 * The node's metrics as Prometheus families, named as Strimzi's JMX-exporter rules name Kafka's
 * MBeans (so its Grafana dashboards work unchanged), plus consumer lag in kafka-exporter's form.
 * Counters are read from what the request path added; gauges are computed here, at scrape time,
 * from the in-process state (replica manager, metadata image, controller, raft).
 *
 * @module
 */

import type { MetricFamily, MetricSample } from "../core/metrics/exposition.ts";
import type { BrokerTopicStats } from "../core/metrics/broker_topic_stats.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import { API_TABLE } from "../net/protocol/generated/api_table.ts";
import type { GroupService } from "../net/handlers/group_service.ts";
import type { Histogram } from "../core/metrics/histogram.ts";

/** What the metrics read of one hosted partition (the replica manager's `Partition`). */
export interface PartitionMetricsView {
  readonly topic: string;
  readonly partition: number;
  readonly isLeader: boolean;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly highWatermark: number;
  readonly log: { readonly sizeBytes: number };
}

/** The broker side: hosted partitions and the counters the handlers add to. */
export interface BrokerMetricsSource {
  /** The replica manager. */
  replicas: {
    readonly topicStats: BrokerTopicStats;
    partitions(): readonly PartitionMetricsView[];
    hostedPartition(topic: string, partition: number): PartitionMetricsView | undefined;
  };
  groups: Pick<GroupService, "listGroups" | "offsetFetch">;
  /** The last known high watermark of a partition another broker leads (for lag), if any. */
  remoteEndOffset?: (topic: string, partition: number) => number | undefined;
}

/** Everything `/metrics` reads. Roles a node does not run are absent. */
export interface NodeMetricsSource {
  image: () => MetadataImage;
  /** Requests received per api key, one map per dispatcher (controller and broker listeners). */
  requestCounts: () => readonly ReadonlyMap<number, number>[];
  /** Open connections per listener name. */
  connections: () => ReadonlyMap<string, number>;
  raft: { leaderId: number; epoch: number; highWatermark: number };
  controller?: { isActive: boolean };
  broker?: BrokerMetricsSource;
  /** `Deno.memoryUsage()` or a fake. */
  memory: () => { rss: number; heapTotal: number; heapUsed: number; external: number };
  /** Request latency per api key and bytes per listener (`node/request_metrics.ts`). */
  requests?: {
    readonly latencyMs: ReadonlyMap<number, Histogram>;
    readonly bytesIn: ReadonlyMap<string, number>;
    readonly bytesOut: ReadonlyMap<string, number>;
  };
  eventLoop?: { readonly delaySeconds: Histogram; readonly lastDelaySeconds: number };
  /** CPU time, open descriptors and start time, where the platform tells them. */
  process?: () => ProcessStats;
}

/** What `/proc/self` (or a fake) says about the process; null when unknown. */
export interface ProcessStats {
  cpuSeconds: number | null;
  openFds: number | null;
  startTimeSeconds: number;
}

function gauge(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name, help, type: "gauge", samples };
}

function counter(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name, help, type: "counter", samples };
}

/**
 * Gathers every metric family of the node, in a stable order.
 *
 * @example
 * ```ts ignore
 * const text = encodeMetrics(collectNodeMetrics(source));
 * ```
 */
export function collectNodeMetrics(source: NodeMetricsSource): MetricFamily[] {
  const image = source.image();
  const families: MetricFamily[] = [];
  if (source.broker !== undefined) families.push(...brokerFamilies(source.broker, image));
  if (source.controller !== undefined) {
    families.push(...controllerFamilies(source.controller.isActive, image));
  }
  families.push(...raftFamilies(source.raft));
  families.push(...networkFamilies(source));
  if (source.requests !== undefined) families.push(...requestFamilies(source.requests));
  families.push(...processFamilies(source));
  return families;
}

function processFamilies(source: NodeMetricsSource): MetricFamily[] {
  const families: MetricFamily[] = [];
  const memory = source.memory();
  families.push(
    gauge("process_resident_memory_bytes", "Resident set size in bytes.", [{ value: memory.rss }]),
    gauge("deno_heap_used_bytes", "V8 heap used in bytes.", [{ value: memory.heapUsed }]),
    gauge("deno_heap_total_bytes", "V8 heap allocated in bytes.", [{ value: memory.heapTotal }]),
    gauge("deno_external_memory_bytes", "Memory held outside the V8 heap (buffers) in bytes.", [
      { value: memory.external },
    ]),
  );
  if (source.eventLoop !== undefined) {
    families.push(
      {
        name: "kraftling_eventloop_delay_seconds",
        help: "How late a 100 ms timer fires: the event loop's delay, in seconds.",
        type: "histogram",
        samples: source.eventLoop.delaySeconds.samples(),
      },
      gauge("nodejs_eventloop_lag_seconds", "The last event-loop delay sample in seconds.", [
        { value: source.eventLoop.lastDelaySeconds },
      ]),
    );
  }
  const stats = source.process?.();
  if (stats !== undefined) {
    families.push(gauge(
      "process_start_time_seconds",
      "Start time of the process since the Unix epoch in seconds.",
      [{ value: stats.startTimeSeconds }],
    ));
    if (stats.cpuSeconds !== null) {
      families.push(counter("process_cpu_seconds_total", "User and system CPU time in seconds.", [
        { value: stats.cpuSeconds },
      ]));
    }
    if (stats.openFds !== null) {
      families.push(gauge("process_open_fds", "Open file descriptors.", [
        { value: stats.openFds },
      ]));
    }
  }
  return families;
}

const apiName = (apiKey: number) => API_TABLE.get(apiKey)?.name ?? String(apiKey);

/**
 * Latency as Strimzi's rules name RequestMetrics TotalTimeMs (`..._totaltimems`), but as a
 * classic histogram (`_bucket`, `_sum`, `_count`) instead of the JMX percentiles; and bytes as
 * socket-server-metrics incoming/outgoing-byte-total per listener.
 */
function requestFamilies(requests: NonNullable<NodeMetricsSource["requests"]>): MetricFamily[] {
  const perListener = (m: ReadonlyMap<string, number>) =>
    [...m].sort(([a], [b]) => a < b ? -1 : 1).map(([listener, value]) => ({
      labels: { listener },
      value,
    }));
  return [
    {
      name: "kafka_network_requestmetrics_totaltimems",
      help: "Request latency per API in milliseconds, from arrival to response ready.",
      type: "histogram",
      samples: [...requests.latencyMs].sort(([a], [b]) => a - b).flatMap(([apiKey, h]) =>
        h.samples({ request: apiName(apiKey) })
      ),
    },
    counter(
      "kafka_server_socket_server_metrics_incoming_byte_total",
      "Request bytes received per listener.",
      perListener(requests.bytesIn),
    ),
    counter(
      "kafka_server_socket_server_metrics_outgoing_byte_total",
      "Response bytes sent per listener.",
      perListener(requests.bytesOut),
    ),
  ];
}

function byTopicPartition(
  a: { topic: string; partition: number },
  b: { topic: string; partition: number },
): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function brokerFamilies(broker: BrokerMetricsSource, image: MetadataImage): MetricFamily[] {
  const stats = broker.replicas.topicStats;
  // Deleted topics lose their per-topic series, as Kafka removes their MBeans (so a topic created
  // again under the same name starts from zero).
  for (const topic of stats.byTopic.keys()) {
    if (!image.topics.byName.has(topic)) stats.removeTopic(topic);
  }
  const live = [...stats.byTopic];
  const perTopic = (
    pick: (c: { messagesIn: number; bytesIn: number; bytesOut: number }) => number,
  ) => [
    { value: pick(stats.all) },
    ...live.map(([topic, c]) => ({ labels: { topic }, value: pick(c) })),
  ];
  const partitions = broker.replicas.partitions();
  const led = partitions.filter((p) => p.isLeader);
  return [
    counter(
      "kafka_server_brokertopicmetrics_messagesin_total",
      "Messages appended by producers (BrokerTopicMetrics MessagesInPerSec).",
      perTopic((c) => c.messagesIn),
    ),
    counter(
      "kafka_server_brokertopicmetrics_bytesin_total",
      "Record bytes appended by producers (BrokerTopicMetrics BytesInPerSec).",
      perTopic((c) => c.bytesIn),
    ),
    counter(
      "kafka_server_brokertopicmetrics_bytesout_total",
      "Record bytes sent to consumers (BrokerTopicMetrics BytesOutPerSec).",
      perTopic((c) => c.bytesOut),
    ),
    gauge("kafka_server_replicamanager_partitioncount", "Partitions hosted on this broker.", [
      { value: partitions.length },
    ]),
    gauge("kafka_server_replicamanager_leadercount", "Partitions this broker leads.", [
      { value: led.length },
    ]),
    gauge(
      "kafka_server_replicamanager_underreplicatedpartitions",
      "Partitions this broker leads whose ISR is smaller than their replica set.",
      [{ value: led.filter((p) => p.isr.length < p.replicas.length).length }],
    ),
    gauge(
      "kafka_log_log_size",
      "Bytes of a partition's log on disk (Log Size).",
      [...partitions].sort(byTopicPartition).map((p) => ({
        labels: { topic: p.topic, partition: p.partition },
        value: p.log.sizeBytes,
      })),
    ),
    ...lagFamilies(broker),
  ];
}

/**
 * kafka-exporter's lag: a group's committed offset against the high watermark, for the groups
 * this broker coordinates: its own high watermark where it leads, the leader's (fetched every few
 * seconds) elsewhere.
 */
function lagFamilies(broker: BrokerMetricsSource): MetricFamily[] {
  const lag: MetricSample[] = [];
  const current: MetricSample[] = [];
  const listed = broker.groups.listGroups({ statesFilter: [] });
  for (const { groupId } of listed.groups) {
    const fetched = broker.groups.offsetFetch({ groupId, topics: null, requireStable: false });
    for (const topic of fetched.topics) {
      for (const p of topic.partitions) {
        if (p.committedOffset < 0) continue;
        const hosted = broker.replicas.hostedPartition(topic.name, p.partitionIndex);
        const endOffset = hosted?.isLeader
          ? hosted.highWatermark
          : broker.remoteEndOffset?.(topic.name, p.partitionIndex);
        if (endOffset === undefined) continue;
        const labels = { consumergroup: groupId, topic: topic.name, partition: p.partitionIndex };
        current.push({ labels, value: p.committedOffset });
        lag.push({ labels, value: Math.max(0, endOffset - p.committedOffset) });
      }
    }
  }
  return [
    gauge("kafka_consumergroup_current_offset", "A group's committed offset.", current),
    gauge(
      "kafka_consumergroup_lag",
      "High watermark minus the group's committed offset.",
      lag,
    ),
  ];
}

function controllerFamilies(isActive: boolean, image: MetadataImage): MetricFamily[] {
  let global = 0;
  let offline = 0;
  for (const topic of image.topics.byId.values()) {
    for (const p of topic.partitions.values()) {
      global++;
      if (p.leader < 0) offline++;
    }
  }
  return [
    gauge(
      "kafka_controller_kafkacontroller_activecontrollercount",
      "1 on the active controller, 0 on the others.",
      [{ value: isActive ? 1 : 0 }],
    ),
    gauge(
      "kafka_controller_kafkacontroller_globalpartitioncount",
      "Partitions in the cluster.",
      [{ value: global }],
    ),
    gauge(
      "kafka_controller_kafkacontroller_offlinepartitionscount",
      "Partitions with no leader.",
      [{ value: offline }],
    ),
  ];
}

function raftFamilies(raft: NodeMetricsSource["raft"]): MetricFamily[] {
  return [
    gauge("kafka_server_raftmetrics_current_leader", "The quorum leader's id (-1 if unknown).", [
      { value: raft.leaderId },
    ]),
    gauge("kafka_server_raftmetrics_current_epoch", "The quorum epoch.", [{ value: raft.epoch }]),
    gauge(
      "kafka_server_raftmetrics_high_watermark",
      "The metadata log's high watermark (-1 if unknown).",
      [{ value: raft.highWatermark }],
    ),
  ];
}

function networkFamilies(source: NodeMetricsSource): MetricFamily[] {
  const byApi = new Map<number, number>();
  for (const counts of source.requestCounts()) {
    for (const [apiKey, n] of counts) byApi.set(apiKey, (byApi.get(apiKey) ?? 0) + n);
  }
  return [
    counter(
      "kafka_network_requestmetrics_requests_total",
      "Requests received per API (RequestMetrics RequestsPerSec).",
      [...byApi].sort(([a], [b]) => a - b).map(([apiKey, value]) => ({
        labels: { request: apiName(apiKey) },
        value,
      })),
    ),
    gauge(
      "kafka_server_socket_server_metrics_connection_count",
      "Open connections per listener (socket-server-metrics connection-count).",
      [...source.connections()].map(([listener, value]) => ({ labels: { listener }, value })),
    ),
  ];
}
