"""kafka-python end to end against a kraftling node.

Usage: kafka_python_e2e.py BOOTSTRAP STEP [API_VERSION]

Steps: admin:TOPIC, produce:TOPIC:COMPRESSION:COUNT, consume:TOPIC:GROUP:EXPECTED_TOTAL:HEADERS(0|1)
Prints one JSON object on the last line of stdout; exits non-zero on failure.
"""
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

BOOTSTRAP = sys.argv[1]
STEP = sys.argv[2]
API_VERSION = tuple(int(x) for x in sys.argv[3].split(".")) if len(sys.argv) > 3 else None
# Bound on one consume step, in seconds (the Deno side kills the process after 60).
DEADLINE_S = 40


def common():
    kw = {"bootstrap_servers": BOOTSTRAP, "request_timeout_ms": 15000}
    if API_VERSION is not None:
        kw["api_version"] = API_VERSION
    return kw


def admin_step(topic):
    admin = KafkaAdminClient(client_id="kp-admin", **common())
    doomed = topic + "-doomed"
    try:
        admin.create_topics([NewTopic(topic, 3, 1), NewTopic(doomed, 1, 1)])
        topics = admin.list_topics()
        assert topic in topics and doomed in topics, topics
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        text = repr(configs)
        assert "cleanup.policy" in text, text[:500]
        admin.delete_topics([doomed])
        for _ in range(50):
            if doomed not in admin.list_topics():
                break
            time.sleep(0.1)
        left = admin.list_topics()
        assert doomed not in left, left
        return {"topics": sorted(t for t in left if not t.startswith("__"))}
    finally:
        admin.close()


def headers_supported():
    # Record headers need magic v2 (Kafka 0.11+); older api versions write magic 0/1 message sets.
    return API_VERSION is None or API_VERSION >= (0, 11)


def produce_step(topic, compression, count):
    producer = KafkaProducer(acks="all", compression_type=compression, linger_ms=5, **common())
    futures = []
    for i in range(count):
        futures.append(
            producer.send(
                topic,
                key=("k%d" % i).encode(),
                value=("v%d" % i).encode(),
                headers=[("h", ("%d" % i).encode())] if headers_supported() else None,
            )
        )
    producer.flush(timeout=30)
    offsets = [f.get(timeout=30).offset for f in futures]
    producer.close(timeout=10)
    return {"acked": len(offsets)}


def consume_step(topic, group, expect, with_headers):
    consumer = KafkaConsumer(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        consumer_timeout_ms=3000 if expect == 0 else 10000,
        **common(),
    )
    seen = {}
    headers_ok = True
    deadline = time.time() + DEADLINE_S
    try:
        while time.time() < deadline and (expect == 0 or sum(seen.values()) < expect):
            batch = consumer.poll(timeout_ms=1000)
            if expect == 0 and not batch and consumer.assignment():
                # One more empty poll after assignment: nothing new in the group.
                batch = consumer.poll(timeout_ms=1500)
                if not batch:
                    break
            for records in batch.values():
                for r in records:
                    key = r.key.decode()
                    assert r.value.decode() == "v" + key[1:], r
                    want = [("h", key[1:].encode())] if with_headers else []
                    if list(r.headers or []) != want:
                        headers_ok = False
                    seen[key] = seen.get(key, 0) + 1
        consumer.commit()
        committed = {
            tp.partition: consumer.committed(tp) for tp in consumer.assignment()
        }
    finally:
        consumer.close()
    return {
        "distinct": len(seen),
        "duplicates": sum(n - 1 for n in seen.values()),
        "headers_ok": headers_ok,
        "committed": sum(v or 0 for v in committed.values()),
    }


def main():
    if STEP.startswith("admin:"):
        out = admin_step(STEP.split(":")[1])
    elif STEP.startswith("produce:"):
        _, topic, compression, count = STEP.split(":")
        out = produce_step(topic, None if compression == "none" else compression, int(count))
    elif STEP.startswith("consume:"):
        _, topic, group, expect, with_headers = STEP.split(":")
        out = consume_step(topic, group, int(expect), with_headers == "1")
    else:
        raise SystemExit("unknown step " + STEP)
    print(json.dumps(out))


main()
