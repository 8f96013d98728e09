"""Chaos workload: a transactional producer (transactions of 10, every 7th aborted); prints outcomes."""
import json, sys, time
from confluent_kafka import Producer, KafkaException
bootstrap, topic, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "chaos-txn", "transaction.timeout.ms": 60000,
              "message.timeout.ms": 60000, "request.timeout.ms": 10000, "linger.ms": 5})
p.init_transactions(60)
committed, aborted, unknown = [], [], []
end = time.monotonic() + seconds
t = 0
while time.monotonic() < end:
    t += 1
    try:
        p.begin_transaction()
        for i in range(10):
            p.produce(topic, value=f"t{t}-{i}".encode(), key=str(i).encode())
        if t % 7 == 0:
            p.abort_transaction(60)
            aborted.append(t)
        else:
            p.commit_transaction(60)
            committed.append(t)
    except KafkaException as e:
        err = e.args[0]
        if err.txn_requires_abort():
            try:
                p.abort_transaction(60); aborted.append(t)
            except KafkaException:
                unknown.append(t)
        elif err.retriable():
            unknown.append(t)
            try:
                p.abort_transaction(60)
            except KafkaException:
                pass
        else:
            print(json.dumps({"fatal": str(err), "t": t}), flush=True)
            unknown.append(t)
            break
    time.sleep(0.02)
print(json.dumps({"committed": committed, "aborted": aborted, "unknown": unknown}))
