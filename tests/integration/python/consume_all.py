"""Reads every partition of TOPIC from the beginning to the high watermark without a group.

Usage: consume_all.py BOOTSTRAP TOPIC [CLIENT_RACK]
(with CLIENT_RACK, the consumer names its rack: KIP-392 may send it to a follower in that rack)

Stdout: one JSON array of `{"p", "o", "k", "v", "h"}` objects in the order they arrived.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "consume-all-unused",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    **({"client.rack": sys.argv[3]} if len(sys.argv) > 3 else {}),
})
metadata = consumer.list_topics(topic, timeout=10)
partitions = sorted(metadata.topics[topic].partitions)
consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
remaining = set(partitions)
seen = []
deadline = time.monotonic() + 30
while remaining and time.monotonic() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            remaining.discard(msg.partition())
            continue
        raise SystemExit(f"consume error: {msg.error()}")
    key = msg.key()
    seen.append({
        "p": msg.partition(),
        "o": msg.offset(),
        "k": key.decode() if key is not None else None,
        "v": msg.value().decode(),
        "h": [[k, v.decode() if v is not None else None] for k, v in (msg.headers() or [])],
    })
consumer.close()
if remaining:
    raise SystemExit(f"partitions {sorted(remaining)} did not reach end of log within 30 s")
print(json.dumps(seen))
