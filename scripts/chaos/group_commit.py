"""Chaos workload: a group consumer that commits every 50 records; prints its last commits."""
import json, sys, time
from confluent_kafka import Consumer, KafkaException
bootstrap, topic, group, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "session.timeout.ms": 10000, "reconnect.backoff.max.ms": 500})
c.subscribe([topic])
committed = {}; pending = {}; n = 0; errors = 0; seen = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    m = c.poll(0.2)
    if m is None or m.error():
        continue
    seen += 1
    pending[m.partition()] = m.offset() + 1
    n += 1
    if n % 50 == 0:
        try:
            from confluent_kafka import TopicPartition
            offs = [TopicPartition(topic, p, o) for p, o in pending.items()]
            c.commit(offsets=offs, asynchronous=False)
            for p, o in pending.items(): committed[str(p)] = max(committed.get(str(p), -1), o)
        except KafkaException as e:
            errors += 1
c.close()
print(json.dumps({"committed": committed, "errors": errors, "seen": seen}))
