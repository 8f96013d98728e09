"""Helpers shared by the confluent-kafka scripts the integration tests run."""
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def create_topic(bootstrap, topic, partitions, config=None):
    """Creates TOPIC and waits for the result (raises on failure)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=10,
    )
    for future in futures.values():
        future.result(timeout=15)


def produce_values(bootstrap, topic, values, partition_of=None):
    """Produces VALUES (strings) and raises unless every one was delivered."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    errors = []

    def report(err, _msg):
        if err is not None:
            errors.append(str(err))

    for i, value in enumerate(values):
        kwargs = {} if partition_of is None else {"partition": partition_of(i)}
        producer.produce(topic, value=value, on_delivery=report, **kwargs)
    left = producer.flush(30)
    if errors or left:
        raise SystemExit(f"produce failed: {errors[:3]}, {left} undelivered")


def group_consumer(bootstrap, group, **overrides):
    """A consumer in GROUP with short timeouts, manual commits, reading from the beginning."""
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 300,
        "topic.metadata.refresh.interval.ms": 1000,
    }
    config.update(overrides)
    return Consumer(config)


def poll_until(consumers, done, timeout_s, sink=None):
    """Polls every consumer in turn until done() or TIMEOUT_S passes; returns done()."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for consumer in consumers:
            msg = consumer.poll(0.05)
            if msg is None:
                continue
            if msg.error():
                raise SystemExit(f"consume error: {msg.error()}")
            if sink is not None:
                sink(consumer, msg)
        if done():
            return True
    return done()


def parts(assignment):
    """Sorted partition numbers of an assignment."""
    return sorted(tp.partition for tp in assignment)
