"""Transactional vs idempotent produce for `deno task bench transactions` (/usr/bin/python3).

usage: txn_load_gen.py MODE BOOTSTRAP TOPIC COUNT SIZE PER_TXN
MODE is `idempotent` (acks=all, enable.idempotence) or `transactional` (the same producer with a
transactional.id, committing every PER_TXN records). Prints one JSON line with what it measured.
"""
import json
import sys
import time

from confluent_kafka import Producer

mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
count, size, per_txn = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
config = {
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "batch.size": 1048576,
    "queue.buffering.max.messages": 1000000,
    "queue.buffering.max.kbytes": 1048576,
}
if mode == "transactional":
    config["transactional.id"] = f"bench-{time.time_ns()}"
producer = Producer(config)
producer.list_topics(topic, timeout=10)
payload = b"x" * size
errors = [0]


def delivered(err, _msg):
    if err is not None:
        errors[0] += 1


if mode == "transactional":
    producer.init_transactions(30)
start = time.perf_counter()
txn_ms = []
for first in range(0, count, per_txn):
    began = time.perf_counter()
    if mode == "transactional":
        producer.begin_transaction()
    for _ in range(min(per_txn, count - first)):
        while True:
            try:
                producer.produce(topic, payload, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.005)
    if mode == "transactional":
        producer.commit_transaction(60)
        txn_ms.append((time.perf_counter() - began) * 1000)
    else:
        producer.poll(0)
producer.flush(120)
elapsed = time.perf_counter() - start
txn_ms.sort()
result = {"records": count, "seconds": elapsed, "errors": errors[0]}
if txn_ms:
    result["txn_p50_ms"] = txn_ms[len(txn_ms) // 2]
    result["txn_p99_ms"] = txn_ms[min(len(txn_ms) - 1, int(0.99 * len(txn_ms)))]
print(json.dumps(result))
