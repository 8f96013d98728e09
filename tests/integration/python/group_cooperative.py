"""cooperative-sticky: a second member joining takes partitions from the first incrementally.

Usage: group_cooperative.py BOOTSTRAP TOPIC GROUP
Stdout: JSON with each member's assignment callbacks (the test asserts the first member only ever
lost the partitions it handed to the second).
"""
import json
import sys

from common import create_topic, group_consumer, parts, poll_until

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
create_topic(bootstrap, topic, 4)
events = {"c1": [], "c2": []}


def callbacks(name):
    def on_assign(_consumer, partitions):
        events[name].append(["assign", parts(partitions)])

    def on_revoke(_consumer, partitions):
        events[name].append(["revoke", parts(partitions)])

    def on_lost(_consumer, partitions):
        events[name].append(["lost", parts(partitions)])

    return {"on_assign": on_assign, "on_revoke": on_revoke, "on_lost": on_lost}


strategy = {"partition.assignment.strategy": "cooperative-sticky"}
c1 = group_consumer(bootstrap, group, **strategy)
c1.subscribe([topic], **callbacks("c1"))
alone = poll_until([c1], lambda: len(c1.assignment()) == 4, 30)
c2 = group_consumer(bootstrap, group, **strategy)
c2.subscribe([topic], **callbacks("c2"))
shared = poll_until(
    [c1, c2], lambda: len(c1.assignment()) == 2 and len(c2.assignment()) == 2, 30)
poll_until([c1, c2], lambda: False, 1)  # let any further rebalance show up
result = {
    "alone": alone,
    "shared": shared,
    "c1": parts(c1.assignment()),
    "c2": parts(c2.assignment()),
    "events": json.loads(json.dumps(events)),  # before close() adds its revocations
}
c2.close()
c1.close()
print(json.dumps(result))
