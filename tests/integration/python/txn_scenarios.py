"""Transactional confluent-kafka (librdkafka) scenarios for transactions_test.ts.

Usage: txn_scenarios.py BOOTSTRAP SCENARIO [ARGS...]; prints one JSON object.
"""
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

BOOTSTRAP = sys.argv[1]
SCENARIO = sys.argv[2]
ARGS = sys.argv[3:]
TIMEOUT_S = 30


def txn_producer(transactional_id, **overrides):
    config = {"bootstrap.servers": BOOTSTRAP, "transactional.id": transactional_id}
    config.update(overrides)
    producer = Producer(config)
    producer.init_transactions(TIMEOUT_S)
    return producer


def read(topic, isolation, expected_min=0, wait_s=10):
    """Every value of partition 0 of TOPIC, read from the start with ISOLATION."""
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": f"reader-{topic}-{isolation}-{time.time()}",
        "isolation.level": isolation,
        "enable.auto.commit": False,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.time() + wait_s
    idle_polls = 0
    while time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            idle_polls += 1
            if len(values) >= expected_min and idle_polls >= 3:
                break
            continue
        idle_polls = 0
        if message.error():
            continue
        values.append(message.value().decode())
    consumer.close()
    return values


def commit_abort():
    producer = txn_producer("app-1")
    producer.begin_transaction()
    for i in range(3):
        producer.produce("orders", value=f"c{i}".encode())
    producer.commit_transaction(TIMEOUT_S)
    producer.begin_transaction()
    for i in range(2):
        producer.produce("orders", value=f"a{i}".encode())
    producer.flush(TIMEOUT_S)  # so the aborted records really reach the log
    producer.abort_transaction(TIMEOUT_S)
    producer.begin_transaction()
    producer.produce("orders", value=b"c3")
    producer.commit_transaction(TIMEOUT_S)
    return {
        "read_committed": read("orders", "read_committed", 4),
        "read_uncommitted": read("orders", "read_uncommitted", 6),
    }


def consume_transform_produce():
    seed = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(10):
        seed.produce("in", value=f"v{i}".encode())
    seed.flush(TIMEOUT_S)
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": "ctp",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    consumer.subscribe(["in"])
    producer = txn_producer("ctp-1")
    copied = []
    deadline = time.time() + TIMEOUT_S
    while len(copied) < 10 and time.time() < deadline:
        messages = [m for m in consumer.consume(4, 1.0) if not m.error()]
        if not messages:
            continue
        producer.begin_transaction()
        for m in messages:
            producer.produce("out", value=m.value().upper())
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), TIMEOUT_S
        )
        producer.commit_transaction(TIMEOUT_S)
        copied += [m.value().decode() for m in messages]
    # An aborted transaction moves neither the output nor the group's committed offset.
    producer.begin_transaction()
    producer.produce("out", value=b"ABORTED")
    producer.send_offsets_to_transaction(
        [TopicPartition("in", 0, 3)], consumer.consumer_group_metadata(), TIMEOUT_S
    )
    producer.flush(TIMEOUT_S)
    producer.abort_transaction(TIMEOUT_S)
    consumer.close()
    check = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ctp"})
    committed = check.committed([TopicPartition("in", 0)], 10)
    check.close()
    return {
        "copied": copied,
        "committed": [t.offset for t in committed],
        "out": read("out", "read_committed", 10),
    }


def zombie():
    old = txn_producer("zombie-1")
    old.begin_transaction()
    old.produce("zombies", value=b"from-the-old-instance")
    old.flush(TIMEOUT_S)
    new = txn_producer("zombie-1")  # fences the old instance and aborts its transaction
    new.begin_transaction()
    new.produce("zombies", value=b"from-the-new-instance")
    new.commit_transaction(TIMEOUT_S)
    old_error = None
    try:
        old.commit_transaction(TIMEOUT_S)
    except KafkaException as e:
        error = e.args[0]
        old_error = {"name": error.name(), "fatal": error.fatal()}
    return {"old_error": old_error, "read_committed": read("zombies", "read_committed", 1)}


def open_and_die():
    """Begins a transaction, writes ARGS[1] to ARGS[0] and dies without ending it."""
    producer = txn_producer(ARGS[2], **{"transaction.timeout.ms": int(ARGS[3])})
    producer.begin_transaction()
    producer.produce(ARGS[0], value=ARGS[1].encode())
    producer.flush(TIMEOUT_S)
    print(json.dumps({"open": True}), flush=True)
    os._exit(0)


def commit_one():
    """Commits ARGS[1] to ARGS[0] with transactional id ARGS[2] (a new instance of it)."""
    producer = txn_producer(ARGS[2])
    producer.begin_transaction()
    producer.produce(ARGS[0], value=ARGS[1].encode())
    producer.commit_transaction(TIMEOUT_S)
    return {"committed": True}


def too_long_timeout():
    try:
        txn_producer("too-long", **{"transaction.timeout.ms": int(ARGS[0])})
        return {"error": None}
    except KafkaException as e:
        return {"error": e.args[0].name()}


def seed_values():
    """Writes ARGS[1] values v0..v{n-1} to partition 0 of ARGS[0] (idempotent, acks=all)."""
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True})
    for i in range(int(ARGS[1])):
        producer.produce(ARGS[0], value=f"v{i}".encode(), partition=0)
    if producer.flush(TIMEOUT_S) != 0:
        raise SystemExit("seed: records left undelivered")
    return {"seeded": int(ARGS[1])}


def committed_offset():
    """The committed offset of group ARGS[0] on partition 0 of ARGS[1]."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": ARGS[0]})
    committed = consumer.committed([TopicPartition(ARGS[1], 0)], TIMEOUT_S)
    consumer.close()
    return {"offset": committed[0].offset}


def read_topic():
    return {"values": read(ARGS[0], ARGS[1], int(ARGS[2]) if len(ARGS) > 2 else 0)}


def copy_app():
    """A consume-transform-produce app: copies ARGS[0] (partition 0, ARGS[2] records) to ARGS[1]
    upper-cased in transactions of 10 with the offsets, as transactional id ARGS[3]. Exits 0 once
    every record is copied and committed, 3 on any failure (the test restarts it)."""
    source, target, total, transactional_id = ARGS[0], ARGS[1], int(ARGS[2]), ARGS[3]
    consumer = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": "copier",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    try:
        committed = consumer.committed([TopicPartition(source, 0)], TIMEOUT_S)[0].offset
        consumer.assign([TopicPartition(source, 0, max(committed, 0))])
        producer = txn_producer(transactional_id, **{"transaction.timeout.ms": 10000})
        position = max(committed, 0)
        while position < total:
            messages = [m for m in consumer.consume(10, 1.0) if not m.error()]
            if not messages:
                continue
            producer.begin_transaction()
            for m in messages:
                producer.produce(target, value=m.value().upper())
            position = messages[-1].offset() + 1
            producer.send_offsets_to_transaction(
                [TopicPartition(source, 0, position)], consumer.consumer_group_metadata(), TIMEOUT_S
            )
            producer.commit_transaction(TIMEOUT_S)
            print(json.dumps({"committed_to": position}), flush=True)
            time.sleep(0.05)
    except KafkaException as e:
        print(json.dumps({"failed": str(e)}), flush=True)
        os._exit(3)
    return {"done": position}


SCENARIOS = {
    "copy-app": copy_app,
    "seed": lambda: seed_values(),
    "commit-abort": commit_abort,
    "ctp": consume_transform_produce,
    "zombie": zombie,
    "open-and-die": open_and_die,
    "commit-one": commit_one,
    "too-long-timeout": too_long_timeout,
    "read": read_topic,
    "committed": committed_offset,
}

print(json.dumps(SCENARIOS[SCENARIO]()))
