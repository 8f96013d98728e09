"""Produces with acks=0 and acks=1, then a message larger than the topic's max.message.bytes.

Usage: produce_acks.py BOOTSTRAP TOPIC
Stdout: JSON with delivery counts per acks setting and the error of the oversized message.
"""
import json
import sys

from confluent_kafka import Producer

from common import create_topic

bootstrap, topic = sys.argv[1], sys.argv[2]
create_topic(bootstrap, topic, 1, {"max.message.bytes": "10000"})
result = {}
for acks in ["0", "1"]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5})
    delivered = []
    failed = []

    def report(err, msg):
        (failed if err else delivered).append(str(err) if err else msg.value().decode())

    for i in range(100):
        producer.produce(topic, value=f"acks{acks}-{i}", on_delivery=report)
    producer.flush(20)
    result[f"acks{acks}"] = {"delivered": len(delivered), "failed": failed[:3]}

producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.max.bytes": 2000000})
errors = []
producer.produce(topic, value=b"x" * 50000,
                 on_delivery=lambda err, msg: errors.append(err))
producer.flush(20)
big = errors[0] if errors else None
result["big"] = None if big is None else {"name": big.name(), "code": big.code(), "str": big.str()}
after = []
producer.produce(topic, value=b"small", on_delivery=lambda err, msg: after.append(err))
producer.flush(20)
result["after"] = [None if e is None else e.name() for e in after]
print(json.dumps(result))
