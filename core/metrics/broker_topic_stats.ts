/**
 * Kafka's `BrokerTopicStats` counters (MBean `kafka.server:type=BrokerTopicMetrics`): messages
 * and bytes in and bytes out, for all topics and per topic. The produce and fetch handlers add to
 * them; `/metrics` reads them. Pure counters: adding is the only work on the request path.
 *
 * @module
 */

/** One topic's (or the broker's) running totals. */
export interface TopicCounters {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Running totals since the process started, per topic and for all topics.
 *
 * @example
 * ```ts
 * import { BrokerTopicStats } from "./broker_topic_stats.ts";
 * const stats = new BrokerTopicStats();
 * stats.recordIn("orders", { messages: 3, bytes: 120 });
 * stats.all.messagesIn; // 3
 * stats.byTopic.get("orders")?.bytesIn; // 120
 * ```
 */
export class BrokerTopicStats {
  readonly all: TopicCounters = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
  readonly byTopic = new Map<string, TopicCounters>();

  #topic(topic: string): TopicCounters {
    let counters = this.byTopic.get(topic);
    if (counters === undefined) {
      counters = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
      this.byTopic.set(topic, counters);
    }
    return counters;
  }

  /** Records appended from a client (Kafka counts client produce only, not replication). */
  recordIn(topic: string, added: { messages: number; bytes: number }): void {
    const t = this.#topic(topic);
    t.messagesIn += added.messages;
    t.bytesIn += added.bytes;
    this.all.messagesIn += added.messages;
    this.all.bytesIn += added.bytes;
  }

  /** Record bytes sent to a consumer (Kafka counts consumer fetches only, not followers). */
  recordOut(topic: string, bytes: number): void {
    this.#topic(topic).bytesOut += bytes;
    this.all.bytesOut += bytes;
  }

  /** Drops a deleted topic's counters, as Kafka removes its per-topic MBeans. */
  removeTopic(topic: string): void {
    this.byTopic.delete(topic);
  }
}
