"""One group member reads up to MAX messages (or to the end of every partition), commits, closes.

Usage: group_consume.py BOOTSTRAP TOPIC GROUP MAX
Stdout: JSON array of `[partition, offset, value]` in arrival order.
"""
import json
import sys
import time

from confluent_kafka import KafkaError

from common import group_consumer

bootstrap, topic, group, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = group_consumer(bootstrap, group, **{"enable.partition.eof": True})
seen = []
at_end = set()


def sink(_consumer, msg):
    seen.append([msg.partition(), msg.offset(), msg.value().decode()])


def done():
    if len(seen) >= limit:
        return True
    assignment = consumer.assignment()
    return len(assignment) > 0 and all(tp.partition in at_end for tp in assignment)


consumer.subscribe([topic])
end = time.monotonic() + 30
while not done() and time.monotonic() < end:
    msg = consumer.poll(0.1)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            at_end.add(msg.partition())
            continue
        raise SystemExit(f"consume error: {msg.error()}")
    at_end.discard(msg.partition())
    sink(consumer, msg)
if seen:
    consumer.commit(asynchronous=False)
consumer.close()
print(json.dumps(seen))
