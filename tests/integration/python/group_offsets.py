"""Commits or reads a consumer group's offsets with confluent-kafka (no subscription, no rebalance).

Usage: group_offsets.py BOOTSTRAP GROUP commit TOPIC P:O[,P:O...]
       group_offsets.py BOOTSTRAP GROUP committed TOPIC PARTITIONS
Stdout: for `committed`, a JSON object mapping each partition to its committed offset (-1001 when
none is committed, librdkafka's OFFSET_INVALID).
"""
import json
import sys

from confluent_kafka import Consumer, TopicPartition

bootstrap, group, action, topic = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": group,
    "enable.auto.commit": False,
    "reconnect.backoff.max.ms": 500,
})
if action == "commit":
    wanted = [TopicPartition(topic, int(p), int(o))
              for p, o in (pair.split(":") for pair in sys.argv[5].split(","))]
    consumer.commit(offsets=wanted, asynchronous=False)
elif action == "committed":
    partitions = [TopicPartition(topic, p) for p in range(int(sys.argv[5]))]
    got = consumer.committed(partitions, timeout=20)
    print(json.dumps({str(tp.partition): tp.offset for tp in got}))
else:
    raise SystemExit(f"unknown action {action}: use commit or committed")
consumer.close()
