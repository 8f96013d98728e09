"""Two members share a 4-partition topic, one leaves, the other takes over, a third resumes.

Usage: group_share.py BOOTSTRAP TOPIC GROUP
Stdout: one JSON object describing what each phase observed (the test asserts on it).
"""
import json
import sys
import time

from common import create_topic, group_consumer, parts, poll_until, produce_values

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
create_topic(bootstrap, topic, 4)
produce_values(bootstrap, topic, [f"a{i}" for i in range(400)], partition_of=lambda i: i % 4)
result = {}
seen = []


def record(consumer, msg):
    seen.append(msg.value().decode())




def commit_on_revoke(consumer, _partitions):
    # Whatever a member read before a rebalance takes its partitions away stays read.
    try:
        consumer.commit(asynchronous=False)
    except Exception:  # noqa: BLE001 - nothing consumed yet (_NO_OFFSET)
        pass


c1 = group_consumer(bootstrap, group)
c2 = group_consumer(bootstrap, group)
c1.subscribe([topic], on_revoke=commit_on_revoke)
c2.subscribe([topic], on_revoke=commit_on_revoke)
shared = poll_until(
    [c1, c2],
    lambda: len(c1.assignment()) == 2 and len(c2.assignment()) == 2
    and sorted(parts(c1.assignment()) + parts(c2.assignment())) == [0, 1, 2, 3],
    30,
    record,
)
result["shared"] = shared
result["c1"] = parts(c1.assignment())
result["c2"] = parts(c2.assignment())
# c1 takes part of its share, commits it and leaves (LeaveGroup).
poll_until([c1, c2], lambda: len(seen) >= 150, 20, record)
c1.commit(asynchronous=False)
c2.commit(asynchronous=False)
left_at = time.monotonic()
c1.close()
took_over = poll_until([c2], lambda: len(c2.assignment()) == 4, 10, record)
result["takeover"] = took_over
result["takeover_s"] = round(time.monotonic() - left_at, 2)
result["c2_after"] = parts(c2.assignment())
poll_until([c2], lambda: len(seen) >= 400, 20, record)
c2.commit(asynchronous=False)
c2.close()
result["first"] = seen
# More data; a new member resumes from the committed offsets.
produce_values(bootstrap, topic, [f"b{i}" for i in range(200)], partition_of=lambda i: i % 4)
later = []
c3 = group_consumer(bootstrap, group)
c3.subscribe([topic])
poll_until([c3], lambda: len(later) >= 200, 30, lambda c, m: later.append(m.value().decode()))
time.sleep(0.5)
poll_until([c3], lambda: False, 1, lambda c, m: later.append(m.value().decode()))
c3.close()
result["second"] = later
print(json.dumps(result))
