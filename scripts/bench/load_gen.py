"""librdkafka load generator for `deno task bench` (run with /usr/bin/python3).

usage: load_gen.py produce BOOTSTRAP TOPIC COUNT SIZE ACKS [RATE [WARMUP_S]]
       load_gen.py consume BOOTSTRAP TOPIC COUNT
       load_gen.py discard
Prints one JSON line with what it measured. With a RATE, latencies of records sent in the first
WARMUP_S seconds (default 0) are left out of the percentiles: one-time start-up (connections,
JIT, the first fetch rounds of a new topic's followers) is not the steady state being measured. KRAFTLING_LOAD_GEN_CONFIG (a JSON object) adds
client properties to both, e.g. security.protocol and sasl.* for the security bench, or
linger.ms (default 5). With a RATE, KRAFTLING_LOAD_GEN_STOP_FILE names a file whose appearance ends
the run early (checked every 1000 records); "records" then says how many were sent. `consume`
also prints the CPU seconds its process (Python and librdkafka's threads) spent while it read.
`discard` is no Kafka client: it listens on a loopback port (printed first as {"port": N}),
accepts one connection, reads it to the end into a reused buffer and prints the bytes and the
seconds from the first byte to the end (the raw-copy baseline of the consume bench).
"""
import json
import os
import socket
import sys
import time

EXTRA = json.loads(os.environ.get("KRAFTLING_LOAD_GEN_CONFIG", "{}"))
STOP_FILE = os.environ.get("KRAFTLING_LOAD_GEN_STOP_FILE")

from confluent_kafka import Consumer, Producer


def produce(bootstrap, topic, count, size, acks, rate, warmup_s=0.0):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "linger.ms": 5,
        "batch.size": 1048576,
        "queue.buffering.max.messages": 1000000,
        "queue.buffering.max.kbytes": 1048576,
        "enable.idempotence": False,
        **EXTRA,
    })
    payload = b"x" * size
    latencies = []
    errors = [0]

    def delivered(err, _msg, sent=None):
        if err is not None:
            errors[0] += 1
        elif sent is not None and sent - start >= warmup_s:
            latencies.append(time.perf_counter() - sent)

    # Learn the topic's partitions before the clock starts: otherwise a first produce() that races
    # the client's start-up metadata request leaves the topic unknown until librdkafka's 1 s topic
    # scan, and that second of client start-up lands in the measurement.
    producer.list_topics(topic, timeout=10)
    start = time.perf_counter()
    cpu_start = time.process_time()  # every thread of the process: librdkafka's too
    if rate <= 0:
        # Throughput: no per-message Python callback (it would cap the client, not the broker).
        for i in range(count):
            while True:
                try:
                    producer.produce(topic, payload)
                    break
                except BufferError:
                    producer.poll(0.005)
            if i % 1000 == 0:
                producer.poll(0)
        producer.flush(120)
        elapsed = time.perf_counter() - start
        print(json.dumps({"records": count, "seconds": elapsed, "errors": errors[0],
                          "cpu_seconds": time.process_time() - cpu_start}))
        return
    sent_count = 0
    for i in range(count):
        if STOP_FILE is not None and i % 1000 == 0 and os.path.exists(STOP_FILE):
            break
        sent_count += 1
        if rate > 0:
            due = start + i / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
        sent = time.perf_counter()
        while True:
            try:
                producer.produce(topic, payload, on_delivery=lambda e, m, s=sent: delivered(e, m, s))
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p):
        if not latencies:
            return -1
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(json.dumps({
        "records": sent_count, "seconds": elapsed, "errors": errors[0],
        "p50_ms": pct(0.5), "p99_ms": pct(0.99), "p999_ms": pct(0.999),
    }))


def consume(bootstrap, topic, count):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "bench-%d" % time.time_ns(),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.max.bytes": 52428800,
        "max.partition.fetch.bytes": 10485760,
        **EXTRA,
    })
    consumer.subscribe([topic])
    seen = 0
    size = 0
    start = None
    cpu_start = 0.0
    deadline = time.perf_counter() + 120
    while seen < count and time.perf_counter() < deadline:
        for msg in consumer.consume(10000, 1.0):
            if msg.error():
                continue
            if start is None:
                start = time.perf_counter()
                cpu_start = time.process_time()
            seen += 1
            size += len(msg.value() or b"")
    elapsed = time.perf_counter() - (start or time.perf_counter())
    cpu_seconds = time.process_time() - (cpu_start if start is not None else time.process_time())
    consumer.close()
    print(json.dumps({"records": seen, "bytes": size, "seconds": elapsed,
                      "cpu_seconds": cpu_seconds}))


def discard():
    """Reads one loopback connection to its end and drops the bytes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(60)
        print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
        conn, _ = listener.accept()
    conn.settimeout(60)
    buffer = bytearray(1048576)
    size = 0
    start = None
    with conn:
        while True:
            n = conn.recv_into(buffer)
            if n == 0:
                break
            if start is None:
                start = time.perf_counter()
            size += n
    elapsed = time.perf_counter() - (start or time.perf_counter())
    print(json.dumps({"bytes": size, "seconds": elapsed}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "produce":
        rate = float(sys.argv[7]) if len(sys.argv) > 7 else 0
        warmup_s = float(sys.argv[8]) if len(sys.argv) > 8 else 0.0
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], rate,
                warmup_s)
    elif mode == "discard":
        discard()
    else:
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
