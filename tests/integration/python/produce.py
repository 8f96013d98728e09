"""Produces COUNT messages with confluent-kafka and prints one JSON line per delivery report.

Usage: produce.py BOOTSTRAP TOPIC COUNT [key=value producer config ...]

Stdout: `{"p": partition, "o": offset, "v": value}` per delivered message, `{"err": ..., "v": value}`
per failed one, then `{"done": true, "delivered": n, "failed": n}`. Values are `m<i>`; keys
`k<i % 16>`. Progress lines `{"progress": n}` every 500 deliveries (the test kills the node on them).
`test.pause.every=N` polls 20 ms after every N records; `test.spread.s=S` paces the records evenly
over S seconds (record i is produced no earlier than i * S / COUNT seconds after the start), so a
test can kill, restart and pause brokers while acknowledged records keep arriving.
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = {
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "lz4",
    "linger.ms": 5,
    "message.timeout.ms": 60000,
    "reconnect.backoff.max.ms": 500,
    "retry.backoff.ms": 100,
}
for pair in sys.argv[4:]:
    key, value = pair.split("=", 1)
    config[key] = value
pause_every = int(config.pop("test.pause.every", "0"))
spread_s = float(config.pop("test.spread.s", "0"))
producer = Producer(config)
delivered = 0
failed = 0


def report(err, msg):
    global delivered, failed
    value = msg.value().decode()
    if err is not None:
        failed += 1
        print(json.dumps({"err": str(err), "v": value}), flush=True)
        return
    delivered += 1
    print(json.dumps({"p": msg.partition(), "o": msg.offset(), "v": value}), flush=True)
    if delivered % 500 == 0:
        print(json.dumps({"progress": delivered}), flush=True)


started = time.monotonic()
for i in range(count):
    if spread_s > 0:
        due = started + i * spread_s / count
        # Bounded: each round polls until the due time, which is at most spread_s away.
        while (wait := due - time.monotonic()) > 0:
            producer.poll(wait)
    while True:
        try:
            producer.produce(topic, key=f"k{i % 16}", value=f"m{i}", on_delivery=report)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
    if pause_every and i % pause_every == pause_every - 1:
        # Spread the produce over time (requests stay in flight) so the test can kill the node
        # mid-stream.
        producer.poll(0.02)
remaining = producer.flush(90)
print(json.dumps({"done": True, "delivered": delivered, "failed": failed, "queued": remaining}),
      flush=True)
