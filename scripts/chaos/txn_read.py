"""Reads every partition of a topic with read_committed to the end; prints the values seen."""
import json, sys, time
from confluent_kafka import Consumer, KafkaError, TopicPartition
bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "txn-read", "enable.auto.commit": False,
              "isolation.level": "read_committed", "enable.partition.eof": True})
md = c.list_topics(topic, timeout=10)
parts = sorted(md.topics[topic].partitions)
c.assign([TopicPartition(topic, q, 0) for q in parts])
remaining = set(parts); seen = []
deadline = time.monotonic() + 60
while remaining and time.monotonic() < deadline:
    m = c.poll(0.5)
    if m is None: continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF: remaining.discard(m.partition()); continue
        raise SystemExit(str(m.error()))
    seen.append(m.value().decode())
print(json.dumps({"seen": seen, "eof": not remaining}))
